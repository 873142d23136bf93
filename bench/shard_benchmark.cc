// The scale benchmark of issue #17: N customers x 100 Zipf tags (bench/
// workload.h, uniform layout), one unsharded identity-keyed index and the
// same data split into 8 shards by row range (ShardedIndex::LoadFrom).
//
//   count(A AND B AND NOT C)       A = 25 %, B = 10 %, C = 2.5 % of customers
//   profile                        the same segment AND each of the 100 tags
//                                  (100 query counts)
//   analytics profile              Profile(segment): the library's tag profile
//                                  (count, share, TGI of every tag), one
//                                  segment intersected with each tag, merged
//                                  exactly across shards (#14's analytics)
//
// each on: the unsharded index, one shard alone (the per-shard cost), the
// 8 shards on 1 thread, and on every thread of the machine. Customers:
// Times are wall clock (UseRealTime); the CPU column is the whole
// process's CPU time (MeasureProcessCPUTime), so sharded runs show the
// total work of every pool thread. TAGINDEX_SCALE_CUSTOMERS (default 10,000,000; the target
// is 100,000,000: bash bench/scale/run_scale.sh 100000000), 100,000 in smoke runs. Shards:
// TAGINDEX_SCALE_SHARDS (default 8).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tagindex/tagindex.h"
#include "workload.h"

namespace {

using tagindex::Index;
using tagindex::ShardedIndex;

constexpr uint32_t kTags = 100;

uint32_t EnvU32(const char* name, uint32_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? static_cast<uint32_t>(std::strtoul(v, nullptr, 10))
                                    : fallback;
}

struct Data {
  tagindex::bench::WorkloadOptions options;
  std::unique_ptr<Index> unsharded;
  std::unique_ptr<ShardedIndex> sharded;
  std::string query;
  std::vector<std::string> profile;  // query AND tag i, for every tag
};

std::string TagName(uint32_t rank) { return "t" + std::to_string(rank); }

const Data& GetData() {
  static const Data* data = [] {
    auto* d = new Data;
    d->options.customers =
        tagindex::bench::Customers(EnvU32("TAGINDEX_SCALE_CUSTOMERS", 10'000'000));
    d->options.tags = kTags;
    d->options.seed = 17;
    const uint32_t n = d->options.customers;
    d->unsharded = Index::Create({.key_kind = tagindex::KeyKind::kIdentity}).value();
    {
      std::vector<int64_t> keys(n);
      for (uint32_t i = 0; i < n; ++i) keys[i] = i;
      if (!d->unsharded->AddCustomers(keys).ok()) std::abort();
    }
    for (uint32_t r = 0; r < kTags; ++r) {
      tagindex::TagId t = d->unsharded->CreateTag({.name = TagName(r)}).value();
      std::vector<uint32_t> rows = tagindex::bench::TagRows(d->options, r);
      if (!d->unsharded->TagRows(t, rows).ok()) std::abort();
    }
    tagindex::ShardedOpenOptions o;
    o.shard.create_if_missing = true;
    o.create.shards = EnvU32("TAGINDEX_SCALE_SHARDS", 8);
    o.create.index.key_kind = tagindex::KeyKind::kIdentity;
    o.create.rows_per_shard = (uint64_t{n} + o.create.shards - 1) / o.create.shards;
    d->sharded = ShardedIndex::CreateInMemory(o).value();
    if (!d->sharded->LoadFrom(*d->unsharded).ok()) std::abort();
    const uint32_t a = tagindex::bench::RankForDensity(d->options, 0.25);
    const uint32_t b = tagindex::bench::RankForDensity(d->options, 0.10);
    const uint32_t c = tagindex::bench::RankForDensity(d->options, 0.025);
    d->query = TagName(a) + " AND " + TagName(b) + " AND NOT " + TagName(c);
    for (uint32_t r = 0; r < kTags; ++r) d->profile.push_back(d->query + " AND " + TagName(r));
    // The tags' size in the portable Roaring format (what a snapshot holds
    // and about what they take in memory), for the memory estimate.
    uint64_t bytes = 0, memberships = 0;
    const auto listed16 = d->unsharded->ListTags().value();
    for (const tagindex::TagInfo& t : listed16) {
      bytes += d->unsharded->ExportTag(t.id).value().size();
      memberships += t.count;
    }
    std::fprintf(stderr,
                 "scale benchmark: %u customers, %u tags, %llu memberships, %.1f MB of tag "
                 "bitmaps (%.2f bytes per customer), %u shards, query '%s' = %llu\n",
                 n, kTags, static_cast<unsigned long long>(memberships), bytes / 1e6,
                 static_cast<double>(bytes) / n, d->sharded->shard_count(), d->query.c_str(),
                 static_cast<unsigned long long>(d->unsharded->Count(d->query).value()));
    return d;
  }();
  return *data;
}

void Check(uint64_t got, uint64_t want, benchmark::State& state) {
  if (got != want) state.SkipWithError("sharded and unsharded counts differ");
}

void BM_Count_Unsharded(benchmark::State& state) {
  const Data& d = GetData();
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = d.unsharded->Count(d.query).value());
  state.counters["customers"] = static_cast<double>(d.options.customers);
  state.counters["count"] = static_cast<double>(n);
}

void BM_Count_OneShard(benchmark::State& state) {
  const Data& d = GetData();
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = d.sharded->shard(0).Count(d.query).value());
  state.counters["shard_customers"] = static_cast<double>(d.sharded->shard(0).CustomerCount());
}

// Arg: pool threads (0 = every core).
void BM_Count_Sharded(benchmark::State& state) {
  const Data& d = GetData();
  d.sharded->SetThreads(static_cast<uint32_t>(state.range(0)));
  const uint64_t want = d.unsharded->Count(d.query).value();
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = d.sharded->Count(d.query).value());
  Check(n, want, state);
  state.counters["threads"] = d.sharded->threads();
}

void BM_Profile_Unsharded(benchmark::State& state) {
  const Data& d = GetData();
  for (auto _ : state) {
    uint64_t sum = 0;
    for (const std::string& q : d.profile) sum += d.unsharded->Count(q).value();
    benchmark::DoNotOptimize(sum);
  }
}

void BM_Profile_Sharded(benchmark::State& state) {
  const Data& d = GetData();
  d.sharded->SetThreads(static_cast<uint32_t>(state.range(0)));
  for (auto _ : state) {
    uint64_t sum = 0;
    for (const std::string& q : d.profile) sum += d.sharded->Count(q).value();
    benchmark::DoNotOptimize(sum);
  }
  state.counters["threads"] = d.sharded->threads();
}

// The analytics call a user makes: the segment once, then Profile over
// every tag (ShardedIndex::Profile merges the per-shard counts exactly).
void BM_AnalyticsProfile_Unsharded(benchmark::State& state) {
  const Data& d = GetData();
  for (auto _ : state) {
    tagindex::Segment seg = d.unsharded->Query(d.query).value();
    tagindex::SegmentProfile p = d.unsharded->Profile(seg).value();
    benchmark::DoNotOptimize(p.rows.data());
  }
}

void BM_AnalyticsProfile_Sharded(benchmark::State& state) {
  const Data& d = GetData();
  d.sharded->SetThreads(static_cast<uint32_t>(state.range(0)));
  {
    const tagindex::SegmentProfile want =
        d.unsharded->Profile(d.unsharded->Query(d.query).value()).value();
    const tagindex::SegmentProfile got =
        d.sharded->Profile(d.sharded->Query(d.query).value()).value();
    bool same = got.rows.size() == want.rows.size();
    for (size_t i = 0; same && i < got.rows.size(); ++i) {
      same = got.rows[i].name == want.rows[i].name && got.rows[i].count == want.rows[i].count;
    }
    if (!same) state.SkipWithError("sharded and unsharded profiles differ");
  }
  for (auto _ : state) {
    tagindex::ShardedSegment seg = d.sharded->Query(d.query).value();
    tagindex::SegmentProfile p = d.sharded->Profile(seg).value();
    benchmark::DoNotOptimize(p.rows.data());
  }
  state.counters["threads"] = d.sharded->threads();
}

BENCHMARK(BM_Count_Unsharded)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Count_OneShard)->UseRealTime()->MeasureProcessCPUTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Count_Sharded)
    ->Arg(1)
    ->Arg(2)
    ->Arg(0)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Profile_Unsharded)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Profile_Sharded)
    ->Arg(1)
    ->Arg(2)
    ->Arg(0)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_AnalyticsProfile_Unsharded)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AnalyticsProfile_Sharded)
    ->Arg(1)
    ->Arg(2)
    ->Arg(0)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
