// Bitmap::ShareCopy: bitmaps sharing containers stay independent values.
// Random mutations of a family of share-copies, each compared with its own
// std::set oracle after every step; ASan (asan preset) catches a container
// freed twice or used after free.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <optional>
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

// The share table holds thousands of containers: it grows past its first
// size, shrinks again, and deletes out of long probe runs. Every bitmap is
// checked against its oracle, the table's size against the number of
// containers that are shared, and ASan (asan preset) catches a container
// freed while still shared.
TEST_CASE("Bitmap::ShareCopy: the share table grows, shrinks and keeps counts", "[bitmap][share]") {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    ContainerShares shares;
    constexpr uint32_t kChunks = 3000;  // one container per chunk
    Bitmap base;
    std::set<uint32_t> base_set;
    for (uint32_t c = 0; c < kChunks; ++c) {
      const uint32_t id = (c << 16) | static_cast<uint32_t>(rng() % 65536);
      base.Add(id);
      base_set.insert(id);
    }
    std::vector<Bitmap> copies;
    for (int k = 0; k < 5; ++k) copies.push_back(base.ShareCopy(&shares));
    REQUIRE(shares.shared_containers() == kChunks);
    // Each copy changes its own random chunks; those containers are then
    // private to it, the rest stay shared by all six bitmaps.
    std::vector<std::set<uint32_t>> oracle(copies.size(), base_set);
    std::set<uint32_t> touched_chunks;
    for (size_t k = 0; k < copies.size(); ++k) {
      for (int step = 0; step < 300; ++step) {
        const uint32_t c = static_cast<uint32_t>(rng() % kChunks);
        const uint32_t id = (c << 16) | static_cast<uint32_t>(rng() % 65536);
        touched_chunks.insert(c);
        if (rng() % 2 == 0) {
          copies[k].Add(id);
          oracle[k].insert(id);
        } else {
          copies[k].Remove(id);
          oracle[k].erase(id);
        }
      }
    }
    // A chunk one copy touched is still shared by the other five bitmaps.
    REQUIRE(shares.shared_containers() == kChunks);
    Same(base, base_set);
    for (size_t k = 0; k < copies.size(); ++k) Same(copies[k], oracle[k]);
    // Drop in a random order; the survivors keep their contents.
    std::vector<size_t> order(copies.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<std::optional<Bitmap>> alive;
    for (Bitmap& b : copies) alive.emplace_back(std::move(b));
    for (size_t k : order) {
      alive[k].reset();
      Same(base, base_set);
      for (size_t j = 0; j < alive.size(); ++j) {
        if (alive[j].has_value()) Same(*alive[j], oracle[j]);
      }
    }
    // Only `base` is left: nothing is shared any more.
    REQUIRE(shares.shared_containers() == 0);
    Same(base, base_set);
  }
}

// Spare bitset reuse: a chain of versions (each a share-copy of the last,
// changed by one id, then the one before it freed, as the index's commits
// do), while an old "reader" copy is held throughout. Spare blocks come only
// from containers whose last holder was freed, so the held copy and every
// live version keep their exact contents (std::set oracles; ASan catches a
// block handed out while still referenced).
TEST_CASE("Bitmap::ShareCopy: spare bitsets are reused, never while referenced",
          "[bitmap][share]") {
  const uint32_t seed = 11;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  ContainerShares shares;
  std::set<uint32_t> model;
  Bitmap current;
  for (uint32_t id = 0; id < 6 * 65536; id += 2) model.insert(id);  // 6 bitsets
  for (uint32_t id : model) current.Add(id);
  Bitmap held = current.ShareCopy(&shares);  // the reader's version
  const std::set<uint32_t> held_model = model;
  const bool sharing = shares.shared_containers() > 0;  // false: no known CRoaring layout
  for (int step = 0; step < 2000; ++step) {
    Bitmap next = current.ShareCopy(&shares);
    const uint32_t id = rng() % (6 * 65536);
    if (rng() % 2 == 0) {
      next.Add(id);
      model.insert(id);
    } else {
      next.Remove(id);
      model.erase(id);
    }
    current = std::move(next);  // the replaced version is freed (its bitset may become spare)
    REQUIRE(shares.spare_containers() <= 8);
    if (step % 97 == 0) {
      Same(current, model);
      Same(held, held_model);
    }
  }
  if (sharing) REQUIRE(shares.spare_containers() > 0);  // blocks came back for reuse
  Same(current, model);
  Same(held, held_model);
}
