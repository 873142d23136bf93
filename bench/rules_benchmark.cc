// Rule-tag refresh (include/tagindex/rule_tags.h) through the public API at
// 10 M customers (1 M under TAGINDEX_BENCH_SMOKE): after 1 % of the
// customers changed, an incremental refresh (re-evaluates the changed rows
// only) against a full refresh (every customer), in the same run, on the
// same index and the same changes. The rule is a typical CRM one:
//   高价值活跃 = 消费金额 >= 1000 AND NOT 流失 AND 最近购买 >= today - 90d
// Arguments: what changed — 0: 消费金额 of 1 % of the customers (set to new
// values), 1: 1 % of the customers tagged or untagged 流失, 2: no row
// changed but today moved by one day, alternately forward and back (the
// incremental refresh re-evaluates the rows whose 最近购买 lies between the
// old and the new bound).
// Only the RefreshRules call is timed (manual time); the changes are made
// between timings. Both variants must reach the same members (checked).
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tagindex/tagindex.h"
#include "workload.h"

namespace tagindex::bench {
namespace {

constexpr int64_t kToday = 20790;  // 2026-12-02

struct Data {
  std::unique_ptr<Index> index;
  TagId churn, rule;
  uint32_t n = 0;
  std::mt19937_64 rng{2026};
  int64_t today = kToday;
};

Data& Get() {
  static std::unique_ptr<Data> data;
  if (data) return *data;
  data = std::make_unique<Data>();
  Data& d = *data;
  d.n = SmokeRun() ? 1'000'000 : 10'000'000;
  IndexOptions o;
  o.key_kind = KeyKind::kIdentity;
  d.index = Index::Create(o).value();
  std::vector<int64_t> keys(d.n);
  for (uint32_t i = 0; i < d.n; ++i) keys[i] = i;
  (void)d.index->AddCustomers(keys);
  std::vector<RowId> rows(d.n);
  for (uint32_t i = 0; i < d.n; ++i) rows[i] = i;
  (void)d.index->CreateAttribute({.name = "消费金额"});
  (void)d.index->CreateAttribute({.name = "最近购买", .type = AttributeType::kDate});
  std::vector<int64_t> spend(d.n), last(d.n);
  for (uint32_t i = 0; i < d.n; ++i) {
    spend[i] = static_cast<int64_t>(d.rng() % 5000);
    last[i] = kToday - static_cast<int64_t>(d.rng() % 365);
  }
  (void)d.index->SetAttributeRows("消费金额", rows, spend);
  (void)d.index->SetAttributeRows("最近购买", rows, last);
  d.churn = d.index->CreateTag({.name = "流失"}).value();
  std::vector<RowId> churned;
  for (uint32_t i = 0; i < d.n; ++i) {
    if (d.rng() % 10 == 0) churned.push_back(i);
  }
  (void)d.index->TagRows(d.churn, churned);
  RuleTagOptions ro;
  ro.as_of = kToday;
  d.rule = d.index
               ->DefineRuleTag("高价值活跃",
                               "消费金额 >= 1000 AND NOT 流失 AND 最近购买 >= today - 90d", ro)
               .value();
  return d;
}

// Changes 1 % of the customers (or moves today), as the argument says.
void Change(Data& d, int what) {
  if (what == 2) {
    // One day forward, then back: the rule stays near its data's dates.
    d.today = d.today == kToday ? kToday + 1 : kToday;
    return;
  }
  std::vector<RowId> rows;
  const uint32_t k = d.n / 100;
  for (uint32_t i = 0; i < k; ++i) rows.push_back(static_cast<RowId>(d.rng() % d.n));
  if (what == 0) {
    std::vector<int64_t> values(rows.size());
    for (int64_t& v : values) v = static_cast<int64_t>(d.rng() % 5000);
    (void)d.index->SetAttributeRows("消费金额", rows, values);
  } else {
    const size_t half = rows.size() / 2;
    (void)d.index->TagRows(d.churn, std::span<const RowId>(rows.data(), half));
    (void)d.index->UntagRows(d.churn,
                             std::span<const RowId>(rows.data() + half, rows.size() - half));
  }
}

void Refresh(benchmark::State& state, RefreshOptions::Mode mode) {
  Data& d = Get();
  const int what = static_cast<int>(state.range(0));
  uint64_t evaluated = 0, entered = 0, left = 0;
  int64_t iterations = 0;
  for (auto _ : state) {
    Change(d, what);
    RefreshOptions o;
    o.as_of = d.today;
    o.mode = mode;
    const auto start = std::chrono::steady_clock::now();
    auto r = d.index->RefreshRules(o);
    const auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
    if (!r.ok() || r->size() != 1) {
      state.SkipWithError("refresh failed");
      return;
    }
    if ((mode == RefreshOptions::Mode::kFull) == (*r)[0].incremental) {
      state.SkipWithError("refresh did not run as asked");
      return;
    }
    evaluated += (*r)[0].evaluated_rows;
    entered += (*r)[0].entered;
    left += (*r)[0].left;
    ++iterations;
  }
  // Whatever ran, the members are the query's result now.
  QueryOptions q;
  q.today = d.today;
  const uint64_t want =
      d.index->Count("消费金额 >= 1000 AND NOT 流失 AND 最近购买 >= today - 90d", q).value();
  if (d.index->TagCardinality(d.rule).value() != want) state.SkipWithError("members differ");
  if (iterations > 0) {
    state.counters["evaluated_rows"] = static_cast<double>(evaluated / iterations);
    state.counters["entered"] = static_cast<double>(entered / iterations);
    state.counters["left"] = static_cast<double>(left / iterations);
  }
  state.counters["customers"] = d.n;
}

void BM_RuleRefresh_Incremental(benchmark::State& state) {
  Refresh(state, RefreshOptions::Mode::kAuto);
}
void BM_RuleRefresh_Full(benchmark::State& state) { Refresh(state, RefreshOptions::Mode::kFull); }

BENCHMARK(BM_RuleRefresh_Incremental)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RuleRefresh_Full)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
