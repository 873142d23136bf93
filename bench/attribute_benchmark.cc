// Bit-sliced attribute columns (src/bitmap/bsi.h) beside a plain scan of a
// std::vector<int64_t> (R3), on the PERFORMANCE.md workload: 10 M customers,
// uniform values of 7 (age), 20 (spend) and 32 (timestamp) bits, a uniform
// tag of 5 % density. Counters: bytes of slices touched and the effective
// GB/s, to set against the ~13 GB/s sequential-read roofline.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

#include "bitmap/bitmap.h"
#include "bitmap/bsi.h"
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

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
