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

TagEntry* Catalog::Get(TagId id) {
  return id.value < tags_.size() ? tags_[id.value].get() : nullptr;
}
const TagEntry* Catalog::Get(TagId id) const {
  return id.value < tags_.size() ? tags_[id.value].get() : nullptr;
}

const TagEntry* Catalog::Find(std::string_view category, std::string_view name) const {
  auto it = by_qualified_.find(QualifiedKey(category, name));
  return it == by_qualified_.end() ? nullptr : Get(it->second);
}

std::vector<const TagEntry*> Catalog::FindByName(std::string_view name) const {
  std::vector<const TagEntry*> out;
  auto it = by_name_.find(name);
  if (it != by_name_.end()) {
    for (TagId id : it->second) out.push_back(Get(id));
  }
  return out;
}

const CategoryEntry* Catalog::FindCategory(std::string_view name) const {
  auto it = categories_.find(name);
  return it == categories_.end() ? nullptr : &it->second;
}
CategoryEntry* Catalog::FindCategory(std::string_view name) {
  auto it = categories_.find(name);
  return it == categories_.end() ? nullptr : &it->second;
}

CategoryEntry& Catalog::AddCategory(std::string name, std::string description, bool exclusive) {
  CategoryEntry entry;
  entry.name = name;
  entry.description = std::move(description);
  entry.exclusive = exclusive;
  return categories_.emplace(std::move(name), std::move(entry)).first->second;
}

TagEntry& Catalog::AddTag(std::string name, std::string category, std::string description,
                          TagKind kind) {
  return AddTagWithId(TagId{next_tag_id()}, std::move(name), std::move(category),
                      std::move(description), kind);
}

TagEntry& Catalog::AddTagWithId(TagId id, std::string name, std::string category,
                                std::string description, TagKind kind) {
  if (!category.empty() && FindCategory(category) == nullptr) {
    AddCategory(category, "", false);
  }
  auto entry = std::make_unique<TagEntry>();
  entry->id = id;
  entry->name = std::move(name);
  entry->category = std::move(category);
  entry->description = std::move(description);
  entry->kind = kind;
  by_qualified_[QualifiedKey(entry->category, entry->name)] = id;
  by_name_[entry->name].push_back(id);
  if (!entry->category.empty()) {
    auto& tags = FindCategory(entry->category)->tags;
    tags.insert(std::upper_bound(tags.begin(), tags.end(), id), id);
  }
  if (tags_.size() <= id.value) tags_.resize(size_t{id.value} + 1);
  tags_[id.value] = std::move(entry);
  ++live_tags_;
  return *tags_[id.value];
}

void Catalog::Rename(TagEntry& tag, std::string new_name) {
  by_qualified_.erase(QualifiedKey(tag.category, tag.name));
  auto& old_ids = by_name_[tag.name];
  old_ids.erase(std::remove(old_ids.begin(), old_ids.end(), tag.id), old_ids.end());
  if (old_ids.empty()) by_name_.erase(tag.name);
  tag.name = std::move(new_name);
  by_qualified_[QualifiedKey(tag.category, tag.name)] = tag.id;
  by_name_[tag.name].push_back(tag.id);
}

void Catalog::Delete(TagId id) {
  TagEntry* tag = Get(id);
  if (tag == nullptr) return;
  by_qualified_.erase(QualifiedKey(tag->category, tag->name));
  auto& ids = by_name_[tag->name];
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  if (ids.empty()) by_name_.erase(tag->name);
  if (CategoryEntry* cat = FindCategory(tag->category)) {
    cat->tags.erase(std::remove(cat->tags.begin(), cat->tags.end(), id), cat->tags.end());
  }
  tags_[id.value].reset();
  --live_tags_;
}

std::vector<std::string> Catalog::Suggest(std::string_view name) const {
  std::vector<std::string> names;
  names.reserve(by_name_.size());
  for (const auto& [n, ids] : by_name_) names.push_back(n);
  std::sort(names.begin(), names.end());  // deterministic tie order
  std::vector<std::string> out;
  for (const std::string& n : util::ClosestMatches(name, names)) {
    const auto& ids = by_name_.find(n)->second;
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
