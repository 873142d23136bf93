// Printing helpers of the `tagindex` command: aligned tables (CJK-aware),
// JSON strings, CSV fields, a progress bar, and error rendering with exit
// codes. Nothing here knows about the index beyond absl::Status.
#ifndef TAGINDEX_CLI_OUTPUT_H_
#define TAGINDEX_CLI_OUTPUT_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tagindex/types.h"

namespace tagindex::cli {

// Exit codes: 0 success, 1 the user's error (bad arguments, bad query,
// unknown tag, bad input file), 2 an internal or I/O error (corrupt index,
// disk full, bug).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUser = 1;
inline constexpr int kExitInternal = 2;

// The exit code of an error: from its ErrorInfo kind (tagindex/errors.h)
// when it has one — io, corrupt_file, out_of_memory and internal are 2,
// every other known kind (unknown_*, not_found, bad_*, limit, busy,
// precondition, ...) is 1 — else from its status code.
int ExitCodeFor(const absl::Status& status);

// With --json, errors are also printed on stdout as one JSON object:
// {"error":{"code":"INVALID_ARGUMENT","exit_code":1,"message":...,
//  "kind":"bad_value" (null without an ErrorInfo),"subject":...,
//  and "path", "offset", "limit", "detail", "suggestions" when present}}.
void SetJsonErrors(bool on);
std::string ErrorJson(const absl::Status& status);

// Prints "tagindex: error: MESSAGE" on stderr, with the caret snippet of a
// query error when the message does not already hold it (and the JSON
// object on stdout under SetJsonErrors), and returns the exit code for
// `status`.
int ReportError(const absl::Status& status);

// Terminal cells of a UTF-8 string (East Asian wide characters are two).
size_t DisplayWidth(std::string_view s);

// "1,234,567"
std::string Thousands(uint64_t n);
// "12.3 µs", "4.56 ms", "1.23 s"
std::string Duration(double seconds);

// A JSON string literal.
std::string JsonString(std::string_view s);
// A CSV field, quoted when needed (RFC 4180).
std::string CsvField(std::string_view s);

// Columns aligned by display width; numbers right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::vector<bool> right_aligned = {});
  void Add(std::vector<std::string> row);
  void Print(std::FILE* out) const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// `tagindex tags`: the tag list as a table or (`json`) one JSON array, the
// same fields for an index and a sharded index (a category's exclusivity is
// looked up in `categories`). Returns the exit code.
int PrintTagList(const std::vector<TagInfo>& tags, const std::vector<CategoryInfo>& categories,
                 bool json);

// A one-line progress bar on stderr, redrawn at most 10 times a second; does
// nothing unless stderr is a terminal (or `force`).
class ProgressBar {
 public:
  explicit ProgressBar(std::string label, bool enabled);
  // `done` and `total` in bytes; `rows` for the rate.
  void Update(uint64_t done, uint64_t total, uint64_t rows, double seconds);
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  double last_ = -1;
};

}  // namespace tagindex::cli

#endif  // TAGINDEX_CLI_OUTPUT_H_
