// Fused intersection kernels over CRoaring's containers, with runtime CPU
// dispatch.
//
// Why: Debian's CRoaring 0.2.66 is compiled for baseline x86-64 (no POPCNT,
// no SSE4.2), so intersecting two array containers is a scalar merge and
// counting a bitset container calls libgcc's popcount. CRM tags mostly sit
// in the 0.1 %-6 % density band where containers are arrays: there CRoaring's
// and_cardinality is 10-60x slower than the hardware allows
// (../shared/PERFORMANCE.md). These kernels walk the containers of all
// operands at once, keep the running intersection of one 2^16-id chunk in a
// stack buffer (sorted uint16 array, or 1024-word bitset), and use SSE4.2
// string compares for array x array and POPCNT for bitsets when the CPU has
// them, falling back to portable scalar code otherwise. Nothing here is
// compiled with -march flags: each accelerated function carries its own
// target attribute and is chosen once at run time.
//
// Thread safety: all functions are reentrant; operands are only read.
#ifndef TAGINDEX_BITMAP_KERNELS_H_
#define TAGINDEX_BITMAP_KERNELS_H_

#include <cstdint>
#include <span>

#include "bitmap/bitmap.h"

namespace tagindex::kernels {

// |p0 AND p1 AND ... AND NOT (n0 OR n1 OR ...)|. `positive` must not be
// empty; `negative` may be. No intermediate bitmap is materialised.
uint64_t AndAndNotCardinality(std::span<const Bitmap* const> positive,
                              std::span<const Bitmap* const> negative);

// The same set as a new bitmap (containers built directly, one pass).
Bitmap AndAndNot(std::span<const Bitmap* const> positive, std::span<const Bitmap* const> negative);

// Name of the instruction-set level in use: "sse4.2+popcnt" or "baseline".
const char* ActiveIsa();

// Tests: when true, every kernel uses the portable scalar paths, so both
// paths can be checked against each other on the same machine.
void ForceBaselineForTesting(bool force);

}  // namespace tagindex::kernels

namespace tagindex::kernels::croaring {

// CRoaring's own implementations, called directly: the R0 baseline that
// benchmarks and tests set the kernels against.
uint64_t AndCardinality(const Bitmap& a, const Bitmap& b);
uint64_t AndNotCardinality(const Bitmap& a, const Bitmap& b);
Bitmap And(const Bitmap& a, const Bitmap& b);
Bitmap AndNot(const Bitmap& a, const Bitmap& b);
// a AND b AND NOT c the naive way: and, andnot_inplace, cardinality.
uint64_t AndAndNotCardinality(const Bitmap& a, const Bitmap& b, const Bitmap& c);

}  // namespace tagindex::kernels::croaring

#endif  // TAGINDEX_BITMAP_KERNELS_H_
