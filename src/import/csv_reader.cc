#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tagindex/csv.h"
#include "util/error_info.h"
#include "util/utf8.h"

namespace tagindex {
namespace {

// A file that cannot be read: the errno mapping of the storage layer
// (tagindex/file_system.h), never Internal; kind io (not_found for ENOENT).
absl::Status FileError(const char* what, const std::string& path, int e) {
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (e == ENOENT) code = absl::StatusCode::kNotFound;
  if (e == ENOSPC || e == EDQUOT || e == ENOMEM) code = absl::StatusCode::kResourceExhausted;
  if (e == EACCES || e == EPERM || e == EROFS) code = absl::StatusCode::kPermissionDenied;
  ErrorInfo info = util::Info(e == ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo, path);
  info.path = path;
  info.detail = std::strerror(e);
  return util::Error(code, absl::StrCat("csv: ", what, " ", path, ": ", std::strerror(e)), info);
}

}  // namespace

struct CsvReader::Impl {
  std::string name;
  CsvOptions options;
  std::string owned;  // FromString
  void* map = nullptr;
  size_t map_size = 0;
  std::string_view data;
  size_t pos = 0;
  uint64_t line = 1;
  // Decoded quoted fields; the record's views point here or into `data`.
  std::string scratch;
  // (offset, length, in_scratch) per field, turned into views at the end of
  // a record, when `scratch` no longer grows.
  struct Span {
    size_t offset;
    size_t length;
    bool in_scratch;
  };
  std::vector<Span> spans;
  // 1 for bytes that end an unquoted run: separator, CR, LF, quote.
  bool stop[256] = {};
  bool bad_separator = false;

  ~Impl() {
    if (map != nullptr) munmap(map, map_size);
  }

  void Init() {
    bad_separator =
        options.separator == '"' || options.separator == '\r' || options.separator == '\n';
    stop[static_cast<unsigned char>(options.separator)] = true;
    stop[static_cast<unsigned char>('\r')] = true;
    stop[static_cast<unsigned char>('\n')] = true;
    stop[static_cast<unsigned char>('"')] = true;
    if (data.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  }

  // Start of the line holding byte `at`, for columns.
  size_t LineStart(size_t at) const {
    size_t p = at;
    while (p > 0 && data[p - 1] != '\n') --p;
    return p;
  }

  absl::Status Error(size_t at, uint64_t at_line, std::string_view problem) const {
    size_t start = LineStart(at);
    if (start == 0 && at >= 3 && data.substr(0, 3) == "\xEF\xBB\xBF") start = 3;
    size_t column = util::CountCodePoints(data.substr(start, at - start)) + 1;
    ErrorInfo info = util::Info(ErrorKind::kBadValue, name);
    info.path = name;
    info.offset = at;
    return util::Error(absl::StatusCode::kInvalidArgument,
                       absl::StrCat("csv: ", name, ": line ", at_line, ", column ", column, ": ",
                                    absl::string_view(problem.data(), problem.size())),
                       info);
  }

  // Skips to just after the next LF (quotes ignored): resynchronisation
  // after a malformed record.
  void SkipLine() {
    while (pos < data.size() && data[pos] != '\n') ++pos;
    if (pos < data.size()) {
      ++pos;
      ++line;
    }
  }

  absl::StatusOr<bool> Next(CsvRecord* record) {
    if (bad_separator) {
      return absl::InvalidArgumentError("csv: the separator must not be a quote or a line end");
    }
    const char sep = options.separator;
    // Blank lines are skipped.
    while (pos < data.size() && (data[pos] == '\n' || (data[pos] == '\r' && pos + 1 < data.size() &&
                                                       data[pos + 1] == '\n'))) {
      pos += data[pos] == '\r' ? 2 : 1;
      ++line;
    }
    record->fields.clear();
    spans.clear();
    scratch.clear();
    if (pos >= data.size()) return false;
    const size_t record_start = pos;
    record->line = line;
    auto finish_raw = [&](size_t end) {
      size_t e = end;
      if (e > record_start && data[e - 1] == '\r') --e;
      record->raw = data.substr(record_start, e - record_start);
      record->end_line = line;
    };
    auto fail = [&](size_t at, uint64_t at_line, std::string_view problem) -> absl::Status {
      absl::Status status = Error(at, at_line, problem);
      record->end_line = line;
      SkipLine();
      size_t end = pos;
      if (end > record_start && data[end - 1] == '\n') --end;
      if (end > record_start && data[end - 1] == '\r') --end;
      record->raw = data.substr(record_start, end - record_start);
      record->fields.clear();
      return status;
    };
    const size_t n = data.size();
    const char* d = data.data();
    while (true) {
      if (pos - record_start > options.max_record_bytes) {
        return fail(pos, line,
                    absl::StrCat("record longer than ", options.max_record_bytes, " bytes"));
      }
      if (pos < n && d[pos] == '"') {
        // Quoted field.
        const size_t open = pos;
        const uint64_t open_line = line;
        ++pos;
        size_t offset = scratch.size();
        while (true) {
          size_t run = pos;
          while (pos < n && d[pos] != '"') {
            if (d[pos] == '\n') ++line;
            ++pos;
          }
          scratch.append(d + run, pos - run);
          if (pos >= n) {
            absl::Status status = Error(open, open_line, "quoted field not closed before the end");
            record->raw = data.substr(record_start);
            record->end_line = line;
            record->fields.clear();
            return status;
          }
          if (pos - record_start > options.max_record_bytes) {
            return fail(pos, line,
                        absl::StrCat("record longer than ", options.max_record_bytes, " bytes"));
          }
          // d[pos] == '"'
          if (pos + 1 < n && d[pos + 1] == '"') {
            scratch.push_back('"');
            pos += 2;
            continue;
          }
          ++pos;  // closing quote
          break;
        }
        spans.push_back({offset, scratch.size() - offset, true});
        if (pos >= n) {
          finish_raw(pos);
          break;
        }
        char c = d[pos];
        if (c == sep) {
          ++pos;
          continue;
        }
        if (c == '\n') {
          finish_raw(pos);
          ++pos;
          ++line;
          break;
        }
        if (c == '\r' && pos + 1 < n && d[pos + 1] == '\n') {
          finish_raw(pos + 1);
          pos += 2;
          ++line;
          break;
        }
        return fail(pos, line,
                    "unexpected character after a closing quote (expected a separator "
                    "or the end of the line)");
      }
      // Unquoted field.
      size_t start = pos;
      while (true) {
        while (pos < n && !stop[static_cast<unsigned char>(d[pos])]) ++pos;
        // A CR not followed by LF is data.
        if (pos < n && d[pos] == '\r' && !(pos + 1 < n && d[pos + 1] == '\n')) {
          ++pos;
          continue;
        }
        break;
      }
      if (pos < n && d[pos] == '"') {
        return fail(pos, line,
                    "quote inside an unquoted field (quote the whole field and double "
                    "the quote)");
      }
      spans.push_back({start, pos - start, false});
      if (pos >= n) {
        finish_raw(pos);
        break;
      }
      char c = d[pos];
      if (c == sep) {
        ++pos;
        continue;
      }
      if (c == '\n') {
        finish_raw(pos);
        ++pos;
        ++line;
        break;
      }
      // CRLF
      finish_raw(pos + 1);
      pos += 2;
      ++line;
      break;
    }
    record->fields.reserve(spans.size());
    for (const Span& s : spans) {
      record->fields.push_back(s.in_scratch ? std::string_view(scratch).substr(s.offset, s.length)
                                            : data.substr(s.offset, s.length));
    }
    return true;
  }
};

CsvReader::CsvReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CsvReader::~CsvReader() = default;

absl::StatusOr<std::unique_ptr<CsvReader>> CsvReader::OpenFile(const std::string& path,
                                                               const CsvOptions& options) {
  if (options.separator == '"' || options.separator == '\r' || options.separator == '\n') {
    return absl::InvalidArgumentError("csv: the separator must not be a quote or a line end");
  }
  auto impl = std::make_unique<Impl>();
  impl->name = path;
  impl->options = options;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return FileError("cannot open", path, e);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return FileError("cannot stat", path, e);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, path,
                       absl::StrCat("csv: ", path, " is a directory"));
  }
  if (st.st_size > 0) {
    void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      return FileError("cannot map", path, e);
    }
    madvise(map, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
    impl->map = map;
    impl->map_size = static_cast<size_t>(st.st_size);
    impl->data = std::string_view(static_cast<const char*>(map), impl->map_size);
  }
  ::close(fd);
  impl->Init();
  return std::unique_ptr<CsvReader>(new CsvReader(std::move(impl)));
}

std::unique_ptr<CsvReader> CsvReader::FromString(std::string data, std::string name,
                                                 const CsvOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->name = std::move(name);
  impl->options = options;
  impl->owned = std::move(data);
  impl->data = impl->owned;
  impl->Init();
  return std::unique_ptr<CsvReader>(new CsvReader(std::move(impl)));
}

absl::StatusOr<bool> CsvReader::Next(CsvRecord* record) { return impl_->Next(record); }
uint64_t CsvReader::bytes_consumed() const { return impl_->pos; }
uint64_t CsvReader::total_bytes() const { return impl_->data.size(); }
const std::string& CsvReader::name() const { return impl_->name; }

}  // namespace tagindex
