// Segment analytics (src/index/analytics.h) at 10 M customers, each beside
// naive baselines in the same run:
//   Profile/*   a segment over a 1,000-tag category (Zipf popularity, mixed
//               layout: 80 % uniform tags, 20 % cohort runs); kFused (one pass
//               over the segment's chunks, kernels::AndCardinalityMany),
//               kSeparate (1,000 calls of our AndCardinality) and
//               CRoaring 0.2.66's roaring_bitmap_and_cardinality per tag (R0).
//   TopN/*      the 10 best tags by TGI with a minimum count: the same three.
//   CoOccur/*   a 50 × 50 matrix of the 50 most popular tags: ours (per row:
//               the tag ∩ segment, then one fused pass against the later tags)
//               against 1,275 pairwise 3-way counts (our kernel, and CRoaring:
//               and + and_cardinality).
// Times are CPU time (the machine is shared; wall time includes waiting).
// Arguments: segment density in per mille (50 = a 5 % uniform segment,
// 300 = 30 %). Every variant's answer is checked against the others.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bitmap/bitmap.h"
#include "bitmap/kernels.h"
#include "index/analytics.h"
#include "tagindex/tagindex.h"
#include "workload.h"

namespace tagindex::bench {
namespace {

using internal::CountMethod;

struct Data {
  internal::Catalog catalog;
  internal::AttributeTable attributes;
  Bitmap universe;
  std::vector<const Bitmap*> tags;  // by popularity rank
  std::map<int, Bitmap> segments;   // by density per mille
};

Data& Get() {
  static std::unique_ptr<Data> data;
  if (!data) {
    data = std::make_unique<Data>();
    const uint32_t n = Customers(10'000'000);
    WorkloadOptions w{.customers = n, .tags = 1000, .layout = Layout::kMixed, .seed = 14};
    data->universe = Bitmap::FromRange(0, n);
    for (uint32_t r = 0; r < w.tags; ++r) {
      internal::TagEntry& t =
          data->catalog.AddTag("兴趣" + std::to_string(r), "兴趣爱好类", "", TagKind::kManual);
      t.bitmap = Bitmap::FromIds(TagRows(w, r));
      t.bitmap.RunOptimize();
      data->tags.push_back(&t.bitmap);
    }
  }
  return *data;
}

const Bitmap& Segment(int per_mille) {
  Data& d = Get();
  auto it = d.segments.find(per_mille);
  if (it == d.segments.end()) {
    const uint32_t n = static_cast<uint32_t>(d.universe.Cardinality());
    WorkloadOptions w{.customers = n, .tags = 100000, .layout = Layout::kUniform, .seed = 99};
    Bitmap s = Bitmap::FromIds(TagRows(w, RankForDensity(w, per_mille / 1000.0)));
    it = d.segments.emplace(per_mille, std::move(s)).first;
  }
  return it->second;
}

internal::AnalyticsData View(const Data& d) { return {d.catalog, d.universe, d.attributes}; }

uint64_t Sum(const std::vector<uint64_t>& v) {
  uint64_t s = 0;
  for (uint64_t x : v) s += x;
  return s;
}

// Counts of the segment against every tag, three ways.
enum Way { kFused = 0, kSeparate = 1, kCroaring = 2, kAuto = 3 };

CountMethod MethodOf(Way way) {
  return way == kFused  ? CountMethod::kFused
         : way == kAuto ? CountMethod::kAuto
                        : CountMethod::kSeparate;
}

std::vector<uint64_t> Counts(Way way, const Bitmap& seg, const std::vector<const Bitmap*>& tags) {
  std::vector<uint64_t> out(tags.size());
  if (way == kCroaring) {
    for (size_t i = 0; i < tags.size(); ++i) {
      out[i] = kernels::croaring::AndCardinality(seg, *tags[i]);
    }
  } else {
    internal::CountInSegment(seg, tags, out.data(), MethodOf(way));
  }
  return out;
}

void BM_Profile(benchmark::State& state) {
  const Data& d = Get();
  const Bitmap& seg = Segment(static_cast<int>(state.range(0)));
  const Way way = static_cast<Way>(state.range(1));
  const uint64_t want = Sum(Counts(kCroaring, seg, d.tags));
  uint64_t got = 0;
  for (auto _ : state) {
    if (way == kCroaring) {
      // The profile as a host would write it over CRoaring: count per tag,
      // then the same arithmetic.
      std::vector<uint64_t> c = Counts(kCroaring, seg, d.tags);
      const double s = static_cast<double>(seg.Cardinality());
      const double n = static_cast<double>(d.universe.Cardinality());
      double tgi = 0;
      for (size_t i = 0; i < c.size(); ++i) {
        tgi += 100.0 * (c[i] / s) / (d.tags[i]->Cardinality() / n);
      }
      benchmark::DoNotOptimize(tgi);
      got = Sum(c);
    } else {
      auto p = internal::ProfileOf(View(d), seg, {.category = "兴趣爱好类"}, MethodOf(way));
      got = 0;
      for (const ProfileRow& r : p->rows) got += r.count;
    }
  }
  if (got != want) state.SkipWithError("profile counts differ from CRoaring's");
  state.counters["tags"] = static_cast<double>(d.tags.size());
  state.counters["segment"] = static_cast<double>(seg.Cardinality());
}

void BM_TopN(benchmark::State& state) {
  const Data& d = Get();
  const Bitmap& seg = Segment(static_cast<int>(state.range(0)));
  const Way way = static_cast<Way>(state.range(1));
  TopTagsOptions o{.n = 10, .by = TopTagsBy::kTgi, .min_count = 1000, .category = "兴趣爱好类"};
  const auto want = internal::TopTagsOf(View(d), seg, o, CountMethod::kSeparate).value();
  std::vector<TagId> got;
  for (auto _ : state) {
    got.clear();
    if (way == kCroaring) {
      // Naive: every count with CRoaring, then a full sort.
      std::vector<uint64_t> c = Counts(kCroaring, seg, d.tags);
      const double s = static_cast<double>(seg.Cardinality());
      const double n = static_cast<double>(d.universe.Cardinality());
      std::vector<std::pair<double, size_t>> ranked;
      for (size_t i = 0; i < c.size(); ++i) {
        if (c[i] >= o.min_count) {
          ranked.push_back({100.0 * (c[i] / s) / (d.tags[i]->Cardinality() / n), i});
        }
      }
      std::sort(ranked.begin(), ranked.end(), [&](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : c[a.second] > c[b.second];
      });
      for (size_t i = 0; i < std::min<size_t>(o.n, ranked.size()); ++i) {
        got.push_back(TagId{static_cast<uint32_t>(ranked[i].second)});
      }
    } else {
      auto top = internal::TopTagsOf(View(d), seg, o, MethodOf(way));
      for (const ProfileRow& r : *top) got.push_back(r.tag);
    }
  }
  std::vector<TagId> want_ids;
  for (const ProfileRow& r : want) want_ids.push_back(r.tag);
  if (got != want_ids) state.SkipWithError("top-N differs between the variants");
}

void BM_CoOccur(benchmark::State& state) {
  const Data& d = Get();
  const Bitmap& seg = Segment(static_cast<int>(state.range(0)));
  const int way = static_cast<int>(state.range(1));
  std::vector<TagId> ids;
  for (uint32_t r = 0; r < 50; ++r) ids.push_back(TagId{r});
  const auto want = internal::CoOccurrenceOf(View(d), ids, &seg).value();
  std::vector<uint64_t> got(50 * 50);
  for (auto _ : state) {
    if (way == kFused) {
      auto m = internal::CoOccurrenceOf(View(d), ids, &seg);
      got = m->counts;
    } else {
      // Naive: one three-way count per pair (and the diagonal).
      for (size_t i = 0; i < 50; ++i) {
        for (size_t j = i; j < 50; ++j) {
          uint64_t c;
          if (way == kSeparate) {
            const Bitmap* pos[] = {&seg, d.tags[i], d.tags[j]};
            c = kernels::AndAndNotCardinality(pos, {});
          } else {
            const Bitmap ab = kernels::croaring::And(seg, *d.tags[i]);
            c = kernels::croaring::AndCardinality(ab, *d.tags[j]);
          }
          got[i * 50 + j] = got[j * 50 + i] = c;
        }
      }
    }
  }
  if (got != want.counts) state.SkipWithError("co-occurrence counts differ between the variants");
}

// way: 0 fused, 1 separate (our kernel per tag), 2 CRoaring per tag, 3 auto
// (what the library uses: fused for array segments, else separate).
// Saving a static segment of ~2.5 M customers (10 M, two 50 % tags) against
// running its query alone: in memory, and persistent (the members are
// written to the log once; SyncPolicy::kNone so the disk's sync is not
// what is timed). way: 0 = Query only (baseline), 1 = SaveSegment + Drop.
struct SaveData {
  std::unique_ptr<Index> memory, disk;
  std::string dir;
};

SaveData& Saves() {
  static std::unique_ptr<SaveData> d;
  if (!d) {
    d = std::make_unique<SaveData>();
    const uint32_t n = Customers(10'000'000);
    char tmpl[] = "/tmp/tagindex-savebench-XXXXXX";
    d->dir = ::mkdtemp(tmpl);
    OpenOptions o;
    o.create_if_missing = true;
    o.sync = SyncPolicy::kNone;
    IndexOptions io;
    io.key_kind = KeyKind::kIdentity;
    o.index = io;
    d->memory = Index::Create(io).value();
    d->disk = Index::Open(d->dir + "/idx", o).value();
    WorkloadOptions w{.customers = n, .tags = 100000, .layout = Layout::kUniform, .seed = 3};
    for (Index* ix : {d->memory.get(), d->disk.get()}) {
      std::vector<int64_t> keys(n);
      for (uint32_t i = 0; i < n; ++i) keys[i] = i;
      if (!ix->AddCustomers(keys).ok()) std::abort();
      for (const char* name : {"甲", "乙"}) {
        const TagId t = ix->CreateTag({.name = name}).value();
        w.seed += 1;
        const std::vector<uint32_t> rows = TagRows(w, RankForDensity(w, 0.5));
        if (!ix->TagRows(t, rows).ok()) std::abort();
      }
      if (ix->persistent() && !ix->Checkpoint().ok()) std::abort();
    }
  }
  return *d;
}

void BM_SaveSegment(benchmark::State& state) {
  SaveData& d = Saves();
  Index& ix = state.range(0) == 0 ? *d.memory : *d.disk;
  const bool save = state.range(1) == 1;
  uint64_t n = 0;
  for (auto _ : state) {
    if (save) {
      if (!ix.SaveSegment("双十一老客", "甲 AND 乙").ok()) state.SkipWithError("save failed");
      state.PauseTiming();
      n = ix.GetSavedSegment("双十一老客").value().count;
      if (!ix.DropSavedSegment("双十一老客").ok()) state.SkipWithError("drop failed");
      state.ResumeTiming();
    } else {
      n = ix.Query("甲 AND 乙").value().Count();
    }
  }
  if (n != ix.Count("甲 AND 乙").value()) state.SkipWithError("saved count differs");
  state.counters["members"] = static_cast<double>(n);
}
BENCHMARK(BM_SaveSegment)
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->ArgNames({"persistent", "save"})
    ->Unit(benchmark::kMillisecond);

void Args(benchmark::internal::Benchmark* b, bool with_auto) {
  for (int density : {50, 300}) {
    for (int way : {kFused, kSeparate, kCroaring}) b->Args({density, way});
    if (with_auto) b->Args({density, kAuto});
  }
  b->ArgNames({"seg_permille", "way"})->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_Profile)->Apply([](auto* b) { Args(b, true); });
BENCHMARK(BM_TopN)->Apply([](auto* b) { Args(b, true); });
// way 0 here is the library's CoOccurrenceOf (auto per row).
BENCHMARK(BM_CoOccur)->Apply([](auto* b) { Args(b, false); });

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
