// Query errors with a structured location payload (see QueryErrorLocation).
#ifndef TAGINDEX_QUERY_QUERY_ERROR_H_
#define TAGINDEX_QUERY_QUERY_ERROR_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tagindex/errors.h"
#include "tagindex/query.h"

namespace tagindex::query {

// Computes line, column (code points) and the caret snippet of `offset`.
QueryErrorLocation LocateInQuery(std::string_view text, size_t offset);

// A status with `code`, the one-line message "query: line L, column C:
// <message>", the location payload and an ErrorInfo: `info` if given, else
// kind query_syntax (limit for ResourceExhausted) with the text at `offset`
// (to the next space or parenthesis, at most 64 bytes) as subject.
absl::Status QueryError(absl::StatusCode code, std::string_view text, size_t offset,
                        std::string_view message);
absl::Status QueryError(absl::StatusCode code, std::string_view text, size_t offset,
                        std::string_view message, const ErrorInfo& info);

// Adds the unknown-tag suggestions to the ErrorInfo of `status`.
void AttachSuggestions(absl::Status& status, const std::vector<std::string>& suggestions);

// "高价值客户" -> "\"高价值客户\"" for messages (cut to 64 bytes).
std::string QuoteForMessage(std::string_view s);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_QUERY_ERROR_H_
