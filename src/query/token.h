// Tokens of the query language (docs/query_language.md, lexical level).
#ifndef TAGINDEX_QUERY_TOKEN_H_
#define TAGINDEX_QUERY_TOKEN_H_

#include <cstddef>
#include <string>
#include <vector>

namespace tagindex::query {

enum class TokenKind {
  kName,    // bare word (not a reserved keyword)
  kQuoted,  // "..." or 「...」; text is the decoded name
  kLParen,
  kRParen,
  kAnd,
  kOr,
  kXor,
  kNot,
  kAll,
  kNone,
  kColon,
  kComma,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;   // name text (decoded for quoted names); spelling otherwise
  size_t offset = 0;  // byte offset of the token in the query
  size_t length = 0;  // bytes
};

const char* TokenKindName(TokenKind kind);

// "NAME(高价值客户) AND NOT QUOTED(AND) END"
std::string DebugString(const std::vector<Token>& tokens);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_TOKEN_H_
