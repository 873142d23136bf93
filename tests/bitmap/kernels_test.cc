// The fused kernels against a sorted-vector oracle, on bitmaps mixing every
// container kind (array, bitset, run, full, absent), through both the
// accelerated and the portable paths.
#include "bitmap/kernels.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "bitmap/bitmap.h"

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
