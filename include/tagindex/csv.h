// tagindex::CsvReader — a small, fast reader of RFC 4180 CSV.
//
// What it accepts:
//   - UTF-8 text with or without a byte order mark (skipped);
//   - records ending in LF or CRLF (the last record may lack one);
//   - quoted fields ("...") holding separators, CR, LF and doubled quotes
//     (""), which decode to one quote;
//   - a configurable one-byte separator (',' by default; '\t', ';', '|').
// What it rejects, as an error naming the line and column (1-based, in code
// points) where the problem is:
//   - a quote inside an unquoted field (`ab"c`);
//   - anything but a separator or a line end after a closing quote (`"ab"c`);
//   - a quoted field still open at the end of the input;
//   - a record longer than CsvOptions::max_record_bytes.
// After a malformed record the reader resynchronises at the next line end
// outside quotes as far as it can tell, so a caller can report the record
// and go on (an unterminated quote consumes the rest of the input: nothing
// after it can be trusted).
//
// Fields are not trimmed, not converted and not checked for UTF-8: that is
// the caller's business (the importer reports invalid UTF-8 per row).
//
// Example:
//
//   auto reader = tagindex::CsvReader::OpenFile("customers.csv").value();
//   tagindex::CsvRecord record;
//   while (true) {
//     absl::StatusOr<bool> more = reader->Next(&record);
//     if (!more.ok()) { /* malformed record: more.status(); Next() goes on */ continue; }
//     if (!*more) break;
//     for (std::string_view field : record.fields) Use(field);
//   }
//
// Errors of Next(): InvalidArgument "csv: FILE: line L, column C: problem"
// (ErrorInfo kind bad_value, path FILE, offset the byte).
// Errors of OpenFile(): the errno mapping of tagindex/file_system.h (NotFound
// for ENOENT, PermissionDenied, ResourceExhausted, else Unavailable; never
// Internal), naming the path, with ErrorInfo kind io (not_found for ENOENT).
//
// Thread safety: a CsvReader is used by one thread at a time. The views in a
// CsvRecord are valid until the next call of Next() on the same reader.
#ifndef TAGINDEX_CSV_H_
#define TAGINDEX_CSV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tagindex {

struct CsvOptions {
  // Field separator; must not be '"', CR or LF.
  char separator = ',';
  // The longest record accepted (all its fields and separators), in bytes; a
  // longer one is a malformed record. Bounds memory on hostile input.
  size_t max_record_bytes = 16 << 20;
};

// One record (row) of the file.
struct CsvRecord {
  // The fields, decoded (quotes removed, "" turned into "). Valid until the
  // next Next() call.
  std::vector<std::string_view> fields;
  // Line on which the record starts (1-based; the header is line 1), and
  // the line on which it ends (larger when a quoted field holds newlines).
  uint64_t line = 0;
  uint64_t end_line = 0;
  // The record's bytes as they appear in the input, without the line end.
  std::string_view raw;
};

class CsvReader {
 public:
  // Memory-maps `path` (read-only) and reads from it. `name` in messages is
  // the path.
  static absl::StatusOr<std::unique_ptr<CsvReader>> OpenFile(const std::string& path,
                                                             const CsvOptions& options = {});
  // Reads from a copy of `data`; `name` is used in messages.
  static std::unique_ptr<CsvReader> FromString(std::string data, std::string name = "<string>",
                                               const CsvOptions& options = {});

  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into `record`. Returns true when a record was
  // read, false at the end of the input. A malformed record is an
  // InvalidArgument error (see the file comment); `record->line`,
  // `end_line` and `raw` then describe it, and the next call continues after
  // it. Blank lines (nothing between two line ends) are skipped.
  absl::StatusOr<bool> Next(CsvRecord* record);

  // Bytes consumed so far and the input's size (for progress reporting).
  uint64_t bytes_consumed() const;
  uint64_t total_bytes() const;
  const std::string& name() const;

 private:
  struct Impl;
  explicit CsvReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tagindex

#endif  // TAGINDEX_CSV_H_
