#include "query/rules.h"

#include "absl/container/flat_hash_map.h"

namespace tagindex::query::rules {

bool RemoveDuplicates(Expr& e) {
  using Kind = Expr::Kind;
  if (e.kind != Kind::kAnd && e.kind != Kind::kOr && e.kind != Kind::kXor) return false;
  // Every later copy of an operand is dropped. Under XOR copies cancel in
  // pairs, so the first copy survives only if the number of copies is odd.
  absl::flat_hash_map<std::string, size_t> first;
  std::vector<bool> drop(e.children.size(), false);
  bool changed = false;
  for (size_t i = 0; i < e.children.size(); ++i) {
    auto [it, inserted] = first.emplace(e.children[i].Key(), i);
    if (inserted) continue;
    changed = true;
    drop[i] = true;
    if (e.kind == Kind::kXor) drop[it->second] = !drop[it->second];
  }
  if (!changed) return false;
  std::vector<Expr> out;
  for (size_t i = 0; i < e.children.size(); ++i) {
    if (!drop[i]) out.push_back(std::move(e.children[i]));
  }
  e = Expr::Nary(e.kind, std::move(out));
  return true;
}

}  // namespace tagindex::query::rules
