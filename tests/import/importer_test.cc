#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "tagindex/tagindex.h"

namespace tagindex {
namespace {

// The index's memberships as key -> {"category:name"}: what the oracle is
// compared with.
std::map<std::string, std::set<std::string>> Contents(const Index& index) {
  std::map<std::string, std::set<std::string>> out;
  const std::vector<RowId> live_rows = index.LiveRows().value();
  for (RowId row : live_rows) {
    CustomerKey key = index.KeyOf(row).value();
    std::string k = std::holds_alternative<int64_t>(key) ? std::to_string(std::get<int64_t>(key))
                                                         : std::get<std::string>(key);
    auto& tags = out[k];
    std::vector<TagId> held = index.TagsOfRow(row).value();
    for (TagId t : held) {
      TagInfo info = index.GetTag(t).value();
      tags.insert(info.category + ":" + info.name);
    }
  }
  return out;
}

// "2024-10-05" for days since 1970-01-01 (civil-from-days).
std::string FormatIsoDateForTest(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t mo = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (mo <= 2 ? 1 : 0);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(mo), static_cast<long long>(d));
  return buf;
}

ImportMapping ShopMapping() {
  ImportMapping m;
  m.key_column = "客户ID";
  m.key_kind = KeyKind::kInt64;
  m.tags = {{.column = "高价值客户"}, {.column = "vip", .tag = "VIP客户", .category = "价值"}};
  m.multi_tags = {{.column = "兴趣", .separator = ",", .category = "兴趣爱好类"}};
  m.categories = {{.column = "城市"}};
  return m;
}

const char kShopCsv[] =
    "\xEF\xBB\xBF客户ID,高价值客户,vip,兴趣,城市,备注\r\n"
    "1001,1,否,\"电子产品,运动\",上海,\"说明, 带逗号\"\r\n"
    "1002,0,是,运动,北京,\"两行\r\n备注\"\r\n"
    "1003,true,no,,上海,\r\n"
    "abc,1,0,运动,上海,bad key\r\n"        // line 6: not an integer
    ",1,0,运动,上海,empty key\r\n"         // line 7
    "1004,maybe,0,运动,上海,bad bool\r\n"  // line 8
    "1005,1,0\r\n"                         // line 9: 3 fields
    "1006,1,0,\"x\"y\",上海,\r\n"          // line 10: malformed quote
    "1007,1,0,运动,\xff\xfe,\r\n"          // line 11: invalid UTF-8
    "99999999999999999999,1,0,,,\r\n"      // line 12: out of range
    "1002,1,0,图书,广州,again\r\n";        // line 13: 1002 again: merge, city replaced

TEST_CASE("import: Chinese headers, BOM, CRLF, quoted fields and every kind of bad row",
          "[import]") {
  auto index = Index::Create().value();
  std::vector<RejectedRow> rejected;
  ImportOptions options;
  options.on_reject = [&](const RejectedRow& r) { rejected.push_back(r); };
  ImportReport report =
      ImportCsvString(*index, kShopCsv, ShopMapping(), options, "shop.csv").value();
  CHECK(report.rows_read == 11);
  CHECK(report.rows_imported == 4);
  CHECK(report.rows_rejected == 7);
  REQUIRE(rejected.size() == 7);
  std::vector<std::pair<uint64_t, std::string>> got;
  for (const RejectedRow& r : rejected) got.push_back({r.line, r.ToString()});
  CHECK(got[0] == std::pair<uint64_t, std::string>{
                      6, "shop.csv:6: column \"客户ID\": key \"abc\" is not an integer"});
  CHECK(got[1] == std::pair<uint64_t, std::string>{7, "shop.csv:7: column \"客户ID\": empty key"});
  CHECK(got[2].first == 8);
  CHECK(got[2].second.find("column \"高价值客户\": not a boolean: \"maybe\"") != std::string::npos);
  CHECK(got[3] == std::pair<uint64_t, std::string>{
                      9, "shop.csv:9: expected 6 fields (as in the header), found 3"});
  CHECK(got[4].first == 10);
  CHECK(got[4].second.find("column 13: unexpected character after a closing quote") !=
        std::string::npos);
  CHECK(got[5].first == 11);
  CHECK(got[5].second.find("column \"城市\": invalid UTF-8") != std::string::npos);
  CHECK(got[6].first == 12);
  CHECK(got[6].second.find("is not an integer in the int64 range") != std::string::npos);
  CHECK(rejected[0].raw == "abc,1,0,运动,上海,bad key");
  CHECK(rejected[0].record == 3);
  // Each reject's ErrorInfo kind and subject (tagindex/errors.h).
  std::vector<std::pair<ErrorKind, std::string>> kinds;
  for (const RejectedRow& r : rejected) kinds.push_back({r.kind, r.subject});
  const std::vector<std::pair<ErrorKind, std::string>> want_kinds = {
      {ErrorKind::kBadKey, "abc"},
      {ErrorKind::kBadKey, ""},
      {ErrorKind::kBadValue, "maybe"},
      {ErrorKind::kBadValue, "line 9"},
      {ErrorKind::kBadValue, "line 10"},
      {ErrorKind::kBadValue, "城市"},  // the column: the cell is not UTF-8
      {ErrorKind::kBadKey, "99999999999999999999"}};
  CHECK(kinds == want_kinds);

  std::map<std::string, std::set<std::string>> expected = {
      {"1001", {":高价值客户", "兴趣爱好类:电子产品", "兴趣爱好类:运动", "城市:上海"}},
      {"1002", {":高价值客户", "价值:VIP客户", "兴趣爱好类:运动", "兴趣爱好类:图书", "城市:广州"}},
      {"1003", {":高价值客户", "城市:上海"}},
  };
  CHECK(Contents(*index) == expected);
  CHECK(index->GetCategory("城市").value().exclusive);

  // Importing the same file again changes nothing.
  ImportReport again = ImportCsvString(*index, kShopCsv, ShopMapping(), {}, "shop.csv").value();
  CHECK(again.customers_added == 0);
  CHECK(again.tags_created == 0);
  CHECK(Contents(*index) == expected);
}

TEST_CASE("import: strict stops at the first bad row, naming it", "[import]") {
  // Batches of 1 row with a worker thread: the batches before the bad row
  // are committed (none still in flight) when the error returns.
  for (auto [threads, batch] : {std::pair<unsigned, size_t>{1, 1 << 14}, {2, 1}, {2, 2}}) {
    INFO("threads " << threads << " batch " << batch);
    auto index = Index::Create().value();
    ImportOptions options;
    options.strict = true;
    options.threads = threads;
    options.batch_rows = batch;
    absl::StatusOr<ImportReport> r =
        ImportCsvString(*index, kShopCsv, ShopMapping(), options, "shop.csv");
    REQUIRE(!r.ok());
    CHECK(absl::IsInvalidArgument(r.status()));
    CHECK(std::string(r.status().message()) ==
          "import: shop.csv:6: column \"客户ID\": key \"abc\" is not an integer (strict)");
    std::optional<ErrorInfo> info = GetErrorInfo(r.status());
    REQUIRE(info.has_value());
    CHECK(info->kind == ErrorKind::kBadKey);
    CHECK(info->subject == "abc");
    CHECK(info->path == "shop.csv");
    CHECK(info->detail == "line 6");
    // The rows before it are committed.
    CHECK(index->CustomerCount() == 3);
  }
}

TEST_CASE("import: mapping errors are reported before anything is imported", "[import]") {
  auto index = Index::Create().value();
  ImportMapping m = ShopMapping();
  m.tags.push_back({.column = "没有这列"});
  absl::StatusOr<ImportReport> r = ImportCsvString(*index, kShopCsv, m);
  REQUIRE(!r.ok());
  CHECK(std::string(r.status().message()).find("tag column \"没有这列\" is not in the header") !=
        std::string::npos);
  CHECK(index->CustomerCount() == 0);
  // Every mapping error is bad_value about what is at fault.
  auto kind_of = [](const absl::Status& st) {
    std::optional<ErrorInfo> info = GetErrorInfo(st);
    return info.has_value() ? std::make_pair(info->kind, info->subject)
                            : std::make_pair(ErrorKind::kOther, std::string("(no ErrorInfo)"));
  };
  CHECK(kind_of(r.status()) == std::make_pair(ErrorKind::kBadValue, std::string("没有这列")));

  ImportMapping strings = ShopMapping();
  strings.key_kind = KeyKind::kString;
  r = ImportCsvString(*index, kShopCsv, strings);
  REQUIRE(!r.ok());
  CHECK(std::string(r.status().message()) ==
        "import: the mapping declares string keys but the index has int64 keys");
  CHECK(kind_of(r.status()) == std::make_pair(ErrorKind::kBadValue, std::string("key_kind")));

  ImportMapping twice = ShopMapping();
  twice.multi_tags.push_back({.column = "城市"});
  r = ImportCsvString(*index, kShopCsv, twice);
  REQUIRE(!r.ok());
  CHECK(std::string(r.status().message()).find("mapped more than once") != std::string::npos);
  CHECK(kind_of(r.status()) == std::make_pair(ErrorKind::kBadValue, std::string("城市")));

  r = ImportCsvString(*index, "", ShopMapping());
  REQUIRE(!r.ok());
  CHECK(std::string(r.status().message()).find("empty file") != std::string::npos);
  CHECK(kind_of(r.status()) == std::make_pair(ErrorKind::kBadValue, std::string("<string>")));
  CHECK(GetErrorInfo(r.status())->path == "<string>");
  // A malformed header keeps the reader's ErrorInfo (the byte offset).
  r = ImportCsvString(*index, "a,\"b\"x\n1,2\n", ShopMapping(), {}, "h.csv");
  REQUIRE(!r.ok());
  CHECK(kind_of(r.status()).first == ErrorKind::kBadValue);
  CHECK(GetErrorInfo(r.status())->offset == std::optional<uint64_t>(5));
  ImportOptions zero;
  zero.batch_rows = 0;
  r = ImportCsvString(*index, kShopCsv, ShopMapping(), zero);
  CHECK(kind_of(r.status()) ==
        std::make_pair(ErrorKind::kBadValue, std::string("ImportOptions::batch_rows")));

  ImportOptions replace;
  replace.replace = true;
  ImportMapping no_category = ShopMapping();
  no_category.multi_tags[0].category = "";
  r = ImportCsvString(*index, kShopCsv, no_category, replace);
  REQUIRE(!r.ok());
  CHECK(std::string(r.status().message()).find("replace needs a category") != std::string::npos);
  CHECK(kind_of(r.status()) == std::make_pair(ErrorKind::kBadValue, std::string("兴趣")));
}

TEST_CASE("import: string keys are taken as they are; a tag name over the limit rejects the row",
          "[import]") {
  IndexOptions o;
  o.key_kind = KeyKind::kString;
  auto index = Index::Create(o).value();
  ImportMapping m;
  m.key_column = "手机号";
  m.key_kind = KeyKind::kString;
  m.multi_tags = {{.column = "标签", .separator = "|"}};
  std::string long_name(70, 'x');
  std::string csv =
      "手机号,标签\n13800000000,高价值客户|电子产品\n C1004 ,运动\n13900000000," + long_name + "\n";
  std::vector<RejectedRow> rejected;
  ImportOptions options;
  options.on_reject = [&](const RejectedRow& r) { rejected.push_back(r); };
  ImportReport r = ImportCsvString(*index, csv, m, options, "p.csv").value();
  CHECK(r.rows_imported == 2);
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0].line == 4);
  CHECK(rejected[0].column == "标签");
  CHECK(rejected[0].reason.find("64") != std::string::npos);  // the code point limit
  CHECK(rejected[0].kind == ErrorKind::kBadName);
  CHECK(rejected[0].subject == long_name);
  std::map<std::string, std::set<std::string>> expected = {
      {"13800000000", {":高价值客户", ":电子产品"}}, {" C1004 ", {":运动"}}};
  CHECK(Contents(*index) == expected);
}

// Random files with duplicate keys and random bad rows against a naive
// model, in merge and replace mode, over several batch sizes.
// Row id -> (key, tags): the whole index as the importer left it, row ids
// included (what must not depend on the thread count).
std::map<RowId, std::pair<std::string, std::set<std::string>>> RowContents(const Index& index) {
  std::map<RowId, std::pair<std::string, std::set<std::string>>> out;
  const std::vector<RowId> live_rows = index.LiveRows().value();
  for (RowId row : live_rows) {
    CustomerKey key = index.KeyOf(row).value();
    auto& [k, tags] = out[row];
    k = std::holds_alternative<int64_t>(key) ? std::to_string(std::get<int64_t>(key))
                                             : std::get<std::string>(key);
    const std::vector<TagId> held = index.TagsOfRow(row).value();
    for (TagId t : held) {
      TagInfo info = index.GetTag(t).value();
      tags.insert(info.category + ":" + info.name + "#" + std::to_string(t.value));
    }
  }
  return out;
}

TEST_CASE("import: random files agree with a naive model", "[import]") {
  for (bool replace : {false, true}) {
    for (size_t batch : {size_t{1}, size_t{7}, size_t{1000}}) {
      // One thread, then two (a worker commits while the next batch is
      // read): the same index, row ids and tag ids included.
      std::optional<std::map<RowId, std::pair<std::string, std::set<std::string>>>> first_rows;
      for (unsigned threads : {1u, 2u}) {
        const uint64_t seed = 1500 + batch + (replace ? 1 : 0);
        INFO("seed " << seed << " replace " << replace << " batch " << batch << " threads "
                     << threads);
        std::mt19937_64 rng(seed);
        auto index = Index::Create().value();
        ImportMapping m;
        m.key_column = "id";
        m.key_kind = KeyKind::kInt64;
        m.tags = {{.column = "a"}, {.column = "b", .category = "B"}};
        m.multi_tags = {{.column = "m", .separator = ";", .category = "兴趣"}};
        m.categories = {{.column = "c", .category = "等级"}};
        const std::vector<std::string> interests = {"运动", "电子", "图书", "美妆"};
        const std::vector<std::string> levels = {"金", "银", "铜"};
        std::map<std::string, std::set<std::string>> model;
        std::string csv = "id,a,b,m,c,extra\n";
        uint64_t good = 0, bad = 0;
        std::set<uint64_t> bad_lines;
        for (int line = 2; line < 400; ++line) {
          int64_t key = static_cast<int64_t>(rng() % 60);
          bool a = rng() % 2, b = rng() % 3 == 0;
          std::vector<std::string> listed;
          std::string mcell;
          for (const std::string& i : interests) {
            if (rng() % 3 == 0) {
              listed.push_back(i);
              mcell += (mcell.empty() ? "" : ";") + i;
            }
          }
          std::string level = rng() % 4 == 0 ? "" : levels[rng() % levels.size()];
          int fault = rng() % 10 == 0 ? static_cast<int>(rng() % 3) + 1 : 0;
          std::string keycell = std::to_string(key);
          std::string acell = a ? "1" : "0";
          if (fault == 1) keycell = "k" + keycell;
          if (fault == 2) acell = "2";
          std::string row =
              keycell + "," + acell + "," + (b ? "yes" : "") + ",\"" + mcell + "\"," + level + ",x";
          if (fault == 3) row += ",too many";
          csv += row + "\n";
          if (fault) {
            ++bad;
            bad_lines.insert(line);
            continue;
          }
          ++good;
          auto& tags = model[std::to_string(key)];
          if (replace) {
            std::erase_if(tags, [](const std::string& t) {
              return t == ":a" || t == "B:b" || t.rfind("兴趣:", 0) == 0 ||
                     (t.rfind("等级:", 0) == 0);
            });
            // An empty category cell clears under replace; re-add what the row says.
          }
          if (a) tags.insert(":a");
          if (b) tags.insert("B:b");
          for (const std::string& i : listed) tags.insert("兴趣:" + i);
          if (!level.empty()) {
            std::erase_if(tags, [](const std::string& t) { return t.rfind("等级:", 0) == 0; });
            tags.insert("等级:" + level);
          }
        }
        ImportOptions options;
        options.replace = replace;
        options.batch_rows = batch;
        options.threads = threads;
        std::set<uint64_t> rejected_lines;
        options.on_reject = [&](const RejectedRow& r) { rejected_lines.insert(r.line); };
        ImportReport report = ImportCsvString(*index, csv, m, options).value();
        CHECK(report.rows_imported == good);
        CHECK(report.rows_rejected == bad);
        CHECK(rejected_lines == bad_lines);
        // Customers with no tags are still customers: compare those too.
        auto contents = Contents(*index);
        CHECK(contents == model);
        if (!first_rows) {
          first_rows = RowContents(*index);
        } else {
          CHECK(RowContents(*index) == *first_rows);
        }
        // Idempotent: the same file again gives the same index.
        ImportReport again = ImportCsvString(*index, csv, m, options).value();
        CHECK(again.customers_added == 0);
        CHECK(Contents(*index) == model);
      }
    }
  }
}

// Attribute columns against a naive model: key -> value per column, with
// the last row of a key winning, empty cells (no change under merge, NULL
// under replace) and bad cells (too many decimals, not a number, a bad date)
// rejecting their row.
TEST_CASE("import: attribute columns agree with a naive model", "[import]") {
  for (bool replace : {false, true}) {
    for (size_t batch : {size_t{1}, size_t{5}, size_t{1000}}) {
      for (unsigned threads : {1u, 2u}) {
        const uint64_t seed = 2600 + batch + (replace ? 1 : 0);
        INFO("seed " << seed << " replace " << replace << " batch " << batch << " threads "
                     << threads);
        std::mt19937_64 rng(seed);
        auto index = Index::Create().value();
        // 订单数 exists already; 消费金额 and 最近购买 are created by the import.
        REQUIRE(index->CreateAttribute({.name = "订单数"}).ok());
        ImportMapping m;
        m.key_column = "id";
        m.key_kind = KeyKind::kInt64;
        m.tags = {{.column = "vip"}};
        m.attributes = {{.column = "spend",
                         .attribute = "消费金额",
                         .type = AttributeType::kDecimal,
                         .scale = 2},
                        {.column = "last", .attribute = "最近购买", .type = AttributeType::kDate},
                        {.column = "订单数", .declared = false}};
        // model[key][column] = storage value (cents, days, count); absent = NULL.
        std::map<int64_t, std::map<int, int64_t>> model;
        std::set<int64_t> customers;
        std::string csv = "id,vip,spend,last,订单数\n";
        std::set<uint64_t> bad_lines;
        for (int line = 2; line < 300; ++line) {
          const int64_t key = static_cast<int64_t>(rng() % 40);
          const int64_t cents = static_cast<int64_t>(rng() % 200000) - 1000;
          const int64_t day = 20000 + static_cast<int64_t>(rng() % 400);
          const int64_t orders = static_cast<int64_t>(rng() % 9);
          const bool has[3] = {rng() % 4 != 0, rng() % 4 != 0, rng() % 4 != 0};
          const int fault = rng() % 12 == 0 ? static_cast<int>(rng() % 3) + 1 : 0;
          auto money = [](int64_t c) {
            const int64_t a = c < 0 ? -c : c;
            std::string frac = std::to_string(a % 100);
            if (frac.size() < 2) frac = "0" + frac;
            return (c < 0 ? "-" : "") + std::to_string(a / 100) + "." + frac;
          };
          std::string cells[3] = {has[0] ? money(cents) : "",
                                  has[1] ? FormatIsoDateForTest(day) : "",
                                  has[2] ? std::to_string(orders) : ""};
          if (fault == 1) cells[0] = "12.345";
          if (fault == 2) cells[1] = "2026-13-01";
          if (fault == 3) cells[2] = "七";
          csv += std::to_string(key) + ",1," + cells[0] + "," + cells[1] + "," + cells[2] + "\n";
          if (fault) {
            bad_lines.insert(line);
            continue;
          }
          customers.insert(key);
          auto& values = model[key];
          const int64_t stored[3] = {cents, day, orders};
          for (int c = 0; c < 3; ++c) {
            if (has[c]) {
              values[c] = stored[c];
            } else if (replace) {
              values.erase(c);
            }
          }
        }
        ImportOptions options;
        options.replace = replace;
        options.batch_rows = batch;
        options.threads = threads;
        std::set<uint64_t> rejected_lines;
        std::vector<std::string> columns;
        options.on_reject = [&](const RejectedRow& r) {
          rejected_lines.insert(r.line);
          columns.push_back(r.column);
        };
        ImportReport report = ImportCsvString(*index, csv, m, options).value();
        CHECK(rejected_lines == bad_lines);
        for (const std::string& c : columns) CHECK((c == "spend" || c == "last" || c == "订单数"));
        const char* names[3] = {"消费金额", "最近购买", "订单数"};
        CHECK(index->GetAttribute("消费金额")->type == AttributeType::kDecimal);
        CHECK(index->GetAttribute("最近购买")->type == AttributeType::kDate);
        for (int64_t key : customers) {
          const RowId row = index->FindCustomer(key).value();
          for (int c = 0; c < 3; ++c) {
            INFO("key " << key << " column " << names[c]);
            std::optional<int64_t> got = index->GetAttributeValue(names[c], row).value();
            auto it = model[key].find(c);
            if (it == model[key].end()) {
              CHECK_FALSE(got.has_value());
            } else {
              CHECK(got == std::optional<int64_t>(it->second));
            }
          }
        }
        // Idempotent.
        REQUIRE(ImportCsvString(*index, csv, m, options).ok());
        for (int64_t key : customers) {
          const RowId row = index->FindCustomer(key).value();
          auto it = model[key].find(0);
          CHECK(index->GetAttributeValue("消费金额", row).value() ==
                (it == model[key].end() ? std::nullopt : std::optional<int64_t>(it->second)));
        }
      }
    }
  }
}

TEST_CASE("import: attribute mapping errors come before anything is imported", "[import]") {
  auto index = Index::Create().value();
  REQUIRE(index->CreateAttribute({.name = "消费金额", .type = AttributeType::kDecimal, .scale = 2})
              .ok());
  const std::string csv = "id,消费金额\n1,12.50\n";
  ImportMapping m;
  m.key_column = "id";
  m.attributes = {{.column = "消费金额", .type = AttributeType::kDecimal, .scale = 3}};
  absl::StatusOr<ImportReport> r = ImportCsvString(*index, csv, m);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() ==
        "import: attribute column \"消费金额\" is declared decimal(3) but attribute \"消费金额\" "
        "exists as decimal(2)");
  CHECK(index->CustomerCount() == 0);
  m.attributes = {{.column = "缺失"}};
  CHECK(ImportCsvString(*index, csv, m)
            .status()
            .message()
            .find("attribute column \"缺失\" is not in the header") != std::string_view::npos);
  m.attributes = {{.column = "消费金额", .declared = false}};
  ImportReport ok = ImportCsvString(*index, csv, m).value();
  CHECK(ok.attribute_values == 1);
  CHECK(index->GetAttributeValue("消费金额", index->FindCustomer(int64_t{1}).value()).value() ==
        1250);
}

TEST_CASE("import: identity keys must be row ids", "[import]") {
  IndexOptions o;
  o.key_kind = KeyKind::kIdentity;
  auto index = Index::Create(o).value();
  ImportMapping m;
  m.key_column = "row";
  m.key_kind = KeyKind::kIdentity;
  m.tags = {{.column = "t"}};
  std::vector<RejectedRow> rejected;
  ImportOptions options;
  options.on_reject = [&](const RejectedRow& r) { rejected.push_back(r); };
  ImportReport r = ImportCsvString(*index, "row,t\n5,1\n-1,1\n4294967295,1\n", m, options).value();
  CHECK(r.rows_imported == 1);
  REQUIRE(rejected.size() == 2);
  CHECK(rejected[0].reason.find("outside [0, 4294967294]") != std::string::npos);
  CHECK(index->HasTagRow(index->FindTag("t").value(), 5).value());
}

TEST_CASE("import: booleans", "[import]") {
  bool ok = false;
  for (const char* t : {"1", "true", "TRUE", "Yes", "y", "t", "是", "✓"}) {
    CHECK(ParseImportBool(t, &ok));
    CHECK(ok);
  }
  for (const char* f : {"0", "false", "No", "n", "F", "否", "", " "}) {
    CHECK(!ParseImportBool(f, &ok));
    CHECK(ok);
  }
  for (const char* bad : {"2", "maybe", "truthy", "-1"}) {
    ParseImportBool(bad, &ok);
    CHECK(!ok);
  }
}

TEST_CASE("demo: the shop is deterministic and its queries run", "[import][demo]") {
  auto a = Index::Create().value();
  auto b = Index::Create().value();
  DemoReport ra = BuildDemoShop(*a, {.customers = 20000}).value();
  BuildDemoShop(*b, {.customers = 20000}).value();
  CHECK(ra.customers == 20000);
  CHECK(a->CustomerCount() == 20000);
  for (const DemoQuery& q : DemoQueries()) {
    INFO(q.text);
    uint64_t n = a->Count(q.text).value();
    CHECK(n == b->Count(q.text).value());
    CHECK(n > 0);
    CHECK(n < 20000);
  }
  // 新客户 are the latest 8 % of signups: one run at the end.
  std::vector<RowId> fresh = a->RowsWithTag(a->FindTag("新客户").value()).value();
  REQUIRE(fresh.size() == 1600);
  CHECK(fresh.front() == 20000 - 1600);
  CHECK(fresh.back() == 19999);
  // Exclusive categories cover everyone exactly once.
  CHECK(a->Count("性别 IS NOT NULL").value() == 20000);
  CHECK(a->Count("会员等级 IS NULL").value() == 0);
  // Correlations the demo promises.
  double beauty_f =
      double(a->Count("美妆护肤 AND 性别 = 女").value()) / a->Count("性别 = 女").value();
  double beauty_m =
      double(a->Count("美妆护肤 AND 性别 = 男").value()) / a->Count("性别 = 男").value();
  CHECK(beauty_f > 3 * beauty_m);
  double hv_freq =
      double(a->Count("高价值客户 AND 高频购买者").value()) / a->Count("高频购买者").value();
  double hv_all = double(a->Count("高价值客户").value()) / 20000;
  CHECK(hv_freq > 2 * hv_all);
  // Not on a non-empty index.
  CHECK(absl::IsFailedPrecondition(BuildDemoShop(*a, {.customers = 10}).status()));
}

}  // namespace
}  // namespace tagindex
