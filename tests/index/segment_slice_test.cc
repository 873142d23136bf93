// Segment::Slice: pages of a segment as segments, against the segment's own
// row list.
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
    const std::vector<RowId> rows = s.Rows();
    for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, uint64_t{70000},
                            rows.size() - 1, rows.size(), rows.size() + 10}) {
      for (uint64_t limit : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, uint64_t{1} << 40}) {
        const Segment slice = s.Slice(offset, limit);
        CHECK(slice.Rows() == s.Page(offset, limit));
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
  const Segment page = s.Slice(0, 2);
  REQUIRE(page.Count() == 2);
  auto keys = page.KeysOf(page.Rows());
  REQUIRE(keys.ok());
  CHECK(std::get<int64_t>((*keys)[0]) == 10);
  CHECK(std::get<int64_t>((*keys)[1]) == 20);
  CHECK(Segment().Slice(0, 10).Count() == 0);
}
