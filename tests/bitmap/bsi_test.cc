// The bit-sliced index against a naive column (std::vector<std::optional<
// int64_t>>): every mutation, every interval form and every aggregate on
// random data with negatives, zero, NULLs and the int64 extremes, over rows
// spanning several chunks of every container kind.
#include "bitmap/bsi.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bitmap/bitmap.h"
#include "bitmap/simd.h"

using tagindex::Bitmap;
using tagindex::Bsi;

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

using Column = std::vector<std::optional<int64_t>>;

// Values of one of several shapes: small, small signed, 20-bit, wide, or an
// extreme.
int64_t RandomValue(std::mt19937_64& rng, int shape) {
  switch (shape) {
    case 0:
      return static_cast<int64_t>(rng() % 100);
    case 1:
      return static_cast<int64_t>(rng() % 41) - 20;
    case 2:
      return static_cast<int64_t>(rng() % (1 << 20)) - (1 << 19);
    default: {
      switch (rng() % 8) {
        case 0:
          return kMin;
        case 1:
          return kMax;
        case 2:
          return 0;
        case 3:
          return -1;
        case 4:
          return kMin + static_cast<int64_t>(rng() % 3);
        case 5:
          return kMax - static_cast<int64_t>(rng() % 3);
        default:
          return static_cast<int64_t>(rng());
      }
    }
  }
}

struct Fixture {
  explicit Fixture(uint64_t seed) : rng(seed), shape(static_cast<int>(seed % 4)) {}
  std::mt19937_64 rng;
  int shape;
  uint32_t rows = 3 * 65536 + 1234;
  Column model = Column(rows);
  Bsi bsi;

  // Rows dense in some chunks, sparse or absent in others.
  std::vector<uint32_t> RandomRows(size_t n) {
    std::vector<uint32_t> out;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t chunk = static_cast<uint32_t>(rng() % 4);
      const uint32_t span = chunk == 3 ? 1234 : 65536;
      const uint32_t within = chunk == 1 ? static_cast<uint32_t>(rng() % 300) * 7  // sparse
                                         : static_cast<uint32_t>(rng() % span);
      out.push_back(chunk * 65536 + within % span);
    }
    return out;
  }

  void Mutate() {
    switch (rng() % 5) {
      case 0:
      case 1: {
        std::vector<uint32_t> r = RandomRows(rng() % 40000);
        std::vector<int64_t> v;
        for (size_t i = 0; i < r.size(); ++i) v.push_back(RandomValue(rng, shape));
        bsi.SetMany(r, v);
        for (size_t i = 0; i < r.size(); ++i) model[r[i]] = v[i];  // later wins
        break;
      }
      case 2: {
        const uint32_t row = RandomRows(1)[0];
        const int64_t v = RandomValue(rng, shape);
        bsi.Set(row, v);
        model[row] = v;
        break;
      }
      case 3: {
        std::vector<uint32_t> r = RandomRows(rng() % 5000);
        bsi.ClearMany(r);
        for (uint32_t x : r) model[x].reset();
        break;
      }
      default: {
        const uint32_t row = RandomRows(1)[0];
        bsi.Clear(row);
        model[row].reset();
        break;
      }
    }
  }

  // A bound near the data: an existing value, its neighbour, or an extreme.
  int64_t Bound() {
    const uint32_t row = RandomRows(1)[0];
    int64_t v = model[row].value_or(RandomValue(rng, shape));
    switch (rng() % 4) {
      case 0:
        if (v > kMin) --v;
        break;
      case 1:
        if (v < kMax) ++v;
        break;
      default:
        break;
    }
    if (rng() % 10 == 0) v = rng() % 2 ? kMin : kMax;
    return v;
  }

  // Each chunk's density drawn apart: a few ids (a small array container:
  // the sparse path of Select and Summarize), up to ~260 ids (around its
  // 256-word threshold), or 1 %..100 % (the whole-chunk path).
  Bitmap RandomFilter() {
    std::vector<uint32_t> ids;
    std::uniform_real_distribution<double> unit(0, 1);
    double p = 0;
    for (uint32_t x = 0; x < rows; ++x) {
      if (x % 65536 == 0) {
        const uint64_t kind = rng() % 4;
        p = kind == 0   ? 0.00005 + (rng() % 10) / 10000.0
            : kind == 1 ? 0.003 + (rng() % 10) / 10000.0
                        : 0.01 + (rng() % 100) / 100.0;
      }
      if (x >= 2 * 65536 && x < 3 * 65536) continue;  // a chunk absent from the filter
      if (unit(rng) < p) ids.push_back(x);
    }
    return Bitmap::FromIds(ids);
  }
};

bool InAny(int64_t v, const std::vector<Bsi::Interval>& ivs) {
  for (const auto& iv : ivs) {
    if (iv.lo <= v && v <= iv.hi) return true;
  }
  return false;
}

std::vector<uint32_t> ModelSelect(const Column& m, const std::vector<Bsi::Interval>& ivs,
                                  const Bitmap* filter) {
  std::vector<uint32_t> out;
  for (uint32_t r = 0; r < m.size(); ++r) {
    if (!m[r] || (filter != nullptr && !filter->Contains(r))) continue;
    if (InAny(*m[r], ivs)) out.push_back(r);
  }
  return out;
}

std::vector<int64_t> ModelValues(const Column& m, const Bitmap* filter) {
  std::vector<int64_t> out;
  for (uint32_t r = 0; r < m.size(); ++r) {
    if (m[r] && (filter == nullptr || filter->Contains(r))) out.push_back(*m[r]);
  }
  return out;
}

void CheckOnce(Fixture& f, uint64_t seed) {
  INFO("seed " << seed << " bits " << f.bsi.bits());
  for (uint32_t r = 0; r < f.rows; r += 97) REQUIRE(f.bsi.Get(r) == f.model[r]);
  const Bitmap filter = f.RandomFilter();
  for (const Bitmap* flt : {static_cast<const Bitmap*>(nullptr), &filter}) {
    INFO("filtered " << (flt != nullptr));
    for (int q = 0; q < 6; ++q) {
      std::vector<Bsi::Interval> ivs;
      const int n = 1 + static_cast<int>(f.rng() % 3);
      for (int k = 0; k < n; ++k) {
        const int64_t a = f.Bound(), b = f.Bound();
        switch (f.rng() % 5) {
          case 0:
            ivs.push_back({a, a});  // =
            break;
          case 1:
            ivs.push_back({kMin, a});  // <=
            break;
          case 2:
            ivs.push_back({a, kMax});  // >=
            break;
          case 3:
            ivs.push_back({b, a});  // possibly empty
            break;
          default:
            ivs.push_back({std::min(a, b), std::max(a, b)});  // BETWEEN
            break;
        }
      }
      const std::vector<uint32_t> want = ModelSelect(f.model, ivs, flt);
      INFO("interval " << ivs[0].lo << ".." << ivs[0].hi << " of " << ivs.size());
      REQUIRE(f.bsi.Select(ivs, flt).ToVector() == want);
      REQUIRE(f.bsi.SelectCount(ivs, flt) == want.size());
    }
    std::vector<int64_t> vals = ModelValues(f.model, flt);
    std::sort(vals.begin(), vals.end());
    REQUIRE(f.bsi.Count(flt) == vals.size());
    tagindex::Int128 sum = 0;
    for (int64_t v : vals) sum += v;
    REQUIRE(f.bsi.Sum(flt) == sum);
    if (vals.empty()) {
      REQUIRE(!f.bsi.Min(flt).has_value());
      REQUIRE(!f.bsi.Max(flt).has_value());
    } else {
      REQUIRE(f.bsi.Min(flt) == vals.front());
      REQUIRE(f.bsi.Max(flt) == vals.back());
      for (int q = 0; q < 3; ++q) {
        const uint64_t k = f.rng() % vals.size();
        REQUIRE(f.bsi.KthSmallest(k, flt) == vals[k]);
      }
    }
    REQUIRE(!f.bsi.KthSmallest(vals.size(), flt).has_value());
    // Summarize computes exactly the aggregates asked for.
    for (int w = 0; w < 8; ++w) {
      const Bsi::Want want{.sum = (w & 1) != 0, .min = (w & 2) != 0, .max = (w & 4) != 0};
      INFO("want sum " << want.sum << " min " << want.min << " max " << want.max);
      const Bsi::Summary got = f.bsi.Summarize(flt, want);
      REQUIRE(got.count == vals.size());
      REQUIRE(got.sum == (want.sum ? sum : 0));
      const std::optional<int64_t> lo =
          vals.empty() ? std::nullopt : std::optional<int64_t>(vals.front());
      const std::optional<int64_t> hi =
          vals.empty() ? std::nullopt : std::optional<int64_t>(vals.back());
      REQUIRE(got.min == (want.min ? lo : std::nullopt));
      REQUIRE(got.max == (want.max ? hi : std::nullopt));
    }
    // Top-k / bottom-k: by value, ties by ascending row.
    for (bool largest : {true, false}) {
      const uint64_t k = f.rng() % 50;
      std::vector<std::pair<uint32_t, int64_t>> want;
      for (uint32_t r = 0; r < f.rows; ++r) {
        if (f.model[r] && (flt == nullptr || flt->Contains(r))) want.emplace_back(r, *f.model[r]);
      }
      std::sort(want.begin(), want.end(), [largest](const auto& a, const auto& b) {
        if (a.second != b.second) return largest ? a.second > b.second : a.second < b.second;
        return a.first < b.first;
      });
      if (want.size() > k) want.resize(k);
      REQUIRE(f.bsi.TopK(k, largest, flt) == want);
    }
    // Histogram over bounds drawn near the data.
    std::vector<int64_t> bounds;
    for (int k = 0; k < 4; ++k) bounds.push_back(f.Bound());
    std::sort(bounds.begin(), bounds.end());
    std::vector<uint64_t> hist = f.bsi.Histogram(bounds, flt);
    REQUIRE(hist.size() == 3);
    for (size_t j = 0; j < 3; ++j) {
      uint64_t c = 0;
      for (int64_t v : vals) c += bounds[j] <= v && v < bounds[j + 1];
      REQUIRE(hist[j] == c);
    }
  }
}

// Every evaluation path of small filters against the model: their words
// only, the whole chunk, and the row cache (a gather from the row-major
// copy of the chunk) for every small array container, for none, by the
// default policy (at these sizes: the slice walk, no chunk pays its rent),
// and by the ski-rental policy with a low build threshold, so that chunks
// get built in the middle of CheckOnce's queries (after the previous
// round's mutations dropped some and reset their rent, then from a fresh
// start).
void CheckAll(Fixture& f, uint64_t seed) {
  using Mode = Bsi::RowCacheMode;
  const uint32_t low_rent = Bsi::RowCacheRent(8) * 3;  // ~3 visits of a small filter
  struct Run {
    Mode mode;
    uint32_t build_rent;
    bool fresh;  // DropRowCache first
  };
  for (const Run& run :
       {Run{Mode::kAuto, low_rent, false}, Run{Mode::kOff, 0, false}, Run{Mode::kAlways, 0, false},
        Run{Mode::kAuto, 0, false}, Run{Mode::kAuto, low_rent, true}}) {
    for (bool sparse : {true, false}) {
      // The policy's runs check the path choice; the whole-chunk path below
      // the row cache is the same as kOff's and kAlways' (time).
      if (!sparse && run.build_rent != 0) continue;
      INFO("sparse filter path " << sparse << " row cache mode " << static_cast<int>(run.mode)
                                 << " build rent " << run.build_rent << " fresh " << run.fresh);
      Bsi::SetSparseFiltersForTesting(sparse);
      Bsi::SetRowCacheForTesting(run.mode, Bsi::kRowCacheMaxRows,
                                 run.build_rent == 0 ? Bsi::kRowCacheBuildRent : run.build_rent);
      if (run.fresh) f.bsi.DropRowCache();
      CheckOnce(f, seed);
    }
  }
  Bsi::SetSparseFiltersForTesting(true);
  Bsi::SetRowCacheForTesting(Mode::kAuto);
}

}  // namespace

TEST_CASE("bsi: random mutations and queries agree with a naive column", "[bsi]") {
  const char* full = std::getenv("TAGINDEX_FULL");
  const int seeds = full != nullptr && std::string(full) == "1" ? 40 : 8;
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(seeds); ++seed) {
    Fixture f(seed);
    for (int step = 0; step < 6; ++step) {
      f.Mutate();
      if (step % 2 == 1) CheckAll(f, seed);
    }
    f.bsi.RunOptimize();  // run containers in the slices
    CheckAll(f, seed);
    // Serialisation round trip keeps every value.
    std::string blob;
    f.bsi.Serialize(&blob);
    absl::StatusOr<Bsi> back = Bsi::Deserialize({blob.data(), blob.size()});
    REQUIRE(back.ok());
    f.bsi = *std::move(back);
    CheckAll(f, seed);
  }
}

// The row cache survives Copy (chunks shared) and each copy's changes drop
// only its own chunks: both columns keep answering like their models.
TEST_CASE("bsi: row cache chunks are shared by copies and dropped by changes", "[bsi]") {
  using Mode = Bsi::RowCacheMode;
  Bsi::SetRowCacheForTesting(Mode::kAlways);
  for (uint64_t seed = 101; seed <= 104; ++seed) {
    Fixture f(seed);
    f.Mutate();
    const Bitmap filter = f.RandomFilter();
    (void)f.bsi.Summarize(&filter, {});  // builds the chunks the filter visits
    const size_t built = f.bsi.RowCacheChunks();
    INFO("seed " << seed << " chunks " << built);
    Fixture copy(seed);
    copy.bsi = f.bsi.Copy();
    copy.model = f.model;
    REQUIRE(copy.bsi.RowCacheChunks() == built);
    copy.Mutate();  // drops the chunks it touches, builds none
    REQUIRE(copy.bsi.RowCacheChunks() <= built);
    for (int step = 0; step < 4; ++step) {
      if (step > 0) copy.Mutate();
      CheckAll(copy, seed);
      Bsi::SetRowCacheForTesting(Mode::kAlways);
      CheckAll(f, seed);  // the original is unchanged by the copy's changes
      Bsi::SetRowCacheForTesting(Mode::kAlways);
    }
    // A value set past the rows the cache was sized for is read right.
    const uint32_t far = f.rows + 5 * 65536 + 17;
    copy.bsi.Set(far, -42);
    Bitmap one = Bitmap::FromIds(std::vector<uint32_t>{far});
    REQUIRE(copy.bsi.Summarize(&one, {}).sum == -42);
    const Bsi::Interval iv{-42, -42};
    REQUIRE(copy.bsi.SelectCount({&iv, 1}, &one) == 1);
  }
  Bsi::SetRowCacheForTesting(Mode::kAuto);
}

// The ski-rental policy, step by step: a filter of `per` rows in each of
// four chunks (plus one chunk of more than kRowCacheMaxRows rows, which is
// never cached); with the build rent set to K visits' rent, K-1 repeats of a
// query build nothing and the K-th builds the four chunks; a mutation drops
// its chunk and resets its rent, so that chunk is built again only K
// visits later. Every answer is checked against the naive column.
TEST_CASE("bsi: the row cache is built once a chunk's rent reaches the threshold", "[bsi]") {
  using Mode = Bsi::RowCacheMode;
  for (uint64_t seed = 201; seed <= 206; ++seed) {
    Fixture f(seed);
    f.rows = 6 * 65536;
    f.model.assign(f.rows, std::nullopt);
    std::vector<uint32_t> all(f.rows);
    std::vector<int64_t> vals(f.rows);
    for (uint32_t r = 0; r < f.rows; ++r) {
      all[r] = r;
      vals[r] = RandomValue(f.rng, f.shape);
      f.model[r] = vals[r];
    }
    f.bsi = Bsi::Build(all, vals);
    const int32_t per = 1 + static_cast<int32_t>(f.rng() % 200);
    const int k_visits = 2 + static_cast<int>(f.rng() % 6);
    INFO("seed " << seed << " rows per chunk " << per << " K " << k_visits);
    std::vector<uint32_t> ids;
    for (uint32_t chunk = 0; chunk < 4; ++chunk) {
      for (int32_t j = 0; j < per; ++j)
        ids.push_back(chunk * 65536 + static_cast<uint32_t>(j) * 97);
    }
    for (uint32_t j = 0; j < 2000; ++j) ids.push_back(5 * 65536 + j * 3);  // > max rows
    std::sort(ids.begin(), ids.end());
    const Bitmap filter = Bitmap::FromIds(ids);
    Bsi::SetRowCacheForTesting(Mode::kAuto, Bsi::kRowCacheMaxRows,
                               Bsi::RowCacheRent(per) * static_cast<uint32_t>(k_visits));
    // Queries alternate between a range count and a sum: both pay rent.
    int q = 0;
    auto query = [&] {
      INFO("query " << q);
      // A bound that is a value of the column: the interval is never empty
      // after clamping (an empty one would visit no chunk).
      const int64_t bound = *f.model[f.rng() % f.rows];
      const std::vector<Bsi::Interval> ivs = {{bound, kMax}};
      if (q++ % 2 == 0) {
        REQUIRE(f.bsi.SelectCount(ivs, &filter) == ModelSelect(f.model, ivs, &filter).size());
      } else {
        tagindex::Int128 sum = 0;
        for (int64_t v : ModelValues(f.model, &filter)) sum += v;
        REQUIRE(f.bsi.Summarize(&filter, {.sum = true, .min = false, .max = false}).sum == sum);
      }
    };
    for (int v = 1; v < k_visits; ++v) {
      query();
      REQUIRE(f.bsi.RowCacheChunks() == 0);
    }
    query();  // the K-th visit builds
    REQUIRE(f.bsi.RowCacheChunks() == 4);
    for (int v = 0; v < 3; ++v) query();  // gathered now
    REQUIRE(f.bsi.RowCacheChunks() == 4);
    // A change in chunk 2 drops it and resets its rent.
    const uint32_t row = 2 * 65536 + 97;
    const int64_t value = RandomValue(f.rng, f.shape);
    f.bsi.Set(row, value);
    f.model[row] = value;
    REQUIRE(f.bsi.RowCacheChunks() == 3);
    for (int v = 1; v < k_visits; ++v) {
      query();
      REQUIRE(f.bsi.RowCacheChunks() == 3);
    }
    query();
    REQUIRE(f.bsi.RowCacheChunks() == 4);
    // kOff never builds nor reads the cache; kAlways builds at once.
    f.bsi.DropRowCache();
    Bsi::SetRowCacheForTesting(Mode::kOff);
    for (int v = 0; v < k_visits + 1; ++v) query();
    REQUIRE(f.bsi.RowCacheChunks() == 0);
    Bsi::SetRowCacheForTesting(Mode::kAlways);
    query();
    REQUIRE(f.bsi.RowCacheChunks() == 5);  // the big chunk too: every array container
  }
  Bsi::SetRowCacheForTesting(Mode::kAuto);
}

// The fused whole-chunk kernels (Bsi::SetFusedChunksForTesting) at every
// dispatch level the CPU has, against the naive column, on chunks of every
// shape they special-case: a full chunk without NULLs (existence a bitset
// of 65,536 as built, a single run after RunOptimize: the kernel then runs
// without candidates), a chunk with NULLs, one of sorted values (run
// containers in the slices), one of mostly small values with rare large
// ones (array containers in the high slices), and a partial last chunk;
// negatives, zero and the int64 extremes by the seed's shape. CheckOnce
// asks Select, SelectCount, Sum, Summarize, min / max, k-th, top-k and
// histograms (which run on Select) with and without filters of every
// density. The unfused paths run too, as the same-run oracle's twin.
TEST_CASE("bsi: fused whole-chunk kernels agree with a naive column at every level", "[bsi]") {
  using tagindex::simd::Level;
  const char* full = std::getenv("TAGINDEX_FULL");
  const uint64_t seeds = full != nullptr && std::string(full) == "1" ? 12 : 2;
  for (uint64_t seed = 301; seed < 301 + seeds; ++seed) {
    Fixture f(seed);
    f.rows = 5 * 65536 + 999;
    f.model.assign(f.rows, std::nullopt);
    std::vector<uint32_t> rows;
    std::vector<int64_t> vals;
    for (uint32_t r = 0; r < f.rows; ++r) {
      const uint32_t chunk = r >> 16;
      int64_t v = 0;
      if (chunk == 2 && f.rng() % 10 < 3) continue;  // NULLs
      if (chunk == 3) {
        v = static_cast<int64_t>(r & 0xffff) / 700 - 40;  // sorted: runs
      } else if (chunk == 4) {
        v = f.rng() % 64 == 0 ? RandomValue(f.rng, 3) : static_cast<int64_t>(f.rng() % 4);
      } else {
        v = RandomValue(f.rng, f.shape);
      }
      rows.push_back(r);
      vals.push_back(v);
      f.model[r] = v;
    }
    f.bsi = Bsi::Build(rows, vals);
    for (int round = 0; round < 2; ++round) {
      if (round == 1) f.bsi.RunOptimize();
      for (Level level : {Level::kScalar, Level::kSse42, Level::kAvx2, Level::kAvx512}) {
        if (!tagindex::simd::SetLevelForTesting(level)) continue;
        for (bool fused : {true, false}) {
          if (!fused && level != Level::kScalar) continue;  // the old path once
          INFO("level " << tagindex::simd::LevelName(level) << " fused " << fused << " round "
                        << round);
          Bsi::SetFusedChunksForTesting(fused);
          CheckOnce(f, seed);
        }
      }
      tagindex::simd::ResetLevelForTesting();
      Bsi::SetFusedChunksForTesting(true);
    }
  }
}

TEST_CASE("bsi: widths follow two's complement", "[bsi]") {
  CHECK(Bsi::BitsFor(0) == 0);
  CHECK(Bsi::BitsFor(-1) == 0);
  CHECK(Bsi::BitsFor(1) == 1);
  CHECK(Bsi::BitsFor(-2) == 1);
  CHECK(Bsi::BitsFor(127) == 7);
  CHECK(Bsi::BitsFor(-128) == 7);
  CHECK(Bsi::BitsFor(128) == 8);
  CHECK(Bsi::BitsFor(kMax) == 63);
  CHECK(Bsi::BitsFor(kMin) == 63);
  Bsi b;
  b.Set(5, -1);
  b.Set(6, 0);
  CHECK(b.bits() == 0);
  b.Set(7, 1000);  // widens by sign extension: -1 stays -1
  CHECK(b.bits() == 10);
  CHECK(b.Get(5) == -1);
  CHECK(b.Get(6) == 0);
  CHECK(b.Get(7) == 1000);
  CHECK(!b.Get(8).has_value());
  CHECK(b.Sum() == 999);
}

TEST_CASE("bsi: a damaged serialisation is DataLoss, never a crash", "[bsi]") {
  Bsi b;
  std::vector<uint32_t> rows = {1, 2, 3, 70000};
  std::vector<int64_t> vals = {5, -7, 0, 123456};
  b.SetMany(rows, vals);
  std::string blob;
  b.Serialize(&blob);
  for (size_t cut = 0; cut < blob.size(); cut += 3) {
    absl::StatusOr<Bsi> r = Bsi::Deserialize({blob.data(), cut});
    REQUIRE(!r.ok());
    REQUIRE(r.status().code() == absl::StatusCode::kDataLoss);
  }
  std::string bad = blob;
  bad[0] = 64;
  REQUIRE(Bsi::Deserialize({bad.data(), bad.size()}).status().code() ==
          absl::StatusCode::kDataLoss);
}
