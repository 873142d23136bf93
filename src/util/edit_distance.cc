#include "util/edit_distance.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "util/utf8.h"

namespace tagindex::util {
namespace {

std::u32string Decode(std::string_view s) {
  std::u32string out;
  for (size_t pos = 0; pos < s.size();) out.push_back(DecodeUtf8(s, pos));
  return out;
}

char32_t FoldAscii(char32_t c) { return (c >= U'A' && c <= U'Z') ? c + 32 : c; }

// Distance in half-units (every edit costs 2) where an ASCII case variant
// substitutes for free, so "vip" is at distance 0 from "VIP". Rows are bounded so a long query
// costs O(n*m) at most.
size_t HalfUnitDistance(const std::u32string& a, const std::u32string& b, size_t limit2) {
  if (a.size() > b.size() + limit2 / 2 + 1 || b.size() > a.size() + limit2 / 2 + 1) {
    return limit2 + 1;
  }
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = 2 * j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = 2 * i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = 0;
      if (a[i - 1] != b[j - 1]) sub = FoldAscii(a[i - 1]) == FoldAscii(b[j - 1]) ? 0 : 2;
      cur[j] = std::min({prev[j] + 2, cur[j - 1] + 2, prev[j - 1] + sub});
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit2) return limit2 + 1;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b, size_t limit) {
  const auto ua = Decode(a), ub = Decode(b);
  std::vector<size_t> prev(ub.size() + 1), cur(ub.size() + 1);
  for (size_t j = 0; j <= ub.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= ua.size(); ++i) {
    cur[0] = i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= ub.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ua[i - 1] == ub[j - 1] ? 0 : 1)});
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return limit + 1;
    std::swap(prev, cur);
  }
  return std::min(prev[ub.size()], limit + 1);
}

std::vector<std::string> ClosestMatches(std::string_view query,
                                        const std::vector<std::string>& candidates,
                                        size_t max_results) {
  const auto uq = Decode(query);
  const size_t limit = std::max<size_t>(1, uq.size() / 3);
  const size_t limit2 = 2 * limit;
  std::vector<std::pair<size_t, size_t>> scored;  // (half-unit distance, index)
  for (size_t i = 0; i < candidates.size(); ++i) {
    const size_t d = HalfUnitDistance(uq, Decode(candidates[i]), limit2);
    if (d <= limit2 && candidates[i] != query) scored.emplace_back(d, i);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (size_t k = 0; k < scored.size() && out.size() < max_results; ++k) {
    out.push_back(candidates[scored[k].second]);
  }
  return out;
}

}  // namespace tagindex::util
