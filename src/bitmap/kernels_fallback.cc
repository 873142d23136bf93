// kernels.h implemented with CRoaring's own public calls, for a CRoaring
// whose internal layout croaring_adapter.h does not know (see
// src/bitmap/CMakeLists.txt). Correct, not fast.
#include <roaring/roaring.h>

#include <new>
#include <vector>

#include "bitmap/kernels.h"
#include "bitmap/simd.h"

namespace tagindex::kernels {
namespace {

Bitmap Fold(const Operands& o) {
  Bitmap acc = o.positive[0]->Copy();
  for (size_t i = 1; i < o.positive.size(); ++i) acc.AndInPlace(*o.positive[i]);
  for (std::span<const Bitmap* const> g : o.or_groups) {
    Bitmap u;
    for (const Bitmap* b : g) u.OrInPlace(*b);
    acc.AndInPlace(u);
  }
  for (const Bitmap* b : o.negative) acc.AndNotInPlace(*b);
  return acc;
}

}  // namespace

uint64_t Count(const Operands& o) {
  if (o.positive.empty()) return 0;
  return Fold(o).Cardinality();
}

Bitmap Evaluate(const Operands& o) {
  if (o.positive.empty()) return Bitmap();
  return Fold(o);
}

uint64_t AndAndNotCardinality(std::span<const Bitmap* const> positive,
                              std::span<const Bitmap* const> negative) {
  return Count({positive, negative, {}});
}

Bitmap AndAndNot(std::span<const Bitmap* const> positive, std::span<const Bitmap* const> negative) {
  return Evaluate({positive, negative, {}});
}

void AndCardinalityMany(const Bitmap& a, std::span<const Bitmap* const> bs, uint64_t* counts) {
  for (size_t i = 0; i < bs.size(); ++i) counts[i] = Bitmap::AndCardinality(a, *bs[i]);
}

Bitmap OrMany(std::span<const Bitmap* const> inputs) { return croaring::OrMany(inputs); }

uint64_t OrManyCount(std::span<const Bitmap* const> inputs) {
  return croaring::OrMany(inputs).Cardinality();
}

Bitmap Or(const Bitmap& a, const Bitmap& b) {
  Bitmap out = a.Copy();
  out.OrInPlace(b);
  return out;
}

uint64_t OrCount(const Bitmap& a, const Bitmap& b) {
  return roaring_bitmap_or_cardinality(a.raw(), b.raw());
}

void SetCRoaringOrPairsForTesting(uint32_t) {}  // every pair is CRoaring's here

bool BuildFromUnsorted(std::span<const uint32_t>, Bitmap*) { return false; }

void ApplyBatch(Bitmap& dst, const Bitmap& batch, bool remove) {
  if (remove) {
    dst.AndNotInPlace(batch);
  } else {
    dst.OrInPlace(batch);
  }
}

void RunOptimizeRange(Bitmap& b, uint32_t, uint32_t) { b.RunOptimize(); }

size_t PortableSize(const Bitmap& b) {
  Bitmap copy = b.Copy();
  copy.RunOptimize();
  return roaring_bitmap_portable_size_in_bytes(copy.raw());
}

void PortableWrite(const Bitmap& b, std::string* out) {
  Bitmap copy = b.Copy();
  copy.RunOptimize();
  const size_t old = out->size();
  out->resize(old + roaring_bitmap_portable_size_in_bytes(copy.raw()));
  const size_t written = roaring_bitmap_portable_serialize(copy.raw(), out->data() + old);
  out->resize(old + written);
}

const char* ActiveIsa() { return "croaring-fallback"; }

void ForceBaselineForTesting(bool force) {
  if (force) {
    simd::SetLevelForTesting(simd::Level::kScalar);
  } else {
    simd::ResetLevelForTesting();
  }
}

}  // namespace tagindex::kernels
