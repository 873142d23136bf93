// Segment analytics over plain data: a catalog, the universe, the attribute
// table and a segment bitmap. No locking here: Index's wrappers
// (index_analytics.cc) hold whatever makes the data stable (today the read
// lock) and call these. Public contract: include/tagindex/analytics.h.
#ifndef TAGINDEX_INDEX_ANALYTICS_H_
#define TAGINDEX_INDEX_ANALYTICS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "bitmap/bitmap.h"
#include "index/attributes.h"
#include "index/catalog.h"
#include "tagindex/analytics.h"

namespace tagindex::internal {

struct AnalyticsData {
  const Catalog& catalog;
  const Bitmap& universe;
  const AttributeTable& attributes;
};

// How |segment ∩ tag_i| is counted for many tags: one fused pass over the
// segment's chunks (kernels::AndCardinalityMany), or one intersection count
// per tag; all exact. Measured at 10 M customers against 1,000 tags
// (bench/analytics_benchmark.cc, docs/analytics.md): the fused pass is ~6x
// faster when the segment's chunks are arrays (a segment under ~6 % of the
// id range: each chunk is scattered into a bitset once instead of merged
// 1,000 times), and ~20 % slower when they are bitsets (the per-tag walk
// streams each tag's containers while the segment stays in cache). kAuto
// picks kFused when the segment averages at most 4,096 ids (an array
// container's limit) per 2^16-id chunk it spans.
enum class CountMethod : uint8_t { kAuto, kFused, kSeparate };
void CountInSegment(const Bitmap& segment, std::span<const Bitmap* const> tags, uint64_t* counts,
                    CountMethod method = CountMethod::kAuto);

// Names (category, attribute) are normalised already. `segment` may hold
// rows that are no longer live; they are not counted.
absl::StatusOr<SegmentProfile> ProfileOf(const AnalyticsData& d, const Bitmap& segment,
                                         const ProfileOptions& options,
                                         CountMethod method = CountMethod::kAuto);
absl::StatusOr<std::vector<ProfileRow>> TopTagsOf(const AnalyticsData& d, const Bitmap& segment,
                                                  const TopTagsOptions& options,
                                                  CountMethod method = CountMethod::kAuto);
// `segment` null: every customer.
absl::StatusOr<CoOccurrence> CoOccurrenceOf(const AnalyticsData& d, std::span<const TagId> tags,
                                            const Bitmap* segment);
absl::StatusOr<Crosstab> CrosstabOf(const AnalyticsData& d, std::string_view row_category,
                                    std::string_view col_category, const Bitmap* segment);
absl::StatusOr<CoverageReport> CoverageOf(const AnalyticsData& d, const Bitmap* segment);
// Live customers (of the segment, if given) holding no tag of `category`.
absl::StatusOr<Bitmap> WithoutCategoryOf(const AnalyticsData& d, std::string_view category,
                                         const Bitmap* segment);

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_ANALYTICS_H_
