// tagindex::Index — the tag index: customers, tags, categories, memberships.
//
// Every tag is a compressed bitmap (Roaring) over dense customer row ids.
// Customers are identified by the host's keys (int64 or UTF-8 string, see
// KeyKind); the index maps each key to a dense RowId on first sight and keeps
// the reverse mapping. A "universe" bitmap holds every live customer; it is
// what `NOT x` is relative to in queries.
//
// Example:
//
//   std::unique_ptr<tagindex::Index> index = tagindex::Index::Create().value();
//   tagindex::TagId vip = index->CreateTag({.name = "高价值客户"}).value();
//   absl::Status s = index->CreateCategory("购买频率", {.exclusive = true});
//   tagindex::TagId high =
//       index->CreateTag({.name = "高频", .category = "购买频率"}).value();
//   std::vector<int64_t> keys = {1001, 1002, 1003};
//   s = index->TagMany(vip, keys);                     // registers the keys
//   s = index->Tag(high, int64_t{1001});
//   uint64_t n = index->TagCardinality(vip).value();   // 3
//
// Errors: every fallible call returns absl::Status or absl::StatusOr; no
// exception crosses this API. Codes:
//   InvalidArgument    bad name (invalid UTF-8, empty, too long), a key of the
//                      wrong kind for this index, a row id out of range
//   NotFound           unknown tag, category, customer key or row id
//   AlreadyExists      a tag or category of that name exists
//   ResourceExhausted  a limit of IndexOptions, or memory; a full disk
//   FailedPrecondition the operation does not fit the index's state
//   DataLoss           a corrupt snapshot, log or blob (never an I/O failure)
//   Unavailable        the disk failed (EIO and every errno not listed here);
//   PermissionDenied   EACCES, EPERM, EROFS; ResourceExhausted: ENOSPC,
//                      EDQUOT, ENOMEM; NotFound: ENOENT. An I/O error is never
//                      Internal, which means a bug in tagindex.
// Messages read "component: context: problem" and name the tag, key or limit;
// they are one line. Programs read what an error is about from its ErrorInfo
// payload (tagindex/errors.h: GetErrorInfo gives the kind, e.g. unknown_tag,
// limit, io, corrupt_file, and the subject: the name, key, path or option),
// never from the message text.
//
// Batches are all-or-nothing: every key and row of a batch is validated
// before anything changes, so a failed batch changes nothing.
//
// Thread safety: an Index is safe to use from many threads. Readers do not
// wait for writers: every read call (and every query, Segment, Snapshot and
// CompiledQuery run) works on one immutable version of the index, pinned
// for the call with a pointer copy, while writers build the next version
// copy-on-write (copying only the 2^16-row containers, attribute columns
// and names they change) and publish it when their commit is done. (One
// exception, bounded: a one-row Tag/Untag of an existing customer, made
// while no reader holds the current version, changes that version in place
// instead of copying it; a reader pinning at that moment waits for the one
// bit, never for I/O or a batch.) Writers
// are serialised among themselves. A reader sees a commit (a WriteBatch
// included) wholly or not at all, and never a state older than one it saw
// before. GetSnapshot() keeps one version for many calls. Values returned
// are copies, never references into the index. Fork: an Index inherited by
// a child process (fork()) refuses every call there with FailedPrecondition
// (the log, lock and threads are the parent's); open it again in the child.
#ifndef TAGINDEX_INDEX_H_
#define TAGINDEX_INDEX_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tagindex/analytics.h"
#include "tagindex/errors.h"
#include "tagindex/options.h"
#include "tagindex/query.h"
#include "tagindex/rule_tags.h"
#include "tagindex/saved_segments.h"
#include "tagindex/segment.h"
#include "tagindex/snapshot.h"
#include "tagindex/storage.h"
#include "tagindex/types.h"
#include "tagindex/write_batch.h"

namespace tagindex {

namespace internal {
struct Access;
struct IndexState;
}  // namespace internal

class Index {
 public:
  // Creates an empty in-memory index.
  // Errors: InvalidArgument if `options` are inconsistent (a zero limit).
  static absl::StatusOr<std::unique_ptr<Index>> Create(IndexOptions options = {});

  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  const IndexOptions& options() const;

  // A point-in-time read view: answers every read call and query as of this
  // moment while writes go on (see tagindex/snapshot.h, also for what
  // holding one costs). Never waits for a writer; stays valid after the
  // Index is gone.
  Snapshot GetSnapshot() const;

  // ---- Customers ------------------------------------------------------------
  //
  // Key-based calls must match the index's KeyKind: int64_t keys for kInt64
  // and kIdentity, string keys for kString (else InvalidArgument).

  // Registers a customer and returns its row id; returns the existing row id
  // if the key is already live. A removed key comes back with a new row id.
  // Errors: InvalidArgument (wrong key kind, bad string key, identity key out
  // of [0, kMaxRowId]); ResourceExhausted when row ids are used up.
  absl::StatusOr<RowId> AddCustomer(int64_t key);
  absl::StatusOr<RowId> AddCustomer(std::string_view key);

  // Registers many customers (existing ones are kept). If `rows` is not null
  // it receives the row id of each key, in input order.
  absl::Status AddCustomers(std::span<const int64_t> keys, std::vector<RowId>* rows = nullptr);
  absl::Status AddCustomers(std::span<const std::string_view> keys,
                            std::vector<RowId>* rows = nullptr);

  // Row id of a live customer. Errors: NotFound naming the key.
  absl::StatusOr<RowId> FindCustomer(int64_t key) const;
  absl::StatusOr<RowId> FindCustomer(std::string_view key) const;

  // The key of a live row. Errors: NotFound if the row was never assigned or
  // its customer was removed.
  absl::StatusOr<CustomerKey> KeyOf(RowId row) const;

  // Removes a customer: clears it from every tag and from the universe. Its
  // row id is not reused (KeyOf(row) is NotFound afterwards); adding the
  // same key again assigns a fresh row id.
  // Errors: NotFound if the key or row is not live.
  absl::Status RemoveCustomer(int64_t key);
  absl::Status RemoveCustomer(std::string_view key);
  absl::Status RemoveRow(RowId row);

  // Number of live customers.
  uint64_t CustomerCount() const;
  // One past the largest row id ever assigned (row ids are < this).
  uint64_t RowIdLimit() const;
  // Row ids of all live customers, ascending. ResourceExhausted when the
  // vector cannot be allocated (an index of billions of rows: prefer
  // Query("*") / a Segment, which stays compressed).
  absl::StatusOr<std::vector<RowId>> LiveRows() const;

  // ---- Categories -------------------------------------------------------------

  // Creates a category. Name rules are those of tag names.
  // Errors: InvalidArgument (bad name/description), AlreadyExists.
  absl::Status CreateCategory(std::string_view name, const CategoryOptions& options = {});
  // Errors: NotFound.
  absl::StatusOr<CategoryInfo> GetCategory(std::string_view name) const;
  // All categories, ordered by name (bytewise). Like every call below that
  // returns a list (ListTags, ListAttributes, ListSavedSegments,
  // ListRuleTags, LiveRows, ...): ResourceExhausted when the list cannot be
  // allocated, never an exception.
  absl::StatusOr<std::vector<CategoryInfo>> ListCategories() const;

  // ---- Tags -------------------------------------------------------------------
  //
  // A tag is identified by (category, name); the same name may exist in
  // several categories. Names are valid UTF-8 of any script, trimmed of white
  // space, non-empty, without control characters, and within
  // IndexOptions::max_name_bytes / max_name_code_points.

  // Creates an empty tag. Errors: InvalidArgument (bad name, category or
  // description), AlreadyExists (same category and name), ResourceExhausted
  // (max_tags).
  absl::StatusOr<TagId> CreateTag(const TagSpec& spec);

  // Looks a tag up by name. Errors: NotFound (with the closest names, if
  // any); InvalidArgument if the name exists in several categories (the
  // message lists the qualified candidates "category:name").
  absl::StatusOr<TagId> FindTag(std::string_view name) const;
  // Looks a tag up by category and name; category "" means no category.
  absl::StatusOr<TagId> FindTag(std::string_view category, std::string_view name) const;

  // Renames a tag within its category. Errors: NotFound, InvalidArgument,
  // AlreadyExists.
  absl::Status RenameTag(TagId tag, std::string_view new_name);
  // Replaces a tag's description. Errors: NotFound, InvalidArgument.
  absl::Status SetTagDescription(TagId tag, std::string_view description);
  // Deletes a tag and its memberships. The id is never reused.
  // Errors: NotFound.
  absl::Status DeleteTag(TagId tag);

  // Errors: NotFound.
  absl::StatusOr<TagInfo> GetTag(TagId tag) const;
  // All live tags with their counts, ordered by (category, name) bytewise.
  // ResourceExhausted when out of memory.
  absl::StatusOr<std::vector<TagInfo>> ListTags() const;
  // Number of live tags.
  uint32_t TagCount() const;

  // ---- Memberships -------------------------------------------------------------
  //
  // Tagging a customer with a tag of an exclusive category removes the other
  // tags of that category from the customer. Tagging an unknown key registers
  // the customer if IndexOptions::create_missing_customers (else NotFound).
  // Untagging requires a live customer (NotFound) but is a no-op if the
  // customer did not hold the tag. Row-id calls require live rows.
  //
  // Batch calls of 64 rows or keys or more make the batch one bitmap (ids in
  // any order, no sort for dense batches), check it against the live
  // customers with one bitmap operation and merge it into the tag; an error
  // still names the first offending key or row and its batch position.
  // Int64 keys registered in ascending runs (auto-increment ids) are found
  // by arithmetic, without a hash probe per key. Duplicates in a batch are
  // fine. An exclusive-category batch must not contain the
  // same customer twice in one call with different tags (there is one tag per
  // call, so this always holds).

  absl::Status Tag(TagId tag, int64_t key);
  absl::Status Tag(TagId tag, std::string_view key);
  absl::Status TagRow(TagId tag, RowId row);
  absl::Status TagMany(TagId tag, std::span<const int64_t> keys);
  absl::Status TagMany(TagId tag, std::span<const std::string_view> keys);
  absl::Status TagRows(TagId tag, std::span<const RowId> rows);

  absl::Status Untag(TagId tag, int64_t key);
  absl::Status Untag(TagId tag, std::string_view key);
  absl::Status UntagRow(TagId tag, RowId row);
  absl::Status UntagMany(TagId tag, std::span<const int64_t> keys);
  absl::Status UntagMany(TagId tag, std::span<const std::string_view> keys);
  absl::Status UntagRows(TagId tag, std::span<const RowId> rows);

  // ---- Batches -------------------------------------------------------------------

  // Commits every item of `batch` all-or-nothing, as one log record and one
  // sync (see tagindex/write_batch.h for the semantics and errors). An empty
  // batch is OK and writes nothing. `result`, if not null, receives the new
  // tags' ids and the added customers' rows, per item.
  absl::Status Write(const WriteBatch& batch, WriteResult* result = nullptr);

  // ---- Reads ---------------------------------------------------------------------

  // Number of customers holding `tag`. Errors: NotFound.
  absl::StatusOr<uint64_t> TagCardinality(TagId tag) const;

  // Whether a live customer holds `tag`. Errors: NotFound (tag or customer).
  absl::StatusOr<bool> HasTag(TagId tag, int64_t key) const;
  absl::StatusOr<bool> HasTag(TagId tag, std::string_view key) const;
  absl::StatusOr<bool> HasTagRow(TagId tag, RowId row) const;

  // The tags a live customer holds, ascending by TagId. Errors: NotFound.
  absl::StatusOr<std::vector<TagId>> TagsOf(int64_t key) const;
  absl::StatusOr<std::vector<TagId>> TagsOf(std::string_view key) const;
  absl::StatusOr<std::vector<TagId>> TagsOfRow(RowId row) const;

  // The customers holding `tag`: row ids ascending, or their keys in the same
  // order. Errors: NotFound.
  absl::StatusOr<std::vector<RowId>> RowsWithTag(TagId tag) const;
  absl::StatusOr<std::vector<CustomerKey>> KeysWithTag(TagId tag) const;

  // ---- Attributes ------------------------------------------------------------------
  //
  // Numeric and date columns (types.h: AttributeType), stored as bit-sliced
  // indexes of Roaring bitmaps: a customer without a value is NULL. Values
  // cross this API as int64 in the column's storage unit: the integer
  // itself, a decimal times 10^scale (12.50 at scale 2 is 1250), a date as
  // days since 1970-01-01; ParseAttributeValue / FormatAttributeValue convert
  // text. In queries (docs/query_language.md):
  //
  //   消费金额 >= 1000 AND 最近购买 < today - 90d AND 高价值客户
  //
  //   AttributeId spend = index->CreateAttribute(
  //       {.name = "消费金额", .type = AttributeType::kDecimal, .scale = 2}).value();
  //   std::vector<int64_t> keys = {1001, 1002}, cents = {129900, 5000};
  //   absl::Status s = index->SetAttributeMany("消费金额", keys, cents);
  //   AttributeSummary sum = index->SummarizeAttribute("消费金额", &segment).value();
  //
  // Names follow tag-name rules and must not be the name of a category (a
  // predicate's subject is looked up as a category first).
  //
  // Persistence: every attribute mutation is a log record (docs/wal_format.md)
  // and columns are snapshot sections (docs/file_format.md), like tags.
  // Setting and clearing values may be items of a WriteBatch; creating,
  // renaming and dropping a column commit alone.
  //
  // Errors: InvalidArgument (bad name, scale, mismatched batch lengths,
  // a value text of the wrong form), NotFound (unknown attribute, customer
  // or row), AlreadyExists (name taken), and the log's errors.

  // Creates an empty column. Scale: 1..18 for kDecimal, 0 otherwise.
  absl::StatusOr<AttributeId> CreateAttribute(const AttributeSpec& spec);
  absl::StatusOr<AttributeInfo> GetAttribute(std::string_view name) const;
  // All columns, ordered by name (bytewise). ResourceExhausted when out of
  // memory.
  absl::StatusOr<std::vector<AttributeInfo>> ListAttributes() const;
  absl::Status RenameAttribute(std::string_view name, std::string_view new_name);
  // Drops the column and its values; its id is never reused.
  absl::Status DropAttribute(std::string_view name);

  // Sets values of live customers (by key, or by row id). Batches are
  // all-or-nothing, sorted and loaded slice by slice with bulk calls; for a
  // customer given twice the later value wins. Setting values never creates
  // customers (NotFound naming the key and batch position).
  absl::Status SetAttribute(std::string_view attribute, int64_t key, int64_t value);
  absl::Status SetAttribute(std::string_view attribute, std::string_view key, int64_t value);
  absl::Status SetAttributeMany(std::string_view attribute, std::span<const int64_t> keys,
                                std::span<const int64_t> values);
  absl::Status SetAttributeMany(std::string_view attribute, std::span<const std::string_view> keys,
                                std::span<const int64_t> values);
  absl::Status SetAttributeRows(std::string_view attribute, std::span<const RowId> rows,
                                std::span<const int64_t> values);
  // Makes the values NULL (rows without a value are fine).
  absl::Status ClearAttributeRows(std::string_view attribute, std::span<const RowId> rows);
  // The same by customer key: one commit (one log record) for the whole
  // batch; customers without a value are fine, an unknown key is NotFound
  // naming it and its batch position (nothing changes).
  absl::Status ClearAttribute(std::string_view attribute, int64_t key);
  absl::Status ClearAttribute(std::string_view attribute, std::string_view key);
  absl::Status ClearAttributeMany(std::string_view attribute, std::span<const int64_t> keys);
  absl::Status ClearAttributeMany(std::string_view attribute,
                                  std::span<const std::string_view> keys);
  // A live row's value, nullopt for NULL. Errors: NotFound.
  absl::StatusOr<std::optional<int64_t>> GetAttributeValue(std::string_view attribute,
                                                           RowId row) const;
  // Storage value of a text ("12.5" for a decimal of scale 2 -> 1250; more
  // decimals than the scale is InvalidArgument, never rounded; ISO dates for
  // a date column), and back ("12.50", "2026-08-01").
  absl::StatusOr<int64_t> ParseAttributeValue(std::string_view attribute,
                                              std::string_view text) const;
  absl::StatusOr<std::string> FormatAttributeValue(std::string_view attribute, int64_t value) const;

  // Aggregates over the customers of `segment` that have a value (every
  // customer when `segment` is null), computed from the bit slices
  // (sum = sum of 2^i * |slice_i AND segment|). Where the segment is
  // sparse (at most ~1,000 customers per 65,536 rows), those rows' values
  // are instead read from a row-major copy of that 65,536-row chunk of the
  // column, built on first use and kept until the column changes there
  // (memory: 8.1 bytes per row of each such chunk; range predicates ANDed
  // with a small filter use it too; docs/design_notes.md "The row cache").
  // Only the aggregates of `which` are computed (the others are left at
  // their defaults: sum 0, min / max nullopt, mean 0); count always is.
  absl::StatusOr<AttributeSummary> SummarizeAttribute(std::string_view attribute,
                                                      const Segment* segment = nullptr,
                                                      const AttributeAggregates& which = {}) const;
  // Up to k customers with the largest (or, `largest` false, smallest)
  // values, best first, ties by ascending row id.
  absl::StatusOr<std::vector<AttributeEntryValue>> TopAttribute(
      std::string_view attribute, uint64_t k, bool largest = true,
      const Segment* segment = nullptr) const;
  // counts[j] = customers with bounds[j] <= value < bounds[j + 1].
  // Errors: InvalidArgument unless `bounds` is strictly ascending, size >= 2.
  absl::StatusOr<std::vector<uint64_t>> AttributeHistogram(std::string_view attribute,
                                                           std::span<const int64_t> bounds,
                                                           const Segment* segment = nullptr) const;
  // The exact q-quantile (0 <= q <= 1) by the nearest-rank rule: the value
  // of rank ceil(q * n) (1-based; rank 1 for q = 0); nullopt when no
  // customer has a value. Errors: InvalidArgument for q outside [0, 1].
  absl::StatusOr<std::optional<int64_t>> AttributeQuantile(std::string_view attribute, double q,
                                                           const Segment* segment = nullptr) const;

  // ---- Queries --------------------------------------------------------------------
  //
  // Segment queries in the language of docs/query_language.md (see query.h
  // for options, errors and Explain). Each call parses, binds and normalises
  // `text`, then plans against the current cardinalities and evaluates, all
  // on one pinned version (concurrently with other readers and writers).
  //
  //   Segment s = index->Query("高价值客户 AND 电子产品 AND NOT 流失风险").value();
  //   uint64_t n = index->Count("购买频率 IN (高频, 中频)").value();
  //   std::cout << index->Explain("VIP AND NOT 流失风险").value().ToString();
  //
  // Errors: InvalidArgument (syntax, ambiguous name), NotFound (unknown tag
  // or attribute), ResourceExhausted (a QueryOptions limit, or memory); all
  // with a QueryErrorLocation payload when they concern a place in the text.

  // The customers matching `text`, as a Segment (it pins the version it ran
  // on, keys included, and may outlive this Index).
  absl::StatusOr<Segment> Query(std::string_view text, const QueryOptions& options = {}) const;
  // The number of matching customers, without materialising the result
  // where the plan allows (the last step uses *_cardinality).
  absl::StatusOr<uint64_t> Count(std::string_view text, const QueryOptions& options = {}) const;
  // Runs the query and returns its plan with estimated and actual
  // cardinalities and times per node.
  absl::StatusOr<Explanation> Explain(std::string_view text,
                                      const QueryOptions& options = {}) const;
  // Parses, binds and normalises once; the result runs many times, from many
  // threads (see CompiledQuery for what is bound when).
  absl::StatusOr<CompiledQuery> Compile(std::string_view text,
                                        const QueryOptions& options = {}) const;
  // Every live customer, as a Segment.
  Segment AllCustomers() const;
  // A Segment of given rows (any order, duplicates allowed), e.g. from a host
  // list, to combine with query results. Errors: NotFound naming the first
  // row that is not a live customer.
  absl::StatusOr<Segment> SegmentOfRows(std::span<const RowId> rows) const;
  // The inverse of Segment::ToPortable: a standard portable Roaring blob.
  // Errors: DataLoss if the blob is not valid portable Roaring (it is never
  // trusted: bounded, checked parsing); NotFound if it holds a row that is
  // not a live customer.
  absl::StatusOr<Segment> SegmentFromPortable(std::string_view blob) const;

  // ---- Saved segments (tagindex/saved_segments.h: semantics, example) ----------
  //
  // Names follow tag-name rules (trimmed, UTF-8, limits). Errors:
  // InvalidArgument (bad name; the query's own errors), AlreadyExists,
  // NotFound (unknown saved segment, with "did you mean"), Unimplemented
  // inside a WriteBatch, and the log's errors.

  // Saves `query`'s result (kStatic: costs the query plus, for a persistent
  // index, writing the members to the log) or the query itself (kDynamic:
  // it is compiled now to check it, and evaluated when used).
  absl::Status SaveSegment(std::string_view name, std::string_view query,
                           SegmentKind kind = SegmentKind::kStatic,
                           const QueryOptions& options = {});
  absl::StatusOr<SavedSegmentInfo> GetSavedSegment(std::string_view name) const;
  // By name (bytewise). ResourceExhausted when out of memory.
  absl::StatusOr<std::vector<SavedSegmentInfo>> ListSavedSegments() const;
  absl::Status RenameSavedSegment(std::string_view name, std::string_view new_name);
  absl::Status DropSavedSegment(std::string_view name);
  // The members now (static: the frozen live members; dynamic: its query
  // run now); Segment::ToPortable exports them.
  absl::StatusOr<Segment> LoadSavedSegment(std::string_view name) const;
  // Entered / left from `before` to `after` (both of this index), counted
  // without materialising unless `with_rows`. Errors: InvalidArgument for
  // a segment of another index.
  absl::StatusOr<SegmentDiff> DiffSegments(const Segment& before, const Segment& after,
                                           bool with_rows = false) const;
  // A static segment against its own query now: who would enter and who
  // would leave if it were saved again. Errors: InvalidArgument for a
  // dynamic segment (it is its query).
  absl::StatusOr<SegmentDiff> DiffSavedSegment(std::string_view name, bool with_rows = false) const;

  // ---- Rule tags (tagindex/rule_tags.h: semantics, refresh, policy) -------------
  //
  // Rule tags are named like tags ("name" or "category:name" in
  // RefreshOptions::rules). Errors: InvalidArgument (bad name, the query's
  // own errors with their location, an exclusive category, a cycle named
  // "a -> b -> a"), AlreadyExists, NotFound, FailedPrecondition (not a
  // rule tag), Unimplemented inside a WriteBatch, and the log's errors.

  // Creates a tag of kind kRule whose members are `query`'s result at
  // options.as_of (evaluated now, logged as one record).
  absl::StatusOr<TagId> DefineRuleTag(std::string_view name, std::string_view query,
                                      const RuleTagOptions& options = {});
  // Replaces the query (and policy and evaluation date; the category and
  // description of `options` are ignored) of a rule tag and re-evaluates it.
  absl::Status RedefineRuleTag(TagId tag, std::string_view query,
                               const RuleTagOptions& options = {});
  // Drops a rule tag (as DeleteTag). FailedPrecondition if it is not a
  // rule tag or another rule uses it.
  absl::Status DropRuleTag(TagId tag);
  absl::StatusOr<RuleTagInfo> GetRuleTag(TagId tag) const;
  // Every rule tag, by tag id. ResourceExhausted when out of memory.
  absl::StatusOr<std::vector<RuleTagInfo>> ListRuleTags() const;
  // Refreshes the rules of `options` in dependency order, one commit (and
  // one log record) each; one result per rule, in that order. A failure (a
  // rule whose query no longer binds) stops there: the rules before it stay
  // refreshed; likewise a crash during the call leaves a prefix of the
  // order refreshed, each rule's refresh all-or-nothing.
  absl::StatusOr<std::vector<RuleRefreshResult>> RefreshRules(const RefreshOptions& options = {});

  // ---- Analytics (tagindex/analytics.h: definitions, example) ------------------
  //
  // Counts of a segment's make-up from intersection counts of the tag
  // bitmaps; nothing visits customers. A segment must come from this index
  // (InvalidArgument otherwise); its rows no longer live are not counted.
  // Category and attribute names follow name rules (trimmed).

  // Per tag of options.category (or every tag): count in the segment, shares
  // and TGI, and with options.attribute that column's count / sum / mean
  // over segment ∩ tag. Errors: NotFound (category, attribute).
  absl::StatusOr<SegmentProfile> Profile(const Segment& segment,
                                         const ProfileOptions& options = {}) const;
  // The options.n best tags by count or TGI among those with at least
  // options.min_count customers in the segment (tags with no customer at
  // all have no TGI and are left out of a TGI ranking). Exact.
  absl::StatusOr<std::vector<ProfileRow>> TopTags(const Segment& segment,
                                                  const TopTagsOptions& options = {}) const;
  // Pairwise intersection counts, Jaccard and lift of `tags` within the
  // segment (every customer when null). Errors: NotFound naming a tag id.
  absl::StatusOr<CoOccurrence> CoOccurrenceOf(std::span<const TagId> tags,
                                              const Segment* segment = nullptr) const;
  // Counts for every (row tag, column tag) pair of two exclusive categories
  // inside the segment, with margins. Errors: NotFound; InvalidArgument
  // for a category that is not exclusive or the same category twice.
  absl::StatusOr<Crosstab> CrosstabOf(std::string_view row_category, std::string_view col_category,
                                      const Segment* segment = nullptr) const;
  // Per tag and per category: customers covered and their share of the
  // population (the segment, or every customer).
  absl::StatusOr<CoverageReport> Coverage(const Segment* segment = nullptr) const;
  // Live customers (of the segment, if given) holding no tag of `category`.
  // Errors: NotFound.
  absl::StatusOr<Segment> CustomersWithoutCategory(std::string_view category,
                                                   const Segment* segment = nullptr) const;

  // ---- End of Queries -------------------------------------------------------------
  // ---- Storage ------------------------------------------------------------------
  //
  // A persistent index lives in a directory (see tagindex/storage.h and
  // docs/file_format.md, docs/wal_format.md). Every mutation of a persistent
  // index is appended to the write-ahead log before it is applied and before
  // the call returns; when it returns OK the change survives a crash of the
  // process (and, under SyncPolicy kEveryWrite / kGroupCommit, of the
  // machine). If the log cannot be written the mutation is not applied and
  // the error (from the file system, e.g. ResourceExhausted for a full disk)
  // is returned; the log then refuses further writes (FailedPrecondition)
  // until the index is reopened. Reads never touch the disk.
  //
  // Example:
  //
  //   auto index = tagindex::Index::Open("/var/lib/crm/tags").value();
  //   ...mutations...
  //   absl::Status s = index->Checkpoint();   // e.g. hourly, or at shutdown
  //
  // Concurrency: Checkpoint writes the version current when it starts;
  // readers never wait for it, and writers go on while it writes: their
  // changes go to the current log and are carried into the next one when
  // the checkpoint switches logs, the only moment writers wait (for as long
  // as it takes to append what they wrote meanwhile). The destructor releases
  // the directory lock; destroy the Index before reopening it. Segments,
  // Snapshots and CompiledQueries never hold the lock and may outlive it.

  // Opens the index in directory `path`, creating it if missing (and
  // options.create_if_missing). Loads the last snapshot (memory-mapped
  // while it loads, checksummed, bounds-checked, and every invariant checked
  // again behind the checksums: docs/file_format.md; the customer key
  // sections are copied, so nothing reads the file after Open and a host
  // truncating it cannot fault a lookup) and replays the log after it. A
  // torn final log record (a crash during its write; never acknowledged) is
  // dropped and reported in LastRecovery().
  // While open, the log writer checks after every sync (every append under
  // SyncPolicy::kNone) that the log is still the file its path names: when
  // the directory or the log was removed, moved or replaced, the write is
  // refused before it is acknowledged and every later write fails with
  // FailedPrecondition ("... is now read-only; reopen the index").
  // Errors: FailedPrecondition if another writer (any process) holds the
  // directory, or the files were written by a newer format version;
  // DataLoss naming the file and byte offset if the snapshot or the log is
  // corrupt (see OpenOptions::salvage_log); NotFound if there is no index and
  // creation is off; InvalidArgument for an empty path or one holding a
  // NUL byte (the OS would see only its prefix); the file system's errors.
  static absl::StatusOr<std::unique_ptr<Index>> Open(const std::string& path,
                                                     const OpenOptions& options = {});

  // Writes a new snapshot atomically (temp file, fsync, rename, fsync of
  // the directory) and retires the log it covers (changes made while it
  // writes start the next log). Errors: FailedPrecondition
  // for an in-memory or read-only index; the file system's errors. A
  // failure before the rename leaves the index as it was (the old snapshot
  // and log stay in use); a failure after it leaves the index refusing
  // writes until it is reopened (nothing acknowledged is lost either way).
  absl::Status Checkpoint();

  // Whether this index was opened from a directory.
  bool persistent() const;
  // What Open found (empty for an in-memory index).
  RecoveryReport LastRecovery() const;

  // One tag's members (row ids) as a blob in the standard portable Roaring
  // format, readable by CRoaring, Java/Go Roaring, pyroaring,
  // pg_roaringbitmap. Errors: NotFound.
  absl::StatusOr<std::string> ExportTag(TagId tag) const;
  // Any set of row ids (e.g. a segment's) in the same format.
  static std::string ExportRows(std::span<const RowId> rows);
  // Parses a portable Roaring blob (32-bit format) into ascending row ids.
  // The blob is validated completely before use (a crafted blob cannot crash
  // or allocate beyond its size). Run containers make a few hundred KB enough
  // to describe billions of ids, so the expanded list is bounded by
  // `max_ids`. Errors: DataLoss describing the damage; ResourceExhausted if
  // the blob holds more than `max_ids` ids.
  static absl::StatusOr<std::vector<RowId>> ParsePortableRows(std::span<const char> blob,
                                                              uint64_t max_ids = uint64_t{1} << 26);
  // Creates a tag (as CreateTag) holding the row ids of a portable Roaring
  // blob; exclusivity of the tag's category applies as for TagRows. Logged
  // as one record, so it is all-or-nothing across a crash.
  // Errors: those of CreateTag and ParsePortableRows; NotFound if a row id
  // in the blob is not a live customer (nothing is created then).
  absl::StatusOr<TagId> ImportTag(const TagSpec& spec, std::span<const char> portable_roaring);

  // ---- One format for saving and pickling --------------------------------------
  // The snapshot format (docs/file_format.md) is the one format of a whole
  // index: what Checkpoint writes, what SaveTo writes and what
  // SerializeSnapshot returns (Python pickles it). Everything round-trips:
  // row ids, the keys of removed rows, tag ids (and the id counter),
  // categories, descriptions, attributes.
  //
  // Saves the index (in-memory or opened) to `dir` as a new index
  // directory that Index::Open opens: generation 0, an empty log. `dir` is
  // created if missing and must not hold an index already (AlreadyExists).
  // `options.file_system` chooses the file system (the default otherwise);
  // other fields are ignored. It writes one version of the index (the one
  // current when it starts, pinned like a Snapshot): readers and writers go
  // on meanwhile, and changes committed during the save are not in the copy.
  // The copy is synced (files and directory) before SaveTo returns.
  // Errors: AlreadyExists, InvalidArgument (a NUL in `dir`), those of the
  // file system; ResourceExhausted when out of memory.
  absl::Status SaveTo(const std::string& dir, const OpenOptions& options = {}) const;
  // Online backup of a live index: SaveTo under the name hosts look for (as
  // SQLite's backup API and RocksDB checkpoints): a consistent, openable
  // copy as of one committed state, written while writes go on. The copy is
  // a fresh directory (generation 0, empty log), independent of this one.
  // Unlike `cp -r` of a live directory, which may copy a log mid-append or
  // a snapshot from before a checkpoint's rename together with the next
  // generation's log (docs/file_format.md "Copying a live directory").
  absl::Status Backup(const std::string& dir, const OpenOptions& options = {}) const;
  // The whole index as the bytes of one snapshot file (one version, pinned;
  // writers go on meanwhile).
  absl::StatusOr<std::string> SerializeSnapshot() const;
  // An in-memory index from SerializeSnapshot's bytes (or a snapshot file's),
  // checked exactly as Open checks a file (DataLoss naming the byte offset;
  // `options.max_tag_id_on_load` applies). The bytes need not outlive the call.
  static absl::StatusOr<std::unique_ptr<Index>> FromSnapshot(std::span<const char> bytes,
                                                             const OpenOptions& options = {});
  // ---- end Storage -------------------------------------------------------------

 private:
  friend struct internal::Access;  // the library's own layers (src/index/access.h)
  explicit Index(std::unique_ptr<internal::IndexState> state);
  std::unique_ptr<internal::IndexState> state_;
};

}  // namespace tagindex

#endif  // TAGINDEX_INDEX_H_
