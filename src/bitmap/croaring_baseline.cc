// The R0 baseline: CRoaring's own implementations through its public C API
// (valid for any CRoaring version).
#include <roaring/roaring.h>

#include <new>
#include <utility>
#include <vector>

#include "bitmap/kernels.h"

namespace tagindex::kernels::croaring {

namespace {
Bitmap Adopt(roaring_bitmap_t* r) {
  if (r == nullptr) throw std::bad_alloc();
  Bitmap out;
  // Swap the freshly computed containers into a Bitmap we own.
  std::swap(out.raw()->high_low_container, r->high_low_container);
  roaring_bitmap_free(r);
  return out;
}
}  // namespace

uint64_t AndCardinality(const Bitmap& a, const Bitmap& b) {
  return roaring_bitmap_and_cardinality(a.raw(), b.raw());
}
uint64_t AndNotCardinality(const Bitmap& a, const Bitmap& b) {
  return roaring_bitmap_andnot_cardinality(a.raw(), b.raw());
}
Bitmap And(const Bitmap& a, const Bitmap& b) { return Adopt(roaring_bitmap_and(a.raw(), b.raw())); }
Bitmap AndNot(const Bitmap& a, const Bitmap& b) {
  return Adopt(roaring_bitmap_andnot(a.raw(), b.raw()));
}
Bitmap Or(const Bitmap& a, const Bitmap& b) { return Adopt(roaring_bitmap_or(a.raw(), b.raw())); }
uint64_t OrCardinality(const Bitmap& a, const Bitmap& b) {
  return roaring_bitmap_or_cardinality(a.raw(), b.raw());
}
Bitmap OrMany(std::span<const Bitmap* const> inputs) {
  if (inputs.empty()) return Bitmap();
  std::vector<const roaring_bitmap_t*> raw;
  raw.reserve(inputs.size());
  for (const Bitmap* b : inputs) raw.push_back(b->raw());
  return Adopt(roaring_bitmap_or_many(raw.size(), raw.data()));
}
Bitmap FromIdsAddMany(std::span<const uint32_t> ids) {
  Bitmap b;
  if (!ids.empty()) roaring_bitmap_add_many(b.raw(), ids.size(), ids.data());
  return b;
}
size_t PortableSizeRunOptimized(const Bitmap& b) {
  roaring_bitmap_t* copy = roaring_bitmap_copy(b.raw());
  if (copy == nullptr) throw std::bad_alloc();
  roaring_bitmap_run_optimize(copy);
  const size_t n = roaring_bitmap_portable_size_in_bytes(copy);
  roaring_bitmap_free(copy);
  return n;
}
uint64_t AndAndNotCardinality(const Bitmap& a, const Bitmap& b, const Bitmap& c) {
  roaring_bitmap_t* t = roaring_bitmap_and(a.raw(), b.raw());
  if (t == nullptr) throw std::bad_alloc();
  roaring_bitmap_andnot_inplace(t, c.raw());
  const uint64_t n = roaring_bitmap_get_cardinality(t);
  roaring_bitmap_free(t);
  return n;
}

}  // namespace tagindex::kernels::croaring
