// Edit distance over Unicode code points, for "did you mean" suggestions.
#ifndef TAGINDEX_UTIL_EDIT_DISTANCE_H_
#define TAGINDEX_UTIL_EDIT_DISTANCE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tagindex::util {

// Levenshtein distance between `a` and `b` counted in code points (so 高价值
// vs 高价格 is 1, not 3). Gives up early and returns `limit + 1` once the
// distance is known to exceed `limit`.
size_t EditDistance(std::string_view a, std::string_view b, size_t limit = SIZE_MAX - 1);

// Returns up to `max_results` of `candidates` closest to `query`, nearest
// first (ties by candidate order), keeping only those within a distance of
// max(1, code points of query / 3). ASCII case differences cost nothing, so
// "vip" finds "VIP"; an exact match is not a suggestion.
std::vector<std::string> ClosestMatches(std::string_view query,
                                        const std::vector<std::string>& candidates,
                                        size_t max_results = 3);

}  // namespace tagindex::util

#endif  // TAGINDEX_UTIL_EDIT_DISTANCE_H_
