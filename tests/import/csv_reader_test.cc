#include <random>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "tagindex/csv.h"
#include "tagindex/errors.h"

namespace tagindex {
namespace {

struct Parsed {
  std::vector<std::vector<std::string>> records;
  std::vector<uint64_t> lines;
  std::vector<std::string> errors;
};

Parsed ParseAll(std::string text, CsvOptions options = {}) {
  auto reader = CsvReader::FromString(std::move(text), "t.csv", options);
  Parsed out;
  CsvRecord record;
  for (int guard = 0; guard < 100000; ++guard) {
    absl::StatusOr<bool> more = reader->Next(&record);
    if (!more.ok()) {
      out.errors.push_back(std::string(more.status().message()));
      continue;
    }
    if (!*more) break;
    out.records.emplace_back(record.fields.begin(), record.fields.end());
    out.lines.push_back(record.line);
  }
  return out;
}

using Rows = std::vector<std::vector<std::string>>;

TEST_CASE("csv: plain records with LF, CRLF and no final line end", "[csv]") {
  CHECK(ParseAll("a,b\n1,2\n").records == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(ParseAll("a,b\r\n1,2\r\n").records == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(ParseAll("a,b\r\n1,2").records == Rows{{"a", "b"}, {"1", "2"}});
  CHECK(ParseAll("").records.empty());
}

TEST_CASE("csv: a byte order mark is skipped", "[csv]") {
  Parsed p = ParseAll("\xEF\xBB\xBF客户ID,城市\n1,上海\n");
  CHECK(p.records == Rows{{"客户ID", "城市"}, {"1", "上海"}});
}

TEST_CASE("csv: empty fields, trailing separators and empty quoted fields", "[csv]") {
  CHECK(ParseAll("a,,b\n").records == Rows{{"a", "", "b"}});
  CHECK(ParseAll(",\n").records == Rows{{"", ""}});
  CHECK(ParseAll("a,\n").records == Rows{{"a", ""}});
  CHECK(ParseAll("\"\",x\n").records == Rows{{"", "x"}});
}

TEST_CASE("csv: quoted fields hold separators, doubled quotes, CR and LF", "[csv]") {
  Parsed p = ParseAll(
      "k,v\n1,\"高价值客户,电子产品\"\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n"
      "4,\"crlf\r\ninside\"\r\n5,end\n");
  REQUIRE(p.errors.empty());
  CHECK(p.records == Rows{{"k", "v"},
                          {"1", "高价值客户,电子产品"},
                          {"2", "say \"hi\""},
                          {"3", "two\nlines"},
                          {"4", "crlf\r\ninside"},
                          {"5", "end"}});
  // Records start on the lines where they begin.
  CHECK(p.lines == std::vector<uint64_t>{1, 2, 3, 4, 6, 8});
}

TEST_CASE("csv: blank lines are skipped but counted", "[csv]") {
  Parsed p = ParseAll("a\n\n\r\nb\n");
  CHECK(p.records == Rows{{"a"}, {"b"}});
  CHECK(p.lines == std::vector<uint64_t>{1, 4});
}

TEST_CASE("csv: a lone CR inside an unquoted field is data", "[csv]") {
  CHECK(ParseAll("a\rb,c\n").records == Rows{{"a\rb", "c"}});
}

TEST_CASE("csv: other separators", "[csv]") {
  CsvOptions tab;
  tab.separator = '\t';
  CHECK(ParseAll("a\tb,c\n", tab).records == Rows{{"a", "b,c"}});
  CsvOptions bad;
  bad.separator = '"';
  auto reader = CsvReader::FromString("a\n", "t.csv", bad);
  CsvRecord r;
  absl::StatusOr<bool> more = reader->Next(&r);
  REQUIRE(!more.ok());
  CHECK(more.status().message() == "csv: the separator must not be a quote or a line end");
}

TEST_CASE("csv: a quote inside an unquoted field is an error at its column", "[csv]") {
  Parsed p = ParseAll("a,b\n1,ab\"c\n2,ok\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0] ==
        "csv: t.csv: line 2, column 5: quote inside an unquoted field (quote the "
        "whole field and double the quote)");
  // The reader goes on with the next line.
  CHECK(p.records == Rows{{"a", "b"}, {"2", "ok"}});
}

TEST_CASE("csv: columns are counted in code points", "[csv]") {
  Parsed p = ParseAll("城市,名\n上海,北\"京\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].rfind("csv: t.csv: line 2, column 5: quote inside", 0) == 0);
  Parsed bom = ParseAll(
      "\xEF\xBB\xBF"
      "a\"b\n");
  REQUIRE(bom.errors.size() == 1);
  CHECK(bom.errors[0].rfind("csv: t.csv: line 1, column 2:", 0) == 0);
}

TEST_CASE("csv: text after a closing quote is an error", "[csv]") {
  Parsed p = ParseAll("1,\"ab\"c,d\n2,x\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].rfind("csv: t.csv: line 1, column 7: unexpected character after a closing "
                          "quote",
                          0) == 0);
  CHECK(p.records == Rows{{"2", "x"}});
}

TEST_CASE("csv: an unterminated quote is reported where it opens", "[csv]") {
  Parsed p = ParseAll("k,v\n1,ok\n2,\"never\nclosed\n3,x\n");
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0] == "csv: t.csv: line 3, column 3: quoted field not closed before the end");
  CHECK(p.records == Rows{{"k", "v"}, {"1", "ok"}});
}

TEST_CASE("csv: a malformed record reports its line span and raw bytes", "[csv]") {
  auto reader = CsvReader::FromString("a\nx\"y,z\r\nb\n", "t.csv");
  CsvRecord r;
  REQUIRE(reader->Next(&r).value());
  absl::StatusOr<bool> bad = reader->Next(&r);
  REQUIRE(!bad.ok());
  CHECK(r.line == 2);
  CHECK(r.raw == "x\"y,z");
  REQUIRE(reader->Next(&r).value());
  CHECK(r.fields[0] == "b");
  CHECK(r.line == 3);
}

TEST_CASE("csv: records over max_record_bytes are rejected", "[csv]") {
  CsvOptions small;
  small.max_record_bytes = 8;
  Parsed p = ParseAll("a,b\n\"0123456789abcdef\",x\n1,2\n", small);
  REQUIRE(p.errors.size() == 1);
  CHECK(p.errors[0].find("record longer than 8 bytes") != std::string::npos);
  CHECK(p.records == Rows{{"a", "b"}, {"1", "2"}});
}

TEST_CASE("csv: OpenFile reports a missing file", "[csv]") {
  auto reader = CsvReader::OpenFile("/nonexistent/dir/x.csv");
  REQUIRE(!reader.ok());
  CHECK(absl::IsNotFound(reader.status()));
  CHECK(std::string(reader.status().message()).find("/nonexistent/dir/x.csv") != std::string::npos);
}

TEST_CASE("csv: OpenFile errors carry the errno mapping and an ErrorInfo", "[csv][errors]") {
  auto missing = CsvReader::OpenFile("/nonexistent/dir/x.csv");
  auto info = tagindex::GetErrorInfo(missing.status());
  REQUIRE(info.has_value());
  CHECK(info->kind == tagindex::ErrorKind::kNotFound);
  CHECK(info->path == "/nonexistent/dir/x.csv");
  // ENOTDIR: an I/O error, Unavailable (never Internal), kind io.
  auto under_file = CsvReader::OpenFile("/dev/null/x.csv");
  CHECK(under_file.status().code() == absl::StatusCode::kUnavailable);
  info = tagindex::GetErrorInfo(under_file.status());
  REQUIRE(info.has_value());
  CHECK(info->kind == tagindex::ErrorKind::kIo);
  CHECK(info->subject == "/dev/null/x.csv");
  CHECK_FALSE(info->detail.empty());
}

// Random fields encoded the RFC 4180 way (quoted when needed, sometimes
// anyway), with random line ends, must decode to the same fields.
TEST_CASE("csv: random round trips", "[csv]") {
  const uint64_t seed = 0xC5F0 + 15;
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const std::vector<std::string> alphabet = {"a", "b",  "7",  ",",    "\"", "\n", "\r\n",
                                             " ", "客", "户", "标签", "\t", "\r"};
  for (int round = 0; round < 300; ++round) {
    INFO("round " << round);
    const int columns = 1 + static_cast<int>(rng() % 5);
    const int rows = 1 + static_cast<int>(rng() % 20);
    Rows expected;
    std::string text;
    if (rng() % 4 == 0) text = "\xEF\xBB\xBF";
    for (int r = 0; r < rows; ++r) {
      std::vector<std::string> row;
      for (int c = 0; c < columns; ++c) {
        std::string f;
        int len = static_cast<int>(rng() % 6);
        for (int k = 0; k < len; ++k) f += alphabet[rng() % alphabet.size()];
        // A record of one empty field would be a blank line: skipped by
        // design, so do not generate it.
        if (columns == 1 && f.empty()) f = "x";
        row.push_back(f);
        bool needs = f.find_first_of(",\"\r\n") != std::string::npos;
        if (c) text += ",";
        if (needs || rng() % 5 == 0) {
          text += "\"";
          for (char ch : f) {
            if (ch == '"') text += "\"";
            text += ch;
          }
          text += "\"";
        } else {
          text += f;
        }
      }
      expected.push_back(row);
      if (r + 1 < rows || rng() % 2) text += rng() % 2 ? "\r\n" : "\n";
    }
    Parsed p = ParseAll(text);
    INFO("text: " << text);
    REQUIRE(p.errors.empty());
    CHECK(p.records == expected);
  }
}

}  // namespace
}  // namespace tagindex
