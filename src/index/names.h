// Validation and normalisation of tag/category names, descriptions and keys.
#ifndef TAGINDEX_INDEX_NAMES_H_
#define TAGINDEX_INDEX_NAMES_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tagindex/options.h"

namespace tagindex::internal {

// Trims Unicode white space and checks a tag or category name: valid UTF-8,
// non-empty (unless `allow_empty`, for "no category"), no control
// characters, within the byte and code point limits. `what` names the thing
// in messages ("tag name", "category name").
absl::StatusOr<std::string> NormalizeName(std::string_view name, const char* what,
                                          const IndexOptions& options, bool allow_empty = false);

// Checks a description: valid UTF-8 within max_description_bytes.
absl::Status ValidateDescription(std::string_view description, const IndexOptions& options);

// Checks a string customer key: non-empty, valid UTF-8, within
// max_string_key_bytes. Keys are not trimmed: they are the host's bytes.
absl::Status ValidateStringKey(std::string_view key, const IndexOptions& options);

// InvalidArgument with an ErrorInfo of kind bad_key (subject: the key as
// given; `limit`: the option it exceeds, if any).
absl::Status BadKey(std::string_view key, std::string_view message, std::string_view limit = {});

// Renders a string for an error message: quoted, cut to 64 bytes on a code
// point boundary, invalid bytes shown as \xNN.
std::string Quote(std::string_view s);

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_NAMES_H_
