// Instruction-set dispatch: the one place in the library that picks SIMD
// code paths at run time.
//
// Nothing in the project is compiled with -march: every accelerated function
// carries its own target attribute, and a table of function pointers for one
// level (AVX-512 with VPOPCNTDQ, AVX2 + BMI2, SSE4.2 + POPCNT, portable scalar) is
// chosen once, at first use, as the best level the CPU supports. The
// environment variable TAGINDEX_SIMD (avx512, avx2, sse4.2, scalar) caps the
// level at start-up; tests force each level with SetLevelForTesting. Every
// popcount in src/bitmap goes through Ops() (one popcount dispatch).
//
// Thread safety: Ops() and ActiveLevel() may be called from any thread;
// SetLevelForTesting must not race with running kernels.
#ifndef TAGINDEX_BITMAP_SIMD_H_
#define TAGINDEX_BITMAP_SIMD_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tagindex::simd {

enum class Level : uint8_t { kScalar = 0, kSse42 = 1, kAvx2 = 2, kAvx512 = 3 };

struct OpTable {
  // Σ popcount(w[i]).
  uint64_t (*popcount)(const uint64_t* w, int32_t n);
  // Σ popcount(a[i] & b[i]) and Σ popcount(a[i] & ~b[i]).
  uint64_t (*and_popcount)(const uint64_t* a, const uint64_t* b, int32_t n);
  uint64_t (*andnot_popcount)(const uint64_t* a, const uint64_t* b, int32_t n);
  // out[i] = a[i] & b[i] (resp. a[i] & ~b[i]); out may alias a.
  void (*and_words)(const uint64_t* a, const uint64_t* b, uint64_t* out, int32_t n);
  void (*andnot_words)(const uint64_t* a, const uint64_t* b, uint64_t* out, int32_t n);
  // out[i] |= a[i].
  void (*or_words)(const uint64_t* a, uint64_t* out, int32_t n);
  // Intersection of two sorted uint16 arrays into `out` (count only when out
  // is null). The SIMD levels store whole blocks: `out` needs room for
  // min(na, nb) + 16 elements.
  int32_t (*intersect)(const uint16_t* a, int32_t na, const uint16_t* b, int32_t nb, uint16_t* out);
  // Union of two sorted uint16 arrays (no duplicates within either) into
  // `out`, sorted and without duplicates; returns its size. `out` must not
  // alias the inputs and needs room for na + nb + 16 elements (the SIMD
  // levels store whole blocks).
  int32_t (*unite)(const uint16_t* a, int32_t na, const uint16_t* b, int32_t nb, uint16_t* out);
  // Sets bit a[i] of w for every i (a: uint16 ids of one chunk). With
  // BMI2 (the AVX2 and AVX-512 levels) the variable shifts are SHLX/SHRX,
  // one uop each instead of three for SHL by CL.
  void (*set_list)(uint64_t* w, const uint16_t* a, int32_t n);
  Level level;
  const char* name;
};

// The table in use.
const OpTable& Ops();

// The level in use and the best one this CPU supports.
Level ActiveLevel();
Level BestSupportedLevel();
const char* LevelName(Level level);
// "avx512", "avx2", "sse4.2", "scalar" (as TAGINDEX_SIMD takes them).
std::optional<Level> ParseLevel(std::string_view name);

// Tests and benchmarks: uses `level` from now on. Returns false (and changes
// nothing) if the CPU does not support it.
bool SetLevelForTesting(Level level);
// Back to the start-up choice.
void ResetLevelForTesting();

// First index >= `from` with a[index] >= x in the sorted array a[0, n), or
// n: doubling steps from `from`, then a binary search in the last step (the
// search of the small side in the large one, shared by the intersection
// and union kernels).
inline int32_t Gallop(const uint16_t* a, int32_t from, int32_t n, uint16_t x) {
  if (from >= n || a[from] >= x) return from;
  int32_t step = 1, lo = from, hi = from + 1;
  while (hi < n && a[hi] < x) {
    lo = hi;
    step <<= 1;
    hi = from + step;
  }
  if (hi > n) hi = n;
  return static_cast<int32_t>(std::lower_bound(a + lo + 1, a + hi, x) - a);
}

}  // namespace tagindex::simd

#endif  // TAGINDEX_BITMAP_SIMD_H_
