// Attribute values as text: ISO dates, relative dates, fixed-point decimals.
// Shared by the binder (query literals) and the Index (ParseAttributeValue,
// FormatAttributeValue).
#ifndef TAGINDEX_QUERY_ATTRIBUTE_VALUE_H_
#define TAGINDEX_QUERY_ATTRIBUTE_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tagindex/types.h"

namespace tagindex::query {

// "2026-08-01" -> days since 1970-01-01 (a valid proleptic Gregorian day,
// years 0000-9999). Implemented in parser.cc beside the literal classifier.
bool ParseIsoDate(std::string_view s, int64_t* days);
// "90d", "12w", "6m", "1y" (case-insensitive unit, up to 7 digits).
bool ParseDateOffset(std::string_view s, int64_t* amount, char* unit);

// The ISO date of a day number ("1969-12-31" for -1).
std::string FormatDate(int64_t days);
// `today` moved by `amount` units: days, weeks, calendar months (the day of
// the month is clamped to the month's length: 2026-03-31 - 1m = 2026-02-28)
// or years (12 months).
int64_t ShiftDate(int64_t today, int64_t amount, char unit);
// Today's date in UTC.
int64_t TodayUtc();

// "12.5" at scale 2 -> 1250; "-0.07" -> -7; "3" -> 300. Errors
// (InvalidArgument, message without a component prefix): more decimals than
// the scale ("12.345 has 3 decimals, more than the scale of 2"), not a
// number, or out of the int64 range once scaled.
absl::StatusOr<int64_t> ParseDecimal(std::string_view text, int scale);
// 1250 at scale 2 -> "12.50".
std::string FormatDecimal(int64_t value, int scale);

// Text of a stored value: integer, decimal or ISO date.
std::string FormatAttribute(AttributeType type, int scale, int64_t value);
// The stored value of a text: "42" (int64), "12.50" / "12" (decimal), ISO
// date (date). Errors: InvalidArgument naming the problem.
absl::StatusOr<int64_t> ParseAttribute(AttributeType type, int scale, std::string_view text);

const char* AttributeTypeName(AttributeType type);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_ATTRIBUTE_VALUE_H_
