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
  // Adds a column with a fresh id (never reused); the caller checked the name.
  AttributeEntry& Add(std::string name, AttributeType type, int scale, std::string description) {
    auto e = std::make_unique<AttributeEntry>();
    e->id = AttributeId{static_cast<uint32_t>(entries_.size())};
    e->name = std::move(name);
    e->type = type;
    e->scale = scale;
    e->description = std::move(description);
    by_name_[e->name] = e->id;
    entries_.push_back(std::move(e));
    return *entries_.back();
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
