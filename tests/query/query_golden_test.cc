// Golden tables for the lexer, parser and normaliser, a table of bad inputs
// with their errors and locations, and the Segment / Explain / CompiledQuery
// API.
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "query/lexer.h"
#include "query/parser.h"
#include "tagindex/tagindex.h"

using tagindex::CompiledQuery;
using tagindex::Index;
using tagindex::QueryOptions;
using tagindex::RowId;
using tagindex::Segment;
using tagindex::TagId;
using Code = absl::StatusCode;

namespace {

std::string Tokens(std::string_view text) {
  auto tokens = tagindex::query::Lex(text, QueryOptions{});
  if (!tokens.ok()) return "error: " + std::string(tokens.status().message());
  return tagindex::query::DebugString(*tokens);
}

std::string Ast(std::string_view text) {
  auto ast = tagindex::query::ParseQuery(text, QueryOptions{});
  if (!ast.ok()) return "error: " + std::string(ast.status().message());
  return tagindex::query::DebugString(**ast);
}

// A small CRM index: customers 0..99 (identity keys).
//   高价值客户 0..29   电子产品 20..59   流失风险 25..34   VIP-2024 even rows
//   "AND" 90..99       非会员 50..99      Month-to-month 0..9
//   兴趣:运动 0..49   兴趣:户外 40..79   爱好:运动 60..69 (so bare 运动 is ambiguous)
//   购买频率 (exclusive): 高频 0..19, 中频 20..39, 低频 40..49; 50..99 have none
//   空标签: nobody
std::unique_ptr<Index> MakeIndex() {
  auto index = Index::Create({.key_kind = tagindex::KeyKind::kIdentity}).value();
  std::vector<int64_t> all(100);
  for (int i = 0; i < 100; ++i) all[i] = i;
  REQUIRE(index->AddCustomers(all).ok());
  REQUIRE(index->CreateCategory("购买频率", {.exclusive = true}).ok());
  auto tag = [&](const std::string& category, const std::string& name, int lo, int hi,
                 int step = 1) {
    TagId t = index->CreateTag({.name = name, .category = category}).value();
    std::vector<RowId> rows;
    for (int r = lo; r < hi; r += step) rows.push_back(static_cast<RowId>(r));
    REQUIRE(index->TagRows(t, rows).ok());
  };
  tag("", "高价值客户", 0, 30);
  tag("", "电子产品", 20, 60);
  tag("", "流失风险", 25, 35);
  tag("", "VIP-2024", 0, 100, 2);
  tag("", "AND", 90, 100);
  tag("", "非会员", 50, 100);
  tag("", "Month-to-month", 0, 10);
  tag("兴趣", "运动", 0, 50);
  tag("兴趣", "户外", 40, 80);
  tag("爱好", "运动", 60, 70);
  tag("购买频率", "高频", 0, 20);
  tag("购买频率", "中频", 20, 40);
  tag("购买频率", "低频", 40, 50);
  tag("", "空标签", 0, 0);
  return index;
}

std::string Normal(const Index& index, std::string_view text,
                   const QueryOptions& options = QueryOptions{}) {
  auto q = index.Compile(text, options);
  if (!q.ok()) return "error: " + std::string(q.status().message());
  return q->DebugString();
}

}  // namespace

TEST_CASE("lexer: tokens of every keyword form, quoting and Chinese names", "[query]") {
  struct Case {
    const char* text;
    const char* tokens;
  };
  const Case cases[] = {
      {"高价值客户 AND 电子产品 AND NOT 流失风险",
       "NAME(高价值客户) AND NAME(电子产品) AND NOT NAME(流失风险) END"},
      {"a & b | c ^ !d", "NAME(a) AND NAME(b) OR NAME(c) XOR NOT NAME(d) END"},
      {"a && b || c", "NAME(a) AND NAME(b) OR NAME(c) END"},
      {"高价值客户 且 电子产品 或 非 流失风险",
       "NAME(高价值客户) AND NAME(电子产品) OR NOT NAME(流失风险) END"},
      {"and Or xOr nOt all NONE", "AND OR XOR NOT ALL NONE END"},
      {"非会员 且非 ANDROID", "NAME(非会员) NAME(且非) NAME(ANDROID) END"},
      {"\"AND\" 「高 价值」 \"a \\\"b\\\" \\\\\"",
       "QUOTED(AND) QUOTED(高 价值) QUOTED(a \"b\" \\) END"},
      {"兴趣:运动 \"兴趣\":「户外」", "NAME(兴趣) : NAME(运动) QUOTED(兴趣) : QUOTED(户外) END"},
      {"VIP-2024 Month-to-month a_b.c/d+e#f",
       "NAME(VIP-2024) NAME(Month-to-month) NAME(a_b.c/d+e#f) END"},
      {"x>=1 y<=2 z<3 w>4 v=5 u!=6 t<>7",
       "NAME(x) >= NAME(1) NAME(y) <= NAME(2) NAME(z) < NAME(3) "
       "NAME(w) > NAME(4) NAME(v) = NAME(5) NAME(u) != NAME(6) "
       "NAME(t) != NAME(7) END"},
      {"城市 IN (杭州,上海)", "NAME(城市) NAME(IN) ( NAME(杭州) , NAME(上海) ) END"},
      {"\u3000a\u00a0\tb\n", "NAME(a) NAME(b) END"},
      {"", "END"},
  };
  for (const Case& c : cases) {
    INFO("query: " << c.text);
    CHECK(Tokens(c.text) == c.tokens);
  }
}

TEST_CASE("parser: AST golden table with precedence and predicates", "[query]") {
  struct Case {
    const char* text;
    const char* ast;
  };
  const Case cases[] = {
      {"高价值客户 AND 电子产品 AND NOT 流失风险", "(AND 高价值客户 电子产品 (NOT 流失风险))"},
      // NOT > AND > XOR > OR
      {"a OR b AND c", "(OR a (AND b c))"},
      {"a AND b OR c", "(OR (AND a b) c)"},
      {"a XOR b AND c OR d", "(OR (XOR a (AND b c)) d)"},
      {"a OR b XOR c", "(OR a (XOR b c))"},
      {"NOT a AND b", "(AND (NOT a) b)"},
      {"NOT (a AND b)", "(NOT (AND a b))"},
      {"!!a", "(NOT (NOT a))"},
      {"(a OR b) AND c", "(AND (OR a b) c)"},
      {"a AND (b AND c)", "(AND a (AND b c))"},
      {"((a))", "a"},
      {"高价值客户 且 电子产品 或 非 流失风险", "(OR (AND 高价值客户 电子产品) (NOT 流失风险))"},
      {"非会员 且 VIP", "(AND 非会员 VIP)"},
      {"\"AND\" OR 「OR」", "(OR \"AND\" \"OR\")"},
      {"兴趣:运动 OR \"兴 趣\":户外", "(OR 兴趣:运动 \"兴 趣\":户外)"},
      {"ALL AND NOT NONE", "(AND ALL (NOT NONE))"},
      {"购买频率 = 高频", "(= 购买频率 高频)"},
      {"购买频率 != 高频", "(!= 购买频率 高频)"},
      {"购买频率 IN (高频, 中频)", "(IN 购买频率 高频 中频)"},
      {"购买频率 not in (高频)", "(NOT-IN 购买频率 高频)"},
      {"消费金额 >= 1000", "(>= 消费金额 1000)"},
      {"消费金额 < 12.50", "(< 消费金额 decimal:12.50)"},
      {"年龄 BETWEEN 18 AND 35", "(BETWEEN 年龄 18 35)"},
      {"年龄 NOT BETWEEN -1 AND 3 AND a", "(AND (NOT-BETWEEN 年龄 -1 3) a)"},
      {"最近购买 < 2026-08-01", "(< 最近购买 date:2026-08-01)"},
      {"最近购买 < 2026-02-30", "(< 最近购买 2026-02-30)"},
      {"x IS NULL OR y is not null", "(OR (IS-NULL x) (IS-NOT-NULL y))"},
      {"in AND null AND is", "(AND in null is)"},
      {"2024 AND \"2024\"", "(AND 2024 2024)"},
  };
  for (const Case& c : cases) {
    INFO("query: " << c.text);
    CHECK(Ast(c.text) == c.ast);
  }
}

TEST_CASE("normaliser: normal forms golden table", "[query]") {
  auto index = MakeIndex();
  struct Case {
    const char* text;
    const char* normal;
  };
  const Case cases[] = {
      {"高价值客户 AND 电子产品 AND NOT 流失风险", "(AND 高价值客户 电子产品 (NOT 流失风险))"},
      {"(高价值客户 AND 电子产品) AND (VIP-2024 AND 非会员)",
       "(AND 高价值客户 电子产品 VIP-2024 非会员)"},
      {"高价值客户 OR (电子产品 OR 流失风险)", "(OR 高价值客户 电子产品 流失风险)"},
      {"NOT NOT 高价值客户", "高价值客户"},
      {"非 非 非 高价值客户", "(NOT 高价值客户)"},
      {"高价值客户 AND NONE", "NONE"},
      {"高价值客户 OR ALL", "ALL"},
      {"高价值客户 AND ALL", "高价值客户"},
      {"高价值客户 AND NOT 高价值客户", "NONE"},
      {"高价值客户 OR NOT 高价值客户", "ALL"},
      {"高价值客户 AND 高价值客户 AND 电子产品", "(AND 高价值客户 电子产品)"},
      {"高价值客户 XOR 高价值客户", "NONE"},
      {"高价值客户 XOR 电子产品 XOR 高价值客户", "电子产品"},
      {"高价值客户 XOR ALL", "(NOT 高价值客户)"},
      {"NOT ALL OR 电子产品", "电子产品"},
      {"\"AND\" AND 「非会员」", "(AND \"AND\" 非会员)"},
      {"兴趣:运动 OR 爱好:运动", "(OR 兴趣:运动 爱好:运动)"},
      {"购买频率 = 高频", "购买频率:高频"},
      {"购买频率 != 高频", "(OR 购买频率:中频 购买频率:低频)"},
      {"购买频率 IN (高频, 中频, 高频)", "(OR 购买频率:高频 购买频率:中频)"},
      {"购买频率 NOT IN (高频, 中频)", "购买频率:低频"},
      {"购买频率 IS NULL", "(NOT (OR 购买频率:高频 购买频率:中频 购买频率:低频))"},
      {"兴趣 != 运动", "(AND 兴趣:户外 (NOT 兴趣:运动))"},
  };
  for (const Case& c : cases) {
    INFO("query: " << c.text);
    CHECK(Normal(*index, c.text) == c.normal);
  }
  SECTION("rules can be switched off") {
    QueryOptions off;
    off.rewrites = {.flatten = false,
                    .remove_double_negation = false,
                    .fold_constants = false,
                    .remove_duplicates = false};
    CHECK(Normal(*index, "NOT NOT 高价值客户 AND NONE", off) ==
          "(AND (NOT (NOT 高价值客户)) NONE)");
    CHECK(Normal(*index, "(高价值客户 OR 电子产品) OR 高价值客户", off) ==
          "(OR (OR 高价值客户 电子产品) 高价值客户)");
  }
}

TEST_CASE("errors: bad inputs give code, location and message", "[query]") {
  auto index = MakeIndex();
  struct Case {
    std::string text;
    Code code;
    size_t offset;
    size_t line;
    size_t column;
    const char* message;  // must appear in the status message
  };
  const std::vector<Case> cases = {
      {"", Code::kInvalidArgument, 0, 1, 1, "empty query"},
      {"   ", Code::kInvalidArgument, 3, 1, 4, "empty query"},
      {"高价值客户 AND", Code::kInvalidArgument, 19, 1, 10,
       "expected an operand after \"AND\", found end of query"},
      {"(高价值客户", Code::kInvalidArgument, 16, 1, 7, "missing \")\" to close \"(\" at column 1"},
      {"高价值客户)", Code::kInvalidArgument, 15, 1, 6, "unmatched \")\""},
      {"高价值客户 电子产品", Code::kInvalidArgument, 16, 1, 7,
       "did you mean \"高价值客户 AND 电子产品\"?"},
      {"a AND\n  \"abc", Code::kInvalidArgument, 8, 2, 3, "unterminated quoted name"},
      {"「abc", Code::kInvalidArgument, 0, 1, 1, "unterminated quoted name"},
      {"abc」", Code::kInvalidArgument, 3, 1, 4, "」 without an opening 「"},
      {std::string("a AND \xff"), Code::kInvalidArgument, 6, 1, 7, "invalid UTF-8"},
      {std::string("a AND b\0c", 9), Code::kInvalidArgument, 7, 1, 8,
       "unexpected control character U+0000"},
      {"a AND OR b", Code::kInvalidArgument, 6, 1, 7, "expected an operand after \"AND\""},
      {"a:", Code::kInvalidArgument, 2, 1, 3, "expected a tag name after \"a:\""},
      {"x IN (a b)", Code::kInvalidArgument, 8, 1, 9, "expected \",\" or \")\" in the IN list"},
      {"x BETWEEN 1 OR 2", Code::kInvalidArgument, 12, 1, 13, "expected AND in BETWEEN"},
      {"x IS NOT 3", Code::kInvalidArgument, 9, 1, 10, "expected NULL after IS NOT"},
      {"x = AND", Code::kInvalidArgument, 4, 1, 5, "expected a value"},
      {"高价值", Code::kNotFound, 0, 1, 1, "unknown tag \"高价值\""},
      {"vip-2024", Code::kNotFound, 0, 1, 1, "did you mean \"VIP-2024\"?"},
      {"高价值客户且电子产品", Code::kNotFound, 0, 1, 1,
       "did you mean \"高价值客户 且 电子产品\" (keywords need spaces around them)?"},
      {"高价值客户 AND 运动", Code::kInvalidArgument, 20, 1, 11,
       "is in several categories; qualify it as one of 兴趣:运动, 爱好:运动"},
      {"兴趣:游泳", Code::kNotFound, 0, 1, 1, "unknown tag \"游泳\" in category \"兴趣\""},
      {"不存在:游泳", Code::kNotFound, 0, 1, 1, "unknown category \"不存在\""},
      {"购买频率 = 超高频", Code::kNotFound, 15, 1, 8, "did you mean \"高频\"?"},
      {"高价值客户 AND 消费金额 >= 1000", Code::kNotFound, 20, 1, 11,
       "unknown attribute \"消费金额\""},
      {"年龄 BETWEEN 18 AND 35", Code::kNotFound, 0, 1, 1, "unknown attribute \"年龄\""},
      {"最近购买 < 2026-08-01", Code::kNotFound, 0, 1, 1, "unknown attribute \"最近购买\""},
      {"城市 IN (杭州, 上海)", Code::kNotFound, 0, 1, 1, "unknown attribute \"城市\""},
      {"x IS NOT NULL", Code::kNotFound, 0, 1, 1, "unknown attribute \"x\""},
      {"购买频率 >= 高频", Code::kInvalidArgument, 0, 1, 1,
       "category \"购买频率\" supports =, !=, IN and IS NULL, not >="},
      // Habits from Chinese input methods and SQL (habits.h).
      {"高价值客户，电子产品", Code::kNotFound, 0, 1, 1,
       "full-width \"，\" (U+FF0C, from a Chinese input method): write \",\""},
      {"高价值客户 ＡＮＤ 电子产品", Code::kInvalidArgument, 16, 1, 7,
       "hint: column 7: \"ＡＮＤ\" is in full-width letters (a Chinese input method's full-width "
       "mode); write AND"},
      {"购买频率 IN （高频, 中频）", Code::kInvalidArgument, 13, 1, 6,
       "hint: column 9: full-width \"（\" (U+FF08, from a Chinese input method): write \"(\""},
      {"购买频率 ＝ 高频", Code::kInvalidArgument, 13, 1, 6, "write \"=\""},
      {"购买频率 = '高频'", Code::kNotFound, 15, 1, 8,
       "single quotes do not quote names here (an SQL habit): write the name bare, or in "
       "\"…\" or 「…」 when it has spaces or operator characters; did you mean \"高频\"?"},
      {"“高价值客户” AND 电子产品", Code::kNotFound, 0, 1, 1,
       "typographic quote \"“\" (U+201C): quote names with straight \"…\" or 「…」; did you mean "
       "\"高价值客户\"?"},
      {"购买频率 == 高频", Code::kInvalidArgument, 13, 1, 6,
       "\"==\" is not an operator (an SQL/C habit): equality is a single \"=\""},
      {"购买频率 LIKE '高%'", Code::kInvalidArgument, 13, 1, 6,
       "hint: column 6: LIKE is SQL: tagindex has no pattern matching; list the values with IN"},
      {"SELECT 高价值客户", Code::kInvalidArgument, 7, 1, 8,
       "SELECT is SQL: write only the condition"},
      {"购买平率:高频", Code::kNotFound, 0, 1, 1,
       "unknown category \"购买平率\"; did you mean \"购买频率\"?"},
      // Every unknown name is reported, the first with the caret.
      {"vip-2024 AND 高价值 OR 不存在:游泳 OR 购买频率 IN (超高频, 低频, 无频)", Code::kNotFound, 0,
       1, 1,
       "unknown tag \"vip-2024\"; did you mean \"VIP-2024\"?; also unknown: \"高价值\" "
       "(column 14), \"不存在\" (column 21), \"超高频\" (column 40), \"无频\" (column 49)"},
  };
  for (const Case& c : cases) {
    INFO("query: " << c.text);
    absl::StatusOr<uint64_t> r = index->Count(c.text);
    REQUIRE_FALSE(r.ok());
    INFO("status: " << r.status());
    CHECK(r.status().code() == c.code);
    CHECK(r.status().message().find(c.message) != std::string_view::npos);
    std::optional<tagindex::QueryErrorLocation> loc = tagindex::GetQueryErrorLocation(r.status());
    REQUIRE(loc.has_value());
    CHECK(loc->offset == c.offset);
    CHECK(loc->line == c.line);
    CHECK(loc->column == c.column);
  }
}

TEST_CASE("errors: snippet puts the caret under the problem, CJK counting two cells", "[query]") {
  auto index = MakeIndex();
  absl::Status s = index->Count("高价值客户 AND").status();
  auto loc = tagindex::GetQueryErrorLocation(s);
  REQUIRE(loc);
  CHECK(loc->snippet ==
        "  高价值客户 AND\n"
        "                ^");  // 2 + 5 * 2 + 4 cells
  CHECK(std::string(s.message()).rfind("query: line 1, column 10: ", 0) == 0);
}

TEST_CASE("errors: unknown-tag suggestions are a payload, unknown names may be empty", "[query]") {
  auto index = MakeIndex();
  absl::Status s = index->Count("vip-2024 AND 高价值客户").status();
  CHECK(s.code() == Code::kNotFound);
  CHECK(tagindex::GetUnknownTagSuggestions(s) == std::vector<std::string>{"VIP-2024"});
  CHECK(tagindex::GetUnknownTagSuggestions(absl::OkStatus()).empty());
  CHECK_FALSE(tagindex::GetQueryErrorLocation(absl::NotFoundError("x")).has_value());
  QueryOptions lenient;
  lenient.unknown_tags_are_empty = true;
  CHECK(index->Count("不存在 OR 高价值客户", lenient).value() == 30);
  CHECK(index->Count("NOT 不存在", lenient).value() == 100);
}

TEST_CASE("limits: length, depth and operand count are ResourceExhausted", "[query]") {
  auto index = MakeIndex();
  QueryOptions small;
  small.max_query_bytes = 10;
  CHECK(index->Count("高价值客户 AND 电子产品", small).status().code() == Code::kResourceExhausted);
  CHECK(index->Count(std::string(1 << 20, '(')).status().code() == Code::kResourceExhausted);
  QueryOptions deep;
  deep.max_query_bytes = 4 << 20;
  CHECK(index->Count(std::string(1 << 20, '('), deep).status().code() == Code::kResourceExhausted);
  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "! ";
  nots += "高价值客户";
  CHECK(index->Count(nots, deep).status().code() == Code::kResourceExhausted);
  std::string nested = std::string(64, '(') + "高价值客户" + std::string(64, ')');
  CHECK(index->Count(nested).value() == 30);
  // The depth option cannot lift the hard cap that protects the stack.
  QueryOptions unbounded;
  unbounded.max_depth = 1u << 30;
  std::string deeper = std::string(300, '(') + "高价值客户" + std::string(300, ')');
  auto capped = index->Count(deeper, unbounded);
  CHECK(capped.status().code() == Code::kResourceExhausted);
  CHECK(capped.status().message().find("deeper than 256") != std::string_view::npos);
  std::string wide = "高价值客户";
  for (int i = 0; i < 5000; ++i) wide += " OR VIP-2024";
  auto r = index->Count(wide);
  CHECK(r.status().code() == Code::kResourceExhausted);
  CHECK(r.status().message().find("max_operands") != std::string_view::npos);
  QueryOptions many;
  many.max_operands = 100000;
  CHECK(index->Count(wide, many).value() == 65);
  // Garbage of every byte value neither crashes nor passes.
  std::string junk;
  for (int i = 0; i < 256; ++i) junk.push_back(static_cast<char>(i));
  CHECK_FALSE(index->Count(junk).ok());
}

TEST_CASE("query: results of the example queries", "[query]") {
  auto index = MakeIndex();
  auto rows = [&](std::string_view q) { return index->Query(q).value().Rows().value(); };
  CHECK(rows("高价值客户 AND 电子产品 AND NOT 流失风险") == std::vector<RowId>{20, 21, 22, 23, 24});
  CHECK(rows("高价值客户 且 电子产品 且 非 流失风险") == std::vector<RowId>{20, 21, 22, 23, 24});
  CHECK(index->Count("购买频率 = 高频").value() == 20);
  CHECK(index->Count("购买频率 != 高频").value() == 30);
  CHECK(index->Count("购买频率 IN (高频, 中频)").value() == 40);
  CHECK(index->Count("购买频率 IS NULL").value() == 50);
  CHECK(index->Count("购买频率 IS NOT NULL").value() == 50);
  CHECK(index->Count("\"AND\"").value() == 10);
  CHECK(index->Count("空标签 OR NONE").value() == 0);
  CHECK(index->Count("ALL").value() == 100);
  CHECK(index->Count("NOT 高价值客户").value() == 70);
  // NOT is relative to live customers.
  REQUIRE(index->RemoveRow(99).ok());
  CHECK(index->Count("NOT 高价值客户").value() == 69);
  CHECK(index->Query("NOT 高价值客户").value().Count() == 69);
  CHECK_FALSE(index->Query("NOT 高价值客户").value().Contains(99));
}

TEST_CASE("segment: pages, cursor, keys, set operations, portable export", "[query]") {
  auto index = MakeIndex();
  Segment s = index->Query("VIP-2024").value();  // even rows
  CHECK(s.Count() == 50);
  CHECK(s.Contains(10));
  CHECK_FALSE(s.Contains(11));
  CHECK(s.Page(0, 3).value() == std::vector<RowId>{0, 2, 4});
  CHECK(s.Page(48, 10).value() == std::vector<RowId>{96, 98});
  CHECK(s.Page(50, 10).value().empty());
  CHECK(s.PageAfter(std::nullopt, 2).value() == std::vector<RowId>{0, 2});
  CHECK(s.PageAfter(4, 2).value() == std::vector<RowId>{6, 8});
  CHECK(s.PageAfter(5, 1).value() == std::vector<RowId>{6});
  CHECK(s.PageAfter(98, 5).value().empty());
  std::vector<RowId> seen;
  s.ForEach([&](RowId r) {
    seen.push_back(r);
    return seen.size() < 3;
  });
  CHECK(seen == std::vector<RowId>{0, 2, 4});
  std::vector<RowId> iterated;
  for (Segment::Iterator it(s); it.Valid(); it.Next()) iterated.push_back(it.Value());
  CHECK(iterated == s.Rows().value());
  Segment::Iterator seek(s);
  seek.SeekGreaterOrEqual(51);
  REQUIRE(seek.Valid());
  CHECK(seek.Value() == 52);
  seek.SeekGreaterOrEqual(99);
  CHECK_FALSE(seek.Valid());
  auto keys = s.KeysOf(s.Page(0, 2).value()).value();
  CHECK(keys == std::vector<tagindex::CustomerKey>{int64_t{0}, int64_t{2}});
  CHECK(s.KeysOf(std::vector<RowId>{1000}).status().code() == Code::kNotFound);

  Segment hv = index->Query("高价值客户").value();
  CHECK(s.Intersect(hv)->Count() == 15);
  CHECK(s.Union(hv)->Count() == 65);
  CHECK(hv.Difference(s)->Count() == 15);
  CHECK(hv.SymmetricDifference(s)->Count() == 50);
  CHECK(s.Intersect(hv)->SameRows(index->Query("VIP-2024 AND 高价值客户").value()));

  auto other = MakeIndex();
  Segment foreign = other->Query("高价值客户").value();
  CHECK(s.Intersect(foreign).status().code() == Code::kInvalidArgument);
  CHECK(Segment().KeysOf(std::vector<RowId>{0}).status().code() == Code::kFailedPrecondition);
  CHECK(Segment().Count() == 0);
  CHECK(index->AllCustomers().Count() == 100);

  // Portable Roaring: cookie 12346 (no runs) or 12347 (runs), little endian.
  std::string blob = s.ToPortable().value();
  REQUIRE(blob.size() >= 4);
  CHECK((static_cast<unsigned char>(blob[0]) | (static_cast<unsigned char>(blob[1]) << 8)) ==
        12346);
  Segment back = index->SegmentFromPortable(blob).value();
  CHECK(back.SameRows(s));
  CHECK(back.index() == index.get());
  CHECK(index->SegmentFromPortable("garbage").status().code() == Code::kDataLoss);
  std::vector<RowId> listed = {5, 3, 3, 1};
  CHECK(index->SegmentOfRows(listed).value().Rows().value() == std::vector<RowId>{1, 3, 5});
  auto outside = index->SegmentOfRows(std::vector<RowId>{1, 500});
  CHECK(outside.status().code() == Code::kNotFound);
  CHECK(outside.status().message().find("row 500") != std::string_view::npos);
  // The segment is a snapshot.
  REQUIRE(index->UntagRow(index->FindTag("VIP-2024").value(), 0).ok());
  CHECK(s.Count() == 50);
}

TEST_CASE("explain: plan tree with estimates, actuals and AND-NOT", "[query]") {
  auto index = MakeIndex();
  tagindex::Explanation x = index->Explain("高价值客户 AND 电子产品 AND NOT 流失风险").value();
  CHECK(x.count == 5);
  CHECK(x.normal_form == "(AND 高价值客户 电子产品 (NOT 流失风险))");
  REQUIRE(x.root.operation == "AND");
  REQUIRE(x.root.children.size() == 3);
  CHECK(x.root.children[0].detail == "高价值客户");  // 30 < 40: smaller first
  CHECK(x.root.children[0].estimated == 30);
  CHECK(x.root.children[1].detail == "电子产品");
  CHECK(x.root.children[2].subtracted);
  CHECK(x.root.children[2].detail == "流失风险");
  CHECK(x.root.actual == 5);
  CHECK(x.root.executed);
  std::string text = x.ToString();
  INFO(text);
  CHECK(text.find("AND-NOT TAG 流失风险  est=10 actual=10") != std::string::npos);
  // Short-circuit: an empty operand stops the intersection.
  tagindex::Explanation e = index->Explain("空标签 AND 高价值客户 AND NOT 电子产品").value();
  CHECK(e.count == 0);
  CHECK(e.root.children[0].detail == "空标签");
  CHECK_FALSE(e.root.children[1].executed);
  CHECK(e.ToString().find("(skipped)") != std::string::npos);
}

TEST_CASE("compiled query: reusable, sees new data, fails after its tag is deleted", "[query]") {
  auto index = MakeIndex();
  CompiledQuery q = index->Compile("高价值客户 AND NOT 流失风险").value();
  CHECK(q.Count().value() == 25);
  CHECK(q.text() == "高价值客户 AND NOT 流失风险");
  TagId hv = index->FindTag("高价值客户").value();
  REQUIRE(index->TagRow(hv, 80).ok());
  CHECK(q.Count().value() == 26);
  CHECK(q.Run().value().Contains(80));
  REQUIRE(index->RenameTag(hv, "高净值客户").ok());
  CHECK(q.Count().value() == 26);
  // Many threads run one compiled query at once while a writer changes data.
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto n = q.Count();
        auto s = q.Run();
        if (!n.ok() || !s.ok() || *n < 25 || *n > 27 || s->Count() < 25) bad++;
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    REQUIRE(index->TagRow(hv, 81).ok());
    REQUIRE(index->UntagRow(hv, 81).ok());
  }
  for (auto& th : threads) th.join();
  CHECK(bad == 0);
  REQUIRE(index->DeleteTag(hv).ok());
  CHECK(q.Count().status().code() == Code::kFailedPrecondition);
}
