// IntKeyTable: the int64 key -> row id map behind KeyMap.
#ifndef TAGINDEX_INDEX_INT_KEY_TABLE_H_
#define TAGINDEX_INDEX_INT_KEY_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tagindex/types.h"

namespace tagindex::internal {

// An open-addressing hash table from int64 keys to row ids, built so that a
// bulk load (Build) costs about one sequential pass instead of one cache miss
// per key.
//
// Layout: one flat array of 16-byte slots {key, row, dist}; dist is 0 for an
// empty slot, else 1 + the slot's distance from its key's home slot. The home
// slot is the top log2(capacity) bits of Mix(key ^ seed), capacity a power of
// two. Collisions use linear probing with Robin Hood ordering (each probe run
// is sorted by home slot, so a lookup stops at the first slot whose entry is
// closer to its home than the probe is) and backward-shift deletion (no
// tombstones). Runs never wrap around: they may spill into a tail past
// `capacity` slots, which grows on demand; the last slot is always empty, so
// every probe loop ends without a bounds check.
//
// The table grows (doubles) when more than 7/8 of `capacity` slots would be
// occupied, the same load limit as absl::flat_hash_map, whose slot for
// <int64_t, uint32_t> also takes 16 bytes plus a control byte; so the
// footprint never exceeds absl's.
//
// Nothing derived from the hash is persisted, so the seed may differ per
// table (KeyMap seeds from std::random_device, keeping crafted keys from
// forming long runs); tests pass fixed seeds.
//
// Not thread-safe.
class IntKeyTable {
 public:
  explicit IntKeyTable(uint64_t seed = 0) : seed_(seed) {}
  ~IntKeyTable();
  IntKeyTable(IntKeyTable&& other) noexcept;
  IntKeyTable& operator=(IntKeyTable&& other) noexcept;
  IntKeyTable(const IntKeyTable&) = delete;
  IntKeyTable& operator=(const IntKeyTable&) = delete;

  // The fixed 64-bit mixer: the MurmurHash3 fmix64 finaliser (a bijection).
  static uint64_t Mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
  }

  // Home slot of `key` in a table of 2^capacity_log2 slots with `seed`.
  static size_t HomeSlot(int64_t key, uint64_t seed, int capacity_log2) {
    if (capacity_log2 == 0) return 0;
    return static_cast<size_t>(Mix(static_cast<uint64_t>(key) ^ seed) >> (64 - capacity_log2));
  }

  std::optional<RowId> Find(int64_t key) const;

  // Maps `key` to `row`, replacing any previous row of `key`.
  void Upsert(int64_t key, RowId row);

  // Maps `key` to `row` if `key` is absent; returns false (and changes
  // nothing) if it is present.
  bool InsertNew(int64_t key, RowId row);

  // Removes `key` if it maps to `row`; returns whether it did.
  bool EraseIfRow(int64_t key, RowId row);

  // Replaces the contents with key_of_row[r] -> r for every r in `rows`.
  // Returns false, leaving the table empty, if two of them share a key or a
  // row is outside `key_of_row`. Sized once, then filled front to back in
  // one pass (entries are counting-sorted by home slot first), so it costs
  // a few sequential passes rather than a cache miss per key.
  bool Build(std::span<const int64_t> key_of_row, std::span<const RowId> rows);

  // Empties the table and frees its memory.
  void Clear();

  size_t size() const { return size_; }
  // Power-of-two slot count the load factor is computed against (0 if empty).
  size_t capacity() const { return capacity_; }
  // Bytes held by the slot array.
  size_t MemoryBytes() const { return slot_count_ * sizeof(Slot); }

  // Checks every structural invariant (for tests): each entry's dist matches
  // its home, runs are sorted by home, size matches, the last slot is empty.
  bool CheckInvariants() const;

 private:
  struct Slot {
    int64_t key;
    RowId row;
    uint32_t dist;  // 0: empty; else 1 + distance from the home slot
  };
  static_assert(sizeof(Slot) == 16);

  size_t Home(int64_t key) const { return HomeSlot(key, seed_, capacity_log2_); }
  // Frees the slots and allocates an empty table of 2^log2 slots plus a
  // tail (calloc: fresh zero pages, not written twice).
  void Reset(int log2);
  // Adds empty slots at the end (a run reached the last slot).
  void ExtendTail();
  // Doubles the table (or allocates the first one), keeping every entry.
  void Grow();
  // Inserts at the Robin Hood position; `key` must not be present and there
  // must be room under the load limit.
  void Place(int64_t key, RowId row, size_t i, uint32_t d);
  static int Log2For(size_t entries);
  bool BuildUnchecked(std::span<const int64_t> key_of_row, std::span<const RowId> rows);
  // Fills a freshly Reset table with the n entries that
  // for_each(emit) passes to emit(key, row) (it is called twice and must
  // pass the same entries; it returns false to abort). Returns false if
  // for_each does or two keys repeat.
  template <typename ForEach>
  bool FillSorted(size_t n, ForEach for_each);

  uint64_t seed_;
  Slot* slots_ = nullptr;  // slot_count_ slots, the last one always empty
  size_t slot_count_ = 0;
  size_t capacity_ = 0;
  int capacity_log2_ = 0;
  size_t size_ = 0;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_INT_KEY_TABLE_H_
