// The attribute columns of an index: typed numeric / date columns stored as
// bit-sliced indexes (bitmap/bsi.h). Guarded by IndexState's lock.
#ifndef TAGINDEX_INDEX_ATTRIBUTES_H_
#define TAGINDEX_INDEX_ATTRIBUTES_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bitmap/bsi.h"
#include "tagindex/types.h"

namespace tagindex::internal {

struct AttributeEntry {
  AttributeId id;
  std::string name;
  AttributeType type = AttributeType::kInt64;
  int scale = 0;
  std::string description;
  Bsi column;
};

class AttributeTable {
 public:
  const AttributeEntry* Find(std::string_view name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : Get(it->second);
  }
  AttributeEntry* Find(std::string_view name) {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : Get(it->second);
  }
  const AttributeEntry* Get(AttributeId id) const {
    return id.value < entries_.size() ? entries_[id.value].get() : nullptr;
  }
  AttributeEntry* Get(AttributeId id) {
    return id.value < entries_.size() ? entries_[id.value].get() : nullptr;
  }
  // One past the largest id ever assigned.
  uint32_t next_id() const { return static_cast<uint32_t>(entries_.size()); }
  // Makes next_id() at least `next` (snapshots keep ids of dropped columns used).
  void ReserveIds(uint32_t next) {
    if (entries_.size() < next) entries_.resize(next);
  }
  // Adds a column with an unused id (ids are never reused; a live write
  // takes next_id()); the caller checked the name.
  AttributeEntry& AddWithId(AttributeId id, std::string name, AttributeType type, int scale,
                            std::string description) {
    ReserveIds(id.value + 1);
    auto e = std::make_unique<AttributeEntry>();
    e->id = id;
    e->name = std::move(name);
    e->type = type;
    e->scale = scale;
    e->description = std::move(description);
    by_name_[e->name] = e->id;
    entries_[id.value] = std::move(e);
    return *entries_[id.value];
  }
  void Rename(AttributeEntry& e, std::string new_name) {
    by_name_.erase(e.name);
    e.name = std::move(new_name);
    by_name_[e.name] = e.id;
  }
  void Drop(AttributeId id) {
    AttributeEntry* e = Get(id);
    if (e == nullptr) return;
    by_name_.erase(e->name);
    entries_[id.value].reset();
  }
  // Live columns ordered by name (bytewise).
  std::vector<const AttributeEntry*> List() const {
    std::vector<const AttributeEntry*> out;
    for (const auto& [name, id] : by_name_) out.push_back(Get(id));
    return out;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& [name, id] : by_name_) out.push_back(name);
    return out;
  }
  bool empty() const { return by_name_.empty(); }
  // Clears removed customers' values.
  void ClearRows(const Bitmap& rows) {
    for (auto& e : entries_) {
      if (e) e->column.ClearBitmap(rows);
    }
  }

 private:
  std::vector<std::unique_ptr<AttributeEntry>> entries_;  // index = AttributeId.value
  std::map<std::string, AttributeId, std::less<>> by_name_;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_ATTRIBUTES_H_
