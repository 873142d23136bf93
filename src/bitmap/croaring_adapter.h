// The one place that knows CRoaring's internal layout (roaring_array_t,
// container structs, type codes, rle16_t). Included only by .cc files in
// src/bitmap/ that are compiled when CMake found the installed CRoaring to be
// the version this layout was written against (TAGINDEX_CROARING_LAYOUT,
// checked at configure time in src/bitmap/CMakeLists.txt); otherwise the
// kernels fall back to CRoaring's own calls (kernels_fallback.cc).
#ifndef TAGINDEX_BITMAP_CROARING_ADAPTER_H_
#define TAGINDEX_BITMAP_CROARING_ADAPTER_H_

#if !TAGINDEX_CROARING_LAYOUT
#error "croaring_adapter.h needs the known CRoaring layout (TAGINDEX_CROARING_LAYOUT)"
#endif

#include <roaring/roaring.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "bitmap/chunk_ops.h"

namespace tagindex::kernels::adapter {

static_assert(sizeof(Run) == sizeof(rle16_t));
static_assert(offsetof(rle16_t, value) == offsetof(Run, start));
static_assert(offsetof(rle16_t, length) == offsetof(Run, length));
static_assert(DEFAULT_MAX_SIZE == kMaxArray);

// The chunk directory of a bitmap.
struct Chunks {
  const uint16_t* keys = nullptr;
  void* const* containers = nullptr;
  const uint8_t* types = nullptr;
  int32_t size = 0;
};

inline Chunks ChunksOf(const roaring_bitmap_t* r) {
  const roaring_array_t& ra = r->high_low_container;
  return {ra.keys, ra.containers, ra.typecodes, ra.size};
}

// A read-only view of container `i` (shared containers unwrapped).
inline View ViewAt(const Chunks& c, int32_t i, const simd::OpTable& ops) {
  const void* p = c.containers[i];
  uint8_t type = c.types[i];
  if (type == SHARED_CONTAINER_TYPE_CODE) {
    const auto* s = static_cast<const shared_container_t*>(p);
    p = s->container;
    type = s->typecode;
  }
  View v;
  switch (type) {
    case ARRAY_CONTAINER_TYPE_CODE: {
      const auto* a = static_cast<const array_container_t*>(p);
      v.kind = Kind::kArray;
      v.array = a->array;
      v.n = v.card = a->cardinality;
      break;
    }
    case BITSET_CONTAINER_TYPE_CODE: {
      const auto* b = static_cast<const bitset_container_t*>(p);
      v.kind = Kind::kBitset;
      v.bits = b->array;
      v.n = kWords;
      v.card = b->cardinality >= 0 ? b->cardinality
                                   : static_cast<int32_t>(ops.popcount(b->array, kWords));
      break;
    }
    default: {
      const auto* r = static_cast<const run_container_t*>(p);
      v.kind = Kind::kRuns;
      v.runs = reinterpret_cast<const Run*>(r->runs);
      v.n = r->n_runs;
      int32_t card = 0;
      for (int32_t k = 0; k < r->n_runs; ++k) card += r->runs[k].length + 1;
      v.card = card;
      break;
    }
  }
  return v;
}

// The kind of container `i` (shared containers unwrapped), without a View.
inline Kind KindAt(const Chunks& c, int32_t i) {
  uint8_t type = c.types[i];
  if (type == SHARED_CONTAINER_TYPE_CODE) {
    type = static_cast<const shared_container_t*>(c.containers[i])->typecode;
  }
  return type == ARRAY_CONTAINER_TYPE_CODE    ? Kind::kArray
         : type == BITSET_CONTAINER_TYPE_CODE ? Kind::kBitset
                                              : Kind::kRuns;
}

// Index of the first key >= `key` at or after `from` (galloping), or size.
inline int32_t SeekKey(const Chunks& c, int32_t from, uint16_t key) {
  const uint16_t* k = c.keys;
  const int32_t n = c.size;
  if (from >= n || k[from] >= key) return from;
  int32_t step = 1, lo = from, hi = from + 1;
  while (hi < n && k[hi] < key) {
    lo = hi;
    step <<= 1;
    hi = from + step;
  }
  if (hi > n) hi = n;
  while (lo + 1 < hi) {  // k[lo] < key <= k[hi] (or hi == n)
    const int32_t mid = lo + (hi - lo) / 2;
    if (k[mid] < key) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return hi;
}

// Appends containers to an (initially empty) bitmap, in ascending key order.
class Builder {
 public:
  explicit Builder(roaring_bitmap_t* r) : ra_(&r->high_low_container) {}

  void Array(uint16_t key, const uint16_t* a, int32_t n) {
    array_container_t* c = array_container_create_given_capacity(n);
    if (c == nullptr) throw std::bad_alloc();
    std::memcpy(c->array, a, sizeof(uint16_t) * static_cast<size_t>(n));
    c->cardinality = n;
    ra_append(ra_, key, c, ARRAY_CONTAINER_TYPE_CODE);
  }
  void Bitset(uint16_t key, const uint64_t* words, int32_t card) {
    bitset_container_t* c = bitset_container_create();
    if (c == nullptr) throw std::bad_alloc();
    std::memcpy(c->array, words, sizeof(uint64_t) * kWords);
    c->cardinality = card;
    ra_append(ra_, key, c, BITSET_CONTAINER_TYPE_CODE);
  }
  void Runs(uint16_t key, const Run* runs, int32_t n) {
    run_container_t* c = run_container_create_given_capacity(n);
    if (c == nullptr) throw std::bad_alloc();
    std::memcpy(c->runs, runs, sizeof(Run) * static_cast<size_t>(n));
    c->n_runs = n;
    ra_append(ra_, key, c, RUN_CONTAINER_TYPE_CODE);
  }
  // CRoaring 0.2.66's own union of container i of `a` and j of `b`
  // (container_or: its type pair's kernel, then its run conversion).
  // Returns the result's cardinality.
  int32_t CRoaringOr(uint16_t key, const Chunks& a, int32_t i, const Chunks& b, int32_t j) {
    uint8_t type = 0;
    void* c = container_or(a.containers[i], a.types[i], b.containers[j], b.types[j], &type);
    if (c == nullptr) throw std::bad_alloc();
    ra_append(ra_, key, c, type);
    return container_get_cardinality(c, type);
  }
  // A copy of a source container (kept in its type).
  void Copy(uint16_t key, const View& v) {
    switch (v.kind) {
      case Kind::kArray:
        Array(key, v.array, v.n);
        return;
      case Kind::kBitset:
        Bitset(key, v.bits, v.card);
        return;
      case Kind::kRuns:
        Runs(key, v.runs, v.n);
        return;
    }
  }

 private:
  roaring_array_t* ra_;
};

// Converts the containers with keys in [lo_key, hi_key] to run containers
// where that is smaller (and run containers back where it is not), like
// roaring_bitmap_run_optimize restricted to those chunks. Returns true if
// any container is a run container afterwards.
inline bool RunOptimizeKeys(roaring_bitmap_t* r, uint16_t lo_key, uint16_t hi_key,
                            const simd::OpTable& ops) {
  roaring_array_t* ra = &r->high_low_container;
  bool any = false;
  Chunks c = ChunksOf(r);
  for (int32_t i = SeekKey(c, 0, lo_key); i < ra->size && ra->keys[i] <= hi_key; ++i) {
    uint8_t type = ra->typecodes[i];
    void* p = ra->containers[i];
    if (type == SHARED_CONTAINER_TYPE_CODE) continue;  // never created by tagindex
    // Cheap test first (dispatched popcount): only convert when it pays.
    if (type == BITSET_CONTAINER_TYPE_CODE) {
      const int32_t runs = RunsInBitset(static_cast<bitset_container_t*>(p)->array, ops);
      if (2 + 4 * runs >= 8192) continue;
    } else if (type == ARRAY_CONTAINER_TYPE_CODE) {
      const auto* a = static_cast<array_container_t*>(p);
      const int32_t runs = RunsInArray(a->array, a->cardinality);
      if (2 + 4 * runs >= 2 + 2 * a->cardinality) continue;
    }
    uint8_t after = type;
    void* q = convert_run_optimize(p, type, &after);
    ra_set_container_at_index(ra, i, q, after);
    any = any || after == RUN_CONTAINER_TYPE_CODE;
  }
  return any;
}

}  // namespace tagindex::kernels::adapter

#endif  // TAGINDEX_BITMAP_CROARING_ADAPTER_H_
