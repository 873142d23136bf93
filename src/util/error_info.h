// Building statuses that carry the ErrorInfo payload (tagindex/errors.h).
// Every error site of the library that a program would act on goes
// through these, so the payload's encoding lives in one file
// (error_info.cc).
#ifndef TAGINDEX_UTIL_ERROR_INFO_H_
#define TAGINDEX_UTIL_ERROR_INFO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tagindex/errors.h"

namespace tagindex::util {

// A status with `code`, `message` and an ErrorInfo of `kind` and `subject`.
absl::Status Error(absl::StatusCode code, ErrorKind kind, std::string_view subject,
                   std::string_view message);
// The same with a full ErrorInfo (suggestions, path, offset, limit, ...).
absl::Status Error(absl::StatusCode code, std::string_view message, const ErrorInfo& info);

// `kind` and `subject` in an ErrorInfo (a shorthand for the above).
ErrorInfo Info(ErrorKind kind, std::string_view subject);

// An ErrorInfo about an id: subject "<what> <id>" ("tag id 7"), and `id`.
ErrorInfo IdInfo(ErrorKind kind, std::string_view what, uint64_t id);

// A `limit` ErrorInfo: subject and limit are `option` ("IndexOptions::max_tags").
ErrorInfo LimitInfo(std::string_view option);

// A `corrupt_file` status: DataLoss, `message`, path and (if known) offset.
absl::Status CorruptFile(std::string_view path, std::optional<uint64_t> offset,
                         std::string_view message);

// Sets an ErrorInfo of `kind` / `subject` on `status` unless it has one
// already (a lower layer's payload is more precise); returns it.
absl::Status WithInfo(absl::Status status, ErrorKind kind, std::string_view subject);

// `status` with a new message: the same code and every payload kept.
absl::Status WithMessage(const absl::Status& status, std::string_view message);

}  // namespace tagindex::util

#endif  // TAGINDEX_UTIL_ERROR_INFO_H_
