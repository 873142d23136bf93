#include "query/attribute_value.h"

#include <charconv>
#include <chrono>
#include <limits>

#include "absl/strings/str_cat.h"
#include "util/error_info.h"

namespace tagindex::query {
namespace {

// A literal that is not a value of its type: kind bad_value, the text as subject.
absl::Status BadValue(std::string_view text, std::string_view message) {
  return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, text, message);
}

// Howard Hinnant's days-from-civil and its inverse, written out from their
// published description.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2);
}

int64_t DaysInMonth(int64_t y, int64_t m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

int64_t Pow10(int scale) {
  int64_t p = 1;
  for (int i = 0; i < scale; ++i) p *= 10;
  return p;
}

}  // namespace

std::string FormatDate(int64_t days) {
  int64_t y = 0, m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  std::string out = absl::StrCat(y < 0 ? "-" : "", y < 0 ? -y : y);
  while (out.size() < 4) out.insert(out.begin(), '0');
  absl::StrAppend(&out, m < 10 ? "-0" : "-", m, d < 10 ? "-0" : "-", d);
  return out;
}

int64_t ShiftDate(int64_t today, int64_t amount, char unit) {
  switch (unit) {
    case 'd':
      return today + amount;
    case 'w':
      return today + 7 * amount;
    default: {
      const int64_t months = unit == 'y' ? 12 * amount : amount;
      int64_t y = 0, m = 0, d = 0;
      CivilFromDays(today, &y, &m, &d);
      int64_t total = y * 12 + (m - 1) + months;
      int64_t ny = total >= 0 ? total / 12 : -((-total + 11) / 12);
      int64_t nm = total - ny * 12 + 1;
      return DaysFromCivil(ny, nm, std::min(d, DaysInMonth(ny, nm)));
    }
  }
}

int64_t TodayUtc() {
  const auto now = std::chrono::system_clock::now();
  const int64_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
}

absl::StatusOr<int64_t> ParseDecimal(std::string_view text, int scale) {
  std::string_view s = text;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative || (!s.empty() && s[0] == '+')) s.remove_prefix(1);
  const size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    for (char c : d) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  };
  if (whole.empty() || !digits(whole) || !digits(frac) ||
      (dot != std::string_view::npos && frac.empty())) {
    return BadValue(text, absl::StrCat("\"", std::string(text), "\" is not a decimal number"));
  }
  if (static_cast<int>(frac.size()) > scale) {
    return BadValue(text, absl::StrCat(std::string(text), " has ", frac.size(),
                                       " decimals, more than the scale of ", scale,
                                       " (values are never rounded)"));
  }
  // Accumulate negatively so that the int64 minimum is representable.
  int64_t v = 0;
  auto push = [&](char c) {
    if (v < (std::numeric_limits<int64_t>::min() + (c - '0')) / 10) return false;
    v = v * 10 - (c - '0');
    return true;
  };
  bool ok = true;
  for (char c : whole) ok = ok && push(c);
  for (char c : frac) ok = ok && push(c);
  for (int i = static_cast<int>(frac.size()); i < scale; ++i) ok = ok && push('0');
  if (!ok || (!negative && v == std::numeric_limits<int64_t>::min())) {
    return BadValue(text, absl::StrCat(std::string(text),
                                       " is outside the range of a decimal of scale ", scale));
  }
  return negative ? v : -v;
}

std::string FormatDecimal(int64_t value, int scale) {
  if (scale == 0) return absl::StrCat(value);
  const uint64_t mag = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  const uint64_t p = static_cast<uint64_t>(Pow10(scale));
  std::string frac = absl::StrCat(mag % p);
  while (static_cast<int>(frac.size()) < scale) frac.insert(frac.begin(), '0');
  return absl::StrCat(value < 0 ? "-" : "", mag / p, ".", frac);
}

std::string FormatAttribute(AttributeType type, int scale, int64_t value) {
  switch (type) {
    case AttributeType::kDecimal:
      return FormatDecimal(value, scale);
    case AttributeType::kDate:
      return FormatDate(value);
    default:
      return absl::StrCat(value);
  }
}

absl::StatusOr<int64_t> ParseAttribute(AttributeType type, int scale, std::string_view text) {
  switch (type) {
    case AttributeType::kDecimal:
      return ParseDecimal(text, scale);
    case AttributeType::kDate: {
      int64_t days = 0;
      if (!ParseIsoDate(text, &days)) {
        return BadValue(text, absl::StrCat("\"", std::string(text),
                                           "\" is not an ISO date (YYYY-MM-DD, a valid day)"));
      }
      return days;
    }
    default: {
      int64_t v = 0;
      const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
      if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
        return BadValue(text, absl::StrCat("\"", std::string(text), "\" is not an int64 integer"));
      }
      return v;
    }
  }
}

const char* AttributeTypeName(AttributeType type) {
  switch (type) {
    case AttributeType::kInt64:
      return "integer";
    case AttributeType::kDecimal:
      return "decimal";
    case AttributeType::kDate:
      return "date";
  }
  return "?";
}

}  // namespace tagindex::query
