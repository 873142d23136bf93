// tagindex::Snapshot — a point-in-time, read-only view of an Index.
//
//   tagindex::Snapshot snap = index->GetSnapshot();
//   // ... writers go on changing `index` ...
//   uint64_t n = snap.Count("高价值客户 AND NOT 流失风险").value();  // as of GetSnapshot()
//   tagindex::Segment s = snap.Query("电子产品").value();
//   std::vector<tagindex::TagInfo> tags = snap.ListTags().value();
//
// Every read call of Index is here with the same contract, errors and
// results, answered exactly as the index stood when the snapshot was taken
// (one committed state: a WriteBatch is either wholly in it or not at all).
// Index's own read calls are the same calls on a snapshot taken for the
// call, so one call always sees one state.
//
// Lifetime: a Snapshot keeps its version alive (tags, universe, attribute
// columns, customer keys) and stays valid after the Index is closed or
// destroyed; it never holds the directory lock. Memory: the snapshot keeps
// what writers replaced since it was taken (at most one copy of every
// container, attribute column and in-memory key table changed since, freed
// when the last Snapshot, Segment or CompiledQuery of that version is
// gone). Hold snapshots for a request or a report, not for days.
//
// Thread safety: a Snapshot is immutable; all methods are const and safe to
// call from many threads at once, concurrently with any writes to the
// Index. Taking one costs a pointer copy (at most it waits for a writer's
// one-row in-place change, see index.h "Thread safety"); once taken, no
// write ever changes what it answers.
// Copying a Snapshot is cheap (it shares the version).
#ifndef TAGINDEX_SNAPSHOT_H_
#define TAGINDEX_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tagindex/analytics.h"
#include "tagindex/options.h"
#include "tagindex/query.h"
#include "tagindex/saved_segments.h"
#include "tagindex/segment.h"
#include "tagindex/types.h"

namespace tagindex {

class Index;
namespace internal {
struct Version;
struct Access;
}  // namespace internal

class Snapshot {
 public:
  Snapshot(const Snapshot&);
  Snapshot& operator=(const Snapshot&);
  Snapshot(Snapshot&&) noexcept;
  Snapshot& operator=(Snapshot&&) noexcept;
  ~Snapshot();

  // Number of commits applied to the index before this snapshot (since it
  // was created or opened): snapshots of one index are ordered by it.
  uint64_t sequence() const;
  const IndexOptions& options() const;

  // ---- Customers (see Index) ----
  absl::StatusOr<RowId> FindCustomer(int64_t key) const;
  absl::StatusOr<RowId> FindCustomer(std::string_view key) const;
  absl::StatusOr<CustomerKey> KeyOf(RowId row) const;
  uint64_t CustomerCount() const;
  uint64_t RowIdLimit() const;
  absl::StatusOr<std::vector<RowId>> LiveRows() const;

  // ---- Categories and tags ----
  absl::StatusOr<CategoryInfo> GetCategory(std::string_view name) const;
  absl::StatusOr<std::vector<CategoryInfo>> ListCategories() const;
  absl::StatusOr<TagId> FindTag(std::string_view name) const;
  absl::StatusOr<TagId> FindTag(std::string_view category, std::string_view name) const;
  absl::StatusOr<TagInfo> GetTag(TagId tag) const;
  absl::StatusOr<std::vector<TagInfo>> ListTags() const;
  uint32_t TagCount() const;

  // ---- Memberships ----
  absl::StatusOr<uint64_t> TagCardinality(TagId tag) const;
  absl::StatusOr<bool> HasTag(TagId tag, int64_t key) const;
  absl::StatusOr<bool> HasTag(TagId tag, std::string_view key) const;
  absl::StatusOr<bool> HasTagRow(TagId tag, RowId row) const;
  absl::StatusOr<std::vector<TagId>> TagsOf(int64_t key) const;
  absl::StatusOr<std::vector<TagId>> TagsOf(std::string_view key) const;
  absl::StatusOr<std::vector<TagId>> TagsOfRow(RowId row) const;
  absl::StatusOr<std::vector<RowId>> RowsWithTag(TagId tag) const;
  absl::StatusOr<std::vector<CustomerKey>> KeysWithTag(TagId tag) const;
  absl::StatusOr<std::string> ExportTag(TagId tag) const;

  // ---- Attributes ----
  absl::StatusOr<AttributeInfo> GetAttribute(std::string_view name) const;
  absl::StatusOr<std::vector<AttributeInfo>> ListAttributes() const;
  absl::StatusOr<std::optional<int64_t>> GetAttributeValue(std::string_view attribute,
                                                           RowId row) const;
  absl::StatusOr<int64_t> ParseAttributeValue(std::string_view attribute,
                                              std::string_view text) const;
  absl::StatusOr<std::string> FormatAttributeValue(std::string_view attribute, int64_t value) const;
  absl::StatusOr<AttributeSummary> SummarizeAttribute(std::string_view attribute,
                                                      const Segment* segment = nullptr,
                                                      const AttributeAggregates& which = {}) const;
  absl::StatusOr<std::vector<AttributeEntryValue>> TopAttribute(
      std::string_view attribute, uint64_t k, bool largest = true,
      const Segment* segment = nullptr) const;
  absl::StatusOr<std::vector<uint64_t>> AttributeHistogram(std::string_view attribute,
                                                           std::span<const int64_t> bounds,
                                                           const Segment* segment = nullptr) const;
  absl::StatusOr<std::optional<int64_t>> AttributeQuantile(std::string_view attribute, double q,
                                                           const Segment* segment = nullptr) const;

  // ---- Queries ----
  // Segments from a snapshot belong to the same index as the Index's own
  // (they combine with each other) and pin this snapshot's version.
  absl::StatusOr<Segment> Query(std::string_view text, const QueryOptions& options = {}) const;
  absl::StatusOr<uint64_t> Count(std::string_view text, const QueryOptions& options = {}) const;
  absl::StatusOr<Explanation> Explain(std::string_view text,
                                      const QueryOptions& options = {}) const;
  // A CompiledQuery of a snapshot always runs against the snapshot.
  absl::StatusOr<CompiledQuery> Compile(std::string_view text,
                                        const QueryOptions& options = {}) const;
  Segment AllCustomers() const;
  absl::StatusOr<Segment> SegmentOfRows(std::span<const RowId> rows) const;
  absl::StatusOr<Segment> SegmentFromPortable(std::string_view blob) const;

  // ---- Saved segments (人群包) as of the snapshot (see Index) ----
  absl::StatusOr<SavedSegmentInfo> GetSavedSegment(std::string_view name) const;
  absl::StatusOr<std::vector<SavedSegmentInfo>> ListSavedSegments() const;
  absl::StatusOr<Segment> LoadSavedSegment(std::string_view name) const;
  absl::StatusOr<SegmentDiff> DiffSegments(const Segment& before, const Segment& after,
                                           bool with_rows = false) const;
  absl::StatusOr<SegmentDiff> DiffSavedSegment(std::string_view name, bool with_rows = false) const;

  // ---- Analytics (tagindex/analytics.h; see Index) ----
  absl::StatusOr<SegmentProfile> Profile(const Segment& segment,
                                         const ProfileOptions& options = {}) const;
  absl::StatusOr<std::vector<ProfileRow>> TopTags(const Segment& segment,
                                                  const TopTagsOptions& options = {}) const;
  absl::StatusOr<CoOccurrence> CoOccurrenceOf(std::span<const TagId> tags,
                                              const Segment* segment = nullptr) const;
  absl::StatusOr<Crosstab> CrosstabOf(std::string_view row_category, std::string_view col_category,
                                      const Segment* segment = nullptr) const;
  absl::StatusOr<CoverageReport> Coverage(const Segment* segment = nullptr) const;
  absl::StatusOr<Segment> CustomersWithoutCategory(std::string_view category,
                                                   const Segment* segment = nullptr) const;

 private:
  friend struct internal::Access;
  Snapshot(std::shared_ptr<const internal::Version> version, const Index* index);
  std::shared_ptr<const internal::Version> v_;
  const Index* index_;  // identity only (segments compare it); may dangle
};

}  // namespace tagindex

#endif  // TAGINDEX_SNAPSHOT_H_
