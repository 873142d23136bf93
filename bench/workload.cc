#include "workload.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace tagindex::bench {

double TagDensity(const WorkloadOptions& options, uint32_t rank) {
  return std::min(0.5, 0.5 * std::pow(static_cast<double>(rank) + 1.0, -options.zipf_s));
}

uint32_t RankForDensity(const WorkloadOptions& options, double density) {
  uint32_t best = 0;
  for (uint32_t r = 0; r < options.tags; ++r) {
    if (std::abs(TagDensity(options, r) - density) <
        std::abs(TagDensity(options, best) - density)) {
      best = r;
    }
  }
  return best;
}

namespace {

// Uniform membership with density p by geometric skips: O(result) time.
std::vector<uint32_t> Uniform(uint32_t n, double p, std::mt19937_64& rng) {
  std::vector<uint32_t> out;
  if (p <= 0) return out;
  out.reserve(static_cast<size_t>(n * p * 1.05) + 16);
  if (p >= 1) {
    for (uint32_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  std::geometric_distribution<uint64_t> skip(p);
  for (uint64_t i = skip(rng); i < n; i += skip(rng) + 1) out.push_back(static_cast<uint32_t>(i));
  return out;
}

// A few id ranges covering about p of [0, n): ids in signup order make tags
// like "joined in campaign X" contiguous.
std::vector<uint32_t> Cohort(uint32_t n, double p, std::mt19937_64& rng) {
  std::vector<uint32_t> out;
  const int ranges = 1 + static_cast<int>(rng() % 8);
  const uint64_t total = static_cast<uint64_t>(n * p);
  const uint64_t per = std::max<uint64_t>(1, total / ranges);
  for (int k = 0; k < ranges; ++k) {
    const uint64_t start = rng() % n;
    for (uint64_t i = start; i < std::min<uint64_t>(n, start + per); ++i) {
      out.push_back(static_cast<uint32_t>(i));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<uint32_t> TagRows(const WorkloadOptions& options, uint32_t rank) {
  std::mt19937_64 rng(options.seed * 1000003 + rank);
  const double p = TagDensity(options, rank);
  bool cohort = options.layout == Layout::kCohort;
  if (options.layout == Layout::kMixed) cohort = (rng() % 5) == 0;
  return cohort ? Cohort(options.customers, p, rng) : Uniform(options.customers, p, rng);
}

}  // namespace tagindex::bench
