// Catalog: the tags and categories of an index, with their bitmaps.
#ifndef TAGINDEX_INDEX_CATALOG_H_
#define TAGINDEX_INDEX_CATALOG_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "bitmap/bitmap.h"
#include "index/id_slots.h"
#include "tagindex/options.h"
#include "tagindex/types.h"
#include "util/hash.h"

namespace tagindex::internal {

struct TagEntry {
  TagId id;
  std::string name;
  std::string category;  // "" = none
  std::string description;
  TagKind kind = TagKind::kManual;
  Bitmap bitmap;
};

struct CategoryEntry {
  std::string name;
  std::string description;
  bool exclusive = false;
  std::vector<TagId> tags;  // live tags of the category, ascending
};

// Names passed in are already normalised (see names.h).
//
// Copy-on-write: copying a Catalog is cheap (the tag entries and the name
// tables are shared, O(tag count) pointer copies) and the copy is a new
// version: Mutable(id) and every call that changes names give this copy its
// own entry / name tables first, so a version already published never
// changes. A cloned entry's bitmap shares its containers with the original
// (Bitmap::ShareCopy through the ContainerShares table given by
// set_shares), so a Tag copies one container, not the tag.
//
// Not thread-safe as an object: a published version's Catalog is only read
// (any number of threads); a writer changes only its private copy, under the
// index's writer lock (which also serialises the ContainerShares table).
class Catalog {
 public:
  // Live tag or nullptr.
  const TagEntry* Get(TagId id) const { return tags_.Get(id.value); }
  // The same tag, private to this copy (cloned if shared); nullptr if not
  // live. Writer only.
  TagEntry* Mutable(TagId id);
  // Whether the live tag's entry is shared with another version (Mutable
  // would clone it). Writer only.
  bool EntryShared(TagId id) const { return tags_.Shared(id.value); }

  // Exact lookups; nullptr if absent.
  const TagEntry* Find(std::string_view category, std::string_view name) const;
  // All live tags called `name`, in any category.
  std::vector<const TagEntry*> FindByName(std::string_view name) const;

  const CategoryEntry* FindCategory(std::string_view name) const;

  // Adds a category (caller checked it is new).
  const CategoryEntry& AddCategory(std::string name, std::string description, bool exclusive);

  // Adds a tag with a fresh id; creates its category (non-exclusive) if new.
  // The caller checked that (category, name) is free.
  TagEntry& AddTag(std::string name, std::string category, std::string description, TagKind kind);
  // Adds a tag with a given id (recovery); the id must be unused.
  TagEntry& AddTagWithId(TagId id, std::string name, std::string category, std::string description,
                         TagKind kind);

  // Makes next_tag_id() at least `next` (recovery of deleted trailing ids;
  // tests use it to advance the counter). Allocates nothing.
  void ReserveTagIds(uint32_t next) { tags_.ReserveIds(next); }

  void Rename(TagId id, std::string new_name);
  void Delete(TagId id);

  uint32_t live_tag_count() const { return names_->live_tags; }
  // One past the largest tag id ever assigned. Ids are never reused (a
  // host's stale TagId never names another tag); the counter sizes nothing.
  uint32_t next_tag_id() const { return tags_.next_id(); }
  // Tag slots allocated: follows the live tags, not next_tag_id() (tests).
  size_t tag_slot_capacity() const { return tags_.capacity(); }

  // Calls fn for every live tag in id order.
  template <typename Fn>
  void ForEachTag(Fn&& fn) const {
    tags_.ForEach(fn);
  }

  const std::map<std::string, CategoryEntry, std::less<>>& categories() const {
    return names_->categories;
  }

  // Up to three names ("name" or "category:name" when ambiguous) close to
  // `name`, for "did you mean" messages.
  std::vector<std::string> Suggest(std::string_view name) const;

  // The table cloned entries' bitmaps share containers through (null: deep
  // copies). Set once by the index, before any copy is made.
  void set_shares(ContainerShares* shares) { shares_ = shares; }

 private:
  struct Names {
    uint32_t live_tags = 0;
    // "category\0name" -> id
    absl::flat_hash_map<std::string, TagId, util::StringHash, util::StringEq> by_qualified;
    // name -> ids in any category
    absl::flat_hash_map<std::string, std::vector<TagId>, util::StringHash, util::StringEq> by_name;
    std::map<std::string, CategoryEntry, std::less<>> categories;
  };
  static std::string QualifiedKey(std::string_view category, std::string_view name);
  Names& MutableNames();

  IdSlots<TagEntry> tags_;  // live tags by id
  std::shared_ptr<Names> names_ = std::make_shared<Names>();
  ContainerShares* shares_ = nullptr;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_CATALOG_H_
