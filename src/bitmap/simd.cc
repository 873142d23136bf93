#include "bitmap/simd.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TAGINDEX_X86 1
#endif

namespace tagindex::simd {
namespace {

// ---- portable scalar ------------------------------------------------------------------
// __builtin_popcountll without a target attribute is a libgcc call on
// baseline x86-64: correct everywhere, slow. It is the reference path.

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
uint64_t AndNotPopcountScalar(const uint64_t* a, const uint64_t* b, int32_t n) {
  uint64_t c = 0;
  for (int32_t i = 0; i < n; ++i) c += static_cast<uint64_t>(__builtin_popcountll(a[i] & ~b[i]));
  return c;
}
void AndWordsScalar(const uint64_t* a, const uint64_t* b, uint64_t* out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) out[i] = a[i] & b[i];
}
void AndNotWordsScalar(const uint64_t* a, const uint64_t* b, uint64_t* out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) out[i] = a[i] & ~b[i];
}
void OrWordsScalar(const uint64_t* a, uint64_t* out, int32_t n) {
  for (int32_t i = 0; i < n; ++i) out[i] |= a[i];
}

// Branch-free merge.
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

#ifdef TAGINDEX_X86
// ---- SSE4.2 + POPCNT ------------------------------------------------------------------

#define TI_POPCNT_FUNCS(SUFFIX, TARGET)                                                     \
  __attribute__((target(TARGET))) uint64_t Popcount##SUFFIX(const uint64_t* w, int32_t n) { \
    uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;                                                \
    int32_t i = 0;                                                                          \
    for (; i + 4 <= n; i += 4) {                                                            \
      c0 += static_cast<uint64_t>(__builtin_popcountll(w[i]));                              \
      c1 += static_cast<uint64_t>(__builtin_popcountll(w[i + 1]));                          \
      c2 += static_cast<uint64_t>(__builtin_popcountll(w[i + 2]));                          \
      c3 += static_cast<uint64_t>(__builtin_popcountll(w[i + 3]));                          \
    }                                                                                       \
    for (; i < n; ++i) c0 += static_cast<uint64_t>(__builtin_popcountll(w[i]));             \
    return c0 + c1 + c2 + c3;                                                               \
  }

TI_POPCNT_FUNCS(Sse42, "popcnt")

__attribute__((target("popcnt"))) uint64_t AndPopcountSse42(const uint64_t* a, const uint64_t* b,
                                                            int32_t n) {
  uint64_t c0 = 0, c1 = 0;
  int32_t i = 0;
  for (; i + 2 <= n; i += 2) {
    c0 += static_cast<uint64_t>(__builtin_popcountll(a[i] & b[i]));
    c1 += static_cast<uint64_t>(__builtin_popcountll(a[i + 1] & b[i + 1]));
  }
  for (; i < n; ++i) c0 += static_cast<uint64_t>(__builtin_popcountll(a[i] & b[i]));
  return c0 + c1;
}
__attribute__((target("popcnt"))) uint64_t AndNotPopcountSse42(const uint64_t* a, const uint64_t* b,
                                                               int32_t n) {
  uint64_t c0 = 0, c1 = 0;
  int32_t i = 0;
  for (; i + 2 <= n; i += 2) {
    c0 += static_cast<uint64_t>(__builtin_popcountll(a[i] & ~b[i]));
    c1 += static_cast<uint64_t>(__builtin_popcountll(a[i + 1] & ~b[i + 1]));
  }
  for (; i < n; ++i) c0 += static_cast<uint64_t>(__builtin_popcountll(a[i] & ~b[i]));
  return c0 + c1;
}

// Output of the block merges: entry m of the table is the PSHUFB control
// that packs the uint16 lanes whose bit is set in m to the front.
struct PackTable {
  alignas(16) uint8_t t[256][16];
  constexpr PackTable() : t{} {
    for (int m = 0; m < 256; ++m) {
      int k = 0;
      for (int lane = 0; lane < 8; ++lane) {
        if ((m >> lane) & 1) {
          t[m][k++] = static_cast<uint8_t>(2 * lane);
          t[m][k++] = static_cast<uint8_t>(2 * lane + 1);
        }
      }
      for (; k < 16; ++k) t[m][k] = 0x80;
    }
  }
};
constexpr PackTable kPack;

// Compares blocks of eight uint16 with one PCMPISTRM: bit k of the mask says
// whether b[j + k] equals any of a[i .. i + 7]. The block whose maximum is
// smaller advances (both on a tie), so every pair of overlapping blocks is
// compared exactly once and the output stays sorted. The implicit-length
// compare (PCMPISTRM, 3 uops) is much cheaper than the explicit-length one
// (PCMPESTRM, 8-9 uops, what this merge used before) but stops at a 0
// element, which a sorted set can only have first: a leading 0 is settled
// before the loop. The advance is a branch, not a select: measured against
// a branch-free variant (both blocks reloaded every step) on 16-320 pairs of
// 330-3300-element arrays, the branchy loop was 5-35 % faster even on fresh
// data (the select makes the next loads wait for the compare; the branch
// lets them start speculatively) and up to 1.6x faster on repeated queries.
// With an output, each block's matches are packed by PSHUFB and stored 8
// lanes at a time (so `out` needs room for min(na, nb) + 16 elements, as
// simd.h says).
template <bool kOut>
__attribute__((target("sse4.2,popcnt"))) inline int32_t MergeSse42(const uint16_t* a, int32_t na,
                                                                   const uint16_t* b, int32_t nb,
                                                                   uint16_t* out) {
  int32_t n = 0;
  if (na == 0 || nb == 0) return 0;
  if (a[0] == 0 || b[0] == 0) {
    if (a[0] == 0 && b[0] == 0) {
      if (kOut) out[0] = 0;
      n = 1;
    }
    if (a[0] == 0) ++a, --na;
    if (b[0] == 0) ++b, --nb;
  }
  int32_t i = 0, j = 0;
  const int32_t sa = na & ~7, sb = nb & ~7;
  constexpr int kMode = _SIDD_UWORD_OPS | _SIDD_CMP_EQUAL_ANY | _SIDD_BIT_MASK;
  if (sa != 0 && sb != 0) {
    __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
    __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    for (;;) {
      const unsigned mask = static_cast<unsigned>(_mm_cvtsi128_si32(_mm_cmpistrm(va, vb, kMode)));
      if (kOut) {
        const __m128i ctl = _mm_load_si128(reinterpret_cast<const __m128i*>(kPack.t[mask]));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n), _mm_shuffle_epi8(vb, ctl));
      }
      n += __builtin_popcount(mask);
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
    if (kOut) out[n] = x;
    n += x == y;
    i += x <= y;
    j += y <= x;
  }
  return n;
}

__attribute__((target("sse4.2,popcnt"))) int32_t IntersectSse42(const uint16_t* a, int32_t na,
                                                                const uint16_t* b, int32_t nb,
                                                                uint16_t* out) {
  return out != nullptr ? MergeSse42<true>(a, na, b, nb, out)
                        : MergeSse42<false>(a, na, b, nb, nullptr);
}

// ---- AVX2 -----------------------------------------------------------------------------
// Popcount by nibble lookup (PSHUFB) summed with PSADBW: the Mula method.

__attribute__((target("avx2"))) inline __m256i Popcnt256(__m256i v) {
  const __m256i lookup = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                                          2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_and_si256(v, low);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  const __m256i bytes =
      _mm256_add_epi8(_mm256_shuffle_epi8(lookup, lo), _mm256_shuffle_epi8(lookup, hi));
  return _mm256_sad_epu8(bytes, _mm256_setzero_si256());
}

__attribute__((target("avx2,popcnt"))) inline uint64_t Sum256(__m256i acc) {
  return static_cast<uint64_t>(_mm256_extract_epi64(acc, 0)) +
         static_cast<uint64_t>(_mm256_extract_epi64(acc, 1)) +
         static_cast<uint64_t>(_mm256_extract_epi64(acc, 2)) +
         static_cast<uint64_t>(_mm256_extract_epi64(acc, 3));
}

// kOp: 0 = a, 1 = a & b, 2 = a & ~b.
template <int kOp>
__attribute__((target("avx2,popcnt"))) uint64_t CountAvx2(const uint64_t* a, const uint64_t* b,
                                                          int32_t n) {
  __m256i acc = _mm256_setzero_si256();
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    if constexpr (kOp == 1) {
      v = _mm256_and_si256(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)));
    } else if constexpr (kOp == 2) {
      v = _mm256_andnot_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i)), v);
    }
    acc = _mm256_add_epi64(acc, Popcnt256(v));
  }
  uint64_t c = Sum256(acc);
  for (; i < n; ++i) {
    uint64_t x = a[i];
    if constexpr (kOp == 1) x &= b[i];
    if constexpr (kOp == 2) x &= ~b[i];
    c += static_cast<uint64_t>(__builtin_popcountll(x));
  }
  return c;
}
uint64_t PopcountAvx2(const uint64_t* w, int32_t n) { return CountAvx2<0>(w, nullptr, n); }
uint64_t AndPopcountAvx2(const uint64_t* a, const uint64_t* b, int32_t n) {
  return CountAvx2<1>(a, b, n);
}
uint64_t AndNotPopcountAvx2(const uint64_t* a, const uint64_t* b, int32_t n) {
  return CountAvx2<2>(a, b, n);
}

// kOp: 1 = and, 2 = andnot, 3 = or into out.
template <int kOp>
__attribute__((target("avx2"))) void WordsAvx2(const uint64_t* a, const uint64_t* b, uint64_t* out,
                                               int32_t n) {
  int32_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    __m256i r;
    if constexpr (kOp == 1) r = _mm256_and_si256(va, vb);
    if constexpr (kOp == 2) r = _mm256_andnot_si256(vb, va);
    if constexpr (kOp == 3) r = _mm256_or_si256(va, vb);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), r);
  }
  for (; i < n; ++i) {
    if constexpr (kOp == 1) out[i] = a[i] & b[i];
    if constexpr (kOp == 2) out[i] = a[i] & ~b[i];
    if constexpr (kOp == 3) out[i] = a[i] | b[i];
  }
}
void AndWordsAvx2(const uint64_t* a, const uint64_t* b, uint64_t* out, int32_t n) {
  WordsAvx2<1>(a, b, out, n);
}
void AndNotWordsAvx2(const uint64_t* a, const uint64_t* b, uint64_t* out, int32_t n) {
  WordsAvx2<2>(a, b, out, n);
}
void OrWordsAvx2(const uint64_t* a, uint64_t* out, int32_t n) { WordsAvx2<3>(out, a, out, n); }

// ---- AVX-512 (F + VPOPCNTDQ) ---------------------------------------------------------------

template <int kOp>
__attribute__((target("avx512f,avx512vpopcntdq,popcnt"))) uint64_t CountAvx512(const uint64_t* a,
                                                                               const uint64_t* b,
                                                                               int32_t n) {
  __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
  int32_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i v0 = _mm512_loadu_si512(a + i), v1 = _mm512_loadu_si512(a + i + 8);
    if constexpr (kOp == 1) {
      v0 = _mm512_and_si512(v0, _mm512_loadu_si512(b + i));
      v1 = _mm512_and_si512(v1, _mm512_loadu_si512(b + i + 8));
    } else if constexpr (kOp == 2) {
      // GCC vector operators: GCC 12's _mm512_andnot_si512 warns about its
      // own undefined pass-through operand.
      v0 = v0 & ~_mm512_loadu_si512(b + i);
      v1 = v1 & ~_mm512_loadu_si512(b + i + 8);
    }
    acc0 = _mm512_add_epi64(acc0, _mm512_popcnt_epi64(v0));
    acc1 = _mm512_add_epi64(acc1, _mm512_popcnt_epi64(v1));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(acc0, acc1));
  uint64_t c = 0;
  for (uint64_t lane : lanes) c += lane;
  for (; i < n; ++i) {
    uint64_t x = a[i];
    if constexpr (kOp == 1) x &= b[i];
    if constexpr (kOp == 2) x &= ~b[i];
    c += static_cast<uint64_t>(__builtin_popcountll(x));
  }
  return c;
}
uint64_t PopcountAvx512(const uint64_t* w, int32_t n) { return CountAvx512<0>(w, nullptr, n); }
uint64_t AndPopcountAvx512(const uint64_t* a, const uint64_t* b, int32_t n) {
  return CountAvx512<1>(a, b, n);
}
uint64_t AndNotPopcountAvx512(const uint64_t* a, const uint64_t* b, int32_t n) {
  return CountAvx512<2>(a, b, n);
}

template <int kOp>
__attribute__((target("avx512f"))) void WordsAvx512(const uint64_t* a, const uint64_t* b,
                                                    uint64_t* out, int32_t n) {
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512i va = _mm512_loadu_si512(a + i), vb = _mm512_loadu_si512(b + i);
    __m512i r;
    if constexpr (kOp == 1) r = _mm512_and_si512(va, vb);
    if constexpr (kOp == 2) r = va & ~vb;
    if constexpr (kOp == 3) r = _mm512_or_si512(va, vb);
    _mm512_storeu_si512(out + i, r);
  }
  for (; i < n; ++i) {
    if constexpr (kOp == 1) out[i] = a[i] & b[i];
    if constexpr (kOp == 2) out[i] = a[i] & ~b[i];
    if constexpr (kOp == 3) out[i] = a[i] | b[i];
  }
}
void AndWordsAvx512(const uint64_t* a, const uint64_t* b, uint64_t* out, int32_t n) {
  WordsAvx512<1>(a, b, out, n);
}
void AndNotWordsAvx512(const uint64_t* a, const uint64_t* b, uint64_t* out, int32_t n) {
  WordsAvx512<2>(a, b, out, n);
}
void OrWordsAvx512(const uint64_t* a, uint64_t* out, int32_t n) { WordsAvx512<3>(out, a, out, n); }

#endif  // TAGINDEX_X86

constexpr OpTable kScalar = {PopcountScalar,  AndPopcountScalar, AndNotPopcountScalar,
                             AndWordsScalar,  AndNotWordsScalar, OrWordsScalar,
                             IntersectScalar, Level::kScalar,    "scalar"};
#ifdef TAGINDEX_X86
constexpr OpTable kSse42 = {PopcountSse42,  AndPopcountSse42,  AndNotPopcountSse42,
                            AndWordsScalar, AndNotWordsScalar, OrWordsScalar,
                            IntersectSse42, Level::kSse42,     "sse4.2"};
constexpr OpTable kAvx2 = {PopcountAvx2,   AndPopcountAvx2, AndNotPopcountAvx2,
                           AndWordsAvx2,   AndNotWordsAvx2, OrWordsAvx2,
                           IntersectSse42, Level::kAvx2,    "avx2"};
constexpr OpTable kAvx512 = {PopcountAvx512, AndPopcountAvx512, AndNotPopcountAvx512,
                             AndWordsAvx512, AndNotWordsAvx512, OrWordsAvx512,
                             IntersectSse42, Level::kAvx512,    "avx512"};
#endif

const OpTable* TableFor(Level level) {
#ifdef TAGINDEX_X86
  switch (level) {
    case Level::kAvx512:
      return &kAvx512;
    case Level::kAvx2:
      return &kAvx2;
    case Level::kSse42:
      return &kSse42;
    case Level::kScalar:
      return &kScalar;
  }
#else
  (void)level;
#endif
  return &kScalar;
}

Level Detect() {
#ifdef TAGINDEX_X86
  __builtin_cpu_init();
  const bool sse = __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("popcnt");
  if (!sse) return Level::kScalar;
  if (!__builtin_cpu_supports("avx2")) return Level::kSse42;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")) {
    return Level::kAvx512;
  }
  return Level::kAvx2;
#else
  return Level::kScalar;
#endif
}

// The start-up choice: the best level, capped by TAGINDEX_SIMD.
Level StartupLevel() {
  const Level best = BestSupportedLevel();
  const char* env = std::getenv("TAGINDEX_SIMD");
  if (env == nullptr || *env == '\0') return best;
  const std::optional<Level> want = ParseLevel(env);
  if (!want) {
    std::fprintf(stderr,
                 "tagindex: TAGINDEX_SIMD=%s is not one of avx512, avx2, sse4.2, scalar; "
                 "using %s\n",
                 env, LevelName(best));
    return best;
  }
  if (*want > best) {
    std::fprintf(stderr, "tagindex: TAGINDEX_SIMD=%s is not supported by this CPU; using %s\n", env,
                 LevelName(best));
    return best;
  }
  return *want;
}

std::atomic<const OpTable*> g_table{nullptr};

const OpTable* StartupTable() {
  static const OpTable* const table = TableFor(StartupLevel());
  return table;
}

}  // namespace

const OpTable& Ops() {
  const OpTable* t = g_table.load(std::memory_order_relaxed);
  if (t == nullptr) {
    t = StartupTable();
    g_table.store(t, std::memory_order_relaxed);
  }
  return *t;
}

Level ActiveLevel() { return Ops().level; }

Level BestSupportedLevel() {
  static const Level best = Detect();
  return best;
}

const char* LevelName(Level level) { return TableFor(level)->name; }

std::optional<Level> ParseLevel(std::string_view name) {
  if (name == "avx512") return Level::kAvx512;
  if (name == "avx2") return Level::kAvx2;
  if (name == "sse4.2" || name == "sse42") return Level::kSse42;
  if (name == "scalar" || name == "baseline") return Level::kScalar;
  return std::nullopt;
}

bool SetLevelForTesting(Level level) {
  if (level > BestSupportedLevel()) return false;
  g_table.store(TableFor(level), std::memory_order_relaxed);
  return true;
}

void ResetLevelForTesting() { g_table.store(StartupTable(), std::memory_order_relaxed); }

}  // namespace tagindex::simd
