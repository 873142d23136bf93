#include "query/lexer.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "query/query_error.h"
#include "util/error_info.h"
#include "util/utf8.h"

namespace tagindex::query {
namespace {

constexpr char32_t kOpenCorner = 0x300C;   // 「
constexpr char32_t kCloseCorner = 0x300D;  // 」

bool IsReservedChar(char32_t c) {
  switch (c) {
    case '(':
    case ')':
    case '&':
    case '|':
    case '!':
    case '^':
    case '"':
    case '=':
    case '<':
    case '>':
    case ',':
    case ':':
    case kOpenCorner:
    case kCloseCorner:
      return true;
    default:
      return false;
  }
}

// Keyword kind of a bare word, or kName.
TokenKind KeywordKind(std::string_view word) {
  if (word == "且") return TokenKind::kAnd;
  if (word == "或") return TokenKind::kOr;
  if (word == "非") return TokenKind::kNot;
  if (word.size() < 2 || word.size() > 4) return TokenKind::kName;
  const absl::string_view w(word.data(), word.size());
  if (absl::EqualsIgnoreCase(w, "AND")) return TokenKind::kAnd;
  if (absl::EqualsIgnoreCase(w, "OR")) return TokenKind::kOr;
  if (absl::EqualsIgnoreCase(w, "XOR")) return TokenKind::kXor;
  if (absl::EqualsIgnoreCase(w, "NOT")) return TokenKind::kNot;
  if (absl::EqualsIgnoreCase(w, "ALL")) return TokenKind::kAll;
  if (absl::EqualsIgnoreCase(w, "NONE")) return TokenKind::kNone;
  return TokenKind::kName;
}

// DecodeUtf8 with an ASCII fast path; `text` is already validated.
inline char32_t Next(std::string_view text, size_t& pos) {
  const auto b = static_cast<unsigned char>(text[pos]);
  if (b < 0x80) {
    ++pos;
    return b;
  }
  return util::DecodeUtf8(text, pos);
}

inline bool IsAsciiBareBreak(char32_t c) {
  return c <= ' ' || c == 0x7F || c == '(' || c == ')' || c == '&' || c == '|' || c == '!' ||
         c == '^' || c == '"' || c == '=' || c == '<' || c == '>' || c == ',' || c == ':';
}

}  // namespace

bool IsReservedWord(std::string_view word) { return KeywordKind(word) != TokenKind::kName; }

bool IsBareBreak(char32_t c) {
  if (c < 0x80) return IsAsciiBareBreak(c);
  return util::IsUnicodeSpace(c) || util::IsControl(c) || IsReservedChar(c);
}

absl::StatusOr<std::vector<Token>> Lex(std::string_view text, const QueryOptions& options) {
  if (text.size() > options.max_query_bytes) {
    // The caret marks where the limit is crossed. The message depends only
    // on the text up to a little past the limit, so a binding may pass a
    // bounded prefix of a huge text and get the same error (the Python
    // binding does, to refuse a huge str before copying it).
    return QueryError(absl::StatusCode::kResourceExhausted, text, options.max_query_bytes,
                      absl::StrCat("query is longer than the limit of ", options.max_query_bytes,
                                   " bytes (QueryOptions::max_query_bytes)"),
                      util::LimitInfo("QueryOptions::max_query_bytes"));
  }
  if (std::optional<size_t> bad = util::FindInvalidUtf8(text)) {
    return QueryError(
        absl::StatusCode::kInvalidArgument, text, *bad,
        absl::StrFormat("invalid UTF-8 (byte 0x%02X)", static_cast<unsigned char>(text[*bad])));
  }
  std::vector<Token> tokens;
  tokens.reserve(text.size() / 4 + 2);
  size_t pos = 0;
  auto emit = [&](TokenKind kind, size_t start, std::string spelling) {
    tokens.push_back(Token{kind, std::move(spelling), start, pos - start});
  };
  while (pos < text.size()) {
    const size_t start = pos;
    const char32_t c = Next(text, pos);
    if (c == ' ' || util::IsUnicodeSpace(c)) continue;
    if (util::IsControl(c)) {
      return QueryError(absl::StatusCode::kInvalidArgument, text, start,
                        absl::StrFormat("unexpected control character U+%04X", uint32_t{c}));
    }
    auto next_is = [&](char ch) { return pos < text.size() && text[pos] == ch; };
    switch (c) {
      case '(':
        emit(TokenKind::kLParen, start, "(");
        continue;
      case ')':
        emit(TokenKind::kRParen, start, ")");
        continue;
      case ',':
        emit(TokenKind::kComma, start, ",");
        continue;
      case ':':
        emit(TokenKind::kColon, start, ":");
        continue;
      case '^':
        emit(TokenKind::kXor, start, "^");
        continue;
      case '=':
        if (next_is('=')) {
          return QueryError(absl::StatusCode::kInvalidArgument, text, start,
                            "\"==\" is not an operator (an SQL/C habit): equality is a single "
                            "\"=\", e.g. 城市 = 杭州");
        }
        emit(TokenKind::kEq, start, "=");
        continue;
      case '&':
        if (next_is('&')) ++pos;
        emit(TokenKind::kAnd, start, std::string(text.substr(start, pos - start)));
        continue;
      case '|':
        if (next_is('|')) ++pos;
        emit(TokenKind::kOr, start, std::string(text.substr(start, pos - start)));
        continue;
      case '!':
        if (next_is('=')) {
          ++pos;
          emit(TokenKind::kNe, start, "!=");
        } else {
          emit(TokenKind::kNot, start, "!");
        }
        continue;
      case '<':
        if (next_is('=')) {
          ++pos;
          emit(TokenKind::kLe, start, "<=");
        } else if (next_is('>')) {
          ++pos;
          emit(TokenKind::kNe, start, "<>");
        } else {
          emit(TokenKind::kLt, start, "<");
        }
        continue;
      case '>':
        if (next_is('=')) {
          ++pos;
          emit(TokenKind::kGe, start, ">=");
        } else {
          emit(TokenKind::kGt, start, ">");
        }
        continue;
      case '"': {
        std::string name;
        bool closed = false;
        while (pos < text.size()) {
          char ch = text[pos];
          if (ch == '"') {
            ++pos;
            closed = true;
            break;
          }
          if (ch == '\\') {
            ++pos;
            if (pos >= text.size()) break;
          }
          const size_t at = pos;
          const char32_t q = util::DecodeUtf8(text, pos);
          if (util::IsControl(q)) {
            return QueryError(absl::StatusCode::kInvalidArgument, text, at,
                              absl::StrFormat("unexpected control character U+%04X in a "
                                              "quoted name",
                                              uint32_t{q}));
          }
          name.append(text.substr(at, pos - at));
        }
        if (!closed) {
          return QueryError(absl::StatusCode::kInvalidArgument, text, start,
                            "unterminated quoted name (missing closing \")");
        }
        emit(TokenKind::kQuoted, start, std::move(name));
        continue;
      }
      case kOpenCorner: {
        const size_t body = pos;
        bool closed = false;
        size_t end = body;
        while (pos < text.size()) {
          end = pos;
          const char32_t q = util::DecodeUtf8(text, pos);
          if (q == kCloseCorner) {
            closed = true;
            break;
          }
          if (util::IsControl(q)) {
            return QueryError(absl::StatusCode::kInvalidArgument, text, end,
                              absl::StrFormat("unexpected control character U+%04X in a "
                                              "quoted name",
                                              uint32_t{q}));
          }
        }
        if (!closed) {
          return QueryError(absl::StatusCode::kInvalidArgument, text, start,
                            "unterminated quoted name (missing closing 」)");
        }
        emit(TokenKind::kQuoted, start, std::string(text.substr(body, end - body)));
        continue;
      }
      case kCloseCorner:
        return QueryError(absl::StatusCode::kInvalidArgument, text, start,
                          "」 without an opening 「");
      default:
        break;
    }
    // A bare word: the longest run of non-breaking code points. Only a few
    // lead bytes can start a non-ASCII break (C1 controls, Unicode spaces,
    // 「」), so CJK text is skipped a whole sequence at a time.
    size_t end = pos;
    while (end < text.size()) {
      const auto lead = static_cast<unsigned char>(text[end]);
      if (lead >= 0xC3 && lead != 0xE1 && lead != 0xE2 && lead != 0xE3) {
        end += lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;  // valid UTF-8, checked above
        continue;
      }
      size_t next = end;
      if (IsBareBreak(Next(text, next))) break;
      end = next;
    }
    pos = end;
    std::string word(text.substr(start, end - start));
    const TokenKind kind = KeywordKind(word);
    emit(kind, start, std::move(word));
  }
  tokens.push_back(Token{TokenKind::kEnd, "", text.size(), 0});
  return tokens;
}

}  // namespace tagindex::query
