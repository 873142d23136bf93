#include "query/normalizer.h"

#include "query/rules.h"

namespace tagindex::query {
namespace {

void NormalizeInPlace(Expr& e, const QueryRewrites& r) {
  for (Expr& c : e.children) NormalizeInPlace(c, r);
  // Each rule leaves the node's children normalised, except that a rewrite
  // may lift a grandchild or wrap the rest in a new node; re-running the
  // rules on the node until nothing changes covers both. Every rewrite
  // shrinks the tree, so this terminates.
  for (bool changed = true; changed;) {
    changed = false;
    if (r.flatten) changed |= rules::Flatten(e);
    if (r.remove_double_negation) changed |= rules::RemoveDoubleNegation(e);
    if (r.fold_constants) changed |= rules::FoldConstants(e);
    if (r.remove_duplicates) changed |= rules::RemoveDuplicates(e);
    if (changed && e.kind == Expr::Kind::kNot) {
      // A new NOT over a freshly built node (XOR with ALL): normalise it.
      for (Expr& c : e.children) NormalizeInPlace(c, r);
    }
  }
}

}  // namespace

Expr Normalize(Expr e, const QueryRewrites& rewrites) {
  NormalizeInPlace(e, rewrites);
  return e;
}

}  // namespace tagindex::query
