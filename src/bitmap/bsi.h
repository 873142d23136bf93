// Bsi: a bit-sliced index of int64 values over row ids, built from Bitmaps.
//
// Encoding: two's complement with a sign slice. A column of width `bits`
// holds values in [-2^bits, 2^bits - 1]: slice i (i < bits) holds the rows
// whose value has bit i set, `sign` the rows whose value is negative, and
// `existence` every row that has a value (NULL elsewhere). A value that needs
// more bits widens the column by sign extension: each new slice is a copy of
// the sign slice, so no existing row is re-encoded. (An offset encoding,
// value - base, would need every slice rewritten when a value below the base
// arrives.) For comparisons the sign slice acts as the top bit of the value
// biased by +2^bits, with its meaning inverted: every comparison is then
// unsigned over bits + 1 slices.
//
// Range evaluation follows O'Neil & Quass: the slices are walked from the
// top bit down, keeping per row "still equal to the bound" and "already
// greater / less". It runs chunk by chunk (2^16 rows) on 1024-word bitsets in
// a stack-like work area, so nothing per row is looked at and nothing but
// the result is materialised; an optional filter bitmap (the query's running
// intersection) restricts the rows visited, and chunks absent from the
// filter are skipped.
//
// Aggregates are computed from the slices too: sum = sum over i of
// 2^i * |slice_i AND segment| minus 2^bits * |sign AND segment|; min, max,
// k-th smallest (exact quantiles) and top-k walk the slices from the top bit,
// narrowing a candidate bitmap.
//
// Thread safety: const methods may be called concurrently; non-const calls
// need exclusive access.
#ifndef TAGINDEX_BITMAP_BSI_H_
#define TAGINDEX_BITMAP_BSI_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "bitmap/bitmap.h"

namespace tagindex {

// Exact sums: 2^32 rows of int64 values cannot overflow 128 bits.
__extension__ typedef __int128 Int128;

class Bsi {
 public:
  // An inclusive interval of values.
  struct Interval {
    int64_t lo;
    int64_t hi;
  };

  Bsi() = default;
  ~Bsi();
  Bsi(Bsi&& other) noexcept;
  Bsi& operator=(Bsi&& other) noexcept;
  Bsi(const Bsi&) = delete;
  Bsi& operator=(const Bsi&) = delete;
  // A deep copy of the slices; the row cache's chunks (below) are shared,
  // not copied (a later change of the copy drops its own reference to the
  // chunks it touches).
  Bsi Copy() const;

  // Builds a column from (row, value) pairs in any order; for a row given
  // twice the later pair wins. Sorts once and adds each slice with one bulk
  // call (no per-row bitmap updates).
  static Bsi Build(std::span<const uint32_t> rows, std::span<const int64_t> values);

  // --- mutation --------------------------------------------------------------
  void Set(uint32_t row, int64_t value);
  // Sets many values (rows any order; the later of duplicates wins). Rows
  // that had a value are cleared first with bulk removes, then each slice
  // gets one bulk add.
  void SetMany(std::span<const uint32_t> rows, std::span<const int64_t> values);
  void Clear(uint32_t row);
  // Clears every row of `rows` (sorted or not).
  void ClearMany(std::span<const uint32_t> rows);
  // Clears every row of `rows`.
  void ClearBitmap(const Bitmap& rows);
  void RunOptimize();

  // --- reads ----------------------------------------------------------------
  // Value bits (excluding the sign slice); 0 for a column of only 0 and -1.
  int bits() const { return static_cast<int>(slices_.size()); }
  const Bitmap& existence() const { return existence_; }
  const Bitmap& sign() const { return sign_; }
  const Bitmap& slice(int i) const { return slices_[static_cast<size_t>(i)]; }
  std::optional<int64_t> Get(uint32_t row) const;
  // Rows with a value (within `filter` if given).
  uint64_t Count(const Bitmap* filter = nullptr) const;
  size_t SizeInBytes() const;

  // Rows (within `filter`, if given) whose value lies in any of `intervals`
  // (inclusive bounds; any order, may overlap; empty ones lo > hi ignored).
  // Rows without a value never match.
  Bitmap Select(std::span<const Interval> intervals, const Bitmap* filter = nullptr) const;
  uint64_t SelectCount(std::span<const Interval> intervals, const Bitmap* filter = nullptr) const;

  // Chunks where the filter is a small array container (at most 256 of the
  // chunk's 1024 words hold a filter row) are evaluated on those words only,
  // gathered from the slices' containers, instead of on the whole chunk.
  // Tests and benchmarks turn that off to compare both paths; not thread
  // safe (call before any query runs).
  static void SetSparseFiltersForTesting(bool enabled);

  // Whole chunks (no filter, or a filter container too dense for the paths
  // above) are evaluated by a fused kernel: one pass over the chunk in
  // blocks of 8 words (one cache line of each slice), the candidates
  // loaded once, every interval walked top-down in registers (a block
  // stops at the level where no row in it is still equal to a bound), the
  // result ORed and popcounted in registers; Select writes the result
  // words, SelectCount writes nothing. A full chunk's existence (no NULLs)
  // is not expanded. Vectorised through simd.h's dispatch (AVX-512 with
  // VPOPCNTDQ, AVX2, SSE4.2 + POPCNT, scalar; simd::SetLevelForTesting
  // forces a level). Sum(filter) goes through Summarize (one AND-popcount
  // per slice and chunk). false restores the paths as they were (a cleared
  // accumulator, then a popcount; Sum by one AND-cardinality per slice)
  // for same-run before/after benchmarks and as a test oracle. Not thread
  // safe (call before any query runs).
  static void SetFusedChunksForTesting(bool enabled);

  // Row cache for small filters. Where the filter's container in a chunk is
  // an array of at most kRowCacheMaxRows ids, Select, SelectCount and
  // Summarize can read each filter row's value from a row-major copy of the
  // chunk (65,536 int64 values and 1,024 existence words: 520 KB, i.e. 8.1
  // bytes per row of the chunk) instead of walking the slices: a gather,
  // as fast as scanning a plain column. Building a chunk's copy costs as
  // much as hundreds of slice walks of a small filter in it, so the copy is
  // built only once it has paid for itself (ski rental): each slice walk of
  // a chunk for a small filter adds RowCacheRent(filter rows in the chunk)
  // to the chunk's counter, and the visit that takes it to
  // kRowCacheBuildRent builds the copy; from then on the chunk is gathered.
  // A query that runs once (every CLI invocation) never builds, so costs
  // what the slice walk costs; a query repeated often pays at most about
  // twice what the better of "never build" and "build at once" would have.
  // Concurrent readers never wait: the counters are relaxed atomics, one
  // reader builds while the others keep walking, and the copy is published
  // with a compare-and-swap. A copy is kept until the column changes in
  // that chunk: a mutation drops the chunks it touches and resets their
  // counters. Copy() shares the built chunks and copies the counters. So a
  // cached column costs up to 8.1 bytes per row more, only in the chunks
  // small filters have visited often.
  enum class RowCacheMode { kOff, kAuto, kAlways };
  // kOff: never (the slice walk only); kAuto: array filter containers of at
  // most `max_rows` ids, built after `build_rent` of rent (above); kAlways:
  // every array filter container, built on first use (tests).
  // Not thread safe (call before any query runs).
  static void SetRowCacheForTesting(RowCacheMode mode, int32_t max_rows = kRowCacheMaxRows,
                                    uint32_t build_rent = kRowCacheBuildRent);
  static constexpr int32_t kRowCacheMaxRows = 1024;  // chosen by measurement
  // The rent a slice walk of a chunk for `rows` filter rows pays: the rows
  // plus a fixed per-visit overhead (a chunk's seek of every slice).
  static uint32_t RowCacheRent(int32_t rows);
  static constexpr uint32_t kRowCacheVisitRent = 8;       // chosen by measurement
  static constexpr uint32_t kRowCacheBuildRent = 32'768;  // chosen by measurement
  // Drops every cached chunk and rent counter: the state of a freshly
  // opened column (memory back, benchmarks of the first query). Needs
  // exclusive access.
  void DropRowCache() { DropAllCached(); }
  // Number of row-cache chunks this column holds (for tests and memory
  // accounting).
  size_t RowCacheChunks() const;

  // --- aggregates over the rows of `filter` that have a value (all rows with
  // a value when filter is null) -------------------------------------------
  // Which aggregates Summarize computes (the count always).
  struct Want {
    bool sum = true;
    bool min = true;
    bool max = true;
  };
  struct Summary {
    uint64_t count = 0;
    Int128 sum = 0;              // when asked for
    std::optional<int64_t> min;  // when asked for and count > 0
    std::optional<int64_t> max;
  };
  // The count and the aggregates asked for, in one pass over the chunks of
  // `filter`: per chunk the candidate words (existence AND filter) once,
  // sum from per-slice AND-popcounts, min and max by a top-down walk of the
  // slices' words that stops as soon as the chunk cannot beat the best so
  // far. A small filter's chunks are handled on their words only (as in
  // Select). Without a filter: Sum, Min and Max below.
  Summary Summarize(const Bitmap* filter, const Want& want) const;
  // The exact sum.
  Int128 Sum(const Bitmap* filter = nullptr) const;
  std::optional<int64_t> Min(const Bitmap* filter = nullptr) const;
  std::optional<int64_t> Max(const Bitmap* filter = nullptr) const;
  // The value of rank k (0-based) in ascending order; nullopt if k >= count.
  std::optional<int64_t> KthSmallest(uint64_t k, const Bitmap* filter = nullptr) const;
  // Up to k (row, value) pairs with the largest (or smallest) values, best
  // first; ties broken by ascending row id.
  std::vector<std::pair<uint32_t, int64_t>> TopK(uint64_t k, bool largest,
                                                 const Bitmap* filter = nullptr) const;
  // counts[j] = rows with bounds[j] <= value < bounds[j + 1]; `bounds` must be
  // ascending (returns bounds.size() - 1 counts; none if fewer than 2).
  std::vector<uint64_t> Histogram(std::span<const int64_t> bounds,
                                  const Bitmap* filter = nullptr) const;

  // --- serialisation ----------------------------------------------------------
  // u32 bits, then bits + 2 portable Roaring blobs (existence, sign, slice 0
  // .. bits-1), each preceded by its u64 length, little-endian.
  void Serialize(std::string* out) const;
  // Parses exactly `data`. Checks the blobs and that sign and slices are
  // subsets of existence. Errors: DataLoss describing the damage.
  static absl::StatusOr<Bsi> Deserialize(std::span<const char> data);

  // The bits a value needs: smallest b with -2^b <= v <= 2^b - 1.
  static int BitsFor(int64_t v);

 private:
  void Widen(int bits);
  // Candidate rows: existence AND filter.
  Bitmap Candidates(const Bitmap* filter) const;
  // The rows of `c` whose biased value has bit i clear (i == bits(): sign).
  Bitmap WithBitClear(const Bitmap& c, int i) const;

  // Row cache (see SetRowCacheForTesting). `Chunk` is defined in bsi.cc.
 public:
  struct Chunk;

 private:
  struct RowCache;
  // The cached chunk of `key` for a visit of `rows` filter rows: built if
  // missing and the rent paid now reaches the build cost (kAlways: at
  // once); null if not built (the caller walks the slices) or `key` is
  // beyond the cache (rows added since it was sized).
  const Chunk* CachedChunk(uint16_t key, int32_t rows) const;
  // Drops the cached chunks holding any of `rows` / any row of `rows`.
  void DropCached(std::span<const uint32_t> rows);
  void DropCached(const Bitmap& rows);
  void DropAllCached();

  Bitmap existence_;
  Bitmap sign_;
  std::vector<Bitmap> slices_;
  // Created by the first reader that needs it (then fixed while the column
  // is shared); owned by this column.
  mutable std::atomic<RowCache*> cache_{nullptr};
};

}  // namespace tagindex

#endif  // TAGINDEX_BITMAP_BSI_H_
