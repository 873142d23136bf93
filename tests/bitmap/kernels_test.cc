// The fused kernels against a sorted-vector oracle, on bitmaps mixing every
// container kind (array, bitset, run, full, absent), through both the
// accelerated and the portable paths.
#include "bitmap/kernels.h"

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bitmap/bitmap.h"
#include "bitmap/chunk_ops.h"
#include "bitmap/simd.h"

using tagindex::Bitmap;

namespace {

// A bitmap over chunks 0..chunks-1 where each chunk is, at random: absent,
// sparse (array), dense (bitset), a few runs, or full.
Bitmap RandomMixed(std::mt19937_64& rng, int chunks) {
  std::vector<uint32_t> ids;
  std::uniform_real_distribution<double> unit(0, 1);
  for (int c = 0; c < chunks; ++c) {
    const uint32_t base = static_cast<uint32_t>(c) << 16;
    switch (rng() % 6) {
      case 0:
        break;   // absent
      case 1: {  // sparse
        const double p = 0.0005 + unit(rng) * 0.06;
        for (uint32_t x = 0; x < 65536; ++x) {
          if (unit(rng) < p) ids.push_back(base + x);
        }
        break;
      }
      case 2: {  // dense
        const double p = 0.1 + unit(rng) * 0.85;
        for (uint32_t x = 0; x < 65536; ++x) {
          if (unit(rng) < p) ids.push_back(base + x);
        }
        break;
      }
      case 3: {  // runs
        const int runs = 1 + static_cast<int>(rng() % 20);
        for (int r = 0; r < runs; ++r) {
          const uint32_t start = static_cast<uint32_t>(rng() % 65536);
          const uint32_t len = static_cast<uint32_t>(rng() % 5000);
          for (uint32_t x = start; x < std::min<uint32_t>(65536, start + len); ++x) {
            ids.push_back(base + x);
          }
        }
        break;
      }
      case 4:  // full
        for (uint32_t x = 0; x < 65536; ++x) ids.push_back(base + x);
        break;
      default: {  // a handful, including the chunk's edges
        for (uint32_t x : {0u, 1u, 63u, 64u, 65535u}) {
          if (rng() % 2) ids.push_back(base + x);
        }
        break;
      }
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  Bitmap b = Bitmap::FromIds(ids);
  if (rng() % 2) b.RunOptimize();  // turns run-like chunks into run containers
  return b;
}

std::vector<uint32_t> Oracle(const std::vector<const Bitmap*>& pos,
                             const std::vector<const Bitmap*>& neg) {
  std::vector<uint32_t> acc = pos[0]->ToVector();
  for (size_t i = 1; i < pos.size(); ++i) {
    const auto other = pos[i]->ToVector();
    std::vector<uint32_t> next;
    std::set_intersection(acc.begin(), acc.end(), other.begin(), other.end(),
                          std::back_inserter(next));
    acc.swap(next);
  }
  for (const Bitmap* n : neg) {
    const auto other = n->ToVector();
    std::vector<uint32_t> next;
    std::set_difference(acc.begin(), acc.end(), other.begin(), other.end(),
                        std::back_inserter(next));
    acc.swap(next);
  }
  return acc;
}

}  // namespace

TEST_CASE(
    "kernels: fused AND / AND NOT agree with a sorted-vector oracle on every container "
    "mix, on both dispatch paths",
    "[bitmap][kernels]") {
  const bool baseline = GENERATE(false, true);
  tagindex::kernels::ForceBaselineForTesting(baseline);
  INFO("isa " << tagindex::kernels::ActiveIsa());
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    const int n_pos = 1 + static_cast<int>(rng() % 4);
    const int n_neg = static_cast<int>(rng() % 3);
    std::vector<Bitmap> store;
    for (int i = 0; i < n_pos + n_neg; ++i) store.push_back(RandomMixed(rng, 6));
    std::vector<const Bitmap*> pos, neg;
    for (int i = 0; i < n_pos; ++i) pos.push_back(&store[i]);
    for (int i = 0; i < n_neg; ++i) neg.push_back(&store[n_pos + i]);
    INFO("seed " << seed << " positives " << n_pos << " negatives " << n_neg);
    const std::vector<uint32_t> want = Oracle(pos, neg);
    REQUIRE(tagindex::kernels::AndAndNotCardinality(pos, neg) == want.size());
    Bitmap got = tagindex::kernels::AndAndNot(pos, neg);
    REQUIRE(got.ToVector() == want);
    REQUIRE(got.Cardinality() == want.size());  // container cardinalities are right
  }
  tagindex::kernels::ForceBaselineForTesting(false);
}

TEST_CASE("kernels: edge cases — empty operands, identical operands, ids 0 and 2^32-1",
          "[bitmap][kernels]") {
  const Bitmap empty;
  Bitmap edges = Bitmap::FromIds(std::vector<uint32_t>{0, 1, 65535, 65536, 0xFFFFFFFFu});
  Bitmap full_chunk = Bitmap::FromRange(0, 1 << 16);
  std::vector<const Bitmap*> pos = {&edges, &edges};
  std::vector<const Bitmap*> none;
  CHECK(tagindex::kernels::AndAndNotCardinality(pos, none) == 5);
  std::vector<const Bitmap*> with_empty = {&edges, &empty};
  CHECK(tagindex::kernels::AndAndNotCardinality(with_empty, none) == 0);
  CHECK(tagindex::kernels::AndAndNot(with_empty, none).IsEmpty());
  std::vector<const Bitmap*> one = {&edges};
  std::vector<const Bitmap*> neg = {&full_chunk};
  CHECK(tagindex::kernels::AndAndNot(one, neg).ToVector() ==
        std::vector<uint32_t>{65536, 0xFFFFFFFFu});
  std::vector<const Bitmap*> self_neg = {&edges};
  CHECK(tagindex::kernels::AndAndNotCardinality(one, self_neg) == 0);
  CHECK(tagindex::kernels::AndAndNotCardinality({}, none) == 0);
}

TEST_CASE("kernels: arrays whose values straddle SSE blocks, with and without zero",
          "[bitmap][kernels]") {
  // PCMPISTRM would stop at a zero element; the kernel must not.
  for (uint32_t start : {0u, 1u, 7u}) {
    std::vector<uint32_t> a, b;
    for (uint32_t x = start; x < 3000; x += 3) a.push_back(x);
    for (uint32_t x = start; x < 3000; x += 5) b.push_back(x);
    const Bitmap ba = Bitmap::FromIds(a), bb = Bitmap::FromIds(b);
    std::vector<const Bitmap*> pos = {&ba, &bb};
    std::vector<uint32_t> want;
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(want));
    INFO("start " << start << " isa " << tagindex::kernels::ActiveIsa());
    CHECK(tagindex::kernels::AndAndNotCardinality(pos, {}) == want.size());
    CHECK(tagindex::kernels::AndAndNot(pos, {}).ToVector() == want);
  }
}

namespace {

std::vector<uint32_t> Dense5000() {
  std::vector<uint32_t> dense;
  for (uint32_t i = 0; i < 5000; ++i) dense.push_back(i * 2);
  return dense;
}

}  // namespace

TEST_CASE("bitmap: portable serialisation writes the smallest form and round-trips",
          "[bitmap][kernels][serialize]") {
  const Bitmap dense = Bitmap::FromIds(Dense5000());
  std::string s;
  dense.PortableSerialize(&s);
  CHECK(s.size() == dense.PortableSizeInBytes());
  CHECK(s.size() == 8 + 8 + 8192);
  auto back = Bitmap::PortableDeserialize(std::span<const char>(s.data(), s.size()));
  REQUIRE(back.ok());
  CHECK(back->Equals(dense));
}

TEST_CASE("bitmap: portable serialisation of small and empty bitmaps",
          "[bitmap][kernels][serialize]") {
  for (const std::vector<uint32_t>& ids : std::vector<std::vector<uint32_t>>{
           {}, {1}, {1, 70000}, {100, 101, 102, 103, 200, 201}, {0, 65535, 65536, 0xFFFFFFFFu}}) {
    const Bitmap b = Bitmap::FromIds(ids);
    std::string s;
    b.PortableSerialize(&s);
    INFO("ids " << ids.size());
    CHECK(s.size() == b.PortableSizeInBytes());
    auto back = Bitmap::PortableDeserialize(std::span<const char>(s.data(), s.size()));
    REQUIRE(back.ok());
    CHECK(back->ToVector() == ids);
  }
}

namespace {

using tagindex::simd::Level;

// More seeds with TAGINDEX_FULL=1 (the long suite).
uint64_t Seeds(uint64_t quick, uint64_t full) {
  const char* v = std::getenv("TAGINDEX_FULL");
  return v != nullptr && std::string_view(v) == "1" ? full : quick;
}

// Every dispatch level this CPU supports (the scalar one always).
std::vector<Level> SupportedLevels() {
  std::vector<Level> out;
  for (Level l : {Level::kScalar, Level::kSse42, Level::kAvx2, Level::kAvx512}) {
    if (l <= tagindex::simd::BestSupportedLevel()) out.push_back(l);
  }
  return out;
}

// Restores the start-up level when a test section ends.
struct LevelGuard {
  explicit LevelGuard(Level l) { REQUIRE(tagindex::simd::SetLevelForTesting(l)); }
  ~LevelGuard() { tagindex::simd::ResetLevelForTesting(); }
};

std::vector<uint32_t> Union(const std::vector<const Bitmap*>& in) {
  std::set<uint32_t> u;
  for (const Bitmap* b : in) {
    for (uint32_t x : b->ToVector()) u.insert(x);
  }
  return {u.begin(), u.end()};
}

std::vector<uint32_t> Intersect(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<uint32_t> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// The same expression folded with CRoaring's own calls.
Bitmap CRoaringFold(const std::vector<const Bitmap*>& pos, const std::vector<const Bitmap*>& neg) {
  Bitmap acc = pos[0]->Copy();
  for (size_t i = 1; i < pos.size(); ++i) acc = tagindex::kernels::croaring::And(acc, *pos[i]);
  for (const Bitmap* n : neg) acc = tagindex::kernels::croaring::AndNot(acc, *n);
  return acc;
}

}  // namespace

TEST_CASE(
    "kernels: every forced dispatch level agrees with CRoaring and a sorted-vector oracle, "
    "runs included",
    "[bitmap][kernels][dispatch]") {
  for (Level level : SupportedLevels()) {
    LevelGuard guard(level);
    INFO("level " << tagindex::simd::LevelName(level));
    for (uint64_t seed = 100; seed < 100 + Seeds(20, 200); ++seed) {
      std::mt19937_64 rng(seed);
      const int n_pos = 1 + static_cast<int>(rng() % 4);
      const int n_neg = static_cast<int>(rng() % 3);
      std::vector<Bitmap> store;
      for (int i = 0; i < n_pos + n_neg; ++i) store.push_back(RandomMixed(rng, 5));
      std::vector<const Bitmap*> pos, neg;
      for (int i = 0; i < n_pos; ++i) pos.push_back(&store[i]);
      for (int i = 0; i < n_neg; ++i) neg.push_back(&store[n_pos + i]);
      INFO("seed " << seed << " positives " << n_pos << " negatives " << n_neg);
      const std::vector<uint32_t> want = Oracle(pos, neg);
      const Bitmap croaring = CRoaringFold(pos, neg);
      REQUIRE(croaring.ToVector() == want);
      CHECK(tagindex::kernels::AndAndNotCardinality(pos, neg) == want.size());
      const Bitmap got = tagindex::kernels::AndAndNot(pos, neg);
      CHECK(got.ToVector() == want);
      CHECK(got.Equals(croaring));
      // Run-optimising the operands never changes an answer.
      std::vector<Bitmap> optimized;
      for (const Bitmap& b : store) {
        optimized.push_back(b.Copy());
        optimized.back().RunOptimize();
      }
      std::vector<const Bitmap*> opos, oneg;
      for (int i = 0; i < n_pos; ++i) opos.push_back(&optimized[i]);
      for (int i = 0; i < n_neg; ++i) oneg.push_back(&optimized[n_pos + i]);
      CHECK(tagindex::kernels::AndAndNotCardinality(opos, oneg) == want.size());
      CHECK(tagindex::kernels::AndAndNot(opos, oneg).ToVector() == want);
    }
  }
}

TEST_CASE("kernels: A AND (B1 OR ... OR Bk) AND NOT C, per chunk, against the oracle",
          "[bitmap][kernels][or]") {
  for (Level level : SupportedLevels()) {
    LevelGuard guard(level);
    INFO("level " << tagindex::simd::LevelName(level));
    for (uint64_t seed = 200; seed < 200 + Seeds(12, 120); ++seed) {
      std::mt19937_64 rng(seed);
      const int n_pos = 1 + static_cast<int>(rng() % 2);
      const int n_arms = 1 + static_cast<int>(rng() % 9);
      const int n_neg = static_cast<int>(rng() % 2);
      std::vector<Bitmap> store;
      for (int i = 0; i < n_pos + n_arms + n_neg; ++i) store.push_back(RandomMixed(rng, 4));
      std::vector<const Bitmap*> pos, arms, neg;
      for (int i = 0; i < n_pos; ++i) pos.push_back(&store[i]);
      for (int i = 0; i < n_arms; ++i) arms.push_back(&store[n_pos + i]);
      for (int i = 0; i < n_neg; ++i) neg.push_back(&store[n_pos + n_arms + i]);
      INFO("seed " << seed << " positives " << n_pos << " arms " << n_arms << " negatives "
                   << n_neg);
      const std::vector<uint32_t> u = Union(arms);
      std::vector<uint32_t> want = Intersect(Oracle(pos, {}), u);
      if (!neg.empty()) {
        const std::vector<uint32_t> minus = Union(neg);
        std::vector<uint32_t> next;
        std::set_difference(want.begin(), want.end(), minus.begin(), minus.end(),
                            std::back_inserter(next));
        want.swap(next);
      }
      const std::span<const Bitmap* const> group(arms);
      const std::span<const Bitmap* const> groups[] = {group};
      CHECK(Bitmap::AndOrAndNotCardinality(pos, groups, neg) == want.size());
      CHECK(Bitmap::AndOrAndNot(pos, groups, neg).ToVector() == want);
      // The wide OR on its own, against the oracle and CRoaring's or_many.
      const Bitmap ored = Bitmap::OrMany(arms);
      CHECK(ored.ToVector() == u);
      CHECK(ored.Equals(tagindex::kernels::croaring::OrMany(arms)));
    }
  }
}

// A sparse bitmap over many chunks: each of `chunks` chunks (spread over the
// 2^32 range, some shared between calls with one rng) holds 0-3 ids.
Bitmap RandomTiny(std::mt19937_64& rng, int chunks, const std::vector<uint16_t>& keys) {
  std::vector<uint32_t> ids;
  for (int c = 0; c < chunks; ++c) {
    const uint32_t base = uint32_t{keys[rng() % keys.size()]} << 16;
    const int n = static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k) ids.push_back(base + static_cast<uint32_t>(rng() % 8));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return Bitmap::FromIds(ids);
}

// count and materialise of A AND B take their own driver (kernels.cc
// DrivePair): held to CRoaring and the oracle on every container mix, on
// sparse many-chunk bitmaps, on disjoint key ranges and with full chunks.
TEST_CASE("kernels: A AND B (the pair driver) at every dispatch level, tiny containers included",
          "[bitmap][kernels][pair]") {
  for (Level level : SupportedLevels()) {
    LevelGuard guard(level);
    INFO("level " << tagindex::simd::LevelName(level));
    for (uint64_t seed = 300; seed < 300 + Seeds(30, 300); ++seed) {
      std::mt19937_64 rng(seed);
      std::vector<uint16_t> keys(1 + rng() % 3000);
      for (uint16_t& k : keys) k = static_cast<uint16_t>(rng());
      Bitmap a, b;
      switch (seed % 4) {
        case 0:
          a = RandomMixed(rng, 6);
          b = RandomMixed(rng, 6);
          break;
        case 1:
          a = RandomTiny(rng, 2000, keys);
          b = RandomTiny(rng, 2000, keys);
          break;
        case 2:  // one dense mixed side, one sparse
          a = RandomMixed(rng, 3);
          b = RandomTiny(rng, 500, {0, 1, 2, 3});
          break;
        default: {  // disjoint key ranges, either way round
          a = RandomMixed(rng, 2);
          Bitmap far = RandomTiny(rng, 300, {9, 700, 65535});
          b = std::move(far);
          if (rng() % 2) std::swap(a, b);
          break;
        }
      }
      if (rng() % 2) a.RunOptimize();
      INFO("seed " << seed);
      const std::vector<const Bitmap*> pos = {&a, &b};
      const std::vector<uint32_t> want = Oracle(pos, {});
      const Bitmap croaring = tagindex::kernels::croaring::And(a, b);
      REQUIRE(croaring.ToVector() == want);
      CHECK(Bitmap::AndCardinality(a, b) == want.size());
      CHECK(Bitmap::AndCardinality(b, a) == want.size());
      const Bitmap got = tagindex::kernels::AndAndNot(pos, {});
      CHECK(got.ToVector() == want);
      CHECK(got.Equals(croaring));
    }
  }
}

TEST_CASE("kernels: chunk kernels on run x run, run x array, run x bitset in both modes",
          "[bitmap][kernels][runs]") {
  // Hand-made chunks with runs touching word and chunk edges.
  std::mt19937_64 rng(5);
  for (int round = 0; round < 200; ++round) {
    INFO("seed 5 round " << round);
    auto make = [&](int kind) {
      std::vector<uint32_t> ids;
      if (kind == 0) {  // runs
        const int runs = 1 + static_cast<int>(rng() % 40);
        for (int r = 0; r < runs; ++r) {
          const uint32_t start = static_cast<uint32_t>(rng() % 65536);
          const uint32_t len = 1 + static_cast<uint32_t>(rng() % 3000);
          for (uint32_t x = start; x < std::min<uint32_t>(65536, start + len); ++x)
            ids.push_back(x);
        }
      } else {
        const double p = kind == 1 ? 0.02 : 0.4;
        for (uint32_t x = 0; x < 65536; ++x) {
          if (rng() % 1000 < p * 1000) ids.push_back(x);
        }
      }
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
      Bitmap b = Bitmap::FromIds(ids);
      b.RunOptimize();
      return b;
    };
    const int ka = static_cast<int>(rng() % 3), kb = static_cast<int>(rng() % 3);
    const Bitmap a = make(ka), b = make(kb);
    const std::vector<const Bitmap*> ab = {&a, &b}, ja = {&a}, jb = {&b};
    const auto va = a.ToVector(), vb = b.ToVector();
    std::vector<uint32_t> both = Intersect(va, vb), minus;
    std::set_difference(va.begin(), va.end(), vb.begin(), vb.end(), std::back_inserter(minus));
    INFO("kinds " << ka << " " << kb);
    CHECK(tagindex::kernels::AndAndNotCardinality(ab, {}) == both.size());
    CHECK(tagindex::kernels::AndAndNot(ab, {}).ToVector() == both);
    CHECK(tagindex::kernels::AndAndNotCardinality(ja, jb) == minus.size());
    CHECK(tagindex::kernels::AndAndNot(ja, jb).ToVector() == minus);
  }
}

TEST_CASE("bitmap: bulk batches (sorted, unsorted, with duplicates) match a std::set model",
          "[bitmap][kernels][bulk]") {
  std::mt19937_64 rng(11);
  Bitmap b;
  std::set<uint32_t> model;
  for (int round = 0; round < 40; ++round) {
    INFO("seed 11 round " << round);
    std::vector<uint32_t> batch;
    const int shape = static_cast<int>(rng() % 4);
    const size_t n = shape == 3 ? 10 : 200 + rng() % 20000;
    const uint32_t base = static_cast<uint32_t>(rng() % 400000);
    for (size_t i = 0; i < n; ++i) {
      // 0: a contiguous block (a cohort), 1: dense random, 2: sparse random.
      batch.push_back(shape == 0   ? base + static_cast<uint32_t>(i)
                      : shape == 1 ? base + static_cast<uint32_t>(rng() % (n * 2))
                                   : static_cast<uint32_t>(rng() % 5'000'000));
    }
    if (rng() % 2) std::shuffle(batch.begin(), batch.end(), rng);
    const bool remove = rng() % 3 == 0;
    const Bitmap built = Bitmap::FromIds(batch);
    std::set<uint32_t> batch_set(batch.begin(), batch.end());
    CHECK(built.ToVector() == std::vector<uint32_t>(batch_set.begin(), batch_set.end()));
    if (remove) {
      b.RemoveMany(batch);
      for (uint32_t x : batch) model.erase(x);
    } else {
      b.AddMany(batch);
      model.insert(batch.begin(), batch.end());
    }
    REQUIRE(b.Cardinality() == model.size());
    REQUIRE(b.ToVector() == std::vector<uint32_t>(model.begin(), model.end()));
  }
  // Bulk loads of cohorts come out as run containers.
  Bitmap cohort;
  std::vector<uint32_t> ids;
  for (uint32_t x = 1000; x < 900000; ++x) ids.push_back(x);
  cohort.AddMany(ids);
  CHECK(cohort.GetStats().run_containers > 0);
  CHECK(cohort.GetStats().bitset_containers == 0);
}

TEST_CASE("bitmap: serialisation is the run-optimised portable form, read back by CRoaring",
          "[bitmap][kernels][serialize]") {
  for (uint64_t seed = 300; seed < 340; ++seed) {
    std::mt19937_64 rng(seed);
    INFO("seed " << seed);
    const Bitmap b = RandomMixed(rng, 8);
    std::string s;
    b.PortableSerialize(&s);
    CHECK(s.size() == b.PortableSizeInBytes());
    CHECK(s.size() == tagindex::kernels::croaring::PortableSizeRunOptimized(b));
    auto back = Bitmap::PortableDeserialize(std::span<const char>(s.data(), s.size()));
    REQUIRE(back.ok());
    CHECK(back->Equals(b));
    CHECK(back->Cardinality() == b.Cardinality());
  }
}

TEST_CASE("bitmap: cardinality is cached per version and forgotten on every mutation",
          "[bitmap][kernels]") {
  Bitmap b = Bitmap::FromIds(std::vector<uint32_t>{1, 2, 3});
  CHECK(b.Cardinality() == 3);
  b.Add(10);
  CHECK(b.Cardinality() == 4);
  b.RemoveRange(0, 3);
  CHECK(b.Cardinality() == 2);
  Bitmap c = b.Copy();
  c.OrInPlace(Bitmap::FromRange(100, 200));
  CHECK(c.Cardinality() == 102);
  CHECK(b.Cardinality() == 2);
  Bitmap moved = std::move(c);
  CHECK(moved.Cardinality() == 102);
  moved.Clear();
  CHECK(moved.Cardinality() == 0);
}

TEST_CASE("simd: TAGINDEX_SIMD names parse; unsupported levels are refused",
          "[bitmap][kernels][dispatch]") {
  CHECK(tagindex::simd::ParseLevel("avx512") == Level::kAvx512);
  CHECK(tagindex::simd::ParseLevel("avx2") == Level::kAvx2);
  CHECK(tagindex::simd::ParseLevel("sse4.2") == Level::kSse42);
  CHECK(tagindex::simd::ParseLevel("scalar") == Level::kScalar);
  CHECK_FALSE(tagindex::simd::ParseLevel("native").has_value());
  for (Level l : SupportedLevels()) {
    LevelGuard guard(l);
    CHECK(tagindex::simd::ActiveLevel() == l);
    CHECK(std::string(tagindex::kernels::ActiveIsa()) == tagindex::simd::LevelName(l));
    // Every popcount primitive against the scalar definition.
    std::mt19937_64 rng(9);
    std::vector<uint64_t> a(1027), b(1027);
    for (auto& w : a) w = rng();
    for (auto& w : b) w = rng() & rng();
    for (int32_t n : {0, 1, 7, 8, 15, 16, 1024, 1027}) {
      uint64_t pc = 0, andc = 0, andnotc = 0;
      for (int32_t i = 0; i < n; ++i) {
        pc += std::popcount(a[i]);
        andc += std::popcount(a[i] & b[i]);
        andnotc += std::popcount(a[i] & ~b[i]);
      }
      INFO("n " << n);
      const auto& ops = tagindex::simd::Ops();
      CHECK(ops.popcount(a.data(), n) == pc);
      CHECK(ops.and_popcount(a.data(), b.data(), n) == andc);
      CHECK(ops.andnot_popcount(a.data(), b.data(), n) == andnotc);
    }
  }
}

namespace {

// The 200 bitmaps of a real-roaring archive, or empty when the test data is
// not next to the repository.
// TAGINDEX_TESTDATA in the environment overrides the built-in location.
std::string TestdataDir() {
  const char* env = std::getenv("TAGINDEX_TESTDATA");
  return env != nullptr ? env : TAGINDEX_TESTDATA_DIR;
}

std::vector<std::vector<uint32_t>> ReadRealRoaring(const std::string& archive) {
  const std::string path = TestdataDir() + "/real-roaring/" + archive;
  std::vector<std::vector<uint32_t>> out;
  if (!std::filesystem::exists(path)) return out;
  const std::string cmd =
      archive.ends_with(".zip") ? "unzip -p '" + path + "'" : "tar -xJOf '" + path + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::string text;
  char buf[1 << 16];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) text.append(buf, n);
  pclose(p);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<uint32_t> ids;
    uint64_t v = 0;
    bool any = false;
    for (char ch : line) {
      if (ch >= '0' && ch <= '9') {
        v = v * 10 + static_cast<uint64_t>(ch - '0');
        any = true;
      } else if (ch == ',' && any) {
        ids.push_back(static_cast<uint32_t>(v));
        v = 0;
        any = false;
      }
    }
    if (any) ids.push_back(static_cast<uint32_t>(v));
    if (!ids.empty()) out.push_back(std::move(ids));
  }
  return out;
}

}  // namespace

TEST_CASE("kernels: real-roaring datasets agree with CRoaring at every dispatch level",
          "[bitmap][kernels][real]") {
  for (const char* archive : {"census1881_srt.zip", "census-income.tar.xz"}) {
    const auto sets = ReadRealRoaring(archive);
    if (sets.empty()) {
      WARN("TAGINDEX_TEST_SKIPPED: "
           << archive << " not found under " << TestdataDir()
           << "/real-roaring (the test data sits next to the repository in CI)");
      continue;
    }
    std::vector<Bitmap> plain, optimized;
    for (const auto& ids : sets) {
      plain.push_back(Bitmap::FromIds(ids));
      optimized.push_back(plain.back().Copy());
      optimized.back().RunOptimize();
    }
    for (Level level : SupportedLevels()) {
      LevelGuard guard(level);
      for (size_t i = 0; i + 2 < plain.size(); i += 7) {
        INFO(archive << " bitmaps " << i << ", " << i + 1 << ", " << i + 2 << " level "
                     << tagindex::simd::LevelName(level));
        const std::vector<const Bitmap*> pos = {&plain[i], &plain[i + 1]}, neg = {&plain[i + 2]};
        const std::vector<const Bitmap*> opos = {&optimized[i], &optimized[i + 1]},
                                         oneg = {&optimized[i + 2]};
        const Bitmap want = CRoaringFold(pos, neg);
        CHECK(tagindex::kernels::AndAndNotCardinality(pos, neg) == want.Cardinality());
        CHECK(tagindex::kernels::AndAndNotCardinality(opos, oneg) == want.Cardinality());
        CHECK(tagindex::kernels::AndAndNot(opos, oneg).Equals(want));
        CHECK(tagindex::kernels::AndAndNotCardinality(pos, {}) ==
              tagindex::kernels::croaring::AndCardinality(plain[i], plain[i + 1]));
      }
    }
    // Serialised size equals CRoaring's run-optimised portable size.
    size_t ours = 0, theirs = 0;
    for (const Bitmap& b : plain) {
      ours += b.PortableSizeInBytes();
      theirs += tagindex::kernels::croaring::PortableSizeRunOptimized(b);
    }
    INFO(archive);
    CHECK(ours == theirs);
  }
}

TEST_CASE("bitmap: the RoaringFormatSpec files re-serialise byte for byte",
          "[bitmap][kernels][serialize][real]") {
  for (const char* name : {"bitmapwithruns.bin", "bitmapwithoutruns.bin"}) {
    const std::string path = TestdataDir() + "/roaring-format-spec/" + name;
    if (!std::filesystem::exists(path)) {
      WARN("skipped: " << path << " not found (the test data sits next to the repository in CI)");
      continue;
    }
    FILE* f = std::fopen(path.c_str(), "rb");
    REQUIRE(f != nullptr);
    std::string blob;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) blob.append(buf, n);
    std::fclose(f);
    auto b = Bitmap::PortableDeserialize(std::span<const char>(blob.data(), blob.size()));
    REQUIRE(b.ok());
    std::string again;
    b->PortableSerialize(&again);
    INFO(name);
    // The file without runs holds run-shaped containers: ours is their
    // run-optimised form, which is the other file.
    if (std::string(name) == "bitmapwithruns.bin") {
      CHECK(again == blob);
    } else {
      CHECK(again.size() == tagindex::kernels::croaring::PortableSizeRunOptimized(*b));
    }
  }
}

namespace {

// A sorted set of `n` distinct uint16 values (0 and 65535 forced in or out).
std::vector<uint16_t> RandomArray(std::mt19937_64& rng, int32_t n, bool with_zero, bool with_max) {
  std::vector<uint8_t> in(65536, 0);
  std::vector<uint16_t> out;
  if (with_zero && n > 0) {
    in[0] = 1;
    out.push_back(0);
  }
  if (with_max && static_cast<int32_t>(out.size()) < n) {
    in[65535] = 1;
    out.push_back(65535);
  }
  // Values from a window, so that pairs overlap more than uniform picks.
  const uint32_t lo = 1 + static_cast<uint32_t>(rng() % 64);
  const uint32_t span = std::max<uint32_t>(static_cast<uint32_t>(n) * 3, 64);
  while (static_cast<int32_t>(out.size()) < n) {
    const uint32_t y = lo + static_cast<uint32_t>(rng() % span);  // in [1, 12352]
    if (in[y] == 0) {  // else retry: the window has room for 3n values
      in[y] = 1;
      out.push_back(static_cast<uint16_t>(y));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// simd::OpTable::unite (the bitonic SIMD merge with dedupe, the gallop for
// very different sizes, the scalar merge) against std::set_union: sizes
// around every block and threshold (8-lane blocks, the 16x gallop ratio,
// sums near 4,096), overlapping, identical, interleaved and disjoint inputs
// (one wholly below the other: the tail paths), 0 and 65535 present.
TEST_CASE("kernels: array | array union at every dispatch level against std::set_union",
          "[bitmap][kernels][dispatch][array][or]") {
  const int32_t sizes[] = {0,    1,    2,    7,    8,    9,    15,   16,   17,  23,
                           24,   25,   63,   64,   100,  127,  128,  129,  255, 256,
                           1000, 1024, 2047, 2048, 2049, 3000, 4000, 4095, 4096};
  for (Level level : SupportedLevels()) {
    LevelGuard guard(level);
    const tagindex::simd::OpTable& ops = tagindex::simd::Ops();
    const uint64_t rounds = Seeds(1, 8);
    for (uint64_t seed = 1700; seed < 1700 + rounds; ++seed) {
      std::mt19937_64 rng(seed);
      for (int32_t na : sizes) {
        for (int32_t nb : sizes) {
          const bool za = rng() % 2, zb = rng() % 2, ma = rng() % 3 == 0, mb = rng() % 3 == 0;
          const std::vector<uint16_t> a = RandomArray(rng, na, za, ma);
          std::vector<uint16_t> b;
          const uint64_t shape = rng() % 5;
          if (shape == 0 && na == nb) {
            b = a;  // identical
          } else if (shape == 1 && !a.empty() && a.back() < 65535 - 12352) {
            // wholly above a (disjoint key ranges inside the chunk)
            b = RandomArray(rng, nb, false, false);
            for (uint16_t& x : b) x = static_cast<uint16_t>(x + a.back());
          } else if (shape == 2) {
            // every value of a shifted by one: interleaved, no common value
            // unless a has neighbours
            for (uint16_t x : a) {
              if (x < 65535 && static_cast<int32_t>(b.size()) < nb) b.push_back(x + 1);
            }
          } else {
            b = RandomArray(rng, nb, zb, mb);
          }
          std::vector<uint16_t> want;
          std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(want));
          INFO("level " << ops.name << " seed " << seed << " na " << na << " nb " << b.size()
                        << " shape " << shape << " zero " << za << zb << " max " << ma << mb);
          // Exactly the room the contract asks for: ASan sees any store past it.
          std::vector<uint16_t> out(a.size() + b.size() + 16);
          const int32_t n = ops.unite(a.data(), static_cast<int32_t>(a.size()), b.data(),
                                      static_cast<int32_t>(b.size()), out.data());
          REQUIRE(n == static_cast<int32_t>(want.size()));
          REQUIRE(std::equal(want.begin(), want.end(), out.begin()));
          const int32_t m = ops.unite(b.data(), static_cast<int32_t>(b.size()), a.data(),
                                      static_cast<int32_t>(a.size()), out.data());
          REQUIRE(m == n);
          REQUIRE(std::equal(want.begin(), want.end(), out.begin()));
        }
      }
    }
  }
}

// simd::OpTable::set_list (SHLX/SHRX at the AVX2 and AVX-512 levels, with
// a tail after blocks of four) against bit-by-bit sets, over a bitset that
// already has bits.
TEST_CASE("kernels: set_list at every dispatch level against a bit-by-bit oracle",
          "[bitmap][kernels][dispatch][or]") {
  for (Level level : SupportedLevels()) {
    LevelGuard guard(level);
    const tagindex::simd::OpTable& ops = tagindex::simd::Ops();
    for (uint64_t seed = 1900; seed < 1900 + Seeds(20, 200); ++seed) {
      std::mt19937_64 rng(seed);
      const int32_t n = static_cast<int32_t>(rng() % 5000);
      const std::vector<uint16_t> a = RandomArray(rng, n, rng() % 2, rng() % 2);
      std::vector<uint64_t> got(tagindex::kernels::kWords), want(tagindex::kernels::kWords);
      for (size_t k = 0; k < got.size(); ++k) got[k] = want[k] = rng() & rng() & rng();
      for (uint16_t x : a) want[x / 64] |= uint64_t{1} << (x % 64);
      ops.set_list(got.data(), a.data(), static_cast<int32_t>(a.size()));
      INFO("level " << ops.name << " seed " << seed << " n " << n);
      REQUIRE(got == want);
    }
  }
}

TEST_CASE(
    "kernels: array x array intersection (every block merge, gallop, scratch) at every "
    "dispatch level against std::set_intersection",
    "[bitmap][kernels][dispatch][array]") {
  // Sizes around every block and threshold: 8- and 16-element blocks, the
  // AVX-512 merge's 1024, gallop at 32x, the array limit 4096.
  const int32_t sizes[] = {0,   1,   7,   8,    9,    15,   16,   17,   31,   33,   63,   64,  100,
                           255, 256, 511, 1000, 1023, 1024, 1025, 1500, 2047, 3277, 4095, 4096};
  std::vector<uint64_t> scratch(tagindex::kernels::kWords, 0);
  for (Level level : SupportedLevels()) {
    LevelGuard guard(level);
    const tagindex::simd::OpTable& ops = tagindex::simd::Ops();
    const uint64_t rounds = Seeds(2, 12);
    for (uint64_t seed = 500; seed < 500 + rounds; ++seed) {
      std::mt19937_64 rng(seed);
      for (int32_t na : sizes) {
        for (int32_t nb : sizes) {
          const bool za = rng() % 2, zb = rng() % 2, ma = rng() % 3 == 0, mb = rng() % 3 == 0;
          const std::vector<uint16_t> a = RandomArray(rng, na, za, ma);
          // Sometimes b is a (identical), or a subset of a.
          std::vector<uint16_t> b;
          if (na == nb && rng() % 4 == 0) {
            b = a;
          } else {
            b = RandomArray(rng, nb, zb, mb);
          }
          std::vector<uint16_t> want;
          std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(want));
          INFO("level " << ops.name << " seed " << seed << " na " << na << " nb " << nb << " zero "
                        << za << zb << " max " << ma << mb);
          // Exactly the room the contract asks for: ASan sees any store past it.
          std::vector<uint16_t> out(static_cast<size_t>(std::min(a.size(), b.size())) + 16);
          REQUIRE(ops.intersect(a.data(), na, b.data(), static_cast<int32_t>(b.size()), nullptr) ==
                  static_cast<int32_t>(want.size()));
          const int32_t n =
              ops.intersect(a.data(), na, b.data(), static_cast<int32_t>(b.size()), out.data());
          REQUIRE(n == static_cast<int32_t>(want.size()));
          REQUIRE(std::equal(want.begin(), want.end(), out.begin()));
          const int32_t m = tagindex::kernels::IntersectArrays(a.data(), na, b.data(),
                                                               static_cast<int32_t>(b.size()),
                                                               out.data(), scratch.data(), ops);
          REQUIRE(m == static_cast<int32_t>(want.size()));
          REQUIRE(std::equal(want.begin(), want.end(), out.begin()));
          REQUIRE(tagindex::kernels::IntersectArrays(a.data(), na, b.data(),
                                                     static_cast<int32_t>(b.size()), nullptr,
                                                     scratch.data(), ops) == m);
          REQUIRE(std::all_of(scratch.begin(), scratch.end(), [](uint64_t w) { return w == 0; }));
        }
      }
    }
  }
}

TEST_CASE(
    "kernels: arrays against a few runs (the galloping filter) and many runs, both modes, "
    "every dispatch level",
    "[bitmap][kernels][dispatch][array]") {
  for (Level level : SupportedLevels()) {
    LevelGuard guard(level);
    for (uint64_t seed = 700; seed < 700 + Seeds(30, 300); ++seed) {
      std::mt19937_64 rng(seed);
      std::vector<uint32_t> arr, runs;
      const int32_t n = 1 + static_cast<int32_t>(rng() % 4000);
      std::set<uint32_t> s;
      while (static_cast<int32_t>(s.size()) < n) s.insert(static_cast<uint32_t>(rng() % 65536));
      arr.assign(s.begin(), s.end());
      // 1-3 long runs, or up to 900 short ones; sometimes touching 0 / 65535.
      const bool few = rng() % 2;
      const int nr = few ? 1 + static_cast<int>(rng() % 3) : 1 + static_cast<int>(rng() % 900);
      std::set<uint32_t> r;
      for (int k = 0; k < nr; ++k) {
        uint32_t start = static_cast<uint32_t>(rng() % 65536);
        if (rng() % 8 == 0) start = k % 2 ? 65535 - static_cast<uint32_t>(rng() % 100) : 0;
        const uint32_t len =
            few ? static_cast<uint32_t>(rng() % 20000) : static_cast<uint32_t>(rng() % 40);
        for (uint32_t x = start; x <= std::min<uint32_t>(65535, start + len); ++x) r.insert(x);
      }
      runs.assign(r.begin(), r.end());
      Bitmap a = Bitmap::FromIds(arr), b = Bitmap::FromIds(runs);
      b.RunOptimize();
      INFO("level " << tagindex::simd::LevelName(level) << " seed " << seed << " n " << n
                    << " runs " << nr);
      const std::vector<uint32_t> both = Intersect(arr, runs);
      std::vector<uint32_t> only;
      std::set_difference(arr.begin(), arr.end(), runs.begin(), runs.end(),
                          std::back_inserter(only));
      std::vector<const Bitmap*> ab = {&a, &b}, pa = {&a}, nb = {&b};
      CHECK(tagindex::kernels::AndAndNotCardinality(ab, {}) == both.size());
      CHECK(tagindex::kernels::AndAndNot(ab, {}).ToVector() == both);
      CHECK(tagindex::kernels::AndAndNotCardinality(pa, nb) == only.size());
      CHECK(tagindex::kernels::AndAndNot(pa, nb).ToVector() == only);
      CHECK(tagindex::kernels::croaring::AndCardinality(a, b) == both.size());
    }
  }
}

TEST_CASE("kernels: OrMany of many inputs that fill whole chunks (the early stop) at every level",
          "[bitmap][kernels][dispatch][or]") {
  for (Level level : SupportedLevels()) {
    LevelGuard guard(level);
    for (uint64_t seed = 900; seed < 900 + Seeds(3, 60); ++seed) {
      std::mt19937_64 rng(seed);
      // Chunk 0 is covered by the inputs together (each id in some input),
      // chunk 1 almost (one id left out), chunk 2 sparsely; input kinds mix.
      const int inputs = 2 + static_cast<int>(rng() % 40);
      std::vector<std::vector<uint32_t>> ids(static_cast<size_t>(inputs));
      const uint32_t missing = 65536 + static_cast<uint32_t>(rng() % 65536);
      for (uint32_t x = 0; x < 2 * 65536; ++x) {
        if (x == missing) continue;
        // Runs of ids go to the same input (run containers), the rest at random.
        const size_t to = (x / 700) % 3 == 0 ? (x / 700) % static_cast<size_t>(inputs)
                                             : static_cast<size_t>(rng() % inputs);
        ids[to].push_back(x);
      }
      for (auto& v : ids) {
        for (int k = 0; k < 50; ++k) v.push_back(2 * 65536 + static_cast<uint32_t>(rng() % 65536));
        std::sort(v.begin(), v.end());
        v.erase(std::unique(v.begin(), v.end()), v.end());
      }
      std::vector<Bitmap> store;
      for (const auto& v : ids) {
        store.push_back(Bitmap::FromIds(v));
        if (rng() % 2) store.back().RunOptimize();
      }
      std::vector<const Bitmap*> in;
      for (const Bitmap& b : store) in.push_back(&b);
      INFO("level " << tagindex::simd::LevelName(level) << " seed " << seed << " inputs "
                    << inputs);
      const std::vector<uint32_t> want = Union(in);
      const Bitmap got = tagindex::kernels::OrMany(in);
      CHECK(got.Cardinality() == want.size());
      CHECK(got.ToVector() == want);
      CHECK(got.Equals(tagindex::kernels::croaring::OrMany(in)));
    }
  }
}

namespace {

// Small arrays on a few shared keys: chunk unions whose summed cardinality
// stays under 4,096 (the merge / scatter-count paths of UnionChunk).
Bitmap RandomSparseOnKeys(std::mt19937_64& rng, const std::vector<uint16_t>& keys) {
  std::vector<uint32_t> ids;
  for (uint16_t k : keys) {
    if (rng() % 3 == 0) continue;
    const int n = static_cast<int>(rng() % 300);
    const uint32_t span = 1 + static_cast<uint32_t>(rng() % 65536);
    for (int i = 0; i < n; ++i)
      ids.push_back((uint32_t{k} << 16) + static_cast<uint32_t>(rng() % span));
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return Bitmap::FromIds(ids);
}

Bitmap RandomOrInput(std::mt19937_64& rng, uint64_t mix, const std::vector<uint16_t>& keys) {
  switch (mix % 4) {
    case 0:
      return RandomMixed(rng, 5);
    case 1:
      return RandomTiny(rng, 400, keys);
    case 2:
      return RandomSparseOnKeys(rng, {0, 1, 2, 3});
    default:
      return rng() % 2 ? RandomMixed(rng, 3) : RandomSparseOnKeys(rng, {1, 2, 9});
  }
}

}  // namespace

// kernels::Or / OrCount / OrMany / OrManyCount (UnionChunk) against
// CRoaring's own roaring_bitmap_or / or_many and a sorted-vector oracle, on
// every container mix (arrays, bitsets, runs, full and absent chunks, tiny
// many-chunk bitmaps, sparse arrays on shared keys), at every level.
TEST_CASE("kernels: A OR B and wide ORs (per-chunk union) against CRoaring and the oracle",
          "[bitmap][kernels][or]") {
  for (Level level : SupportedLevels()) {
    LevelGuard guard(level);
    for (uint64_t seed = 1100; seed < 1100 + Seeds(40, 400); ++seed) {
      std::mt19937_64 rng(seed);
      std::vector<uint16_t> keys(1 + rng() % 50);
      for (uint16_t& k : keys) k = static_cast<uint16_t>(rng() % 200);
      const size_t inputs = 2 + static_cast<size_t>(rng() % (seed % 3 == 0 ? 12 : 2));
      std::vector<Bitmap> store;
      for (size_t k = 0; k < inputs; ++k) {
        store.push_back(RandomOrInput(rng, seed + (seed % 5 == 0 ? k : 0), keys));
        if (rng() % 2) store.back().RunOptimize();
      }
      std::vector<const Bitmap*> in;
      for (const Bitmap& b : store) in.push_back(&b);
      INFO("level " << tagindex::simd::LevelName(level) << " seed " << seed << " inputs "
                    << inputs);
      const std::vector<uint32_t> want = Union(in);
      const Bitmap theirs = tagindex::kernels::croaring::OrMany(in);
      REQUIRE(theirs.ToVector() == want);
      const Bitmap many = tagindex::kernels::OrMany(in);
      CHECK(many.ToVector() == want);
      CHECK(many.Equals(theirs));
      CHECK(tagindex::kernels::OrManyCount(in) == want.size());
      CHECK(Bitmap::OrManyCardinality(in) == want.size());
      // The pair, both ways round.
      const std::vector<const Bitmap*> two = {in[0], in[1]};
      const std::vector<uint32_t> want2 = Union(two);
      // Every split of the container pairs between UnionChunk and CRoaring's
      // container_or (none, the default, all).
      for (uint32_t mask : {0u, ~0u, 0x1FFu}) {
        INFO("CRoaring pair mask " << mask);
        tagindex::kernels::SetCRoaringOrPairsForTesting(mask);
        const Bitmap p = tagindex::kernels::Or(*in[0], *in[1]);
        CHECK(p.ToVector() == want2);
        CHECK(tagindex::kernels::Or(*in[1], *in[0]).ToVector() == want2);
        CHECK(Bitmap::Or(*in[0], *in[1]).ToVector() == want2);
        // The cardinality Or records as it builds.
        CHECK(p.Cardinality() == want2.size());
      }
      tagindex::kernels::SetCRoaringOrPairsForTesting(~0u);
      const Bitmap pair = tagindex::kernels::Or(*in[0], *in[1]);
      CHECK(pair.ToVector() == want2);
      CHECK(pair.Equals(tagindex::kernels::croaring::Or(*in[0], *in[1])));
      CHECK(tagindex::kernels::Or(*in[1], *in[0]).Equals(pair));
      CHECK(tagindex::kernels::OrCount(*in[0], *in[1]) == want2.size());
      CHECK(tagindex::kernels::OrCount(*in[1], *in[0]) == want2.size());
      CHECK(Bitmap::OrCardinality(*in[0], *in[1]) == want2.size());
      CHECK(tagindex::kernels::croaring::OrCardinality(*in[0], *in[1]) == want2.size());
      // Edge cases: with an empty bitmap, with itself.
      const Bitmap empty;
      CHECK(tagindex::kernels::Or(*in[0], empty).Equals(*in[0]));
      CHECK(tagindex::kernels::Or(empty, *in[0]).Equals(*in[0]));
      CHECK(tagindex::kernels::Or(*in[0], *in[0]).Equals(*in[0]));
      CHECK(tagindex::kernels::OrCount(*in[0], *in[0]) == in[0]->Cardinality());
    }
  }
}

// The real datasets: every adjacent pair's OR and the OR of all bitmaps (the
// pairs_or and wide_or cells of bench/compare.sh), against CRoaring.
TEST_CASE("kernels: A OR B and the wide OR on the real-roaring datasets agree with CRoaring",
          "[bitmap][kernels][or][real]") {
  for (const char* archive :
       {"census1881.zip", "census1881_srt.zip", "census-income.tar.xz", "census-income_srt.tar.xz",
        "weather_sept_85.PARTIAL-192of200.tar.xz", "weather_sept_85_srt.PARTIAL-192of200.tar.xz"}) {
    const auto sets = ReadRealRoaring(archive);
    if (sets.empty()) {
      WARN("TAGINDEX_TEST_SKIPPED: "
           << archive << " not found under " << TestdataDir()
           << "/real-roaring (the test data sits next to the repository in CI)");
      continue;
    }
    std::vector<Bitmap> bms;
    for (const auto& ids : sets) {
      bms.push_back(Bitmap::FromIds(ids));
      bms.back().RunOptimize();
    }
    std::vector<const Bitmap*> all;
    for (const Bitmap& b : bms) all.push_back(&b);
    for (Level level : SupportedLevels()) {
      LevelGuard guard(level);
      INFO(archive << " level " << tagindex::simd::LevelName(level));
      const Bitmap theirs = tagindex::kernels::croaring::OrMany(all);
      CHECK(tagindex::kernels::OrMany(all).Equals(theirs));
      CHECK(tagindex::kernels::OrManyCount(all) == theirs.Cardinality());
      const size_t step = level == tagindex::simd::BestSupportedLevel() ? 1 : 9;
      for (size_t i = 0; i + 1 < bms.size(); i += step) {
        INFO("bitmaps " << i << ", " << i + 1);
        const Bitmap want = tagindex::kernels::croaring::Or(bms[i], bms[i + 1]);
        CHECK(tagindex::kernels::Or(bms[i], bms[i + 1]).Equals(want));
        // With every container pair on our own kernels (UnionChunk).
        CHECK(tagindex::kernels::Or(bms[i], bms[i + 1]).Cardinality() == want.Cardinality());
        tagindex::kernels::SetCRoaringOrPairsForTesting(0);
        CHECK(tagindex::kernels::Or(bms[i], bms[i + 1]).Equals(want));
        CHECK(tagindex::kernels::Or(bms[i], bms[i + 1]).Cardinality() == want.Cardinality());
        tagindex::kernels::SetCRoaringOrPairsForTesting(~0u);
        CHECK(tagindex::kernels::OrCount(bms[i], bms[i + 1]) == want.Cardinality());
        CHECK(Bitmap::OrCardinality(bms[i], bms[i + 1]) == want.Cardinality());
      }
    }
  }
}
