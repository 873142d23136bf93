#include "absl/container/flat_hash_map.h"
#include "query/rules.h"

namespace tagindex::query::rules {

bool RemoveDuplicates(Expr& e) {
  using Kind = Expr::Kind;
  if (e.kind != Kind::kAnd && e.kind != Kind::kOr && e.kind != Kind::kXor) return false;
  // Every later copy of an operand is dropped. Under XOR copies cancel in
  // pairs, so the first copy survives only if the number of copies is odd.
  // Hashes first, exact comparison on a hash match. Small nodes (the usual
  // case) compare pairwise, which beats building a hash map.
  const size_t n = e.children.size();
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
  std::vector<size_t> earlier;
  for (size_t i = 0; i < n; ++i) {
    size_t original;
    if (n <= 16) {
      original = first_copy(i, earlier);
      if (original == n) earlier.push_back(i);
    } else {
      std::vector<size_t>& same_hash = by_hash[hashes[i]];
      original = first_copy(i, same_hash);
      if (original == n) same_hash.push_back(i);
    }
    if (original == n) continue;
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
