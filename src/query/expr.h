// Bound expressions: the AST with names resolved to tags and predicates
// rewritten into tag algebra. The normaliser rewrites these; the planner
// reads them. Stage 3 and 4 of the pipeline.
#ifndef TAGINDEX_QUERY_EXPR_H_
#define TAGINDEX_QUERY_EXPR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bitmap/bsi.h"
#include "tagindex/types.h"

namespace tagindex::query {

struct Expr {
  // kPredicate: the rows whose value of `attribute` lies in any of
  // `intervals` (sorted, disjoint; rows without a value never match).
  enum class Kind { kTag, kAll, kNone, kNot, kAnd, kOr, kXor, kPredicate };
  Kind kind = Kind::kNone;
  TagId tag;              // kTag
  std::string label;      // kTag: "name" or "category:name"; kPredicate: "消费金额 >= 1000"
  AttributeId attribute;  // kPredicate
  std::vector<Bsi::Interval> intervals;  // kPredicate
  std::vector<Expr> children;

  static Expr Tag(TagId id, std::string label);
  static Expr Predicate(AttributeId attribute, std::vector<Bsi::Interval> intervals,
                        std::string label);
  static Expr All();
  static Expr None();
  static Expr Not(Expr child);
  // n-ary node; with zero children gives the identity (ALL for AND, NONE
  // for OR/XOR), with one child gives the child.
  static Expr Nary(Kind kind, std::vector<Expr> children);

  bool IsConstant() const { return kind == Kind::kAll || kind == Kind::kNone; }
  bool IsLeaf() const { return kind == Kind::kTag || kind == Kind::kPredicate || IsConstant(); }

  // "(AND 高价值客户 电子产品 (NOT 流失风险))". Recursion is bounded by the
  // parser's depth limit (the binder adds at most two levels).
  std::string DebugString() const;
  // Structural identity by tag id, or attribute id and intervals (labels
  // ignored): equal keys mean equal sets. Two different predicates on one
  // attribute are different operands.
  std::string Key() const;
  // The same identity, cheaply: a hash (equal expressions, equal hashes) and
  // an exact structural comparison.
  uint64_t Hash() const;
  static bool Same(const Expr& a, const Expr& b);
  // Number of nodes.
  size_t Size() const;
};

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_EXPR_H_
