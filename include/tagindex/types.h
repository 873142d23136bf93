// Value types shared by the tagindex public API.
#ifndef TAGINDEX_TYPES_H_
#define TAGINDEX_TYPES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "absl/numeric/int128.h"

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
  std::string rule;    // kRule: the rule's query as written (tagindex/rule_tags.h)
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

// ---- Attributes -------------------------------------------------------------
//
// An attribute is a numeric column with a declared type, stored as a
// bit-sliced index: NULL where a customer has no value. Values cross the API
// as int64 in the column's storage unit (see AttributeType); Index::
// ParseAttributeValue / FormatAttributeValue convert from and to text.
enum class AttributeType : uint8_t {
  kInt64 = 0,    // any int64
  kDecimal = 1,  // fixed point: stored as value * 10^scale (消费金额 12.50 -> 1250 at scale 2)
  kDate = 2,     // days since 1970-01-01 (negative before); ISO "2026-08-01" in queries
};

// Stable identifier of an attribute; never reused (as TagId).
struct AttributeId {
  uint32_t value = 0;
  friend bool operator==(AttributeId a, AttributeId b) { return a.value == b.value; }
  friend bool operator!=(AttributeId a, AttributeId b) { return a.value != b.value; }
};

// What Index::CreateAttribute needs.
struct AttributeSpec {
  std::string name;  // tag name rules; must not clash with a category
  AttributeType type = AttributeType::kInt64;
  // kDecimal only: digits after the point, 1..18 (others must leave it 0).
  int scale = 0;
  std::string description;
};

// Description of an attribute, as returned by GetAttribute / ListAttributes.
struct AttributeInfo {
  AttributeId id;
  std::string name;
  AttributeType type = AttributeType::kInt64;
  int scale = 0;
  std::string description;
  uint64_t count = 0;  // customers with a value
  int bits = 0;        // value slices in use (plus one sign slice)
};

// Aggregates of an attribute over a segment's customers that have a value
// (Index::SummarizeAttribute). Values in the column's storage unit.
struct AttributeSummary {
  uint64_t count = 0;          // customers with a value
  absl::int128 sum = 0;        // exact
  std::optional<int64_t> min;  // nullopt when count == 0
  std::optional<int64_t> max;
  double mean = 0;  // sum / count (0 when count == 0); in storage units
};

// Which aggregates Index::SummarizeAttribute computes; the count always.
// Each one costs a walk of the column's slices over the segment, so asking
// only for what is needed (e.g. just the sum) is cheaper.
struct AttributeAggregates {
  bool sum = true;  // and the mean
  bool min = true;
  bool max = true;
};

// One customer of a top-k / bottom-k answer.
struct AttributeEntryValue {
  RowId row = 0;
  int64_t value = 0;
};

}  // namespace tagindex

#endif  // TAGINDEX_TYPES_H_
