// KeyMap: customer key <-> dense row id.
#ifndef TAGINDEX_INDEX_KEY_MAP_H_
#define TAGINDEX_INDEX_KEY_MAP_H_

#include <cstdint>
#include <deque>
#include <optional>
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
// Not thread-safe; IndexState's lock guards it.
class KeyMap {
 public:
  explicit KeyMap(KeyKind kind);

  KeyKind kind() const { return kind_; }

  std::optional<RowId> Find(int64_t key) const;
  std::optional<RowId> Find(std::string_view key) const;

  // Batch Find: (*rows)[i] is Find(keys[i]) or FrozenKeys::kNoRow. Faster
  // than a loop of Find for large batches (the snapshot layer's lookups
  // overlap their cache misses).
  void FindMany(std::span<const int64_t> keys, std::vector<RowId>* rows) const;
  void FindMany(std::span<const std::string_view> keys, std::vector<RowId>* rows) const;

  // Records that `key` now lives at `row`, a fresh row id: at least
  // base().rows() and above every row inserted before.
  void Insert(int64_t key, RowId row);
  void Insert(std::string_view key, RowId row);
  // Insert of keys[i] at first_row + i for every i (sized once).
  void InsertMany(std::span<const int64_t> keys, RowId first_row);
  void InsertMany(std::span<const std::string_view> keys, RowId first_row);

  // Forgets the forward entry of `row`'s key (the customer was removed).
  // Rows of the snapshot layer keep theirs (it is read-only); Find may
  // return them, and the universe says they are dead.
  void EraseRow(RowId row);

  // The key `row` was assigned for. `row` must have been assigned.
  CustomerKey KeyOf(RowId row) const;

  // Makes `base` the snapshot layer and drops the in-memory rows it covers
  // (every row below base.rows()). Used on Open (with no in-memory rows)
  // and after a checkpoint (the new snapshot holds what memory held; rows
  // added after it stay in memory).
  void SetBase(FrozenKeys base);
  const FrozenKeys& base() const { return base_; }

  // Seed of the lookup table the next snapshot writes (the base's, or one
  // drawn at construction).
  uint64_t table_seed() const { return table_seed_; }

  // Number of rows that have a key (the row limit for non-identity kinds).
  uint64_t rows() const { return base_.rows() + memory_rows(); }

  // Snapshot writers, defined in frozen_keys.cc beside the reader of the
  // same bytes (FrozenKeys::Load).
  // The next snapshot's key list (section kind 4) as byte ranges to write
  // in order; `scratch` owns the bytes that are not in the base mapping.
  std::vector<std::string_view> KeyListParts(std::string* scratch) const;
  // The next snapshot's lookup-table entries for the live rows `live`
  // (section kind 10 after its header): the base's entries that are still
  // live merged with those of the in-memory rows.
  std::vector<uint64_t> LookupEntries(const Bitmap& live) const;
  // The same as byte ranges to write: the base's entries straight from the
  // mapping when no row was added or removed since it was written (the
  // common checkpoint of tag changes only), else LookupEntries in `scratch`.
  std::vector<std::string_view> LookupEntryParts(const Bitmap& live,
                                                 std::vector<uint64_t>* scratch) const;

 private:
  template <typename K>
  void FindManyImpl(std::span<const K> keys, std::vector<RowId>* rows) const;
  bool memory_empty() const {
    return kind_ == KeyKind::kString ? string_rows_.empty() : int_rows_.empty();
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
  std::vector<int64_t> int_keys_;        // row - base rows -> key (kInt64)
  std::deque<std::string> string_keys_;  // row - base rows -> key (kString)
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_KEY_MAP_H_
