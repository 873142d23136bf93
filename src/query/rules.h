// The normaliser's rewrite rules, one per file. Each rewrites one node whose
// children are already normalised and returns true if it changed it.
#ifndef TAGINDEX_QUERY_RULES_H_
#define TAGINDEX_QUERY_RULES_H_

#include "query/expr.h"

namespace tagindex::query::rules {

// rule_flatten.cc: AND(a, AND(b, c)) -> AND(a, b, c); likewise OR, XOR.
bool Flatten(Expr& e);
// rule_double_negation.cc: NOT NOT x -> x.
bool RemoveDoubleNegation(Expr& e);
// rule_fold_constants.cc: ALL/NONE operands, NOT ALL, x AND NOT x, x OR NOT x.
bool FoldConstants(Expr& e);
// rule_dedupe.cc: a AND a -> a, a OR a -> a, a XOR a -> (nothing).
bool RemoveDuplicates(Expr& e);

}  // namespace tagindex::query::rules

#endif  // TAGINDEX_QUERY_RULES_H_
