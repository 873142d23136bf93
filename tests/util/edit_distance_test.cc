#include "util/edit_distance.h"

#include <catch2/catch.hpp>

using tagindex::util::ClosestMatches;
using tagindex::util::EditDistance;

TEST_CASE("edit distance: counts code points", "[util]") {
  CHECK(EditDistance("高价值客户", "高价值客户") == 0);
  CHECK(EditDistance("高价值客户", "高价格客户") == 1);
  CHECK(EditDistance("高价值客户", "价值客户") == 1);
  CHECK(EditDistance("kitten", "sitting") == 3);
  CHECK(EditDistance("", "abc") == 3);
  CHECK(EditDistance("abcdef", "uvwxyz", 2) == 3);  // capped at limit + 1
}

TEST_CASE("edit distance: suggestions are nearest first and bounded", "[util]") {
  const std::vector<std::string> names = {"高价值客户", "低价值客户", "电子产品", "VIP",
                                          "流失风险"};
  auto got = ClosestMatches("高价值客", names);
  REQUIRE_FALSE(got.empty());
  CHECK(got[0] == "高价值客户");
  CHECK(ClosestMatches("vip", names) == std::vector<std::string>{"VIP"});
  CHECK(ClosestMatches("完全不同的名字", names).empty());
  CHECK(ClosestMatches("电子产品", names).empty());  // an exact match is not a suggestion
}
