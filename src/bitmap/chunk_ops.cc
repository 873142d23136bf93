#include "bitmap/chunk_ops.h"

#include <algorithm>
#include <cstring>

namespace tagindex::kernels {
namespace {

inline bool TestBit(const uint64_t* w, uint16_t x) { return (w[x >> 6] >> (x & 63)) & 1; }
inline uint32_t RunEnd(const Run& r) { return uint32_t{r.start} + r.length; }

using simd::Gallop;

// For very different sizes: search the small side in the large one.
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

// The array band: scatter the smaller array into the zeroed scratch bitset,
// test every element of the larger one (branch-free), clear what was set.
int32_t IntersectScratch(const uint16_t* small, int32_t ns, const uint16_t* large, int32_t nl,
                         uint16_t* out, uint64_t* scratch) {
  for (int32_t i = 0; i < ns; ++i) scratch[small[i] >> 6] |= uint64_t{1} << (small[i] & 63);
  int32_t n = 0;
  if (out != nullptr) {
    for (int32_t j = 0; j < nl; ++j) {
      out[n] = large[j];
      n += static_cast<int32_t>(TestBit(scratch, large[j]));
    }
  } else {
    for (int32_t j = 0; j < nl; ++j) n += static_cast<int32_t>(TestBit(scratch, large[j]));
  }
  for (int32_t i = 0; i < ns; ++i) scratch[small[i] >> 6] = 0;
  return n;
}

bool RunsContain(const Run* runs, int32_t nr, uint16_t x) {
  // Last run starting at or before x.
  int32_t lo = 0, hi = nr;
  while (lo < hi) {
    const int32_t mid = (lo + hi) / 2;
    if (runs[mid].start <= x) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo > 0 && x <= RunEnd(runs[lo - 1]);
}

bool ViewContains(const View& v, uint16_t x) {
  switch (v.kind) {
    case Kind::kArray:
      return std::binary_search(v.array, v.array + v.n, x);
    case Kind::kBitset:
      return TestBit(v.bits, x);
    case Kind::kRuns:
      return RunsContain(v.runs, v.n, x);
  }
  return false;
}

// Elements of `a` inside (kInside) or outside the runs; count only when out
// is null. Few runs against many elements (a cohort tag against a uniform
// one: one run per chunk against 1,500 ids) gallop to each run's ends and
// copy or count the stretch between them, so the cost is per run, not per
// element; otherwise one merge pass.
template <bool kInside>
int32_t FilterByRuns(const uint16_t* a, int32_t n, const Run* runs, int32_t nr, uint16_t* out) {
  if (int64_t{nr} * 4 < n) {
    int32_t i = 0, m = 0;
    auto take = [&](int32_t from, int32_t to) {
      if (out != nullptr) {
        std::memcpy(out + m, a + from, sizeof(uint16_t) * static_cast<size_t>(to - from));
      }
      m += to - from;
    };
    for (int32_t k = 0; k < nr && i < n; ++k) {
      const int32_t lo = Gallop(a, i, n, runs[k].start);  // first >= start
      if (!kInside) take(i, lo);
      const uint32_t end = RunEnd(runs[k]);
      const int32_t hi = end >= 0xFFFF ? n : Gallop(a, lo, n, static_cast<uint16_t>(end + 1));
      if (kInside) take(lo, hi);
      i = hi;
    }
    if (!kInside) take(i, n);
    return m;
  }
  int32_t k = 0, m = 0;
  for (int32_t i = 0; i < n; ++i) {
    const uint16_t x = a[i];
    while (k < nr && RunEnd(runs[k]) < x) ++k;
    const bool in = k < nr && runs[k].start <= x;
    if (out != nullptr) out[m] = x;
    m += static_cast<int32_t>(in == kInside);
  }
  return m;
}

// Intersection / difference of two run lists; returns the number of runs and
// adds the ids to *card. The output is canonical (no adjacent runs): every
// output run lies inside one run of `a`, separated by a gap of `a` or of `b`.
int32_t RunsAnd(const Run* a, int32_t na, const Run* b, int32_t nb, Run* out, int32_t* card) {
  int32_t i = 0, j = 0, n = 0, c = 0;
  while (i < na && j < nb) {
    const uint32_t lo = std::max(a[i].start, b[j].start);
    const uint32_t ea = RunEnd(a[i]), eb = RunEnd(b[j]);
    const uint32_t hi = std::min(ea, eb);
    if (lo <= hi) {
      out[n++] = {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi - lo)};
      c += static_cast<int32_t>(hi - lo + 1);
    }
    i += ea <= eb;
    j += eb <= ea;
  }
  *card = c;
  return n;
}

uint64_t RunsAndCount(const Run* a, int32_t na, const Run* b, int32_t nb) {
  int32_t i = 0, j = 0;
  uint64_t c = 0;
  while (i < na && j < nb) {
    const uint32_t lo = std::max(a[i].start, b[j].start);
    const uint32_t ea = RunEnd(a[i]), eb = RunEnd(b[j]);
    const uint32_t hi = std::min(ea, eb);
    if (lo <= hi) c += hi - lo + 1;
    i += ea <= eb;
    j += eb <= ea;
  }
  return c;
}

int32_t RunsAndNot(const Run* a, int32_t na, const Run* b, int32_t nb, Run* out, int32_t* card) {
  int32_t j = 0, n = 0, c = 0;
  for (int32_t i = 0; i < na; ++i) {
    uint32_t start = a[i].start;
    const uint32_t end = RunEnd(a[i]);
    while (j < nb && RunEnd(b[j]) < start) ++j;
    int32_t k = j;
    while (k < nb && b[k].start <= end) {
      if (b[k].start > start) {
        out[n++] = {static_cast<uint16_t>(start), static_cast<uint16_t>(b[k].start - 1 - start)};
        c += static_cast<int32_t>(b[k].start - start);
      }
      start = RunEnd(b[k]) + 1;
      if (RunEnd(b[k]) >= end) break;
      ++k;
    }
    if (start <= end) {
      out[n++] = {static_cast<uint16_t>(start), static_cast<uint16_t>(end - start)};
      c += static_cast<int32_t>(end - start + 1);
    }
  }
  *card = c;
  return n;
}

// Runs minus the elements of a sorted array (splits runs).
int32_t RunsAndNotArray(const Run* a, int32_t na, const uint16_t* b, int32_t nb, Run* out,
                        int32_t* card) {
  int32_t j = 0, n = 0, c = 0;
  for (int32_t i = 0; i < na; ++i) {
    uint32_t start = a[i].start;
    const uint32_t end = RunEnd(a[i]);
    j = Gallop(b, j, nb, static_cast<uint16_t>(start));
    while (j < nb && b[j] <= end) {
      if (b[j] > start) {
        out[n++] = {static_cast<uint16_t>(start), static_cast<uint16_t>(b[j] - 1 - start)};
        c += static_cast<int32_t>(b[j] - start);
      }
      start = uint32_t{b[j]} + 1;
      ++j;
    }
    if (start <= end) {
      out[n++] = {static_cast<uint16_t>(start), static_cast<uint16_t>(end - start)};
      c += static_cast<int32_t>(end - start + 1);
    }
  }
  *card = c;
  return n;
}

// Bits of `src` (negated when kNegate) restricted to the runs, appended as a
// sorted array to `out`; returns the count.
template <bool kNegate>
int32_t ExtractInRuns(const uint64_t* src, const Run* runs, int32_t nr, uint16_t* out) {
  int32_t n = 0;
  for (int32_t k = 0; k < nr; ++k) {
    const uint32_t lo = runs[k].start, hi = RunEnd(runs[k]);
    for (uint32_t wi = lo >> 6; wi <= hi >> 6; ++wi) {
      uint64_t word = kNegate ? ~src[wi] : src[wi];
      if (wi == lo >> 6) word &= ~uint64_t{0} << (lo & 63);
      if (wi == hi >> 6) word &= ~uint64_t{0} >> (63 - (hi & 63));
      for (; word != 0; word &= word - 1) {
        out[n++] = static_cast<uint16_t>(wi * 64 + static_cast<uint32_t>(__builtin_ctzll(word)));
      }
    }
  }
  return n;
}

// words := src (negated when kNegate) restricted to the runs. `words` may
// be `src`.
template <bool kNegate>
void MaskToRuns(const uint64_t* src, const Run* runs, int32_t nr, uint64_t* words) {
  uint32_t next = 0;  // first bit not yet written
  for (int32_t k = 0; k < nr; ++k) {
    const uint32_t lo = runs[k].start, hi = RunEnd(runs[k]);
    if (lo > next) ClearBitRange(words, next, lo - 1);
    const uint32_t first = lo >> 6, last = hi >> 6;
    for (uint32_t wi = first; wi <= last; ++wi) {
      uint64_t word = kNegate ? ~src[wi] : src[wi];
      uint64_t mask = ~uint64_t{0};
      if (wi == first) mask &= ~uint64_t{0} << (lo & 63);
      if (wi == last) mask &= ~uint64_t{0} >> (63 - (hi & 63));
      // Bits of this word below lo (already written by an earlier run or
      // cleared) are kept.
      words[wi] = (words[wi] & ~mask) | (word & mask);
    }
    next = hi + 1;
  }
  if (next <= 0xFFFF) ClearBitRange(words, next, 0xFFFF);
}

// The OR of the arms into scratch (all zero before); returns true if the
// cheapest way to clear it again is a memset.
bool BuildUnion(uint64_t* scratch, std::span<const View> arms, const simd::OpTable& ops) {
  int64_t touched = 0;
  bool any_bitset = false;
  for (const View& v : arms) {
    switch (v.kind) {
      case Kind::kArray:
        for (int32_t i = 0; i < v.n; ++i) {
          scratch[v.array[i] >> 6] |= uint64_t{1} << (v.array[i] & 63);
        }
        touched += v.n;
        break;
      case Kind::kBitset:
        ops.or_words(v.bits, scratch, kWords);
        any_bitset = true;
        break;
      case Kind::kRuns:
        for (int32_t k = 0; k < v.n; ++k) SetBitRange(scratch, v.runs[k].start, RunEnd(v.runs[k]));
        touched += int64_t{v.card} / 64 + v.n;
        break;
    }
  }
  return any_bitset || touched > kWords / 2;
}

void ClearUnion(uint64_t* scratch, std::span<const View> arms, bool memset_it) {
  if (memset_it) {
    std::memset(scratch, 0, sizeof(uint64_t) * kWords);
    return;
  }
  for (const View& v : arms) {
    if (v.kind == Kind::kArray) {
      for (int32_t i = 0; i < v.n; ++i) scratch[v.array[i] >> 6] = 0;
    } else {
      for (int32_t k = 0; k < v.n; ++k) ClearBitRange(scratch, v.runs[k].start, RunEnd(v.runs[k]));
    }
  }
}

// Probing each element of a small array in every arm beats building the
// union when the array is this much smaller than the arms together.
bool ProbeArms(const Work& w, std::span<const View> arms) {
  if (w.kind != Kind::kArray) return false;
  int64_t total = 0;
  for (const View& v : arms) total += v.card;
  return int64_t{w.n} * static_cast<int64_t>(arms.size()) * 8 < total;
}

}  // namespace

Work::Work() {
  std::memset(scratch, 0, sizeof(scratch));
  std::memset(abuf, 0, sizeof(abuf));  // SIMD reads past n see defined values
}

void ClearBitRange(uint64_t* w, uint32_t lo, uint32_t hi) {
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

uint64_t CountBitRange(const uint64_t* w, uint32_t lo, uint32_t hi, const simd::OpTable& ops) {
  const uint32_t first = lo >> 6, last = hi >> 6;
  const uint64_t lo_mask = ~uint64_t{0} << (lo & 63);
  const uint64_t hi_mask = ~uint64_t{0} >> (63 - (hi & 63));
  if (first == last) {
    const uint64_t word = w[first] & lo_mask & hi_mask;
    return ops.popcount(&word, 1);
  }
  const uint64_t ends[2] = {w[first] & lo_mask, w[last] & hi_mask};
  uint64_t c = ops.popcount(ends, 2);
  if (last > first + 1) c += ops.popcount(w + first + 1, static_cast<int32_t>(last - first - 1));
  return c;
}

int32_t RunsInBitset(const uint64_t* w, const simd::OpTable& ops) {
  // A run starts at every set bit whose predecessor is clear.
  uint64_t starts[64];
  uint64_t total = 0;
  uint64_t carry = 0;
  for (int32_t base = 0; base < kWords; base += 64) {
    for (int32_t i = 0; i < 64; ++i) {
      const uint64_t x = w[base + i];
      starts[i] = x & ~((x << 1) | carry);
      carry = x >> 63;
    }
    total += ops.popcount(starts, 64);
  }
  return static_cast<int32_t>(total);
}

int32_t RunsInArray(const uint16_t* a, int32_t n) {
  if (n == 0) return 0;
  int32_t runs = 1;
  for (int32_t i = 1; i < n; ++i) runs += static_cast<int32_t>(a[i] != a[i - 1] + 1);
  return runs;
}

int32_t IntersectArrays(const uint16_t* a, int32_t na, const uint16_t* b, int32_t nb, uint16_t* out,
                        uint64_t* scratch, const simd::OpTable& ops) {
  if (na > nb) {
    std::swap(a, b);
    std::swap(na, nb);
  }
  if (na == 0) return 0;
  if (int64_t{na} * 32 < nb) return IntersectGallop(a, na, b, nb, out);
  // Measured (bench/kernels_benchmark's array band and same-run
  // per-kernel timings on 64-3277-element pairs): the branch-free SIMD block
  // merges beat the scatter/test through a scratch bitset at every size
  // (2-2.5x), but the scalar merge, one element per loop-carried step, loses
  // to it from a few dozen elements on.
  if (ops.level == simd::Level::kScalar && na >= 32) {
    return IntersectScratch(a, na, b, nb, out, scratch);
  }
  return ops.intersect(a, na, b, nb, out);
}

void Init(Work& w, const View& v) {
  switch (v.kind) {
    case Kind::kArray:
      w.SetArray(v.array, v.n);
      return;
    case Kind::kBitset:
      w.SetBits(v.bits);
      return;
    case Kind::kRuns:
      w.SetRuns(v.runs, v.n, v.card);
      return;
  }
}

void And(Work& w, const View& v, const simd::OpTable& ops) {
  switch (w.kind) {
    case Kind::kArray: {
      uint16_t* out = w.NextArray();
      int32_t n = 0;
      if (v.kind == Kind::kArray) {
        n = IntersectArrays(w.arr, w.n, v.array, v.n, out, w.scratch, ops);
      } else if (v.kind == Kind::kBitset) {
        for (int32_t i = 0; i < w.n; ++i) {
          out[n] = w.arr[i];
          n += static_cast<int32_t>(TestBit(v.bits, w.arr[i]));
        }
      } else {
        n = FilterByRuns<true>(w.arr, w.n, v.runs, v.n, out);
      }
      w.SetArray(out, n);
      return;
    }
    case Kind::kBitset: {
      if (v.kind == Kind::kArray) {
        uint16_t* out = w.NextArray();
        int32_t n = 0;
        for (int32_t i = 0; i < v.n; ++i) {
          out[n] = v.array[i];
          n += static_cast<int32_t>(TestBit(w.bits, v.array[i]));
        }
        w.SetArray(out, n);
      } else if (v.kind == Kind::kBitset) {
        ops.and_words(w.bits, v.bits, w.words, kWords);
        w.SetBits(w.words);
      } else if (v.card <= kMaxArray) {
        uint16_t* out = w.NextArray();
        w.SetArray(out, ExtractInRuns<false>(w.bits, v.runs, v.n, out));
      } else {
        MaskToRuns<false>(w.bits, v.runs, v.n, w.words);
        w.SetBits(w.words);
      }
      return;
    }
    case Kind::kRuns: {
      if (v.kind == Kind::kArray) {
        uint16_t* out = w.NextArray();
        w.SetArray(out, FilterByRuns<true>(v.array, v.n, w.runs, w.n, out));
      } else if (v.kind == Kind::kBitset) {
        if (w.card <= kMaxArray) {
          uint16_t* out = w.NextArray();
          w.SetArray(out, ExtractInRuns<false>(v.bits, w.runs, w.n, out));
        } else {
          MaskToRuns<false>(v.bits, w.runs, w.n, w.words);
          w.SetBits(w.words);
        }
      } else {
        Run* out = w.NextRuns();
        int32_t card = 0;
        const int32_t n = RunsAnd(w.runs, w.n, v.runs, v.n, out, &card);
        w.SetRuns(out, n, card);
      }
      return;
    }
  }
}

void AndNot(Work& w, const View& v, const simd::OpTable& ops) {
  switch (w.kind) {
    case Kind::kArray: {
      uint16_t* out = w.NextArray();
      int32_t n = 0;
      if (v.kind == Kind::kArray) {
        // The intersection first (fast), then w minus that sorted subset,
        // copied as the stretches between common elements.
        uint16_t* tmp = w.common;
        const int32_t nc = IntersectArrays(w.arr, w.n, v.array, v.n, tmp, w.scratch, ops);
        int32_t from = 0;
        for (int32_t k = 0; k < nc; ++k) {
          const int32_t at = Gallop(w.arr, from, w.n, tmp[k]);
          std::memcpy(out + n, w.arr + from, sizeof(uint16_t) * static_cast<size_t>(at - from));
          n += at - from;
          from = at + 1;
        }
        std::memcpy(out + n, w.arr + from, sizeof(uint16_t) * static_cast<size_t>(w.n - from));
        n += w.n - from;
      } else if (v.kind == Kind::kBitset) {
        for (int32_t i = 0; i < w.n; ++i) {
          out[n] = w.arr[i];
          n += static_cast<int32_t>(!TestBit(v.bits, w.arr[i]));
        }
      } else {
        n = FilterByRuns<false>(w.arr, w.n, v.runs, v.n, out);
      }
      w.SetArray(out, n);
      return;
    }
    case Kind::kBitset: {
      if (v.kind == Kind::kArray) {
        if (w.bits != w.words) std::memcpy(w.words, w.bits, sizeof(w.words));
        for (int32_t i = 0; i < v.n; ++i) {
          w.words[v.array[i] >> 6] &= ~(uint64_t{1} << (v.array[i] & 63));
        }
      } else if (v.kind == Kind::kBitset) {
        ops.andnot_words(w.bits, v.bits, w.words, kWords);
      } else {
        if (w.bits != w.words) std::memcpy(w.words, w.bits, sizeof(w.words));
        for (int32_t k = 0; k < v.n; ++k)
          ClearBitRange(w.words, v.runs[k].start, RunEnd(v.runs[k]));
      }
      w.SetBits(w.words);
      return;
    }
    case Kind::kRuns: {
      if (v.kind == Kind::kBitset) {
        if (w.card <= kMaxArray) {
          uint16_t* out = w.NextArray();
          w.SetArray(out, ExtractInRuns<true>(v.bits, w.runs, w.n, out));
        } else {
          MaskToRuns<true>(v.bits, w.runs, w.n, w.words);
          w.SetBits(w.words);
        }
        return;
      }
      Run* out = w.NextRuns();
      int32_t card = 0;
      const int32_t n = v.kind == Kind::kArray
                            ? RunsAndNotArray(w.runs, w.n, v.array, v.n, out, &card)
                            : RunsAndNot(w.runs, w.n, v.runs, v.n, out, &card);
      w.SetRuns(out, n, card);
      return;
    }
  }
}

uint64_t Count(const Work& w, const simd::OpTable& ops) {
  if (w.kind == Kind::kBitset) return ops.popcount(w.bits, kWords);
  return static_cast<uint64_t>(w.card);
}

uint64_t CountAnd(const Work& w, const View& v, const simd::OpTable& ops) {
  uint64_t n = 0;
  switch (w.kind) {
    case Kind::kArray:
      if (v.kind == Kind::kArray) {
        // The scratch stays zero: IntersectArrays clears what it sets.
        return static_cast<uint64_t>(
            IntersectArrays(w.arr, w.n, v.array, v.n, nullptr, w.scratch, ops));
      }
      if (v.kind == Kind::kBitset) {
        for (int32_t i = 0; i < w.n; ++i) n += TestBit(v.bits, w.arr[i]);
        return n;
      }
      return static_cast<uint64_t>(FilterByRuns<true>(w.arr, w.n, v.runs, v.n, nullptr));
    case Kind::kBitset:
      if (v.kind == Kind::kArray) {
        for (int32_t i = 0; i < v.n; ++i) n += TestBit(w.bits, v.array[i]);
        return n;
      }
      if (v.kind == Kind::kBitset) return ops.and_popcount(w.bits, v.bits, kWords);
      for (int32_t k = 0; k < v.n; ++k) {
        n += CountBitRange(w.bits, v.runs[k].start, RunEnd(v.runs[k]), ops);
      }
      return n;
    case Kind::kRuns:
      if (v.kind == Kind::kArray) {
        return static_cast<uint64_t>(FilterByRuns<true>(v.array, v.n, w.runs, w.n, nullptr));
      }
      if (v.kind == Kind::kBitset) {
        for (int32_t k = 0; k < w.n; ++k) {
          n += CountBitRange(v.bits, w.runs[k].start, RunEnd(w.runs[k]), ops);
        }
        return n;
      }
      return RunsAndCount(w.runs, w.n, v.runs, v.n);
  }
  return 0;
}

void AndOr(Work& w, std::span<const View> arms, const simd::OpTable& ops) {
  if (arms.empty()) {
    w.SetArray(w.abuf[0], 0);
    return;
  }
  if (arms.size() == 1) {
    And(w, arms[0], ops);
    return;
  }
  if (ProbeArms(w, arms)) {
    uint16_t* out = w.NextArray();
    int32_t n = 0;
    for (int32_t i = 0; i < w.n; ++i) {
      bool in = false;
      for (size_t k = 0; k < arms.size() && !in; ++k) in = ViewContains(arms[k], w.arr[i]);
      out[n] = w.arr[i];
      n += static_cast<int32_t>(in);
    }
    w.SetArray(out, n);
    return;
  }
  const bool wipe = BuildUnion(w.scratch, arms, ops);
  View u;
  u.kind = Kind::kBitset;
  u.n = kWords;
  u.bits = w.scratch;
  u.card = 1 << 16;  // unknown; only used to choose array output (never here)
  And(w, u, ops);
  ClearUnion(w.scratch, arms, wipe);
}

uint64_t CountAndOr(Work& w, std::span<const View> arms, const simd::OpTable& ops) {
  if (arms.empty()) return 0;
  if (arms.size() == 1) return CountAnd(w, arms[0], ops);
  if (ProbeArms(w, arms)) {
    uint64_t n = 0;
    for (int32_t i = 0; i < w.n; ++i) {
      bool in = false;
      for (size_t k = 0; k < arms.size() && !in; ++k) in = ViewContains(arms[k], w.arr[i]);
      n += in;
    }
    return n;
  }
  const bool wipe = BuildUnion(w.scratch, arms, ops);
  View u;
  u.kind = Kind::kBitset;
  u.n = kWords;
  u.bits = w.scratch;
  u.card = 1 << 16;
  const uint64_t n = CountAnd(w, u, ops);
  ClearUnion(w.scratch, arms, wipe);
  return n;
}

}  // namespace tagindex::kernels
