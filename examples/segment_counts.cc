// Builds a small index of customers with Chinese tag names, selects a
// segment with the query language and prints its size, a page of customer
// keys and the query plan. Run: the README's "main job" command.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <string>
#include <variant>
#include <vector>

#include "tagindex/tagindex.h"

namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "error: %s\n", std::string(s.ToString()).c_str());
  return 1;
}

}  // namespace

int main() {
  using tagindex::Index;
  using tagindex::TagId;

  absl::StatusOr<std::unique_ptr<Index>> created = Index::Create();
  if (!created.ok()) return Fail(created.status());
  Index& index = **created;

  if (auto s = index.CreateCategory("购买频率", {.exclusive = true}); !s.ok()) return Fail(s);
  auto tag = [&](const char* name, const char* category) {
    return index.CreateTag({.name = name, .category = category}).value();
  };
  const TagId vip = tag("高价值客户", "价值分层");
  const TagId electronics = tag("电子产品", "兴趣爱好类");
  const TagId churn = tag("流失风险", "忠诚度类");
  const TagId high = tag("高频", "购买频率");
  const TagId low = tag("低频", "购买频率");

  // 10,000 customers with user ids 100000..109999; membership by simple rules
  // so the counts below can be checked by hand.
  std::vector<int64_t> all, vips, gadgets, churners, frequent, rare;
  for (int64_t i = 0; i < 10000; ++i) {
    const int64_t key = 100000 + i;
    all.push_back(key);
    if (i % 10 == 0) vips.push_back(key);     // 1,000
    if (i % 4 == 0) gadgets.push_back(key);   // 2,500
    if (i % 7 == 0) churners.push_back(key);  // 1,429
    (i % 3 == 0 ? frequent : rare).push_back(key);
  }
  for (auto [t, keys] : {std::pair{vip, &vips},
                         {electronics, &gadgets},
                         {churn, &churners},
                         {high, &frequent},
                         {low, &rare}}) {
    if (auto s = index.TagMany(t, *keys); !s.ok()) return Fail(s);
  }
  // Exclusive category: moving customer 100000 to 低频 takes it out of 高频.
  if (auto s = index.Tag(low, int64_t{100000}); !s.ok()) return Fail(s);

  std::printf("customers: %llu\n", static_cast<unsigned long long>(index.CustomerCount()));
  const auto listed15 = index.ListTags().value();
  for (const tagindex::TagInfo& t : listed15) {
    std::printf("  %-12s %-8s %6llu\n", t.category.c_str(), t.name.c_str(),
                static_cast<unsigned long long>(t.count));
  }

  // The segment query, and the same set by hand from the tags' rows as a check.
  const char* text = "高价值客户 AND 电子产品 AND NOT 流失风险";
  absl::StatusOr<tagindex::Segment> segment = index.Query(text);
  if (!segment.ok()) return Fail(segment.status());
  std::printf("%s: %llu\n", text, static_cast<unsigned long long>(segment->Count()));
  auto rows = [&](TagId t) { return index.RowsWithTag(t).value(); };
  const auto v = rows(vip), e = rows(electronics), c = rows(churn);
  std::vector<uint32_t> ve, by_hand;
  std::set_intersection(v.begin(), v.end(), e.begin(), e.end(), std::back_inserter(ve));
  std::set_difference(ve.begin(), ve.end(), c.begin(), c.end(), std::back_inserter(by_hand));

  // The first page of customer keys, and how the query ran.
  std::vector<tagindex::RowId> page = segment->Page(0, 5).value();
  absl::StatusOr<std::vector<tagindex::CustomerKey>> keys = segment->KeysOf(page);
  if (!keys.ok()) return Fail(keys.status());
  std::printf("first customers:");
  for (const auto& k : *keys) std::printf(" %lld", static_cast<long long>(std::get<int64_t>(k)));
  std::printf("\n");
  absl::StatusOr<tagindex::Explanation> plan = index.Explain(text);
  if (!plan.ok()) return Fail(plan.status());
  std::printf("%s", plan->ToString().c_str());

  const uint64_t frequent_or_unknown = index.Count("购买频率 = 高频 OR 购买频率 IS NULL").value();
  std::printf("购买频率 = 高频 OR 购买频率 IS NULL: %llu\n",
              static_cast<unsigned long long>(frequent_or_unknown));

  // A typo gets a "did you mean" and a caret under the problem.
  absl::Status typo = index.Count("高价值客户 AND 电子产吕").status();
  std::printf("%s\n", std::string(typo.message()).c_str());

  const bool ok =
      index.CustomerCount() == 10000 && v.size() == 1000 && e.size() == 2500 && ve.size() == 500 &&
      by_hand.size() == 428 && segment->Count() == 428 && segment->Rows().value() == by_hand &&
      frequent_or_unknown == 3333 && absl::IsNotFound(typo) &&
      tagindex::GetUnknownTagSuggestions(typo) == std::vector<std::string>{"电子产品"} &&
      index.TagCardinality(high).value() == 3333 && index.TagCardinality(low).value() == 6667;
  std::printf("%s\n", ok ? "ok" : "MISMATCH");
  return ok ? 0 : 1;
}
