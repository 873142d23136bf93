#include "cli/output.h"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tagindex/errors.h"
#include "tagindex/query.h"

namespace tagindex::cli {

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  // The error's kind decides when it has one (never the message text): a
  // permission or disk-full I/O error is the machine's, whatever its code.
  if (std::optional<ErrorInfo> info = GetErrorInfo(status)) {
    switch (info->kind) {
      case ErrorKind::kIo:
      case ErrorKind::kCorruptFile:
      case ErrorKind::kOutOfMemory:
      case ErrorKind::kInternal:
        return kExitInternal;
      case ErrorKind::kOther:
        break;  // a kind this version does not know: the code decides
      default:
        return kExitUser;  // unknown_*, not_found, bad_*, limit, busy, ...
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnimplemented:
      return kExitUser;
    default:
      return kExitInternal;
  }
}

namespace {
bool json_errors = false;
}  // namespace

void SetJsonErrors(bool on) { json_errors = on; }

std::string ErrorJson(const absl::Status& status) {
  std::string out =
      absl::StrCat("{\"error\":{\"code\":", JsonString(absl::StatusCodeToString(status.code())),
                   ",\"exit_code\":", ExitCodeFor(status),
                   ",\"message\":", JsonString(std::string(status.message())));
  if (std::optional<ErrorInfo> info = GetErrorInfo(status)) {
    absl::StrAppend(&out, ",\"kind\":", JsonString(info->kind_name),
                    ",\"subject\":", JsonString(info->subject));
    if (!info->path.empty()) absl::StrAppend(&out, ",\"path\":", JsonString(info->path));
    if (info->offset) absl::StrAppend(&out, ",\"offset\":", *info->offset);
    if (!info->limit.empty()) absl::StrAppend(&out, ",\"limit\":", JsonString(info->limit));
    if (!info->detail.empty()) absl::StrAppend(&out, ",\"detail\":", JsonString(info->detail));
    if (!info->suggestions.empty()) {
      out += ",\"suggestions\":[";
      for (size_t i = 0; i < info->suggestions.size(); ++i) {
        absl::StrAppend(&out, i ? "," : "", JsonString(info->suggestions[i]));
      }
      out += "]";
    }
  } else {
    out += ",\"kind\":null";
  }
  out += "}}";
  return out;
}

int ReportError(const absl::Status& status) {
  std::string message(status.message());
  if (json_errors) std::printf("%s\n", ErrorJson(status).c_str());
  std::fprintf(stderr, "tagindex: error: %s\n", message.c_str());
  if (auto location = GetQueryErrorLocation(status)) {
    if (!location->snippet.empty() && message.find(location->snippet) == std::string::npos) {
      std::fprintf(stderr, "%s\n", location->snippet.c_str());
    }
  }
  return ExitCodeFor(status);
}

namespace {

// Decodes one code point (invalid bytes count as one narrow character).
char32_t Decode(std::string_view s, size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

bool Wide(char32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
         (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
         (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
         (c >= 0x20000 && c <= 0x3FFFD);
}

}  // namespace

size_t DisplayWidth(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t c = Decode(s, i);
    if (c < 0x20 || (c >= 0x300 && c <= 0x36F)) continue;  // controls, combining marks
    width += Wide(c) ? 2 : 1;
  }
  return width;
}

std::string Thousands(uint64_t n) {
  std::string digits = absl::StrCat(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Duration(double seconds) {
  if (seconds < 1e-3) return absl::StrFormat("%.1f µs", seconds * 1e6);
  if (seconds < 1) return absl::StrFormat("%.2f ms", seconds * 1e3);
  return absl::StrFormat("%.2f s", seconds);
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(ch);
        }
    }
  }
  // Invalid UTF-8 would make the document invalid: callers pass text the
  // library has validated (names, keys) or messages.
  out.push_back('"');
  return out;
}

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Table::Table(std::vector<std::string> header, std::vector<bool> right_aligned)
    : header_(std::move(header)), right_(std::move(right_aligned)) {
  right_.resize(header_.size(), false);
}

void Table::Add(std::vector<std::string> row) {
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

void Table::Print(std::FILE* out) const {
  std::vector<size_t> width(header_.size());
  for (size_t c = 0; c < header_.size(); ++c) width[c] = DisplayWidth(header_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], DisplayWidth(row[c]));
  }
  auto line = [&](const std::vector<std::string>& row) {
    std::string text;
    for (size_t c = 0; c < row.size(); ++c) {
      size_t pad = width[c] - DisplayWidth(row[c]);
      bool last = c + 1 == row.size();
      if (right_[c]) text.append(pad, ' ');
      text += row[c];
      if (!right_[c] && !last) text.append(pad, ' ');
      if (!last) text += "  ";
    }
    std::fprintf(out, "%s\n", text.c_str());
  };
  line(header_);
  std::vector<std::string> rule;
  for (size_t c = 0; c < header_.size(); ++c) rule.push_back(std::string(width[c], '-'));
  line(rule);
  for (const auto& row : rows_) line(row);
}

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled && isatty(STDERR_FILENO) == 1) {}

void ProgressBar::Update(uint64_t done, uint64_t total, uint64_t rows, double seconds) {
  if (!enabled_ || (seconds - last_ < 0.1 && done < total)) return;
  last_ = seconds;
  double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  fraction = std::clamp(fraction, 0.0, 1.0);
  const int cells = 30;
  int filled = static_cast<int>(fraction * cells);
  std::string bar(filled, '#');
  bar.append(cells - filled, '.');
  double rate = seconds > 0 ? static_cast<double>(rows) / seconds : 0;
  std::string eta = "--";
  if (fraction > 0.001 && fraction < 1.0) {
    eta = absl::StrFormat("%.0fs", seconds * (1.0 - fraction) / fraction);
  } else if (fraction >= 1.0) {
    eta = "0s";
  }
  std::fprintf(stderr, "\r%s [%s] %3.0f%%  %s rows  %s rows/s  ETA %s\x1b[K", label_.c_str(),
               bar.c_str(), fraction * 100, Thousands(rows).c_str(),
               Thousands(static_cast<uint64_t>(rate)).c_str(), eta.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (drawn_) {
    std::fprintf(stderr, "\n");
    drawn_ = false;
  }
}

int PrintTagList(const std::vector<TagInfo>& tags, const std::vector<CategoryInfo>& categories,
                 bool json) {
  auto exclusive = [&](const std::string& name) {
    for (const CategoryInfo& c : categories) {
      if (c.name == name) return c.exclusive;
    }
    return false;
  };
  if (json) {
    std::string out = "[";
    for (size_t i = 0; i < tags.size(); ++i) {
      const TagInfo& t = tags[i];
      absl::StrAppend(&out, i ? "," : "", "{\"id\":", t.id.value, ",\"name\":", JsonString(t.name),
                      ",\"category\":", JsonString(t.category),
                      ",\"exclusive\":", exclusive(t.category) ? "true" : "false",
                      ",\"kind\":", t.kind == TagKind::kRule ? "\"rule\"" : "\"manual\"",
                      ",\"count\":", t.count, ",\"description\":", JsonString(t.description),
                      ",\"rule\":", t.kind == TagKind::kRule ? JsonString(t.rule) : "null", "}");
    }
    std::printf("%s]\n", out.c_str());
    return kExitOk;
  }
  Table table({"id", "category", "tag", "kind", "exclusive", "customers", "description", "rule"},
              {true, false, false, false, false, true, false, false});
  for (const TagInfo& t : tags) {
    table.Add({absl::StrCat(t.id.value), t.category, t.name,
               t.kind == TagKind::kRule ? "rule" : "manual", exclusive(t.category) ? "yes" : "",
               Thousands(t.count), t.description, t.rule});
  }
  table.Print(stdout);
  return kExitOk;
}

}  // namespace tagindex::cli
