#include "bitmap/bitmap.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

using tagindex::Bitmap;

namespace {

std::set<uint32_t> RandomSet(std::mt19937& rng, uint32_t universe, double density) {
  std::set<uint32_t> out;
  std::bernoulli_distribution pick(density);
  for (uint32_t i = 0; i < universe; ++i) {
    if (pick(rng)) out.insert(i);
  }
  return out;
}

std::vector<uint32_t> Vec(const std::set<uint32_t>& s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("bitmap: algebra and counts agree with std::set", "[bitmap]") {
  const uint32_t seed = GENERATE(1u, 2u, 3u, 4u);
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  const double densities[] = {0.0, 0.001, 0.03, 0.5, 1.0};
  for (double da : densities) {
    for (double db : densities) {
      INFO("densities " << da << " " << db);
      const auto sa = RandomSet(rng, 200000, da), sb = RandomSet(rng, 200000, db);
      const Bitmap a = Bitmap::FromIds(Vec(sa)), b = Bitmap::FromIds(Vec(sb));
      std::vector<uint32_t> want_and, want_or, want_andnot, want_xor;
      std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(),
                            std::back_inserter(want_and));
      std::set_union(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(want_or));
      std::set_difference(sa.begin(), sa.end(), sb.begin(), sb.end(),
                          std::back_inserter(want_andnot));
      std::set_symmetric_difference(sa.begin(), sa.end(), sb.begin(), sb.end(),
                                    std::back_inserter(want_xor));
      CHECK(Bitmap::And(a, b).ToVector() == want_and);
      CHECK(Bitmap::Or(a, b).ToVector() == want_or);
      CHECK(Bitmap::AndNot(a, b).ToVector() == want_andnot);
      CHECK(Bitmap::Xor(a, b).ToVector() == want_xor);
      CHECK(Bitmap::AndCardinality(a, b) == want_and.size());
      CHECK(Bitmap::OrCardinality(a, b) == want_or.size());
      CHECK(Bitmap::AndNotCardinality(a, b) == want_andnot.size());
      CHECK(Bitmap::XorCardinality(a, b) == want_xor.size());
      CHECK(Bitmap::Intersects(a, b) == !want_and.empty());
      Bitmap c = a.Copy();
      c.AndNotInPlace(b);
      CHECK(c.ToVector() == want_andnot);
      const Bitmap* many[] = {&a, &b, &c};
      CHECK(Bitmap::OrMany(many).ToVector() == want_or);
    }
  }
}

TEST_CASE("bitmap: bulk add/remove, ranges, rank/select, paging", "[bitmap]") {
  std::vector<uint32_t> ids = {7, 3, 3, 65536, 1u << 31, 4000000000u, 5};
  Bitmap b = Bitmap::FromIds(ids);
  CHECK(b.Cardinality() == 6);
  CHECK(b.Minimum() == 3);
  CHECK(b.Maximum() == 4000000000u);
  CHECK(b.Rank(7) == 3);
  uint32_t v = 0;
  REQUIRE(b.Select(3, &v));
  CHECK(v == 65536);
  CHECK_FALSE(b.Select(6, &v));
  std::vector<uint32_t> page;
  b.RangeToVector(2, 3, &page);
  CHECK(page == std::vector<uint32_t>{7, 65536, 1u << 31});
  b.RangeToVector(10, 3, &page);
  CHECK(page.empty());
  std::vector<uint32_t> gone = {3, 65536, 12345};
  b.RemoveMany(gone);
  CHECK(b.ToVector() == std::vector<uint32_t>{5, 7, 1u << 31, 4000000000u});
  b.AddRange(100, 200);
  CHECK(b.RangeCardinality(0, 1000) == 102);
  b.RemoveRange(150, 1u << 31);
  CHECK(b.RangeCardinality(0, 1000) == 52);
  b.AddRange(0xFFFFFFF0ull, 1ull << 32);  // up to the last id
  CHECK(b.Contains(0xFFFFFFFFu));
}

TEST_CASE("bitmap: iterator reads and seeks in ascending order", "[bitmap]") {
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < 300000; i += 3) ids.push_back(i);
  const Bitmap b = Bitmap::FromIds(ids);
  Bitmap::Iterator it(b);
  std::vector<uint32_t> buf(1000);
  size_t n = it.Read(buf.data(), buf.size());
  CHECK(n == 1000);
  CHECK(buf[999] == 2997);
  it.SeekGreaterOrEqual(100001);
  REQUIRE(it.Valid());
  CHECK(it.Value() == 100002);
  it.SeekGreaterOrEqual(400000);
  CHECK_FALSE(it.Valid());
  size_t count = 0;
  b.ForEach([&](uint32_t) { return ++count < 10; });
  CHECK(count == 10);
}

TEST_CASE("bitmap: portable round trip; truncated and trailing bytes are rejected", "[bitmap]") {
  std::mt19937 rng(42);
  auto s = RandomSet(rng, 1 << 20, 0.02);
  Bitmap b = Bitmap::FromIds(Vec(s));
  b.AddRange(500000, 600000);
  b.RunOptimize();
  std::string blob;
  b.PortableSerialize(&blob);
  CHECK(blob.size() == b.PortableSizeInBytes());
  auto back = Bitmap::PortableDeserialize(blob);
  REQUIRE(back.ok());
  CHECK(back->Equals(b));
  for (size_t cut : {size_t{0}, size_t{1}, size_t{4}, blob.size() / 2, blob.size() - 1}) {
    INFO("cut " << cut);
    auto r = Bitmap::PortableDeserialize(std::span<const char>(blob.data(), cut));
    CHECK(r.status().code() == absl::StatusCode::kDataLoss);
  }
  std::string longer = blob + "x";
  CHECK(Bitmap::PortableDeserialize(longer).status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("bitmap: moved-from bitmaps can be reassigned", "[bitmap]") {
  Bitmap a = Bitmap::FromRange(0, 10);
  Bitmap b = std::move(a);
  CHECK(b.Cardinality() == 10);
  a = Bitmap::FromRange(5, 7);
  CHECK(a.Cardinality() == 2);
  CHECK(b.GetStats().run_containers + b.GetStats().array_containers +
            b.GetStats().bitset_containers ==
        1);
}
