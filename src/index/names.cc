#include "index/names.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "util/error_info.h"
#include "util/utf8.h"

namespace tagindex::internal {

std::string Quote(std::string_view s) {
  constexpr size_t kMaxShown = 64;
  std::string out = "\"";
  size_t pos = 0;
  while (pos < s.size()) {
    if (pos >= kMaxShown) {
      out += "...";
      break;
    }
    const size_t start = pos;
    const char32_t c = util::DecodeUtf8(s, pos);
    if (c == U'\uFFFD' && pos == start + 1) {
      absl::StrAppendFormat(&out, "\\x%02X", static_cast<unsigned char>(s[start]));
    } else if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(&out, "\\x%02X", static_cast<unsigned>(c));
    } else if (c == U'"' || c == U'\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out.append(s.substr(start, pos - start));
    }
  }
  out += '"';
  return out;
}

namespace {

absl::Status BadName(std::string_view name, std::string_view message, std::string_view limit = {}) {
  ErrorInfo info = util::Info(ErrorKind::kBadName, name);
  info.limit = std::string(limit);
  return util::Error(absl::StatusCode::kInvalidArgument, message, info);
}

}  // namespace

absl::Status BadKey(std::string_view key, std::string_view message, std::string_view limit) {
  ErrorInfo info = util::Info(ErrorKind::kBadKey, key);
  info.limit = std::string(limit);
  return util::Error(absl::StatusCode::kInvalidArgument, message, info);
}

absl::StatusOr<std::string> NormalizeName(std::string_view name, const char* what,
                                          const IndexOptions& options, bool allow_empty) {
  if (auto bad = util::FindInvalidUtf8(name)) {
    return BadName(
        name, absl::StrCat("index: ", what, " ", Quote(name), ": invalid UTF-8 at byte ", *bad));
  }
  const std::string_view trimmed = util::TrimUnicodeSpace(name);
  if (trimmed.empty()) {
    if (allow_empty) return std::string();
    return BadName(name, absl::StrCat("index: ", what, " is empty"));
  }
  if (trimmed.size() > options.max_name_bytes) {
    return BadName(trimmed,
                   absl::StrCat("index: ", what, " ", Quote(trimmed), " is ", trimmed.size(),
                                " bytes; the limit is ", options.max_name_bytes,
                                " (IndexOptions::max_name_bytes)"),
                   "IndexOptions::max_name_bytes");
  }
  size_t code_points = 0;
  for (size_t pos = 0; pos < trimmed.size(); ++code_points) {
    const size_t at = pos;
    if (util::IsControl(util::DecodeUtf8(trimmed, pos))) {
      return BadName(trimmed, absl::StrCat("index: ", what, " ", Quote(trimmed),
                                           ": control character at byte ", at));
    }
  }
  if (code_points > options.max_name_code_points) {
    return BadName(trimmed,
                   absl::StrCat("index: ", what, " ", Quote(trimmed), " has ", code_points,
                                " characters; the limit is ", options.max_name_code_points,
                                " (IndexOptions::max_name_code_points)"),
                   "IndexOptions::max_name_code_points");
  }
  return std::string(trimmed);
}

absl::Status ValidateDescription(std::string_view description, const IndexOptions& options) {
  if (auto bad = util::FindInvalidUtf8(description)) {
    return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, "description",
                       absl::StrCat("index: description: invalid UTF-8 at byte ", *bad));
  }
  if (description.size() > options.max_description_bytes) {
    ErrorInfo info = util::Info(ErrorKind::kBadValue, "description");
    info.limit = "IndexOptions::max_description_bytes";
    return util::Error(
        absl::StatusCode::kInvalidArgument,
        absl::StrCat("index: description is ", description.size(), " bytes; the limit is ",
                     options.max_description_bytes, " (IndexOptions::max_description_bytes)"),
        info);
  }
  return absl::OkStatus();
}

absl::Status ValidateStringKey(std::string_view key, const IndexOptions& options) {
  if (key.empty()) return BadKey(key, "index: customer key is empty");
  if (key.size() > options.max_string_key_bytes) {
    return BadKey(key,
                  absl::StrCat("index: customer key ", Quote(key), " is ", key.size(),
                               " bytes; the limit is ", options.max_string_key_bytes,
                               " (IndexOptions::max_string_key_bytes)"),
                  "IndexOptions::max_string_key_bytes");
  }
  if (auto bad = util::FindInvalidUtf8(key)) {
    return BadKey(
        key, absl::StrCat("index: customer key ", Quote(key), ": invalid UTF-8 at byte ", *bad));
  }
  return absl::OkStatus();
}

}  // namespace tagindex::internal
