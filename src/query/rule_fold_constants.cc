#include <vector>

#include "absl/container/flat_hash_map.h"
#include "query/rules.h"

namespace tagindex::query::rules {
namespace {

using Kind = Expr::Kind;

// True if some operand is the complement (NOT) of another.
bool HasComplementPair(const Expr& e) {
  bool any_not = false;
  for (const Expr& c : e.children) any_not |= c.kind == Kind::kNot;
  if (!any_not) return false;
  if (e.children.size() <= 16) {
    for (const Expr& c : e.children) {
      if (c.kind != Kind::kNot) continue;
      for (const Expr& p : e.children) {
        if (p.kind != Kind::kNot && Expr::Same(p, c.children[0])) return true;
      }
    }
    return false;
  }
  absl::flat_hash_map<uint64_t, std::vector<const Expr*>> positive;
  for (const Expr& c : e.children) {
    if (c.kind != Kind::kNot) positive[c.Hash()].push_back(&c);
  }
  for (const Expr& c : e.children) {
    if (c.kind != Kind::kNot) continue;
    auto it = positive.find(c.children[0].Hash());
    if (it == positive.end()) continue;
    for (const Expr* p : it->second) {
      if (Expr::Same(*p, c.children[0])) return true;
    }
  }
  return false;
}

}  // namespace

// Every identity here holds because tags are subsets of the universe of live
// customers, which is what ALL and NOT are relative to.
bool FoldConstants(Expr& e) {
  switch (e.kind) {
    case Kind::kNot:
      if (!e.children[0].IsConstant()) return false;
      e = e.children[0].kind == Kind::kAll ? Expr::None() : Expr::All();
      return true;
    case Kind::kAnd:
    case Kind::kOr: {
      // AND: NONE absorbs, ALL is neutral. OR: the other way round.
      const Kind absorbing = e.kind == Kind::kAnd ? Kind::kNone : Kind::kAll;
      const Kind neutral = e.kind == Kind::kAnd ? Kind::kAll : Kind::kNone;
      bool has_constant = false;
      for (const Expr& c : e.children) has_constant |= c.IsConstant();
      if (!has_constant) {
        if (!HasComplementPair(e)) return false;
        e = absorbing == Kind::kAll ? Expr::All() : Expr::None();
        return true;
      }
      bool changed = false;
      std::vector<Expr> kept;
      for (Expr& c : e.children) {
        if (c.kind == absorbing || c.kind == neutral) {
          changed = true;
          if (c.kind == absorbing) {
            e = absorbing == Kind::kAll ? Expr::All() : Expr::None();
            return true;
          }
          continue;
        }
        kept.push_back(std::move(c));
      }
      e.children = std::move(kept);
      if (HasComplementPair(e)) {  // x AND NOT x, x OR NOT x
        e = absorbing == Kind::kAll ? Expr::All() : Expr::None();
        return true;
      }
      if (e.children.size() < 2) {
        e = Expr::Nary(e.kind, std::move(e.children));
        return true;
      }
      return changed;
    }
    case Kind::kXor: {
      // NONE is neutral; each ALL complements the rest.
      bool has_constant = false;
      for (const Expr& c : e.children) has_constant |= c.IsConstant();
      if (!has_constant) return false;
      bool complement = false;
      std::vector<Expr> kept;
      for (Expr& c : e.children) {
        if (c.IsConstant()) {
          complement ^= c.kind == Kind::kAll;
          continue;
        }
        kept.push_back(std::move(c));
      }
      Expr rest = Expr::Nary(Kind::kXor, std::move(kept));
      e = complement ? Expr::Not(std::move(rest)) : std::move(rest);
      return true;
    }
    default:
      return false;
  }
}

}  // namespace tagindex::query::rules
