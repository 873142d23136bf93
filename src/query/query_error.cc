#include "query/query_error.h"

#include <algorithm>
#include <charconv>
#include <deque>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "util/error_info.h"
#include "util/utf8.h"

namespace tagindex {
namespace {

constexpr char kLocationUrl[] = "type.tagindex/QueryErrorLocation";
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
  // Bounded memory whatever the query's size (an oversized query is
  // refused through here): one pass counts lines and code points, and only
  // the kBefore + kAfter code points around the error are kept.
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++loc.line;
      line_start = i + 1;
    }
  }
  size_t line_end = text.find('\n', offset);
  if (line_end == std::string_view::npos) line_end = text.size();
  std::deque<char32_t> cps;  // the window: up to kBefore before the error, kAfter after
  size_t error_index = 0;    // code points of the line before the error
  size_t pos = line_start;
  while (pos < line_end && pos < offset) {
    cps.push_back(util::DecodeUtf8(text, pos));
    if (cps.size() > kBefore) cps.pop_front();
    ++error_index;
  }
  const size_t before = cps.size();
  while (pos < line_end && cps.size() < before + kAfter) cps.push_back(util::DecodeUtf8(text, pos));
  const bool more_after = pos < line_end;
  loc.column = error_index + 1;

  std::string shown = "  ";
  std::string caret = "  ";
  if (error_index > before) {
    shown += "…";
    caret += " ";
  }
  for (size_t i = 0; i < cps.size(); ++i) {
    char32_t c = cps[i];
    if (c == '\t' || c == '\r' || util::IsControl(c) || c == 0xFFFD) c = c == '\t' ? ' ' : '?';
    util::AppendUtf8(c, &shown);
    if (i < before) caret.append(static_cast<size_t>(CellWidth(c)), ' ');
  }
  if (more_after) shown += "…";
  caret += "^";
  loc.snippet = absl::StrCat(shown, "\n", caret);
  return loc;
}

absl::Status QueryError(absl::StatusCode code, std::string_view text, size_t offset,
                        std::string_view message, const ErrorInfo& info) {
  QueryErrorLocation loc = LocateInQuery(text, offset);
  absl::Status status = util::Error(
      code,
      absl::StrCat("query: line ", loc.line, ", column ", loc.column, ": ", std::string(message)),
      info);
  status.SetPayload(kLocationUrl, absl::Cord(absl::StrCat(loc.offset, "\x1f", loc.line, "\x1f",
                                                          loc.column, "\x1f", loc.snippet)));
  return status;
}

absl::Status QueryError(absl::StatusCode code, std::string_view text, size_t offset,
                        std::string_view message) {
  // The subject: the text at the error up to a space or parenthesis, cut
  // at a code point boundary within 64 bytes.
  offset = std::min(offset, text.size());
  size_t end = offset;
  while (end < text.size() && end - offset < 64 && text[end] != ' ' && text[end] != '\n' &&
         text[end] != '\t' && text[end] != '(' && text[end] != ')') {
    ++end;
  }
  if (end == offset && end < text.size()) ++end;  // the parenthesis itself
  while (end > offset && end < text.size() &&
         (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  ErrorKind kind =
      code == absl::StatusCode::kResourceExhausted ? ErrorKind::kLimit : ErrorKind::kQuerySyntax;
  return QueryError(code, text, offset, message,
                    util::Info(kind, text.substr(offset, end - offset)));
}

void AttachSuggestions(absl::Status& status, const std::vector<std::string>& suggestions) {
  std::optional<ErrorInfo> info = GetErrorInfo(status);
  if (!info) return;
  info->suggestions = suggestions;
  SetErrorInfo(status, *info);
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
  std::optional<ErrorInfo> info = GetErrorInfo(status);
  if (!info) return {};
  return std::move(info->suggestions);
}

}  // namespace tagindex
