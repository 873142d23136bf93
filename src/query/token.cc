#include "query/token.h"

#include "absl/strings/str_cat.h"

namespace tagindex::query {

const char* TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kName:
      return "NAME";
    case TokenKind::kQuoted:
      return "QUOTED";
    case TokenKind::kLParen:
      return "(";
    case TokenKind::kRParen:
      return ")";
    case TokenKind::kAnd:
      return "AND";
    case TokenKind::kOr:
      return "OR";
    case TokenKind::kXor:
      return "XOR";
    case TokenKind::kNot:
      return "NOT";
    case TokenKind::kAll:
      return "ALL";
    case TokenKind::kNone:
      return "NONE";
    case TokenKind::kColon:
      return ":";
    case TokenKind::kComma:
      return ",";
    case TokenKind::kEq:
      return "=";
    case TokenKind::kNe:
      return "!=";
    case TokenKind::kLt:
      return "<";
    case TokenKind::kLe:
      return "<=";
    case TokenKind::kGt:
      return ">";
    case TokenKind::kGe:
      return ">=";
    case TokenKind::kEnd:
      return "END";
  }
  return "?";
}

std::string DebugString(const std::vector<Token>& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    if (!out.empty()) out += ' ';
    out += TokenKindName(t.kind);
    if (t.kind == TokenKind::kName || t.kind == TokenKind::kQuoted) {
      absl::StrAppend(&out, "(", t.text, ")");
    }
  }
  return out;
}

}  // namespace tagindex::query
