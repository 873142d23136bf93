// Readers against a writer (issue #11). Public API only, so the same file
// builds against an older tree for a same-run before/after (build it in a
// copy of main and run both binaries alternately; see docs/design_notes.md
// "Versions").
//
// Uncontended (Google Benchmark timing):
//   BM_Uncontended_Count    Count("A AND B AND NOT C") on 10 M customers
//                           (50 %, 5 %, 5 % uniform tags), one thread
//   BM_Uncontended_Tag      one Tag(key) of a random existing customer into
//                           a 50 %-dense tag (in memory), items/s
//   BM_Uncontended_TagMany  TagMany of 100,000 random keys into a 5 % tag
//
// Contended (BM_Contended, one iteration each, manual time; modes below at
// BM_Contended): R reader
// threads run the same Count back to back while one writer either tags one
// random customer every millisecond (mode 0) or runs TagMany of 100,000 keys
// followed by Checkpoint in a loop (mode 1, a persistent index under /tmp,
// SyncPolicy::kNone). Counters report the readers' and the writer's
// latency p50 / p99 / max in microseconds and how many operations each
// side completed in the fixed window. The machine has 2 vCPUs: with 2 or 4
// readers plus a writer the threads share them, so latencies include
// waiting for a CPU, not only for the index.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tagindex/tagindex.h"

namespace tagindex::bench {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t Scaled(uint64_t n) {
  static const bool smoke = std::getenv("TAGINDEX_BENCH_SMOKE") != nullptr;
  return smoke ? std::max<uint64_t>(n / 1000, 1000) : n;
}

double WindowSeconds() {
  static const bool smoke = std::getenv("TAGINDEX_BENCH_SMOKE") != nullptr;
  return smoke ? 0.2 : 3.0;
}

constexpr const char* kQuery = "A AND B AND NOT C";

int64_t Key(uint64_t i) { return static_cast<int64_t>(i * 7919 + 13800000000); }

// customers int64 customers; tags A (50 %), B (5 %), C (5 %), W (50 %, the
// writer's target), uniform random with a fixed seed.
struct Fixture {
  std::string dir;
  std::unique_ptr<Index> index;
  TagId a, b, c, w;
  uint64_t n;

  Fixture(uint64_t customers, bool persistent) : n(Scaled(customers)) {
    IndexOptions io{.key_kind = KeyKind::kInt64};
    if (!persistent) {
      index = Index::Create(io).value();
    } else {
      char tmpl[] = "/tmp/tagindex-concbench-XXXXXX";
      dir = ::mkdtemp(tmpl);
      OpenOptions o;
      o.create_if_missing = true;
      o.index = io;
      o.sync = SyncPolicy::kNone;
      o.max_log_record_bytes = uint64_t{1} << 30;
      index = Index::Open(dir, o).value();
    }
    std::vector<int64_t> keys(n);
    for (uint64_t i = 0; i < n; ++i) keys[i] = Key(i);
    for (size_t i = 0; i < keys.size(); i += 1'000'000) {
      const size_t len = std::min<size_t>(1'000'000, keys.size() - i);
      if (!index->AddCustomers(std::span<const int64_t>(keys.data() + i, len)).ok()) std::abort();
    }
    a = index->CreateTag({.name = "A"}).value();
    b = index->CreateTag({.name = "B"}).value();
    c = index->CreateTag({.name = "C"}).value();
    w = index->CreateTag({.name = "W"}).value();
    std::mt19937_64 rng(42);
    auto fill = [&](TagId t, uint64_t percent) {
      std::vector<RowId> rows;
      for (uint64_t i = 0; i < n; ++i) {
        if (rng() % 100 < percent) rows.push_back(static_cast<RowId>(i));
      }
      if (!index->TagRows(t, rows).ok()) std::abort();
    };
    fill(a, 50);
    fill(b, 5);
    fill(c, 5);
    fill(w, 50);
    if (persistent && !index->Checkpoint().ok()) std::abort();
  }
  ~Fixture() {
    index.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

Fixture& Memory() {
  static Fixture* f = new Fixture(10'000'000, false);
  return *f;
}

void BM_Uncontended_Count(benchmark::State& state) {
  Fixture& f = Memory();
  for (auto _ : state) {
    auto n = f.index->Count(kQuery);
    if (!n.ok()) state.SkipWithError("Count failed");
    benchmark::DoNotOptimize(n);
  }
}

void BM_Uncontended_Tag(benchmark::State& state) {
  Fixture& f = Memory();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    if (!f.index->Tag(f.w, Key(rng() % f.n)).ok()) state.SkipWithError("Tag failed");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_Uncontended_TagMany(benchmark::State& state) {
  Fixture& f = Memory();
  std::mt19937_64 rng(2);
  std::vector<int64_t> keys(100'000);
  for (auto _ : state) {
    state.PauseTiming();
    for (int64_t& k : keys) k = Key(rng() % f.n);
    state.ResumeTiming();
    if (!f.index->TagMany(f.b, keys).ok()) state.SkipWithError("TagMany failed");
    state.PauseTiming();
    if (!f.index->UntagMany(f.b, keys).ok()) state.SkipWithError("UntagMany failed");
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(keys.size()));
}

struct Latencies {
  std::vector<double> us;
  void Add(Clock::time_point start) {
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

void Report(benchmark::State& state, const char* who, const std::vector<double>& us) {
  state.counters[std::string(who) + "_p50_us"] = Percentile(us, 0.50);
  state.counters[std::string(who) + "_p99_us"] = Percentile(us, 0.99);
  state.counters[std::string(who) + "_max_us"] =
      us.empty() ? 0 : *std::max_element(us.begin(), us.end());
  state.counters[std::string(who) + "_ops"] = static_cast<double>(us.size());
}

// range(0): reader threads; range(1): writer mode:
//   0  in memory: Tag every ms
//   1  persistent: TagMany 100k + Checkpoint in a loop (one thread)
//   2  persistent: Tag every ms while another thread checkpoints back to
//      back (counters "checkpoint_*": each checkpoint's duration)
//   3  persistent: Tag every ms, no checkpoints (mode 2's baseline)
void BM_Contended(benchmark::State& state) {
  const int readers = static_cast<int>(state.range(0));
  const int mode = static_cast<int>(state.range(1));
  static Fixture* persistent = nullptr;
  if (mode != 0 && persistent == nullptr) persistent = new Fixture(10'000'000, true);
  Fixture& f = mode == 0 ? Memory() : *persistent;
  for (auto _ : state) {
    std::atomic<bool> stop{false};
    std::vector<Latencies> reads(static_cast<size_t>(readers));
    Latencies writes;
    std::vector<std::thread> pool;
    const Clock::time_point begin = Clock::now();
    for (int r = 0; r < readers; ++r) {
      pool.emplace_back([&, r] {
        while (!stop.load(std::memory_order_relaxed)) {
          const Clock::time_point t = Clock::now();
          auto n = f.index->Count(kQuery);
          if (!n.ok()) std::abort();
          reads[static_cast<size_t>(r)].Add(t);
        }
      });
    }
    std::thread writer([&] {
      std::mt19937_64 rng(3);
      std::vector<int64_t> keys(100'000);
      Clock::time_point next = Clock::now();
      while (!stop.load(std::memory_order_relaxed)) {
        if (mode != 1) {
          next += std::chrono::milliseconds(1);
          std::this_thread::sleep_until(next);
          const Clock::time_point t = Clock::now();
          if (!f.index->Tag(f.w, Key(rng() % f.n)).ok()) std::abort();
          writes.Add(t);
        } else {
          for (int64_t& k : keys) k = Key(rng() % f.n);
          Clock::time_point t = Clock::now();
          if (!f.index->TagMany(f.w, keys).ok()) std::abort();
          writes.Add(t);
          t = Clock::now();
          if (!f.index->Checkpoint().ok()) std::abort();
          writes.Add(t);
        }
      }
    });
    Latencies checkpoints;
    std::thread checkpointer([&] {
      while (mode == 2 && !stop.load(std::memory_order_relaxed)) {
        const Clock::time_point t = Clock::now();
        if (!f.index->Checkpoint().ok()) std::abort();
        checkpoints.Add(t);
      }
    });
    std::this_thread::sleep_for(std::chrono::duration<double>(WindowSeconds()));
    stop.store(true);
    writer.join();
    checkpointer.join();
    for (std::thread& t : pool) t.join();
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - begin).count());
    std::vector<double> all;
    for (const Latencies& l : reads) all.insert(all.end(), l.us.begin(), l.us.end());
    Report(state, "read", all);
    Report(state, "write", writes.us);
    if (mode == 2) Report(state, "checkpoint", checkpoints.us);
  }
  static const char* const kLabels[] = {
      "writer: Tag every 1 ms", "writer: TagMany 100k + Checkpoint",
      "persistent; writer: Tag every 1 ms; another thread: Checkpoint back to back",
      "persistent; writer: Tag every 1 ms; no checkpoint"};
  state.SetLabel(kLabels[mode]);
}

BENCHMARK(BM_Uncontended_Count)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Uncontended_Tag);
BENCHMARK(BM_Uncontended_TagMany)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Contended)
    ->ArgsProduct({{1, 2, 4}, {0, 1, 2, 3}})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
