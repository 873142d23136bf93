// Mutation throughput of the Index (workload 8 of PERFORMANCE.md): bulk tag
// from sorted and shuffled keys, single tag/untag, against raw CRoaring
// add_many on the same ids (baseline R0, through our Bitmap wrapper).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "bitmap/bitmap.h"
#include "tagindex/index.h"
#include "workload.h"

namespace tagindex::bench {
namespace {

std::vector<int64_t> Keys(const std::vector<uint32_t>& rows) {
  return std::vector<int64_t>(rows.begin(), rows.end());
}

// Baseline: building the same bitmap straight from sorted ids.
void BM_Baseline_BitmapAddManySorted(benchmark::State& state) {
  WorkloadOptions w{.customers = Customers(static_cast<uint32_t>(state.range(0)))};
  const auto rows = TagRows(w, RankForDensity(w, 0.05));
  for (auto _ : state) {
    Bitmap b = Bitmap::FromIds(rows);
    benchmark::DoNotOptimize(b.Cardinality());
  }
  state.SetItemsProcessed(state.iterations() * rows.size());
}

// Index::TagMany over int64 keys: key lookups + sort + bulk add. The index
// is filled once so key mapping finds existing customers (steady state).
void BM_Index_TagManyKeys(benchmark::State& state) {
  WorkloadOptions w{.customers = Customers(static_cast<uint32_t>(state.range(0)))};
  const bool shuffled = state.range(1) != 0;
  auto rows = TagRows(w, RankForDensity(w, 0.05));
  auto keys = Keys(rows);
  if (shuffled) std::shuffle(keys.begin(), keys.end(), std::mt19937_64(7));
  auto index = Index::Create({.key_kind = KeyKind::kIdentity}).value();
  const TagId t = index->CreateTag({.name = "t"}).value();
  std::vector<int64_t> all(w.customers);
  std::iota(all.begin(), all.end(), 0);
  if (!index->AddCustomers(all).ok()) state.SkipWithError("AddCustomers failed");
  for (auto _ : state) {
    if (!index->TagMany(t, keys).ok()) state.SkipWithError("TagMany failed");
    state.PauseTiming();
    if (!index->UntagMany(t, keys).ok()) state.SkipWithError("UntagMany failed");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * keys.size());
  state.SetLabel(shuffled ? "shuffled" : "sorted");
}

void BM_Index_TagOne(benchmark::State& state) {
  auto index = Index::Create().value();
  const TagId t = index->CreateTag({.name = "t"}).value();
  std::mt19937_64 rng(3);
  const int64_t n = Customers(1'000'000);
  for (auto _ : state) {
    const int64_t key = static_cast<int64_t>(rng() % n);
    benchmark::DoNotOptimize(index->Tag(t, key));
  }
  state.SetItemsProcessed(state.iterations());
}

// The same with customer keys that need the int64 key -> row map
// (phone-number-like ids, as in storage_benchmark): one map lookup per key.
void BM_Index_TagManyInt64Keys(benchmark::State& state) {
  WorkloadOptions w{.customers = Customers(static_cast<uint32_t>(state.range(0)))};
  auto rows = TagRows(w, RankForDensity(w, 0.05));
  std::vector<int64_t> keys(rows.begin(), rows.end());
  for (int64_t& k : keys) k = k * 7919 + 13800000000;
  std::shuffle(keys.begin(), keys.end(), std::mt19937_64(7));
  auto index = Index::Create({.key_kind = KeyKind::kInt64}).value();
  const TagId t = index->CreateTag({.name = "t"}).value();
  std::vector<int64_t> all(w.customers);
  std::iota(all.begin(), all.end(), 0);
  for (int64_t& k : all) k = k * 7919 + 13800000000;
  if (!index->AddCustomers(all).ok()) state.SkipWithError("AddCustomers failed");
  for (auto _ : state) {
    if (!index->TagMany(t, keys).ok()) state.SkipWithError("TagMany failed");
    state.PauseTiming();
    if (!index->UntagMany(t, keys).ok()) state.SkipWithError("UntagMany failed");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * keys.size());
}

// Registering int64-keyed customers one batch at a time: map inserts (and
// growth) dominate.
void BM_Index_AddCustomersInt64(benchmark::State& state) {
  const uint32_t n = Customers(static_cast<uint32_t>(state.range(0)));
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  for (int64_t& k : all) k = k * 7919 + 13800000000;
  std::shuffle(all.begin(), all.end(), std::mt19937_64(5));
  for (auto _ : state) {
    state.PauseTiming();
    auto index = Index::Create({.key_kind = KeyKind::kInt64}).value();
    state.ResumeTiming();
    for (size_t i = 0; i < all.size(); i += 10'000) {
      const size_t len = std::min<size_t>(10'000, all.size() - i);
      if (!index->AddCustomers(std::span<const int64_t>(all.data() + i, len)).ok()) {
        state.SkipWithError("AddCustomers failed");
      }
    }
    state.PauseTiming();
    index.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK(BM_Baseline_BitmapAddManySorted)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Index_TagManyKeys)
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->Args({10'000'000, 0})
    ->Args({10'000'000, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Index_TagOne);
BENCHMARK(BM_Index_TagManyInt64Keys)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Index_AddCustomersInt64)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
