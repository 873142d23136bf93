// Segment queries (PERFORMANCE.md shapes 1-5) on the Zipf workload at 1 M
// and 10 M customers, each beside two hand-written versions of the same work
// on the same stored bitmaps:
//   BM_Baseline_*  R0: direct CRoaring 0.2.66 calls (kernels::croaring::And,
//                  _and_cardinality, _andnot_inplace, _or_many, ...), what a
//                  host would write against the linked CRoaring;
//   BM_Kernel_*    the same expression as one hand-written call of our fused
//                  kernel (Bitmap::AndAndNot[Cardinality]); query vs kernel is
//                  the whole overhead of the query layer (lock, plan,
//                  dispatch, result wrap).
//
// Evaluation benchmarks run a CompiledQuery (parse and bind once, as a host
// serving a dashboard would); BM_Compile_* times parse + bind + normalise +
// plan separately, and BM_Query_TextCountAB the whole text-to-count path.
#include <benchmark/benchmark.h>
#include <roaring/roaring.h>

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bitmap/bitmap.h"
#include "bitmap/kernels.h"
#include "index/access.h"
#include "index/index_state.h"
#include "index/query_bridge.h"
#include "query/binder.h"
#include "query/executor.h"
#include "query/normalizer.h"
#include "query/parser.h"
#include "query/planner.h"
#include "tagindex/tagindex.h"
#include "workload.h"

namespace tagindex::bench {
namespace {

// Densities of the tags the shapes use (PERFORMANCE.md: head / mid / tail).
constexpr double kHead = 0.5, kMid = 0.05, kTail = 0.005;

std::string Name(uint32_t rank) { return absl::StrCat("标签", rank); }
constexpr const char* kDisjointA = "不相交甲";
constexpr const char* kDisjointB = "不相交乙";

struct Fixture {
  WorkloadOptions w;
  std::unique_ptr<Index> index;
  std::map<uint32_t, const Bitmap*> stored;         // rank -> the index's own bitmap
  std::shared_ptr<const internal::Version> pinned;  // keeps `stored` alive
  const Bitmap* disjoint_a = nullptr;               // kDisjointA, kDisjointB
  const Bitmap* disjoint_b = nullptr;

  const Bitmap& Tag(uint32_t rank) const { return *stored.at(rank); }
};

// The ranks every shape needs: head/mid/tail, the OR arms and the wide AND.
std::vector<uint32_t> NeededRanks(const WorkloadOptions& w) {
  std::vector<uint32_t> ranks = {RankForDensity(w, kHead), RankForDensity(w, kMid),
                                 RankForDensity(w, kTail)};
  for (uint32_t k = 0; k < 64; ++k) ranks.push_back(100 + k);  // OR arms, ~0.3-0.5 %
  for (double d : {0.3, 0.2, 0.1, 0.02}) ranks.push_back(RankForDensity(w, d));
  for (uint32_t r = 0; r < 60; ++r) ranks.push_back(r);  // names for compile benchmarks
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  return ranks;
}

const Fixture& GetFixture(uint32_t customers) {
  static std::mutex mu;
  static std::map<uint32_t, std::unique_ptr<Fixture>> cache;
  std::lock_guard lock(mu);
  customers = Customers(customers);
  auto& slot = cache[customers];
  if (slot) return *slot;
  auto f = std::make_unique<Fixture>();
  f->w = WorkloadOptions{.customers = customers};
  f->index = Index::Create({.key_kind = KeyKind::kIdentity}).value();
  std::vector<int64_t> all(customers);
  std::iota(all.begin(), all.end(), 0);
  if (absl::Status s = f->index->AddCustomers(all); !s.ok()) {
    std::fprintf(stderr, "query_benchmark: AddCustomers(%u): %s\n", customers,
                 s.ToString().c_str());
    std::abort();
  }
  for (uint32_t rank : NeededRanks(f->w)) {
    TagId t = f->index->CreateTag({.name = Name(rank)}).value();
    if (!f->index->TagRows(t, TagRows(f->w, rank)).ok()) std::abort();
  }
  // Two tags in different 2^16-row chunks: their AND is found empty at the
  // container-key level (the fixed-cost benchmarks).
  // Chunks 0 and 1, half of each, so they fit the smoke run's 100,000 rows.
  for (const auto& [name, first] : {std::pair{kDisjointA, 0u}, std::pair{kDisjointB, 65536u}}) {
    std::vector<RowId> rows;
    for (uint32_t r = first; r < first + 32768; r += 3) rows.push_back(r);
    TagId t = f->index->CreateTag({.name = name}).value();
    if (!f->index->TagRows(t, rows).ok()) std::abort();
  }
  f->pinned = internal::Access::State(*f->index).Pin();
  f->pinned->catalog.ForEachTag([&](const internal::TagEntry& t) {
    if (t.name == kDisjointA || t.name == kDisjointB) {
      (t.name == kDisjointA ? f->disjoint_a : f->disjoint_b) = &t.bitmap;
      return;
    }
    f->stored[static_cast<uint32_t>(std::stoul(t.name.substr(std::string("标签").size())))] =
        &t.bitmap;
  });
  slot = std::move(f);
  return *slot;
}

uint32_t Head(const Fixture& f) { return RankForDensity(f.w, kHead); }
uint32_t Mid(const Fixture& f) { return RankForDensity(f.w, kMid); }
uint32_t Tail(const Fixture& f) { return RankForDensity(f.w, kTail); }

CompiledQuery MustCompile(const Fixture& f, const std::string& text) {
  auto q = f.index->Compile(text);
  if (!q.ok()) std::abort();
  return *std::move(q);
}

void Check(benchmark::State& state, uint64_t got, uint64_t want) {
  if (got != want) state.SkipWithError("query and baseline disagree");
  state.counters["card"] = static_cast<double>(got);
}

// ---- shape 1: A AND B ---------------------------------------------------------

std::string TextAB(const Fixture& f) { return Name(Head(f)) + " AND " + Name(Mid(f)); }

void BM_Baseline_CountAB(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Bitmap &a = f.Tag(Head(f)), &b = f.Tag(Mid(f));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::croaring::AndCardinality(a, b));
  state.counters["card"] = static_cast<double>(n);
}
void BM_Query_CountAB(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextAB(f));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = q.Count().value());
  Check(state, n, Bitmap::AndCardinality(f.Tag(Head(f)), f.Tag(Mid(f))));
}
void BM_Query_TextCountAB(benchmark::State& state) {  // parse + bind + plan + count
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const std::string text = TextAB(f);
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = f.index->Count(text).value());
  Check(state, n, Bitmap::AndCardinality(f.Tag(Head(f)), f.Tag(Mid(f))));
}
void BM_Baseline_MaterializeAB(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Bitmap &a = f.Tag(Head(f)), &b = f.Tag(Mid(f));
  for (auto _ : state) {
    Bitmap r = kernels::croaring::And(a, b);
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Query_MaterializeAB(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextAB(f));
  for (auto _ : state) {
    Segment s = q.Run().value();
    benchmark::DoNotOptimize(&s);
  }
}

// ---- shape 2/3: A AND B AND NOT C -------------------------------------------------

std::string TextABnotC(const Fixture& f) {
  return Name(Head(f)) + " AND " + Name(Mid(f)) + " AND NOT " + Name(Tail(f));
}

void BM_Baseline_CountABnotC(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Bitmap &a = f.Tag(Head(f)), &b = f.Tag(Mid(f)), &c = f.Tag(Tail(f));
  uint64_t n = 0;
  for (auto _ : state) {
    Bitmap ab = kernels::croaring::And(a, b);
    benchmark::DoNotOptimize(n = kernels::croaring::AndNotCardinality(ab, c));
  }
  state.counters["card"] = static_cast<double>(n);
}
void BM_Query_CountABnotC(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextABnotC(f));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = q.Count().value());
  Bitmap ab = Bitmap::And(f.Tag(Head(f)), f.Tag(Mid(f)));
  Check(state, n, Bitmap::AndNotCardinality(ab, f.Tag(Tail(f))));
}
void BM_Baseline_MaterializeABnotC(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Bitmap &a = f.Tag(Head(f)), &b = f.Tag(Mid(f)), &c = f.Tag(Tail(f));
  for (auto _ : state) {
    Bitmap r = kernels::croaring::And(a, b);
    r.AndNotInPlace(c);
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Query_MaterializeABnotC(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextABnotC(f));
  for (auto _ : state) {
    Segment s = q.Run().value();
    benchmark::DoNotOptimize(&s);
  }
}

// ---- shape 4: A AND (B1 OR ... OR Bk) ---------------------------------------------

std::string TextAOr(const Fixture& f, int k) {
  std::string text = Name(Mid(f)) + " AND (";
  for (int i = 0; i < k; ++i) absl::StrAppend(&text, i ? " OR " : "", Name(100 + i));
  return text + ")";
}
std::vector<const Bitmap*> Arms(const Fixture& f, int k) {
  std::vector<const Bitmap*> arms;
  for (int i = 0; i < k; ++i) arms.push_back(&f.Tag(100 + i));
  return arms;
}

void BM_Baseline_CountAOr(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const auto arms = Arms(f, static_cast<int>(state.range(1)));
  const Bitmap& a = f.Tag(Mid(f));
  uint64_t n = 0;
  for (auto _ : state) {
    Bitmap u = Bitmap::OrMany(arms);
    benchmark::DoNotOptimize(n = kernels::croaring::AndCardinality(a, u));
  }
  state.counters["card"] = static_cast<double>(n);
}
void BM_Query_CountAOr(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const int k = static_cast<int>(state.range(1));
  CompiledQuery q = MustCompile(f, TextAOr(f, k));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = q.Count().value());
  Check(state, n, Bitmap::AndCardinality(f.Tag(Mid(f)), Bitmap::OrMany(Arms(f, k))));
}
void BM_Baseline_MaterializeAOr(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const auto arms = Arms(f, static_cast<int>(state.range(1)));
  const Bitmap& a = f.Tag(Mid(f));
  for (auto _ : state) {
    Bitmap u = Bitmap::OrMany(arms);
    u.AndInPlace(a);
    benchmark::DoNotOptimize(u.raw());
  }
}
void BM_Query_MaterializeAOr(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextAOr(f, static_cast<int>(state.range(1))));
  for (auto _ : state) {
    Segment s = q.Run().value();
    benchmark::DoNotOptimize(&s);
  }
}

// ---- shape 5: wide AND of 6 tags ------------------------------------------------------
// Written in descending density, the order a person tends to write them; the
// baseline follows the written order, the planner reorders ascending.

std::vector<uint32_t> WideRanks(const Fixture& f) {
  std::vector<uint32_t> r;
  for (double d : {0.5, 0.3, 0.2, 0.1, 0.05, 0.02}) r.push_back(RankForDensity(f.w, d));
  return r;
}
std::string TextWide(const Fixture& f) {
  std::string text;
  for (uint32_t r : WideRanks(f)) absl::StrAppend(&text, text.empty() ? "" : " AND ", Name(r));
  return text;
}

void BM_Baseline_CountWideAnd(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const auto ranks = WideRanks(f);
  uint64_t n = 0;
  for (auto _ : state) {
    Bitmap acc = kernels::croaring::And(f.Tag(ranks[0]), f.Tag(ranks[1]));
    for (size_t i = 2; i + 1 < ranks.size(); ++i) acc.AndInPlace(f.Tag(ranks[i]));
    benchmark::DoNotOptimize(n = kernels::croaring::AndCardinality(acc, f.Tag(ranks.back())));
  }
  state.counters["card"] = static_cast<double>(n);
}
void BM_Query_CountWideAnd(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextWide(f));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = q.Count().value());
  state.counters["card"] = static_cast<double>(n);
}
void BM_Baseline_MaterializeWideAnd(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const auto ranks = WideRanks(f);
  for (auto _ : state) {
    Bitmap acc = kernels::croaring::And(f.Tag(ranks[0]), f.Tag(ranks[1]));
    for (size_t i = 2; i < ranks.size(); ++i) acc.AndInPlace(f.Tag(ranks[i]));
    benchmark::DoNotOptimize(acc.raw());
  }
}
void BM_Query_MaterializeWideAnd(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextWide(f));
  for (auto _ : state) {
    Segment s = q.Run().value();
    benchmark::DoNotOptimize(&s);
  }
}

// ---- hand-written fused-kernel calls (the query layer's own floor) ----------------

void BM_Kernel_CountAB(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Bitmap* pos[] = {&f.Tag(Mid(f)), &f.Tag(Head(f))};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = Bitmap::AndAndNotCardinality(pos, {}));
  state.counters["card"] = static_cast<double>(n);
}
void BM_Kernel_MaterializeAB(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Bitmap* pos[] = {&f.Tag(Mid(f)), &f.Tag(Head(f))};
  for (auto _ : state) {
    Bitmap r = Bitmap::AndAndNot(pos, {});
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Kernel_CountABnotC(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Bitmap* pos[] = {&f.Tag(Mid(f)), &f.Tag(Head(f))};
  const Bitmap* neg[] = {&f.Tag(Tail(f))};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = Bitmap::AndAndNotCardinality(pos, neg));
  state.counters["card"] = static_cast<double>(n);
}
void BM_Kernel_MaterializeABnotC(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Bitmap* pos[] = {&f.Tag(Mid(f)), &f.Tag(Head(f))};
  const Bitmap* neg[] = {&f.Tag(Tail(f))};
  for (auto _ : state) {
    Bitmap r = Bitmap::AndAndNot(pos, neg);
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Kernel_CountWideAnd(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  std::vector<const Bitmap*> pos;
  for (uint32_t r : WideRanks(f)) pos.push_back(&f.Tag(r));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = Bitmap::AndAndNotCardinality(pos, {}));
  state.counters["card"] = static_cast<double>(n);
}
void BM_Kernel_MaterializeWideAnd(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  std::vector<const Bitmap*> pos;
  for (uint32_t r : WideRanks(f)) pos.push_back(&f.Tag(r));
  for (auto _ : state) {
    Bitmap r = Bitmap::AndAndNot(pos, {});
    benchmark::DoNotOptimize(r.raw());
  }
}

// ---- fixed cost: an AND found empty at the container-key level ------------------
// The two tags share no 2^16-row chunk, so every engine answers from the
// chunk keys alone: what is left is the cost of a call.

std::string TextEmpty() { return absl::StrCat(kDisjointA, " AND ", kDisjointB); }

void BM_Baseline_CountEmpty(benchmark::State& state) {  // CRoaring 0.2.66 and_cardinality
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n = kernels::croaring::AndCardinality(*f.disjoint_a, *f.disjoint_b));
  }
  state.counters["card"] = static_cast<double>(n);
}
void BM_Kernel_CountEmpty(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n = Bitmap::AndCardinality(*f.disjoint_a, *f.disjoint_b));
  }
  state.counters["card"] = static_cast<double>(n);
}
void BM_Query_CountEmpty(benchmark::State& state) {  // CompiledQuery::Count
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextEmpty());
  uint64_t n = 1;
  for (auto _ : state) benchmark::DoNotOptimize(n = q.Count().value());
  Check(state, n, 0);
}
// The same from two threads at once on one compiled query (what a server
// answering many small counts does): the cost of reading the current
// version when another core reads it too.
void BM_Query_CountEmptyThreads(benchmark::State& state) {
  static const CompiledQuery q = MustCompile(GetFixture(1'000'000), TextEmpty());
  uint64_t n = 1;
  for (auto _ : state) benchmark::DoNotOptimize(n = q.Count().value());
  Check(state, n, 0);
}
// The general path the same query took before it was recognised as a flat
// AND (and that every other shape still takes): pin, plan, execute.
void BM_Plan_CountEmpty(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextEmpty());
  const query::Expr& normal = internal::Access::Data(q).normal_form;
  const internal::IndexState& st = internal::Access::State(*f.index);
  uint64_t n = 1;
  for (auto _ : state) {
    std::shared_ptr<const internal::Version> v = st.Pin();
    internal::StateSource source(*v);
    auto plan = query::Plan(normal, source);
    benchmark::DoNotOptimize(n = query::ExecuteCount(*plan, v->universe()));
  }
  Check(state, n, 0);
}
void BM_Query_TextCountEmpty(benchmark::State& state) {  // Index::Count(text)
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const std::string text = TextEmpty();
  uint64_t n = 1;
  for (auto _ : state) benchmark::DoNotOptimize(n = f.index->Count(text).value());
  Check(state, n, 0);
}

// ---- shape 3: materialise A AND B AND NOT C and iterate the ids -------------------

void BM_Baseline_IterateABnotC(benchmark::State& state) {  // CRoaring's own iterator
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Bitmap &a = f.Tag(Head(f)), &b = f.Tag(Mid(f)), &c = f.Tag(Tail(f));
  uint64_t n = 0, sum = 0;
  for (auto _ : state) {
    Bitmap r = kernels::croaring::And(a, b);
    r.AndNotInPlace(c);
    n = sum = 0;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(r.raw(), &it);
    for (; it.has_value; roaring_advance_uint32_iterator(&it)) {
      ++n;
      sum += it.current_value;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["card"] = static_cast<double>(n);
}
void BM_Query_IterateABnotC(benchmark::State& state) {  // Run + Segment::Iterator
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextABnotC(f));
  uint64_t n = 0, sum = 0;
  for (auto _ : state) {
    const Segment s = q.Run().value();
    n = sum = 0;
    for (Segment::Iterator it(s); it.Valid(); it.Next()) {
      ++n;
      sum += it.Value();
    }
    benchmark::DoNotOptimize(sum);
  }
  Bitmap ab = Bitmap::And(f.Tag(Head(f)), f.Tag(Mid(f)));
  Check(state, n, Bitmap::AndNotCardinality(ab, f.Tag(Tail(f))));
}
void BM_Query_RowsABnotC(benchmark::State& state) {  // Run + Segment::Rows
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  CompiledQuery q = MustCompile(f, TextABnotC(f));
  uint64_t n = 0;
  for (auto _ : state) {
    const std::vector<RowId> rows = q.Run().value().Rows().value();
    n = rows.size();
    benchmark::DoNotOptimize(rows.data());
  }
  Bitmap ab = Bitmap::And(f.Tag(Head(f)), f.Tag(Mid(f)));
  Check(state, n, Bitmap::AndNotCardinality(ab, f.Tag(Tail(f))));
}

// Iteration alone, over a materialised result: range(1) = 0 iterates
// A AND B AND NOT C (array containers), 1 the head tag (bitset containers).
std::string IterateText(const Fixture& f, int64_t which) {
  return which == 0 ? TextABnotC(f) : Name(Head(f));
}
void BM_Baseline_IterateOnly(benchmark::State& state) {  // roaring_advance_uint32_iterator
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Segment s = MustCompile(f, IterateText(f, state.range(1))).Run().value();
  const Bitmap& r = internal::Access::Data(s).rows;
  uint64_t n = 0, sum = 0;
  for (auto _ : state) {
    n = sum = 0;
    roaring_uint32_iterator_t it;
    roaring_init_iterator(r.raw(), &it);
    for (; it.has_value; roaring_advance_uint32_iterator(&it)) {
      ++n;
      sum += it.current_value;
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["card"] = static_cast<double>(n);
}
// What Segment::Iterator wrapped before it buffered blocks: Bitmap::Iterator,
// one out-of-line call per Valid/Value/Next (Segment's added one more layer).
void BM_Bitmap_IterateOnly(benchmark::State& state) {
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Segment s = MustCompile(f, IterateText(f, state.range(1))).Run().value();
  const Bitmap& r = internal::Access::Data(s).rows;
  uint64_t n = 0, sum = 0;
  for (auto _ : state) {
    n = sum = 0;
    for (Bitmap::Iterator it(r); it.Valid(); it.Next()) {
      ++n;
      sum += it.Value();
    }
    benchmark::DoNotOptimize(sum);
  }
  state.counters["card"] = static_cast<double>(n);
}
void BM_Query_IterateOnly(benchmark::State& state) {  // Segment::Iterator
  const Fixture& f = GetFixture(static_cast<uint32_t>(state.range(0)));
  const Segment s = MustCompile(f, IterateText(f, state.range(1))).Run().value();
  uint64_t n = 0, sum = 0;
  for (auto _ : state) {
    n = sum = 0;
    for (Segment::Iterator it(s); it.Valid(); it.Next()) {
      ++n;
      sum += it.Value();
    }
    benchmark::DoNotOptimize(sum);
  }
  Check(state, n, s.Count());
}

// ---- parse + bind + normalise + plan ------------------------------------------------

std::string TextTerms(int terms) {
  // Realistic mix: ANDs, a NOT, small ORs, every few terms a group.
  std::string text;
  for (int i = 0; i < terms; ++i) {
    const char* op = i == 0 ? "" : (i % 5 == 2) ? " AND NOT " : (i % 3 == 1) ? " OR " : " AND ";
    if (i % 4 == 0 && i + 1 < terms) {
      absl::StrAppend(&text, op, "(", Name(static_cast<uint32_t>(i)), " OR ",
                      Name(static_cast<uint32_t>(i + 1)), ")");
      ++i;
      continue;
    }
    absl::StrAppend(&text, op, Name(static_cast<uint32_t>(i)));
  }
  return text;
}

void BM_Compile_ParseBindPlan(benchmark::State& state) {
  const Fixture& f = GetFixture(1'000'000);
  const std::string text = TextTerms(static_cast<int>(state.range(0)));
  const QueryOptions options;
  for (auto _ : state) {
    auto ast = query::ParseQuery(text, options);
    std::shared_ptr<const internal::Version> pinned = internal::Access::State(*f.index).Pin();
    const internal::Version& s = *pinned;
    internal::CatalogResolver resolver(s.catalog);
    auto bound = query::Bind(text, **ast, resolver, options);
    query::Expr normal = query::Normalize(*std::move(bound), options.rewrites);
    internal::StateSource source(s);
    auto plan = query::Plan(normal, source);
    benchmark::DoNotOptimize(plan->estimate);
  }
  state.SetLabel(absl::StrCat(state.range(0), " terms, ", text.size(), " bytes"));
}
void BM_Compile_PublicCompile(benchmark::State& state) {  // Index::Compile (no plan)
  const Fixture& f = GetFixture(1'000'000);
  const std::string text = TextTerms(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto q = f.index->Compile(text);
    benchmark::DoNotOptimize(&q);
  }
}

#define SIZES ->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_Baseline_CountAB) SIZES;
BENCHMARK(BM_Kernel_CountAB) SIZES;
BENCHMARK(BM_Query_CountAB) SIZES;
BENCHMARK(BM_Query_TextCountAB) SIZES;
BENCHMARK(BM_Baseline_MaterializeAB) SIZES;
BENCHMARK(BM_Kernel_MaterializeAB) SIZES;
BENCHMARK(BM_Query_MaterializeAB) SIZES;
BENCHMARK(BM_Baseline_CountABnotC) SIZES;
BENCHMARK(BM_Kernel_CountABnotC) SIZES;
BENCHMARK(BM_Query_CountABnotC) SIZES;
BENCHMARK(BM_Baseline_MaterializeABnotC) SIZES;
BENCHMARK(BM_Kernel_MaterializeABnotC) SIZES;
BENCHMARK(BM_Query_MaterializeABnotC) SIZES;
#define OR_SIZES               \
  ->Args({1'000'000, 8})       \
      ->Args({1'000'000, 64})  \
      ->Args({10'000'000, 8})  \
      ->Args({10'000'000, 64}) \
      ->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_Baseline_CountAOr) OR_SIZES;
BENCHMARK(BM_Query_CountAOr) OR_SIZES;
BENCHMARK(BM_Baseline_MaterializeAOr) OR_SIZES;
BENCHMARK(BM_Query_MaterializeAOr) OR_SIZES;
BENCHMARK(BM_Baseline_CountWideAnd) SIZES;
BENCHMARK(BM_Kernel_CountWideAnd) SIZES;
BENCHMARK(BM_Query_CountWideAnd) SIZES;
BENCHMARK(BM_Baseline_MaterializeWideAnd) SIZES;
BENCHMARK(BM_Kernel_MaterializeWideAnd) SIZES;
BENCHMARK(BM_Query_MaterializeWideAnd) SIZES;
#define FIXED ->Arg(1'000'000)->Unit(benchmark::kNanosecond)
BENCHMARK(BM_Baseline_CountEmpty) FIXED;
BENCHMARK(BM_Kernel_CountEmpty) FIXED;
BENCHMARK(BM_Plan_CountEmpty) FIXED;
BENCHMARK(BM_Query_CountEmpty) FIXED;
BENCHMARK(BM_Query_CountEmptyThreads)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_Query_TextCountEmpty) FIXED;
BENCHMARK(BM_Baseline_IterateABnotC) SIZES;
BENCHMARK(BM_Query_IterateABnotC) SIZES;
BENCHMARK(BM_Query_RowsABnotC) SIZES;
#define ITERATE               \
  ->Args({1'000'000, 0})      \
      ->Args({1'000'000, 1})  \
      ->Args({10'000'000, 0}) \
      ->Args({10'000'000, 1}) \
      ->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_Baseline_IterateOnly) ITERATE;
BENCHMARK(BM_Bitmap_IterateOnly) ITERATE;
BENCHMARK(BM_Query_IterateOnly) ITERATE;
BENCHMARK(BM_Compile_ParseBindPlan)->Arg(3)->Arg(10)->Arg(50);
BENCHMARK(BM_Compile_PublicCompile)->Arg(3)->Arg(10)->Arg(50);

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
