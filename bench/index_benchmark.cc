// Mutation throughput of the Index (workload 8 of PERFORMANCE.md): bulk tag
// from sorted and shuffled keys, single tag/untag, against raw CRoaring
// add_many on the same ids (baseline R0, through our Bitmap wrapper).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "bitmap/bitmap.h"
#include "bitmap/kernels.h"
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

// One-key Tag that always changes the tag, in a stated steady state:
// 1 M int64 customers with phone-number-like keys (so the KeyMap lookup is
// a probe of a 1 M-entry hash table, not run arithmetic), registered up
// front; the tag holds the customers at even positions (16 bitset
// containers). Iteration i tags the i-th of the odd-position keys in a
// fixed shuffled order: a non-member, so every timed call is one commit
// that changes the tag and copies one 8 KB container. When the odd keys
// are used up the tag is reset to the even ones outside the timing, so the
// state (customers, containers, key table) does not depend on how many
// iterations Google Benchmark picks.
//
// (The earlier form tagged random keys of an empty index: its first calls
// registered customers, its later ones mostly tagged members already, and
// the mix depended on the iteration count — see BM_Index_TagOneUpsert.)
std::vector<int64_t> PhoneKeys(int64_t n) {
  std::vector<int64_t> keys(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) keys[static_cast<size_t>(i)] = i * 7919 + 13800000000;
  return keys;
}
void BM_Index_TagOne(benchmark::State& state) {
  auto index = Index::Create().value();
  const TagId t = index->CreateTag({.name = "t"}).value();
  const int64_t n = Customers(1'000'000);
  const std::vector<int64_t> keys = PhoneKeys(n);
  if (!index->AddCustomers(keys).ok()) state.SkipWithError("AddCustomers failed");
  std::vector<int64_t> even;
  std::vector<int64_t> odd;
  for (size_t i = 0; i < keys.size(); ++i) (i % 2 == 0 ? even : odd).push_back(keys[i]);
  if (!index->TagMany(t, even).ok()) state.SkipWithError("TagMany failed");
  std::shuffle(odd.begin(), odd.end(), std::mt19937_64(3));
  size_t next = 0;
  for (auto _ : state) {
    if (next == odd.size()) {
      state.PauseTiming();
      if (!index->UntagMany(t, odd).ok()) state.SkipWithError("UntagMany failed");
      next = 0;
      state.ResumeTiming();
    }
    if (!index->Tag(t, odd[next++]).ok()) state.SkipWithError("Tag failed");
  }
  state.SetItemsProcessed(state.iterations());
}

// The earlier BM_Index_TagOne, kept for comparison with older numbers:
// random keys of [0, 1 M) tagged into an empty index with
// create_missing_customers, a mix of upserts (a new customer: KeyMap
// insert, universe change, tag change) and calls that find the key a
// member already. The mix depends on the number of calls, so it is fixed
// here (1 M calls: ~63 % register a customer).
void BM_Index_TagOneUpsert(benchmark::State& state) {
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

// One-key Tag and Untag that always change the tag: 1 M customers, the tag
// holds the even keys (bitset containers); each iteration tags a random odd
// key and untags it again (two commits, each copying the touched container).
// Customer keys 0..n-1 ascend by one, so the KeyMap finds them by run
// arithmetic (BM_Index_TagOne pays a hash probe). Steady state: the tag is
// the same after every iteration.
void BM_Index_TagUntagOne(benchmark::State& state) {
  auto index = Index::Create().value();
  const TagId t = index->CreateTag({.name = "t"}).value();
  const int64_t n = Customers(1'000'000);
  std::vector<int64_t> keys(static_cast<size_t>(n));
  std::iota(keys.begin(), keys.end(), int64_t{0});
  if (!index->AddCustomers(keys).ok()) state.SkipWithError("AddCustomers failed");
  std::vector<int64_t> even;
  for (int64_t k = 0; k < n; k += 2) even.push_back(k);
  if (!index->TagMany(t, even).ok()) state.SkipWithError("TagMany failed");
  std::mt19937_64 rng(5);
  for (auto _ : state) {
    const int64_t key = static_cast<int64_t>(rng() % static_cast<uint64_t>(n)) | 1;
    if (!index->Tag(t, key).ok()) state.SkipWithError("Tag failed");
    if (!index->Untag(t, key).ok()) state.SkipWithError("Untag failed");
  }
  state.SetItemsProcessed(state.iterations() * 2);
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

// Issue #16's bulk-build cell through the public API: TagRows of every one
// of 10 M identity customers, sorted or shuffled (arg 1), end to end (the
// universe check, the batch bitmap, the merge into the tag, the commit),
// against CRoaring's add_many of the same ids in the same run
// (BM_Baseline_CRoaringAddMany). The tag is emptied between iterations,
// outside the timing.
const std::vector<uint32_t>& AllIds(uint32_t n, bool shuffled) {
  static std::map<std::pair<uint32_t, bool>, std::vector<uint32_t>> cache;
  auto& ids = cache[{n, shuffled}];
  if (ids.empty()) {
    ids.resize(n);
    std::iota(ids.begin(), ids.end(), 0);
    if (shuffled) std::shuffle(ids.begin(), ids.end(), std::mt19937_64(7));
  }
  return ids;
}
void BM_Baseline_CRoaringAddMany(benchmark::State& state) {
  const auto& ids = AllIds(Customers(static_cast<uint32_t>(state.range(0))), state.range(1) != 0);
  for (auto _ : state) {
    Bitmap b = kernels::croaring::FromIdsAddMany(ids);
    benchmark::DoNotOptimize(b.raw());
  }
  state.SetItemsProcessed(state.iterations() * ids.size());
  state.SetLabel(state.range(1) != 0 ? "shuffled" : "sorted");
}
void BM_Index_TagRowsAll(benchmark::State& state) {
  const uint32_t n = Customers(static_cast<uint32_t>(state.range(0)));
  const auto& ids = AllIds(n, state.range(1) != 0);
  auto index = Index::Create({.key_kind = KeyKind::kIdentity}).value();
  const TagId t = index->CreateTag({.name = "t"}).value();
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  if (!index->AddCustomers(all).ok()) state.SkipWithError("AddCustomers failed");
  for (auto _ : state) {
    if (!index->TagRows(t, ids).ok()) state.SkipWithError("TagRows failed");
    state.PauseTiming();
    if (index->TagCardinality(t).value() != n) state.SkipWithError("wrong cardinality");
    if (!index->UntagRows(t, AllIds(n, false)).ok()) state.SkipWithError("UntagRows failed");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * ids.size());
  state.SetLabel(state.range(1) != 0 ? "shuffled" : "sorted");
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
BENCHMARK(BM_Index_TagOneUpsert)->Iterations(1'000'000);
BENCHMARK(BM_Index_TagUntagOne);
BENCHMARK(BM_Index_TagManyInt64Keys)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Baseline_CRoaringAddMany)
    ->Args({10'000'000, 0})
    ->Args({10'000'000, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Index_TagRowsAll)
    ->Args({10'000'000, 0})
    ->Args({10'000'000, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Index_AddCustomersInt64)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
