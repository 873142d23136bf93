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

// Copy-on-write like Catalog: a copy shares the columns and the name table;
// Mutable / AddWithId / Rename / Drop / ClearRows give the copy its own. A
// changed column is copied whole (Bsi::Copy: every slice) once per commit
// that touches it; attribute writes are batch operations (SetAttributeMany),
// so the copy is amortised over the batch. Published versions are only read.
class AttributeTable {
 public:
  const AttributeEntry* Find(std::string_view name) const {
    auto it = by_name_->find(name);
    return it == by_name_->end() ? nullptr : Get(it->second);
  }
  const AttributeEntry* Get(AttributeId id) const {
    return id.value < entries_.size() ? entries_[id.value].get() : nullptr;
  }
  // The column, private to this copy (cloned if shared); nullptr if absent.
  AttributeEntry* Mutable(AttributeId id) {
    if (id.value >= entries_.size() || entries_[id.value] == nullptr) return nullptr;
    std::shared_ptr<AttributeEntry>& p = entries_[id.value];
    if (p.use_count() > 1) {
      auto clone = std::make_shared<AttributeEntry>();
      clone->id = p->id;
      clone->name = p->name;
      clone->type = p->type;
      clone->scale = p->scale;
      clone->description = p->description;
      clone->column = p->column.Copy();
      p = std::move(clone);
    }
    return p.get();
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
    auto e = std::make_shared<AttributeEntry>();
    e->id = id;
    e->name = std::move(name);
    e->type = type;
    e->scale = scale;
    e->description = std::move(description);
    MutableNames()[e->name] = e->id;
    entries_[id.value] = std::move(e);
    return *entries_[id.value];
  }
  void Rename(AttributeId id, std::string new_name) {
    AttributeEntry* e = Mutable(id);
    if (e == nullptr) return;
    auto& names = MutableNames();
    names.erase(e->name);
    e->name = std::move(new_name);
    names[e->name] = e->id;
  }
  void Drop(AttributeId id) {
    const AttributeEntry* e = Get(id);
    if (e == nullptr) return;
    MutableNames().erase(e->name);
    entries_[id.value].reset();
  }
  // Live columns ordered by name (bytewise).
  std::vector<const AttributeEntry*> List() const {
    std::vector<const AttributeEntry*> out;
    for (const auto& [name, id] : *by_name_) out.push_back(Get(id));
    return out;
  }
  std::vector<std::string> Names() const {
    std::vector<std::string> out;
    for (const auto& [name, id] : *by_name_) out.push_back(name);
    return out;
  }
  bool empty() const { return by_name_->empty(); }
  // Clears removed customers' values (copies only the columns holding one).
  void ClearRows(const Bitmap& rows) {
    for (size_t i = 0; i < entries_.size(); ++i) {
      const AttributeEntry* e = entries_[i].get();
      if (e == nullptr || !Bitmap::Intersects(e->column.existence(), rows)) continue;
      Mutable(AttributeId{static_cast<uint32_t>(i)})->column.ClearBitmap(rows);
    }
  }

 private:
  using NameMap = std::map<std::string, AttributeId, std::less<>>;
  NameMap& MutableNames() {
    if (by_name_.use_count() > 1) by_name_ = std::make_shared<NameMap>(*by_name_);
    return *by_name_;
  }
  std::vector<std::shared_ptr<AttributeEntry>> entries_;  // index = AttributeId.value
  std::shared_ptr<NameMap> by_name_ = std::make_shared<NameMap>();
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_ATTRIBUTES_H_
