// Fused kernels vs CRoaring 0.2.66 (R0) vs a dense-bitset kernel (R2, the
// roofline), on the PERFORMANCE.md workload: tags of a given density over N
// customers, uniform random or cohort (a few id ranges, run-optimised: both
// engines then read the same run containers). Every benchmark checks its
// answer against CRoaring's.
//
//   bench/kernels_benchmark --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// Args: customers, density in permille (500 = 50 %), layout (0 uniform,
// 1 cohort). TAGINDEX_SIMD=avx2|sse4.2|scalar caps the dispatch level.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "bitmap/bitmap.h"
#include "bitmap/kernels.h"
#include "workload.h"

namespace tagindex::bench {
namespace {

constexpr int kArms = 8;

struct Data {
  Bitmap a, b, c;
  std::vector<Bitmap> arms;  // kArms tags of a tenth of the density
  std::vector<uint64_t> da, db, dc;
  std::vector<std::vector<uint64_t>> darms;
};

std::vector<uint64_t> Dense(const std::vector<uint32_t>& rows, uint32_t n) {
  std::vector<uint64_t> d((n + 63) / 64, 0);
  for (uint32_t r : rows) d[r >> 6] |= uint64_t{1} << (r & 63);
  return d;
}

const Data& Get(uint32_t n, int64_t permille, int64_t layout) {
  static std::map<std::tuple<uint32_t, int64_t, int64_t>, std::unique_ptr<Data>> cache;
  auto& slot = cache[{n, permille, layout}];
  if (!slot) {
    slot = std::make_unique<Data>();
    auto make = [&](uint64_t seed, double density, Bitmap* bm, std::vector<uint64_t>* dense) {
      WorkloadOptions w{.customers = n,
                        .tags = 100000,
                        .layout = layout == 1 ? Layout::kCohort : Layout::kUniform,
                        .seed = seed};
      const auto rows = TagRows(w, RankForDensity(w, density));
      *bm = kernels::croaring::FromIdsAddMany(rows);
      if (layout == 1) bm->RunOptimize();  // CRoaring's own conversion
      *dense = Dense(rows, n);
    };
    const double p = permille / 1000.0;
    make(1, p, &slot->a, &slot->da);
    make(2, p, &slot->b, &slot->db);
    make(3, p, &slot->c, &slot->dc);
    slot->arms.resize(kArms);
    slot->darms.resize(kArms);
    for (int k = 0; k < kArms; ++k) make(10 + k, p / 10, &slot->arms[k], &slot->darms[k]);
  }
  return *slot;
}

const Data& Get(const benchmark::State& s) {
  return Get(Customers(static_cast<uint32_t>(s.range(0))), s.range(1), s.range(2));
}

__attribute__((target("avx512f,avx512vpopcntdq,popcnt"))) uint64_t DenseAndCount512(
    const uint64_t* a, const uint64_t* b, size_t n) {
  uint64_t c = 0;
  for (size_t i = 0; i < n; ++i) c += std::popcount(a[i] & b[i]);
  return c;
}
__attribute__((target("avx512f,avx512vpopcntdq,popcnt"))) uint64_t DenseAndAndNotCount512(
    const uint64_t* a, const uint64_t* b, const uint64_t* c, size_t n) {
  uint64_t m = 0;
  for (size_t i = 0; i < n; ++i) m += std::popcount(a[i] & b[i] & ~c[i]);
  return m;
}
__attribute__((target("popcnt"))) uint64_t DenseAndCountPopcnt(const uint64_t* a, const uint64_t* b,
                                                               size_t n) {
  uint64_t c = 0;
  for (size_t i = 0; i < n; ++i) c += std::popcount(a[i] & b[i]);
  return c;
}
__attribute__((target("popcnt"))) uint64_t DenseAndAndNotCountPopcnt(const uint64_t* a,
                                                                     const uint64_t* b,
                                                                     const uint64_t* c, size_t n) {
  uint64_t m = 0;
  for (size_t i = 0; i < n; ++i) m += std::popcount(a[i] & b[i] & ~c[i]);
  return m;
}
// The roofline: the best the CPU offers (dispatched once, like the kernels).
bool HasAvx512() {
  static const bool yes =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
  return yes;
}
uint64_t DenseAndCount(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  return HasAvx512() ? DenseAndCount512(a.data(), b.data(), a.size())
                     : DenseAndCountPopcnt(a.data(), b.data(), a.size());
}
uint64_t DenseAndAndNotCount(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b,
                             const std::vector<uint64_t>& c) {
  return HasAvx512() ? DenseAndAndNotCount512(a.data(), b.data(), c.data(), a.size())
                     : DenseAndAndNotCountPopcnt(a.data(), b.data(), c.data(), a.size());
}

void Label(benchmark::State& state, uint64_t n) {
  state.counters["result"] = static_cast<double>(n);
}

// ---- count(A AND B) --------------------------------------------------------------------
void BM_Count_AB_CRoaring(benchmark::State& state) {
  const Data& d = Get(state);
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::croaring::AndCardinality(d.a, d.b));
  Label(state, n);
}
void BM_Count_AB_Kernel(benchmark::State& state) {
  const Data& d = Get(state);
  const Bitmap* pos[] = {&d.a, &d.b};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::AndAndNotCardinality(pos, {}));
  if (n != kernels::croaring::AndCardinality(d.a, d.b)) state.SkipWithError("count mismatch");
  Label(state, n);
  state.SetLabel(kernels::ActiveIsa());
}
void BM_Count_AB_DenseBitset(benchmark::State& state) {
  const Data& d = Get(state);
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = DenseAndCount(d.da, d.db));
  Label(state, n);
}

// ---- count(A AND B AND NOT C) ---------------------------------------------------------------
void BM_Count_ABnotC_CRoaring(benchmark::State& state) {
  const Data& d = Get(state);
  uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n = kernels::croaring::AndAndNotCardinality(d.a, d.b, d.c));
  }
  Label(state, n);
}
void BM_Count_ABnotC_Kernel(benchmark::State& state) {
  const Data& d = Get(state);
  const Bitmap* pos[] = {&d.a, &d.b};
  const Bitmap* neg[] = {&d.c};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::AndAndNotCardinality(pos, neg));
  if (n != kernels::croaring::AndAndNotCardinality(d.a, d.b, d.c)) {
    state.SkipWithError("count mismatch");
  }
  Label(state, n);
}
void BM_Count_ABnotC_DenseBitset(benchmark::State& state) {
  const Data& d = Get(state);
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = DenseAndAndNotCount(d.da, d.db, d.dc));
  Label(state, n);
}

// ---- materialise A AND B AND NOT C ----------------------------------------------------------
// materialise A AND B: the pair driver, and the general driver on the same
// pair (an empty subtraction keeps it off the pair driver).
void BM_Materialize_AB_Kernel(benchmark::State& state) {
  const Data& d = Get(state);
  const Bitmap* pos[] = {&d.a, &d.b};
  for (auto _ : state) {
    Bitmap r = kernels::AndAndNot(pos, {});
    benchmark::DoNotOptimize(r.raw());
  }
  if (!kernels::AndAndNot(pos, {}).Equals(kernels::croaring::And(d.a, d.b))) {
    state.SkipWithError("result mismatch");
  }
}
void BM_Materialize_AB_GeneralDriver(benchmark::State& state) {
  const Data& d = Get(state);
  const Bitmap none;
  const Bitmap* pos[] = {&d.a, &d.b};
  const Bitmap* neg[] = {&none};
  for (auto _ : state) {
    Bitmap r = kernels::AndAndNot(pos, neg);
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Materialize_ABnotC_CRoaring(benchmark::State& state) {
  const Data& d = Get(state);
  for (auto _ : state) {
    Bitmap r = kernels::croaring::And(d.a, d.b);
    r = kernels::croaring::AndNot(r, d.c);
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Materialize_ABnotC_Kernel(benchmark::State& state) {
  const Data& d = Get(state);
  const Bitmap* pos[] = {&d.a, &d.b};
  const Bitmap* neg[] = {&d.c};
  for (auto _ : state) {
    Bitmap r = kernels::AndAndNot(pos, neg);
    benchmark::DoNotOptimize(r.raw());
  }
  if (!kernels::AndAndNot(pos, neg).Equals(
          kernels::croaring::AndNot(kernels::croaring::And(d.a, d.b), d.c))) {
    state.SkipWithError("result mismatch");
  }
}

// ---- count(A AND (B1 OR ... OR B8)) ---------------------------------------------------------
void BM_Count_AOr8_CRoaring(benchmark::State& state) {
  const Data& d = Get(state);
  std::vector<const Bitmap*> arms;
  for (const Bitmap& b : d.arms) arms.push_back(&b);
  uint64_t n = 0;
  for (auto _ : state) {
    const Bitmap u = kernels::croaring::OrMany(arms);
    benchmark::DoNotOptimize(n = kernels::croaring::AndCardinality(d.a, u));
  }
  Label(state, n);
}
void BM_Count_AOr8_Kernel(benchmark::State& state) {
  const Data& d = Get(state);
  std::vector<const Bitmap*> arms;
  for (const Bitmap& b : d.arms) arms.push_back(&b);
  const Bitmap* pos[] = {&d.a};
  const std::span<const Bitmap* const> groups[] = {arms};
  uint64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n = Bitmap::AndOrAndNotCardinality(pos, groups, {}));
  }
  if (n != kernels::croaring::AndCardinality(d.a, kernels::croaring::OrMany(arms))) {
    state.SkipWithError("count mismatch");
  }
  Label(state, n);
}
void BM_Count_AOr8_DenseBitset(benchmark::State& state) {
  const Data& d = Get(state);
  std::vector<uint64_t> u(d.da.size());
  uint64_t n = 0;
  for (auto _ : state) {
    std::fill(u.begin(), u.end(), 0);
    for (const auto& arm : d.darms) {
      for (size_t i = 0; i < u.size(); ++i) u[i] |= arm[i];
    }
    benchmark::DoNotOptimize(n = DenseAndCount(d.da, u));
  }
  Label(state, n);
}

// ---- fixed cost: an intersection found empty at the container-key level ---------------------
struct Disjoint {
  Bitmap a, b;
};
const Disjoint& GetDisjoint() {
  static const Disjoint d = [] {
    Disjoint x;
    x.a = Bitmap::FromRange(0, 3'000'000);  // chunks 0..45
    x.b = Bitmap::FromRange(5'000'000, 8'000'000);
    x.a.RunOptimize();
    x.b.RunOptimize();
    return x;
  }();
  return d;
}
void BM_Empty_AB_CRoaring(benchmark::State& state) {
  const Disjoint& d = GetDisjoint();
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::croaring::AndCardinality(d.a, d.b));
  Label(state, n);
}
void BM_Empty_AB_Kernel(benchmark::State& state) {
  const Disjoint& d = GetDisjoint();
  const Bitmap* pos[] = {&d.a, &d.b};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::AndAndNotCardinality(pos, {}));
  Label(state, n);
}

// ---- many tiny containers (sparse real data, e.g. census1881) -----------------------
// Two bitmaps over 16,384 chunks with range(0) ids per chunk on average, half of
// B's ids taken from A: the per-chunk overhead of the driver dominates.
struct Tiny {
  Bitmap a, b;
};
const Tiny& GetTiny(int64_t per_chunk) {
  static std::map<int64_t, std::unique_ptr<Tiny>> cache;
  auto& slot = cache[per_chunk];
  if (!slot) {
    slot = std::make_unique<Tiny>();
    std::mt19937_64 rng(static_cast<uint64_t>(per_chunk) + 41);
    const size_t n = static_cast<size_t>(16384 * per_chunk);
    std::vector<uint32_t> a(n), b(n);
    for (uint32_t& x : a) x = static_cast<uint32_t>(rng() % (uint64_t{16384} << 16));
    for (size_t i = 0; i < n; ++i) {
      b[i] = i % 2 == 0 ? a[rng() % n] : static_cast<uint32_t>(rng() % (uint64_t{16384} << 16));
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    slot->a = kernels::croaring::FromIdsAddMany(a);
    slot->b = kernels::croaring::FromIdsAddMany(b);
  }
  return *slot;
}
void BM_Count_Tiny_CRoaring(benchmark::State& state) {
  const Tiny& d = GetTiny(state.range(0));
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::croaring::AndCardinality(d.a, d.b));
  Label(state, n);
}
void BM_Count_Tiny_Kernel(benchmark::State& state) {
  const Tiny& d = GetTiny(state.range(0));
  const Bitmap* pos[] = {&d.a, &d.b};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::AndAndNotCardinality(pos, {}));
  if (n != kernels::croaring::AndCardinality(d.a, d.b)) state.SkipWithError("count mismatch");
  Label(state, n);
  state.SetLabel(kernels::ActiveIsa());
}
// The general driver on the same pair (an empty subtraction keeps it off the
// pair driver, and subtracts nothing): what A AND B cost before DrivePair.
void BM_Count_Tiny_GeneralDriver(benchmark::State& state) {
  const Tiny& d = GetTiny(state.range(0));
  const Bitmap none;
  const Bitmap* pos[] = {&d.a, &d.b};
  const Bitmap* neg[] = {&none};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::AndAndNotCardinality(pos, neg));
  if (n != kernels::croaring::AndCardinality(d.a, d.b)) state.SkipWithError("count mismatch");
  Label(state, n);
}
void BM_Empty_AB_GeneralDriver(benchmark::State& state) {
  const Disjoint& d = GetDisjoint();
  const Bitmap none;
  const Bitmap* pos[] = {&d.a, &d.b};
  const Bitmap* neg[] = {&none};
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::AndAndNotCardinality(pos, neg));
  Label(state, n);
}
void BM_Materialize_Tiny_GeneralDriver(benchmark::State& state) {
  const Tiny& d = GetTiny(state.range(0));
  const Bitmap none;
  const Bitmap* pos[] = {&d.a, &d.b};
  const Bitmap* neg[] = {&none};
  for (auto _ : state) {
    Bitmap r = kernels::AndAndNot(pos, neg);
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Materialize_Tiny_CRoaring(benchmark::State& state) {
  const Tiny& d = GetTiny(state.range(0));
  for (auto _ : state) {
    Bitmap r = kernels::croaring::And(d.a, d.b);
    benchmark::DoNotOptimize(r.raw());
  }
}
void BM_Materialize_Tiny_Kernel(benchmark::State& state) {
  const Tiny& d = GetTiny(state.range(0));
  const Bitmap* pos[] = {&d.a, &d.b};
  for (auto _ : state) {
    Bitmap r = kernels::AndAndNot(pos, {});
    benchmark::DoNotOptimize(r.raw());
  }
  if (!kernels::AndAndNot(pos, {}).Equals(kernels::croaring::And(d.a, d.b))) {
    state.SkipWithError("result mismatch");
  }
}

// ---- bulk build -----------------------------------------------------------------------------
const std::vector<uint32_t>& BuildIds(bool shuffled) {
  static const auto make = [](bool s) {
    const uint32_t n = Customers(10'000'000);
    std::vector<uint32_t> ids(n);
    std::iota(ids.begin(), ids.end(), 0);
    if (s) std::shuffle(ids.begin(), ids.end(), std::mt19937_64(7));
    return ids;
  };
  static const std::vector<uint32_t> sorted = make(false), mixed = make(true);
  return shuffled ? mixed : sorted;
}
void BM_Build_CRoaringAddMany(benchmark::State& state) {
  const auto& ids = BuildIds(state.range(0) != 0);
  for (auto _ : state) {
    Bitmap b = kernels::croaring::FromIdsAddMany(ids);
    benchmark::DoNotOptimize(b.raw());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}
void BM_Build_FromIds(benchmark::State& state) {
  const auto& ids = BuildIds(state.range(0) != 0);
  for (auto _ : state) {
    Bitmap b = Bitmap::FromIds(ids);
    benchmark::DoNotOptimize(b.raw());
  }
  if (Bitmap::FromIds(ids).Cardinality() != ids.size()) state.SkipWithError("wrong size");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * ids.size()));
}

// ---- the real datasets (Roaring papers): pairs_or and wide_or ----------------------------
// The bitmaps of ../shared/testdata/real-roaring (or $TAGINDEX_TESTDATA/real-roaring),
// run-optimised as compare.sh's CRoaring side builds them. range(0) picks the
// dataset; a missing archive skips the benchmark with the reason.
// "CRoaring" is Debian's 0.2.66 roaring_bitmap_or / or_many (what Bitmap::Or was
// before kern5); "Bitmap" is Bitmap::Or as wired now.
const char* const kRealArchives[] = {"census-income.tar.xz",
                                     "census-income_srt.tar.xz",
                                     "census1881.zip",
                                     "census1881_srt.zip",
                                     "weather_sept_85.PARTIAL-192of200.tar.xz",
                                     "weather_sept_85_srt.PARTIAL-192of200.tar.xz"};

std::vector<Bitmap> ReadReal(const std::string& archive) {
  const char* env = std::getenv("TAGINDEX_TESTDATA");
  const std::string dir = env != nullptr ? env : "../shared/testdata";
  const std::string path = dir + "/real-roaring/" + archive;
  std::vector<Bitmap> out;
  if (!std::filesystem::exists(path)) return out;
  const std::string cmd =
      archive.ends_with(".zip") ? "unzip -p '" + path + "'" : "tar -xJOf '" + path + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::vector<uint32_t> ids;
  uint64_t v = 0;
  bool any = false;
  auto flush = [&] {
    if (any) ids.push_back(static_cast<uint32_t>(v));
    v = 0;
    any = false;
  };
  for (int ch; (ch = std::fgetc(p)) != EOF;) {
    if (ch >= '0' && ch <= '9') {
      v = v * 10 + static_cast<uint64_t>(ch - '0');
      any = true;
    } else if (ch == ',') {
      flush();
    } else if (ch == '\n') {
      flush();
      if (!ids.empty()) {
        std::sort(ids.begin(), ids.end());
        out.push_back(kernels::croaring::FromIdsAddMany(ids));
        out.back().RunOptimize();
      }
      ids.clear();
    }
  }
  flush();
  if (!ids.empty()) {
    std::sort(ids.begin(), ids.end());
    out.push_back(kernels::croaring::FromIdsAddMany(ids));
    out.back().RunOptimize();
  }
  pclose(p);
  return out;
}

const std::vector<Bitmap>* GetReal(benchmark::State& state) {
  // TAGINDEX_OR_CROARING_PAIRS=MASK: which container pairs kernels::Or hands
  // to CRoaring 0.2.66 (kernels.h), to choose the default by measurement.
  static const bool mask_set = [] {
    const char* env = std::getenv("TAGINDEX_OR_CROARING_PAIRS");
    if (env != nullptr) {
      kernels::SetCRoaringOrPairsForTesting(static_cast<uint32_t>(std::strtoul(env, nullptr, 0)));
    }
    return true;
  }();
  (void)mask_set;
  static std::map<int64_t, std::vector<Bitmap>> cache;
  const int64_t k = state.range(0);
  auto it = cache.find(k);
  if (it == cache.end()) it = cache.emplace(k, ReadReal(kRealArchives[k])).first;
  if (it->second.empty()) {
    state.SkipWithError(
        (std::string(kRealArchives[k]) + " not found (set TAGINDEX_TESTDATA)").c_str());
    return nullptr;
  }
  state.SetLabel(kRealArchives[k]);
  return &it->second;
}

template <typename OrFn>
void RealPairsOr(benchmark::State& state, OrFn&& fn) {
  const std::vector<Bitmap>* bms = GetReal(state);
  if (bms == nullptr) return;
  uint64_t total = 0;
  for (auto _ : state) {
    total = 0;
    for (size_t i = 0; i + 1 < bms->size(); ++i) {
      Bitmap r = fn((*bms)[i], (*bms)[i + 1]);
      total += r.Cardinality();
    }
    benchmark::DoNotOptimize(total);
  }
  uint64_t want = 0;
  for (size_t i = 0; i + 1 < bms->size(); ++i) {
    const Bitmap a = kernels::croaring::Or((*bms)[i], (*bms)[i + 1]);
    const Bitmap b = fn((*bms)[i], (*bms)[i + 1]);
    if (!a.Equals(b)) state.SkipWithError("result mismatch");
    want += a.Cardinality();
  }
  if (want != total) state.SkipWithError("count mismatch");
  Label(state, total);
}
void BM_RealPairsOr_CRoaring(benchmark::State& state) {
  RealPairsOr(state, [](const Bitmap& a, const Bitmap& b) { return kernels::croaring::Or(a, b); });
}
void BM_RealPairsOr_Bitmap(benchmark::State& state) {
  RealPairsOr(state, [](const Bitmap& a, const Bitmap& b) { return Bitmap::Or(a, b); });
}
void BM_RealPairsOr_Kernel(benchmark::State& state) {
  RealPairsOr(state, [](const Bitmap& a, const Bitmap& b) { return kernels::Or(a, b); });
}

std::vector<const Bitmap*> Pointers(const std::vector<Bitmap>& bms) {
  std::vector<const Bitmap*> in;
  for (const Bitmap& b : bms) in.push_back(&b);
  return in;
}
// wide_or as compare.sh measures it: CRoaring builds or_many and takes its
// cardinality; tagindex counts (CompiledQuery::Count -> OrManyCount).
void BM_RealWideOr_CRoaring(benchmark::State& state) {
  const std::vector<Bitmap>* bms = GetReal(state);
  if (bms == nullptr) return;
  const auto in = Pointers(*bms);
  uint64_t n = 0;
  for (auto _ : state) {
    const Bitmap u = kernels::croaring::OrMany(in);
    benchmark::DoNotOptimize(n = u.Cardinality());
  }
  Label(state, n);
}
void BM_RealWideOr_Count(benchmark::State& state) {
  const std::vector<Bitmap>* bms = GetReal(state);
  if (bms == nullptr) return;
  const auto in = Pointers(*bms);
  uint64_t n = 0;
  for (auto _ : state) benchmark::DoNotOptimize(n = kernels::OrManyCount(in));
  if (n != kernels::croaring::OrMany(in).Cardinality()) state.SkipWithError("count mismatch");
  Label(state, n);
}
void BM_RealWideOr_Kernel(benchmark::State& state) {
  const std::vector<Bitmap>* bms = GetReal(state);
  if (bms == nullptr) return;
  const auto in = Pointers(*bms);
  uint64_t n = 0;
  for (auto _ : state) {
    const Bitmap u = kernels::OrMany(in);
    benchmark::DoNotOptimize(n = u.Cardinality());
  }
  if (!kernels::OrMany(in).Equals(kernels::croaring::OrMany(in))) {
    state.SkipWithError("result mismatch");
  }
  Label(state, n);
}
void RealGrid(benchmark::internal::Benchmark* b) {
  b->DenseRange(0, 5)->Unit(benchmark::kMicrosecond);
}

void Grid(benchmark::internal::Benchmark* b) {
  for (int64_t layout : {0, 1}) {
    for (int64_t permille : {500, 50, 10, 1}) b->Args({10'000'000, permille, layout});
  }
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK(BM_Count_AB_CRoaring)->Apply(Grid);
BENCHMARK(BM_Count_AB_Kernel)->Apply(Grid);
BENCHMARK(BM_Count_AB_DenseBitset)->Apply(Grid);
BENCHMARK(BM_Count_ABnotC_CRoaring)->Apply(Grid);
BENCHMARK(BM_Count_ABnotC_Kernel)->Apply(Grid);
BENCHMARK(BM_Count_ABnotC_DenseBitset)->Apply(Grid);
BENCHMARK(BM_Materialize_AB_Kernel)->Apply(Grid);
BENCHMARK(BM_Materialize_AB_GeneralDriver)->Apply(Grid);
BENCHMARK(BM_Materialize_ABnotC_CRoaring)->Apply(Grid);
BENCHMARK(BM_Materialize_ABnotC_Kernel)->Apply(Grid);
BENCHMARK(BM_Count_AOr8_CRoaring)->Apply(Grid);
BENCHMARK(BM_Count_AOr8_Kernel)->Apply(Grid);
BENCHMARK(BM_Count_AOr8_DenseBitset)->Apply(Grid);
BENCHMARK(BM_Count_Tiny_CRoaring)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Count_Tiny_Kernel)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Count_Tiny_GeneralDriver)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Materialize_Tiny_GeneralDriver)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Materialize_Tiny_CRoaring)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Materialize_Tiny_Kernel)->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Empty_AB_CRoaring)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Empty_AB_Kernel)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Empty_AB_GeneralDriver)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_Build_CRoaringAddMany)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RealPairsOr_CRoaring)->Apply(RealGrid);
BENCHMARK(BM_RealPairsOr_Bitmap)->Apply(RealGrid);
BENCHMARK(BM_RealPairsOr_Kernel)->Apply(RealGrid);
BENCHMARK(BM_RealWideOr_CRoaring)->Apply(RealGrid);
BENCHMARK(BM_RealWideOr_Count)->Apply(RealGrid);
BENCHMARK(BM_RealWideOr_Kernel)->Apply(RealGrid);
BENCHMARK(BM_Build_FromIds)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
