// Builds a small index of customers with Chinese tag names and prints the
// sizes of a few segments. Run: the README's "main job" command.
#include <cstdint>
#include <cstdio>
#include <string>
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
    if (i % 10 == 0) vips.push_back(key);       // 1,000
    if (i % 4 == 0) gadgets.push_back(key);     // 2,500
    if (i % 7 == 0) churners.push_back(key);    // 1,429
    (i % 3 == 0 ? frequent : rare).push_back(key);
  }
  for (auto [t, keys] : {std::pair{vip, &vips}, {electronics, &gadgets}, {churn, &churners},
                         {high, &frequent}, {low, &rare}}) {
    if (auto s = index.TagMany(t, *keys); !s.ok()) return Fail(s);
  }
  // Exclusive category: moving customer 100000 to 低频 takes it out of 高频.
  if (auto s = index.Tag(low, int64_t{100000}); !s.ok()) return Fail(s);

  std::printf("customers: %llu\n", static_cast<unsigned long long>(index.CustomerCount()));
  for (const tagindex::TagInfo& t : index.ListTags()) {
    std::printf("  %-12s %-8s %6llu\n", t.category.c_str(), t.name.c_str(),
                static_cast<unsigned long long>(t.count));
  }

  // Segment: 高价值客户 AND 电子产品 AND NOT 流失风险 (by hand until the query
  // language lands: it will read exactly like that).
  auto rows = [&](TagId t) { return index.RowsWithTag(t).value(); };
  const auto v = rows(vip), e = rows(electronics), c = rows(churn);
  std::vector<uint32_t> ve, segment;
  std::set_intersection(v.begin(), v.end(), e.begin(), e.end(), std::back_inserter(ve));
  std::set_difference(ve.begin(), ve.end(), c.begin(), c.end(), std::back_inserter(segment));
  std::printf("高价值客户 AND 电子产品 AND NOT 流失风险: %zu\n", segment.size());

  const bool ok = index.CustomerCount() == 10000 && v.size() == 1000 && e.size() == 2500 &&
                  ve.size() == 500 && segment.size() == 428 &&
                  index.TagCardinality(high).value() == 3333 &&
                  index.TagCardinality(low).value() == 6667;
  std::printf("%s\n", ok ? "ok" : "MISMATCH");
  return ok ? 0 : 1;
}
