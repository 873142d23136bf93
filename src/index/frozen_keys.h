// FrozenKeys: the customer keys of one snapshot, used in place from the
// memory-mapped file instead of being copied into hash maps on Open.
#ifndef TAGINDEX_INDEX_FROZEN_KEYS_H_
#define TAGINDEX_INDEX_FROZEN_KEYS_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bitmap/bitmap.h"
#include "tagindex/file_system.h"
#include "tagindex/options.h"
#include "tagindex/types.h"

namespace tagindex::internal {

// The hash of the persisted key lookup table (docs/file_format.md, section
// kind 10). It is written to disk: never change it.
//   int64 key:  fmix64(uint64(key) XOR seed)   (MurmurHash3's finaliser)
//   string key: XXH3-64(key bytes, seed)
// A table entry is (upper 32 bits of the hash) << 32 | row.
uint64_t FrozenKeyHash(int64_t key, uint64_t seed);
uint64_t FrozenKeyHash(std::string_view key, uint64_t seed);

inline uint64_t FrozenEntry(uint64_t hash, RowId row) {
  return (hash & 0xFFFFFFFF00000000ULL) | row;
}

// Where a snapshot's key sections failed validation.
struct FrozenKeysError {
  bool in_table = false;  // false: the key list (kind 4); true: the lookup table (kind 10)
  bool in_runs = false;   // the int64 key runs (kind 30); takes precedence over in_table
  uint64_t at = 0;        // byte offset within that section's payload
  std::string what;
};

// A read-only view of two snapshot sections, kept mapped by `region`:
//
//  * the key list (kind 4): the key of every row ever assigned, row order
//    (int64: n x i64; string: (n+1) x u64 offsets, then the key bytes);
//  * the lookup table (kind 10): u64 seed, u64 count, then count u64
//    entries (hash tag << 32 | row), one per live customer, strictly
//    increasing.
//
// Find hashes the key, reads a directory (built on load: first entry of
// each of 2^k tag prefixes, 4-8 entries per prefix) and scans the few
// entries of its prefix; a tag match is confirmed against the key list. So
// a lookup touches the directory, one or two cache lines of entries and the
// key, and nothing is rebuilt on Open but the directory.
//
// Everything is checked once, by Load, in sequential passes (see Load).
// Immutable after Load, so safe to read from many threads.
class FrozenKeys {
 public:
  FrozenKeys() = default;  // no rows

  struct Input {
    KeyKind kind = KeyKind::kInt64;  // kInt64 or kString
    std::shared_ptr<const ReadableRegion> region;
    std::span<const char> key_list;  // payload of section kind 4
    std::span<const char> table;     // payload of section kind 10
    // Payload of section kind 30 (int64 key runs), empty when the file has
    // none: the key list and the lookup table then hold the rows outside
    // the runs only (see frozen_int_runs.cc and docs/file_format.md).
    std::span<const char> runs;
    const Bitmap* universe = nullptr;
    uint64_t row_limit = 0;
    const IndexOptions* options = nullptr;
    // The sections were just written by this process from the same state
    // (Index::Checkpoint maps the file it wrote): only sizes, order and row
    // ranges are checked and the directory built; the key hashing passes
    // are skipped.
    bool trusted = false;
  };

  // Validates and wraps the sections; on failure returns false and fills
  // `error`. Checks: sizes and counts against the payload before touching
  // anything; key list length = row limit; string offsets start at 0, never
  // decrease, end at the byte count, keys within max_string_key_bytes, live
  // keys valid (ValidateStringKey); table entries strictly increasing, rows
  // within the key list, count = live customers; the entries are exactly
  // {(hash tag of row r's key) << 32 | r : r live}; no two live rows share a
  // key. The set equality compares two keyed sums (a multiset hash whose
  // secret is drawn per Load), one over the table and one over the live
  // rows' keys, so both are single sequential passes with no random access;
  // a table that differs passes with probability about 2^-64. Memory safety
  // does not depend on it (rows are range-checked).
  static bool Load(const Input& in, FrozenKeys* out, FrozenKeysError* error);

  uint64_t rows() const { return rows_; }
  uint64_t seed() const { return seed_; }
  uint64_t entry_count() const { return entries_; }
  uint64_t Entry(uint64_t i) const { return Load64(table_ + 8 * i); }

  int64_t IntKey(RowId row) const {
    if (!runs_.empty()) return IntKeyWithRuns(row);
    return static_cast<int64_t>(Load64(keys_ + 8 * uint64_t{row}));
  }
  // Keys of rows [begin, end) into out[0, end - begin), in one sequential
  // pass (no search per row when the snapshot has key runs).
  void CopyIntKeys(uint64_t begin, uint64_t end, int64_t* out) const;
  std::string_view StringKey(RowId row) const {
    const uint64_t begin = Load64(keys_ + 8 * uint64_t{row});
    const uint64_t end = Load64(keys_ + 8 * (uint64_t{row} + 1));
    return std::string_view(blob_ + begin, end - begin);
  }

  // The row whose key is `key` among the snapshot's live rows. Bounded
  // work whatever the file: a directory bucket of more than kLinearScan
  // entries is binary-searched, and a run of more than kShortRun entries
  // sharing one hash tag (a crafted table: keys chosen to collide) is
  // looked up in a side index of that run's rows sorted by key, built at
  // Load. `probes`, when given, is increased by the entries and keys
  // examined (tests count work with it, not time).
  static constexpr uint64_t kLinearScan = 32;
  static constexpr uint64_t kShortRun = 8;
  std::optional<RowId> Find(int64_t key, uint64_t* probes = nullptr) const;
  std::optional<RowId> Find(std::string_view key, uint64_t* probes = nullptr) const;

  // ---- int64 key runs (section kind 30; frozen_int_runs.cc) ----
  // A run: keys [key, key + length) are live rows [row, row + length), in
  // that order. Runs never overlap in rows or keys, hold live rows only,
  // and no live row outside them has a key inside one. Rows outside the
  // runs keep the hashed form (key list + lookup table).
  struct IntRun {
    int64_t key;
    RowId row;
    uint32_t length;
  };
  size_t run_count() const { return runs_.size(); }
  uint64_t run_rows() const { return run_rows_; }
  const IntRun& run(size_t i) const { return runs_[i]; }  // by row
  // Nothing to look up: no hashed entries and no runs.
  bool lookup_empty() const { return entries_ == 0 && runs_.empty(); }

  // Key comparisons Load made to prove that no two live rows share a key
  // (sort-based within runs of equal tags: O(k log k) for a run of k).
  uint64_t load_probes() const { return load_probes_; }
  // Entries held in long runs' side index (0 for any file this library wrote
  // from keys it did not choose to collide).
  uint64_t long_run_entries() const { return long_run_rows_.size(); }

  // Batch Find: rows[i] is the row of keys[i], or kNoRow. Works on groups
  // of keys in stages (hash, directory, entries, key list), prefetching
  // each stage's lines for the whole group, so the cache misses of a
  // group overlap instead of queuing one lookup after another.
  static constexpr RowId kNoRow = UINT32_MAX;
  void FindMany(std::span<const int64_t> keys, RowId* rows) const;
  void FindMany(std::span<const std::string_view> keys, RowId* rows) const;

  // The key list's arrays, for writing the next snapshot: int64 keys
  // (rows x 8 bytes; only without runs: with runs, use CopyIntKeys), string offsets (rows x 8
  // bytes, without the final one) and the string key bytes.
  std::string_view IntKeyBytes() const { return {keys_, kind_ == KeyKind::kInt64 ? rows_ * 8 : 0}; }
  std::string_view StringOffsetBytes() const {
    return {keys_, kind_ == KeyKind::kString ? rows_ * 8 : 0};
  }
  std::string_view StringBlob() const { return {blob_, blob_size_}; }
  // The lookup table's entries (entry_count() x 8 bytes).
  std::string_view EntryBytes() const { return {table_, entries_ * 8}; }

 private:
  static uint64_t Load64(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // unaligned: sections are packed
    return v;
  }
  // `cmp(row)` is <0, 0 or >0 as row's key is below, equal to or above
  // the key looked up.
  template <typename Compare>
  std::optional<RowId> FindHashed(uint64_t hash, Compare cmp, uint64_t* probes) const;
  // The first entry index of bucket `bucket` whose tag is >= `tag`.
  uint64_t FirstAtLeast(uint64_t bucket, uint64_t tag, uint64_t* work) const;
  int CompareKeys(RowId a, RowId b) const;
  template <typename Key>
  void FindManyImpl(std::span<const Key> keys, RowId* rows) const;
  uint64_t BucketOf(uint64_t hash) const {
    return directory_bits_ == 0 ? 0 : hash >> (64 - directory_bits_);
  }

  // Runs: parse and check section kind 30 (Load's first step for int64
  // keys with runs).
  static bool LoadRuns(const Input& in, FrozenKeys* f, FrozenKeysError* error);
  // Pass B of Load with runs: every live row outside the runs has a key
  // outside every run; the keyed sum of their table entries.
  // The sum is of FrozenKeyHash(entry, mix_key), Load's multiset hash.
  bool CheckLiveOutsideRuns(const Bitmap& universe, uint64_t mix_key, uint64_t* sum,
                            FrozenKeysError* error) const;
  int64_t IntKeyWithRuns(RowId row) const;
  // The row of `key` if a run holds it, else kNoRow; `hint` (an index in
  // runs_by_key_) is tried first, for ascending batches.
  RowId RunFind(int64_t key, size_t* hint) const;
  // FindMany of int64 keys when there are runs: runs first, the rest
  // hashed as one batch.
  void FindManyWithRuns(std::span<const int64_t> keys, RowId* rows) const;
  // FindMany of int64 keys in the hashed form only (the lookup table).
  void FindManyHashed(std::span<const int64_t> keys, RowId* rows) const;

  KeyKind kind_ = KeyKind::kInt64;
  std::shared_ptr<const ReadableRegion> region_;
  // Int64 key runs, by row (copied from section kind 30), with the number
  // of run rows up to and including each (for the key list index of a row
  // outside them), and their indexes by key.
  std::vector<IntRun> runs_;
  std::vector<uint64_t> run_rows_through_;
  std::vector<IntRun> runs_by_key_;
  uint64_t run_rows_ = 0;
  uint64_t list_rows_ = 0;  // rows in the key list (rows_ - run_rows_)
  uint64_t rows_ = 0;
  const char* keys_ = nullptr;  // int64 keys, or string offsets (rows_ + 1)
  const char* blob_ = nullptr;  // string key bytes
  uint64_t blob_size_ = 0;
  uint64_t seed_ = 0;
  uint64_t entries_ = 0;
  const char* table_ = nullptr;
  int directory_bits_ = 0;
  std::vector<uint32_t> directory_;  // 2^bits + 1 entry indexes
  // Runs of more than kShortRun entries with one tag: (tag, first index in
  // long_run_rows_, length), by tag; their rows sorted by key.
  struct LongRun {
    uint32_t tag;
    uint32_t begin;
    uint32_t size;
  };
  std::vector<LongRun> long_runs_;
  std::vector<RowId> long_run_rows_;
  uint64_t load_probes_ = 0;
};

// Sorts entries built in row order by their tag (stable, so ties stay in
// row order, which makes the result strictly increasing).
void SortFrozenEntries(std::vector<uint64_t>* entries);

// Calls fn(row) for every row of `live`, ascending, until fn returns false;
// returns whether it ran to the end. Decodes 64 Ki rows at a time (none for
// the usual dense set [0, n)), so the loop body is inlined, not called
// through std::function as with Bitmap::ForEach.
template <typename Fn>
bool ForEachLiveRow(const Bitmap& live, Fn fn) {
  const uint64_t n = live.Cardinality();
  if (n == 0) return true;
  if (uint64_t{live.Maximum()} + 1 == n) {
    for (uint64_t r = 0; r < n; ++r) {
      if (!fn(static_cast<RowId>(r))) return false;
    }
    return true;
  }
  std::vector<uint32_t> chunk;
  for (uint64_t offset = 0;; offset += chunk.size()) {
    live.RangeToVector(offset, 1 << 16, &chunk);
    if (chunk.empty()) return true;
    for (RowId r : chunk) {
      if (!fn(r)) return false;
    }
  }
}

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_FROZEN_KEYS_H_
