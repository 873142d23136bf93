// Attribute columns through the public API: golden errors for literals of
// the wrong type, aggregates over segments against a naive column, Explain's
// predicate nodes, relative dates, and the column life cycle.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tagindex/tagindex.h"

using tagindex::AttributeType;
using tagindex::Index;
using tagindex::QueryOptions;
using tagindex::RowId;

namespace {

std::unique_ptr<Index> SmallIndex() {
  auto index = Index::Create({.key_kind = tagindex::KeyKind::kIdentity}).value();
  std::vector<int64_t> keys = {0, 1, 2, 3, 4, 5};
  REQUIRE(index->AddCustomers(keys).ok());
  REQUIRE(index->CreateAttribute({.name = "消费金额", .type = AttributeType::kDecimal, .scale = 2})
              .ok());
  REQUIRE(index->CreateAttribute({.name = "最近购买", .type = AttributeType::kDate}).ok());
  REQUIRE(index->CreateAttribute({.name = "订单数", .type = AttributeType::kInt64}).ok());
  REQUIRE(index->CreateCategory("购买频率", {.exclusive = true}).ok());
  REQUIRE(index->CreateTag({.name = "高频", .category = "购买频率"}).ok());
  REQUIRE(index->CreateTag({.name = "高价值客户"}).ok());
  return index;
}

}  // namespace

TEST_CASE("attributes: type mismatches and bad literals are positioned errors", "[attributes]") {
  auto index = SmallIndex();
  struct Case {
    const char* query;
    absl::StatusCode code;
    const char* message;  // after "query: line 1, column C: "
    size_t column;
  };
  const Case cases[] = {
      {"最近购买 > 12.5", absl::StatusCode::kInvalidArgument,
       "attribute \"最近购买\" is a date column; write a date as 2026-08-01 or today - 90d, found "
       "\"12.5\"",
       8},
      {"消费金额 > 2026-01-01", absl::StatusCode::kInvalidArgument,
       "attribute \"消费金额\" is a decimal column, not a date; found \"2026-01-01\"", 8},
      {"消费金额 >= 12.345", absl::StatusCode::kInvalidArgument,
       "attribute \"消费金额\" is a decimal column of scale 2; 12.345 has 3 decimals, more than "
       "the scale of 2 (values are never rounded)",
       9},
      {"订单数 BETWEEN 2 AND 4.5", absl::StatusCode::kInvalidArgument,
       "attribute \"订单数\" is an integer column; 4.5 is not an integer", 19},
      {"订单数 = 杭州", absl::StatusCode::kInvalidArgument,
       "attribute \"订单数\" is an integer column; expected an integer, found \"杭州\"", 7},
      {"最近购买 < today - 90x", absl::StatusCode::kInvalidArgument,
       "expected a date offset such as 90d, 12w, 6m or 1y after \"today -\", found \"90x\"", 16},
      {"消费金 >= 1000", absl::StatusCode::kNotFound,
       "unknown attribute \"消费金\"; did you mean \"消费金额\"?", 1},
      {"消费金额 >= １０００", absl::StatusCode::kInvalidArgument,
       "attribute \"消费金额\" is a decimal column; expected a number, found \"１０００\"; "
       "full-width \"１\" (U+FF11, from a Chinese input method): write \"1\"",
       9},
      {"消费金额 >= 1000 AND 订单 = 2 AND 最近 < today", absl::StatusCode::kNotFound,
       "unknown attribute \"订单\"; did you mean \"订单数\"?; also unknown: \"最近\" (column 29)",
       18},
      {"高价值客户 > 3", absl::StatusCode::kNotFound,
       "unknown attribute \"高价值客户\" (it is a tag; predicates apply to categories and "
       "attributes)",
       1},
  };
  for (const Case& c : cases) {
    INFO(c.query);
    absl::StatusOr<uint64_t> r = index->Count(c.query);
    REQUIRE(!r.ok());
    CHECK(r.status().code() == c.code);
    const std::string msg(r.status().message());
    const std::string want = "query: line 1, column " + std::to_string(c.column) + ": " + c.message;
    CHECK(msg.substr(0, want.size()) == want);
    REQUIRE(tagindex::GetQueryErrorLocation(r.status()).has_value());
  }
}

TEST_CASE("attributes: relative dates use QueryOptions::today", "[attributes]") {
  auto index = SmallIndex();
  // 2026-03-31 is day 20543.
  std::vector<RowId> rows = {0, 1, 2, 3};
  std::vector<int64_t> days = {20543, 20543 - 90, 20543 - 28, 20512};  // 20512 = 2026-02-28
  REQUIRE(index->SetAttributeRows("最近购买", rows, days).ok());
  QueryOptions o;
  o.today = 20543;
  CHECK(index->Count("最近购买 = today", o).value() == 1);
  CHECK(index->Count("最近购买 < today - 89d", o).value() == 1);
  CHECK(index->Count("最近购买 >= today - 4w", o).value() == 2);
  // Months clamp the day: 2026-03-31 - 1m = 2026-02-28.
  CHECK(index->Count("最近购买 = today - 1m", o).value() == 1);
  CHECK(index->Count("最近购买 = 2026-02-28", o).value() == 1);
  CHECK(index->Count("最近购买 > today - 1y", o).value() == 4);
  CHECK(index->Count("最近购买 IS NULL", o).value() == 2);
}

TEST_CASE("attributes: decimals are parsed exactly and formatted back", "[attributes]") {
  auto index = SmallIndex();
  CHECK(index->ParseAttributeValue("消费金额", "12.5").value() == 1250);
  CHECK(index->ParseAttributeValue("消费金额", "-0.07").value() == -7);
  CHECK(index->ParseAttributeValue("消费金额", "3").value() == 300);
  CHECK(index->ParseAttributeValue("消费金额", "1.234").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(index->FormatAttributeValue("消费金额", -7).value() == "-0.07");
  CHECK(index->FormatAttributeValue("最近购买", 0).value() == "1970-01-01");
  CHECK(index->FormatAttributeValue("最近购买", -1).value() == "1969-12-31");
  CHECK(index->ParseAttributeValue("最近购买", "2026-02-30").status().code() ==
        absl::StatusCode::kInvalidArgument);
  std::vector<RowId> rows = {0, 1, 2};
  std::vector<int64_t> v = {129900, 5000, 99};
  REQUIRE(index->SetAttributeRows("消费金额", rows, v).ok());
  CHECK(index->Count("消费金额 >= 1000").value() == 1);
  CHECK(index->Count("消费金额 >= 50").value() == 2);
  CHECK(index->Count("消费金额 = 0.99").value() == 1);
  CHECK(index->Count("消费金额 IN (50, 0.99, 1)").value() == 2);
}

TEST_CASE("attributes: aggregates over segments agree with a naive column", "[attributes]") {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto index = Index::Create({.key_kind = tagindex::KeyKind::kIdentity}).value();
    const RowId n = 70000 + static_cast<RowId>(seed) * 1000;  // two chunks
    std::vector<int64_t> keys(n);
    for (RowId i = 0; i < n; ++i) keys[i] = i;
    REQUIRE(index->AddCustomers(keys).ok());
    REQUIRE(index->CreateAttribute({.name = "x"}).ok());
    tagindex::TagId t = index->CreateTag({.name = "t"}).value();
    std::vector<std::optional<int64_t>> model(n);
    std::vector<RowId> rows, tagged;
    std::vector<int64_t> vals;
    for (RowId i = 0; i < n; ++i) {
      if (rng() % 3 == 0) tagged.push_back(i);
      if (rng() % 4 == 0) continue;
      int64_t v = static_cast<int64_t>(rng() % 2001) - 1000;
      if (rng() % 1000 == 0)
        v = rng() % 2 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
      rows.push_back(i);
      vals.push_back(v);
      model[i] = v;
    }
    REQUIRE(index->SetAttributeRows("x", rows, vals).ok());
    REQUIRE(index->TagRows(t, tagged).ok());
    // Removing a customer clears its value.
    for (RowId i = 5; i < n; i += 101) {
      REQUIRE(index->RemoveRow(i).ok());
      model[i].reset();
    }
    tagindex::Segment seg = index->Query("t AND x IS NOT NULL").value();
    std::vector<int64_t> in;
    for (const auto rows_value = seg.Rows().value(); RowId r : rows_value) in.push_back(*model[r]);
    std::sort(in.begin(), in.end());
    REQUIRE(!in.empty());
    tagindex::AttributeSummary s = index->SummarizeAttribute("x", &seg).value();
    absl::int128 sum = 0;
    for (int64_t v : in) sum += v;
    CHECK(s.count == in.size());
    CHECK(s.sum == sum);
    CHECK(s.min == in.front());
    CHECK(s.max == in.back());
    for (double q : {0.0, 0.1, 0.5, 0.99, 1.0}) {
      uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * in.size())));
      CHECK(index->AttributeQuantile("x", q, &seg).value() == in[rank - 1]);
    }
    std::vector<int64_t> bounds = {-1000, -10, 0, 10, 1001};
    std::vector<uint64_t> hist = index->AttributeHistogram("x", bounds, &seg).value();
    for (size_t j = 0; j + 1 < bounds.size(); ++j) {
      CHECK(hist[j] == static_cast<uint64_t>(std::count_if(in.begin(), in.end(), [&](int64_t v) {
              return bounds[j] <= v && v < bounds[j + 1];
            })));
    }
    auto top = index->TopAttribute("x", 5, true, &seg).value();
    REQUIRE(top.size() == 5);
    for (size_t i = 0; i < 5; ++i) CHECK(top[i].value == in[in.size() - 1 - i]);
    auto bottom = index->TopAttribute("x", 5, false, &seg).value();
    for (size_t i = 0; i < 5; ++i) CHECK(bottom[i].value == in[i]);
    // Whole-column summary counts every live value.
    uint64_t live = 0;
    for (const auto& v : model) live += v.has_value();
    CHECK(index->SummarizeAttribute("x").value().count == live);
  }
}

TEST_CASE("attributes: Explain shows predicate nodes with estimates and actuals", "[attributes]") {
  auto index = SmallIndex();
  std::vector<RowId> rows = {0, 1, 2, 3, 4};
  std::vector<int64_t> v = {1, 2, 3, 4, 5};
  REQUIRE(index->SetAttributeRows("订单数", rows, v).ok());
  tagindex::TagId vip = index->FindTag("高价值客户").value();
  std::vector<RowId> vips = {1, 2, 5};
  REQUIRE(index->TagRows(vip, vips).ok());
  tagindex::Explanation x = index->Explain("高价值客户 AND 订单数 BETWEEN 2 AND 4").value();
  CHECK(x.count == 2);
  const std::string text = x.ToString();
  INFO(text);
  CHECK(text.find("PREDICATE 订单数 BETWEEN 2 AND 4") != std::string::npos);
  CHECK(text.find("actual=2") != std::string::npos);
  // NOT (x > 3) includes the customers without a value.
  CHECK(index->Count("NOT 订单数 > 3").value() == 4);
  CHECK(index->Count("订单数 <= 3").value() == 3);
}

TEST_CASE("attributes: create, describe, rename, drop", "[attributes]") {
  auto index = SmallIndex();
  CHECK(index->CreateAttribute({.name = "订单数"}).status().code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(index->CreateAttribute({.name = "购买频率"}).status().code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(index->CreateAttribute({.name = "y", .type = AttributeType::kDecimal, .scale = 0})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  std::vector<RowId> rows = {0, 1};
  std::vector<int64_t> v = {7, -7};
  REQUIRE(index->SetAttributeRows("订单数", rows, v).ok());
  tagindex::AttributeInfo info = index->GetAttribute("订单数").value();
  CHECK(info.count == 2);
  CHECK(info.type == AttributeType::kInt64);
  CHECK(index->ListAttributes().value().size() == 3);
  tagindex::CompiledQuery q = index->Compile("订单数 > 0").value();
  REQUIRE(index->RenameAttribute("订单数", "订单量").ok());
  CHECK(q.Count().value() == 1);  // bound by id
  CHECK(index->Count("订单量 < 0").value() == 1);
  CHECK(index->GetAttribute("订单数").status().code() == absl::StatusCode::kNotFound);
  REQUIRE(index->DropAttribute("订单量").ok());
  CHECK(q.Count().status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(index->SetAttributeRows("订单量", rows, v).code() == absl::StatusCode::kNotFound);
  std::vector<RowId> dead = {99};
  std::vector<int64_t> one = {1};
  CHECK(index->SetAttributeRows("消费金额", dead, one).code() == absl::StatusCode::kNotFound);
  CHECK(index->SetAttributeRows("消费金额", rows, one).code() ==
        absl::StatusCode::kInvalidArgument);
}

// Range predicates with a small tag as their filter (the planner passes the
// running intersection into the slice walk; a tag of a few rows per chunk
// takes Bsi's sparse path, a larger one the whole-chunk path) and aggregates
// over small segments, each asked for alone, against a scan of a naive
// column: every comparison operator, NULLs, int64 and date columns.
TEST_CASE("attributes: predicates with small and large tags agree with a column scan",
          "[attributes]") {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t n) { return static_cast<int64_t>(rng() % n); };
    auto index = Index::Create({.key_kind = tagindex::KeyKind::kIdentity}).value();
    const RowId n = 3 * 65536 + 777;
    std::vector<int64_t> keys(n);
    for (RowId i = 0; i < n; ++i) keys[i] = i;
    REQUIRE(index->AddCustomers(keys).ok());
    REQUIRE(index->CreateAttribute({.name = "x"}).ok());
    REQUIRE(index->CreateAttribute({.name = "d", .type = AttributeType::kDate}).ok());
    std::vector<std::optional<int64_t>> xs(n), ds(n);
    std::vector<RowId> xr, dr;
    std::vector<int64_t> xv, dv;
    for (RowId i = 0; i < n; ++i) {
      if (pick(5) != 0) {
        int64_t v = pick(2001) - 1000;
        if (pick(500) == 0) v = pick(2) ? std::numeric_limits<int64_t>::max() / 3 : -(1LL << 40);
        xs[i] = v;
        xr.push_back(i);
        xv.push_back(v);
      }
      if (pick(4) != 0) {
        ds[i] = 20000 + pick(400);  // days: 2024-10-04 .. 2025-11-08
        dr.push_back(i);
        dv.push_back(*ds[i]);
      }
    }
    REQUIRE(index->SetAttributeRows("x", xr, xv).ok());
    REQUIRE(index->SetAttributeRows("d", dr, dv).ok());
    // Tags: a few rows per chunk, ~250 per chunk (around the sparse
    // threshold), and 30 % (whole chunks).
    const std::vector<std::pair<std::string, int64_t>> tags = {
        {"tiny", 20000}, {"small", 260}, {"large", 3}};
    std::vector<std::vector<bool>> member(tags.size(), std::vector<bool>(n));
    for (size_t t = 0; t < tags.size(); ++t) {
      const tagindex::TagId id = index->CreateTag({.name = tags[t].first}).value();
      std::vector<RowId> rows;
      for (RowId i = 0; i < n; ++i) {
        if (pick(static_cast<uint64_t>(tags[t].second)) == 0) {
          rows.push_back(i);
          member[t][i] = true;
        }
      }
      REQUIRE(index->TagRows(id, rows).ok());
    }
    auto iso = [](int64_t days) {
      // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
      days += 719468;
      const int64_t era = days / 146097, doe = days - era * 146097;
      const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
      const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
      const int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
      const int64_t year = yoe + era * 400 + (month <= 2);
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lld", static_cast<long long>(year),
                    static_cast<long long>(month), static_cast<long long>(day));
      return std::string(buf);
    };
    for (int q = 0; q < 60; ++q) {
      const bool date = q % 3 == 2;
      const std::string col = date ? "d" : "x";
      const auto& model = date ? ds : xs;
      auto literal = [&]() { return date ? 20000 + pick(400) : pick(2201) - 1100; };
      auto text = [&](int64_t v) { return date ? iso(v) : std::to_string(v); };
      const int64_t a = literal(), b = literal();
      const int64_t lo = std::min(a, b), hi = std::max(a, b);
      std::string pred;
      std::function<bool(const std::optional<int64_t>&)> match;
      switch (q % 10) {
        case 0:
          pred = col + " = " + text(a);
          match = [=](const auto& v) { return v && *v == a; };
          break;
        case 1:
          pred = col + " != " + text(a);
          match = [=](const auto& v) { return v && *v != a; };
          break;
        case 2:
          pred = col + " < " + text(a);
          match = [=](const auto& v) { return v && *v < a; };
          break;
        case 3:
          pred = col + " <= " + text(a);
          match = [=](const auto& v) { return v && *v <= a; };
          break;
        case 4:
          pred = col + " > " + text(a);
          match = [=](const auto& v) { return v && *v > a; };
          break;
        case 5:
          pred = col + " >= " + text(a);
          match = [=](const auto& v) { return v && *v >= a; };
          break;
        case 6:
          pred = col + " BETWEEN " + text(lo) + " AND " + text(hi);
          match = [=](const auto& v) { return v && lo <= *v && *v <= hi; };
          break;
        case 7:
          pred = col + " IN (" + text(a) + ", " + text(b) + ")";
          match = [=](const auto& v) { return v && (*v == a || *v == b); };
          break;
        case 8:
          pred = col + " IS NULL";
          match = [](const auto& v) { return !v.has_value(); };
          break;
        default:
          pred = "NOT (" + col + " > " + text(a) + ")";  // includes the NULLs
          match = [=](const auto& v) { return !(v && *v > a); };
          break;
      }
      for (size_t t = 0; t < tags.size(); ++t) {
        std::vector<RowId> want;
        for (RowId i = 0; i < n; ++i) {
          if (member[t][i] && match(model[i])) want.push_back(i);
        }
        for (const std::string& query :
             {tags[t].first + " AND " + pred, "(" + pred + ") AND " + tags[t].first}) {
          INFO(query);
          REQUIRE(index->Count(query).value() == want.size());
          REQUIRE(index->Query(query).value().Rows().value() == want);
        }
      }
    }
    // Aggregates over the small segments, each asked for alone.
    for (size_t t = 0; t < tags.size(); ++t) {
      INFO("tag " << tags[t].first);
      tagindex::Segment seg = index->Query(tags[t].first).value();
      std::vector<int64_t> in;
      for (const auto rows_value = seg.Rows().value(); RowId r : rows_value) {
        if (xs[r]) in.push_back(*xs[r]);
      }
      std::sort(in.begin(), in.end());
      absl::int128 sum = 0;
      for (int64_t v : in) sum += v;
      for (int w = 0; w < 8; ++w) {
        const tagindex::AttributeAggregates which{
            .sum = (w & 1) != 0, .min = (w & 2) != 0, .max = (w & 4) != 0};
        INFO("sum " << which.sum << " min " << which.min << " max " << which.max);
        tagindex::AttributeSummary s = index->SummarizeAttribute("x", &seg, which).value();
        CHECK(s.count == in.size());
        CHECK(s.sum == (which.sum ? sum : absl::int128(0)));
        CHECK(s.min ==
              (which.min && !in.empty() ? std::optional<int64_t>(in.front()) : std::nullopt));
        CHECK(s.max ==
              (which.max && !in.empty() ? std::optional<int64_t>(in.back()) : std::nullopt));
        if (which.sum && !in.empty()) {
          CHECK(s.mean == Approx(static_cast<double>(sum) / static_cast<double>(in.size())));
        }
      }
    }
  }
}
