// Parser: tokens -> AST (docs/query_language.md, syntax level). Stage 2.
#ifndef TAGINDEX_QUERY_PARSER_H_
#define TAGINDEX_QUERY_PARSER_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "query/ast.h"
#include "query/token.h"
#include "tagindex/query.h"

namespace tagindex::query {

// Parses the tokens of `text` (from Lex). Chains of one operator become one
// n-ary node. Errors: InvalidArgument (syntax), ResourceExhausted
// (max_depth, max_operands), with a location payload.
absl::StatusOr<std::unique_ptr<AstNode>> Parse(std::string_view text,
                                               const std::vector<Token>& tokens,
                                               const QueryOptions& options);

// Lex + Parse.
absl::StatusOr<std::unique_ptr<AstNode>> ParseQuery(std::string_view text,
                                                    const QueryOptions& options);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_PARSER_H_
