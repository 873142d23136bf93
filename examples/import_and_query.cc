// Imports a small CRM export (CSV with Chinese headers, a quoted multi-value
// column and one bad row) into an index, prints the import report and the
// rejected row, then selects segments. Built and run by ctest.
#include <cstdio>
#include <string>

#include "tagindex/tagindex.h"

namespace {

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "error: %s\n", std::string(s.ToString()).c_str());
  return 1;
}

const char kCsv[] =
    "客户ID,高价值客户,兴趣,会员等级\n"
    "1001,1,\"电子产品,运动\",金卡\n"
    "1002,0,运动,普通\n"
    "C1003,1,图书,金卡\n"  // not an int64 key: rejected, with its line
    "1004,是,电子产品,普通\n";

}  // namespace

int main() {
  auto created = tagindex::Index::Create();  // int64 keys
  if (!created.ok()) return Fail(created.status());
  tagindex::Index& index = **created;

  tagindex::ImportMapping mapping;
  mapping.key_column = "客户ID";
  mapping.key_kind = tagindex::KeyKind::kInt64;
  mapping.tags = {{.column = "高价值客户"}};
  mapping.multi_tags = {{.column = "兴趣", .separator = ",", .category = "兴趣爱好类"}};
  mapping.categories = {{.column = "会员等级"}};  // an exclusive category
  absl::StatusOr<tagindex::ImportReport> report =
      tagindex::ImportCsvString(index, kCsv, mapping, {}, "customers.csv");
  if (!report.ok()) return Fail(report.status());
  std::printf("imported %llu of %llu rows, %llu rejected\n",
              static_cast<unsigned long long>(report->rows_imported),
              static_cast<unsigned long long>(report->rows_read),
              static_cast<unsigned long long>(report->rows_rejected));
  for (const tagindex::RejectedRow& r : report->rejects) {
    std::printf("rejected %s\n", r.ToString().c_str());
  }

  for (const char* q : {"高价值客户 AND 电子产品", "运动 AND NOT 高价值客户", "会员等级 = 金卡"}) {
    absl::StatusOr<uint64_t> n = index.Count(q);
    if (!n.ok()) return Fail(n.status());
    std::printf("%-28s %llu\n", q, static_cast<unsigned long long>(*n));
  }
  // What the example promises (ctest runs it): 3 good rows, 1 rejected on line 4.
  if (report->rows_imported != 3 || report->rows_rejected != 1 || report->rejects[0].line != 4 ||
      index.Count("高价值客户 AND 电子产品").value() != 2 ||
      index.Count("运动 AND NOT 高价值客户").value() != 1) {
    std::fprintf(stderr, "unexpected result\n");
    return 1;
  }
  return 0;
}
