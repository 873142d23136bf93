// The chunk driver: walks the chunks of every operand at once and hands each
// chunk to the per-container-pair kernels of chunk_ops.h.
#include "bitmap/kernels.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "bitmap/chunk_ops.h"
#include "bitmap/croaring_adapter.h"
#include "bitmap/simd.h"

namespace tagindex::kernels {
namespace {

using adapter::Chunks;

// One Work per thread, allocated on its first call: the count path then
// allocates nothing, and nothing is zero-filled per call.
Work& ThreadWork() {
  thread_local std::unique_ptr<Work> work;
  if (!work) work = std::make_unique<Work>();
  return *work;
}

struct Cursor {
  Chunks c;
  int32_t at = 0;
};

enum class StepKind : uint8_t { kAnd, kAndNot, kAndOr };

struct Step {
  StepKind kind;
  View view;               // kAnd, kAndNot
  uint32_t arm_begin = 0;  // kAndOr: views in arm_views[arm_begin, arm_end)
  uint32_t arm_end = 0;
};

template <typename T>
using Small = absl::InlinedVector<T, 8>;

// Evaluates the chunks present in every positive operand: the smallest
// positive container starts the running result, the other positives are
// intersected in ascending size, then each OR group, then the negatives
// present in the chunk are subtracted. With kCount the last step only counts
// and `sink(count)` receives each chunk's count; otherwise `sink(key, w)`
// receives the chunk's result.
template <bool kCount, typename Sink>
void Drive(const Operands& o, Work& w, Sink&& sink) {
  const simd::OpTable& ops = simd::Ops();
  Small<Cursor> pos;
  for (const Bitmap* b : o.positive) {
    const Chunks c = adapter::ChunksOf(b->raw());
    if (c.size == 0) return;
    pos.push_back({c, 0});
  }
  // Drive by the operand with the fewest chunks; it bounds the work.
  std::sort(pos.begin(), pos.end(),
            [](const Cursor& a, const Cursor& b) { return a.c.size < b.c.size; });
  Small<Cursor> neg;
  for (const Bitmap* b : o.negative) {
    const Chunks c = adapter::ChunksOf(b->raw());
    if (c.size != 0) neg.push_back({c, 0});
  }
  Small<Small<Cursor>> groups;
  for (std::span<const Bitmap* const> g : o.or_groups) {
    Small<Cursor> arms;
    for (const Bitmap* b : g) {
      const Chunks c = adapter::ChunksOf(b->raw());
      if (c.size != 0) arms.push_back({c, 0});
    }
    if (arms.empty()) return;  // AND (empty OR) is empty
    groups.push_back(std::move(arms));
  }

  Small<View> views(pos.size());
  Small<View> arm_views;
  Small<Step> steps;
  Cursor& lead = pos[0];
  int32_t& i = lead.at;
  while (i < lead.c.size) {
    const uint16_t key = lead.c.keys[i];
    // Leapfrog: a positive without this key moves the lead to its next key.
    bool match = true;
    for (size_t p = 1; p < pos.size(); ++p) {
      Cursor& cur = pos[p];
      cur.at = adapter::SeekKey(cur.c, cur.at, key);
      if (cur.at == cur.c.size) return;  // no later key can be common
      if (cur.c.keys[cur.at] != key) {
        i = adapter::SeekKey(lead.c, i, cur.c.keys[cur.at]);
        match = false;
        break;
      }
    }
    if (!match) continue;
    views[0] = adapter::ViewAt(lead.c, i, ops);
    for (size_t p = 1; p < pos.size(); ++p) views[p] = adapter::ViewAt(pos[p].c, pos[p].at, ops);
    ++i;
    arm_views.clear();
    steps.clear();
    bool empty = false;
    for (Small<Cursor>& arms : groups) {
      const uint32_t begin = static_cast<uint32_t>(arm_views.size());
      for (Cursor& a : arms) {
        a.at = adapter::SeekKey(a.c, a.at, key);
        if (a.at < a.c.size && a.c.keys[a.at] == key) {
          arm_views.push_back(adapter::ViewAt(a.c, a.at, ops));
        }
      }
      if (arm_views.size() == begin) {
        empty = true;
        break;
      }
      steps.push_back({StepKind::kAndOr, View{}, begin, static_cast<uint32_t>(arm_views.size())});
    }
    if (empty) continue;
    // Smallest container first: every later step is bounded by it.
    if (views.size() > 1) {
      std::sort(views.begin(), views.end(),
                [](const View& a, const View& b) { return a.card < b.card; });
    }
    Small<Step> ordered;
    for (size_t p = 1; p < views.size(); ++p) {
      // AND with a full chunk (cohort tags, the universe) is the identity.
      if (views[p].card != (1 << 16)) ordered.push_back({StepKind::kAnd, views[p]});
    }
    for (const Step& s : steps) ordered.push_back(s);
    for (Cursor& q : neg) {
      q.at = adapter::SeekKey(q.c, q.at, key);
      if (q.at < q.c.size && q.c.keys[q.at] == key) {
        ordered.push_back({StepKind::kAndNot, adapter::ViewAt(q.c, q.at, ops)});
      }
    }
    Init(w, views[0]);
    const size_t applied = kCount && !ordered.empty() ? ordered.size() - 1 : ordered.size();
    for (size_t k = 0; k < applied && !empty; ++k) {
      const Step& s = ordered[k];
      switch (s.kind) {
        case StepKind::kAnd:
          And(w, s.view, ops);
          break;
        case StepKind::kAndNot:
          AndNot(w, s.view, ops);
          break;
        case StepKind::kAndOr:
          AndOr(w, std::span<const View>(arm_views.data() + s.arm_begin, s.arm_end - s.arm_begin),
                ops);
          break;
      }
      empty = w.Empty();
    }
    if (empty) continue;
    if constexpr (kCount) {
      if (ordered.empty()) {
        sink(Count(w, ops));
        continue;
      }
      const Step& s = ordered.back();
      switch (s.kind) {
        case StepKind::kAnd:
          sink(CountAnd(w, s.view, ops));
          break;
        case StepKind::kAndNot:
          sink(Count(w, ops) - CountAnd(w, s.view, ops));
          break;
        case StepKind::kAndOr:
          sink(CountAndOr(
              w, std::span<const View>(arm_views.data() + s.arm_begin, s.arm_end - s.arm_begin),
              ops));
          break;
      }
    } else {
      sink(key, w);
    }
  }
}

// Bits of a 1024-word bitset as runs; returns the number of runs.
int32_t BitsetToRuns(const uint64_t* w, Run* out) {
  int32_t n = 0;
  uint32_t pos = 0;  // next bit to examine
  while (pos < 65536) {
    uint32_t wi = pos >> 6;
    uint64_t x = w[wi] & (~uint64_t{0} << (pos & 63));
    while (x == 0) {
      if (++wi == kWords) return n;
      x = w[wi];
    }
    const uint32_t start = wi * 64 + static_cast<uint32_t>(__builtin_ctzll(x));
    x = ~w[wi] & (~uint64_t{0} << (start & 63));
    while (x == 0) {
      if (++wi == kWords) {
        out[n++] = {static_cast<uint16_t>(start), static_cast<uint16_t>(65535 - start)};
        return n;
      }
      x = ~w[wi];
    }
    const uint32_t end = wi * 64 + static_cast<uint32_t>(__builtin_ctzll(x));  // first clear
    out[n++] = {static_cast<uint16_t>(start), static_cast<uint16_t>(end - 1 - start)};
    pos = end;
  }
  return n;
}

// Appends a chunk's result in its smallest CRoaring form (arrays up to 4096
// ids, bitsets above; runs when a run container is smaller).
void Emit(adapter::Builder& out, uint16_t key, Work& w, const simd::OpTable& ops) {
  switch (w.kind) {
    case Kind::kArray:
      if (w.n > 0) out.Array(key, w.arr, w.n);
      return;
    case Kind::kBitset: {
      const int32_t card = static_cast<int32_t>(ops.popcount(w.bits, kWords));
      if (card == 0) return;
      if (card > kMaxArray) {
        out.Bitset(key, w.bits, card);
        return;
      }
      uint16_t* buf = w.NextArray();
      int32_t n = 0;
      for (int32_t k = 0; k < kWords; ++k) {
        for (uint64_t word = w.bits[k]; word != 0; word &= word - 1) {
          buf[n++] = static_cast<uint16_t>(k * 64 + __builtin_ctzll(word));
        }
      }
      out.Array(key, buf, n);
      return;
    }
    case Kind::kRuns: {
      if (w.card == 0) return;
      const int64_t run_bytes = 2 + 4 * int64_t{w.n};
      const int64_t other = w.card <= kMaxArray ? 2 * int64_t{w.card} : 8192;
      if (run_bytes < other) {
        out.Runs(key, w.runs, w.n);
      } else if (w.card <= kMaxArray) {
        uint16_t* buf = w.NextArray();
        int32_t n = 0;
        for (int32_t k = 0; k < w.n; ++k) {
          for (uint32_t x = w.runs[k].start; x <= uint32_t{w.runs[k].start} + w.runs[k].length;
               ++x) {
            buf[n++] = static_cast<uint16_t>(x);
          }
        }
        out.Array(key, buf, n);
      } else {
        std::memset(w.words, 0, sizeof(w.words));
        for (int32_t k = 0; k < w.n; ++k) {
          SetBitRange(w.words, w.runs[k].start, uint32_t{w.runs[k].start} + w.runs[k].length);
        }
        out.Bitset(key, w.words, w.card);
      }
      return;
    }
  }
}

// The smallest portable form of each container (RoaringFormatSpec): the
// serialised size of an array is 2 bytes per id, a bitset 8 KiB, a run
// container 2 + 4 bytes per run.
struct Form {
  Kind kind;
  int32_t runs;  // when kind == kRuns
  int32_t bytes;
};

Form BestForm(const View& v, const simd::OpTable& ops) {
  // CRoaring's own rule (convert_run_optimize), including its ties, so that
  // the bytes match roaring_bitmap_run_optimize + portable_serialize: sizes
  // compared are 2 + 4 per run, 2 + 2 per array id, 8192 for a bitset.
  const int64_t array_cmp = v.card <= kMaxArray ? 2 + 2 * int64_t{v.card} : 8192;
  const Kind plain_kind = v.card <= kMaxArray ? Kind::kArray : Kind::kBitset;
  const int32_t plain_bytes = v.card <= kMaxArray ? 2 * v.card : 8192;
  switch (v.kind) {
    case Kind::kArray: {
      const int32_t runs = RunsInArray(v.array, v.n);
      if (2 + 4 * int64_t{runs} < array_cmp) return {Kind::kRuns, runs, 2 + 4 * runs};
      break;
    }
    case Kind::kBitset: {
      const int32_t runs = RunsInBitset(v.bits, ops);
      if (2 + 4 * int64_t{runs} < std::min<int64_t>(8192, array_cmp)) {
        return {Kind::kRuns, runs, 2 + 4 * runs};
      }
      break;
    }
    case Kind::kRuns:
      if (2 + 4 * int64_t{v.n} <= std::min<int64_t>(8192, array_cmp)) {
        return {Kind::kRuns, v.n, 2 + 4 * v.n};
      }
      break;
  }
  return {plain_kind, 0, plain_bytes};
}

void Put16(std::string* out, uint16_t v) { out->append(reinterpret_cast<const char*>(&v), 2); }
void Put32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }

size_t HeaderBytes(int32_t n, bool has_run) {
  const size_t un = static_cast<size_t>(n);
  if (has_run) return 4 + (un + 7) / 8 + 4 * un + (n >= 4 ? 4 * un : 0);
  return 8 + 8 * un;
}

// A AND B — the commonest query — without the general driver's per-chunk
// bookkeeping (cursor and view vectors, step lists, sorts): a merge of the
// two key arrays and one container-pair kernel per common key, the smaller
// container first, an AND with a full chunk taken as the identity — the
// same operands in the same order as Drive gives the chunk kernels. What is
// left per chunk is what sparse data (many tiny containers) pays.
template <bool kCount, typename Sink>
void DrivePair(const Bitmap& a, const Bitmap& b, Work& w, Sink&& sink) {
  const Chunks ca = adapter::ChunksOf(a.raw());
  const Chunks cb = adapter::ChunksOf(b.raw());
  if (ca.size == 0 || cb.size == 0) return;
  // Disjoint key ranges (cohorts, a tag confined to a few chunks): no chunk
  // can be common.
  if (ca.keys[ca.size - 1] < cb.keys[0] || cb.keys[cb.size - 1] < ca.keys[0]) return;
  const simd::OpTable& ops = simd::Ops();
  int32_t i = 0, j = 0;
  while (i < ca.size && j < cb.size) {
    const uint16_t ka = ca.keys[i], kb = cb.keys[j];
    if (ka < kb) {
      i = adapter::SeekKey(ca, i, kb);
      continue;
    }
    if (kb < ka) {
      j = adapter::SeekKey(cb, j, ka);
      continue;
    }
    View small = adapter::ViewAt(ca, i++, ops);
    View large = adapter::ViewAt(cb, j++, ops);
    if (large.card < small.card) std::swap(small, large);
    Init(w, small);
    if constexpr (kCount) {
      sink(large.card == (1 << 16) ? static_cast<uint64_t>(small.card) : CountAnd(w, large, ops));
    } else {
      if (large.card != (1 << 16)) And(w, large, ops);
      sink(ka, w);
    }
  }
}

bool IsPair(const Operands& o) {
  return o.positive.size() == 2 && o.negative.empty() && o.or_groups.empty();
}

// Coalesces intervals appended in ascending order of their starts into
// runs (written to `out` unless kCount), counting runs and ids.
template <bool kCount>
struct RunSink {
  Run* out;
  int32_t n = 0;
  int32_t card = 0;
  bool open = false;
  uint32_t lo = 0, hi = 0;
  inline void Add(uint32_t l, uint32_t h) {
    if (open && l <= hi + 1) {
      if (h > hi) hi = h;
      return;
    }
    Flush();
    open = true;
    lo = l;
    hi = h;
  }
  inline void Flush() {
    if (!open) return;
    card += static_cast<int32_t>(hi - lo + 1);
    if constexpr (!kCount) out[n] = {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi - lo)};
    ++n;
  }
};

// run | run: a merge of the two run lists by start, coalescing.
template <bool kCount>
void UniteRunsRuns(const Run* a, int32_t na, const Run* b, int32_t nb, RunSink<kCount>& sink) {
  int32_t i = 0, j = 0;
  while (i < na && j < nb) {
    const Run& r = a[i].start <= b[j].start ? a[i++] : b[j++];
    sink.Add(r.start, uint32_t{r.start} + r.length);
  }
  for (; i < na; ++i) sink.Add(a[i].start, uint32_t{a[i].start} + a[i].length);
  for (; j < nb; ++j) sink.Add(b[j].start, uint32_t{b[j].start} + b[j].length);
}

// run | array: the ids before each run are appended one by one (adjacent
// ids coalesce), the run itself, then the ids it covers are skipped (a
// gallop when many are).
template <bool kCount>
void UniteRunsArray(const Run* r, int32_t nr, const uint16_t* a, int32_t na,
                    RunSink<kCount>& sink) {
  int32_t j = 0;
  for (int32_t i = 0; i < nr; ++i) {
    const uint32_t start = r[i].start;
    while (j < na && a[j] < start) {
      sink.Add(a[j], a[j]);
      ++j;
    }
    sink.Add(start, start + r[i].length);
    const uint32_t covered = sink.hi;
    if (j + 16 < na && a[j + 16] <= covered) {
      j = static_cast<int32_t>(std::upper_bound(a + j + 16, a + na, covered) - a);
    } else {
      while (j < na && a[j] <= covered) ++j;
    }
  }
  for (; j < na; ++j) sink.Add(a[j], a[j]);
}

// run | run and run | array (at least one run container) as intervals:
// runs stay runs, no bitset.
template <bool kCount>
int32_t UnionIntervals(const View& a, const View& b, Work& w) {
  RunSink<kCount> sink{kCount ? nullptr : w.NextRuns()};
  if (a.kind == Kind::kRuns && b.kind == Kind::kRuns) {
    UniteRunsRuns(a.runs, a.n, b.runs, b.n, sink);
  } else if (a.kind == Kind::kRuns) {
    UniteRunsArray(a.runs, a.n, b.array, b.n, sink);
  } else {
    UniteRunsArray(b.runs, b.n, a.array, a.n, sink);
  }
  sink.Flush();
  if constexpr (!kCount) w.SetRuns(sink.out, sink.n, sink.card);
  return sink.card;
}

// The union of one chunk's containers (views: at least two, none empty).
// Picks by the summed cardinality: arrays whose sizes sum to at most 4,096
// are merged (two) or scattered into the zeroed scratch bitset counting the
// bits that were new (more), so a sparse chunk never pays the 8 KiB clear
// and popcount of a bitset; otherwise the containers are accumulated into
// `w.words`, largest first, stopping once the chunk is full, and the
// cardinality is one popcount at the end. Run-only unions come back as
// runs when that is smaller. With kCount only the cardinality is computed;
// otherwise the result is left in `w` (Emit's input; full chunks as one run).
template <bool kCount>
int32_t UnionChunk(View* views, size_t nv, Work& w, const simd::OpTable& ops) {
  int64_t sum = 0;
  bool all_arrays = true;
  for (size_t k = 0; k < nv; ++k) {
    if (views[k].card == (1 << 16)) {
      if constexpr (!kCount) {
        Run* r = w.NextRuns();
        r[0] = {0, 0xFFFF};
        w.SetRuns(r, 1, 1 << 16);
      }
      return 1 << 16;
    }
    sum += views[k].card;
    all_arrays = all_arrays && views[k].kind == Kind::kArray;
  }
  if (nv == 2 && (views[0].kind == Kind::kRuns || views[1].kind == Kind::kRuns) &&
      views[0].kind != Kind::kBitset && views[1].kind != Kind::kBitset) {
    // run | run and run | array as a merge of intervals (an array id is a
    // one-id interval), coalescing as it goes: runs stay runs, no bitset.
    return UnionIntervals<kCount>(views[0], views[1], w);
  }
  if (all_arrays && sum <= kMaxArray) {
    if (nv == 2) {
      if constexpr (kCount) {
        return views[0].n + views[1].n -
               IntersectArrays(views[0].array, views[0].n, views[1].array, views[1].n, nullptr,
                               w.scratch, ops);
      } else {
        // The dispatched merge (simd.h `unite`: an 8-lane bitonic merge
        // network with dedupe at the SIMD levels, galloping for very
        // different sizes). Room: sum <= 4,096, the buffer holds 4,096 + 16.
        uint16_t* out = w.NextArray();
        const int32_t n = ops.unite(views[0].array, views[0].n, views[1].array, views[1].n, out);
        w.SetArray(out, n);
        return n;
      }
    }
    uint64_t* s = w.scratch;  // all zero; left so
    uint16_t* out = kCount ? nullptr : w.NextArray();
    int32_t n = 0;
    for (size_t k = 0; k < nv; ++k) {
      const uint16_t* a = views[k].array;
      for (int32_t x = 0; x < views[k].n; ++x) {
        const uint64_t bit = uint64_t{1} << (a[x] & 63);
        uint64_t& word = s[a[x] >> 6];
        if ((word & bit) == 0) {
          if constexpr (!kCount) out[n] = a[x];
          ++n;
        }
        word |= bit;
      }
    }
    for (size_t k = 0; k < nv; ++k) {
      for (int32_t x = 0; x < views[k].n; ++x) s[views[k].array[x] >> 6] = 0;
    }
    if constexpr (!kCount) {
      std::sort(out, out + n);
      w.SetArray(out, n);
    }
    return n;
  }
  // Largest containers first, and stop once the union is the full chunk
  // (wide ORs of many tags usually cover whole chunks: the OR of all 200
  // census-income attributes is every customer); fullness is checked only
  // after another 8,192 ids were added, so the check (which stops at the
  // first word with a clear bit) costs at most one pass per 8,192 ids.
  if (nv > 2) {
    // Sorted as (65536 - card, index) words, then permuted once: cheaper
    // than std::sort moving 40-byte views (4 % of a wide OR before).
    Small<uint64_t> order(nv);
    for (size_t k = 0; k < nv; ++k) {
      order[k] = uint64_t(uint32_t((1 << 16) - views[k].card)) << 32 | k;
    }
    std::sort(order.begin(), order.end());
    Small<View> sorted(nv);
    for (size_t k = 0; k < nv; ++k) sorted[k] = views[order[k] & 0xFFFFFFFF];
    std::copy(sorted.begin(), sorted.end(), views);
  } else if (views[1].card > views[0].card) {
    std::swap(views[0], views[1]);
  }
  bool all_runs = true, full = false;
  int64_t added = 0, since_check = 0;
  size_t k = 0;
  if (views[0].kind == Kind::kBitset) {  // start from a copy, not a clear
    std::memcpy(w.words, views[0].bits, sizeof(w.words));
    all_runs = false;
    added = since_check = views[0].card;
    k = 1;
  } else {
    std::memset(w.words, 0, sizeof(w.words));
  }
  for (; k < nv; ++k) {
    const View& v = views[k];
    switch (v.kind) {
      case Kind::kArray:
        all_runs = false;
        ops.set_list(w.words, v.array, v.n);
        break;
      case Kind::kBitset:
        all_runs = false;
        ops.or_words(v.bits, w.words, kWords);
        break;
      case Kind::kRuns:
        for (int32_t x = 0; x < v.n; ++x) {
          SetBitRange(w.words, v.runs[x].start, uint32_t{v.runs[x].start} + v.runs[x].length);
        }
        break;
    }
    added += v.card;
    since_check += v.card;
    if (added >= (1 << 16) && since_check >= 8192) {
      since_check = 0;
      full = std::all_of(w.words, w.words + kWords, [](uint64_t x) { return x == ~uint64_t{0}; });
      if (full) break;
    }
  }
  if (full) {
    if constexpr (!kCount) {
      Run* r = w.NextRuns();
      r[0] = {0, 0xFFFF};
      w.SetRuns(r, 1, 1 << 16);
    }
    return 1 << 16;
  }
  const int32_t card = static_cast<int32_t>(ops.popcount(w.words, kWords));
  if constexpr (!kCount) {
    if (all_runs) {
      // A union of run containers (cohort tags) stays a run container when
      // that is smaller.
      const int32_t runs = RunsInBitset(w.words, ops);
      const int64_t other = card <= kMaxArray ? 2 * int64_t{card} : 8192;
      if (2 + 4 * int64_t{runs} < other) {
        Run* r = w.NextRuns();
        w.SetRuns(r, BitsetToRuns(w.words, r), card);
        return card;
      }
    }
    w.SetBits(w.words);
  }
  return card;
}

// The union of many inputs: every (key, input, container) once, sorted by
// key, so the chunks of one key are adjacent and each input is read front
// to back. With kCount, sink(card) per chunk; otherwise sink(key, w) or,
// for a key only one input has, copy(key, view).
template <bool kCount, typename Sink, typename CopySink>
void DriveOr(std::span<const Bitmap* const> inputs, Work& w, Sink&& sink, CopySink&& copy) {
  const simd::OpTable& ops = simd::Ops();
  size_t total = 0;
  uint32_t kmin = 0xFFFF, kmax = 0;
  for (const Bitmap* b : inputs) {
    const Chunks c = adapter::ChunksOf(b->raw());
    if (c.size == 0) continue;
    total += static_cast<size_t>(c.size);
    kmin = std::min<uint32_t>(kmin, c.keys[0]);
    kmax = std::max<uint32_t>(kmax, c.keys[c.size - 1]);
  }
  if (total == 0) return;
  std::vector<uint64_t> entries(total);
  const size_t range = kmax - kmin + 1;
  auto entry = [](uint16_t key, size_t k, int32_t i) {
    return uint64_t{key} << 48 | uint64_t{k} << 20 | static_cast<uint64_t>(i);
  };
  if (range <= 4 * total + 64) {
    // A counting sort by key (stable: inputs in order, chunks ascending —
    // the order std::sort gives), instead of a comparison sort of
    // thousands of entries (11-15 % of a 192-input OR before).
    std::vector<uint32_t> at(range + 1, 0);
    for (const Bitmap* b : inputs) {
      const Chunks c = adapter::ChunksOf(b->raw());
      for (int32_t i = 0; i < c.size; ++i) ++at[c.keys[i] - kmin + 1];
    }
    for (size_t r = 1; r <= range; ++r) at[r] += at[r - 1];
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Chunks c = adapter::ChunksOf(inputs[k]->raw());
      for (int32_t i = 0; i < c.size; ++i) entries[at[c.keys[i] - kmin]++] = entry(c.keys[i], k, i);
    }
  } else {
    size_t n = 0;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Chunks c = adapter::ChunksOf(inputs[k]->raw());
      for (int32_t i = 0; i < c.size; ++i) entries[n++] = entry(c.keys[i], k, i);
    }
    std::sort(entries.begin(), entries.end());
  }
  Small<View> views;
  views.reserve(inputs.size());
  auto view_of = [&](uint64_t e) {
    const size_t k = static_cast<size_t>((e >> 20) & ((uint64_t{1} << 28) - 1));
    const int32_t i = static_cast<int32_t>(e & ((uint64_t{1} << 20) - 1));
    return adapter::ViewAt(adapter::ChunksOf(inputs[k]->raw()), i, ops);
  };
  for (size_t s = 0; s < entries.size();) {
    const uint16_t key = static_cast<uint16_t>(entries[s] >> 48);
    size_t e = s + 1;
    while (e < entries.size() && static_cast<uint16_t>(entries[e] >> 48) == key) ++e;
    if (e - s == 1) {
      copy(key, view_of(entries[s]));
      s = e;
      continue;
    }
    views.clear();
    for (size_t j = s; j < e; ++j) views.push_back(view_of(entries[j]));
    const int32_t card = UnionChunk<kCount>(views.data(), views.size(), w, ops);
    if constexpr (kCount) {
      sink(card);
    } else {
      sink(key, w);
    }
    s = e;
  }
}

// A OR B: a merge of the two key arrays; a key only one side has is that
// container (copied, or its cardinality), a common key one UnionChunk.
template <bool kCount, typename Sink, typename CopySink>
void DrivePairOr(const Bitmap& a, const Bitmap& b, Work& w, Sink&& sink, CopySink&& copy) {
  const Chunks ca = adapter::ChunksOf(a.raw());
  const Chunks cb = adapter::ChunksOf(b.raw());
  const simd::OpTable& ops = simd::Ops();
  int32_t i = 0, j = 0;
  while (i < ca.size || j < cb.size) {
    if (j == cb.size || (i < ca.size && ca.keys[i] < cb.keys[j])) {
      copy(ca.keys[i], adapter::ViewAt(ca, i, ops));
      ++i;
      continue;
    }
    if (i == ca.size || cb.keys[j] < ca.keys[i]) {
      copy(cb.keys[j], adapter::ViewAt(cb, j, ops));
      ++j;
      continue;
    }
    View views[2] = {adapter::ViewAt(ca, i, ops), adapter::ViewAt(cb, j, ops)};
    const uint16_t key = ca.keys[i];
    ++i;
    ++j;
    const int32_t card = UnionChunk<kCount>(views, 2, w, ops);
    if constexpr (kCount) {
      sink(card);
    } else {
      sink(key, w);
    }
  }
}

}  // namespace

Bitmap OrMany(std::span<const Bitmap* const> inputs) {
  Bitmap out;
  const simd::OpTable& ops = simd::Ops();
  Work& w = ThreadWork();
  adapter::Builder builder(out.raw());
  DriveOr<false>(
      inputs, w, [&](uint16_t key, Work& work) { Emit(builder, key, work, ops); },
      [&](uint16_t key, const View& v) { builder.Copy(key, v); });
  return out;
}

uint64_t OrManyCount(std::span<const Bitmap* const> inputs) {
  uint64_t total = 0;
  DriveOr<true>(
      inputs, ThreadWork(), [&](int32_t card) { total += static_cast<uint64_t>(card); },
      [&](uint16_t, const View& v) { total += static_cast<uint64_t>(v.card); });
  return total;
}

namespace {
// Container pairs (bit 3 * kind(a) + kind(b)) that Or hands to CRoaring
// 0.2.66's container_or instead of UnionChunk.
std::atomic<uint32_t> g_croaring_or_pairs{kDefaultCRoaringOrPairs};
}  // namespace

void SetCRoaringOrPairsForTesting(uint32_t mask) {
  g_croaring_or_pairs.store(mask == ~uint32_t{0} ? kDefaultCRoaringOrPairs : mask,
                            std::memory_order_relaxed);
}

Bitmap Or(const Bitmap& a, const Bitmap& b) {
  Bitmap out;
  const simd::OpTable& ops = simd::Ops();
  Work& w = ThreadWork();
  adapter::Builder builder(out.raw());
  const Chunks ca = adapter::ChunksOf(a.raw());
  const Chunks cb = adapter::ChunksOf(b.raw());
  const uint32_t theirs = g_croaring_or_pairs.load(std::memory_order_relaxed);
  int32_t i = 0, j = 0;
  uint64_t card = 0;  // known as it is built: Cardinality() then costs nothing
  while (i < ca.size || j < cb.size) {
    if (j == cb.size || (i < ca.size && ca.keys[i] < cb.keys[j])) {
      const View v = adapter::ViewAt(ca, i, ops);
      builder.Copy(ca.keys[i], v);
      card += static_cast<uint64_t>(v.card);
      ++i;
      continue;
    }
    if (i == ca.size || cb.keys[j] < ca.keys[i]) {
      const View v = adapter::ViewAt(cb, j, ops);
      builder.Copy(cb.keys[j], v);
      card += static_cast<uint64_t>(v.card);
      ++j;
      continue;
    }
    const uint16_t key = ca.keys[i];
    const uint32_t pair = 3 * static_cast<uint32_t>(adapter::KindAt(ca, i)) +
                          static_cast<uint32_t>(adapter::KindAt(cb, j));
    if ((theirs >> pair) & 1) {
      card += static_cast<uint64_t>(builder.CRoaringOr(key, ca, i, cb, j));
    } else {
      View views[2] = {adapter::ViewAt(ca, i, ops), adapter::ViewAt(cb, j, ops)};
      card += static_cast<uint64_t>(UnionChunk<false>(views, 2, w, ops));
      Emit(builder, key, w, ops);
    }
    ++i;
    ++j;
  }
  out.SetKnownCardinality(card);
  return out;
}

uint64_t OrCount(const Bitmap& a, const Bitmap& b) {
  uint64_t total = 0;
  DrivePairOr<true>(
      a, b, ThreadWork(), [&](int32_t card) { total += static_cast<uint64_t>(card); },
      [&](uint16_t, const View& v) { total += static_cast<uint64_t>(v.card); });
  return total;
}

uint64_t Count(const Operands& o) {
  if (o.positive.empty()) return 0;
  Work& w = ThreadWork();
  if (IsPair(o)) {
    uint64_t total = 0;
    DrivePair<true>(*o.positive[0], *o.positive[1], w,
                    [&](uint64_t chunk_count) { total += chunk_count; });
    return total;
  }
  uint64_t total = 0;
  Drive<true>(o, w, [&](uint64_t chunk_count) { total += chunk_count; });
  return total;
}

Bitmap Evaluate(const Operands& o) {
  Bitmap out;
  if (o.positive.empty()) return out;
  Work& w = ThreadWork();
  const simd::OpTable& ops = simd::Ops();
  adapter::Builder builder(out.raw());
  auto emit = [&](uint16_t key, Work& work) { Emit(builder, key, work, ops); };
  if (IsPair(o)) {
    DrivePair<false>(*o.positive[0], *o.positive[1], w, emit);
  } else {
    Drive<false>(o, w, emit);
  }
  return out;
}

uint64_t AndAndNotCardinality(std::span<const Bitmap* const> positive,
                              std::span<const Bitmap* const> negative) {
  return Count({positive, negative, {}});
}

Bitmap AndAndNot(std::span<const Bitmap* const> positive, std::span<const Bitmap* const> negative) {
  return Evaluate({positive, negative, {}});
}

void AndCardinalityMany(const Bitmap& a, std::span<const Bitmap* const> bs, uint64_t* counts) {
  std::fill(counts, counts + bs.size(), uint64_t{0});
  const Chunks ca = adapter::ChunksOf(a.raw());
  if (ca.size == 0 || bs.empty()) return;
  const simd::OpTable& ops = simd::Ops();
  Work& w = ThreadWork();
  Small<Cursor> cur;
  cur.reserve(bs.size());
  for (const Bitmap* b : bs) cur.push_back({adapter::ChunksOf(b->raw()), 0});
  // An array chunk of `a` this large is scattered into `bits` once, so each
  // array container of a b costs one bit test per element instead of a merge.
  // (Its own buffer: the Work's scratch must stay zero for CountAnd.)
  constexpr int32_t kScatter = 64;
  thread_local std::unique_ptr<uint64_t[]> zeroed;
  if (!zeroed) zeroed = std::make_unique<uint64_t[]>(kWords);
  uint64_t* const bits = zeroed.get();
  for (int32_t i = 0; i < ca.size; ++i) {
    const uint16_t key = ca.keys[i];
    const View va = adapter::ViewAt(ca, i, ops);
    const bool scatter = va.kind == Kind::kArray && va.n >= kScatter;
    if (scatter) {
      for (int32_t k = 0; k < va.n; ++k) {
        bits[va.array[k] >> 6] |= uint64_t{1} << (va.array[k] & 63);
      }
    }
    Init(w, va);
    for (size_t t = 0; t < cur.size(); ++t) {
      Cursor& c = cur[t];
      c.at = adapter::SeekKey(c.c, c.at, key);
      if (c.at == c.c.size || c.c.keys[c.at] != key) continue;
      const View vb = adapter::ViewAt(c.c, c.at, ops);
      if (va.card == (1 << 16)) {
        counts[t] += static_cast<uint64_t>(vb.card);
      } else if (scatter && vb.kind == Kind::kArray && vb.n <= 4 * va.n) {
        uint64_t n = 0;
        for (int32_t k = 0; k < vb.n; ++k) {
          n += (bits[vb.array[k] >> 6] >> (vb.array[k] & 63)) & 1;
        }
        counts[t] += n;
      } else {
        counts[t] += CountAnd(w, vb, ops);
      }
    }
    if (scatter) {
      for (int32_t k = 0; k < va.n; ++k) bits[va.array[k] >> 6] = 0;
    }
  }
}

bool BuildFromUnsorted(std::span<const uint32_t> ids, Bitmap* out) {
  if (ids.empty()) return true;
  uint32_t lo = ids[0], hi = ids[0];
  for (uint32_t x : ids) {
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const uint32_t first_key = lo >> 16;
  const size_t keys = (hi >> 16) - first_key + 1;
  if (ids.size() < keys * 256) return false;
  const simd::OpTable& ops = simd::Ops();
  // One bitset over the whole range (1.25 MiB for 10 M ids): the scatter is
  // a store per id, with no sort and no per-container bookkeeping.
  std::unique_ptr<uint64_t[]> words(new uint64_t[keys * kWords]());
  uint64_t* all = words.get();
  const size_t first_word = size_t{first_key} * kWords;
  for (uint32_t x : ids) all[(x >> 6) - first_word] |= uint64_t{1} << (x & 63);
  Work& w = ThreadWork();
  adapter::Builder builder(out->raw());
  for (size_t k = 0; k < keys; ++k) {
    const uint64_t* chunk = words.get() + k * kWords;
    const uint16_t key = static_cast<uint16_t>(first_key + k);
    View v;
    v.kind = Kind::kBitset;
    v.bits = chunk;
    v.n = kWords;
    v.card = static_cast<int32_t>(ops.popcount(chunk, kWords));
    if (v.card == 0) continue;
    // Bulk loads come out run-optimised: cohort tags are runs at once.
    const Form f = BestForm(v, ops);
    if (f.kind == Kind::kRuns) {
      Run* r = w.NextRuns();
      builder.Runs(key, r, BitsetToRuns(chunk, r));
    } else {
      w.SetBits(chunk);
      Emit(builder, key, w, ops);
    }
  }
  return true;
}

void ApplyBatch(Bitmap& dst, const Bitmap& batch, bool remove) {
  // The caller (Bitmap) has unshared the containers the batch touches.
  roaring_bitmap_t* d = dst.raw_unshared_by_caller();
  const roaring_bitmap_t* b = batch.raw();
  if (remove) {
    roaring_bitmap_andnot_inplace(d, b);
  } else if (roaring_bitmap_is_empty(d)) {
    roaring_bitmap_overwrite(d, b);
  } else {
    roaring_bitmap_or_inplace(d, b);
  }
  const simd::OpTable& ops = simd::Ops();
  const Chunks bc = adapter::ChunksOf(b);
  Chunks dc = adapter::ChunksOf(d);
  int32_t at = 0;
  for (int32_t i = 0; i < bc.size; ++i) {
    const uint16_t key = bc.keys[i];
    at = adapter::SeekKey(dc, at, key);
    if (at == dc.size) break;
    if (dc.keys[at] != key) continue;
    const int32_t batch_card = adapter::ViewAt(bc, i, ops).card;
    const int32_t card = adapter::ViewAt(dc, at, ops).card;
    if (int64_t{batch_card} * 8 >= card) {
      adapter::RunOptimizeKeys(d, key, key, ops);
      dc = adapter::ChunksOf(d);  // the container pointers may have changed
    }
  }
}

void RunOptimizeRange(Bitmap& b, uint32_t lo, uint32_t hi) {
  if (lo > hi) return;
  adapter::RunOptimizeKeys(b.raw_unshared_by_caller(), static_cast<uint16_t>(lo >> 16),
                           static_cast<uint16_t>(hi >> 16), simd::Ops());
}

size_t PortableSize(const Bitmap& b) {
  const simd::OpTable& ops = simd::Ops();
  const Chunks c = adapter::ChunksOf(b.raw());
  size_t body = 0;
  bool has_run = false;
  for (int32_t i = 0; i < c.size; ++i) {
    const Form f = BestForm(adapter::ViewAt(c, i, ops), ops);
    body += static_cast<size_t>(f.bytes);
    has_run = has_run || f.kind == Kind::kRuns;
  }
  return HeaderBytes(c.size, has_run) + body;
}

void PortableWrite(const Bitmap& b, std::string* out) {
  const simd::OpTable& ops = simd::Ops();
  const Chunks c = adapter::ChunksOf(b.raw());
  std::vector<Form> forms(static_cast<size_t>(c.size));
  bool has_run = false;
  size_t body = 0;
  for (int32_t i = 0; i < c.size; ++i) {
    forms[i] = BestForm(adapter::ViewAt(c, i, ops), ops);
    has_run = has_run || forms[i].kind == Kind::kRuns;
    body += static_cast<size_t>(forms[i].bytes);
  }
  const size_t header = HeaderBytes(c.size, has_run);
  out->reserve(out->size() + header + body);
  const uint32_t n = static_cast<uint32_t>(c.size);
  if (has_run) {
    Put32(out, 12347u | ((n - 1) << 16));
    std::string flags((n + 7) / 8, '\0');
    for (uint32_t i = 0; i < n; ++i) {
      if (forms[i].kind == Kind::kRuns)
        flags[i / 8] = static_cast<char>(flags[i / 8] | (1 << (i % 8)));
    }
    out->append(flags);
  } else {
    Put32(out, 12346u);
    Put32(out, n);
  }
  for (int32_t i = 0; i < c.size; ++i) {
    Put16(out, c.keys[i]);
    Put16(out, static_cast<uint16_t>(adapter::ViewAt(c, i, ops).card - 1));
  }
  if (!has_run || n >= 4) {
    uint32_t offset = static_cast<uint32_t>(header);
    for (const Form& f : forms) {
      Put32(out, offset);
      offset += static_cast<uint32_t>(f.bytes);
    }
  }
  Work& w = ThreadWork();
  for (int32_t i = 0; i < c.size; ++i) {
    const View v = adapter::ViewAt(c, i, ops);
    const Form& f = forms[i];
    switch (f.kind) {
      case Kind::kArray:
        if (v.kind == Kind::kArray) {
          out->append(reinterpret_cast<const char*>(v.array), 2 * static_cast<size_t>(v.n));
        } else if (v.kind == Kind::kRuns) {
          for (int32_t k = 0; k < v.n; ++k) {
            for (uint32_t x = v.runs[k].start; x <= uint32_t{v.runs[k].start} + v.runs[k].length;
                 ++x) {
              Put16(out, static_cast<uint16_t>(x));
            }
          }
        } else {
          for (int32_t k = 0; k < kWords; ++k) {
            for (uint64_t word = v.bits[k]; word != 0; word &= word - 1) {
              Put16(out, static_cast<uint16_t>(k * 64 + __builtin_ctzll(word)));
            }
          }
        }
        break;
      case Kind::kBitset:
        if (v.kind == Kind::kBitset) {
          out->append(reinterpret_cast<const char*>(v.bits), 8192);
        } else {
          std::memset(w.words, 0, sizeof(w.words));
          if (v.kind == Kind::kRuns) {
            for (int32_t k = 0; k < v.n; ++k) {
              SetBitRange(w.words, v.runs[k].start, uint32_t{v.runs[k].start} + v.runs[k].length);
            }
          } else {
            for (int32_t k = 0; k < v.n; ++k) {
              w.words[v.array[k] >> 6] |= uint64_t{1} << (v.array[k] & 63);
            }
          }
          out->append(reinterpret_cast<const char*>(w.words), 8192);
        }
        break;
      case Kind::kRuns: {
        const Run* runs = v.runs;
        int32_t nr = v.n;
        if (v.kind == Kind::kBitset) {
          Run* r = w.NextRuns();
          nr = BitsetToRuns(v.bits, r);
          runs = r;
        } else if (v.kind == Kind::kArray) {
          Run* r = w.NextRuns();
          nr = 0;
          for (int32_t k = 0; k < v.n; ++k) {
            if (nr > 0 && uint32_t{r[nr - 1].start} + r[nr - 1].length + 1 == v.array[k]) {
              ++r[nr - 1].length;
            } else {
              r[nr++] = {v.array[k], 0};
            }
          }
          runs = r;
        }
        Put16(out, static_cast<uint16_t>(nr));
        out->append(reinterpret_cast<const char*>(runs), sizeof(Run) * static_cast<size_t>(nr));
        break;
      }
    }
  }
}

const char* ActiveIsa() { return simd::Ops().name; }

void ForceBaselineForTesting(bool force) {
  if (force) {
    simd::SetLevelForTesting(simd::Level::kScalar);
  } else {
    simd::ResetLevelForTesting();
  }
}

}  // namespace tagindex::kernels
