// Bitmap::ShareCopy: bitmaps sharing containers stay independent values.
// Random mutations of a family of share-copies, each compared with its own
// std::set oracle after every step; ASan (asan preset) catches a container
// freed twice or used after free.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bitmap/bitmap.h"

using tagindex::Bitmap;
using tagindex::ContainerShares;

namespace {

void Same(const Bitmap& b, const std::set<uint32_t>& s) {
  REQUIRE(b.Cardinality() == s.size());
  std::vector<uint32_t> got = b.ToVector();
  REQUIRE(got == std::vector<uint32_t>(s.begin(), s.end()));
}

}  // namespace

TEST_CASE("Bitmap::ShareCopy: copies change independently (std::set oracle)", "[bitmap][share]") {
  // 4 seeds in the quick suite (97 s under ASan with 12), 12 with TAGINDEX_FULL=1.
  const char* full = std::getenv("TAGINDEX_FULL");
  const uint64_t seeds = full != nullptr && std::string(full) == "1" ? 12 : 4;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    ContainerShares shares;
    std::vector<Bitmap> bitmaps;
    std::vector<std::set<uint32_t>> oracle;
    {
      Bitmap first;
      std::set<uint32_t> s;
      for (int i = 0; i < 20000; ++i) {
        const uint32_t id = static_cast<uint32_t>(rng() % (8u << 16));
        first.Add(id);
        s.insert(id);
      }
      first.AddRange(3u << 16, (3u << 16) + 50000);  // a run-heavy chunk
      for (uint32_t x = 3u << 16; x < (3u << 16) + 50000; ++x) s.insert(x);
      bitmaps.push_back(std::move(first));
      oracle.push_back(std::move(s));
    }
    for (int step = 0; step < 400; ++step) {
      const size_t i = rng() % bitmaps.size();
      const uint32_t id = static_cast<uint32_t>(rng() % (8u << 16));
      switch (rng() % 9) {
        case 0:
        case 1:
          if (bitmaps.size() < 8) {
            bitmaps.push_back(bitmaps[i].ShareCopy(&shares));
            oracle.push_back(oracle[i]);
          }
          break;
        case 2:
          bitmaps[i].Add(id);
          oracle[i].insert(id);
          break;
        case 3:
          bitmaps[i].Remove(id);
          oracle[i].erase(id);
          break;
        case 4: {
          std::vector<uint32_t> ids;
          for (int k = 0; k < 200; ++k) ids.push_back(static_cast<uint32_t>(rng() % (8u << 16)));
          const bool add = rng() % 2 == 0;
          if (add) {
            bitmaps[i].AddMany(ids);
            oracle[i].insert(ids.begin(), ids.end());
          } else {
            bitmaps[i].RemoveMany(ids);
            for (uint32_t x : ids) oracle[i].erase(x);
          }
          break;
        }
        case 5: {
          const size_t j = rng() % bitmaps.size();
          Bitmap other = bitmaps[j].Copy();
          bitmaps[i].AndNotInPlace(other);
          const std::set<uint32_t> gone = oracle[j];
          for (uint32_t x : gone) oracle[i].erase(x);
          break;
        }
        case 6: {
          const uint64_t lo = rng() % (8u << 16);
          const uint64_t hi = lo + rng() % 70000;
          if (rng() % 2 == 0) {
            bitmaps[i].AddRange(lo, hi);
            for (uint64_t x = lo; x < hi; ++x) oracle[i].insert(static_cast<uint32_t>(x));
          } else {
            bitmaps[i].RemoveRange(lo, hi);
            for (uint64_t x = lo; x < hi; ++x) oracle[i].erase(static_cast<uint32_t>(x));
          }
          break;
        }
        case 7:
          if (bitmaps.size() > 1) {  // drop one (its shared containers lose a count)
            bitmaps.erase(bitmaps.begin() + static_cast<std::ptrdiff_t>(i));
            oracle.erase(oracle.begin() + static_cast<std::ptrdiff_t>(i));
          }
          break;
        case 8:
          bitmaps[i].RunOptimize();
          break;
      }
      for (size_t k = 0; k < bitmaps.size(); ++k) {
        INFO("step " << step << " bitmap " << k);
        Same(bitmaps[k], oracle[k]);
      }
    }
    // A deep Copy shares nothing and equals its source.
    Bitmap deep = bitmaps[0].Copy();
    REQUIRE(deep.Equals(bitmaps[0]));
    bitmaps.clear();
    REQUIRE(shares.shared_containers() == 0);  // every count was returned
    Same(deep, oracle[0]);
  }
}
