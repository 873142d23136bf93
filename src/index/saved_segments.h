// Saved segments (人群包) of an index: a name, how it is kept (static: the
// frozen members at save time, with the query text and creation time;
// dynamic: the query, evaluated when used), and an id that is never reused.
// Guarded by IndexState's lock. Public contract: Index::SaveSegment etc.
#ifndef TAGINDEX_INDEX_SAVED_SEGMENTS_H_
#define TAGINDEX_INDEX_SAVED_SEGMENTS_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bitmap/bitmap.h"
#include "tagindex/types.h"

namespace tagindex::internal {

// A static segment is a query operand like a tag: the binder hands the
// planner TagId{kSegmentTagBase + id} and the planner's bitmap source maps
// it back here. Tag ids never reach this range (IndexOptions::max_tags is
// far below it).
inline constexpr uint32_t kSegmentTagBase = 0xF0000000u;

struct SavedSegmentEntry {
  uint32_t id = 0;
  std::string name;
  bool dynamic = false;
  std::string query;           // as written when saved
  int64_t created_micros = 0;  // Unix time, microseconds
  Bitmap members;              // static only: live members (removed customers leave)
};

// Copyable in O(segments): entries are immutable and shared between the
// copies (index versions, version.h); a change replaces the entry it
// touches instead of editing it, so a reader's version keeps the old one.
class SavedSegmentTable {
 public:
  const SavedSegmentEntry* Find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second.get();
  }
  const SavedSegmentEntry* Get(uint32_t id) const {
    for (const auto& [name, e] : by_name_) {
      if (e->id == id) return e.get();
    }
    return nullptr;
  }
  uint32_t next_id() const { return next_id_; }
  void ReserveIds(uint32_t next) { next_id_ = std::max(next_id_, next); }
  const SavedSegmentEntry& Add(std::unique_ptr<SavedSegmentEntry> e) {
    ReserveIds(e->id + 1);
    const SavedSegmentEntry& ref = *e;
    std::string name = e->name;
    by_name_[std::move(name)] = std::move(e);
    return ref;
  }
  void Rename(std::string_view name, std::string new_name) {
    auto it = by_name_.find(name);
    std::unique_ptr<SavedSegmentEntry> e = Clone(*it->second);
    by_name_.erase(it);
    e->name = std::move(new_name);
    std::string key = e->name;
    by_name_[std::move(key)] = std::move(e);
  }
  void Drop(std::string_view name) {
    auto it = by_name_.find(name);
    if (it != by_name_.end()) by_name_.erase(it);
  }
  // By name (bytewise).
  std::vector<const SavedSegmentEntry*> List() const {
    std::vector<const SavedSegmentEntry*> out;
    for (const auto& [name, e] : by_name_) out.push_back(e.get());
    return out;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& [name, e] : by_name_) out.push_back(name);
    return out;
  }
  // Removed customers leave every static segment (only the segments that
  // held one of them are replaced).
  void ClearRows(const Bitmap& rows) {
    for (auto& [name, e] : by_name_) {
      if (e->dynamic || !Bitmap::Intersects(e->members, rows)) continue;
      std::unique_ptr<SavedSegmentEntry> next = Clone(*e);
      next->members.AndNotInPlace(rows);
      e = std::move(next);
    }
  }

 private:
  static std::unique_ptr<SavedSegmentEntry> Clone(const SavedSegmentEntry& e) {
    auto c = std::make_unique<SavedSegmentEntry>();
    c->id = e.id;
    c->name = e.name;
    c->dynamic = e.dynamic;
    c->query = e.query;
    c->created_micros = e.created_micros;
    c->members = e.members.Copy();
    return c;
  }

  std::map<std::string, std::shared_ptr<const SavedSegmentEntry>, std::less<>> by_name_;
  uint32_t next_id_ = 0;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_SAVED_SEGMENTS_H_
