// The ErrorInfo payload: encoding (documented in tagindex/errors.h) and the
// helpers of util/error_info.h.
#include "util/error_info.h"

#include <array>
#include <charconv>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace tagindex {
namespace {

constexpr std::array<std::string_view, 20> kKindNames = {
    "other",
    "unknown_tag",
    "unknown_attribute",
    "unknown_category",
    "unknown_customer",
    "not_found",
    "ambiguous_name",
    "already_exists",
    "limit",
    "out_of_memory",
    "bad_key",
    "bad_name",
    "bad_value",
    "query_syntax",
    "corrupt_file",
    "io",
    "busy",
    "precondition",
    "unsupported",
    "internal",
};
static_assert(kKindNames.size() == static_cast<size_t>(ErrorKind::kInternal) + 1);

bool Escaped(unsigned char c) { return c < 0x20 || c == 0x7f || c == '%' || c == '&' || c == '='; }

void AppendEscaped(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (Escaped(c)) {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(ch);
    }
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool Unescape(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    int hi = HexValue(s[i + 1]);
    int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

void AppendField(std::string_view name, std::string_view value, std::string* out) {
  if (!out->empty()) out->push_back('&');
  out->append(name);
  out->push_back('=');
  AppendEscaped(value, out);
}

}  // namespace

std::string_view ErrorKindName(ErrorKind kind) {
  size_t i = static_cast<size_t>(kind);
  return i < kKindNames.size() ? kKindNames[i] : kKindNames[0];
}

ErrorKind ErrorKindFromName(std::string_view name) {
  for (size_t i = 1; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<ErrorKind>(i);
  }
  return ErrorKind::kOther;
}

void SetErrorInfo(absl::Status& status, const ErrorInfo& info) {
  if (status.ok()) return;
  std::string out;
  AppendField("kind",
              info.kind == ErrorKind::kOther && !info.kind_name.empty() ? info.kind_name
                                                                        : ErrorKindName(info.kind),
              &out);
  AppendField("subject", info.subject, &out);
  if (!info.path.empty()) AppendField("path", info.path, &out);
  if (info.offset) AppendField("offset", std::to_string(*info.offset), &out);
  if (!info.limit.empty()) AppendField("limit", info.limit, &out);
  if (!info.detail.empty()) AppendField("detail", info.detail, &out);
  if (info.id) AppendField("id", std::to_string(*info.id), &out);
  for (const std::string& s : info.suggestions) AppendField("suggestion", s, &out);
  for (const std::string& c : info.candidates) AppendField("candidate", c, &out);
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(std::move(out)));
}

std::optional<ErrorInfo> GetErrorInfo(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorInfoTypeUrl);
  if (!payload) return std::nullopt;
  std::string flat(*payload);
  ErrorInfo info;
  bool has_kind = false;
  std::string value;
  for (absl::string_view f : absl::StrSplit(flat, '&')) {
    std::string_view field(f.data(), f.size());
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view name = field.substr(0, eq);
    if (!Unescape(field.substr(eq + 1), &value)) return std::nullopt;
    if (name == "kind") {
      has_kind = true;
      info.kind = ErrorKindFromName(value);
      info.kind_name = value;
    } else if (name == "subject") {
      info.subject = value;
    } else if (name == "path") {
      info.path = value;
    } else if (name == "offset" || name == "id") {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec != std::errc() || p != value.data() + value.size()) return std::nullopt;
      (name == "id" ? info.id : info.offset) = v;
    } else if (name == "limit") {
      info.limit = value;
    } else if (name == "detail") {
      info.detail = value;
    } else if (name == "suggestion") {
      info.suggestions.push_back(value);
    } else if (name == "candidate") {
      info.candidates.push_back(value);
    }  // other fields: from a newer version; ignored
  }
  if (!has_kind) return std::nullopt;
  return info;
}

namespace util {

ErrorInfo Info(ErrorKind kind, std::string_view subject) {
  ErrorInfo info;
  info.kind = kind;
  info.subject = std::string(subject);
  return info;
}

ErrorInfo IdInfo(ErrorKind kind, std::string_view what, uint64_t id) {
  ErrorInfo info = Info(kind, absl::StrCat(std::string(what), " ", id));
  info.id = id;
  return info;
}

ErrorInfo LimitInfo(std::string_view option) {
  ErrorInfo info = Info(ErrorKind::kLimit, option);
  info.limit = std::string(option);
  return info;
}

absl::Status CorruptFile(std::string_view path, std::optional<uint64_t> offset,
                         std::string_view message) {
  ErrorInfo info = Info(ErrorKind::kCorruptFile, path);
  info.path = std::string(path);
  info.offset = offset;
  return Error(absl::StatusCode::kDataLoss, message, info);
}

absl::Status Error(absl::StatusCode code, std::string_view message, const ErrorInfo& info) {
  absl::Status status(code, absl::string_view(message.data(), message.size()));
  SetErrorInfo(status, info);
  return status;
}

absl::Status Error(absl::StatusCode code, ErrorKind kind, std::string_view subject,
                   std::string_view message) {
  return Error(code, message, Info(kind, subject));
}

absl::Status WithInfo(absl::Status status, ErrorKind kind, std::string_view subject) {
  if (!status.ok() && !status.GetPayload(kErrorInfoTypeUrl)) {
    SetErrorInfo(status, Info(kind, subject));
  }
  return status;
}

absl::Status WithMessage(const absl::Status& status, std::string_view message) {
  absl::Status out(status.code(), absl::string_view(message.data(), message.size()));
  status.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace util
}  // namespace tagindex
