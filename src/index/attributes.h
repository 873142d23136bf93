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
#include "index/id_slots.h"
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
  const AttributeEntry* Get(AttributeId id) const { return entries_.Get(id.value); }
  // The column, private to this copy (cloned if shared); nullptr if absent.
  AttributeEntry* Mutable(AttributeId id) {
    std::shared_ptr<AttributeEntry>* slot = entries_.FindSlot(id.value);
    if (slot == nullptr) return nullptr;
    std::shared_ptr<AttributeEntry>& p = *slot;
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
  // One past the largest id ever assigned (a counter; ids are never reused
  // and size nothing: see IdSlots).
  uint32_t next_id() const { return entries_.next_id(); }
  // Makes next_id() at least `next` (snapshots keep ids of dropped columns used).
  void ReserveIds(uint32_t next) { entries_.ReserveIds(next); }
  // Live columns.
  size_t size() const { return entries_.size(); }
  // Adds a column with an unused id (ids are never reused; a live write
  // takes next_id()); the caller checked the name.
  AttributeEntry& AddWithId(AttributeId id, std::string name, AttributeType type, int scale,
                            std::string description) {
    auto e = std::make_shared<AttributeEntry>();
    e->id = id;
    e->name = std::move(name);
    e->type = type;
    e->scale = scale;
    e->description = std::move(description);
    MutableNames()[e->name] = e->id;
    AttributeEntry& added = *e;
    entries_.Insert(id.value, std::move(e));
    return added;
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
    entries_.Erase(id.value);
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
    std::vector<AttributeId> touched;
    entries_.ForEach([&](const AttributeEntry& e) {
      if (Bitmap::Intersects(e.column.existence(), rows)) touched.push_back(e.id);
    });
    for (AttributeId id : touched) Mutable(id)->column.ClearBitmap(rows);
  }

 private:
  using NameMap = std::map<std::string, AttributeId, std::less<>>;
  NameMap& MutableNames() {
    if (by_name_.use_count() > 1) by_name_ = std::make_shared<NameMap>(*by_name_);
    return *by_name_;
  }
  IdSlots<AttributeEntry> entries_;  // live columns by id
  std::shared_ptr<NameMap> by_name_ = std::make_shared<NameMap>();
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_ATTRIBUTES_H_
