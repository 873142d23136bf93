#include "index/catalog.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "util/edit_distance.h"

namespace tagindex::internal {

std::string Catalog::QualifiedKey(std::string_view category, std::string_view name) {
  // Names never contain NUL (control characters are rejected), so the
  // separator cannot be forged.
  std::string key;
  key.reserve(category.size() + 1 + name.size());
  key.append(category).push_back('\0');
  key.append(name);
  return key;
}

Catalog::Names& Catalog::MutableNames() {
  if (names_.use_count() > 1) names_ = std::make_shared<Names>(*names_);
  return *names_;
}

TagEntry* Catalog::Mutable(TagId id) {
  std::shared_ptr<TagEntry>* slot = tags_.FindSlot(id.value);
  if (slot == nullptr) return nullptr;
  std::shared_ptr<TagEntry>& p = *slot;
  if (p.use_count() > 1) {
    // Shared with a published version: this copy gets its own entry, whose
    // bitmap shares every container until one is changed.
    auto clone = std::make_shared<TagEntry>();
    clone->id = p->id;
    clone->name = p->name;
    clone->category = p->category;
    clone->description = p->description;
    clone->kind = p->kind;
    clone->bitmap = shares_ != nullptr ? p->bitmap.ShareCopy(shares_) : p->bitmap.Copy();
    p = std::move(clone);
  }
  return p.get();
}

const TagEntry* Catalog::Find(std::string_view category, std::string_view name) const {
  auto it = names_->by_qualified.find(QualifiedKey(category, name));
  return it == names_->by_qualified.end() ? nullptr : Get(it->second);
}

std::vector<const TagEntry*> Catalog::FindByName(std::string_view name) const {
  std::vector<const TagEntry*> out;
  auto it = names_->by_name.find(name);
  if (it != names_->by_name.end()) {
    for (TagId id : it->second) out.push_back(Get(id));
  }
  return out;
}

const CategoryEntry* Catalog::FindCategory(std::string_view name) const {
  auto it = names_->categories.find(name);
  return it == names_->categories.end() ? nullptr : &it->second;
}

const CategoryEntry& Catalog::AddCategory(std::string name, std::string description,
                                          bool exclusive) {
  CategoryEntry entry;
  entry.name = name;
  entry.description = std::move(description);
  entry.exclusive = exclusive;
  return MutableNames().categories.emplace(std::move(name), std::move(entry)).first->second;
}

TagEntry& Catalog::AddTag(std::string name, std::string category, std::string description,
                          TagKind kind) {
  return AddTagWithId(TagId{next_tag_id()}, std::move(name), std::move(category),
                      std::move(description), kind);
}

TagEntry& Catalog::AddTagWithId(TagId id, std::string name, std::string category,
                                std::string description, TagKind kind) {
  Names& n = MutableNames();
  if (!category.empty() && FindCategory(category) == nullptr) {
    AddCategory(category, "", false);
  }
  auto entry = std::make_shared<TagEntry>();
  entry->id = id;
  entry->name = std::move(name);
  entry->category = std::move(category);
  entry->description = std::move(description);
  entry->kind = kind;
  n.by_qualified[QualifiedKey(entry->category, entry->name)] = id;
  n.by_name[entry->name].push_back(id);
  if (!entry->category.empty()) {
    auto& tags = n.categories.find(entry->category)->second.tags;
    tags.insert(std::upper_bound(tags.begin(), tags.end(), id), id);
  }
  TagEntry& added = *entry;
  tags_.Insert(id.value, std::move(entry));
  ++n.live_tags;
  return added;
}

void Catalog::Rename(TagId id, std::string new_name) {
  TagEntry* tag = Mutable(id);
  if (tag == nullptr) return;
  Names& n = MutableNames();
  n.by_qualified.erase(QualifiedKey(tag->category, tag->name));
  auto& old_ids = n.by_name[tag->name];
  old_ids.erase(std::remove(old_ids.begin(), old_ids.end(), tag->id), old_ids.end());
  if (old_ids.empty()) n.by_name.erase(tag->name);
  tag->name = std::move(new_name);
  n.by_qualified[QualifiedKey(tag->category, tag->name)] = tag->id;
  n.by_name[tag->name].push_back(tag->id);
}

void Catalog::Delete(TagId id) {
  const TagEntry* tag = Get(id);
  if (tag == nullptr) return;
  Names& n = MutableNames();
  n.by_qualified.erase(QualifiedKey(tag->category, tag->name));
  auto& ids = n.by_name[tag->name];
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  if (ids.empty()) n.by_name.erase(tag->name);
  if (auto cat = n.categories.find(tag->category); cat != n.categories.end()) {
    auto& tags = cat->second.tags;
    tags.erase(std::remove(tags.begin(), tags.end(), id), tags.end());
  }
  tags_.Erase(id.value);
  --n.live_tags;
}

std::vector<std::string> Catalog::Suggest(std::string_view name) const {
  std::vector<std::string> names;
  names.reserve(names_->by_name.size());
  for (const auto& [n, ids] : names_->by_name) names.push_back(n);
  std::sort(names.begin(), names.end());  // deterministic tie order
  std::vector<std::string> out;
  for (const std::string& n : util::ClosestMatches(name, names)) {
    const auto& ids = names_->by_name.find(n)->second;
    if (ids.size() == 1) {
      out.push_back(n);
    } else {
      for (TagId id : ids) {
        const std::string& category = Get(id)->category;
        if (out.size() < 3) out.push_back(category.empty() ? n : absl::StrCat(category, ":", n));
      }
    }
    if (out.size() >= 3) break;
  }
  return out;
}

}  // namespace tagindex::internal
