// Bit-sliced attribute columns (src/bitmap/bsi.h) beside a plain scan of a
// std::vector<int64_t> (R3), on the PERFORMANCE.md workload: 10 M customers,
// uniform values of 7 (age), 20 (spend) and 32 (timestamp) bits, a uniform
// tag of 5 % density. Counters: bytes of slices touched and the effective
// GB/s, to set against the ~13 GB/s sequential-read roofline.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bitmap/bitmap.h"
#include "bitmap/bsi.h"
#include "tagindex/tagindex.h"
#include "workload.h"

namespace tagindex::bench {
namespace {

struct Data {
  uint32_t n = 0;
  int bits = 0;
  std::vector<int64_t> values;  // R3: the plain column
  Bsi bsi;
  Bitmap tag;  // 5 % uniform
  std::vector<uint64_t> tag_dense;
  int64_t lo = 0, hi = 0;  // the middle quarter of the value range
  // Small tags (segments) by density in parts per million: the bitmap and
  // its rows (the gather scan's input).
  std::map<int64_t, std::pair<Bitmap, std::vector<uint32_t>>> small;
};

const Data& Get(uint32_t n, int bits) {
  static std::map<std::pair<uint32_t, int>, std::unique_ptr<Data>> cache;
  auto& slot = cache[{n, bits}];
  if (!slot) {
    slot = std::make_unique<Data>();
    Data& d = *slot;
    d.n = n;
    d.bits = bits;
    std::mt19937_64 rng(static_cast<uint64_t>(bits) * 7919);
    const uint64_t mask = (uint64_t{1} << bits) - 1;
    d.values.resize(n);
    std::vector<uint32_t> rows(n);
    for (uint32_t i = 0; i < n; ++i) {
      d.values[i] = static_cast<int64_t>(rng() & mask);
      rows[i] = i;
    }
    d.bsi = Bsi::Build(rows, d.values);
    d.bsi.RunOptimize();
    WorkloadOptions w{.customers = n, .tags = 100000, .seed = 5};
    const auto tag_rows = TagRows(w, RankForDensity(w, 0.05));
    d.tag = Bitmap::FromIds(tag_rows);
    d.tag_dense.assign((n + 63) / 64, 0);
    for (uint32_t r : tag_rows) d.tag_dense[r >> 6] |= uint64_t{1} << (r & 63);
    d.lo = static_cast<int64_t>(mask / 8 * 3);
    d.hi = static_cast<int64_t>(mask / 8 * 5);
  }
  return *slot;
}

uint32_t N(const benchmark::State& s) { return Customers(static_cast<uint32_t>(s.range(1))); }

// A uniform tag of `ppm` parts per million (cached with the column).
const std::pair<Bitmap, std::vector<uint32_t>>& Small(const Data& d, int64_t ppm) {
  auto& slot = const_cast<Data&>(d).small[ppm];
  if (slot.second.empty()) {
    std::mt19937_64 rng(static_cast<uint64_t>(ppm) * 104729);
    for (uint32_t r = 0; r < d.n; ++r) {
      if (rng() % 1'000'000 < static_cast<uint64_t>(ppm)) slot.second.push_back(r);
    }
    slot.first = Bitmap::FromIds(slot.second);
  }
  return slot;
}

void SetBytes(benchmark::State& s, const Data& d, uint64_t result) {
  // Existence + sign + every value slice, as dense bitsets would be.
  const double bytes = (d.bits + 2) * (d.n / 8.0);
  s.counters["result"] = static_cast<double>(result);
  s.counters["slice_MB"] = bytes / 1e6;
  s.counters["GB/s"] =
      benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Attr_RangeCount_Bsi(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const Bsi::Interval iv{d.lo, d.hi};
  uint64_t c = 0;
  for (auto _ : s) benchmark::DoNotOptimize(c = d.bsi.SelectCount({&iv, 1}));
  SetBytes(s, d, c);
}

void BM_Attr_RangeCount_Scan(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  uint64_t c = 0;
  for (auto _ : s) {
    c = 0;
    for (int64_t v : d.values) c += (v >= d.lo) & (v <= d.hi);
    benchmark::DoNotOptimize(c);
  }
  s.counters["result"] = static_cast<double>(c);
}

void BM_Attr_RangeAndTagCount_Bsi(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const Bsi::Interval iv{d.lo, d.hi};
  uint64_t c = 0;
  for (auto _ : s) benchmark::DoNotOptimize(c = d.bsi.SelectCount({&iv, 1}, &d.tag));
  SetBytes(s, d, c);
}

void BM_Attr_RangeAndTagCount_Scan(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  uint64_t c = 0;
  for (auto _ : s) {
    c = 0;
    for (uint32_t i = 0; i < d.n; ++i) {
      const int64_t v = d.values[i];
      c += ((d.tag_dense[i >> 6] >> (i & 63)) & 1) & (v >= d.lo) & (v <= d.hi);
    }
    benchmark::DoNotOptimize(c);
  }
  s.counters["result"] = static_cast<double>(c);
}

void BM_Attr_SumSegment_Bsi(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  Int128 sum = 0;
  for (auto _ : s) benchmark::DoNotOptimize(sum = d.bsi.Sum(&d.tag));
  s.counters["result"] = static_cast<double>(sum);
}

void BM_Attr_SumSegment_Scan(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  int64_t sum = 0;
  for (auto _ : s) {
    sum = 0;
    for (uint32_t i = 0; i < d.n; ++i) {
      const int64_t bit = static_cast<int64_t>((d.tag_dense[i >> 6] >> (i & 63)) & 1);
      sum += d.values[i] * bit;
    }
    benchmark::DoNotOptimize(sum);
  }
  s.counters["result"] = static_cast<double>(sum);
}

// ---- small segments (issue #12's leftovers): a range predicate ANDed with a
// small tag, and aggregates over a small segment, beside a gather scan of the
// segment's rows in the plain column. Args: value bits, customers, tag
// density (ppm). "Chunk" is the whole-chunk evaluation (the path before the
// sparse one; Bsi::SetSparseFiltersForTesting(false)), measured in the same run.

void BM_Attr_SmallRangeAndTag_Sparse(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& [tag, rows] = Small(d, s.range(2));
  const Bsi::Interval iv{d.lo, d.hi};
  uint64_t c = 0;
  Bsi::SetSparseFiltersForTesting(true);
  for (auto _ : s) benchmark::DoNotOptimize(c = d.bsi.SelectCount({&iv, 1}, &tag));
  s.counters["result"] = static_cast<double>(c);
  s.counters["tag_rows"] = static_cast<double>(rows.size());
}

void BM_Attr_SmallRangeAndTag_Chunk(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& [tag, rows] = Small(d, s.range(2));
  const Bsi::Interval iv{d.lo, d.hi};
  uint64_t c = 0;
  Bsi::SetSparseFiltersForTesting(false);
  for (auto _ : s) benchmark::DoNotOptimize(c = d.bsi.SelectCount({&iv, 1}, &tag));
  Bsi::SetSparseFiltersForTesting(true);
  s.counters["result"] = static_cast<double>(c);
}

void BM_Attr_SmallRangeAndTag_Scan(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& rows = Small(d, s.range(2)).second;
  uint64_t c = 0;
  for (auto _ : s) {
    c = 0;
    for (uint32_t r : rows) {
      const int64_t v = d.values[r];
      c += (v >= d.lo) & (v <= d.hi);
    }
    benchmark::DoNotOptimize(c);
  }
  s.counters["result"] = static_cast<double>(c);
}

// The range materialised (a query that continues with the result).
void BM_Attr_SmallRangeAndTagSelect_Sparse(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const Bitmap& tag = Small(d, s.range(2)).first;
  const Bsi::Interval iv{d.lo, d.hi};
  Bsi::SetSparseFiltersForTesting(true);
  for (auto _ : s) benchmark::DoNotOptimize(d.bsi.Select({&iv, 1}, &tag));
}

void BM_Attr_SmallRangeAndTagSelect_Chunk(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const Bitmap& tag = Small(d, s.range(2)).first;
  const Bsi::Interval iv{d.lo, d.hi};
  Bsi::SetSparseFiltersForTesting(false);
  for (auto _ : s) benchmark::DoNotOptimize(d.bsi.Select({&iv, 1}, &tag));
  Bsi::SetSparseFiltersForTesting(true);
}

// Sum only, through Summarize (what SummarizeAttribute now does for
// AttributeAggregates{.sum = true, .min = false, .max = false}).
void BM_Attr_SmallSum_SumOnly(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const Bitmap& tag = Small(d, s.range(2)).first;
  Int128 sum = 0;
  for (auto _ : s) {
    benchmark::DoNotOptimize(
        sum = d.bsi.Summarize(&tag, {.sum = true, .min = false, .max = false}).sum);
  }
  s.counters["result"] = static_cast<double>(sum);
}

// Everything (count, sum, min, max) in one pass: SummarizeAttribute's default.
void BM_Attr_SmallSum_All(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const Bitmap& tag = Small(d, s.range(2)).first;
  Int128 sum = 0;
  for (auto _ : s) benchmark::DoNotOptimize(sum = d.bsi.Summarize(&tag, {}).sum);
  s.counters["result"] = static_cast<double>(sum);
}

// Before: SummarizeAttribute as it was (Count, Sum, Min and Max, each on
// its own; min and max narrow a candidate bitmap slice by slice).
void BM_Attr_SmallSum_Before(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const Bitmap& tag = Small(d, s.range(2)).first;
  Int128 sum = 0;
  for (auto _ : s) {
    benchmark::DoNotOptimize(d.bsi.Count(&tag));
    benchmark::DoNotOptimize(sum = d.bsi.Sum(&tag));
    benchmark::DoNotOptimize(d.bsi.Min(&tag));
    benchmark::DoNotOptimize(d.bsi.Max(&tag));
  }
  s.counters["result"] = static_cast<double>(sum);
}

// Before, sum alone (Bsi::Sum: one AND-cardinality per slice).
void BM_Attr_SmallSum_BeforeSumOnly(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const Bitmap& tag = Small(d, s.range(2)).first;
  Int128 sum = 0;
  for (auto _ : s) benchmark::DoNotOptimize(sum = d.bsi.Sum(&tag));
  s.counters["result"] = static_cast<double>(sum);
}

void BM_Attr_SmallSum_Scan(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& rows = Small(d, s.range(2)).second;
  int64_t sum = 0;
  for (auto _ : s) {
    sum = 0;
    for (uint32_t r : rows) sum += d.values[r];
    benchmark::DoNotOptimize(sum);
  }
  s.counters["result"] = static_cast<double>(sum);
}

// Scan with min and max too (the baseline of "All").
void BM_Attr_SmallSum_ScanAll(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& rows = Small(d, s.range(2)).second;
  int64_t sum = 0;
  for (auto _ : s) {
    sum = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint32_t r : rows) {
      const int64_t v = d.values[r];
      sum += v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    benchmark::DoNotOptimize(sum);
    benchmark::DoNotOptimize(lo);
    benchmark::DoNotOptimize(hi);
  }
  s.counters["result"] = static_cast<double>(sum);
}

// ---- the row cache (Bsi::SetRowCacheForTesting): small filters gathered
// from a row-major copy of each chunk, against the slice walk (kOff, the
// path before), same run. Args: value bits, customers, tag ppm, mode
// (0 off, 2 always). The crossing of the two picks kRowCacheMaxRows.

void BM_Attr_RowCache_RangeAndTag(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& [tag, rows] = Small(d, s.range(2));
  const Bsi::Interval iv{d.lo, d.hi};
  Bsi::SetRowCacheForTesting(static_cast<Bsi::RowCacheMode>(s.range(3)));
  uint64_t c = 0;
  for (auto _ : s) benchmark::DoNotOptimize(c = d.bsi.SelectCount({&iv, 1}, &tag));
  Bsi::SetRowCacheForTesting(Bsi::RowCacheMode::kAuto);
  s.counters["result"] = static_cast<double>(c);
  s.counters["rows_per_chunk"] = static_cast<double>(rows.size()) / ((d.n + 65535) / 65536);
}

void BM_Attr_RowCache_Sum(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& [tag, rows] = Small(d, s.range(2));
  Bsi::SetRowCacheForTesting(static_cast<Bsi::RowCacheMode>(s.range(3)));
  Int128 sum = 0;
  for (auto _ : s) {
    benchmark::DoNotOptimize(
        sum = d.bsi.Summarize(&tag, {.sum = true, .min = false, .max = false}).sum);
  }
  Bsi::SetRowCacheForTesting(Bsi::RowCacheMode::kAuto);
  s.counters["result"] = static_cast<double>(sum);
  s.counters["rows_per_chunk"] = static_cast<double>(rows.size()) / ((d.n + 65535) / 65536);
}

// The cost of a cold cache: a fresh column (no chunks built),
// then one small-filter sum that builds every chunk the filter visits
// (all of them at 1,000 ppm).
void BM_Attr_RowCache_Build(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const Bitmap& tag = Small(d, 1000).first;
  for (auto _ : s) {
    s.PauseTiming();
    // Not Copy(): that would share the chunks already built.
    std::string blob;
    d.bsi.Serialize(&blob);
    Bsi fresh = Bsi::Deserialize({blob.data(), blob.size()}).value();
    s.ResumeTiming();
    benchmark::DoNotOptimize(fresh.Summarize(&tag, {.sum = true, .min = false, .max = false}));
    s.PauseTiming();
    s.counters["chunks"] = static_cast<double>(fresh.RowCacheChunks());
    fresh = Bsi();
    s.ResumeTiming();
  }
}

// ---- the row cache's build policy: the first query on a freshly opened
// column (cold: no chunk built, no rent paid) and the steady state of a
// query repeated (warm), for the slice walk only (mode 0, kOff), the
// ski-rental policy (1, kAuto) and build-at-once (2, kAlways, the policy
// before), beside the gather scan of a plain column (mode 3). Args: value
// bits, customers, tag ppm, op (0 range count, 1 sum), mode.

uint64_t PolicyQuery(const Data& d, const Bitmap& tag, int64_t op) {
  if (op == 0) {
    const Bsi::Interval iv{d.lo, d.hi};
    return d.bsi.SelectCount({&iv, 1}, &tag);
  }
  return static_cast<uint64_t>(
      d.bsi.Summarize(&tag, {.sum = true, .min = false, .max = false}).sum);
}

uint64_t PolicyScan(const Data& d, const std::vector<uint32_t>& rows, int64_t op) {
  uint64_t c = 0;
  int64_t sum = 0;
  for (uint32_t r : rows) {
    const int64_t v = d.values[r];
    c += (v >= d.lo) & (v <= d.hi);
    sum += v;
  }
  return op == 0 ? c : static_cast<uint64_t>(sum);
}

void BM_Attr_RowCachePolicy_Cold(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& [tag, rows] = Small(d, s.range(2));
  const int64_t op = s.range(3), mode = s.range(4);
  if (mode < 3) Bsi::SetRowCacheForTesting(static_cast<Bsi::RowCacheMode>(mode));
  uint64_t r = 0;
  for (auto _ : s) {
    const_cast<Bsi&>(d.bsi).DropRowCache();  // a freshly opened column
    const auto t0 = std::chrono::steady_clock::now();
    r = mode < 3 ? PolicyQuery(d, tag, op) : PolicyScan(d, rows, op);
    benchmark::DoNotOptimize(r);
    s.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  s.counters["chunks_built"] = static_cast<double>(d.bsi.RowCacheChunks());
  const_cast<Bsi&>(d.bsi).DropRowCache();
  Bsi::SetRowCacheForTesting(Bsi::RowCacheMode::kAuto);
  s.counters["result"] = static_cast<double>(r);
}

void BM_Attr_RowCachePolicy_Warm(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& [tag, rows] = Small(d, s.range(2));
  const int64_t op = s.range(3), mode = s.range(4);
  if (mode < 3) Bsi::SetRowCacheForTesting(static_cast<Bsi::RowCacheMode>(mode));
  const_cast<Bsi&>(d.bsi).DropRowCache();
  // Warm up: enough repeats for the chunk with the fewest filter rows to
  // have paid the build rent.
  std::vector<int32_t> per_chunk((d.n >> 16) + 1, 0);
  for (uint32_t r : rows) ++per_chunk[r >> 16];
  int32_t fewest = INT32_MAX;
  for (int32_t c : per_chunk) {
    if (c > 0) fewest = std::min(fewest, c);
  }
  const uint64_t warmup = mode == 1 && fewest != INT32_MAX
                              ? Bsi::kRowCacheBuildRent / Bsi::RowCacheRent(fewest) + 2
                              : 1;
  for (uint64_t k = 0; k < warmup; ++k) benchmark::DoNotOptimize(PolicyQuery(d, tag, op));
  uint64_t r = 0;
  for (auto _ : s) {
    benchmark::DoNotOptimize(r = mode < 3 ? PolicyQuery(d, tag, op) : PolicyScan(d, rows, op));
  }
  s.counters["chunks_built"] = static_cast<double>(d.bsi.RowCacheChunks());
  s.counters["warmup_queries"] = static_cast<double>(warmup);
  const_cast<Bsi&>(d.bsi).DropRowCache();
  Bsi::SetRowCacheForTesting(Bsi::RowCacheMode::kAuto);
  s.counters["result"] = static_cast<double>(r);
}

// 4,700 ppm: ~47,000 members at 10 M; 93 ppm: ~934; 500,000: a dense 50 % tag.
void PolicyShapes(benchmark::internal::Benchmark* b) {
  for (int64_t ppm : {4700, 93, 500000}) {
    for (int64_t op : {0, 1}) {
      for (int64_t mode : {0, 1, 2, 3}) b->Args({20, 10'000'000, ppm, op, mode});
    }
  }
  b->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_Attr_RowCachePolicy_Cold)->Apply(PolicyShapes)->UseManualTime()->Iterations(8);
BENCHMARK(BM_Attr_RowCachePolicy_Warm)->Apply(PolicyShapes);

void RowCacheShapes(benchmark::internal::Benchmark* b) {
  for (int64_t bits : {7, 20, 32}) {
    for (int64_t ppm : {1000, 4700, 10000, 20000, 40000, 60000}) {
      for (int64_t mode : {0, 2}) b->Args({bits, 10'000'000, ppm, mode});
    }
  }
  b->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_Attr_RowCache_RangeAndTag)->Apply(RowCacheShapes);
BENCHMARK(BM_Attr_RowCache_Sum)->Apply(RowCacheShapes);
BENCHMARK(BM_Attr_RowCache_Build)
    ->Args({7, 10'000'000})
    ->Args({20, 10'000'000})
    ->Args({32, 10'000'000})
    ->Unit(benchmark::kMillisecond);

// ---- the same through the public API: `消费金额 >= lo AND 小标签` counted by
// Index::Count (the planner passes the tag into the range as its filter),
// and SummarizeAttribute of the tag's segment, sum only vs everything.
// Args: value bits, customers, tag ppm.

struct IndexData {
  std::unique_ptr<Index> index;
  std::string query;
  std::optional<Segment> segment;
};

const IndexData& GetIndex(const Data& d, int64_t ppm) {
  static std::map<std::tuple<uint32_t, int, int64_t>, std::unique_ptr<IndexData>> cache;
  auto& slot = cache[{d.n, d.bits, ppm}];
  if (!slot) {
    slot = std::make_unique<IndexData>();
    IndexOptions o;
    o.key_kind = KeyKind::kIdentity;
    slot->index = Index::Create(o).value();
    Index& ix = *slot->index;
    std::vector<int64_t> keys(d.n);
    std::vector<uint32_t> rows(d.n);
    for (uint32_t i = 0; i < d.n; ++i) keys[i] = rows[i] = i;
    (void)ix.AddCustomers(keys);
    (void)ix.CreateAttribute({.name = "消费金额"});
    (void)ix.SetAttributeRows("消费金额", rows, d.values);
    const TagId tag = ix.CreateTag({.name = "小标签"}).value();
    (void)ix.TagRows(tag, Small(d, ppm).second);
    slot->query = absl::StrCat("消费金额 >= ", d.lo, " AND 小标签");
    slot->segment = ix.Query("小标签").value();
  }
  return *slot;
}

void QueryCount(benchmark::State& s, bool sparse) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const IndexData& x = GetIndex(d, s.range(2));
  Bsi::SetSparseFiltersForTesting(sparse);
  uint64_t c = 0;
  for (auto _ : s) benchmark::DoNotOptimize(c = x.index->Count(x.query).value());
  Bsi::SetSparseFiltersForTesting(true);
  s.counters["result"] = static_cast<double>(c);
}
void BM_Attr_QueryRangeAndSmallTag_Sparse(benchmark::State& s) { QueryCount(s, true); }
void BM_Attr_QueryRangeAndSmallTag_Chunk(benchmark::State& s) { QueryCount(s, false); }

void BM_Attr_QueryRangeAndSmallTag_Scan(benchmark::State& s) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const auto& rows = Small(d, s.range(2)).second;
  uint64_t c = 0;
  for (auto _ : s) {
    c = 0;
    for (uint32_t r : rows) c += d.values[r] >= d.lo;
    benchmark::DoNotOptimize(c);
  }
  s.counters["result"] = static_cast<double>(c);
}

void Summarize(benchmark::State& s, const AttributeAggregates& which) {
  const Data& d = Get(N(s), static_cast<int>(s.range(0)));
  const IndexData& x = GetIndex(d, s.range(2));
  for (auto _ : s) {
    benchmark::DoNotOptimize(x.index->SummarizeAttribute("消费金额", &*x.segment, which));
  }
}
void BM_Attr_SummarizeSmall_SumOnly(benchmark::State& s) {
  Summarize(s, {.sum = true, .min = false, .max = false});
}
void BM_Attr_SummarizeSmall_All(benchmark::State& s) { Summarize(s, {}); }

void QueryShapes(benchmark::internal::Benchmark* b) {
  for (int64_t ppm : {100, 1000, 4700, 10000}) b->Args({20, 10'000'000, ppm});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Attr_QueryRangeAndSmallTag_Sparse)->Apply(QueryShapes);
BENCHMARK(BM_Attr_QueryRangeAndSmallTag_Chunk)->Apply(QueryShapes);
BENCHMARK(BM_Attr_QueryRangeAndSmallTag_Scan)->Apply(QueryShapes);
BENCHMARK(BM_Attr_SummarizeSmall_SumOnly)->Apply(QueryShapes);
BENCHMARK(BM_Attr_SummarizeSmall_All)->Apply(QueryShapes);

// Args: value bits, customers, tag ppm (100 = 0.01 %: 1,000 rows at 10 M; 4,700:
// the "mid tag" of BENCHMARKS.md, ~47,000 rows).
void SmallShapes(benchmark::internal::Benchmark* b) {
  for (int64_t bits : {7, 20, 32}) {
    for (int64_t ppm : {100, 1000, 4700, 10000}) b->Args({bits, 10'000'000, ppm});
  }
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Attr_SmallRangeAndTag_Sparse)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallRangeAndTag_Chunk)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallRangeAndTag_Scan)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallRangeAndTagSelect_Sparse)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallRangeAndTagSelect_Chunk)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallSum_SumOnly)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallSum_BeforeSumOnly)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallSum_All)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallSum_Before)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallSum_Scan)->Apply(SmallShapes);
BENCHMARK(BM_Attr_SmallSum_ScanAll)->Apply(SmallShapes);

// Same run, the whole-chunk paths as they were (Bsi::SetFusedChunksForTesting
// (false)): the "before" of the fused kernels.
void BM_Attr_RangeCount_BsiUnfused(benchmark::State& s) {
  Bsi::SetFusedChunksForTesting(false);
  BM_Attr_RangeCount_Bsi(s);
  Bsi::SetFusedChunksForTesting(true);
}
void BM_Attr_RangeAndTagCount_BsiUnfused(benchmark::State& s) {
  Bsi::SetFusedChunksForTesting(false);
  BM_Attr_RangeAndTagCount_Bsi(s);
  Bsi::SetFusedChunksForTesting(true);
}
void BM_Attr_SumSegment_BsiUnfused(benchmark::State& s) {
  Bsi::SetFusedChunksForTesting(false);
  BM_Attr_SumSegment_Bsi(s);
  Bsi::SetFusedChunksForTesting(true);
}

// The memory roofline of the same run: a sum over an array of as many bytes
// as the column's slices (existence + sign + value slices, slice_MB). The
// roofline time of a query is slice_MB / this GB/s.
void BM_Attr_MemRead(benchmark::State& s) {
  const uint32_t n = N(s);
  const size_t words = static_cast<size_t>((s.range(0) + 2) * (n / 8.0) / 8);
  static std::map<size_t, std::vector<uint64_t>> arrays;
  std::vector<uint64_t>& a = arrays[words];
  if (a.empty()) a.assign(words, 1);
  uint64_t sum = 0;
  for (auto _ : s) {
    sum = 0;
    for (uint64_t x : a) sum += x;
    benchmark::DoNotOptimize(sum);
  }
  const double bytes = static_cast<double>(words) * 8;
  s.counters["MB"] = bytes / 1e6;
  s.counters["GB/s"] =
      benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

// Args: value bits, customers.
void Shapes(benchmark::internal::Benchmark* b) {
  for (int64_t bits : {7, 20, 32}) b->Args({bits, 10'000'000});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Attr_RangeCount_Bsi)->Apply(Shapes);
BENCHMARK(BM_Attr_RangeCount_Scan)->Apply(Shapes);
BENCHMARK(BM_Attr_RangeAndTagCount_Bsi)->Apply(Shapes);
BENCHMARK(BM_Attr_RangeAndTagCount_Scan)->Apply(Shapes);
BENCHMARK(BM_Attr_SumSegment_Bsi)->Apply(Shapes);
BENCHMARK(BM_Attr_SumSegment_Scan)->Apply(Shapes);
BENCHMARK(BM_Attr_RangeCount_BsiUnfused)->Apply(Shapes);
BENCHMARK(BM_Attr_RangeAndTagCount_BsiUnfused)->Apply(Shapes);
BENCHMARK(BM_Attr_SumSegment_BsiUnfused)->Apply(Shapes);
BENCHMARK(BM_Attr_MemRead)->Apply(Shapes);

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
