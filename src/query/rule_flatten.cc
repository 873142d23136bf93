#include "query/rules.h"

namespace tagindex::query::rules {

bool Flatten(Expr& e) {
  if (e.kind != Expr::Kind::kAnd && e.kind != Expr::Kind::kOr && e.kind != Expr::Kind::kXor) {
    return false;
  }
  bool nested = false;
  for (const Expr& c : e.children) nested |= c.kind == e.kind;
  if (!nested) return false;
  std::vector<Expr> flat;
  for (Expr& c : e.children) {
    if (c.kind == e.kind) {
      for (Expr& g : c.children) flat.push_back(std::move(g));
    } else {
      flat.push_back(std::move(c));
    }
  }
  e.children = std::move(flat);
  return true;
}

}  // namespace tagindex::query::rules
