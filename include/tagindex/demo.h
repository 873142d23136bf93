// A synthetic shop for demonstrations and benchmarks (`tagindex demo`).
//
// BuildDemoShop fills an index (int64 keys) with `customers` customers whose
// keys are 10000001, 10000002, ... in signup order, and tags them from four
// groups with correlated, realistic popularity:
//   基本信息类  性别 (exclusive: 男 / 女 / 未知), 城市 (exclusive, 12 cities,
//               skewed), 会员等级 (exclusive: 普通会员 / 银卡会员 / 金卡会员 /
//               钻石会员, rising with engagement), 已实名
//   交易行为类  高频购买者, 高价值客户, 大促敏感, 夜间下单
//   兴趣爱好类  电子产品, 运动爱好者, 美妆护肤, 母婴用品, 图书音像, 户外旅行
//   忠诚度类    新客户 (the latest 8 % of signups: one run of row ids),
//               活跃客户, 复购客户, 流失风险, 沉睡客户
// Each customer has a hidden engagement score and gender that drive the
// probabilities (高价值客户 mostly among 高频购买者 and higher tiers, 流失风险
// mostly among older, less engaged customers, 美妆护肤 mostly 女, ...). The
// data is a pure function of (customers, seed).
//
// DemoQueries() lists a dozen segment queries over those tags, each with a
// one-line description, for the demo to run.
//
// Errors: FailedPrecondition if the index does not have int64 keys or
// already holds customers; the index's own errors otherwise.
// Thread safety: as the Index's writes.
#ifndef TAGINDEX_DEMO_H_
#define TAGINDEX_DEMO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tagindex {

class Index;

struct DemoOptions {
  uint64_t customers = 1000000;
  uint64_t seed = 20261201;
};

struct DemoReport {
  uint64_t customers = 0;
  uint64_t tags = 0;
  uint64_t tag_assignments = 0;
  double seconds = 0;
};

struct DemoQuery {
  std::string text;
  std::string description;
};

absl::StatusOr<DemoReport> BuildDemoShop(Index& index, const DemoOptions& options = {});
std::vector<DemoQuery> DemoQueries();

}  // namespace tagindex

#endif  // TAGINDEX_DEMO_H_
