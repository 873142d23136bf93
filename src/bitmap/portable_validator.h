// Strict, bounded validator of the standard portable Roaring format
// (RoaringFormatSpec, 32-bit). CRoaring 0.2.66's portable_deserialize_safe
// only checks that reads stay in bounds; it accepts unsorted arrays, runs
// that overlap or run past 65535, wrong cardinalities and wrong offsets, and
// then produces a bitmap whose invariants are broken. Every blob is checked
// here before CRoaring sees it.
#ifndef TAGINDEX_BITMAP_PORTABLE_VALIDATOR_H_
#define TAGINDEX_BITMAP_PORTABLE_VALIDATOR_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/status.h"

namespace tagindex {

// Checks that `data` is exactly one valid portable Roaring bitmap (no
// trailing bytes): a known cookie, at most 65536 containers with strictly
// increasing keys, offsets (when present) matching the layout, sorted
// unique array values, bitsets whose popcount equals the declared
// cardinality, sorted non-overlapping runs inside [0, 65535] whose total
// equals the declared cardinality. Reads nothing outside `data`, allocates
// nothing. On success stores the total cardinality in `*cardinality` (if not
// null). Errors: DataLoss naming the byte offset of the first problem.
absl::Status ValidatePortableBitmap(std::span<const char> data, uint64_t* cardinality = nullptr);

}  // namespace tagindex

#endif  // TAGINDEX_BITMAP_PORTABLE_VALIDATOR_H_
