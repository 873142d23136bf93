#include "query/habits.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/utf8.h"

namespace tagindex::query {
namespace {

constexpr char32_t kFullWidthFirst = 0xFF01;    // ！
constexpr char32_t kFullWidthLast = 0xFF5E;     // ～
constexpr char32_t kFullWidthShift = 0xFEE0;    // U+FF01 - '!'
constexpr char32_t kIdeographicComma = 0x3001;  // 、

bool IsFullWidthAscii(char32_t c) { return c >= kFullWidthFirst && c <= kFullWidthLast; }

std::string Utf8(char32_t c) {
  std::string s;
  util::AppendUtf8(c, &s);
  return s;
}

// Full-width ASCII forms to ASCII; everything else unchanged.
std::string HalfWidth(std::string_view word) {
  std::string out;
  out.reserve(word.size());
  for (size_t pos = 0; pos < word.size();) {
    const char32_t c = util::DecodeUtf8(word, pos);
    util::AppendUtf8(IsFullWidthAscii(c) ? c - kFullWidthShift
                     : c == 0x3000       ? char32_t{' '}
                                         : c,
                     &out);
  }
  return out;
}

bool IsKeyword(std::string_view w) {
  static constexpr std::array<absl::string_view, 10> kWords = {
      "AND", "OR", "NOT", "XOR", "IN", "BETWEEN", "IS", "NULL", "ALL", "NONE"};
  for (absl::string_view k : kWords) {
    if (absl::EqualsIgnoreCase(absl::string_view(w.data(), w.size()), k)) return true;
  }
  return false;
}

std::optional<Habit> SqlWord(std::string_view word) {
  const absl::string_view w(word.data(), word.size());
  for (absl::string_view k : {"LIKE", "ILIKE", "REGEXP", "GLOB"}) {
    if (absl::EqualsIgnoreCase(w, k)) {
      return Habit{0, absl::StrCat(absl::AsciiStrToUpper(w),
                                   " is SQL: tagindex has no pattern matching; list the values "
                                   "with IN (…), e.g. 城市 IN (杭州, 上海)")};
    }
  }
  for (absl::string_view k : {"SELECT", "FROM", "WHERE"}) {
    if (absl::EqualsIgnoreCase(w, k)) {
      return Habit{0, absl::StrCat(absl::AsciiStrToUpper(w),
                                   " is SQL: write only the condition, e.g. "
                                   "高价值客户 AND 消费金额 >= 1000")};
    }
  }
  return std::nullopt;
}

// ASCII that ends a word of a query (spaces, operators, quotes).
bool IsWordBreak(char c) {
  switch (c) {
    case ' ':
    case '(':
    case ')':
    case ',':
    case '=':
    case '<':
    case '>':
    case '!':
    case '&':
    case '|':
    case '^':
    case ':':
    case '"':
    case '\n':
    case '\t':
    case '\r':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<Habit> FindHabit(std::string_view word) {
  if (std::optional<Habit> sql = SqlWord(word)) return sql;
  // A keyword typed in full-width letters: ＡＮＤ, ｏｒ.
  const std::string half = HalfWidth(word);
  if (half != word && IsKeyword(half)) {
    return Habit{0, absl::StrCat("\"", std::string(word),
                                 "\" is in full-width letters (a Chinese input method's full-width "
                                 "mode); write ",
                                 absl::AsciiStrToUpper(half))};
  }
  if (word.size() >= 2 && (word.front() == '\'' || word.back() == '\'')) {
    return Habit{word.front() == '\'' ? 0 : word.size() - 1,
                 "single quotes do not quote names here (an SQL habit): write the name bare, or "
                 "in \"…\" or 「…」 when it has spaces or operator characters"};
  }
  for (size_t pos = 0; pos < word.size();) {
    const size_t at = pos;
    const char32_t c = util::DecodeUtf8(word, pos);
    if (IsFullWidthAscii(c)) {
      return Habit{at, absl::StrFormat("full-width \"%s\" (U+%04X, from a Chinese input method): "
                                       "write \"%s\"",
                                       Utf8(c), uint32_t{c}, Utf8(c - kFullWidthShift))};
    }
    if (c == kIdeographicComma) {
      return Habit{at, "\"、\" (U+3001) does not separate values: write \",\""};
    }
    if (c == 0x201C || c == 0x201D || c == 0x2018 || c == 0x2019) {
      return Habit{at, absl::StrFormat("typographic quote \"%s\" (U+%04X): quote names with "
                                       "straight \"…\" or 「…」",
                                       Utf8(c), uint32_t{c})};
    }
  }
  return std::nullopt;
}

std::optional<Habit> FindHabitInQuery(std::string_view text) {
  // Walk words (runs between ASCII spaces and operators), skipping quoted text.
  size_t pos = 0;
  while (pos < text.size()) {
    const char ch = text[pos];
    if (ch == '"') {
      ++pos;
      while (pos < text.size() && text[pos] != '"') pos += text[pos] == '\\' ? 2 : 1;
      ++pos;
      continue;
    }
    if (absl::StartsWith(absl::string_view(text.data() + pos, text.size() - pos), "「")) {
      const size_t close = text.find("」", pos);
      pos = close == std::string_view::npos ? text.size() : close + std::string_view("」").size();
      continue;
    }
    if (IsWordBreak(ch)) {  // '"' was handled above
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < text.size()) {
      if (IsWordBreak(text[end])) break;
      ++end;
    }
    if (std::optional<Habit> h = FindHabit(text.substr(pos, end - pos))) {
      h->offset += pos;
      return h;
    }
    pos = end;
  }
  return std::nullopt;
}

std::string WithoutHabits(std::string_view word) {
  std::string half = HalfWidth(word);
  std::string_view w = half;
  if (w.size() >= 2 && w.front() == '\'' && w.back() == '\'') w = w.substr(1, w.size() - 2);
  for (std::string_view open : {"“", "‘"}) {
    for (std::string_view close : {"”", "’"}) {
      if (w.size() > open.size() + close.size() && w.substr(0, open.size()) == open &&
          w.substr(w.size() - close.size()) == close) {
        w = w.substr(open.size(), w.size() - open.size() - close.size());
      }
    }
  }
  return std::string(util::TrimUnicodeSpace(w));
}

}  // namespace tagindex::query
