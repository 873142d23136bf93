// KeyMap: customer key <-> dense row id.
#ifndef TAGINDEX_INDEX_KEY_MAP_H_
#define TAGINDEX_INDEX_KEY_MAP_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bitmap/bitmap.h"
#include "index/frozen_keys.h"
#include "tagindex/types.h"
#include "util/hash.h"

namespace tagindex::internal {

// Maps keys to row ids and every assigned row id back to the key it was
// assigned for. Liveness of a row is the universe bitmap's business, not the
// KeyMap's: the reverse table keeps the key of a removed row (so that
// recovery and diagnostics can name it), and Find may return a removed row
// (callers check the universe).
//
// Two layers. Rows below base().rows() come from the snapshot the index was
// opened from and are read in place from the mapped file (FrozenKeys: no
// copy, no hash map rebuilt on Open). Rows assigned since then live in
// memory: their keys in a vector (int64) or deque (string, each stored
// once: the map's keys are views of it), their forward entries in an
// absl::flat_hash_map. Find looks in memory first, so a
// key removed from the snapshot's rows and added again resolves to its new
// row. An in-memory index (Index::Create) has only the second layer.
//
// For KeyKind::kIdentity no table is kept: key k is row k.
//
// Versions: one KeyMap is shared by every index version (index/version.h)
// from one checkpoint to the next and only grows: rows are appended, a
// removed customer's entries stay (the universe of a version says which rows
// are live), and a key added again keeps its older rows in a history. A
// version reads it bounded by its own row limit (`limit`: rows at or above
// it did not exist yet), so it sees exactly the mapping of its moment. A
// checkpoint makes a new KeyMap (Rebased) for the versions after it; older
// versions keep theirs.
//
// Thread safety: any number of readers and one writer (the index's writer
// lock serialises writers). An internal reader/writer lock guards the
// in-memory layer: lookups take it shared for one lookup or batch; the
// writer takes it exclusively only to append, at most kInsertChunk keys at a
// time, so a reader waits at most for one chunk. Queries (Count, Query,
// Explain) never touch the KeyMap.
class KeyMap {
 public:
  explicit KeyMap(KeyKind kind);
  KeyMap(const KeyMap&) = delete;
  KeyMap& operator=(const KeyMap&) = delete;

  KeyKind kind() const { return kind_; }

  static constexpr uint64_t kNoLimit = ~uint64_t{0};
  // The newest row below `limit` assigned for `key`, if any.
  std::optional<RowId> Find(int64_t key, uint64_t limit = kNoLimit) const;
  std::optional<RowId> Find(std::string_view key, uint64_t limit = kNoLimit) const;
  // The same for the index's writer, who holds the index's writer lock: the
  // only thread that ever changes the map, so it reads without the map's
  // own lock (a one-key Tag pays no reader/writer lock round trip).
  std::optional<RowId> FindAsWriter(int64_t key, uint64_t limit = kNoLimit) const;
  std::optional<RowId> FindAsWriter(std::string_view key, uint64_t limit = kNoLimit) const;

  // Batch Find: (*rows)[i] is Find(keys[i], limit) or FrozenKeys::kNoRow.
  // Faster than a loop of Find for large batches (the snapshot layer's
  // lookups overlap their cache misses).
  void FindMany(std::span<const int64_t> keys, std::vector<RowId>* rows,
                uint64_t limit = kNoLimit) const;
  void FindMany(std::span<const std::string_view> keys, std::vector<RowId>* rows,
                uint64_t limit = kNoLimit) const;

  // Appends of a batch take the exclusive lock this many keys at a time.
  static constexpr size_t kInsertChunk = 1024;

  // Records that `key` now lives at `row`, a fresh row id: at least
  // base().rows() and above every row inserted before.
  void Insert(int64_t key, RowId row);
  void Insert(std::string_view key, RowId row);
  // Insert of keys[i] at first_row + i for every i (sized once).
  // `all_new` (int64): the caller has looked every key up and none has a
  // row yet (FindMany gave kNoRow), and the keys are distinct. Such keys
  // that arrive as runs of consecutive values (auto-increment CRM ids) are
  // stored as runs (key, row, length) instead of hash-map entries, and
  // found by arithmetic (see IntRun).
  void InsertMany(std::span<const int64_t> keys, RowId first_row, bool all_new = false);
  void InsertMany(std::span<const std::string_view> keys, RowId first_row);

  // The key `row` was assigned for. `row` must have been assigned.
  CustomerKey KeyOf(RowId row) const;

  // Makes `base` the snapshot layer of a map with no in-memory rows (Open,
  // before the map is shared).
  void SetBase(FrozenKeys base);
  // A new map whose snapshot layer is `base` (a checkpoint just written)
  // holding this map's in-memory rows that `base` does not cover (rows
  // added while the checkpoint was written). Writer only.
  std::shared_ptr<KeyMap> Rebased(FrozenKeys base) const;
  const FrozenKeys& base() const { return base_; }

  // Seed of the lookup table the next snapshot writes (the base's, or one
  // drawn at construction).
  uint64_t table_seed() const { return table_seed_; }

  // Number of rows that have a key (the row limit for non-identity kinds).
  uint64_t rows() const { return base_.rows() + memory_rows(); }

  // In-memory int64 keys held as runs (for tests and stats): number of runs
  // and of keys they hold.
  size_t run_count() const;
  uint64_t run_keys() const;

  // A run of memory-layer int64 keys: keys [key, key + length) were
  // assigned rows [row, row + length) in that order, each key the first
  // time it was seen (so a key's run row is its oldest row; a later row of
  // the same key, after a removal, is in int_rows_ and its run row is
  // marked in superseded_). Runs are kept sorted by key and never overlap.
  static constexpr size_t kMinRun = 16;  // shorter stretches go to the hash map
  struct IntRun {
    int64_t key;
    RowId row;
    uint32_t length;
  };

  // Snapshot writers, defined in frozen_keys.cc beside the reader of the
  // same bytes (FrozenKeys::Load).
  // Both may run while the writer appends (a checkpoint or backup writes a
  // pinned version): they read the memory layer under the shared lock and
  // never past the version's rows.
  //
  // The next snapshot's key list (section kind 4) for the rows below
  // `limit` (a version's row limit; at most rows()) as byte ranges to write
  // in order; `scratch` owns the bytes that are not in the base mapping;
  // `*rows` is the number of rows written (less than `limit` only if the map
  // has fewer).
  std::vector<std::string_view> KeyListParts(uint64_t limit, std::string* scratch,
                                             uint64_t* rows) const;
  // The next snapshot's lookup-table entries for the live rows `live`
  // (section kind 10 after its header; every row of `live` has a key): the
  // base's entries that are still live merged with those of the in-memory
  // rows.
  std::vector<uint64_t> LookupEntries(const Bitmap& live) const;
  // The same as byte ranges to write: the base's entries straight from the
  // mapping when no row was added or removed since it was written (the
  // common checkpoint of tag changes only), else LookupEntries in `scratch`.
  std::vector<std::string_view> LookupEntryParts(const Bitmap& live,
                                                 std::vector<uint64_t>* scratch) const;

  // Int64 keys in the run form (frozen_int_runs.cc, docs/file_format.md
  // section kind 30): the runs, the key list of the rows outside them (kind
  // 4 payload) and the lookup-table entries of the live rows outside them
  // (kind 10 after its header). A run is a stretch of at least
  // kMinDiskRun live rows whose keys ascend by one; each costs 16 bytes
  // where the hashed form costs 16 per row. Returns false (nothing filled)
  // when there is no such stretch and the base has no runs: the caller
  // then writes the hashed form (KeyListParts, LookupEntryParts), exactly
  // the format of files without runs. `*rows` as for KeyListParts.
  static constexpr uint64_t kMinDiskRun = 16;
  struct IntKeySections {
    std::string runs;
    std::string key_list;
    std::vector<uint64_t> entries;
  };
  bool IntKeySectionsWithRuns(const Bitmap& live, uint64_t limit, IntKeySections* out,
                              uint64_t* rows) const;
  // Tests: the shortest run the writer stores (0: kMinDiskRun; UINT64_MAX:
  // never, i.e. the writer of files without runs). Process-wide.
  static void SetMinDiskRunForTesting(uint64_t length);

 private:
  template <typename K>
  void FindManyImpl(std::span<const K> keys, std::vector<RowId>* rows, uint64_t limit) const;
  // The memory layer's row for `key` below `limit` (caller holds mu_).
  std::optional<RowId> FindMemory(int64_t key, uint64_t limit) const;
  std::optional<RowId> FindMemory(int64_t key, uint64_t limit, size_t* run_hint) const;
  std::optional<RowId> FindMemory(std::string_view key, uint64_t limit) const;
  void InsertLocked(int64_t key, RowId row);
  // The run holding `key`, if any (caller holds mu_); `hint` is tried first.
  const IntRun* RunOf(int64_t key, size_t* hint) const;
  // Appends keys[begin, end) (at rows first_row + i) as a run, or extends
  // the run that ends just before it (caller holds mu_ exclusively).
  void AddRunLocked(std::span<const int64_t> keys, size_t begin, size_t end, RowId first_row,
                    std::vector<IntRun>* fresh_runs);
  void InsertLocked(std::string_view key, RowId row);
  bool memory_empty() const {
    return kind_ == KeyKind::kString ? string_rows_.empty() : int_keys_.empty();
  }
  uint64_t memory_rows() const {
    return kind_ == KeyKind::kString ? string_keys_.size() : int_keys_.size();
  }

  KeyKind kind_;
  uint64_t table_seed_;
  FrozenKeys base_;
  // Rows at or above base_.rows():
  absl::flat_hash_map<int64_t, RowId> int_rows_;
  // Keys are views of string_keys_'s elements, stored once: a deque never
  // moves its elements when it grows or loses its front.
  absl::flat_hash_map<std::string_view, RowId, util::StringHash, util::StringEq> string_rows_;
  std::vector<int64_t> int_keys_;  // row - base rows -> key (kInt64)
  std::vector<IntRun> int_runs_;   // by key (see IntRun)
  uint64_t int_run_keys_ = 0;
  Bitmap superseded_;                    // run rows whose key has a newer row in int_rows_
  std::deque<std::string> string_keys_;  // row - base rows -> key (kString)
  // Older in-memory rows of keys added again (ascending), for versions
  // from before the newer row.
  absl::flat_hash_map<int64_t, std::vector<RowId>> int_history_;
  absl::flat_hash_map<std::string_view, std::vector<RowId>, util::StringHash, util::StringEq>
      string_history_;
  // Guards the memory layer (see the class comment).
  mutable std::shared_mutex mu_;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_KEY_MAP_H_
