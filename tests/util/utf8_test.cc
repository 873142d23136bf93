#include "util/utf8.h"

#include <catch2/catch.hpp>
#include <iterator>
#include <random>
#include <string>

using tagindex::util::CountCodePoints;
using tagindex::util::FindInvalidUtf8;
using tagindex::util::TrimUnicodeSpace;

TEST_CASE("utf8: valid strings of any script pass", "[util]") {
  for (const char* s : {"", "abc", "高价值客户", "Müller", "🙂 emoji", "VIP-2024", "Ελληνικά"}) {
    INFO(s);
    CHECK_FALSE(FindInvalidUtf8(s).has_value());
  }
}

TEST_CASE("utf8: invalid sequences are found at their byte offset", "[util]") {
  struct Case {
    std::string text;
    size_t offset;
  };
  const Case cases[] = {
      {"ab\x80", 2},                  // lone continuation byte
      {"\xC0\xAF", 0},                // overlong '/'
      {"x\xE0\x80\xAF", 1},           // overlong 3-byte
      {"\xED\xA0\x80", 0},            // surrogate U+D800
      {"\xF4\x90\x80\x80", 0},        // above U+10FFFF
      {"\xE9\xAB", 0},                // truncated 高
      {std::string("ok\xFF", 3), 2},  // 0xFF never valid
      {"高\xE4", 3},                  // truncated after a valid char
  };
  for (const auto& c : cases) {
    INFO("offset " << c.offset);
    auto bad = FindInvalidUtf8(c.text);
    REQUIRE(bad.has_value());
    CHECK(*bad == c.offset);
  }
}

TEST_CASE("utf8: code points are counted, not bytes", "[util]") {
  CHECK(CountCodePoints("高价值客户") == 5);
  CHECK(CountCodePoints("a高🙂") == 3);
  CHECK(CountCodePoints("") == 0);
}

TEST_CASE("utf8: trimming removes ASCII and ideographic white space", "[util]") {
  CHECK(TrimUnicodeSpace("  高价值客户\t") == "高价值客户");
  CHECK(TrimUnicodeSpace("\xE3\x80\x80VIP\xE3\x80\x80") == "VIP");  // U+3000 both sides
  CHECK(TrimUnicodeSpace("a b") == "a b");
  CHECK(TrimUnicodeSpace(" \t\n").empty());
}

TEST_CASE("utf8: trimming's fast path agrees with a code-point-by-code-point trim", "[util]") {
  // Oracle: decode every code point from the front, keep [first non-space,
  // end of the last non-space). Random strings of spaces (ASCII, U+3000,
  // U+00A0), CJK, ASCII letters, stray continuation bytes and truncated
  // sequences.
  const std::string pieces[] = {
      " ",    "\t",   "\xE3\x80\x80", "\xC2\xA0",         "高",          "价", "a", "Z",
      "\x80", "\xBF", "\xE4\xB8",     "\xF0\x9F\x99\x82", "\xE2\x80\xA8"};
  const uint32_t seed = 20261201;
  std::mt19937 rng(seed);
  auto oracle = [](std::string_view s) {
    size_t pos = 0;
    size_t begin = std::string_view::npos;
    size_t end = 0;
    while (pos < s.size()) {
      const size_t at = pos;
      const char32_t c = tagindex::util::DecodeUtf8(s, pos);
      if (!tagindex::util::IsUnicodeSpace(c)) {
        if (begin == std::string_view::npos) begin = at;
        end = pos;
      }
    }
    return begin == std::string_view::npos ? std::string_view() : s.substr(begin, end - begin);
  };
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) s += pieces[rng() % std::size(pieces)];
    INFO("seed " << seed << " case " << i);
    CHECK(TrimUnicodeSpace(s) == oracle(s));
  }
}

TEST_CASE("utf8: the ASCII fast path finds the same offsets as a byte-wise check", "[util]") {
  // Each invalid case of the table above, behind ASCII prefixes of 0..20
  // bytes (so the 8-byte word path runs into it at every alignment), and
  // valid multi-byte text mixed with long ASCII runs.
  const std::string bad[] = {"\x80",
                             "\xC0\xAF",
                             "\xE0\x80\xAF",
                             "\xED\xA0\x80",
                             "\xF4\x90\x80\x80",
                             "\xE9\xAB",
                             std::string("\xFF", 1),
                             "高\xE4"};
  for (size_t prefix = 0; prefix <= 20; ++prefix) {
    const std::string ascii(prefix, 'a');
    for (const std::string& b : bad) {
      const std::string text = ascii + b + "tail-of-ascii-text";
      INFO("prefix " << prefix);
      auto got = FindInvalidUtf8(text);
      REQUIRE(got.has_value());
      CHECK(*got == prefix + (b == "高\xE4" ? 3 : 0));
    }
    CHECK_FALSE(FindInvalidUtf8(ascii + "高价值客户" + ascii + "🙂" + ascii).has_value());
  }
}
