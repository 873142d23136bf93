// Normaliser: bound expression -> normal form, by the rules of rules.h, each
// switchable through QueryRewrites. Stage 4 of the pipeline.
#ifndef TAGINDEX_QUERY_NORMALIZER_H_
#define TAGINDEX_QUERY_NORMALIZER_H_

#include "query/expr.h"
#include "tagindex/query.h"

namespace tagindex::query {

// Rewrites `e` bottom-up with the enabled rules until none applies.
// Semantics are preserved exactly (the differential tests check this).
Expr Normalize(Expr e, const QueryRewrites& rewrites);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_NORMALIZER_H_
