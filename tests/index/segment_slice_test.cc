// Segment::Slice and Segment::Iterator: pages of a segment as segments, and
// iteration, against the segment's own row list.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::RowId;
using tagindex::Segment;

TEST_CASE("segment: Slice(offset, limit) holds exactly Page(offset, limit)", "[segment]") {
  auto index = Index::Create().value();
  std::vector<int64_t> keys(100000);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = static_cast<int64_t>(i) * 3;
  REQUIRE(index->AddCustomers(keys).ok());
  const tagindex::TagId tag = index->CreateTag({.name = "t"}).value();
  for (uint32_t seed : {7u, 8u}) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::vector<int64_t> members;
    for (int64_t k : keys) {
      if (rng() % 4 == 0) members.push_back(k);
    }
    REQUIRE(index->TagMany(tag, members).ok());
    const Segment s = index->Query("t").value();
    const std::vector<RowId> rows = s.Rows().value();
    for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, uint64_t{70000},
                            rows.size() - 1, rows.size(), rows.size() + 10}) {
      for (uint64_t limit : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, uint64_t{1} << 40}) {
        const Segment slice = s.Slice(offset, limit).value();
        CHECK(slice.Rows().value() == s.Page(offset, limit).value());
        CHECK(slice.index() == index.get());
      }
    }
  }
}

TEST_CASE("segment: a slice keeps customers removed after the query", "[segment]") {
  auto index = Index::Create().value();
  const tagindex::TagId tag = index->CreateTag({.name = "t"}).value();
  REQUIRE(index->TagMany(tag, std::vector<int64_t>{10, 20, 30}).ok());
  const Segment s = index->Query("t").value();
  REQUIRE(index->RemoveCustomer(int64_t{10}).ok());
  const Segment page = s.Slice(0, 2).value();
  REQUIRE(page.Count() == 2);
  auto keys = page.KeysOf(page.Rows().value());
  REQUIRE(keys.ok());
  CHECK(std::get<int64_t>((*keys)[0]) == 10);
  CHECK(std::get<int64_t>((*keys)[1]) == 20);
  CHECK(Segment().Slice(0, 10).value().Count() == 0);
}

// Segment::Iterator decodes blocks of rows into its own buffer: checked
// against the segment's row list across block and chunk boundaries, for every
// container kind, with seeks forwards and backwards.
TEST_CASE("segment: Iterator visits Rows() in order; seeks land on the first row >= x",
          "[segment]") {
  auto index = Index::Create({.key_kind = tagindex::KeyKind::kIdentity}).value();
  const RowId n = 300000;
  std::vector<int64_t> keys(n);
  for (RowId i = 0; i < n; ++i) keys[i] = i;
  REQUIRE(index->AddCustomers(keys).ok());
  for (uint32_t seed : {11u, 12u, 13u}) {
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::vector<RowId> members;
    for (RowId r = 0; r < n; ++r) {
      const RowId chunk = r >> 16;  // array, bitset, run, empty, array chunks
      const bool in = chunk == 0   ? rng() % 50 == 0
                      : chunk == 1 ? rng() % 2 == 0
                      : chunk == 2 ? (r % 65536) < 30000
                      : chunk == 3 ? false
                                   : rng() % 9 == 0;
      if (in) members.push_back(r);
    }
    const tagindex::TagId tag = index->CreateTag({.name = "t" + std::to_string(seed)}).value();
    REQUIRE(index->TagRows(tag, members).ok());
    const Segment s = index->Query("t" + std::to_string(seed)).value();
    REQUIRE(s.Rows().value() == members);
    std::vector<RowId> seen;
    for (Segment::Iterator it(s); it.Valid(); it.Next()) seen.push_back(it.Value());
    CHECK(seen == members);
    // Seeks: random targets, in random order (backwards too), then walk a bit.
    Segment::Iterator it(s);
    for (int k = 0; k < 200; ++k) {
      const RowId x = static_cast<RowId>(rng() % (n + 1000));
      it.SeekGreaterOrEqual(x);
      auto want = std::lower_bound(members.begin(), members.end(), x);
      for (int step = 0; step < 300 && want != members.end(); ++step, ++want) {
        REQUIRE(it.Valid());
        REQUIRE(it.Value() == *want);
        it.Next();
      }
      if (want == members.end()) CHECK_FALSE(it.Valid());
    }
    // A moved-from iterator is exhausted; the moved-to one carries on.
    Segment::Iterator a(s);
    for (int k = 0; k < 1000; ++k) a.Next();
    Segment::Iterator b(std::move(a));
    CHECK_FALSE(a.Valid());  // NOLINT(bugprone-use-after-move): documented state
    a.SeekGreaterOrEqual(0);
    CHECK_FALSE(a.Valid());
    REQUIRE(b.Valid());
    CHECK(b.Value() == members[1000]);
    a = std::move(b);
    REQUIRE(a.Valid());
    CHECK(a.Value() == members[1000]);
  }
  // An empty segment's iterator starts exhausted.
  CHECK_FALSE(Segment::Iterator(Segment()).Valid());
}
