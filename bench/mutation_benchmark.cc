// Mutation costs through the commit pipeline, per sync policy: Tag (one
// key), TagMany of 1 M and 10 M int64 keys, AddCustomers of new keys in
// batches of 10,000; and 1,000 mutations as one WriteBatch against 1,000
// single calls under kEveryWrite. Persistent indexes live in directories
// under /tmp. Policy argument: 0 kEveryWrite, 1 kGroupCommit, 2 kNone,
// 3 in memory (no log: the baseline of the pipeline itself).
//
// The file builds against older trees without WriteBatch too (the batch
// benchmarks are left out there), so that "before" and "after" run the
// same code: build it in a checkout of the base and run both alternately.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "tagindex/tagindex.h"
#if __has_include("tagindex/write_batch.h")
#include "tagindex/write_batch.h"
#define TAGINDEX_BENCH_HAS_WRITE_BATCH 1
#endif

namespace tagindex::bench {
namespace {

// TAGINDEX_BENCH_SMOKE=1 (scripts/bench_smoke.sh) shrinks every workload.
uint64_t Scaled(uint64_t n) {
  static const bool smoke = std::getenv("TAGINDEX_BENCH_SMOKE") != nullptr;
  return smoke ? std::max<uint64_t>(n / 1000, 10) : n;
}

const char* PolicyName(int64_t p) {
  return p == 0 ? "every-write" : p == 1 ? "group-commit" : p == 2 ? "none" : "in-memory";
}

std::vector<int64_t> PhoneKeys(uint64_t n, uint64_t first = 0) {
  std::vector<int64_t> keys(n);
  for (uint64_t i = 0; i < n; ++i) keys[i] = static_cast<int64_t>((first + i) * 7919 + 13800000000);
  return keys;
}

// An index of `customers` int64 customers and one tag "t", persistent
// under `policy` (in a fresh directory) or in memory.
struct Fixture {
  std::string dir;
  std::unique_ptr<Index> index;
  TagId tag;

  Fixture(uint64_t customers, int64_t policy) {
    IndexOptions io{.key_kind = KeyKind::kInt64};
    if (policy == 3) {
      index = Index::Create(io).value();
    } else {
      char tmpl[] = "/tmp/tagindex-mutbench-XXXXXX";
      dir = ::mkdtemp(tmpl);
      OpenOptions o;
      o.create_if_missing = true;
      o.index = io;
      o.sync = static_cast<SyncPolicy>(policy);
      o.group_commit_interval_ms = 1;
      o.max_log_record_bytes = uint64_t{1} << 30;
      index = Index::Open(dir, o).value();
    }
    tag = index->CreateTag({.name = "t"}).value();
    const std::vector<int64_t> keys = PhoneKeys(Scaled(customers));
    for (size_t i = 0; i < keys.size(); i += 1'000'000) {
      const size_t len = std::min<size_t>(1'000'000, keys.size() - i);
      (void)index->AddCustomers(std::span<const int64_t>(keys.data() + i, len));
    }
    if (index->persistent()) (void)index->Checkpoint();
  }
  ~Fixture() {
    index.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

// One-key Tag that always changes the tag, in a steady state (as
// index_benchmark's BM_Index_TagOne): the tag holds the customers at even
// positions; iteration i tags the i-th odd-position key of a fixed shuffled
// order, and when those run out the tag is reset to the even ones outside
// the timing. So every timed call is one commit that changes one bit, and
// the state does not depend on the iteration count.
void BM_Mutation_Tag(benchmark::State& state) {
  Fixture f(1'000'000, state.range(0));
  const std::vector<int64_t> keys = PhoneKeys(Scaled(1'000'000));
  std::vector<int64_t> even;
  std::vector<int64_t> odd;
  for (size_t i = 0; i < keys.size(); ++i) (i % 2 == 0 ? even : odd).push_back(keys[i]);
  if (!f.index->TagMany(f.tag, even).ok()) state.SkipWithError("TagMany failed");
  std::shuffle(odd.begin(), odd.end(), std::mt19937_64(1));
  size_t next = 0;
  for (auto _ : state) {
    if (next == odd.size()) {
      state.PauseTiming();
      if (!f.index->UntagMany(f.tag, odd).ok()) state.SkipWithError("UntagMany failed");
      next = 0;
      state.ResumeTiming();
    }
    if (!f.index->Tag(f.tag, odd[next++]).ok()) state.SkipWithError("Tag failed");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(PolicyName(state.range(0)));
}

// TagMany of every customer (shuffled keys), then UntagMany untimed.
void BM_Mutation_TagMany(benchmark::State& state) {
  const uint64_t n = Scaled(static_cast<uint64_t>(state.range(0)));
  Fixture f(n, state.range(1));
  std::vector<int64_t> keys = PhoneKeys(n);
  std::shuffle(keys.begin(), keys.end(), std::mt19937_64(7));
  for (auto _ : state) {
    if (!f.index->TagMany(f.tag, keys).ok()) state.SkipWithError("TagMany failed");
    state.PauseTiming();
    if (!f.index->UntagMany(f.tag, keys).ok()) state.SkipWithError("UntagMany failed");
    if (f.index->persistent() && !f.index->Checkpoint().ok()) state.SkipWithError("checkpoint");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
  state.SetLabel(PolicyName(state.range(1)));
}

// AddCustomers of 10,000 new keys per call.
void BM_Mutation_AddCustomers(benchmark::State& state) {
  Fixture f(0, state.range(0));
  uint64_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::vector<int64_t> keys = PhoneKeys(10'000, next);
    next += keys.size();
    state.ResumeTiming();
    if (!f.index->AddCustomers(keys).ok()) state.SkipWithError("AddCustomers failed");
  }
  state.SetItemsProcessed(state.iterations() * 10'000);
  state.SetLabel(PolicyName(state.range(0)));
}

// 1,000 single-key Tag calls, each durable on its own (kEveryWrite).
void BM_Mutation_1000Singles(benchmark::State& state) {
  Fixture f(100'000, 0);
  const std::vector<int64_t> keys = PhoneKeys(Scaled(100'000));
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    for (int i = 0; i < 1000; ++i) {
      if (!f.index->Tag(f.tag, keys[rng() % keys.size()]).ok()) state.SkipWithError("Tag failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetLabel("every-write, 1000 calls");
}

#ifdef TAGINDEX_BENCH_HAS_WRITE_BATCH
// The same 1,000 mutations as one WriteBatch: one record, one fsync.
void BM_Mutation_1000AsBatch(benchmark::State& state) {
  Fixture f(100'000, 0);
  const std::vector<int64_t> keys = PhoneKeys(Scaled(100'000));
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    WriteBatch batch;
    for (int i = 0; i < 1000; ++i) {
      const int64_t key = keys[rng() % keys.size()];
      batch.Tag(f.tag, std::span<const int64_t>(&key, 1));
    }
    if (!f.index->Write(batch).ok()) state.SkipWithError("Write failed");
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetLabel("every-write, 1 batch (building it included)");
}
BENCHMARK(BM_Mutation_1000AsBatch)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

BENCHMARK(BM_Mutation_Tag)->Arg(0)->Arg(1)->Arg(2)->Arg(3)->UseRealTime();
BENCHMARK(BM_Mutation_TagMany)
    ->ArgsProduct({{1'000'000}, {0, 1, 2, 3}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);
BENCHMARK(BM_Mutation_TagMany)
    ->ArgsProduct({{10'000'000}, {0, 1, 2, 3}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(2);
BENCHMARK(BM_Mutation_AddCustomers)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Mutation_1000Singles)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
