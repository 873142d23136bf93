// Value types shared by the tagindex public API.
#ifndef TAGINDEX_TYPES_H_
#define TAGINDEX_TYPES_H_

#include <cstdint>
#include <functional>
#include <string>
#include <variant>

namespace tagindex {

// Dense customer row id assigned by the index. Bitmaps are over row ids.
using RowId = uint32_t;

// The largest row id an index can hold. (UINT32_MAX itself is kept free so
// that "one past the last row" always fits in a RowId.)
inline constexpr RowId kMaxRowId = 0xFFFFFFFEu;

// Stable identifier of a tag. Ids are never reused within an index, so a
// TagId of a deleted tag stays invalid (NotFound) rather than silently naming
// a newer tag. Cheap to copy; compare with ==.
struct TagId {
  uint32_t value = 0;
  friend bool operator==(TagId a, TagId b) { return a.value == b.value; }
  friend bool operator!=(TagId a, TagId b) { return a.value != b.value; }
  friend bool operator<(TagId a, TagId b) { return a.value < b.value; }
  template <typename H>
  friend H AbslHashValue(H h, TagId id) {
    return H::combine(std::move(h), id.value);
  }
};

// How the host identifies customers. Fixed when the index is created.
enum class KeyKind : uint8_t {
  // 64-bit signed integer keys (user ids), mapped to dense row ids.
  kInt64 = 0,
  // UTF-8 string keys (phone numbers, union-ids, ...), mapped to dense row ids.
  kString = 1,
  // The host already has dense ids: an int64 key k in [0, kMaxRowId] *is*
  // row id k. No mapping table is kept.
  kIdentity = 2,
};

// A customer key as returned by reverse lookups: int64_t for kInt64 and
// kIdentity indexes, std::string for kString indexes.
using CustomerKey = std::variant<int64_t, std::string>;

// How a tag's members are maintained.
enum class TagKind : uint8_t {
  kManual = 0,  // members are assigned by the host (Tag / Untag)
  kRule = 1,    // defined by a query and refreshed by the index (later issue)
};

// Description of a tag, as returned by Index::GetTag and Index::ListTags.
struct TagInfo {
  TagId id;
  std::string name;
  std::string category;  // "" when the tag has no category
  std::string description;
  TagKind kind = TagKind::kManual;
  uint64_t count = 0;  // number of customers holding the tag
};

// Description of a category, as returned by Index::GetCategory.
struct CategoryInfo {
  std::string name;
  std::string description;
  // A customer holds at most one tag of an exclusive category; assigning
  // one removes the others.
  bool exclusive = false;
  uint32_t tag_count = 0;  // number of tags in the category
};

}  // namespace tagindex

#endif  // TAGINDEX_TYPES_H_
