// The abstract syntax tree produced by the parser. Stage 2 of the pipeline.
#ifndef TAGINDEX_QUERY_AST_H_
#define TAGINDEX_QUERY_AST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tagindex::query {

// A value on the right of a predicate. `text` is always the source spelling
// (decoded for quoted values), so a category value that looks like a number
// ("2024") still names its tag.
struct Value {
  // kRelativeDate: `today`, `today - 90d`, `today + 2w` (units d, w, m, y);
  // resolved against QueryOptions::today by the binder.
  enum class Kind { kName, kInteger, kDecimal, kDate, kRelativeDate };
  Kind kind = Kind::kName;
  std::string text;
  int64_t integer = 0;  // kInteger; kDate: days since 1970-01-01; kRelativeDate: signed amount
  char unit = 'd';      // kRelativeDate: 'd', 'w', 'm' or 'y'
  size_t offset = 0;
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };
const char* CompareOpName(CompareOp op);

struct AstNode {
  enum class Kind {
    kTag,  // [category:]name
    kAll,
    kNone,
    kNot,  // children[0]
    kAnd,  // n-ary, >= 2 children
    kOr,
    kXor,
    kCompare,  // subject op values[0]
    kIn,       // subject [NOT] IN (values...)
    kBetween,  // subject [NOT] BETWEEN values[0] AND values[1]
    kIsNull,   // subject IS [NOT] NULL
  };
  Kind kind = Kind::kTag;
  size_t offset = 0;  // where the node starts in the text (for errors)

  // kTag: name and optional category; quoted names are flagged (a quoted
  // name is never split around keywords in suggestions).
  std::string name;
  std::string category;
  bool qualified = false;
  bool quoted = false;

  // Predicates: `name` is the subject; `negated` for NOT IN / NOT BETWEEN /
  // IS NOT NULL.
  CompareOp op = CompareOp::kEq;
  bool negated = false;
  std::vector<Value> values;

  std::vector<std::unique_ptr<AstNode>> children;
};

// "(AND 高价值客户 电子产品 (NOT 流失风险))". Names that would not lex back as
// a bare name are printed quoted. Recursion is bounded by the parser's
// max_depth.
std::string DebugString(const AstNode& node);

// Renders a name the way it would have to be written in a query.
std::string FormatName(const std::string& name);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_AST_H_
