#include "query/query_error.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "util/utf8.h"

namespace tagindex {
namespace {

constexpr char kLocationUrl[] = "type.tagindex/QueryErrorLocation";
constexpr char kSuggestionsUrl[] = "type.tagindex/UnknownTagSuggestions";
// Window of the snippet line around the error, in code points.
constexpr size_t kBefore = 30;
constexpr size_t kAfter = 40;

// Terminal cells of a code point: East Asian wide and fullwidth forms take
// two, so the caret lines up under Chinese text.
int CellWidth(char32_t c) {
  if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
      (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
      (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
      (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
      (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
      (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x20000 && c <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

}  // namespace

namespace query {

QueryErrorLocation LocateInQuery(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  QueryErrorLocation loc;
  loc.offset = offset;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++loc.line;
      line_start = i + 1;
    }
  }
  size_t line_end = text.find('\n', offset);
  if (line_end == std::string_view::npos) line_end = text.size();
  // Decode the line once, remembering where the error's code point is.
  struct Cp {
    char32_t c;
    size_t at;
  };
  std::vector<Cp> cps;
  size_t error_index = 0;
  bool seen = false;
  for (size_t pos = line_start; pos < line_end;) {
    if (!seen && pos >= offset) {
      error_index = cps.size();
      seen = true;
    }
    size_t at = pos;
    char32_t c = util::DecodeUtf8(text, pos);
    cps.push_back({c, at});
  }
  if (!seen) error_index = cps.size();
  loc.column = error_index + 1;

  size_t first = error_index > kBefore ? error_index - kBefore : 0;
  size_t last = std::min(cps.size(), error_index + kAfter);
  std::string shown = "  ";
  std::string caret = "  ";
  if (first > 0) {
    shown += "…";
    caret += " ";
  }
  for (size_t i = first; i < last; ++i) {
    char32_t c = cps[i].c;
    if (c == '\t' || c == '\r' || util::IsControl(c) || c == 0xFFFD) c = c == '\t' ? ' ' : '?';
    util::AppendUtf8(c, &shown);
    if (i < error_index) caret.append(static_cast<size_t>(CellWidth(c)), ' ');
  }
  if (last < cps.size()) shown += "…";
  caret += "^";
  loc.snippet = absl::StrCat(shown, "\n", caret);
  return loc;
}

absl::Status QueryError(absl::StatusCode code, std::string_view text, size_t offset,
                        std::string_view message) {
  QueryErrorLocation loc = LocateInQuery(text, offset);
  absl::Status status(code, absl::StrCat("query: line ", loc.line, ", column ", loc.column, ": ",
                                         std::string(message), "\n", loc.snippet));
  status.SetPayload(kLocationUrl, absl::Cord(absl::StrCat(loc.offset, "\x1f", loc.line, "\x1f",
                                                          loc.column, "\x1f", loc.snippet)));
  return status;
}

void AttachSuggestions(absl::Status& status, const std::vector<std::string>& suggestions) {
  // Names never contain control characters, so \x1f separates safely.
  status.SetPayload(kSuggestionsUrl, absl::Cord(absl::StrJoin(suggestions, "\x1f")));
}

std::string QuoteForMessage(std::string_view s) {
  std::string out = "\"";
  size_t pos = 0;
  size_t cps = 0;
  while (pos < s.size()) {
    if (++cps > 64) {
      out += "…";
      break;
    }
    char32_t c = util::DecodeUtf8(s, pos);
    if (c == '"' || c == '\\') out.push_back('\\');
    if (util::IsControl(c) || c == 0xFFFD) c = '?';
    util::AppendUtf8(c, &out);
  }
  out += "\"";
  return out;
}

}  // namespace query

std::optional<QueryErrorLocation> GetQueryErrorLocation(const absl::Status& status) {
  auto payload = status.GetPayload(kLocationUrl);
  if (!payload) return std::nullopt;
  std::string flat(*payload);
  std::vector<std::string> parts = absl::StrSplit(flat, absl::MaxSplits('\x1f', 3));
  if (parts.size() != 4) return std::nullopt;
  QueryErrorLocation loc;
  auto parse = [](const std::string& s, size_t* v) {
    return std::from_chars(s.data(), s.data() + s.size(), *v).ec == std::errc();
  };
  if (!parse(parts[0], &loc.offset) || !parse(parts[1], &loc.line) ||
      !parse(parts[2], &loc.column)) {
    return std::nullopt;
  }
  loc.snippet = std::move(parts[3]);
  return loc;
}

std::vector<std::string> GetUnknownTagSuggestions(const absl::Status& status) {
  auto payload = status.GetPayload(kSuggestionsUrl);
  if (!payload || payload->empty()) return {};
  return absl::StrSplit(std::string(*payload), '\x1f');
}

}  // namespace tagindex
