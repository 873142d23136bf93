// A host program: links tagindex::tagindex (or pkg-config's flags) and uses
// the public API only. Exit status 0 when every answer matches.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tagindex/tagindex.h"

static_assert(TAGINDEX_VERSION == TAGINDEX_MAKE_VERSION(TAGINDEX_VERSION_MAJOR,
                                                        TAGINDEX_VERSION_MINOR,
                                                        TAGINDEX_VERSION_PATCH));

namespace {

int failures = 0;

void Expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "consumer: FAILED %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  auto created = tagindex::Index::Create();
  if (!created.ok()) {
    std::fprintf(stderr, "consumer: Create: %s\n", created.status().ToString().c_str());
    return 1;
  }
  auto& index = *created;
  tagindex::TagId vip = index->CreateTag({.name = "高价值客户"}).value();
  tagindex::TagId churn = index->CreateTag({.name = "流失风险"}).value();
  // Customers 0..999 are VIP, the multiples of 3 are at risk.
  std::vector<int64_t> all;
  std::vector<int64_t> risky;
  for (int64_t k = 0; k < 1000; ++k) {
    all.push_back(k);
    if (k % 3 == 0) risky.push_back(k);
  }
  Expect(index->TagMany(vip, all).ok(), "TagMany vip");
  Expect(index->TagMany(churn, risky).ok(), "TagMany churn");
  auto count = index->Count("高价值客户 AND NOT 流失风险");
  Expect(count.ok() && *count == 1000 - 334, "Count(高价值客户 AND NOT 流失风险) == 666");
  // Errors are statuses, never exceptions.
  Expect(index->Count("高价值客户 AND (").status().code() == absl::StatusCode::kInvalidArgument,
         "a syntax error is InvalidArgument");
  // The portable export parses back to the same rows.
  std::string blob = index->ExportTag(churn).value();
  auto rows = tagindex::Index::ParsePortableRows({blob.data(), blob.size()});
  Expect(rows.ok() && rows->size() == risky.size(), "ExportTag / ParsePortableRows round trip");
  std::printf("consumer: tagindex %s, count %llu, %s\n", TAGINDEX_VERSION_STRING,
              count.ok() ? static_cast<unsigned long long>(*count) : 0ULL,
              failures == 0 ? "all checks passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
