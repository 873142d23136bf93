// Mutations as values: every change to an Index is one of the structs below.
// Live writes and log replay build the same values and run them through the
// same pipeline (mutation_apply.cc):
//
//   public mutator / WriteBatch / replay
//        │  build Mutation(s) (arguments as views, see "Lifetime")
//        ▼
//   Commit(state, items)                                    mutation_apply.cc
//        1. Normalize each item (names trimmed and checked; no lock)
//        2. take the write lock
//        3. Validate each item against the state as the items before it
//           leave it (a BatchView); nothing changes yet
//        4. encode all items as ONE log record and append it  mutation_codec.cc
//           (skipped on replay and for an in-memory index)
//        5. Apply each item; each returns a Delta
//        6. release the lock, wait for durability (group commit)
//
// Adding a mutation kind touches:
//   1. this file: the struct, and its name in the `Mutation` variant (at the
//      end: the variant index is not the record type, so order is free);
//   2. mutation_codec.cc: a new record type value (never reuse one) and its
//      Encode/Decode pair, written side by side;
//   3. mutation_apply.cc: its Normalize (if it carries names), Validate and
//      Apply overloads, and what it records in the BatchView if a later item
//      of the same batch can depend on it;
//   4. docs/wal_format.md: the record's row in the table.
// A kind that the public API exposes also gets its Index method (a few
// lines: build the struct, call Commit) and a WriteBatch method.
//
// Lifetime: mutations hold views (spans, string_views) of data owned by the
// caller (the arguments of a public call, a WriteBatch, the log bytes on
// replay). The owner outlives the Commit.
//
// Not part of the public API.
#ifndef TAGINDEX_INDEX_MUTATION_H_
#define TAGINDEX_INDEX_MUTATION_H_

#include <cstdint>
#include <deque>
#include <forward_list>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "bitmap/bitmap.h"
#include "tagindex/rule_tags.h"
#include "tagindex/types.h"
#include "tagindex/write_batch.h"

namespace tagindex::internal {

// Type URL of the BatchError payload (tagindex/write_batch.h).
inline constexpr char kBatchErrorUrl[] = "type.tagindex/BatchError";

// A tag id not chosen yet: CreateTag/ImportTag built by a live write carry
// it and Validate assigns the next id; on replay the logged id is checked.
inline constexpr uint32_t kUnassignedTagId = UINT32_MAX;

// Customer keys of one kind: int64 (kInt64 and kIdentity indexes) or string.
struct KeyList {
  bool is_string = false;
  std::span<const int64_t> ints;
  std::span<const std::string_view> strings;

  static KeyList Of(std::span<const int64_t> k) { return {false, k, {}}; }
  static KeyList Of(std::span<const std::string_view> k) { return {true, {}, k}; }
  size_t size() const { return is_string ? strings.size() : ints.size(); }
};

// ---- the mutation kinds --------------------------------------------------------

struct AddCustomersMutation {  // registers keys; existing live keys are kept
  KeyList keys;
};
struct RemoveCustomersMutation {  // removes live customers by key
  KeyList keys;
};
struct RemoveRowsMutation {  // removes live customers by row id
  std::span<const RowId> rows;
};
struct CreateCategoryMutation {
  std::string_view name;
  std::string_view description;
  bool exclusive = false;
};
struct CreateTagMutation {
  uint32_t id = kUnassignedTagId;
  std::string_view name;
  std::string_view category;  // "" = none; an unknown one is created
  std::string_view description;
  TagKind kind = TagKind::kManual;
};
struct RenameTagMutation {
  TagId tag;
  std::string_view name;
};
struct SetTagDescriptionMutation {
  TagId tag;
  std::string_view description;
};
struct DeleteTagMutation {
  TagId tag;
};
// Tag/untag by key or by row. `tag == true` adds the memberships (and
// enforces the exclusive-category rule), false removes them.
struct TagKeysMutation {
  TagId tag;
  KeyList keys;
  bool add = true;
};
struct TagRowsMutation {
  TagId tag;
  std::span<const RowId> rows;
  bool add = true;
};
struct ImportTagMutation {  // CreateTag holding the rows of a portable blob
  uint32_t id = kUnassignedTagId;
  std::string_view name;
  std::string_view category;
  std::string_view description;
  TagKind kind = TagKind::kManual;
  std::string_view portable;  // standard portable Roaring
};

// Attribute columns (bit-sliced, src/index/attributes.h). Ids are assigned
// like tag ids (next free on a live write; the logged one on replay) and
// never reused. Create / rename / drop commit one item at a time (the
// BatchView does not track attributes); setting and clearing values may be
// part of a WriteBatch.
inline constexpr uint32_t kUnassignedAttributeId = UINT32_MAX;
struct CreateAttributeMutation {
  uint32_t id = kUnassignedAttributeId;
  std::string_view name;
  AttributeType type = AttributeType::kInt64;
  int32_t scale = 0;
  std::string_view description;
};
struct RenameAttributeMutation {
  AttributeId attribute;
  std::string_view name;
};
struct DropAttributeMutation {
  AttributeId attribute;
};
// Sets values (values.size() == keys/rows size; the later of duplicates
// wins), or with `clear` makes them NULL (values empty).
struct SetAttributeKeysMutation {
  AttributeId attribute;
  KeyList keys;
  std::span<const int64_t> values;
  bool clear = false;
};
struct SetAttributeRowsMutation {
  AttributeId attribute;
  std::span<const RowId> rows;
  std::span<const int64_t> values;
  bool clear = false;
};

// Saved segments (人群包, saved_segments.h), one item per commit (like
// attributes). Ids are assigned like tag ids and never reused.
inline constexpr uint32_t kUnassignedSegmentId = UINT32_MAX;
struct SaveSegmentMutation {
  uint32_t id = kUnassignedSegmentId;
  std::string_view name;
  bool dynamic = false;
  std::string_view query;  // as written
  int64_t created_micros = 0;
  // Static only: the members. A live write passes the query's result in
  // `members` (serialised only for the log); replay passes `portable`.
  const Bitmap* members = nullptr;
  std::string_view portable;
};
struct RenameSegmentMutation {
  uint32_t id = 0;
  std::string_view name;
};
struct DropSegmentMutation {
  uint32_t id = 0;
};

// Rule tags (tagindex/rule_tags.h, index/rules.h), one item per commit.
// Define creates a tag of kind kRule holding the query's result (or, with
// `redefine`, replaces the rule of the existing rule tag `id`). A live
// write leaves `members` null: Validate binds and evaluates the rule and
// points it at the result (serialised for the log); replay passes the
// logged `portable` and never evaluates. Dropping a rule is DeleteTag.
struct DefineRuleMutation {
  uint32_t id = kUnassignedTagId;
  bool redefine = false;
  std::string_view name;  // define only
  std::string_view category;
  std::string_view description;
  std::string_view query;
  RefreshPolicy policy = RefreshPolicy::kOnDemand;
  int64_t as_of = 0;
  const Bitmap* members = nullptr;
  std::string_view portable;
};
// Refreshes one rule at `as_of`. A live write: Validate evaluates (full
// when `full`, else incremental where exact), points `entered` / `left` at
// the result and fills `report`; replay passes the logged rows.
struct RefreshRuleMutation {
  TagId tag;
  int64_t as_of = 0;
  bool full = false;
  RuleRefreshResult* report = nullptr;
  bool incremental = false;
  const Bitmap* entered = nullptr;
  const Bitmap* left = nullptr;
  std::string_view entered_portable, left_portable;
};

using Mutation =
    std::variant<AddCustomersMutation, RemoveCustomersMutation, RemoveRowsMutation,
                 CreateCategoryMutation, CreateTagMutation, RenameTagMutation,
                 SetTagDescriptionMutation, DeleteTagMutation, TagKeysMutation, TagRowsMutation,
                 ImportTagMutation, CreateAttributeMutation, RenameAttributeMutation,
                 DropAttributeMutation, SetAttributeKeysMutation, SetAttributeRowsMutation,
                 SaveSegmentMutation, RenameSegmentMutation, DropSegmentMutation,
                 DefineRuleMutation, RefreshRuleMutation>;

// ---- what a mutation changed ------------------------------------------------------

// Membership changes of one tag: exactly the rows that became members
// (`added`) and stopped being members (`removed`); rows that already were
// (not) members are not listed.
struct TagRowsDelta {
  TagId tag;
  Bitmap added;
  Bitmap removed;
};

// Rows of one attribute whose value was set or cleared (not necessarily
// changed: setting the same value again lists the row).
struct AttributeRowsDelta {
  AttributeId attribute;
  Bitmap rows;
};

// What Apply changed: the input of rule refresh, caches and copy-on-write
// readers. `tags` lists every tag whose definition or membership changed
// (created, renamed, re-described, deleted, tagged, untagged, or losing
// rows to the exclusive rule or to a removed customer), ascending, once.
// `rows` is filled only when the commit asks for it (CommitOptions::deltas):
// computing exact row changes costs a bitmap difference per batch. Commit
// asks for them itself while the index has rule tags (their change notes).
// `attributes` is filled under the same condition.
struct Delta {
  // Inline for the common one or two tags: a single Tag allocates no list.
  absl::InlinedVector<TagId, 2> tags;
  std::vector<TagRowsDelta> rows;              // by tag, ascending (when asked for)
  std::vector<AttributeRowsDelta> attributes;  // by attribute id, ascending (when asked for)
  std::vector<RowId> customers_added;          // ascending
  std::vector<RowId> customers_removed;

  // Appends `other` (a later item's delta) and merges it.
  void Merge(Delta other);

 private:
  void MergeCustomers(const Delta& other);
  void MergeRows(Delta& other);
};

// ---- the codec (mutation_codec.cc; format: docs/wal_format.md) ---------------------

// One log record payload for `items`: the item's own record for one item,
// else a batch record holding each item's record.
std::string EncodeRecord(std::span<const Mutation> items);
// Owner of decoded values that cannot be views of the record (int keys and
// row ids are copied: the record is not aligned).
struct DecodeArena {
  std::vector<std::vector<int64_t>> ints;
  std::vector<std::vector<RowId>> rows;
  std::vector<std::vector<std::string_view>> strings;
};
// Decodes one log record payload into `out` (appended); views point into
// `payload` and `arena`. Errors: DataLoss describing the first problem.
absl::Status DecodeRecord(std::span<const char> payload, DecodeArena* arena,
                          std::vector<Mutation>* out);

// A short name of the mutation's kind, for messages ("tag keys").
const char* KindName(const Mutation& m);

// The items of a public WriteBatch (write_batch.cc), as a copy: views of
// the batch's own data.
struct WriteBatchAccess {
  static std::vector<Mutation> Items(const WriteBatch& batch);
};

// ---- the pipeline (mutation_apply.cc) -------------------------------------------------

struct IndexState;

struct CommitOptions {
  // From the log on Open: validated and applied exactly like a live write,
  // never logged (the record is already there).
  bool replay = false;
  // From a WriteBatch: an error names the failing item in a BatchError
  // payload (tagindex/write_batch.h), also for a batch of one.
  bool batch = false;
  // Fill Delta::rows (exact membership changes).
  bool deltas = false;
};

// Per item, what the caller may need back.
struct ItemResult {
  TagId tag;                // CreateTag / ImportTag: the new tag's id
  AttributeId attribute;    // CreateAttribute: the new column's id
  uint32_t segment = 0;     // SaveSegment: the new segment's id
  std::vector<RowId> rows;  // AddCustomers: the row of each key, in input order
};

struct CommitResult {
  std::vector<ItemResult> items;  // one per item
  Delta delta;                    // of all items together
  // Owns the items' normalised names (a forward_list: stable addresses,
  // and unlike a deque it allocates nothing until a name is added).
  std::forward_list<std::string> normalized;
};

// Commits `items` all-or-nothing as one log record (see the top of this
// file). The items' names are replaced by their normalised forms, owned by
// `result` (so it must outlive any later use of `items`). Errors: the first
// item's that fails validation (nothing changed), the log's, or
// ResourceExhausted for memory. `result` may be null.
absl::Status Commit(IndexState& s, std::span<Mutation> items, const CommitOptions& options,
                    CommitResult* result);

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_MUTATION_H_
