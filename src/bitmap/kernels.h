// Fused set kernels over CRoaring's containers, with runtime CPU dispatch.
//
// Why: Debian's CRoaring 0.2.66 is compiled for baseline x86-64 (no POPCNT,
// no SSE4.2, no AVX), so its array x array intersections are a scalar merge,
// its bitset counts call libgcc's popcount, and it has no fused AND / AND NOT
// / OR-inside-AND (../shared/PERFORMANCE.md). These kernels walk the chunks
// (2^16-id containers) of all operands at once and evaluate each chunk in a
// per-thread work buffer (chunk_ops.h), with the SIMD level chosen once at
// start-up (simd.h: AVX-512 + VPOPCNTDQ, AVX2 + BMI2, SSE4.2 + POPCNT, scalar;
// TAGINDEX_SIMD caps it). Run containers are intersected as runs.
//
// Layout: simd.* (dispatch), chunk_ops.* (per-container-pair kernels),
// kernels.cc (the chunk driver), croaring_adapter.h (the one place that
// knows CRoaring's layout; without a known layout kernels_fallback.cc
// implements this header with CRoaring's own calls).
//
// Thread safety: all functions are reentrant; operands are only read (except
// RunOptimizeKeys, which needs exclusive access to its bitmap). The count
// path allocates nothing after a thread's first call.
#ifndef TAGINDEX_BITMAP_KERNELS_H_
#define TAGINDEX_BITMAP_KERNELS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "bitmap/bitmap.h"

namespace tagindex::kernels {

// (p0 AND p1 AND ... AND (g0[0] OR g0[1] OR ...) AND (g1[0] OR ...) ...)
//   AND NOT (n0 OR n1 OR ...)
// `positive` must not be empty (else the result is empty); each OR group is
// evaluated one chunk at a time over the chunks the positives share, never
// materialised; an empty OR group makes the result empty.
struct Operands {
  std::span<const Bitmap* const> positive;
  std::span<const Bitmap* const> negative;
  std::span<const std::span<const Bitmap* const>> or_groups;
};

uint64_t Count(const Operands& operands);
Bitmap Evaluate(const Operands& operands);

// Shorthands without OR groups.
uint64_t AndAndNotCardinality(std::span<const Bitmap* const> positive,
                              std::span<const Bitmap* const> negative);
Bitmap AndAndNot(std::span<const Bitmap* const> positive, std::span<const Bitmap* const> negative);

// counts[i] = |a AND bs[i]| for every i, in one pass over a's chunks: each
// chunk of `a` is loaded once (an array chunk of 64 ids or more is scattered
// into a bitset once) and intersected with the container of every b at that
// key, so a segment profiled against N tags costs one walk of the segment,
// not N. `counts` must hold bs.size() values. Null pointers are not allowed.
void AndCardinalityMany(const Bitmap& a, std::span<const Bitmap* const> bs, uint64_t* counts);

// Union of all inputs, chunk by chunk (run containers where the result is
// runs). Per chunk the union is chosen by the summed cardinality of its
// containers: arrays summing to at most 4,096 ids are merged (two: the
// dispatched SIMD `unite`) or scattered into a zeroed scratch bitset that
// counts the new bits (more); run | run and run | array (two) merge as
// intervals; anything larger is accumulated in a bitset, largest container first,
// stopping at a full chunk, with one popcount at the end. A key only one
// input has is copied as it is. Null pointers are not allowed.
Bitmap OrMany(std::span<const Bitmap* const> inputs);
// |OR of inputs| by the same per-chunk union, without building it.
uint64_t OrManyCount(std::span<const Bitmap* const> inputs);
// a OR b / |a OR b|: a merge of the two key arrays and the same per-chunk
// union on the common keys, except that Or hands the container pairs of
// kDefaultCRoaringOrPairs (run | array, run | run) to CRoaring 0.2.66's
// container_or, measured faster there. Or's result knows its cardinality.
Bitmap Or(const Bitmap& a, const Bitmap& b);
uint64_t OrCount(const Bitmap& a, const Bitmap& b);
// Or's common keys go to CRoaring 0.2.66's own container union for the
// container pairs whose bit (3 * kind(a) + kind(b); kinds array 0, bitset 1,
// run 2) is set here, and to UnionChunk otherwise; chosen by measurement
// (BENCHMARKS.md, kern5): bits 2, 6 and 8 (array | run, run | array,
// run | run), where 0.2.66's scalar merges beat ours on the row-sorted real
// datasets; array and bitset pairs stay ours (1.4-1.6x faster there).
inline constexpr uint32_t kDefaultCRoaringOrPairs = 0x144;
// Tests and benchmarks: another mask; ~0u restores the default.
void SetCRoaringOrPairsForTesting(uint32_t mask);

// Builds `out` (empty on entry) from ids in any order by scattering them into
// per-chunk bitsets, when they are dense enough for that to pay (at least
// 256 ids per chunk of the range they span on average); returns false
// (leaving `out` empty) otherwise.
bool BuildFromUnsorted(std::span<const uint32_t> ids, Bitmap* out);

// dst := dst OR batch (or dst AND NOT batch with `remove`), container by
// container; then the chunks where the batch is a large part of the result
// (at least 1/8 of it) are run-optimised.
void ApplyBatch(Bitmap& dst, const Bitmap& batch, bool remove);

// Run-optimises the chunks of `b` holding ids in [lo, hi] (inclusive).
void RunOptimizeRange(Bitmap& b, uint32_t lo, uint32_t hi);

// The standard portable Roaring serialisation of `b` with every container in
// its smallest form (run containers where smaller), without changing `b`,
// and its size. Readable by every Roaring implementation.
size_t PortableSize(const Bitmap& b);
void PortableWrite(const Bitmap& b, std::string* out);

// Name of the instruction-set level in use: "avx512", "avx2", "sse4.2" or
// "scalar".
const char* ActiveIsa();

// Tests: when true, every kernel uses the portable scalar paths (as
// simd::SetLevelForTesting(kScalar)); false restores the start-up level.
void ForceBaselineForTesting(bool force);

}  // namespace tagindex::kernels

namespace tagindex::kernels::croaring {

// CRoaring's own implementations, called directly: the R0 baseline that
// benchmarks and tests set the kernels against.
uint64_t AndCardinality(const Bitmap& a, const Bitmap& b);
uint64_t AndNotCardinality(const Bitmap& a, const Bitmap& b);
Bitmap And(const Bitmap& a, const Bitmap& b);
Bitmap AndNot(const Bitmap& a, const Bitmap& b);
Bitmap OrMany(std::span<const Bitmap* const> inputs);
Bitmap Or(const Bitmap& a, const Bitmap& b);
uint64_t OrCardinality(const Bitmap& a, const Bitmap& b);
// A bitmap built by one roaring_bitmap_add_many call on `ids` as given.
Bitmap FromIdsAddMany(std::span<const uint32_t> ids);
// The portable size of a run-optimised copy (roaring_bitmap_run_optimize +
// roaring_bitmap_portable_size_in_bytes).
size_t PortableSizeRunOptimized(const Bitmap& b);
// a AND b AND NOT c the naive way: and, andnot_inplace, cardinality.
uint64_t AndAndNotCardinality(const Bitmap& a, const Bitmap& b, const Bitmap& c);

}  // namespace tagindex::kernels::croaring

#endif  // TAGINDEX_BITMAP_KERNELS_H_
