#include "query/rules.h"

namespace tagindex::query::rules {

bool RemoveDoubleNegation(Expr& e) {
  if (e.kind != Expr::Kind::kNot || e.children[0].kind != Expr::Kind::kNot) return false;
  Expr inner = std::move(e.children[0].children[0]);
  e = std::move(inner);
  return true;
}

}  // namespace tagindex::query::rules
