#include "bitmap/kernels.h"

#include <roaring/roaring.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <new>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define TAGINDEX_X86 1
#endif

namespace tagindex::kernels {
namespace {

constexpr int32_t kWords = 1 << 10;  // 64-bit words in a 2^16-bit chunk
constexpr int32_t kMaxArray = 4096;  // CRoaring's array/bitset threshold
constexpr int32_t kPad = 8;          // SSE blocks may read up to 8 past n

// ---- primitive kernels: portable versions ------------------------------------

// First index >= `from` with a[index] >= x (a sorted), or n.
inline int32_t Gallop(const uint16_t* a, int32_t from, int32_t n, uint16_t x) {
  if (from >= n || a[from] >= x) return from;
  int32_t step = 1, lo = from, hi = from + 1;
  while (hi < n && a[hi] < x) {
    lo = hi;
    step <<= 1;
    hi = from + step;
  }
  if (hi > n) hi = n;
  // a[lo] < x, and a[hi] >= x or hi == n.
  return static_cast<int32_t>(std::lower_bound(a + lo + 1, a + hi, x) - a);
}

// Intersection of two sorted arrays; writes to `out` unless null.
int32_t IntersectScalar(const uint16_t* a, int32_t na, const uint16_t* b, int32_t nb,
                        uint16_t* out) {
  int32_t i = 0, j = 0, n = 0;
  if (out != nullptr) {
    while (i < na && j < nb) {
      const uint16_t x = a[i], y = b[j];
      out[n] = x;
      n += x == y;
      i += x <= y;
      j += y <= x;
    }
  } else {
    while (i < na && j < nb) {
      const uint16_t x = a[i], y = b[j];
      n += x == y;
      i += x <= y;
      j += y <= x;
    }
  }
  return n;
}

// For very different sizes: binary-search the small side into the large one.
int32_t IntersectGallop(const uint16_t* small, int32_t ns, const uint16_t* large, int32_t nl,
                        uint16_t* out) {
  int32_t j = 0, n = 0;
  for (int32_t i = 0; i < ns; ++i) {
    j = Gallop(large, j, nl, small[i]);
    if (j == nl) break;
    if (large[j] == small[i]) {
      if (out != nullptr) out[n] = small[i];
      ++n;
    }
  }
  return n;
}

uint64_t PopcountScalar(const uint64_t* w, int32_t n) {
  uint64_t c = 0;
  for (int32_t i = 0; i < n; ++i) c += static_cast<uint64_t>(__builtin_popcountll(w[i]));
  return c;
}

uint64_t AndPopcountScalar(const uint64_t* a, const uint64_t* b, int32_t n) {
  uint64_t c = 0;
  for (int32_t i = 0; i < n; ++i) c += static_cast<uint64_t>(__builtin_popcountll(a[i] & b[i]));
  return c;
}

// ---- accelerated versions (compiled for their own target, chosen at run time) --

#ifdef TAGINDEX_X86
// Compares blocks of eight uint16 with one PCMPESTRM: bit k of the mask says
// whether b[j + k] equals any of a[i .. i + 7]. The block whose maximum is
// smaller advances (both on a tie), so every pair of overlapping blocks is
// compared exactly once and the output stays sorted.
__attribute__((target("sse4.2,popcnt"))) int32_t IntersectSse42(const uint16_t* a, int32_t na,
                                                                const uint16_t* b, int32_t nb,
                                                                uint16_t* out) {
  int32_t i = 0, j = 0, n = 0;
  const int32_t sa = na & ~7, sb = nb & ~7;
  constexpr int kMode = _SIDD_UWORD_OPS | _SIDD_CMP_EQUAL_ANY | _SIDD_BIT_MASK;
  if (sa != 0 && sb != 0) {
    __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
    __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    for (;;) {
      unsigned mask = static_cast<unsigned>(_mm_cvtsi128_si32(_mm_cmpestrm(va, 8, vb, 8, kMode)));
      if (out != nullptr) {
        while (mask != 0) {
          out[n++] = b[j + __builtin_ctz(mask)];
          mask &= mask - 1;
        }
      } else {
        n += __builtin_popcount(mask);
      }
      const uint16_t amax = a[i + 7], bmax = b[j + 7];
      if (amax <= bmax) {
        i += 8;
        if (i == sa) break;
        va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i));
      }
      if (bmax <= amax) {
        j += 8;
        if (j == sb) break;
        vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + j));
      }
    }
  }
  // Tails: elements already compared are smaller than anything left on the
  // other side, so a plain merge from here cannot count a pair twice.
  while (i < na && j < nb) {
    const uint16_t x = a[i], y = b[j];
    if (x == y) {
      if (out != nullptr) out[n] = x;
      ++n;
    }
    i += x <= y;
    j += y <= x;
  }
  return n;
}

__attribute__((target("popcnt"))) uint64_t PopcountHw(const uint64_t* w, int32_t n) {
  uint64_t c = 0;
  for (int32_t i = 0; i < n; ++i) c += static_cast<uint64_t>(__builtin_popcountll(w[i]));
  return c;
}

__attribute__((target("popcnt"))) uint64_t AndPopcountHw(const uint64_t* a, const uint64_t* b,
                                                         int32_t n) {
  uint64_t c = 0;
  for (int32_t i = 0; i < n; ++i) c += static_cast<uint64_t>(__builtin_popcountll(a[i] & b[i]));
  return c;
}
#endif

struct Dispatch {
  int32_t (*intersect)(const uint16_t*, int32_t, const uint16_t*, int32_t, uint16_t*);
  uint64_t (*popcount)(const uint64_t*, int32_t);
  uint64_t (*and_popcount)(const uint64_t*, const uint64_t*, int32_t);
  const char* name;
};

Dispatch Detect() {
#ifdef TAGINDEX_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt")) {
    return {IntersectSse42, PopcountHw, AndPopcountHw, "sse4.2+popcnt"};
  }
#endif
  return {IntersectScalar, PopcountScalar, AndPopcountScalar, "baseline"};
}

std::atomic<bool> g_force_baseline{false};

const Dispatch& Active() {
  static const Dispatch fast = Detect();
  static const Dispatch baseline = {IntersectScalar, PopcountScalar, AndPopcountScalar, "baseline"};
  return g_force_baseline.load(std::memory_order_relaxed) ? baseline : fast;
}

// Intersection of two sorted arrays (count only when `out` is null): binary
// search from the small side when the sizes differ by 32x or more, else the
// dispatched merge (SIMD when available).
int32_t IntersectArrays(const uint16_t* a, int32_t na, const uint16_t* b, int32_t nb, uint16_t* out,
                        const Dispatch& d) {
  if (int64_t{na} * 32 < nb) return IntersectGallop(a, na, b, nb, out);
  if (int64_t{nb} * 32 < na) return IntersectGallop(b, nb, a, na, out);
  return d.intersect(a, na, b, nb, out);
}

// ---- containers ---------------------------------------------------------------------

struct Ref {
  const void* c;
  uint8_t type;
  int32_t card;  // exact for arrays and runs; for bitsets CRoaring's count
};

Ref Unwrap(const void* c, uint8_t type) {
  if (type == SHARED_CONTAINER_TYPE_CODE) {
    const auto* s = static_cast<const shared_container_t*>(c);
    c = s->container;
    type = s->typecode;
  }
  int32_t card = 0;
  switch (type) {
    case ARRAY_CONTAINER_TYPE_CODE:
      card = static_cast<const array_container_t*>(c)->cardinality;
      break;
    case BITSET_CONTAINER_TYPE_CODE:
      card = static_cast<const bitset_container_t*>(c)->cardinality;
      if (card < 0) card = 1 << 16;  // unknown: sort it last
      break;
    default: {
      const auto* r = static_cast<const run_container_t*>(c);
      for (int32_t k = 0; k < r->n_runs; ++k) card += r->runs[k].length + 1;
      break;
    }
  }
  return {c, type, card};
}

// Sets or clears bits [lo, hi] (inclusive, both < 2^16).
void SetBits(uint64_t* w, uint32_t lo, uint32_t hi) {
  const uint32_t first = lo >> 6, last = hi >> 6;
  const uint64_t lo_mask = ~uint64_t{0} << (lo & 63);
  const uint64_t hi_mask = ~uint64_t{0} >> (63 - (hi & 63));
  if (first == last) {
    w[first] |= lo_mask & hi_mask;
    return;
  }
  w[first] |= lo_mask;
  for (uint32_t k = first + 1; k < last; ++k) w[k] = ~uint64_t{0};
  w[last] |= hi_mask;
}
void ClearBits(uint64_t* w, uint32_t lo, uint32_t hi) {
  const uint32_t first = lo >> 6, last = hi >> 6;
  const uint64_t lo_mask = ~uint64_t{0} << (lo & 63);
  const uint64_t hi_mask = ~uint64_t{0} >> (63 - (hi & 63));
  if (first == last) {
    w[first] &= ~(lo_mask & hi_mask);
    return;
  }
  w[first] &= ~lo_mask;
  for (uint32_t k = first + 1; k < last; ++k) w[k] = 0;
  w[last] &= ~hi_mask;
}
inline bool TestBit(const uint64_t* w, uint16_t x) { return (w[x >> 6] >> (x & 63)) & 1; }

// The running intersection of one chunk: a sorted array or a bitset. Source
// containers are only read; results go to the owned buffers.
struct Work {
  bool is_bitset = false;
  const uint16_t* arr = nullptr;  // is_bitset == false
  int32_t n = 0;
  const uint64_t* bits = nullptr;  // is_bitset == true
  int which = 0;                   // which array buffer `arr` last went to
  alignas(64) uint64_t words[kWords];
  uint16_t buf[2][kMaxArray + kPad];

  uint16_t* NextBuffer() {
    which ^= 1;
    return buf[which];
  }
  // Makes `bits` point at the owned words (copying if it points elsewhere).
  uint64_t* OwnBits() {
    if (bits != words) {
      std::memcpy(words, bits, sizeof(words));
      bits = words;
    }
    return words;
  }
  void SetArray(const uint16_t* a, int32_t count) {
    is_bitset = false;
    arr = a;
    n = count;
  }
};

void Init(Work& w, const Ref& r) {
  switch (r.type) {
    case ARRAY_CONTAINER_TYPE_CODE: {
      const auto* a = static_cast<const array_container_t*>(r.c);
      w.SetArray(a->array, a->cardinality);
      return;
    }
    case BITSET_CONTAINER_TYPE_CODE:
      w.is_bitset = true;
      w.bits = static_cast<const bitset_container_t*>(r.c)->array;
      return;
    default: {
      const auto* run = static_cast<const run_container_t*>(r.c);
      if (r.card <= kMaxArray) {
        uint16_t* out = w.NextBuffer();
        int32_t n = 0;
        for (int32_t k = 0; k < run->n_runs; ++k) {
          const uint32_t start = run->runs[k].value, end = start + run->runs[k].length;
          for (uint32_t x = start; x <= end; ++x) out[n++] = static_cast<uint16_t>(x);
        }
        w.SetArray(out, n);
      } else {
        std::memset(w.words, 0, sizeof(w.words));
        for (int32_t k = 0; k < run->n_runs; ++k) {
          SetBits(w.words, run->runs[k].value, run->runs[k].value + run->runs[k].length);
        }
        w.is_bitset = true;
        w.bits = w.words;
      }
      return;
    }
  }
}

// w := w AND r
void And(Work& w, const Ref& r, const Dispatch& d) {
  if (!w.is_bitset) {
    uint16_t* out = w.NextBuffer();
    int32_t n = 0;
    switch (r.type) {
      case ARRAY_CONTAINER_TYPE_CODE: {
        const auto* a = static_cast<const array_container_t*>(r.c);
        n = IntersectArrays(w.arr, w.n, a->array, a->cardinality, out, d);
        break;
      }
      case BITSET_CONTAINER_TYPE_CODE: {
        const uint64_t* bits = static_cast<const bitset_container_t*>(r.c)->array;
        for (int32_t i = 0; i < w.n; ++i) {
          out[n] = w.arr[i];
          n += TestBit(bits, w.arr[i]);
        }
        break;
      }
      default: {
        const auto* run = static_cast<const run_container_t*>(r.c);
        int32_t k = 0;
        for (int32_t i = 0; i < w.n && k < run->n_runs; ++i) {
          const uint16_t x = w.arr[i];
          while (k < run->n_runs && uint32_t{run->runs[k].value} + run->runs[k].length < x) ++k;
          if (k < run->n_runs && run->runs[k].value <= x) out[n++] = x;
        }
        break;
      }
    }
    w.SetArray(out, n);
    return;
  }
  switch (r.type) {
    case ARRAY_CONTAINER_TYPE_CODE: {
      const auto* a = static_cast<const array_container_t*>(r.c);
      uint16_t* out = w.NextBuffer();
      int32_t n = 0;
      for (int32_t i = 0; i < a->cardinality; ++i) {
        out[n] = a->array[i];
        n += TestBit(w.bits, a->array[i]);
      }
      w.SetArray(out, n);
      return;
    }
    case BITSET_CONTAINER_TYPE_CODE: {
      const uint64_t* other = static_cast<const bitset_container_t*>(r.c)->array;
      const uint64_t* src = w.bits;
      for (int32_t k = 0; k < kWords; ++k) w.words[k] = src[k] & other[k];
      w.bits = w.words;
      return;
    }
    default: {
      const auto* run = static_cast<const run_container_t*>(r.c);
      uint64_t* words = w.OwnBits();
      uint32_t next = 0;  // first id not yet known to be inside a run
      for (int32_t k = 0; k < run->n_runs; ++k) {
        const uint32_t start = run->runs[k].value;
        if (start > next) ClearBits(words, next, start - 1);
        next = start + run->runs[k].length + 1;
      }
      if (next <= 0xFFFF) ClearBits(words, next, 0xFFFF);
      return;
    }
  }
}

// w := w AND NOT r
void AndNot(Work& w, const Ref& r, const Dispatch& d) {
  if (!w.is_bitset) {
    uint16_t* out = w.NextBuffer();
    int32_t n = 0;
    switch (r.type) {
      case ARRAY_CONTAINER_TYPE_CODE: {
        // Two fast passes beat one branchy merge: the (SIMD) intersection
        // first, then w minus that sorted subset, copied as the runs between
        // the common elements (each found by galloping). The common part is
        // usually small (a tail tag subtracted from a mid one), so this is a
        // few memcpys rather than a compare per element.
        const auto* a = static_cast<const array_container_t*>(r.c);
        uint16_t common[kMaxArray + kPad];
        const int32_t nc = IntersectArrays(w.arr, w.n, a->array, a->cardinality, common, d);
        int32_t from = 0;
        for (int32_t k = 0; k < nc; ++k) {
          const int32_t at = Gallop(w.arr, from, w.n, common[k]);  // w.arr[at] == common[k]
          std::memcpy(out + n, w.arr + from, sizeof(uint16_t) * static_cast<size_t>(at - from));
          n += at - from;
          from = at + 1;
        }
        std::memcpy(out + n, w.arr + from, sizeof(uint16_t) * static_cast<size_t>(w.n - from));
        n += w.n - from;
        break;
      }
      case BITSET_CONTAINER_TYPE_CODE: {
        const uint64_t* bits = static_cast<const bitset_container_t*>(r.c)->array;
        for (int32_t i = 0; i < w.n; ++i) {
          out[n] = w.arr[i];
          n += !TestBit(bits, w.arr[i]);
        }
        break;
      }
      default: {
        const auto* run = static_cast<const run_container_t*>(r.c);
        int32_t k = 0;
        for (int32_t i = 0; i < w.n; ++i) {
          const uint16_t x = w.arr[i];
          while (k < run->n_runs && uint32_t{run->runs[k].value} + run->runs[k].length < x) ++k;
          out[n] = x;
          n += !(k < run->n_runs && run->runs[k].value <= x);
        }
        break;
      }
    }
    w.SetArray(out, n);
    return;
  }
  switch (r.type) {
    case ARRAY_CONTAINER_TYPE_CODE: {
      const auto* a = static_cast<const array_container_t*>(r.c);
      uint64_t* words = w.OwnBits();
      for (int32_t i = 0; i < a->cardinality; ++i) {
        words[a->array[i] >> 6] &= ~(uint64_t{1} << (a->array[i] & 63));
      }
      return;
    }
    case BITSET_CONTAINER_TYPE_CODE: {
      const uint64_t* other = static_cast<const bitset_container_t*>(r.c)->array;
      const uint64_t* src = w.bits;
      for (int32_t k = 0; k < kWords; ++k) w.words[k] = src[k] & ~other[k];
      w.bits = w.words;
      return;
    }
    default: {
      const auto* run = static_cast<const run_container_t*>(r.c);
      uint64_t* words = w.OwnBits();
      for (int32_t k = 0; k < run->n_runs; ++k) {
        ClearBits(words, run->runs[k].value, run->runs[k].value + run->runs[k].length);
      }
      return;
    }
  }
}

// |w| (bitsets are counted, arrays know their length).
uint64_t CountWork(const Work& w, const Dispatch& d) {
  return w.is_bitset ? d.popcount(w.bits, kWords) : static_cast<uint64_t>(w.n);
}

// Number of set bits of `w` in [lo, hi] (inclusive).
uint64_t RangePopcount(const uint64_t* w, uint32_t lo, uint32_t hi, const Dispatch& d) {
  const uint32_t first = lo >> 6, last = hi >> 6;
  const uint64_t lo_mask = ~uint64_t{0} << (lo & 63);
  const uint64_t hi_mask = ~uint64_t{0} >> (63 - (hi & 63));
  if (first == last)
    return static_cast<uint64_t>(__builtin_popcountll(w[first] & lo_mask & hi_mask));
  uint64_t c = static_cast<uint64_t>(__builtin_popcountll(w[first] & lo_mask)) +
               static_cast<uint64_t>(__builtin_popcountll(w[last] & hi_mask));
  if (last > first + 1) c += d.popcount(w + first + 1, static_cast<int32_t>(last - first - 1));
  return c;
}

// |w AND r| without writing the result: the last step of a count.
uint64_t CountAnd(const Work& w, const Ref& r, const Dispatch& d) {
  uint64_t n = 0;
  if (!w.is_bitset) {
    switch (r.type) {
      case ARRAY_CONTAINER_TYPE_CODE: {
        const auto* a = static_cast<const array_container_t*>(r.c);
        return static_cast<uint64_t>(
            IntersectArrays(w.arr, w.n, a->array, a->cardinality, nullptr, d));
      }
      case BITSET_CONTAINER_TYPE_CODE: {
        const uint64_t* bits = static_cast<const bitset_container_t*>(r.c)->array;
        for (int32_t i = 0; i < w.n; ++i) n += TestBit(bits, w.arr[i]);
        return n;
      }
      default: {
        const auto* run = static_cast<const run_container_t*>(r.c);
        int32_t k = 0;
        for (int32_t i = 0; i < w.n && k < run->n_runs; ++i) {
          const uint16_t x = w.arr[i];
          while (k < run->n_runs && uint32_t{run->runs[k].value} + run->runs[k].length < x) ++k;
          n += k < run->n_runs && run->runs[k].value <= x;
        }
        return n;
      }
    }
  }
  switch (r.type) {
    case ARRAY_CONTAINER_TYPE_CODE: {
      const auto* a = static_cast<const array_container_t*>(r.c);
      for (int32_t i = 0; i < a->cardinality; ++i) n += TestBit(w.bits, a->array[i]);
      return n;
    }
    case BITSET_CONTAINER_TYPE_CODE:
      return d.and_popcount(w.bits, static_cast<const bitset_container_t*>(r.c)->array, kWords);
    default: {
      const auto* run = static_cast<const run_container_t*>(r.c);
      for (int32_t k = 0; k < run->n_runs; ++k) {
        n += RangePopcount(w.bits, run->runs[k].value,
                           uint32_t{run->runs[k].value} + run->runs[k].length, d);
      }
      return n;
    }
  }
}

// Finds `key` in `ra` at or after cursor position `*cur`; advances *cur.
const void* Seek(const roaring_array_t* ra, int32_t* cur, uint16_t key, uint8_t* type) {
  *cur = Gallop(ra->keys, *cur, ra->size, key);
  if (*cur < ra->size && ra->keys[*cur] == key) {
    *type = ra->typecodes[*cur];
    return ra->containers[*cur];
  }
  return nullptr;
}

// One step of a chunk's evaluation: AND (negate = false) or AND NOT.
struct Step {
  Ref ref;
  bool negate;
};

// Walks the chunks present in every positive operand and evaluates each:
// the smallest positive container starts the running result, the other
// positives are intersected in ascending size, then the negatives present
// in the chunk are subtracted. With kCount the last step only counts
// (nothing is written) and `sink(count)` receives each chunk's count;
// otherwise `sink(key, w, d)` receives the chunk's result.
template <bool kCount, typename Sink>
void Drive(std::span<const Bitmap* const> positive, std::span<const Bitmap* const> negative,
           Work& w, Sink&& sink) {
  const Dispatch& d = Active();
  std::vector<const roaring_array_t*> pos;
  pos.reserve(positive.size());
  for (const Bitmap* b : positive) pos.push_back(&b->raw()->high_low_container);
  // Drive by the operand with the fewest chunks; it bounds the work.
  std::sort(pos.begin(), pos.end(),
            [](const roaring_array_t* a, const roaring_array_t* b) { return a->size < b->size; });
  std::vector<const roaring_array_t*> neg;
  neg.reserve(negative.size());
  for (const Bitmap* b : negative) neg.push_back(&b->raw()->high_low_container);

  std::vector<int32_t> pos_cur(pos.size(), 0), neg_cur(neg.size(), 0);
  std::vector<Ref> refs(pos.size());
  std::vector<Step> steps;
  steps.reserve(pos.size() + neg.size());
  const roaring_array_t* lead = pos[0];
  for (int32_t i = 0; i < lead->size; ++i) {
    const uint16_t key = lead->keys[i];
    refs[0] = Unwrap(lead->containers[i], lead->typecodes[i]);
    bool present = true;
    for (size_t p = 1; p < pos.size() && present; ++p) {
      uint8_t type = 0;
      const void* c = Seek(pos[p], &pos_cur[p], key, &type);
      if (c == nullptr) {
        present = false;
      } else {
        refs[p] = Unwrap(c, type);
      }
    }
    if (!present) continue;
    // Smallest container first: every later step is bounded by it.
    std::sort(refs.begin(), refs.end(), [](const Ref& a, const Ref& b) { return a.card < b.card; });
    steps.clear();
    for (size_t p = 1; p < refs.size(); ++p) steps.push_back({refs[p], false});
    for (size_t q = 0; q < neg.size(); ++q) {
      uint8_t type = 0;
      const void* c = Seek(neg[q], &neg_cur[q], key, &type);
      if (c != nullptr) steps.push_back({Unwrap(c, type), true});
    }
    Init(w, refs[0]);
    const size_t applied = kCount && !steps.empty() ? steps.size() - 1 : steps.size();
    bool empty = false;
    for (size_t k = 0; k < applied && !empty; ++k) {
      if (steps[k].negate) {
        AndNot(w, steps[k].ref, d);
      } else {
        And(w, steps[k].ref, d);
      }
      empty = !w.is_bitset && w.n == 0;
    }
    if (empty) continue;
    if constexpr (kCount) {
      if (steps.empty()) {
        sink(CountWork(w, d));
      } else if (steps.back().negate) {
        sink(CountWork(w, d) - CountAnd(w, steps.back().ref, d));
      } else {
        sink(CountAnd(w, steps.back().ref, d));
      }
    } else {
      sink(key, w, d);
    }
  }
}

}  // namespace

uint64_t AndAndNotCardinality(std::span<const Bitmap* const> positive,
                              std::span<const Bitmap* const> negative) {
  if (positive.empty()) return 0;
  auto w = std::make_unique<Work>();  // 24 KiB: keep it off small thread stacks
  uint64_t total = 0;
  Drive<true>(positive, negative, *w, [&](uint64_t chunk_count) { total += chunk_count; });
  return total;
}

Bitmap AndAndNot(std::span<const Bitmap* const> positive, std::span<const Bitmap* const> negative) {
  Bitmap out;
  if (positive.empty()) return out;
  auto w = std::make_unique<Work>();
  roaring_array_t* ra = &out.raw()->high_low_container;
  Drive<false>(positive, negative, *w, [&](uint16_t key, Work& work, const Dispatch& d) {
    const uint16_t* arr = work.arr;
    int32_t n = work.n;
    if (work.is_bitset) {
      const uint64_t card = d.popcount(work.bits, kWords);
      if (card == 0) return;
      if (card > static_cast<uint64_t>(kMaxArray)) {
        bitset_container_t* c = bitset_container_create();
        if (c == nullptr) throw std::bad_alloc();
        std::memcpy(c->array, work.bits, sizeof(uint64_t) * kWords);
        c->cardinality = static_cast<int32_t>(card);
        ra_append(ra, key, c, BITSET_CONTAINER_TYPE_CODE);
        return;
      }
      uint16_t* buf = work.NextBuffer();
      n = 0;
      for (int32_t k = 0; k < kWords; ++k) {
        for (uint64_t word = work.bits[k]; word != 0; word &= word - 1) {
          buf[n++] = static_cast<uint16_t>(k * 64 + __builtin_ctzll(word));
        }
      }
      arr = buf;
    }
    if (n == 0) return;
    array_container_t* c = array_container_create_given_capacity(n);
    if (c == nullptr) throw std::bad_alloc();
    std::memcpy(c->array, arr, sizeof(uint16_t) * static_cast<size_t>(n));
    c->cardinality = n;
    ra_append(ra, key, c, ARRAY_CONTAINER_TYPE_CODE);
  });
  return out;
}

const char* ActiveIsa() { return Active().name; }

void ForceBaselineForTesting(bool force) { g_force_baseline.store(force); }

}  // namespace tagindex::kernels

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
uint64_t AndAndNotCardinality(const Bitmap& a, const Bitmap& b, const Bitmap& c) {
  roaring_bitmap_t* t = roaring_bitmap_and(a.raw(), b.raw());
  if (t == nullptr) throw std::bad_alloc();
  roaring_bitmap_andnot_inplace(t, c.raw());
  const uint64_t n = roaring_bitmap_get_cardinality(t);
  roaring_bitmap_free(t);
  return n;
}

}  // namespace tagindex::kernels::croaring
