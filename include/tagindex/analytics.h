// Segment analytics (用户画像): what a segment is made of, counted from the
// tag bitmaps (intersection counts), never by visiting customers.
//
// Example:
//
//   tagindex::Segment vip = index->Query("高价值客户").value();
//   tagindex::SegmentProfile p =
//       index->Profile(vip, {.category = "兴趣爱好类", .attribute = "消费金额"}).value();
//   for (const tagindex::ProfileRow& r : p.rows) Print(r.name, r.count, r.tgi);
//   auto top = index->TopTags(vip, {.n = 10, .by = tagindex::TopTagsBy::kTgi,
//                                    .min_count = 100}).value();
//   tagindex::CoOccurrence m = index->CoOccurrenceOf(tag_ids, &vip).value();
//   tagindex::Crosstab x = index->CrosstabOf("购买频率", "城市", &vip).value();
//   tagindex::CoverageReport c = index->Coverage().value();
//   tagindex::Segment untagged = index->CustomersWithoutCategory("城市").value();
//
// Definitions (N = live customers, S = live customers of the segment; a
// segment row removed from the index since its query ran is not counted):
//   count            |S ∩ tag|
//   share_in_segment count / |S|                  (0 when S is empty)
//   share_overall    |tag| / N                    (0 when N is 0)
//   tgi              100 × share_in_segment / share_overall; NaN when the
//                    tag has no customer at all (share_overall 0)
//   jaccard(a, b)    |a ∩ b| / |a ∪ b|            (NaN when both are empty)
//   lift(a, b)       |a ∩ b| × M / (|a| × |b|)    over the population M (the
//                    segment if given, else every customer; NaN when a
//                    factor is 0)
// Every count is exact. Within the population, |a|, |b| and |a ∩ b| are
// counted after intersecting with it.
//
// Errors: NotFound (unknown category, tag id or attribute);
// InvalidArgument (a segment of another index; Crosstab of a category that
// is not exclusive, or of one category with itself; TopTags with n == 0);
// ResourceExhausted (memory).
//
// Thread safety: as every Index read: one call works on one version (see
// tagindex/snapshot.h; Snapshot has the same calls) and never waits for a
// writer.
#ifndef TAGINDEX_ANALYTICS_H_
#define TAGINDEX_ANALYTICS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "tagindex/types.h"

namespace tagindex {

struct ProfileOptions {
  // Profile the tags of this category; nullopt: every tag ("" is the tags
  // without a category).
  std::optional<std::string> category;
  // If set, each row also aggregates this attribute over segment ∩ tag.
  std::string attribute;
};

struct ProfileRow {
  TagId tag;
  std::string name;
  std::string category;
  uint64_t count = 0;    // customers of the segment holding the tag
  uint64_t overall = 0;  // customers holding the tag
  double share_in_segment = 0;
  double share_overall = 0;
  double tgi = 0;
  // With ProfileOptions::attribute: customers of segment ∩ tag with a value,
  // the exact sum and the mean of their values (storage units; mean 0 when
  // attribute_count is 0).
  uint64_t attribute_count = 0;
  absl::int128 attribute_sum = 0;
  double attribute_mean = 0;
};

struct SegmentProfile {
  uint64_t segment_count = 0;    // |S|
  uint64_t universe_count = 0;   // N
  std::string attribute;         // as asked ("" for none)
  std::vector<ProfileRow> rows;  // ordered by (category, name) bytewise
};

enum class TopTagsBy : uint8_t { kCount = 0, kTgi = 1 };

struct TopTagsOptions {
  uint64_t n = 10;
  TopTagsBy by = TopTagsBy::kCount;
  // Tags with fewer customers in the segment are left out (for TGI: a tag
  // held by 3 customers can have any TGI).
  uint64_t min_count = 0;
  std::optional<std::string> category;  // nullopt: every tag
};

// Pairwise statistics of a tag list; matrices are row-major n × n, in the
// order of `tags`; the diagonal of `counts` holds each tag's own count.
struct CoOccurrence {
  std::vector<TagId> tags;
  std::vector<std::string> names;  // "category:name" when the name is ambiguous
  uint64_t population = 0;         // M
  std::vector<uint64_t> counts;
  std::vector<double> jaccard;
  std::vector<double> lift;
};

// counts[r * cols.size() + c] = customers of the segment holding rows[r] and
// cols[c]; a customer holding no tag of a category is counted in the
// margins' "none" (row_none / col_none) instead.
struct Crosstab {
  std::string row_category, col_category;
  std::vector<TagId> rows, cols;
  std::vector<std::string> row_names, col_names;
  std::vector<uint64_t> counts;
  std::vector<uint64_t> row_totals, col_totals;  // per tag, within the segment
  std::vector<uint64_t> row_none_by_col;         // no row-category tag, per column tag
  std::vector<uint64_t> col_none_by_row;         // no column-category tag, per row tag
  uint64_t none_none = 0;                        // neither category
  uint64_t total = 0;                            // |S|
};

struct TagCoverage {
  TagId tag;
  std::string name;
  std::string category;
  uint64_t count = 0;
  double share = 0;  // of the population
};

struct CategoryCoverage {
  std::string category;
  uint32_t tag_count = 0;
  uint64_t covered = 0;    // customers holding at least one tag of it
  uint64_t uncovered = 0;  // population - covered
  double share = 0;        // covered / population
};

struct CoverageReport {
  uint64_t population = 0;                   // the segment's live customers, or every customer
  std::vector<TagCoverage> tags;             // ordered by (category, name)
  std::vector<CategoryCoverage> categories;  // ordered by name
};

// ---- Combining results of several indexes ------------------------------
// Every statistic above follows from counts, and the counts of disjoint
// customer sets add up: the profile, co-occurrence matrix, crosstab and
// coverage of an index split into parts (ShardedIndex, or tagindex.dask
// across machines) are the sums of the parts' counts with the derived
// fields computed again. These are the functions Index itself uses to
// derive them, so a combined result equals the unsplit index's exactly.

// Sets share_in_segment, share_overall, tgi and attribute_mean of every row
// from its counts and the profile's segment_count / universe_count.
void FinishProfile(SegmentProfile& profile);
// The first options.n rows by options.by among those with at least
// options.min_count (and, by TGI, a defined TGI), best first; ties by the
// other measure, then (category, name). Errors: InvalidArgument for n == 0.
absl::StatusOr<std::vector<ProfileRow>> RankTopTags(std::vector<ProfileRow> rows,
                                                    const TopTagsOptions& options);
// Sets jaccard and lift from counts and population.
void FinishCoOccurrence(CoOccurrence& m);
// Sets every share and each category's uncovered from the counts and the
// population.
void FinishCoverage(CoverageReport& report);

// The profile of the union of disjoint customer sets from the parts'
// profiles (taken with the same options over one catalog: the same tags in
// the same order): counts, overall, segment_count, universe_count and the
// attribute counts and sums add, then FinishProfile. ShardedIndex::Profile
// and tagindex.dask use it. Errors: InvalidArgument for no parts, or parts
// whose rows differ in number or tag ids (naming the part).
absl::StatusOr<SegmentProfile> MergeProfiles(std::vector<SegmentProfile> parts);
// The same for co-occurrence matrices of one tag list: counts and
// population add, then FinishCoOccurrence. Errors: InvalidArgument for no
// parts or parts of another tag list.
absl::StatusOr<CoOccurrence> MergeCoOccurrences(std::vector<CoOccurrence> parts);

}  // namespace tagindex

#endif  // TAGINDEX_ANALYTICS_H_
