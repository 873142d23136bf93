#include <chrono>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "tagindex/demo.h"
#include "tagindex/index.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

// splitmix64: small, fast, and the same on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Uniform() < p; }

 private:
  uint64_t state_;
};

struct TagDef {
  const char* category;
  const char* name;
};

// Index into kTags.
enum : int {
  kMale,
  kFemale,
  kUnknownGender,
  kCity0,                // 12 cities follow
  kTier0 = kCity0 + 12,  // 4 tiers
  kVerified = kTier0 + 4,
  kFrequent,
  kHighValue,
  kPromo,
  kNight,
  kElectronics,
  kSports,
  kBeauty,
  kBaby,
  kBooks,
  kOutdoor,
  kNew,
  kActive,
  kRepeat,
  kChurn,
  kDormant,
  kTagCount
};

const TagDef kTags[kTagCount] = {
    {"性别", "男"},
    {"性别", "女"},
    {"性别", "未知"},
    {"城市", "上海"},
    {"城市", "北京"},
    {"城市", "广州"},
    {"城市", "深圳"},
    {"城市", "杭州"},
    {"城市", "成都"},
    {"城市", "武汉"},
    {"城市", "南京"},
    {"城市", "西安"},
    {"城市", "重庆"},
    {"城市", "苏州"},
    {"城市", "其他"},
    {"会员等级", "普通会员"},
    {"会员等级", "银卡会员"},
    {"会员等级", "金卡会员"},
    {"会员等级", "钻石会员"},
    {"基本信息类", "已实名"},
    {"交易行为类", "高频购买者"},
    {"交易行为类", "高价值客户"},
    {"交易行为类", "大促敏感"},
    {"交易行为类", "夜间下单"},
    {"兴趣爱好类", "电子产品"},
    {"兴趣爱好类", "运动爱好者"},
    {"兴趣爱好类", "美妆护肤"},
    {"兴趣爱好类", "母婴用品"},
    {"兴趣爱好类", "图书音像"},
    {"兴趣爱好类", "户外旅行"},
    {"忠诚度类", "新客户"},
    {"忠诚度类", "活跃客户"},
    {"忠诚度类", "复购客户"},
    {"忠诚度类", "流失风险"},
    {"忠诚度类", "沉睡客户"},
};

// Skewed city shares (the last is "其他").
const double kCityShare[12] = {0.13, 0.12, 0.09, 0.09, 0.07, 0.06,
                               0.05, 0.04, 0.04, 0.04, 0.03, 0.24};

}  // namespace

std::vector<DemoQuery> DemoQueries() {
  return {
      {"高价值客户 AND 电子产品 AND NOT 流失风险", "数码新品推送：高价值、爱电子产品、未流失"},
      {"新客户 AND 活跃客户", "新客激活效果：新客户中的活跃者"},
      {"会员等级 IN (金卡会员, 钻石会员)", "高等级会员"},
      {"性别 = 女 AND 美妆护肤 AND 城市 IN (上海, 杭州)", "美妆城市活动：沪杭女性美妆用户"},
      {"流失风险 AND 高价值客户", "挽回：有流失风险的高价值客户"},
      {"运动爱好者 AND 户外旅行 AND NOT 新客户", "户外装备：运动且爱户外的老客户"},
      {"高频购买者 AND NOT 高价值客户", "提客单价：高频但客单价不高"},
      {"(电子产品 OR 图书音像) AND 城市 = 北京", "北京数码与图书兴趣人群"},
      {"活跃客户 AND NOT (高频购买者 OR 复购客户)", "活跃未转化：活跃但少购买"},
      {"母婴用品 AND 性别 = 女 AND 会员等级 != 普通会员", "母婴会员专享"},
      {"沉睡客户 AND 会员等级 IN (金卡会员, 钻石会员)", "唤醒沉睡的高等级会员"},
      {"大促敏感 AND 夜间下单 AND 已实名 AND NOT 流失风险", "大促夜场推送"},
  };
}

absl::StatusOr<DemoReport> BuildDemoShop(Index& index, const DemoOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (index.options().key_kind != KeyKind::kInt64) {
    return absl::FailedPreconditionError("demo: the demo shop needs an index with int64 keys");
  }
  if (index.CustomerCount() != 0 || index.TagCount() != 0) {
    return absl::FailedPreconditionError("demo: the index is not empty");
  }
  if (options.customers == 0 || options.customers > (uint64_t{1} << 31)) {
    return absl::InvalidArgumentError("demo: customers must be in [1, 2^31]");
  }
  for (const char* c : {"性别", "城市", "会员等级"}) {
    TI_RETURN_IF_ERROR(index.CreateCategory(c, {.exclusive = true}));
  }
  std::vector<TagId> ids(kTagCount);
  for (int t = 0; t < kTagCount; ++t) {
    TI_ASSIGN_OR_RETURN(ids[t],
                        index.CreateTag({.name = kTags[t].name, .category = kTags[t].category}));
  }
  const uint64_t n = options.customers;
  std::vector<int64_t> keys(n);
  for (uint64_t i = 0; i < n; ++i) keys[i] = static_cast<int64_t>(10000001 + i);
  std::vector<RowId> rows;
  TI_RETURN_IF_ERROR(index.AddCustomers(keys, &rows));
  keys = {};

  std::vector<std::vector<RowId>> members(kTagCount);
  Rng rng(options.seed);
  const uint64_t new_from = n - n * 8 / 100;
  for (uint64_t i = 0; i < n; ++i) {
    const RowId row = rows[i];
    auto add = [&](int t) { members[t].push_back(row); };
    const double age = 1.0 - static_cast<double>(i) / static_cast<double>(n);  // 1 = oldest
    const bool is_new = i >= new_from;
    // Engagement: skewed low, a little higher for recent signups.
    double e = std::pow(rng.Uniform(), 1.6);
    if (is_new) e = std::min(1.0, e + 0.15);
    const double g = rng.Uniform();
    const int gender = g < 0.47 ? kMale : g < 0.97 ? kFemale : kUnknownGender;
    add(gender);
    double c = rng.Uniform();
    int city = 11;
    for (int k = 0; k < 12; ++k) {
      if (c < kCityShare[k]) {
        city = k;
        break;
      }
      c -= kCityShare[k];
    }
    add(kCity0 + city);
    const bool frequent = rng.Chance(0.02 + 0.45 * e * e);
    const bool high_value = rng.Chance(frequent ? 0.45 : 0.04 + 0.10 * e);
    const double t = rng.Uniform();
    int tier = 0;
    const double boost = (high_value ? 0.35 : 0.0) + 0.25 * e + (is_new ? -0.1 : 0.05 * age);
    if (t < 0.02 + boost * 0.15) {
      tier = 3;
    } else if (t < 0.08 + boost * 0.35) {
      tier = 2;
    } else if (t < 0.25 + boost * 0.5) {
      tier = 1;
    }
    add(kTier0 + tier);
    if (rng.Chance(0.55 + 0.3 * e)) add(kVerified);
    if (frequent) add(kFrequent);
    if (high_value) add(kHighValue);
    if (rng.Chance(0.18 + 0.2 * (1.0 - e))) add(kPromo);
    if (rng.Chance(0.12 + (g < 0.47 ? 0.05 : 0.0))) add(kNight);
    if (rng.Chance(gender == kMale ? 0.30 : 0.12)) add(kElectronics);
    if (rng.Chance(gender == kMale ? 0.20 : 0.11)) add(kSports);
    if (rng.Chance(gender == kFemale ? 0.38 : 0.04)) add(kBeauty);
    if (rng.Chance(gender == kFemale ? 0.14 : 0.03)) add(kBaby);
    if (rng.Chance(0.09 + 0.05 * e)) add(kBooks);
    if (rng.Chance(0.07)) add(kOutdoor);
    if (is_new) add(kNew);
    const bool active = rng.Chance(0.08 + 0.75 * e);
    if (active) add(kActive);
    if (!is_new && rng.Chance(0.05 + 0.5 * e)) add(kRepeat);
    if (!is_new && !active && rng.Chance(0.05 + 0.35 * age * (1.0 - e))) add(kChurn);
    if (!is_new && !active && e < 0.05 && rng.Chance(0.5 * age)) add(kDormant);
  }
  DemoReport report;
  report.customers = n;
  report.tags = kTagCount;
  for (int tg = 0; tg < kTagCount; ++tg) {
    report.tag_assignments += members[tg].size();
    TI_RETURN_IF_ERROR(index.TagRows(ids[tg], members[tg]));
    members[tg] = {};
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace tagindex
