// tagindex::ShardedIndex — one logical index split into N ordinary shard
// indexes, queried on a thread pool (all cores of one machine); the same
// directory is what tagindex.dask (Python) maps over many machines.
//
// A sharded index is a directory:
//
//   MANIFEST            the global catalog (categories, tags, attribute
//                       columns, with the ids every shard uses) and the
//                       shard map; written atomically (temp, fsync, rename)
//   shard-0000/ ...     N ordinary tagindex directories (Index::Open)
//
// docs/sharding.md describes the manifest's bytes, the routing hash, the
// repair on open and the merge rules.
//
// Routing (frozen: it is part of the format). For kInt64 and kString keys a
// customer lives in shard XXH3_64(canonical key bytes, seed
// kShardRoutingSeed) mod N: an int64 key's bytes are its 8 bytes
// little-endian, a string key's bytes its UTF-8. For kIdentity keys the shard
// map is a row range: key k lives in shard k / R (R = rows_per_shard of the
// manifest) as local identity key k mod R, so (shard, row) order is key order.
// The shard count is fixed when the index is created.
//
//   ShardedOpenOptions o;
//   o.create.shards = 8;                                 // on creation only
//   auto sharded = tagindex::ShardedIndex::Open("/data/crm", o).value();
//   tagindex::TagId vip = sharded->CreateTag({.name = "高价值客户"}).value();
//   std::vector<int64_t> keys = {1001, 1002, 1003};
//   absl::Status s = sharded->TagMany(vip, keys);       // grouped per shard
//   uint64_t n = sharded->Count("高价值客户 AND NOT 流失风险").value();
//   tagindex::ShardedSegment seg = sharded->Query("高价值客户").value();
//   std::vector<tagindex::CustomerKey> first = seg.Keys(0, 100).value();
//
// Catalog changes (create / rename / describe / delete a tag, create a
// category, create / rename / drop an attribute) reach every shard, so ids
// agree everywhere. Each is: (1) the manifest is written with an intent
// record and a new generation; (2) the change is applied to shard 0, then to
// shards 1..N-1 in order (each checked to assign the id shard 0 assigned);
// (3) the manifest is written again with the new catalog and no intent. A
// crash between shards leaves the intent; Open (not read-only) repairs it:
// if shard 0's catalog still equals the manifest's, the change reached no
// shard and the intent is dropped; otherwise it is applied to every shard
// whose catalog still equals the manifest's, and every shard must then equal
// shard 0. Any other disagreement is DataLoss naming the shard. A read-only
// Open with a pending intent is FailedPrecondition (open it writable once).
//
// Writes route each customer to its shard: a TagMany / AddCustomers /
// ShardedWriteBatch is split into one call (one Index::Write) per shard,
// run on the thread pool. Each shard's part is atomic; the parts of
// different shards are not (a crash or an error in one shard can leave the
// other shards' parts applied: retry the call; tagging is idempotent).
//
// Queries are compiled per shard (tag ids are the same in every shard) and
// run on every shard on the pool; results merge exactly: counts add,
// segments are (shard, rows) in (shard, row) order, attribute aggregates
// merge (sum and count add, min/max of the shards', exact quantiles by a
// rank search over per-shard counts, top-k from the per-shard top-k).
//
// Errors: absl::Status as Index's (a shard's error is prefixed
// "shard <i>: "); InvalidArgument for bad options (zero shards, a key of the
// wrong kind, an identity key past the last shard's range); DataLoss for a
// damaged manifest or a shard that disagrees with it; FailedPrecondition
// after a catalog change failed part way (reopen to repair).
//
// Thread safety: safe from many threads. Queries and data writes run
// concurrently (each shard has its own lock); a catalog change excludes
// both, so a query sees a catalog change on all shards or on none.
#ifndef TAGINDEX_SHARDED_INDEX_H_
#define TAGINDEX_SHARDED_INDEX_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tagindex/index.h"
#include "tagindex/options.h"
#include "tagindex/query.h"
#include "tagindex/segment.h"
#include "tagindex/storage.h"
#include "tagindex/types.h"

namespace tagindex {

// Seed of the routing hash (frozen; docs/sharding.md).
inline constexpr uint64_t kShardRoutingSeed = 0x7461676964783137ull;  // "tagidx17"

// What a new sharded index is made of (ignored when it exists: the manifest
// wins).
struct ShardedCreateOptions {
  uint32_t shards = 8;  // 1..4096
  IndexOptions index;   // every shard's options (key kind, limits)
  // kIdentity only: keys per shard range; 0 = ceil((kMaxRowId + 1) / shards).
  uint64_t rows_per_shard = 0;
};

struct ShardedOpenOptions {
  ShardedCreateOptions create;
  // Options each shard is opened with (sync policy, read_only, ...);
  // shard.index is ignored (create.index is used on creation).
  OpenOptions shard;
  // Threads of the query / write pool, the calling thread included;
  // 0 = std::thread::hardware_concurrency().
  uint32_t threads = 0;
};

// A customer's place: its shard and its row id in that shard.
struct ShardedRow {
  uint32_t shard = 0;
  RowId row = 0;
  friend bool operator==(ShardedRow a, ShardedRow b) {
    return a.shard == b.shard && a.row == b.row;
  }
  friend bool operator<(ShardedRow a, ShardedRow b) {
    return a.shard != b.shard ? a.shard < b.shard : a.row < b.row;
  }
};

class ShardedIndex;

// What the manifest says (ShardedIndex::ReadManifest), for tools that open
// shards themselves (tagindex.dask).
struct ShardedManifestInfo {
  uint64_t generation = 0;
  uint32_t shards = 0;
  KeyKind key_kind = KeyKind::kInt64;
  uint64_t rows_per_shard = 0;  // kIdentity only
  // An interrupted catalog change awaits repair (a writable Open does it):
  // the shards' catalogs may disagree until then.
  bool change_pending = false;
};

// A query result over all shards: one Segment per shard. Order is (shard,
// row) ascending everywhere (pages, iteration, keys). A snapshot, like
// Segment; the ShardedIndex must outlive KeysOf / Keys calls.
// Thread safety: const methods, safe from many threads.
class ShardedSegment {
 public:
  ShardedSegment() = default;

  uint64_t Count() const;
  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  // Shard i's part. Requires i < shard_count().
  const Segment& shard(uint32_t i) const { return shards_[i]; }
  // Per-shard counts.
  std::vector<uint64_t> ShardCounts() const;
  bool Contains(ShardedRow r) const;

  // Up to `limit` entries starting at rank `offset`. Errors (Page, PageAfter,
  // Rows): ResourceExhausted (kOutOfMemory) when the result cannot be
  // allocated (8 bytes per entry; ForEach visits without allocating).
  absl::StatusOr<std::vector<ShardedRow>> Page(uint64_t offset, uint64_t limit) const;
  // Up to `limit` entries strictly after `after` (from the start if nullopt).
  absl::StatusOr<std::vector<ShardedRow>> PageAfter(std::optional<ShardedRow> after,
                                                    uint64_t limit) const;
  absl::StatusOr<std::vector<ShardedRow>> Rows() const;
  void ForEach(const std::function<bool(ShardedRow)>& fn) const;
  // Customer keys (global keys: identity keys with their shard's offset).
  // Errors: FailedPrecondition for a default segment; those of
  // Segment::KeysOf; InvalidArgument for a shard out of range;
  // ResourceExhausted (kOutOfMemory) when the keys cannot be allocated.
  absl::StatusOr<std::vector<CustomerKey>> KeysOf(std::span<const ShardedRow> rows) const;
  absl::StatusOr<std::vector<CustomerKey>> Keys(uint64_t offset, uint64_t limit) const;

  // Set operations with a segment of the same sharded index, shard by shard.
  // Errors: InvalidArgument for segments of different indexes.
  absl::StatusOr<ShardedSegment> Intersect(const ShardedSegment& other) const;
  absl::StatusOr<ShardedSegment> Union(const ShardedSegment& other) const;
  absl::StatusOr<ShardedSegment> Difference(const ShardedSegment& other) const;

  const ShardedIndex* index() const { return index_; }

  // For the library itself.
  ShardedSegment(const ShardedIndex* index, std::vector<Segment> shards)
      : index_(index), shards_(std::move(shards)) {}

 private:
  absl::StatusOr<std::vector<CustomerKey>> KeysOfUnguarded(std::span<const ShardedRow> rows) const;
  const ShardedIndex* index_ = nullptr;
  std::vector<Segment> shards_;
};

// Explain of a sharded query: each shard's plan and wall time.
struct ShardedExplanation {
  std::string query;
  uint64_t count = 0;
  std::vector<Explanation> shards;   // indexed by shard
  std::vector<int64_t> shard_nanos;  // wall time of each shard's run
  uint32_t slowest_shard = 0;
  int64_t total_nanos = 0;  // wall time of the whole sharded call
  uint32_t threads = 1;
  // A line per shard (count, time; the slowest marked), then the slowest
  // shard's plan.
  std::string ToString() const;
};

// One entry of a sharded top-k.
struct ShardedAttributeEntry {
  ShardedRow at;
  int64_t value = 0;
};

// Mutations routed per shard, written with ShardedIndex::Write (one
// Index::Write per shard, on the pool). Tags by TagId (the same in every
// shard).
class ShardedWriteBatch {
 public:
  void AddCustomers(std::span<const int64_t> keys);
  void AddCustomers(std::span<const std::string_view> keys);
  void RemoveCustomers(std::span<const int64_t> keys);
  void RemoveCustomers(std::span<const std::string_view> keys);
  void Tag(TagId tag, std::span<const int64_t> keys);
  void Tag(TagId tag, std::span<const std::string_view> keys);
  void Untag(TagId tag, std::span<const int64_t> keys);
  void Untag(TagId tag, std::span<const std::string_view> keys);
  size_t size() const { return items_.size(); }

  // For the library itself.
  enum class Kind : uint8_t { kAdd, kRemove, kTag, kUntag };
  struct Item {
    Kind kind;
    TagId tag;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;
    bool is_string = false;
  };
  const std::vector<Item>& items() const { return items_; }

 private:
  std::vector<Item> items_;
};

class ShardedIndex {
 public:
  // Opens (or creates, per options.shard.create_if_missing) the sharded
  // index in `path`, repairing an interrupted catalog change (see above).
  // Errors: those of Index::Open for each shard ("shard <i>: ..."); DataLoss
  // for a damaged manifest or a shard that disagrees with it;
  // FailedPrecondition for a pending change in a read-only open;
  // InvalidArgument for bad creation options.
  static absl::StatusOr<std::unique_ptr<ShardedIndex>> Open(const std::string& path,
                                                            const ShardedOpenOptions& options = {});
  // An in-memory sharded index (no manifest file; for tests and benchmarks).
  static absl::StatusOr<std::unique_ptr<ShardedIndex>> CreateInMemory(
      const ShardedOpenOptions& options = {});
  // The directory of shard `i` of the sharded index at `path` (an ordinary
  // index directory: tagindex.dask opens shards with Index::Open read-only).
  static std::string ShardPath(const std::string& path, uint32_t i);
  // Reads and checks the manifest of the sharded index at `path` without
  // opening the shards. Errors: NotFound; DataLoss for a damaged manifest.
  static absl::StatusOr<ShardedManifestInfo> ReadManifest(
      const std::string& path, std::shared_ptr<FileSystem> file_system = nullptr);

  ~ShardedIndex();
  ShardedIndex(const ShardedIndex&) = delete;
  ShardedIndex& operator=(const ShardedIndex&) = delete;

  uint32_t shard_count() const;
  KeyKind key_kind() const;
  uint32_t threads() const;
  // Replaces the pool (0 = the cores). Not while other calls on this index
  // run (the benchmarks switch between 1 and N threads on the same data).
  void SetThreads(uint32_t threads);
  // kIdentity: keys per shard range (shard s holds [s * R, (s + 1) * R));
  // 0 for hashed keys.
  uint64_t rows_per_shard() const;
  // The manifest's generation (grows by two per catalog change).
  uint64_t generation() const;
  // Shard i (for reads and per-shard tools). Writing to it directly
  // bypasses routing and the manifest: don't change its catalog.
  Index& shard(uint32_t i);
  const Index& shard(uint32_t i) const;
  // Whether Open repaired an interrupted catalog change, and how.
  const std::string& repair_report() const;

  // The shard of a key. Errors: InvalidArgument (wrong kind; identity key
  // outside [0, shards * rows_per_shard)).
  absl::StatusOr<uint32_t> ShardOf(int64_t key) const;
  absl::StatusOr<uint32_t> ShardOf(std::string_view key) const;

  // ---- Catalog (reaches every shard; see the header comment) -------------
  absl::Status CreateCategory(std::string_view name, const CategoryOptions& options = {});
  absl::StatusOr<CategoryInfo> GetCategory(std::string_view name) const;
  absl::StatusOr<std::vector<CategoryInfo>> ListCategories() const;
  absl::StatusOr<TagId> CreateTag(const TagSpec& spec);
  absl::StatusOr<TagId> FindTag(std::string_view name) const;
  absl::StatusOr<TagId> FindTag(std::string_view category, std::string_view name) const;
  absl::Status RenameTag(TagId tag, std::string_view new_name);
  absl::Status SetTagDescription(TagId tag, std::string_view description);
  absl::Status DeleteTag(TagId tag);
  // Counts are summed over the shards.
  absl::StatusOr<TagInfo> GetTag(TagId tag) const;
  absl::StatusOr<std::vector<TagInfo>> ListTags() const;
  uint32_t TagCount() const;
  absl::StatusOr<AttributeId> CreateAttribute(const AttributeSpec& spec);
  absl::Status RenameAttribute(std::string_view name, std::string_view new_name);
  absl::Status DropAttribute(std::string_view name);
  absl::StatusOr<AttributeInfo> GetAttribute(std::string_view name) const;
  absl::StatusOr<std::vector<AttributeInfo>> ListAttributes() const;

  // ---- Customers and memberships (routed) ---------------------------------
  absl::Status AddCustomers(std::span<const int64_t> keys);
  absl::Status AddCustomers(std::span<const std::string_view> keys);
  absl::Status RemoveCustomers(std::span<const int64_t> keys);
  absl::Status RemoveCustomers(std::span<const std::string_view> keys);
  absl::Status TagMany(TagId tag, std::span<const int64_t> keys);
  absl::Status TagMany(TagId tag, std::span<const std::string_view> keys);
  absl::Status UntagMany(TagId tag, std::span<const int64_t> keys);
  absl::Status UntagMany(TagId tag, std::span<const std::string_view> keys);
  absl::Status Tag(TagId tag, int64_t key) { return TagMany(tag, std::span(&key, 1)); }
  absl::Status Write(const ShardedWriteBatch& batch);
  // Values of live customers (see Index::SetAttributeMany), per shard.
  absl::Status SetAttributeMany(std::string_view attribute, std::span<const int64_t> keys,
                                std::span<const int64_t> values);
  absl::Status SetAttributeMany(std::string_view attribute, std::span<const std::string_view> keys,
                                std::span<const int64_t> values);

  // Loads all of `source` into this empty sharded index: its categories,
  // tags and attribute columns (same names, exclusivity, descriptions; ids
  // are assigned afresh in the source's id order, so they equal the
  // source's when it never deleted a tag), then its live customers, their
  // memberships and attribute values, each shard written by one Index::Write
  // per step, the shards in parallel. `tagindex shard split` is this call.
  // Errors: FailedPrecondition unless this index is empty (no customers,
  // tags, categories or attributes); InvalidArgument for a source of
  // another key kind; the shards' errors.
  absl::Status LoadFrom(const Index& source);

  // Writes a new sharded index of `shards` shards in `dest` holding
  // everything the sharded index in `source` holds: every live customer key,
  // the categories, tags and attribute columns (names, exclusivity,
  // descriptions; ids assigned afresh in the source's id order, so equal to
  // the source's when it never deleted a tag), memberships and attribute
  // values (the sharded index keeps no saved segments or rule definitions;
  // a rule tag is copied as a tag with its members). Identity keys: the new
  // shards' range is `rows_per_shard` (0 = the source's key space,
  // shards x rows_per_shard of the source, split evenly).
  //
  // `source` is opened read-only and never written. Crash-safe: the new
  // index is built in `dest` + ".reshard-tmp", checkpointed (fsync), and
  // only then renamed to `dest` (the parent directory synced), so `dest`
  // either does not exist or is complete (an error other than a crash
  // removes the temporary directory). `tagindex shard reshard` is this
  // call. Errors: AlreadyExists when `dest` (or a temporary directory left
  // by an interrupted reshard: remove it) exists; InvalidArgument for a
  // shard count outside 1..4096 or an identity key outside the new range;
  // those of Open and of the shards.
  static absl::Status Reshard(const std::string& source, const std::string& dest, uint32_t shards,
                              uint64_t rows_per_shard = 0, uint32_t threads = 0);

  uint64_t CustomerCount() const;
  absl::StatusOr<ShardedRow> FindCustomer(int64_t key) const;
  absl::StatusOr<ShardedRow> FindCustomer(std::string_view key) const;
  // The global key of a row (identity keys with their shard's offset).
  absl::StatusOr<CustomerKey> KeyOf(ShardedRow at) const;
  absl::StatusOr<std::vector<TagId>> TagsOf(int64_t key) const;
  absl::StatusOr<std::vector<TagId>> TagsOf(std::string_view key) const;

  // ---- Queries (every shard, on the pool; merged exactly) ------------------
  absl::StatusOr<uint64_t> Count(std::string_view text, const QueryOptions& options = {}) const;
  absl::StatusOr<ShardedSegment> Query(std::string_view text,
                                       const QueryOptions& options = {}) const;
  absl::StatusOr<ShardedExplanation> Explain(std::string_view text,
                                             const QueryOptions& options = {}) const;
  // Per-shard counts of a query (the Dask reducer's unit).
  absl::StatusOr<std::vector<uint64_t>> ShardCounts(std::string_view text,
                                                    const QueryOptions& options = {}) const;
  ShardedSegment AllCustomers() const;

  // Attribute aggregates over `segment` (every customer if null), merged
  // exactly from the shards' (see Index for each one's contract).
  absl::StatusOr<AttributeSummary> SummarizeAttribute(
      std::string_view attribute, const ShardedSegment* segment = nullptr) const;
  // Best first; ties by (shard, row) ascending.
  absl::StatusOr<std::vector<ShardedAttributeEntry>> TopAttribute(
      std::string_view attribute, uint64_t k, bool largest = true,
      const ShardedSegment* segment = nullptr) const;
  absl::StatusOr<std::vector<uint64_t>> AttributeHistogram(
      std::string_view attribute, std::span<const int64_t> bounds,
      const ShardedSegment* segment = nullptr) const;
  // Nearest rank, as Index::AttributeQuantile, over all shards.
  absl::StatusOr<std::optional<int64_t>> AttributeQuantile(
      std::string_view attribute, double q, const ShardedSegment* segment = nullptr) const;

  // ---- Analytics (tagindex/analytics.h), merged exactly ---------------------
  // Each shard answers on the pool; the counts are summed (the shards hold
  // disjoint customers and the same catalog) and the derived fields
  // computed again (FinishProfile, RankTopTags, ...), so every result equals
  // the unsharded index's. Contracts and errors as Index's; a segment of
  // another sharded index is InvalidArgument.
  absl::StatusOr<SegmentProfile> Profile(const ShardedSegment& segment,
                                         const ProfileOptions& options = {}) const;
  absl::StatusOr<std::vector<ProfileRow>> TopTags(const ShardedSegment& segment,
                                                  const TopTagsOptions& options = {}) const;
  absl::StatusOr<CoOccurrence> CoOccurrenceOf(std::span<const TagId> tags,
                                              const ShardedSegment* segment = nullptr) const;
  absl::StatusOr<Crosstab> CrosstabOf(std::string_view row_category, std::string_view col_category,
                                      const ShardedSegment* segment = nullptr) const;
  absl::StatusOr<CoverageReport> Coverage(const ShardedSegment* segment = nullptr) const;
  // The customers (of `segment`, every customer if null) holding no tag of
  // `category`, shard by shard. Errors as Index::CustomersWithoutCategory.
  absl::StatusOr<ShardedSegment> CustomersWithoutCategory(
      std::string_view category, const ShardedSegment* segment = nullptr) const;
  // An attribute value in its column's text form ("12.50", "2026-11-20"),
  // as Index::FormatAttributeValue (the catalog is the same in every shard).
  absl::StatusOr<std::string> FormatAttributeValue(std::string_view attribute, int64_t value) const;

  // ---- Storage --------------------------------------------------------------
  // Checkpoints every shard (on the pool). Errors: the first shard's error.
  absl::Status Checkpoint();
  bool persistent() const;

  // For the library itself.
  struct Rep;
  explicit ShardedIndex(std::unique_ptr<Rep> rep);
  const Rep& rep_for_internal_use() const { return *rep_; }

 private:
  std::unique_ptr<Rep> rep_;
};

}  // namespace tagindex

#endif  // TAGINDEX_SHARDED_INDEX_H_
