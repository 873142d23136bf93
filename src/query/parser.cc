#include "query/parser.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "query/attribute_value.h"
#include "query/habits.h"
#include "query/lexer.h"
#include "query/query_error.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex::query {
namespace {

using K = AstNode::Kind;
using NodePtr = std::unique_ptr<AstNode>;

constexpr uint32_t kHardMaxDepth = 256;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// civil-from-days inverse, written out from its published description).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool ParseDate(std::string_view s, int64_t* days) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!IsDigit(s[i])) return false;
  }
  auto num = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  const int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return false;
  *days = DaysFromCivil(y, m, d);
  return true;
}

}  // namespace

bool ParseIsoDate(std::string_view s, int64_t* days) { return ParseDate(s, days); }

bool ParseDateOffset(std::string_view s, int64_t* amount, char* unit) {
  if (s.size() < 2 || s.size() > 8) return false;
  const char u = s.back();
  if (u != 'd' && u != 'w' && u != 'm' && u != 'y' && u != 'D' && u != 'W' && u != 'M' &&
      u != 'Y') {
    return false;
  }
  int64_t n = 0;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (!IsDigit(s[i])) return false;
    n = n * 10 + (s[i] - '0');
  }
  *amount = n;
  *unit = static_cast<char>(u | 0x20);  // lower case
  return true;
}

namespace {

bool IsEnglishWord(const Token& t, const char* upper) {
  return t.kind == TokenKind::kName && absl::EqualsIgnoreCase(t.text, upper);
}

std::string Describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd:
      return "end of query";
    case TokenKind::kName:
    case TokenKind::kQuoted:
      return QuoteForMessage(t.text);
    default:
      return absl::StrCat("\"", t.text, "\"");
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::vector<Token>& tokens, const QueryOptions& options)
      : text_(text), tokens_(tokens), options_(options) {}

  absl::StatusOr<NodePtr> ParseAll() {
    if (Peek().kind == TokenKind::kEnd) {
      return Error(absl::StatusCode::kInvalidArgument, Peek(), "empty query");
    }
    TI_ASSIGN_OR_RETURN(NodePtr root, ParseBinary(TokenKind::kOr, 0));
    const Token& t = Peek();
    if (t.kind == TokenKind::kEnd) return root;
    if (t.kind == TokenKind::kRParen) {
      return Error(absl::StatusCode::kInvalidArgument, t, "unmatched \")\"");
    }
    if (StartsOperand(t) && !(t.kind == TokenKind::kName && FindHabit(t.text))) {
      const Token& prev = tokens_[pos_ - 1];
      std::string before(text_.substr(0, prev.offset + prev.length));
      // The message is one line: line breaks and tabs of the query become
      // spaces, and QuoteForMessage replaces other control characters.
      std::string suggestion =
          absl::StrCat(before, " AND ", t.kind == TokenKind::kName ? t.text : FormatName(t.text));
      for (char& c : suggestion) {
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
      }
      return Error(absl::StatusCode::kInvalidArgument, t,
                   absl::StrCat("expected an operator between operands, found ", Describe(t),
                                " (did you mean ", QuoteForMessage(suggestion), "?)"));
    }
    return Error(absl::StatusCode::kInvalidArgument, t, absl::StrCat("unexpected ", Describe(t)));
  }

 private:
  static bool StartsOperand(const Token& t) {
    switch (t.kind) {
      case TokenKind::kName:
      case TokenKind::kQuoted:
      case TokenKind::kLParen:
      case TokenKind::kNot:
      case TokenKind::kAll:
      case TokenKind::kNone:
        return true;
      default:
        return false;
    }
  }

  const Token& Peek(size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }

  // Syntax errors name the habit (full-width punctuation, SQL) that most
  // likely caused them, wherever it is in the query (habits.h).
  absl::Status Error(absl::StatusCode code, const Token& at, std::string_view message) const {
    if (code == absl::StatusCode::kInvalidArgument) {
      if (std::optional<Habit> h = FindHabitInQuery(text_)) {
        return QueryError(
            code, text_, at.offset,
            absl::StrCat(absl::string_view(message.data(), message.size()), "; hint: column ",
                         LocateInQuery(text_, h->offset).column, ": ", h->hint));
      }
    }
    return QueryError(code, text_, at.offset, message);
  }
  absl::Status Limit(const Token& at, std::string_view message, std::string_view option) const {
    return QueryError(absl::StatusCode::kResourceExhausted, text_, at.offset, message,
                      util::LimitInfo(option));
  }

  absl::Status CountOperand(const Token& at) {
    if (++operands_ > options_.max_operands) {
      return Limit(at,
                   absl::StrCat("query has more than ", options_.max_operands,
                                " operands (QueryOptions::max_operands)"),
                   "QueryOptions::max_operands");
    }
    return absl::OkStatus();
  }

  absl::Status Enter(const Token& at, uint32_t depth) const {
    // Every later stage recurses over the tree, so the stack bounds the
    // depth whatever the options say.
    const uint32_t limit = std::min(options_.max_depth, kHardMaxDepth);
    if (depth > limit) {
      return Limit(
          at, absl::StrCat("query nests deeper than ", limit, " levels (QueryOptions::max_depth)"),
          "QueryOptions::max_depth");
    }
    return absl::OkStatus();
  }

  // One loop for the three binary levels: OR over XOR over AND over unary.
  absl::StatusOr<NodePtr> ParseBinary(TokenKind op, uint32_t depth) {
    const TokenKind lower = op == TokenKind::kOr    ? TokenKind::kXor
                            : op == TokenKind::kXor ? TokenKind::kAnd
                                                    : TokenKind::kEnd;
    auto operand = [&]() -> absl::StatusOr<NodePtr> {
      if (lower == TokenKind::kEnd) return ParseUnary(depth);
      return ParseBinary(lower, depth);
    };
    const size_t start = Peek().offset;
    TI_ASSIGN_OR_RETURN(NodePtr first, operand());
    if (Peek().kind != op) return first;
    auto node = std::make_unique<AstNode>();
    node->kind = op == TokenKind::kOr ? K::kOr : op == TokenKind::kXor ? K::kXor : K::kAnd;
    node->offset = start;
    node->children.push_back(std::move(first));
    while (Peek().kind == op) {
      Take();
      TI_ASSIGN_OR_RETURN(NodePtr next, operand());
      node->children.push_back(std::move(next));
    }
    return node;
  }

  absl::StatusOr<NodePtr> ParseUnary(uint32_t depth) {
    const Token& t = Peek();
    if (t.kind != TokenKind::kNot) return ParsePrimary(depth);
    Take();
    TI_RETURN_IF_ERROR(Enter(t, depth + 1));
    auto node = std::make_unique<AstNode>();
    node->kind = K::kNot;
    node->offset = t.offset;
    TI_ASSIGN_OR_RETURN(NodePtr child, ParseUnary(depth + 1));
    node->children.push_back(std::move(child));
    return node;
  }

  absl::Status ExpectedOperand(const Token& t) const {
    if (pos_ > 0) {
      const Token& prev = tokens_[pos_ - 1];
      return Error(
          absl::StatusCode::kInvalidArgument, t,
          absl::StrCat("expected an operand after ", Describe(prev), ", found ", Describe(t)));
    }
    return Error(absl::StatusCode::kInvalidArgument, t,
                 absl::StrCat("expected an operand, found ", Describe(t)));
  }

  absl::StatusOr<NodePtr> ParsePrimary(uint32_t depth) {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kLParen: {
        Take();
        TI_RETURN_IF_ERROR(Enter(t, depth + 1));
        TI_ASSIGN_OR_RETURN(NodePtr inner, ParseBinary(TokenKind::kOr, depth + 1));
        if (Peek().kind != TokenKind::kRParen) {
          const Token& at = Peek();
          if (at.kind == TokenKind::kEnd || !StartsOperand(at)) {
            return Error(
                absl::StatusCode::kInvalidArgument, at,
                absl::StrCat("missing \")\" to close \"(\" at column ",
                             LocateInQuery(text_, t.offset).column, ", found ", Describe(at)));
          }
          return Error(absl::StatusCode::kInvalidArgument, at,
                       absl::StrCat("expected an operator between operands, found ", Describe(at)));
        }
        Take();
        return inner;
      }
      case TokenKind::kAll:
      case TokenKind::kNone: {
        Take();
        auto node = std::make_unique<AstNode>();
        node->kind = t.kind == TokenKind::kAll ? K::kAll : K::kNone;
        node->offset = t.offset;
        return node;
      }
      case TokenKind::kName:
      case TokenKind::kQuoted:
        return ParseOperand();
      default:
        return ExpectedOperand(t);
    }
  }

  absl::StatusOr<NodePtr> ParseOperand() {
    const Token& first = Take();
    TI_RETURN_IF_ERROR(CountOperand(first));
    auto node = std::make_unique<AstNode>();
    node->kind = K::kTag;
    node->offset = first.offset;
    node->name = first.text;
    node->quoted = first.kind == TokenKind::kQuoted;
    if (Peek().kind == TokenKind::kColon) {
      Take();
      const Token& second = Peek();
      if (second.kind != TokenKind::kName && second.kind != TokenKind::kQuoted) {
        return Error(absl::StatusCode::kInvalidArgument, second,
                     absl::StrCat("expected a tag name after \"", first.text, ":\", found ",
                                  Describe(second)));
      }
      Take();
      node->qualified = true;
      node->category = std::move(node->name);
      node->name = second.text;
      node->quoted = second.kind == TokenKind::kQuoted;
    }
    return ParsePredicateTail(std::move(node));
  }

  // After an operand: a comparison, [NOT] IN, [NOT] BETWEEN or IS [NOT] NULL
  // turns it into a predicate; IN/BETWEEN/IS/NULL are keywords only here.
  absl::StatusOr<NodePtr> ParsePredicateTail(NodePtr node) {
    const Token& t = Peek();
    bool negated = false;
    size_t look = 0;
    if (t.kind == TokenKind::kNot &&
        (IsEnglishWord(Peek(1), "IN") || IsEnglishWord(Peek(1), "BETWEEN"))) {
      negated = true;
      look = 1;
    }
    const Token& kw = Peek(look);
    const bool compare = look == 0 && (t.kind == TokenKind::kEq || t.kind == TokenKind::kNe ||
                                       t.kind == TokenKind::kLt || t.kind == TokenKind::kLe ||
                                       t.kind == TokenKind::kGt || t.kind == TokenKind::kGe);
    const bool in = IsEnglishWord(kw, "IN") && Peek(look + 1).kind == TokenKind::kLParen;
    const bool between = IsEnglishWord(kw, "BETWEEN");
    const bool is = look == 0 && IsEnglishWord(kw, "IS");
    if (!compare && !in && !between && !is) return node;
    if (node->qualified) {
      return Error(absl::StatusCode::kInvalidArgument, kw,
                   "a category-qualified tag cannot be the subject of a predicate");
    }
    for (size_t i = 0; i <= look; ++i) Take();
    node->negated = negated;
    if (compare) {
      node->kind = K::kCompare;
      switch (t.kind) {
        case TokenKind::kEq:
          node->op = CompareOp::kEq;
          break;
        case TokenKind::kNe:
          node->op = CompareOp::kNe;
          break;
        case TokenKind::kLt:
          node->op = CompareOp::kLt;
          break;
        case TokenKind::kLe:
          node->op = CompareOp::kLe;
          break;
        case TokenKind::kGt:
          node->op = CompareOp::kGt;
          break;
        default:
          node->op = CompareOp::kGe;
          break;
      }
      TI_RETURN_IF_ERROR(ParseValue(node.get()));
      return node;
    }
    if (in) {
      node->kind = K::kIn;
      Take();  // (
      while (true) {
        TI_RETURN_IF_ERROR(ParseValue(node.get()));
        const Token& sep = Peek();
        if (sep.kind == TokenKind::kRParen) {
          Take();
          return node;
        }
        if (sep.kind != TokenKind::kComma) {
          return Error(
              absl::StatusCode::kInvalidArgument, sep,
              absl::StrCat("expected \",\" or \")\" in the IN list, found ", Describe(sep)));
        }
        Take();
      }
    }
    if (between) {
      node->kind = K::kBetween;
      TI_RETURN_IF_ERROR(ParseValue(node.get()));
      if (Peek().kind != TokenKind::kAnd) {
        return Error(absl::StatusCode::kInvalidArgument, Peek(),
                     absl::StrCat("expected AND in BETWEEN, found ", Describe(Peek())));
      }
      Take();
      TI_RETURN_IF_ERROR(ParseValue(node.get()));
      return node;
    }
    node->kind = K::kIsNull;
    if (Peek().kind == TokenKind::kNot) {
      Take();
      node->negated = true;
    }
    if (!IsEnglishWord(Peek(), "NULL")) {
      return Error(absl::StatusCode::kInvalidArgument, Peek(),
                   absl::StrCat("expected NULL after IS", node->negated ? " NOT" : "", ", found ",
                                Describe(Peek())));
    }
    Take();
    return node;
  }

  absl::Status ParseValue(AstNode* node) {
    const Token& t = Peek();
    if (t.kind != TokenKind::kName && t.kind != TokenKind::kQuoted) {
      return Error(absl::StatusCode::kInvalidArgument, t,
                   absl::StrCat("expected a value (name, number or date), found ", Describe(t)));
    }
    Take();
    TI_RETURN_IF_ERROR(CountOperand(t));
    Value v;
    v.text = t.text;
    v.offset = t.offset;
    if (t.kind == TokenKind::kName) Classify(&v);
    // `today - 90d` lexes as three bare words; join them.
    if (v.kind == Value::Kind::kRelativeDate && v.integer == 0 && v.text.size() == 5 &&
        Peek().kind == TokenKind::kName && (Peek().text == "-" || Peek().text == "+")) {
      const Token& sign = Peek();
      const Token& amount = Peek(1);
      int64_t n = 0;
      char unit = 0;
      if (amount.kind != TokenKind::kName || !ParseDateOffset(amount.text, &n, &unit)) {
        return Error(
            absl::StatusCode::kInvalidArgument, amount,
            absl::StrCat("expected a date offset such as 90d, 12w, 6m or 1y after \"today ",
                         sign.text, "\", found ", Describe(amount)));
      }
      v.integer = sign.text == "-" ? -n : n;
      v.unit = unit;
      v.text = absl::StrCat("today ", sign.text, " ", amount.text);
      Take();
      Take();
    }
    node->values.push_back(std::move(v));
    return absl::OkStatus();
  }

  static void Classify(Value* v) {
    const std::string& s = v->text;
    if (absl::StartsWithIgnoreCase(s, "today")) {
      // `today`, or written without spaces: `today-90d`.
      int64_t n = 0;
      char unit = 0;
      if (s.size() == 5) {
        v->kind = Value::Kind::kRelativeDate;
        v->integer = 0;
        return;
      }
      if ((s[5] == '-' || s[5] == '+') &&
          ParseDateOffset(std::string_view(s).substr(6), &n, &unit)) {
        v->kind = Value::Kind::kRelativeDate;
        v->integer = s[5] == '-' ? -n : n;
        v->unit = unit;
        return;
      }
    }
    int64_t days = 0;
    if (ParseDate(s, &days)) {
      v->kind = Value::Kind::kDate;
      v->integer = days;
      return;
    }
    size_t i = s[0] == '-' ? 1 : 0;
    size_t digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++digits;
    if (digits == 0) return;
    if (i == s.size()) {
      int64_t value = 0;
      if (std::from_chars(s.data(), s.data() + s.size(), value).ec == std::errc()) {
        v->kind = Value::Kind::kInteger;
        v->integer = value;
      }
      return;
    }
    if (s[i] != '.') return;
    size_t frac = 0;
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac;
    if (frac > 0 && i == s.size()) v->kind = Value::Kind::kDecimal;
  }

  std::string_view text_;
  const std::vector<Token>& tokens_;
  const QueryOptions& options_;
  size_t pos_ = 0;
  uint32_t operands_ = 0;
};

}  // namespace

absl::StatusOr<NodePtr> Parse(std::string_view text, const std::vector<Token>& tokens,
                              const QueryOptions& options) {
  return Parser(text, tokens, options).ParseAll();
}

absl::StatusOr<NodePtr> ParseQuery(std::string_view text, const QueryOptions& options) {
  TI_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(text, options));
  return Parse(text, tokens, options);
}

}  // namespace tagindex::query
