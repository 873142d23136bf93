#include "absl/container/flat_hash_map.h"
#include "query/rules.h"

namespace tagindex::query::rules {

bool RemoveDuplicates(Expr& e) {
  using Kind = Expr::Kind;
  if (e.kind != Kind::kAnd && e.kind != Kind::kOr && e.kind != Kind::kXor) return false;
  // Every later copy of an operand is dropped. Under XOR copies cancel in
  // pairs, so the first copy survives only if the number of copies is odd.
  // Hashes first, exact comparison on a hash match.
  const size_t n = e.children.size();
  if (n <= 16) {
    // The usual case: pairwise on the stack, no allocation unless something
    // repeats.
    uint64_t hashes[16];
    size_t first_of[16];
    bool drop[16] = {};
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      hashes[i] = e.children[i].Hash();
      first_of[i] = i;
      for (size_t j = 0; j < i; ++j) {
        if (first_of[j] == j && hashes[j] == hashes[i] &&
            Expr::Same(e.children[j], e.children[i])) {
          first_of[i] = j;
          break;
        }
      }
      if (first_of[i] == i) continue;
      changed = true;
      drop[i] = true;
      if (e.kind == Kind::kXor) drop[first_of[i]] = !drop[first_of[i]];
    }
    if (!changed) return false;
    std::vector<Expr> out;
    for (size_t i = 0; i < n; ++i) {
      if (!drop[i]) out.push_back(std::move(e.children[i]));
    }
    e = Expr::Nary(e.kind, std::move(out));
    return true;
  }
  std::vector<uint64_t> hashes(n);
  for (size_t i = 0; i < n; ++i) hashes[i] = e.children[i].Hash();
  auto first_copy = [&](size_t i, const std::vector<size_t>& candidates) {
    for (size_t j : candidates) {
      if (hashes[j] == hashes[i] && Expr::Same(e.children[j], e.children[i])) return j;
    }
    return n;
  };
  std::vector<bool> drop(n, false);
  bool changed = false;
  absl::flat_hash_map<uint64_t, std::vector<size_t>> by_hash;
  for (size_t i = 0; i < n; ++i) {
    std::vector<size_t>& same_hash = by_hash[hashes[i]];
    const size_t original = first_copy(i, same_hash);
    if (original == n) {
      same_hash.push_back(i);
      continue;
    }
    changed = true;
    drop[i] = true;
    if (e.kind == Kind::kXor) drop[original] = !drop[original];
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
