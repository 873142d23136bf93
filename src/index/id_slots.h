// IdSlots: entries keyed by a 32-bit id that is never reused, stored so that
// memory follows the live entries, not the largest id ever issued (issue
// #13). Not part of the public API.
//
// Ids are handed out in increasing order and never reused, so a host's stale
// TagId / AttributeId can never name another tag or column. The table keeps
// the live ids in one sorted array of (id, entry): a lookup is O(1)
// while no id below it was deleted (the entry sits at position id) and a
// binary search over the id array otherwise; appending the next id is O(1);
// deleting is O(live) (an erase in the array, the same order as the copy of
// the table every commit already makes). `next_id` is only a counter: it
// sizes nothing.
//
// Copy-on-write is the owner's business: copying an IdSlots copies the
// array (O(live) pointer copies, one allocation) and shares the entries.
#ifndef TAGINDEX_INDEX_ID_SLOTS_H_
#define TAGINDEX_INDEX_ID_SLOTS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace tagindex::internal {

template <typename Entry>
class IdSlots {
 public:
  // The entry with this id, or null (never issued or deleted).
  Entry* Get(uint32_t id) const {
    const std::shared_ptr<Entry>* p = Find(id);
    return p == nullptr ? nullptr : p->get();
  }
  // Whether a live id's entry has other owners (another version's slots).
  bool Shared(uint32_t id) const {
    const std::shared_ptr<Entry>* p = Find(id);
    return p != nullptr && p->use_count() > 1;
  }
  // The owning pointer of a live id (for a copy-on-write clone), or null.
  std::shared_ptr<Entry>* FindSlot(uint32_t id) {
    return const_cast<std::shared_ptr<Entry>*>(Find(id));
  }

  // Adds an entry under an unused id; ids may arrive in any order (a file),
  // the common case (ascending) is an append.
  void Insert(uint32_t id, std::shared_ptr<Entry> entry) {
    if (id >= next_id_) next_id_ = id + 1;
    if (slots_.empty() || slots_.back().id < id) {
      slots_.push_back({id, std::move(entry)});
      return;
    }
    slots_.insert(LowerBound(slots_.begin(), slots_.end(), id), Slot{id, std::move(entry)});
  }
  void Erase(uint32_t id) {
    auto it = LowerBound(slots_.begin(), slots_.end(), id);
    if (it != slots_.end() && it->id == id) slots_.erase(it);
  }

  // One past the largest id ever issued (a counter; ids are not reused).
  uint32_t next_id() const { return next_id_; }
  // Makes next_id() at least `next` (ids of deleted entries stay used).
  void ReserveIds(uint32_t next) { next_id_ = std::max(next_id_, next); }

  size_t size() const { return slots_.size(); }
  // Slots allocated (the array's capacity): follows the live entries.
  size_t capacity() const { return slots_.capacity(); }

  // Calls fn(entry) for every live entry in id order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& s : slots_) fn(*s.entry);
  }

 private:
  // One array of (id, entry), not two parallel arrays: a version copy (one
  // per commit) allocates once.
  struct Slot {
    uint32_t id;
    std::shared_ptr<Entry> entry;
  };
  template <typename It>
  static It LowerBound(It begin, It end, uint32_t id) {
    return std::lower_bound(begin, end, id, [](const Slot& s, uint32_t v) { return s.id < v; });
  }
  const std::shared_ptr<Entry>* Find(uint32_t id) const {
    // Dense prefix: no id at or below `id` was deleted.
    if (id < slots_.size() && slots_[id].id == id) return &slots_[id].entry;
    const size_t end = std::min<size_t>(slots_.size(), size_t{id} + 1);
    auto it = LowerBound(slots_.begin(), slots_.begin() + end, id);
    if (it == slots_.begin() + end || it->id != id) return nullptr;
    return &it->entry;
  }

  std::vector<Slot> slots_;  // ascending by id
  uint32_t next_id_ = 0;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_ID_SLOTS_H_
