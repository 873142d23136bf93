// Synthetic CRM workloads of ../shared/PERFORMANCE.md, shared by every
// benchmark: N customers, T tags with Zipf popularity, three id layouts.
#ifndef TAGINDEX_BENCH_WORKLOAD_H_
#define TAGINDEX_BENCH_WORKLOAD_H_

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace tagindex::bench {

enum class Layout {
  kUniform,  // (a) uniform random membership
  kCohort,   // (b) ids in signup order, a tag is a few id ranges
  kMixed,    // (c) 80 % of tags uniform, 20 % cohort
};

struct WorkloadOptions {
  uint32_t customers = 10'000'000;
  uint32_t tags = 1000;
  double zipf_s = 1.0;  // density of rank r (0-based): min(0.5, 0.5 * (r+1)^-s)
  Layout layout = Layout::kUniform;
  uint64_t seed = 42;
};

// Density of the tag of 0-based popularity rank `rank`.
double TagDensity(const WorkloadOptions& options, uint32_t rank);

// Sorted row ids of the tag of popularity rank `rank` (deterministic in the
// seed and rank, so a benchmark can build just the tags it needs).
std::vector<uint32_t> TagRows(const WorkloadOptions& options, uint32_t rank);

// The rank whose density is closest to `density` (to pick head/mid/tail).
uint32_t RankForDensity(const WorkloadOptions& options, double density);

// True when TAGINDEX_BENCH_SMOKE is set: benchmarks shrink to the smallest
// workload so CI can run them all in seconds.
inline bool SmokeRun() { return std::getenv("TAGINDEX_BENCH_SMOKE") != nullptr; }

// Scales a customer count down for smoke runs.
inline uint32_t Customers(uint32_t n) { return SmokeRun() ? std::min<uint32_t>(n, 100'000) : n; }

}  // namespace tagindex::bench

#endif  // TAGINDEX_BENCH_WORKLOAD_H_
