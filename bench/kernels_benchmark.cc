// Fused kernels vs CRoaring 0.2.66 (R0) vs a dense-bitset kernel (R2, the
// roofline), on the PERFORMANCE.md workload: uniform random tags of a given
// density over N customers.
#include <benchmark/benchmark.h>

#include <bit>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include "bitmap/bitmap.h"
#include "bitmap/kernels.h"
#include "workload.h"

namespace tagindex::bench {
namespace {

struct Data {
  Bitmap a, b, c;
  std::vector<uint64_t> da, db, dc;  // dense bitsets of the same sets
};

// Tags of density p/1000 over n customers; three independent seeds.
const Data& Get(uint32_t n, int64_t permille) {
  static std::map<std::pair<uint32_t, int64_t>, std::unique_ptr<Data>> cache;
  auto& slot = cache[{n, permille}];
  if (!slot) {
    slot = std::make_unique<Data>();
    auto make = [&](uint64_t seed, Bitmap* bm, std::vector<uint64_t>* dense) {
      // Density is set directly: s = 0 makes every rank's density 0.5, so
      // scale through zipf by picking the rank with the wanted density.
      WorkloadOptions w{.customers = n, .tags = 100000, .seed = seed};
      const auto rows = TagRows(w, RankForDensity(w, permille / 1000.0));
      *bm = Bitmap::FromIds(rows);
      dense->assign((n + 63) / 64, 0);
      for (uint32_t r : rows) (*dense)[r >> 6] |= uint64_t{1} << (r & 63);
    };
    make(1, &slot->a, &slot->da);
    make(2, &slot->b, &slot->db);
    make(3, &slot->c, &slot->dc);
  }
  return *slot;
}

__attribute__((target("popcnt"))) uint64_t DenseAndCount(const std::vector<uint64_t>& a,
                                                         const std::vector<uint64_t>& b) {
  uint64_t c = 0;
  for (size_t i = 0; i < a.size(); ++i) c += std::popcount(a[i] & b[i]);
  return c;
}
__attribute__((target("popcnt"))) uint64_t DenseAndAndNotCount(const std::vector<uint64_t>& a,
                                                               const std::vector<uint64_t>& b,
                                                               const std::vector<uint64_t>& c) {
  uint64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::popcount(a[i] & b[i] & ~c[i]);
  return n;
}

uint32_t N(const benchmark::State& s) { return Customers(static_cast<uint32_t>(s.range(0))); }

void BM_Count_AB_CRoaring(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::croaring::AndCardinality(d.a, d.b));
  state.counters["result"] = static_cast<double>(n);
}
void BM_Count_AB_Kernel(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  const Bitmap* pos[] = {&d.a, &d.b};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::AndAndNotCardinality(pos, {}));
  if (n != kernels::croaring::AndCardinality(d.a, d.b)) state.SkipWithError("count mismatch");
  state.counters["result"] = static_cast<double>(n);
  state.SetLabel(kernels::ActiveIsa());
}
void BM_Count_AB_DenseBitset(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = DenseAndCount(d.da, d.db));
  state.counters["result"] = static_cast<double>(n);
}

void BM_Count_ABnotC_CRoaring(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n = kernels::croaring::AndAndNotCardinality(d.a, d.b, d.c));
  }
  state.counters["result"] = static_cast<double>(n);
}
void BM_Count_ABnotC_Kernel(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  const Bitmap* pos[] = {&d.a, &d.b};
  const Bitmap* neg[] = {&d.c};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::AndAndNotCardinality(pos, neg));
  if (n != kernels::croaring::AndAndNotCardinality(d.a, d.b, d.c)) {
    state.SkipWithError("count mismatch");
  }
  state.counters["result"] = static_cast<double>(n);
}
void BM_Count_ABnotC_DenseBitset(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = DenseAndAndNotCount(d.da, d.db, d.dc));
  state.counters["result"] = static_cast<double>(n);
}

void BM_Materialize_AB_CRoaring(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  for (auto _ : state) {
    Bitmap r = kernels::croaring::And(d.a, d.b);
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Materialize_AB_Kernel(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  const Bitmap* pos[] = {&d.a, &d.b};
  for (auto _ : state) {
    Bitmap r = kernels::AndAndNot(pos, {});
    benchmark::DoNotOptimize(r.raw());
  }
  if (!kernels::AndAndNot(pos, {}).Equals(kernels::croaring::And(d.a, d.b))) {
    state.SkipWithError("result mismatch");
  }
}

void BM_Materialize_AnotB_CRoaring(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  for (auto _ : state) {
    Bitmap r = kernels::croaring::AndNot(d.a, d.b);
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Materialize_AnotB_Kernel(benchmark::State& state) {
  const Data& d = Get(N(state), state.range(1));
  const Bitmap* pos[] = {&d.a};
  const Bitmap* neg[] = {&d.b};
  for (auto _ : state) {
    Bitmap r = kernels::AndAndNot(pos, neg);
    benchmark::DoNotOptimize(r.raw());
  }
  if (!kernels::AndAndNot(pos, neg).Equals(kernels::croaring::AndNot(d.a, d.b))) {
    state.SkipWithError("result mismatch");
  }
}

// Args: customers, density in permille (500 = 50 %).
void Densities(benchmark::internal::Benchmark* b) {
  for (int64_t n : {1'000'000, 10'000'000}) {
    for (int64_t permille : {500, 50, 10, 1}) b->Args({n, permille});
  }
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Count_AB_CRoaring)->Apply(Densities);
BENCHMARK(BM_Count_AB_Kernel)->Apply(Densities);
BENCHMARK(BM_Count_AB_DenseBitset)->Apply(Densities);
BENCHMARK(BM_Count_ABnotC_CRoaring)->Apply(Densities);
BENCHMARK(BM_Count_ABnotC_Kernel)->Apply(Densities);
BENCHMARK(BM_Count_ABnotC_DenseBitset)->Apply(Densities);
BENCHMARK(BM_Materialize_AB_CRoaring)->Apply(Densities);
BENCHMARK(BM_Materialize_AB_Kernel)->Apply(Densities);
BENCHMARK(BM_Materialize_AnotB_CRoaring)->Apply(Densities);
BENCHMARK(BM_Materialize_AnotB_Kernel)->Apply(Densities);

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
