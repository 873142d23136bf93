#include "bitmap/bsi.h"

#include <roaring/roaring.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <new>
#include <numeric>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "absl/strings/str_cat.h"
#include "bitmap/chunk_ops.h"
#include "bitmap/simd.h"
#include "util/error_info.h"

namespace tagindex {
namespace {

constexpr int32_t kWords = 1 << 10;  // 64-bit words per 2^16-row chunk
constexpr int32_t kMaxArray = 4096;  // CRoaring's array / bitset threshold

// ---- chunk views ---------------------------------------------------------------

// The 1024 words of a container: a bitset container is used in place, an
// array or run container is expanded into `scratch`.
const uint64_t* Words(const void* c, uint8_t type, uint64_t* scratch) {
  if (type == SHARED_CONTAINER_TYPE_CODE) {
    const auto* s = static_cast<const shared_container_t*>(c);
    c = s->container;
    type = s->typecode;
  }
  if (type == BITSET_CONTAINER_TYPE_CODE) return static_cast<const bitset_container_t*>(c)->array;
  std::memset(scratch, 0, sizeof(uint64_t) * kWords);
  if (type == ARRAY_CONTAINER_TYPE_CODE) {
    const auto* a = static_cast<const array_container_t*>(c);
    for (int32_t k = 0; k < a->cardinality; ++k) {
      const uint16_t x = a->array[k];
      scratch[x >> 6] |= uint64_t{1} << (x & 63);
    }
  } else {
    const auto* r = static_cast<const run_container_t*>(c);
    for (int32_t k = 0; k < r->n_runs; ++k) {
      kernels::SetBitRange(scratch, r->runs[k].value,
                           uint32_t{r->runs[k].value} + r->runs[k].length);
    }
  }
  return scratch;
}

// Bsi::SetSparseFiltersForTesting: false restores the evaluation as it was
// before small filters got their own path (whole chunks, Seek by binary
// search only), for same-run before/after benchmarks and as a test oracle.
bool g_sparse_enabled = true;
bool g_fast_seek = true;

// Finds the container of `key` at or after *pos (keys ascend as chunks are
// visited in order, so the cursor only moves forward).
const void* Seek(const roaring_array_t* ra, int32_t* pos, uint16_t key, uint8_t* type) {
  int32_t lo = *pos, hi = ra->size;
  // The slices of a column usually hold the same chunks: the key is then at
  // the cursor (or just after it), found without a search.
  if (g_fast_seek) {
    for (int32_t k = lo; k < hi && k < lo + 2; ++k) {
      if (ra->keys[k] >= key) {
        *pos = k;
        if (ra->keys[k] != key) return nullptr;
        *type = ra->typecodes[k];
        return ra->containers[k];
      }
    }
  }
  while (lo < hi) {
    const int32_t mid = lo + (hi - lo) / 2;
    if (ra->keys[mid] < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  *pos = lo;
  if (lo < ra->size && ra->keys[lo] == key) {
    *type = ra->typecodes[lo];
    return ra->containers[lo];
  }
  return nullptr;
}

// ---- sparse chunks -----------------------------------------------------------------
//
// When the filter's container in a chunk is a small array (a small segment or
// tag: a few ids per 2^16 rows), the walk over all 1024 words of the chunk
// costs far more than the rows it can match. Such a chunk is handled as its
// packed nonzero words only: `w[j]` the word index, the j-th word of every
// slice gathered from its container (a bitset word read in place, an array's
// or a run container's word built by a binary search from the word's first
// id), so the work is proportional to the filter, not to the chunk.

// At most this many nonzero filter words make a chunk sparse (of 1024).
constexpr int32_t kSparseWords = 256;

void Unwrap(const void** c, uint8_t* type) {
  if (*type == SHARED_CONTAINER_TYPE_CODE) {
    const auto* s = static_cast<const shared_container_t*>(*c);
    *c = s->container;
    *type = s->typecode;
  }
}

// The nonzero words of an array container: their indices and bits. Returns
// how many, or kSparseWords + 1 as soon as there are more (the chunk is then
// evaluated whole, and w / bits are not complete).
int32_t SparseWords(const array_container_t* a, uint16_t* w, uint64_t* bits) {
  int32_t m = 0;
  for (int32_t k = 0; k < a->cardinality; ++k) {
    const uint16_t x = a->array[k];
    const uint16_t word = static_cast<uint16_t>(x >> 6);
    if (m == 0 || w[m - 1] != word) {
      if (m == kSparseWords) return kSparseWords + 1;
      w[m] = word;
      bits[m] = 0;
      ++m;
    }
    bits[m - 1] |= uint64_t{1} << (x & 63);
  }
  return m;
}

// Whether a filter container may be sparse (SparseWords decides): an array
// of at most 2 * kSparseWords ids (more rarely fit in kSparseWords words, and
// counting their words would be wasted on the whole-chunk path).
bool MaybeSparse(const void* c, uint8_t type) {
  return g_sparse_enabled && type == ARRAY_CONTAINER_TYPE_CODE &&
         static_cast<const array_container_t*>(c)->cardinality <= 2 * kSparseWords;
}

// out[j] = word w[j] of container `c` (null: all zero), j < m; w ascending.
// With kScatter, word j goes to out[w[j]] instead.
template <bool kScatter = false>
void Gather(const void* c, uint8_t type, const uint16_t* w, int32_t m, uint64_t* out) {
  auto put = [&](int32_t j, uint64_t word) { out[kScatter ? w[j] : j] = word; };
  if (c == nullptr) {
    for (int32_t j = 0; j < m; ++j) put(j, 0);
    return;
  }
  Unwrap(&c, &type);
  if (type == BITSET_CONTAINER_TYPE_CODE) {
    const uint64_t* words = static_cast<const bitset_container_t*>(c)->array;
    for (int32_t j = 0; j < m; ++j) put(j, words[w[j]]);
    return;
  }
  if (type == ARRAY_CONTAINER_TYPE_CODE) {
    const auto* a = static_cast<const array_container_t*>(c);
    const uint16_t* p = a->array;
    const uint16_t* end = a->array + a->cardinality;
    for (int32_t j = 0; j < m; ++j) {
      const uint32_t first = uint32_t{w[j]} << 6;
      p = std::lower_bound(p, end, first);
      uint64_t word = 0;
      for (; p != end && (uint32_t{*p} >> 6) == w[j]; ++p) word |= uint64_t{1} << (*p & 63);
      put(j, word);
    }
    return;
  }
  const auto* r = static_cast<const run_container_t*>(c);
  const rle16_t* p = r->runs;
  const rle16_t* end = r->runs + r->n_runs;
  for (int32_t j = 0; j < m; ++j) {
    const uint32_t first = uint32_t{w[j]} << 6, last = first + 63;
    // The first run ending at or after the word's first id.
    p = std::lower_bound(p, end, first, [](const rle16_t& run, uint32_t id) {
      return uint32_t{run.value} + run.length < id;
    });
    uint64_t word = 0;
    for (const rle16_t* q = p; q != end && q->value <= last; ++q) {
      const uint32_t a = std::max<uint32_t>(q->value, first) - first;
      const uint32_t b = std::min<uint32_t>(uint32_t{q->value} + q->length, last) - first;
      word |= (b == 63 ? ~uint64_t{0} : (uint64_t{1} << (b + 1)) - 1) & (~uint64_t{0} << a);
    }
    put(j, word);
  }
}

// The chunk's 1024 words of container `c` as far as words w[0..m) go: a
// bitset's own array, kZero for none, else `out` with words w[j] filled in
// (the others are not written and must not be read).
inline const uint64_t* GatherAt(const void* c, uint8_t type, const uint16_t* w, int32_t m,
                                const uint64_t* zero, uint64_t* out) {
  if (c == nullptr) return zero;
  Unwrap(&c, &type);
  if (type == BITSET_CONTAINER_TYPE_CODE) return static_cast<const bitset_container_t*>(c)->array;
  Gather<true>(c, type, w, m, out);
  return out;
}

// ---- the O'Neil-Quass walk, with runtime dispatch ------------------------------

// The bit levels of one interval, top (the sign slice, inverted: the biased
// top bit is NOT sign) first. L / H are all-ones where the lower / upper
// bound has the level's bit set.
struct Level {
  const uint64_t* s;
  uint64_t flip, L, H;
};

// acc |= rows of `cand` whose biased value v has lo <= v <= hi, for one chunk.
// Per row, top bit down:
//   ge: gt |= eq & s & ~L, eq &= ~(s ^ L)   (still equal where s == bit of lo)
//   le: lt |= eq & ~s & H, eq &= ~(s ^ H)
// Blocks of 8 words keep the four states in registers, so each slice word is
// read once; a block stops descending once no row in it is still equal to
// either bound (after about log2(512) levels on uniform data), which skips
// the low slices' cache lines. Branch-free inside a level, so the compiler
// vectorises it for each target.
//
// `nwords` (a multiple of 8) is 1024 for a whole chunk; for a sparse chunk
// it is the number of packed words, cand and acc are packed, and slice word
// j is read at idx[j] of the level's 1024 words (see SparseWords).
template <bool kIndexed>
__attribute__((always_inline)) inline void EvalChunkImpl(const Level* levels, int n,
                                                         const uint64_t* cand, uint64_t* acc,
                                                         int32_t nwords, const uint16_t* idx) {
  constexpr int kB = 8;
  for (int32_t k0 = 0; k0 < nwords; k0 += kB) {
    uint64_t el[kB], gl[kB], eh[kB], lh[kB];
    uint64_t any = 0;
    for (int j = 0; j < kB; ++j) {
      el[j] = eh[j] = cand[k0 + j];
      gl[j] = lh[j] = 0;
      any |= el[j];
    }
    if (any == 0) continue;
    for (int i = 0; i < n; ++i) {
      const Level& lv = levels[i];
      const uint64_t* p = lv.s + k0;
      uint64_t live = 0;
      for (int j = 0; j < kB; ++j) {
        const uint64_t v = (kIndexed ? lv.s[idx[k0 + j]] : p[j]) ^ lv.flip;
        gl[j] |= el[j] & v & ~lv.L;
        el[j] &= ~(v ^ lv.L);
        lh[j] |= eh[j] & ~v & lv.H;
        eh[j] &= ~(v ^ lv.H);
        live |= el[j] | eh[j];
      }
      if (live == 0) break;
    }
    for (int j = 0; j < kB; ++j) acc[k0 + j] |= (gl[j] | el[j]) & (lh[j] | eh[j]);
  }
}

void EvalChunkBaseline(const Level* levels, int n, const uint64_t* cand, uint64_t* acc,
                       int32_t nwords, const uint16_t* idx) {
  if (idx != nullptr) {
    EvalChunkImpl<true>(levels, n, cand, acc, nwords, idx);
  } else {
    EvalChunkImpl<false>(levels, n, cand, acc, nwords, idx);
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) void EvalChunkAvx2(const Level* levels, int n, const uint64_t* cand,
                                                   uint64_t* acc, int32_t nwords,
                                                   const uint16_t* idx) {
  if (idx != nullptr) {
    EvalChunkImpl<true>(levels, n, cand, acc, nwords, idx);
  } else {
    EvalChunkImpl<false>(levels, n, cand, acc, nwords, idx);
  }
}
#endif

// The slice walk at the dispatch level in use (simd.h: one choice for the
// library, capped by TAGINDEX_SIMD); its popcounts go through simd::Ops().
struct Dispatch {
  void (*eval)(const Level*, int, const uint64_t*, uint64_t*, int32_t, const uint16_t*);
  uint64_t popcount(const uint64_t* w, int32_t n = kWords) const {
    return simd::Ops().popcount(w, n);
  }
};

Dispatch Active() {
#if defined(__x86_64__)
  if (simd::ActiveLevel() >= simd::Level::kAvx2) return Dispatch{EvalChunkAvx2};
#endif
  return Dispatch{EvalChunkBaseline};
}

// ---- the fused whole-chunk range kernel -------------------------------------------
//
// One pass over a chunk in blocks of 8 words (512 rows, one cache line of
// each slice): per block the candidates are loaded once, every interval is
// walked from the top level down with the four states in registers (a
// block stops descending as soon as no row in it is still equal to either
// bound, so the low slices' lines are not read), the intervals' results are
// ORed and popcounted in registers. The count is all a count asks for: no
// 1024-word accumulator is cleared, written and popcounted afterwards, and
// no candidate bitset is built when the existence is the full chunk (cand
// null). `out` (Select) receives the result words; null counts only.
struct DenseRange {
  const uint64_t* const* s;  // n levels' 1024 words, top (the sign) first
  int n;
  // n_iv * n masks: all-ones where interval iv's biased lower (upper)
  // bound has level l's bit set, at [iv * n + l].
  const uint64_t* L;
  const uint64_t* H;
  int n_iv;
  const uint64_t* cand;  // 1024 words; null: every row of the chunk
  uint64_t* out;         // 1024 words; null: count only
};

// Lines ahead (of each level being read) to request: the hardware streams
// 20-40 interleaved slices poorly at their page boundaries.
constexpr int32_t kAheadWords = 64;

template <bool kCand, bool kOut>
__attribute__((always_inline)) inline uint64_t DenseRangeImpl(const DenseRange& a) {
  constexpr int kB = 8;
  uint64_t total = 0;
  for (int32_t k0 = 0; k0 < kWords; k0 += kB) {
    uint64_t c[kB], r[kB];
    uint64_t any = 0;
    for (int j = 0; j < kB; ++j) {
      c[j] = kCand ? a.cand[k0 + j] : ~uint64_t{0};
      r[j] = 0;
      any |= c[j];
    }
    if (any != 0) {
      for (int iv = 0; iv < a.n_iv; ++iv) {
        const uint64_t* L = a.L + iv * a.n;
        const uint64_t* H = a.H + iv * a.n;
        uint64_t el[kB], gl[kB], eh[kB], lh[kB];
        for (int j = 0; j < kB; ++j) {
          el[j] = eh[j] = c[j];
          gl[j] = lh[j] = 0;
        }
        for (int i = 0; i < a.n; ++i) {
          const uint64_t* p = a.s[i] + k0;
          const uint64_t flip = i == 0 ? ~uint64_t{0} : 0, lm = L[i], hm = H[i];
          uint64_t live = 0;
          for (int j = 0; j < kB; ++j) {
            const uint64_t v = p[j] ^ flip;
            gl[j] |= el[j] & v & ~lm;
            el[j] &= ~(v ^ lm);
            lh[j] |= eh[j] & ~v & hm;
            eh[j] &= ~(v ^ hm);
            live |= el[j] | eh[j];
          }
          if (live == 0) break;
        }
        for (int j = 0; j < kB; ++j) r[j] |= (gl[j] | el[j]) & (lh[j] | eh[j]);
      }
    }
    for (int j = 0; j < kB; ++j) {
      if (kOut) a.out[k0 + j] = r[j];
      total += static_cast<uint64_t>(__builtin_popcountll(r[j]));
    }
  }
  return total;
}

#define TI_DENSE_RANGE(SUFFIX, ATTR)                                                            \
  ATTR uint64_t DenseRange##SUFFIX(const DenseRange& a) {                                       \
    if (a.cand != nullptr) {                                                                    \
      return a.out != nullptr ? DenseRangeImpl<true, true>(a) : DenseRangeImpl<true, false>(a); \
    }                                                                                           \
    return a.out != nullptr ? DenseRangeImpl<false, true>(a) : DenseRangeImpl<false, false>(a); \
  }
TI_DENSE_RANGE(Scalar, )
#if defined(__x86_64__)
TI_DENSE_RANGE(Sse42, __attribute__((target("sse4.2,popcnt"))))
TI_DENSE_RANGE(Avx2, __attribute__((target("avx2,popcnt"))))
#endif
#undef TI_DENSE_RANGE

#if defined(__x86_64__)
// AVX-512: a block is one zmm per state; GCC turns the operator forms into
// VPTERNLOGQ; VPOPCNTQ counts the result.
template <bool kCand, bool kOut>
__attribute__((target("avx512f,avx512vpopcntdq"), always_inline)) inline uint64_t DenseRange512(
    const DenseRange& a) {
  const __m512i ones = _mm512_set1_epi64(-1);
  __m512i total = _mm512_setzero_si512();
  for (int32_t k0 = 0; k0 < kWords; k0 += 8) {
    const __m512i c = kCand ? _mm512_loadu_si512(a.cand + k0) : ones;
    __m512i r = _mm512_setzero_si512();
    if (!kCand || _mm512_test_epi64_mask(c, c) != 0) {
      for (int iv = 0; iv < a.n_iv; ++iv) {
        const uint64_t* L = a.L + iv * a.n;
        const uint64_t* H = a.H + iv * a.n;
        __m512i el = c, eh = c, gl = _mm512_setzero_si512(), lh = _mm512_setzero_si512();
        for (int i = 0; i < a.n; ++i) {
          const uint64_t* p = a.s[i] + k0;
          if (k0 + kAheadWords < kWords)
            _mm_prefetch(reinterpret_cast<const char*>(p + kAheadWords), _MM_HINT_T0);
          __m512i v = _mm512_loadu_si512(p);
          if (i == 0) v = v ^ ones;
          const __m512i lm = _mm512_set1_epi64(static_cast<long long>(L[i]));
          const __m512i hm = _mm512_set1_epi64(static_cast<long long>(H[i]));
          gl = gl | (el & v & ~lm);
          el = el & ~(v ^ lm);
          lh = lh | (eh & ~v & hm);
          eh = eh & ~(v ^ hm);
          const __m512i live = el | eh;
          if (_mm512_test_epi64_mask(live, live) == 0) break;
        }
        r = r | ((gl | el) & (lh | eh));
      }
    }
    if (kOut) _mm512_storeu_si512(a.out + k0, r);
    total = _mm512_add_epi64(total, _mm512_popcnt_epi64(r));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, total);
  uint64_t sum = 0;
  for (uint64_t lane : lanes) sum += lane;
  return sum;
}

__attribute__((target("avx512f,avx512vpopcntdq"))) uint64_t DenseRangeAvx512(const DenseRange& a) {
  if (a.cand != nullptr) {
    return a.out != nullptr ? DenseRange512<true, true>(a) : DenseRange512<true, false>(a);
  }
  return a.out != nullptr ? DenseRange512<false, true>(a) : DenseRange512<false, false>(a);
}
#endif

// The fused kernel of the dispatch level in use (simd.h; tests force each
// level with simd::SetLevelForTesting).
using DenseRangeFn = uint64_t (*)(const DenseRange&);
DenseRangeFn ActiveDenseRange() {
#if defined(__x86_64__)
  switch (simd::ActiveLevel()) {
    case simd::Level::kAvx512:
      return DenseRangeAvx512;
    case simd::Level::kAvx2:
      return DenseRangeAvx2;
    case simd::Level::kSse42:
      return DenseRangeSse42;
    case simd::Level::kScalar:
      break;
  }
#endif
  return DenseRangeScalar;
}

// Bsi::SetFusedChunksForTesting: false restores the whole-chunk paths as
// they were (the 8-word walk into a cleared accumulator, then a popcount;
// every container expanded; Sum by one AND-cardinality per slice), for
// same-run before/after benchmarks and as a test oracle.
bool g_fused = true;

// Whether container `c` holds all 65,536 rows of its chunk (the existence
// of a column without NULLs there).
bool FullChunk(const void* c, uint8_t type) {
  Unwrap(&c, &type);
  if (type == BITSET_CONTAINER_TYPE_CODE) {
    return static_cast<const bitset_container_t*>(c)->cardinality == 65536;
  }
  if (type == RUN_CONTAINER_TYPE_CODE) {
    const auto* r = static_cast<const run_container_t*>(c);
    return r->n_runs == 1 && r->runs[0].value == 0 && r->runs[0].length == 65535;
  }
  return false;
}

// Appends a chunk's words to `out` as an array or bitset container.
void AppendChunk(roaring_array_t* ra, uint16_t key, const uint64_t* words, uint64_t card) {
  if (card == 0) return;
  if (card > static_cast<uint64_t>(kMaxArray)) {
    bitset_container_t* c = bitset_container_create();
    if (c == nullptr) throw std::bad_alloc();
    std::memcpy(c->array, words, sizeof(uint64_t) * kWords);
    c->cardinality = static_cast<int32_t>(card);
    ra_append(ra, key, c, BITSET_CONTAINER_TYPE_CODE);
    return;
  }
  array_container_t* c = array_container_create_given_capacity(static_cast<int32_t>(card));
  if (c == nullptr) throw std::bad_alloc();
  int32_t n = 0;
  for (int32_t k = 0; k < kWords; ++k) {
    for (uint64_t word = words[k]; word != 0; word &= word - 1) {
      c->array[n++] = static_cast<uint16_t>(k * 64 + __builtin_ctzll(word));
    }
  }
  c->cardinality = n;
  ra_append(ra, key, c, ARRAY_CONTAINER_TYPE_CODE);
}

// Appends a sparse chunk (words[j] is word w[j]) as an array container.
void AppendSparse(roaring_array_t* ra, uint16_t key, const uint16_t* w, const uint64_t* words,
                  int32_t m, uint64_t card) {
  if (card == 0) return;
  array_container_t* c = array_container_create_given_capacity(static_cast<int32_t>(card));
  if (c == nullptr) throw std::bad_alloc();
  int32_t n = 0;
  for (int32_t j = 0; j < m; ++j) {
    for (uint64_t word = words[j]; word != 0; word &= word - 1) {
      c->array[n++] = static_cast<uint16_t>(w[j] * 64 + __builtin_ctzll(word));
    }
  }
  c->cardinality = n;
  ra_append(ra, key, c, ARRAY_CONTAINER_TYPE_CODE);
}

int64_t Low(int bits) { return bits >= 63 ? INT64_MIN : -(int64_t{1} << bits); }
int64_t High(int bits) { return bits >= 63 ? INT64_MAX : (int64_t{1} << bits) - 1; }
uint64_t Bias(int64_t v, int bits) { return static_cast<uint64_t>(v) + (uint64_t{1} << bits); }

// Little-endian helpers for the serialised form.
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

}  // namespace

// ---- row cache ---------------------------------------------------------------------
//
// A chunk's values row-major: values[x] is the value of row key * 2^16 + x
// where has[] (a copy of the existence words) holds x. Shared by the copies
// of a column (refs); immutable once published in a slot.
struct Bsi::Chunk {
  std::atomic<int32_t> refs{1};
  uint64_t has[kWords] = {};
  int64_t values[kWords * 64] = {};
};

// One slot per chunk key below `size` (the existence's largest key + 1 when
// the cache was made; a writer grows it). A reader fills an empty slot with
// compare-and-swap; only a writer (exclusive access) empties one.
//
// rent[k] is the ski-rental counter of chunk k: the rent (filter rows plus a
// per-visit overhead, see RowCacheRent) the slice walk has paid for it
// since its copy was last dropped. Readers add to it with relaxed atomics
// and never wait; the reader whose addition crosses the build threshold
// builds the copy (the others keep walking the slices until it is
// published). A writer resets it when it drops the chunk.
struct Bsi::RowCache {
  explicit RowCache(size_t n)
      : slots(new std::atomic<Chunk*>[n]), rent(new std::atomic<uint32_t>[n]), size(n) {
    for (size_t k = 0; k < n; ++k) {
      slots[k].store(nullptr, std::memory_order_relaxed);
      rent[k].store(0, std::memory_order_relaxed);
    }
  }
  ~RowCache();
  RowCache(const RowCache&) = delete;
  RowCache& operator=(const RowCache&) = delete;
  // Empties slot k and resets its rent (writers only).
  void Drop(size_t k);
  std::unique_ptr<std::atomic<Chunk*>[]> slots;
  std::unique_ptr<std::atomic<uint32_t>[]> rent;
  size_t size;
};

namespace {

Bsi::RowCacheMode g_row_cache = Bsi::RowCacheMode::kAuto;
int32_t g_row_cache_max = Bsi::kRowCacheMaxRows;
uint32_t g_row_cache_build = Bsi::kRowCacheBuildRent;

void Release(Bsi::Chunk* c) {
  if (c != nullptr && c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete c;
}

// Whether a chunk whose filter container is `c` reads the row cache: an
// array of at most `max_rows` ids. Measured (bench/attribute_benchmark
// BM_Attr_RowCache_*, 10 M rows, 7 / 20 / 32 bits): a gather costs ~10 ns
// per filter row (a cache miss into the 520 KB chunk), the slice walk a
// cost per slice word; a range count breaks even at ~1,000-1,500 rows per
// chunk whatever the width, a sum (one AND-popcount per slice) at
// ~45 * (bits + 2) rows.
bool UseRowCache(const void* c, uint8_t type, int32_t max_rows = g_row_cache_max) {
  if (g_row_cache == Bsi::RowCacheMode::kOff || type != ARRAY_CONTAINER_TYPE_CODE) return false;
  return g_row_cache == Bsi::RowCacheMode::kAlways ||
         static_cast<const array_container_t*>(c)->cardinality <= max_rows;
}

// Swaps the bits of `a` selected by `mask << s` with the bits of `b`
// selected by `mask`.
inline void SwapBits(uint64_t& a, uint64_t& b, int s, uint64_t mask) {
  const uint64_t t = ((a >> s) ^ b) & mask;
  b ^= t;
  a ^= t << s;
}

// Transposes an 8x8 bit matrix: bit r of byte q becomes bit q of byte r.
inline uint64_t Transpose8x8(uint64_t x) {
  uint64_t t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
  x ^= t ^ (t << 7);
  t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
  x ^= t ^ (t << 14);
  t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
  x ^= t ^ (t << 28);
  return x;
}

// out[64 k + j] = the sum over l < n of (bit j of levels[l][k]) << l, for
// the 1024 words k of a chunk (out zeroed, n <= 64). Per word and group of
// 8 levels: an 8x8 byte transpose (byte q of w[p] = byte p of level q), then
// an 8x8 bit transpose per 8 rows, stored as byte g of each row's value:
// ~14 operations per row instead of a read-modify-write per set bit.
void TransposeLevels(const uint64_t* const* levels, int n, int64_t* out) {
  static_assert(std::endian::native == std::endian::little, "byte g of a value is bits 8g..8g+7");
  const int groups = (n + 7) / 8;
  auto* bytes = reinterpret_cast<unsigned char*>(out);
  for (int32_t k = 0; k < kWords; ++k) {
    for (int g = 0; g < groups; ++g) {
      uint64_t w[8];
      for (int q = 0; q < 8; ++q) w[q] = 8 * g + q < n ? levels[8 * g + q][k] : 0;
      for (int q = 0; q < 8; q += 2) SwapBits(w[q], w[q + 1], 8, 0x00FF00FF00FF00FFULL);
      for (int q : {0, 1, 4, 5}) SwapBits(w[q], w[q + 2], 16, 0x0000FFFF0000FFFFULL);
      for (int q = 0; q < 4; ++q) SwapBits(w[q], w[q + 4], 32, 0x00000000FFFFFFFFULL);
      for (int p = 0; p < 8; ++p) {
        const uint64_t x = Transpose8x8(w[p]);  // byte r: row 8p + r's bits
        unsigned char* o = bytes + (size_t{64} * static_cast<size_t>(k) + 8 * p) * 8 + g;
        for (int r = 0; r < 8; ++r) o[8 * r] = static_cast<unsigned char>(x >> (8 * r));
      }
    }
  }
}

// The words of `b`'s container of `key` (null if it has none).
const uint64_t* WordsOfKey(const Bitmap& b, uint16_t key, uint64_t* scratch) {
  const roaring_array_t* ra = &b.raw()->high_low_container;
  const int32_t i = ra_get_index(ra, key);
  if (i < 0) return nullptr;
  return Words(ra->containers[i], ra->typecodes[i], scratch);
}

}  // namespace

Bsi::RowCache::~RowCache() {
  for (size_t k = 0; k < size; ++k) Release(slots[k].load(std::memory_order_relaxed));
}

void Bsi::RowCache::Drop(size_t k) {
  Release(slots[k].exchange(nullptr, std::memory_order_acq_rel));
  rent[k].store(0, std::memory_order_relaxed);
}

void Bsi::SetRowCacheForTesting(RowCacheMode mode, int32_t max_rows, uint32_t build_rent) {
  g_row_cache = mode;
  g_row_cache_max = max_rows;
  g_row_cache_build = build_rent;
}

uint32_t Bsi::RowCacheRent(int32_t rows) {
  return static_cast<uint32_t>(rows) + kRowCacheVisitRent;
}

size_t Bsi::RowCacheChunks() const {
  const RowCache* rc = cache_.load(std::memory_order_acquire);
  size_t n = 0;
  if (rc == nullptr) return 0;
  for (size_t k = 0; k < rc->size; ++k)
    n += rc->slots[k].load(std::memory_order_acquire) != nullptr;
  return n;
}

const Bsi::Chunk* Bsi::CachedChunk(uint16_t key, int32_t rows) const {
  RowCache* rc = cache_.load(std::memory_order_acquire);
  if (rc == nullptr) {
    const roaring_array_t* ex = &existence_.raw()->high_low_container;
    const size_t n = ex->size == 0 ? 0 : size_t{ex->keys[ex->size - 1]} + 1;
    auto fresh = std::make_unique<RowCache>(n);
    if (cache_.compare_exchange_strong(rc, fresh.get(), std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      rc = fresh.release();
    }
  }
  if (key >= rc->size) return nullptr;
  Chunk* c = rc->slots[key].load(std::memory_order_acquire);
  if (c != nullptr) return c;
  if (g_row_cache != RowCacheMode::kAlways) {
    // Ski rental: keep walking the slices (paying rent) until the rent paid
    // reaches the build cost; the visit that crosses it builds.
    std::atomic<uint32_t>& paid = rc->rent[key];
    const uint32_t threshold = g_row_cache_build;
    const uint32_t before = paid.load(std::memory_order_relaxed);
    if (before >= threshold) return nullptr;  // another reader is building
    const uint32_t add = RowCacheRent(rows);
    const uint32_t was = paid.fetch_add(add, std::memory_order_relaxed);
    if (was >= threshold || was + add < threshold) return nullptr;
  }
  // Build this chunk: the existence words, then the values by transposing
  // the slices' words (and the sign's, as bit bits()) 64 rows at a time, then
  // the sign extension.
  auto built = std::make_unique<Chunk>();
  const int n_levels = bits() + 1;
  std::unique_ptr<uint64_t[]> scratch(new uint64_t[static_cast<size_t>(n_levels + 1) * kWords]);
  const uint64_t* ew = WordsOfKey(existence_, key, scratch.get());
  if (ew != nullptr) std::memcpy(built->has, ew, sizeof(built->has));
  static const uint64_t kZero[kWords] = {};
  std::vector<const uint64_t*> levels(static_cast<size_t>(n_levels));
  for (int l = 0; l < n_levels; ++l) {
    const Bitmap& b = l < bits() ? slices_[static_cast<size_t>(l)] : sign_;
    const uint64_t* w = WordsOfKey(b, key, scratch.get() + static_cast<size_t>(l + 1) * kWords);
    levels[static_cast<size_t>(l)] = w != nullptr ? w : kZero;
  }
  TransposeLevels(levels.data(), n_levels, built->values);
  const int shift = 63 - bits();  // bit bits() (the sign) to bit 63, and back
  for (int64_t& v : built->values) {
    v = static_cast<int64_t>(static_cast<uint64_t>(v) << shift) >> shift;
  }
  if (rc->slots[key].compare_exchange_strong(c, built.get(), std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
    return built.release();
  }
  return c;  // another reader's copy won
}

void Bsi::DropCached(std::span<const uint32_t> rows) {
  RowCache* rc = cache_.load(std::memory_order_relaxed);
  if (rc == nullptr || rows.empty()) return;
  uint32_t top = 0;
  for (uint32_t r : rows) top = std::max(top, r >> 16);
  if (top >= rc->size) {
    // Rows beyond the cache: grow it (the writer has exclusive access).
    auto grown = std::make_unique<RowCache>(size_t{top} + 1);
    for (size_t k = 0; k < rc->size; ++k) {
      grown->slots[k].store(rc->slots[k].exchange(nullptr, std::memory_order_relaxed),
                            std::memory_order_relaxed);
      grown->rent[k].store(rc->rent[k].load(std::memory_order_relaxed), std::memory_order_relaxed);
    }
    delete rc;
    rc = grown.release();
    cache_.store(rc, std::memory_order_release);
  }
  int64_t last = -1;
  for (uint32_t r : rows) {
    const int64_t key = r >> 16;
    if (key == last) continue;
    last = key;
    rc->Drop(static_cast<size_t>(key));
  }
}

void Bsi::DropCached(const Bitmap& rows) {
  RowCache* rc = cache_.load(std::memory_order_relaxed);
  if (rc == nullptr) return;
  const roaring_array_t* ra = &rows.raw()->high_low_container;
  for (int32_t i = 0; i < ra->size; ++i) {
    if (ra->keys[i] < rc->size) rc->Drop(ra->keys[i]);
  }
}

void Bsi::DropAllCached() { delete cache_.exchange(nullptr, std::memory_order_acq_rel); }

Bsi::~Bsi() { DropAllCached(); }

Bsi::Bsi(Bsi&& other) noexcept
    : existence_(std::move(other.existence_)),
      sign_(std::move(other.sign_)),
      slices_(std::move(other.slices_)),
      cache_(other.cache_.exchange(nullptr, std::memory_order_acq_rel)) {}

Bsi& Bsi::operator=(Bsi&& other) noexcept {
  if (this != &other) {
    DropAllCached();
    existence_ = std::move(other.existence_);
    sign_ = std::move(other.sign_);
    slices_ = std::move(other.slices_);
    cache_.store(other.cache_.exchange(nullptr, std::memory_order_acq_rel),
                 std::memory_order_release);
  }
  return *this;
}

// ---- the range kernel ------------------------------------------------------------

namespace {

// Walks the chunks of `existence` (and `filter`), evaluating the intervals
// (biased, clamped, non-empty) per chunk: `sink.Dense(key, words, count)` for
// a chunk evaluated on all its words, `sink.Sparse(key, w, words, m, count)`
// for one evaluated on the m words w[] of a small filter container, and
// `sink.Rows(key, rows, n)` for one answered from the row cache
// (`chunk_of(key, rows)`: the cached chunk or null; `rows` is the filter's
// row count in the chunk, the rent of this visit) by gathering its filter rows.
template <typename Sink, typename ChunkOf>
void DriveSelect(const Bitmap& existence, const Bitmap& sign, const std::vector<Bitmap>& slices,
                 std::span<const std::pair<uint64_t, uint64_t>> biased, const Bitmap* filter,
                 Sink& sink, const ChunkOf& chunk_of) {
  const Dispatch d = Active();
  const int bits = static_cast<int>(slices.size());
  const int n_levels = bits + 1;
  const uint64_t full = bits >= 63 ? ~uint64_t{0} : (uint64_t{1} << (bits + 1)) - 1;
  struct Buffers {
    alignas(64) uint64_t cand[kWords];
    alignas(64) uint64_t acc[kWords];
    alignas(64) uint64_t ex[kWords];
    alignas(64) uint64_t filter[kWords];
    // A sparse chunk: its word indices and the walk's four states per word.
    uint16_t w[kWords];
    uint64_t el[kWords], eh[kWords], gl[kWords], lh[kWords];
    uint16_t live[kWords];     // the packed words with a row still equal to a bound
    uint16_t rows[kMaxArray];  // a row-cache chunk's matching rows
  };
  auto buf = std::make_unique<Buffers>();
  // One expansion buffer per level, for slices whose chunk is not a bitset.
  std::unique_ptr<uint64_t[]> scratch(new uint64_t[static_cast<size_t>(n_levels) * kWords]);
  static const uint64_t kZero[kWords] = {};
  const roaring_array_t* ex = &existence.raw()->high_low_container;
  const roaring_array_t* fr = filter != nullptr ? &filter->raw()->high_low_container : nullptr;
  // Level 0 is the top: the sign slice; level 1 + j is slice bits - 1 - j.
  std::vector<const roaring_array_t*> ras(static_cast<size_t>(n_levels));
  ras[0] = &sign.raw()->high_low_container;
  for (int j = 0; j < bits; ++j) {
    ras[static_cast<size_t>(1 + j)] =
        &slices[static_cast<size_t>(bits - 1 - j)].raw()->high_low_container;
  }
  std::vector<int32_t> cur(static_cast<size_t>(n_levels), 0);
  std::vector<const uint64_t*> words(static_cast<size_t>(n_levels));
  std::vector<Level> levels(static_cast<size_t>(n_levels));
  // The fused kernel's per-level bound masks, once per query.
  const bool fused = g_fused;
  const DenseRangeFn dense = ActiveDenseRange();
  const simd::OpTable& ops = simd::Ops();
  static const std::vector<uint64_t> kOnesWords(kWords, ~uint64_t{0});
  const uint64_t* const kOnes = kOnesWords.data();
  bool any_full = false;
  std::vector<uint64_t> lmask, hmask;
  for (const auto& [lo, hi] : biased) {
    if (lo == 0 && hi == full) any_full = true;
    for (int l = 0; l < n_levels; ++l) {
      const int bit = bits - l;
      lmask.push_back(((lo >> bit) & 1) ? ~uint64_t{0} : 0);
      hmask.push_back(((hi >> bit) & 1) ? ~uint64_t{0} : 0);
    }
  }
  const int n_dense_iv = static_cast<int>(biased.size());
  // Evaluates the intervals over a whole chunk (cand, words[] set up).
  auto evaluate = [&](int32_t nw, const uint16_t* idx) {
    std::memset(buf->acc, 0, sizeof(uint64_t) * static_cast<size_t>(nw));
    for (const auto& [lo, hi] : biased) {
      if (lo == 0 && hi == full) {
        for (int32_t k = 0; k < nw; ++k) buf->acc[k] |= buf->cand[k];
        continue;
      }
      for (int l = 0; l < n_levels; ++l) {
        const int bit = bits - l;
        levels[static_cast<size_t>(l)] = {words[static_cast<size_t>(l)], l == 0 ? ~uint64_t{0} : 0,
                                          ((lo >> bit) & 1) ? ~uint64_t{0} : 0,
                                          ((hi >> bit) & 1) ? ~uint64_t{0} : 0};
      }
      d.eval(levels.data(), n_levels, buf->cand, buf->acc, nw, idx);
    }
  };
  // A chunk whose filter rows lie in m <= kSparseWords words (buf->w, their
  // bits in buf->filter): the walk runs level by level over those words only,
  // fetching a level's words when it is reached, and stops at the level
  // where no row is still equal to a bound (a few levels for a few rows).
  auto SparseChunk = [&](int32_t i, uint16_t key, int32_t m) {
    const uint16_t* w = buf->w;
    Gather(ex->containers[i], ex->typecodes[i], w, m, buf->ex);
    uint64_t any = 0;
    for (int32_t j = 0; j < m; ++j) {
      buf->cand[j] = buf->filter[j] & buf->ex[j];
      buf->acc[j] = 0;
      any |= buf->cand[j];
    }
    if (any == 0) return;
    int fetched = 0;
    auto level = [&](int l) {
      for (; fetched <= l; ++fetched) {
        uint8_t t = 0;
        const void* sc =
            Seek(ras[static_cast<size_t>(fetched)], &cur[static_cast<size_t>(fetched)], key, &t);
        words[static_cast<size_t>(fetched)] =
            GatherAt(sc, t, w, m, kZero, scratch.get() + static_cast<size_t>(fetched) * kWords);
      }
      return words[static_cast<size_t>(l)];
    };
    for (const auto& [lo, hi] : biased) {
      if (lo == 0 && hi == full) {
        for (int32_t j = 0; j < m; ++j) buf->acc[j] |= buf->cand[j];
        continue;
      }
      int32_t n_live = 0;
      for (int32_t j = 0; j < m; ++j) {
        buf->el[j] = buf->eh[j] = buf->cand[j];
        buf->gl[j] = buf->lh[j] = 0;
        buf->live[n_live] = static_cast<uint16_t>(j);
        n_live += buf->cand[j] != 0;
      }
      // Each level visits only the words that still have a row equal to a
      // bound, and drops those that have none left.
      for (int l = 0; l < n_levels && n_live > 0; ++l) {
        const uint64_t* sw = level(l);
        const int bit = bits - l;
        const uint64_t flip = l == 0 ? ~uint64_t{0} : 0;
        const uint64_t L = ((lo >> bit) & 1) ? ~uint64_t{0} : 0;
        const uint64_t H = ((hi >> bit) & 1) ? ~uint64_t{0} : 0;
        int32_t kept = 0;
        for (int32_t k = 0; k < n_live; ++k) {
          const uint16_t j = buf->live[k];
          const uint64_t v = sw[w[j]] ^ flip;
          buf->gl[j] |= buf->el[j] & v & ~L;
          buf->el[j] &= ~(v ^ L);
          buf->lh[j] |= buf->eh[j] & ~v & H;
          buf->eh[j] &= ~(v ^ H);
          buf->live[kept] = j;
          kept += (buf->el[j] | buf->eh[j]) != 0;
        }
        n_live = kept;
        // The next level's words of the rows still undecided, requested all
        // at once: the walk is bound by these scattered loads, not by ALU.
        if (l + 1 < n_levels && n_live > 0) {
          const uint64_t* next = level(l + 1);
          for (int32_t k = 0; k < n_live; ++k) __builtin_prefetch(next + w[buf->live[k]]);
        }
      }
      for (int32_t j = 0; j < m; ++j) {
        buf->acc[j] |= (buf->gl[j] | buf->el[j]) & (buf->lh[j] | buf->eh[j]);
      }
    }
    sink.Sparse(key, w, buf->acc, m, d.popcount(buf->acc, m));
  };
  int32_t filter_cur = 0;
  for (int32_t i = 0; i < ex->size; ++i) {
    const uint16_t key = ex->keys[i];
    const uint64_t* fw = nullptr;
    if (fr != nullptr) {
      uint8_t type = 0;
      const void* c = Seek(fr, &filter_cur, key, &type);
      if (c == nullptr) continue;
      Unwrap(&c, &type);
      if (UseRowCache(c, type)) {
        if (const auto* chunk =
                chunk_of(key, static_cast<const array_container_t*>(c)->cardinality)) {
          // Gather: each filter row's value from the row-major copy.
          const auto* a = static_cast<const array_container_t*>(c);
          int32_t n = 0;
          for (int32_t k = 0; k < a->cardinality; ++k) {
            const uint16_t x = a->array[k];
            const uint64_t b = Bias(chunk->values[x], bits);
            bool hit = false;
            for (const auto& [lo, hi] : biased) hit |= (b >= lo) & (b <= hi);
            buf->rows[n] = x;
            n += hit & static_cast<bool>((chunk->has[x >> 6] >> (x & 63)) & 1);
          }
          sink.Rows(key, buf->rows, n);
          continue;
        }
      }
      if (MaybeSparse(c, type)) {
        const int32_t m =
            SparseWords(static_cast<const array_container_t*>(c), buf->w, buf->filter);
        if (m <= kSparseWords) {
          SparseChunk(i, key, m);
          continue;
        }
      }
      fw = Words(c, type, buf->filter);
    }
    if (fused) {
      // Candidates without copies: the filter's words alone where the
      // existence is the full chunk, none at all (every row) without a
      // filter; a bitset is read in place.
      const void* ec = ex->containers[i];
      uint8_t et = ex->typecodes[i];
      const uint64_t* cand = nullptr;
      if (!FullChunk(ec, et)) {
        const uint64_t* ew = Words(ec, et, buf->ex);
        if (fw != nullptr) {
          ops.and_words(ew, fw, buf->cand, kWords);
          cand = buf->cand;
        } else {
          cand = ew;
        }
      } else {
        cand = fw;
      }
      for (int l = 0; l < n_levels; ++l) {
        uint8_t type = 0;
        const void* c = Seek(ras[static_cast<size_t>(l)], &cur[static_cast<size_t>(l)], key, &type);
        words[static_cast<size_t>(l)] =
            c != nullptr ? Words(c, type, scratch.get() + static_cast<size_t>(l) * kWords) : kZero;
      }
      if (any_full) {
        // An interval holds every value: the candidates are the answer.
        const uint64_t* all = cand != nullptr ? cand : kOnes;
        sink.Dense(key, all, cand != nullptr ? d.popcount(cand) : uint64_t{65536});
        continue;
      }
      const DenseRange args{words.data(),
                            n_levels,
                            lmask.data(),
                            hmask.data(),
                            n_dense_iv,
                            cand,
                            Sink::kWantsWords ? buf->acc : nullptr};
      const uint64_t count = dense(args);
      sink.Dense(key, buf->acc, count);
      continue;
    }
    const uint64_t* ew = Words(ex->containers[i], ex->typecodes[i], buf->ex);
    if (fw != nullptr) {
      for (int32_t k = 0; k < kWords; ++k) buf->cand[k] = ew[k] & fw[k];
    } else {
      std::memcpy(buf->cand, ew, sizeof(buf->cand));
    }
    for (int l = 0; l < n_levels; ++l) {
      uint8_t type = 0;
      const void* c = Seek(ras[static_cast<size_t>(l)], &cur[static_cast<size_t>(l)], key, &type);
      words[static_cast<size_t>(l)] =
          c != nullptr ? Words(c, type, scratch.get() + static_cast<size_t>(l) * kWords) : kZero;
    }
    evaluate(kWords, nullptr);
    sink.Dense(key, buf->acc, d.popcount(buf->acc));
  }
}

}  // namespace

namespace {

// Clamps and biases intervals to the column's width; drops empty ones.
std::vector<std::pair<uint64_t, uint64_t>> BiasIntervals(std::span<const Bsi::Interval> in,
                                                         int bits) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  const int64_t low = Low(bits), high = High(bits);
  for (const Bsi::Interval& iv : in) {
    if (iv.lo > iv.hi || iv.hi < low || iv.lo > high) continue;
    const int64_t lo = std::max(iv.lo, low), hi = std::min(iv.hi, high);
    out.emplace_back(Bias(lo, bits), Bias(hi, bits));
  }
  // Merge overlapping or adjacent intervals: fewer passes per chunk.
  std::sort(out.begin(), out.end());
  std::vector<std::pair<uint64_t, uint64_t>> merged;
  for (const auto& p : out) {
    if (!merged.empty() &&
        (merged.back().second == ~uint64_t{0} || p.first <= merged.back().second + 1)) {
      merged.back().second = std::max(merged.back().second, p.second);
    } else {
      merged.push_back(p);
    }
  }
  return merged;
}

}  // namespace

namespace {

struct AppendSink {
  static constexpr bool kWantsWords = true;
  roaring_array_t* ra;
  void Dense(uint16_t key, const uint64_t* words, uint64_t card) {
    AppendChunk(ra, key, words, card);
  }
  void Sparse(uint16_t key, const uint16_t* w, const uint64_t* words, int32_t m, uint64_t card) {
    AppendSparse(ra, key, w, words, m, card);
  }
  void Rows(uint16_t key, const uint16_t* rows, int32_t n) {
    if (n == 0) return;
    array_container_t* c = array_container_create_given_capacity(n);
    if (c == nullptr) throw std::bad_alloc();
    std::memcpy(c->array, rows, sizeof(uint16_t) * static_cast<size_t>(n));
    c->cardinality = n;
    ra_append(ra, key, c, ARRAY_CONTAINER_TYPE_CODE);
  }
};

struct CountSink {
  static constexpr bool kWantsWords = false;
  uint64_t total = 0;
  void Dense(uint16_t, const uint64_t*, uint64_t card) { total += card; }
  void Sparse(uint16_t, const uint16_t*, const uint64_t*, int32_t, uint64_t card) { total += card; }
  void Rows(uint16_t, const uint16_t*, int32_t n) { total += static_cast<uint64_t>(n); }
};

}  // namespace

void Bsi::SetFusedChunksForTesting(bool enabled) { g_fused = enabled; }

void Bsi::SetSparseFiltersForTesting(bool enabled) {
  g_sparse_enabled = enabled;
  g_fast_seek = enabled;
}

Bitmap Bsi::Select(std::span<const Interval> intervals, const Bitmap* filter) const {
  Bitmap out;
  const auto biased = BiasIntervals(intervals, bits());
  if (biased.empty()) return out;
  AppendSink sink{&out.raw()->high_low_container};
  DriveSelect(existence_, sign_, slices_, biased, filter, sink,
              [this](uint16_t key, int32_t rows) { return CachedChunk(key, rows); });
  return out;
}

uint64_t Bsi::SelectCount(std::span<const Interval> intervals, const Bitmap* filter) const {
  const auto biased = BiasIntervals(intervals, bits());
  if (biased.empty()) return 0;
  CountSink sink;
  DriveSelect(existence_, sign_, slices_, biased, filter, sink,
              [this](uint16_t key, int32_t rows) { return CachedChunk(key, rows); });
  return sink.total;
}

// ---- aggregates in one pass ------------------------------------------------------

Bsi::Summary Bsi::Summarize(const Bitmap* filter, const Want& want) const {
  Summary out;
  if (filter == nullptr) {
    out.count = existence_.Cardinality();
    if (want.sum) out.sum = Sum(nullptr);
    if (out.count > 0 && want.min) out.min = Min(nullptr);
    if (out.count > 0 && want.max) out.max = Max(nullptr);
    return out;
  }
  if (!want.sum && !want.min && !want.max) {
    out.count = Count(filter);
    return out;
  }
  const Dispatch d = Active();
  const simd::OpTable& ops = simd::Ops();
  const int n_levels = bits() + 1;
  struct Buffers {
    alignas(64) uint64_t cand[kWords];
    alignas(64) uint64_t ex[kWords];
    alignas(64) uint64_t filter[kWords];
    alignas(64) uint64_t c0[kWords];
    alignas(64) uint64_t c1[kWords];
    uint16_t w[kWords];
  };
  auto buf = std::make_unique<Buffers>();
  std::unique_ptr<uint64_t[]> scratch(new uint64_t[static_cast<size_t>(n_levels) * kWords]);
  static const uint64_t kZero[kWords] = {};
  const roaring_array_t* ex = &existence_.raw()->high_low_container;
  const roaring_array_t* fr = &filter->raw()->high_low_container;
  // Level 0 is the top: the sign slice (its bit of the biased value is NOT
  // sign); level l is slice bits - l.
  std::vector<const roaring_array_t*> ras(static_cast<size_t>(n_levels));
  ras[0] = &sign_.raw()->high_low_container;
  for (int l = 1; l < n_levels; ++l) {
    ras[static_cast<size_t>(l)] =
        &slices_[static_cast<size_t>(bits() - l)].raw()->high_low_container;
  }
  std::vector<int32_t> cur(static_cast<size_t>(n_levels), 0);
  std::vector<const uint64_t*> words(static_cast<size_t>(n_levels));
  std::vector<uint64_t> level_counts(static_cast<size_t>(n_levels), 0);
  std::optional<uint64_t> best_max, best_min;  // biased
  Int128 gathered_sum = 0;                     // of the row-cache chunks
  const uint64_t* cand_of_chunk = buf->cand;   // the chunk's candidates (extreme's input)
  // The largest (smallest) biased value among the candidate words, or
  // nullopt when it cannot beat `best`.
  // `idx`: the packed words' positions of a sparse chunk (null: whole chunk).
  auto extreme = [&](int32_t nw, const uint16_t* idx, bool largest,
                     const std::optional<uint64_t>& best) -> std::optional<uint64_t> {
    uint64_t* c = buf->c0;
    uint64_t* t = buf->c1;
    std::memcpy(c, cand_of_chunk, sizeof(uint64_t) * static_cast<size_t>(nw));
    uint64_t u = 0;
    for (int l = 0; l < n_levels; ++l) {
      const uint64_t* s = words[static_cast<size_t>(l)];
      // Rows whose biased bit is 1 (largest) or 0 (smallest).
      const uint64_t flip = (l == 0) == largest ? ~uint64_t{0} : 0;
      uint64_t any = 0;
      if (idx != nullptr) {
        for (int32_t j = 0; j < nw; ++j) {
          t[j] = c[j] & (s[idx[j]] ^ flip);
          any |= t[j];
        }
      } else {
        for (int32_t j = 0; j < nw; ++j) {
          t[j] = c[j] & (s[j] ^ flip);
          any |= t[j];
        }
      }
      const int bit = bits() - l;
      if (any != 0) {
        std::swap(c, t);
        if (largest) u |= uint64_t{1} << bit;
      } else if (!largest) {
        u |= uint64_t{1} << bit;
      }
      if (best.has_value()) {
        const uint64_t mine = u >> bit, theirs = *best >> bit;
        if (largest ? mine < theirs : mine > theirs) return std::nullopt;
      }
    }
    return u;
  };
  int32_t ex_cur = 0;
  for (int32_t i = 0; i < fr->size; ++i) {
    const uint16_t key = fr->keys[i];
    const void* fc = fr->containers[i];
    uint8_t ft = fr->typecodes[i];
    Unwrap(&fc, &ft);
    uint8_t et = 0;
    const void* ec = Seek(ex, &ex_cur, key, &et);
    if (ec == nullptr) continue;
    if (UseRowCache(fc, ft, std::min(g_row_cache_max, 45 * (bits() + 2)))) {
      if (const Chunk* chunk =
              CachedChunk(key, static_cast<const array_container_t*>(fc)->cardinality)) {
        // Gather: each filter row's value from the row-major copy.
        const auto* a = static_cast<const array_container_t*>(fc);
        uint64_t n = 0;
        Int128 sum = 0;
        uint64_t hi = 0, lo = ~uint64_t{0};  // biased
        for (int32_t k = 0; k < a->cardinality; ++k) {
          const uint16_t x = a->array[k];
          if (((chunk->has[x >> 6] >> (x & 63)) & 1) == 0) continue;
          const int64_t v = chunk->values[x];
          ++n;
          sum += v;
          const uint64_t b = Bias(v, bits());
          hi = std::max(hi, b);
          lo = std::min(lo, b);
        }
        if (n == 0) continue;
        out.count += n;
        gathered_sum += sum;
        if (want.max && (!best_max || hi > *best_max)) best_max = hi;
        if (want.min && (!best_min || lo < *best_min)) best_min = lo;
        continue;
      }
    }
    int32_t nw = kWords;
    int32_t m = kWords + 1;
    const uint64_t* cand = buf->cand;
    if (MaybeSparse(fc, ft)) {
      m = SparseWords(static_cast<const array_container_t*>(fc), buf->w, buf->filter);
    }
    const uint16_t* idx = nullptr;
    if (m <= kSparseWords) {
      nw = m;
      idx = buf->w;
      Gather(ec, et, buf->w, m, buf->ex);
      for (int32_t j = 0; j < m; ++j) buf->cand[j] = buf->filter[j] & buf->ex[j];
      for (int l = 0; l < n_levels; ++l) {
        uint8_t t = 0;
        const void* sc = Seek(ras[static_cast<size_t>(l)], &cur[static_cast<size_t>(l)], key, &t);
        words[static_cast<size_t>(l)] =
            GatherAt(sc, t, buf->w, m, kZero, scratch.get() + static_cast<size_t>(l) * kWords);
      }
    } else {
      const uint64_t* fw = Words(fc, ft, buf->filter);
      if (g_fused && FullChunk(ec, et)) {
        cand = fw;  // no NULLs in the chunk: the filter's words are the candidates
      } else {
        const uint64_t* ew = Words(ec, et, buf->ex);
        ops.and_words(fw, ew, buf->cand, kWords);
      }
      for (int l = 0; l < n_levels; ++l) {
        uint8_t t = 0;
        const void* sc = Seek(ras[static_cast<size_t>(l)], &cur[static_cast<size_t>(l)], key, &t);
        words[static_cast<size_t>(l)] =
            sc != nullptr ? Words(sc, t, scratch.get() + static_cast<size_t>(l) * kWords) : kZero;
      }
    }
    const uint64_t n = d.popcount(cand, nw);
    if (n == 0) continue;
    cand_of_chunk = cand;
    out.count += n;
    if (want.sum) {
      for (int l = 0; l < n_levels; ++l) {
        const uint64_t* sw = words[static_cast<size_t>(l)];
        if (idx != nullptr) {
          // Packed, then one dispatched popcount; the next level's words
          // are requested meanwhile (the loads are scattered).
          if (l + 1 < n_levels) {
            const uint64_t* next = words[static_cast<size_t>(l + 1)];
            for (int32_t j = 0; j < nw; ++j) __builtin_prefetch(next + idx[j]);
          }
          for (int32_t j = 0; j < nw; ++j) buf->c0[j] = sw[idx[j]] & cand[j];
          level_counts[static_cast<size_t>(l)] += d.popcount(buf->c0, nw);
        } else {
          // One pass over the slice's words (AND + popcount fused in the
          // dispatched kernel: VPOPCNTQ / PSHUFB / POPCNT); the next
          // level's first lines are requested meanwhile.
          if (l + 1 < n_levels) {
            const uint64_t* next = words[static_cast<size_t>(l + 1)];
            for (int32_t k = 0; k < 64; k += 8) __builtin_prefetch(next + k);
          }
          level_counts[static_cast<size_t>(l)] += ops.and_popcount(sw, cand, nw);
        }
      }
    }
    if (want.max) {
      if (std::optional<uint64_t> u = extreme(nw, idx, true, best_max)) best_max = u;
    }
    if (want.min) {
      if (std::optional<uint64_t> u = extreme(nw, idx, false, best_min)) best_min = u;
    }
  }
  if (want.sum) {
    Int128 sum = 0;
    for (int l = 1; l < n_levels; ++l) {
      sum += static_cast<Int128>(level_counts[static_cast<size_t>(l)]) << (bits() - l);
    }
    sum -= static_cast<Int128>(level_counts[0]) << bits();
    out.sum = sum + gathered_sum;
  }
  const uint64_t bias = uint64_t{1} << bits();
  if (best_max) out.max = static_cast<int64_t>(*best_max - bias);
  if (best_min) out.min = static_cast<int64_t>(*best_min - bias);
  return out;
}

// ---- construction and mutation -----------------------------------------------------

Bsi Bsi::Copy() const {
  Bsi b;
  b.existence_ = existence_.Copy();
  b.sign_ = sign_.Copy();
  for (const Bitmap& s : slices_) b.slices_.push_back(s.Copy());
  // Share the built row-cache chunks (the copy drops its references to
  // those its changes touch).
  if (const RowCache* rc = cache_.load(std::memory_order_acquire)) {
    auto shared = std::make_unique<RowCache>(rc->size);
    for (size_t k = 0; k < rc->size; ++k) {
      shared->rent[k].store(rc->rent[k].load(std::memory_order_relaxed), std::memory_order_relaxed);
      Chunk* c = rc->slots[k].load(std::memory_order_acquire);
      if (c == nullptr) continue;
      c->refs.fetch_add(1, std::memory_order_relaxed);
      shared->slots[k].store(c, std::memory_order_relaxed);
    }
    b.cache_.store(shared.release(), std::memory_order_release);
  }
  return b;
}

int Bsi::BitsFor(int64_t v) {
  const uint64_t m = v >= 0 ? static_cast<uint64_t>(v) : ~static_cast<uint64_t>(v);
  return m == 0 ? 0 : 64 - __builtin_clzll(m);
}

void Bsi::Widen(int bits) {
  // Sign extension: a new top bit of a two's complement value equals its sign.
  while (static_cast<int>(slices_.size()) < bits) slices_.push_back(sign_.Copy());
}

Bsi Bsi::Build(std::span<const uint32_t> rows, std::span<const int64_t> values) {
  Bsi b;
  b.SetMany(rows, values);
  return b;
}

void Bsi::Set(uint32_t row, int64_t value) {
  DropCached({&row, 1});
  Widen(BitsFor(value));
  existence_.Add(row);
  if (value < 0) {
    sign_.Add(row);
  } else {
    sign_.Remove(row);
  }
  const uint64_t u = static_cast<uint64_t>(value);
  for (size_t i = 0; i < slices_.size(); ++i) {
    if ((u >> i) & 1) {
      slices_[i].Add(row);
    } else {
      slices_[i].Remove(row);
    }
  }
}

void Bsi::SetMany(std::span<const uint32_t> rows, std::span<const int64_t> values) {
  const size_t n = std::min(rows.size(), values.size());
  if (n == 0) return;
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return rows[a] < rows[b]; });
  // Keep the last of each run of equal rows (stable sort kept input order).
  std::vector<uint32_t> r;
  std::vector<int64_t> v;
  r.reserve(n);
  v.reserve(n);
  int need = 0;
  for (size_t k = 0; k < n; ++k) {
    const uint32_t i = order[k];
    if (k + 1 < n && rows[order[k + 1]] == rows[i]) continue;
    r.push_back(rows[i]);
    v.push_back(values[i]);
    need = std::max(need, BitsFor(values[i]));
  }
  DropCached(r);
  ClearMany(r);
  Widen(need);
  std::vector<uint32_t> ids;
  ids.reserve(r.size());
  auto add_where = [&](Bitmap& target, auto pred) {
    ids.clear();
    for (size_t k = 0; k < r.size(); ++k) {
      if (pred(static_cast<uint64_t>(v[k]))) ids.push_back(r[k]);
    }
    target.AddMany(ids);
  };
  existence_.AddMany(r);
  add_where(sign_, [](uint64_t u) { return (u >> 63) != 0; });
  for (size_t i = 0; i < slices_.size(); ++i) {
    add_where(slices_[i], [i](uint64_t u) { return ((u >> i) & 1) != 0; });
  }
}

void Bsi::Clear(uint32_t row) {
  if (!existence_.RemoveChecked(row)) return;
  DropCached({&row, 1});
  sign_.Remove(row);
  for (Bitmap& s : slices_) s.Remove(row);
}

void Bsi::ClearMany(std::span<const uint32_t> rows) {
  if (rows.empty() || existence_.IsEmpty()) return;
  DropCached(rows);
  existence_.RemoveMany(rows);
  sign_.RemoveMany(rows);
  for (Bitmap& s : slices_) s.RemoveMany(rows);
}

void Bsi::ClearBitmap(const Bitmap& rows) {
  if (!Bitmap::Intersects(existence_, rows)) return;
  DropCached(rows);
  existence_.AndNotInPlace(rows);
  sign_.AndNotInPlace(rows);
  for (Bitmap& s : slices_) s.AndNotInPlace(rows);
}

void Bsi::RunOptimize() {
  existence_.RunOptimize();
  sign_.RunOptimize();
  for (Bitmap& s : slices_) s.RunOptimize();
}

// ---- reads and aggregates -----------------------------------------------------------

std::optional<int64_t> Bsi::Get(uint32_t row) const {
  if (!existence_.Contains(row)) return std::nullopt;
  uint64_t u = 0;
  for (size_t i = 0; i < slices_.size(); ++i) {
    if (slices_[i].Contains(row)) u |= uint64_t{1} << i;
  }
  if (sign_.Contains(row)) u |= ~uint64_t{0} << slices_.size();  // sign-extend
  return static_cast<int64_t>(u);
}

uint64_t Bsi::Count(const Bitmap* filter) const {
  return filter == nullptr ? existence_.Cardinality() : Bitmap::AndCardinality(existence_, *filter);
}

size_t Bsi::SizeInBytes() const {
  size_t n = existence_.SizeInBytes() + sign_.SizeInBytes();
  for (const Bitmap& s : slices_) n += s.SizeInBytes();
  return n;
}

Int128 Bsi::Sum(const Bitmap* filter) const {
  // With a filter: Summarize's one pass per chunk (the candidates once,
  // one AND-popcount per slice; small filters on their words or the row
  // cache), not one AND-cardinality of each slice with the filter.
  if (filter != nullptr && g_fused) {
    return Summarize(filter, {.sum = true, .min = false, .max = false}).sum;
  }
  // Slices and sign are subsets of existence, so the filter alone restricts them.
  auto count = [&](const Bitmap& s) -> Int128 {
    return filter == nullptr ? s.Cardinality() : Bitmap::AndCardinality(s, *filter);
  };
  Int128 sum = 0;
  for (size_t i = 0; i < slices_.size(); ++i) sum += count(slices_[i]) << i;
  sum -= count(sign_) << slices_.size();
  return sum;
}

Bitmap Bsi::Candidates(const Bitmap* filter) const {
  return filter == nullptr ? existence_.Copy() : Bitmap::And(existence_, *filter);
}

Bitmap Bsi::WithBitClear(const Bitmap& c, int i) const {
  // Biased top bit = NOT sign: clear where the sign is set.
  if (i == bits()) return Bitmap::And(c, sign_);
  return Bitmap::AndNot(c, slices_[static_cast<size_t>(i)]);
}

std::optional<int64_t> Bsi::KthSmallest(uint64_t k, const Bitmap* filter) const {
  Bitmap c = Candidates(filter);
  if (k >= c.Cardinality()) return std::nullopt;
  uint64_t u = 0;
  for (int level = bits(); level >= 0; --level) {
    Bitmap zero = WithBitClear(c, level);
    const uint64_t z = zero.Cardinality();
    if (k < z) {
      c = std::move(zero);
    } else {
      k -= z;
      c.AndNotInPlace(zero);
      u |= uint64_t{1} << level;
    }
  }
  return static_cast<int64_t>(u - (uint64_t{1} << bits()));
}

std::optional<int64_t> Bsi::Min(const Bitmap* filter) const { return KthSmallest(0, filter); }

std::optional<int64_t> Bsi::Max(const Bitmap* filter) const {
  const uint64_t n = Count(filter);
  if (n == 0) return std::nullopt;
  return KthSmallest(n - 1, filter);
}

std::vector<std::pair<uint32_t, int64_t>> Bsi::TopK(uint64_t k, bool largest,
                                                    const Bitmap* filter) const {
  std::vector<std::pair<uint32_t, int64_t>> out;
  const uint64_t n = Count(filter);
  if (k == 0 || n == 0) return out;
  k = std::min(k, n);
  // The k-th best value is the threshold; everything strictly better is in,
  // then ties at the threshold by ascending row id.
  const int64_t t = *KthSmallest(largest ? n - k : k - 1, filter);
  Bitmap better;
  if (largest && t < INT64_MAX) {
    const Interval iv{t + 1, INT64_MAX};
    better = Select({&iv, 1}, filter);
  } else if (!largest && t > INT64_MIN) {
    const Interval iv{INT64_MIN, t - 1};
    better = Select({&iv, 1}, filter);
  }
  const Interval eq{t, t};
  Bitmap ties = Select({&eq, 1}, filter);
  std::vector<uint32_t> rows = better.ToVector();
  std::vector<uint32_t> tie_rows;
  ties.RangeToVector(0, k - rows.size(), &tie_rows);
  for (uint32_t r : rows) out.emplace_back(r, *Get(r));
  for (uint32_t r : tie_rows) out.emplace_back(r, t);
  std::sort(out.begin(), out.end(), [largest](const auto& a, const auto& b) {
    if (a.second != b.second) return largest ? a.second > b.second : a.second < b.second;
    return a.first < b.first;
  });
  return out;
}

std::vector<uint64_t> Bsi::Histogram(std::span<const int64_t> bounds, const Bitmap* filter) const {
  std::vector<uint64_t> out;
  for (size_t j = 0; j + 1 < bounds.size(); ++j) {
    if (bounds[j + 1] <= bounds[j]) {
      out.push_back(0);
      continue;
    }
    const Interval iv{bounds[j], bounds[j + 1] - 1};
    out.push_back(SelectCount({&iv, 1}, filter));
  }
  return out;
}

// ---- serialisation -----------------------------------------------------------------

void Bsi::Serialize(std::string* out) const {
  const uint32_t b = static_cast<uint32_t>(slices_.size());
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((b >> (8 * i)) & 0xff));
  auto put = [&](const Bitmap& bm) {
    PutU64(out, bm.PortableSizeInBytes());
    bm.PortableSerialize(out);
  };
  put(existence_);
  put(sign_);
  for (const Bitmap& s : slices_) put(s);
}

absl::StatusOr<Bsi> Bsi::Deserialize(std::span<const char> data) {
  if (data.size() < 4)
    return util::CorruptFile("attribute column", std::nullopt,
                             "attribute column: truncated header");
  uint32_t b = 0;
  for (int i = 0; i < 4; ++i)
    b |= uint32_t{static_cast<uint8_t>(data[static_cast<size_t>(i)])} << (8 * i);
  if (b > 63) {
    return util::CorruptFile("attribute column", std::nullopt,
                             absl::StrCat("attribute column: ", b, " value bits (at most 63)"));
  }
  size_t pos = 4;
  auto get = [&](const char* what) -> absl::StatusOr<Bitmap> {
    if (data.size() - pos < 8) {
      return util::CorruptFile("attribute column", std::nullopt,
                               absl::StrCat("attribute column: truncated at ", what));
    }
    const uint64_t len = GetU64(data.data() + pos);
    pos += 8;
    if (len > data.size() - pos) {
      return util::CorruptFile(
          "attribute column", std::nullopt,
          absl::StrCat("attribute column: ", what, " length ", len, " past the end"));
    }
    absl::StatusOr<Bitmap> bm = Bitmap::PortableDeserialize(data.subspan(pos, len));
    pos += len;
    if (!bm.ok()) {
      return util::CorruptFile(
          "attribute column", std::nullopt,
          absl::StrCat("attribute column: ", what, ": ", bm.status().message()));
    }
    return bm;
  };
  Bsi out;
  absl::StatusOr<Bitmap> e = get("existence bitmap");
  if (!e.ok()) return e.status();
  out.existence_ = *std::move(e);
  absl::StatusOr<Bitmap> s = get("sign bitmap");
  if (!s.ok()) return s.status();
  out.sign_ = *std::move(s);
  if (!out.sign_.IsSubsetOf(out.existence_)) {
    return util::CorruptFile("attribute column", std::nullopt,
                             "attribute column: sign bitmap has rows without a value");
  }
  for (uint32_t i = 0; i < b; ++i) {
    absl::StatusOr<Bitmap> sl = get("slice");
    if (!sl.ok()) return sl.status();
    if (!sl->IsSubsetOf(out.existence_)) {
      return util::CorruptFile(
          "attribute column", std::nullopt,
          absl::StrCat("attribute column: slice ", i, " has rows without a value"));
    }
    out.slices_.push_back(*std::move(sl));
  }
  if (pos != data.size()) {
    return util::CorruptFile(
        "attribute column", std::nullopt,
        absl::StrCat("attribute column: ", data.size() - pos, " trailing bytes"));
  }
  return out;
}

}  // namespace tagindex
