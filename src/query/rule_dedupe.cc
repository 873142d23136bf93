#include "query/rules.h"

#include "absl/container/flat_hash_map.h"

namespace tagindex::query::rules {

bool RemoveDuplicates(Expr& e) {
  using Kind = Expr::Kind;
  if (e.kind != Kind::kAnd && e.kind != Kind::kOr && e.kind != Kind::kXor) return false;
  // Key -> index into `kept`; under XOR a second copy cancels the first.
  absl::flat_hash_map<std::string, size_t> seen;
  std::vector<Expr> kept;
  std::vector<bool> cancelled;
  bool changed = false;
  for (Expr& c : e.children) {
    std::string key = c.Key();
    auto it = seen.find(key);
    if (it == seen.end()) {
      seen.emplace(std::move(key), kept.size());
      kept.push_back(std::move(c));
      cancelled.push_back(false);
      continue;
    }
    changed = true;
    if (e.kind == Kind::kXor) {
      cancelled[it->second] = !cancelled[it->second];
    }
  }
  if (!changed) return false;
  std::vector<Expr> out;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!cancelled[i]) out.push_back(std::move(kept[i]));
  }
  e = Expr::Nary(e.kind, std::move(out));
  return true;
}

}  // namespace tagindex::query::rules
