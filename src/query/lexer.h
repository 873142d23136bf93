// Lexer: query text -> tokens. Stage 1 of the pipeline.
#ifndef TAGINDEX_QUERY_LEXER_H_
#define TAGINDEX_QUERY_LEXER_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "query/token.h"
#include "tagindex/query.h"

namespace tagindex::query {

// Splits `text` into tokens ending with a kEnd token. Checks the length limit
// and UTF-8 validity first. Errors: InvalidArgument (bad UTF-8, control
// character, unterminated quote) and ResourceExhausted (max_query_bytes),
// both with a location payload.
absl::StatusOr<std::vector<Token>> Lex(std::string_view text, const QueryOptions& options);

// True if `word` is spelled like a reserved keyword (AND, 且, ...), so a tag
// of that name must be quoted.
bool IsReservedWord(std::string_view word);

// True if `c` ends a bare word (white space, control or reserved character).
bool IsBareBreak(char32_t c);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_LEXER_H_
