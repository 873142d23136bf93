// Option structs of the tagindex public API. Every field has a default;
// safety limits are options so hosts can tighten or relax them.
#ifndef TAGINDEX_OPTIONS_H_
#define TAGINDEX_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "tagindex/types.h"

namespace tagindex {

// Options fixed when an index is created.
struct IndexOptions {
  // How customers are identified (see KeyKind).
  KeyKind key_kind = KeyKind::kInt64;

  // Tag and category names: at most this many bytes of UTF-8 ...
  size_t max_name_bytes = 256;
  // ... and at most this many code points (after trimming white space).
  size_t max_name_code_points = 64;
  // Descriptions of tags and categories: at most this many bytes.
  size_t max_description_bytes = 4096;
  // String customer keys: at most this many bytes (and never empty).
  size_t max_string_key_bytes = 1024;
  // The most tags (live ones; deleted tags do not count) an index may hold.
  uint32_t max_tags = 1u << 20;

  // When true, tagging an unknown customer key registers the customer
  // (the usual CRM "upsert"). When false, it is a NotFound error and the
  // host must call AddCustomer first. Row-id based calls never create rows.
  bool create_missing_customers = true;
};

// Options for Index::CreateCategory.
struct CategoryOptions {
  // A customer holds at most one tag of an exclusive category.
  bool exclusive = false;
  // Free text shown by listings.
  std::string description;
};

// Everything needed to create a tag.
struct TagSpec {
  // Display name; any script. Leading/trailing white space is trimmed.
  std::string name;
  // Category name, or "" for none. A category that does not exist yet is
  // created, non-exclusive. (Create exclusive categories explicitly first.)
  std::string category;
  std::string description;
  TagKind kind = TagKind::kManual;
};

}  // namespace tagindex

#endif  // TAGINDEX_OPTIONS_H_
