// Analytics as Snapshot methods: each normalises its names and calls the
// plain-data functions of analytics.h on the snapshot's one version. Index's
// analytics are the same calls on a snapshot taken for the call.
#include "index/access.h"
#include "index/analytics.h"
#include "index/index_state.h"
#include "index/names.h"
#include "index/segment_data.h"
#include "tagindex/index.h"
#include "tagindex/snapshot.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

using internal::AnalyticsData;
using internal::Version;

AnalyticsData DataOf(const Version& v) { return {v.catalog, v.universe(), v.attributes}; }

absl::StatusOr<const Bitmap*> RowsOf(const Index* index, const Segment* segment) {
  if (segment == nullptr) return nullptr;
  if (segment->index() != index) {
    return absl::InvalidArgumentError("analytics: the segment belongs to another index");
  }
  return &internal::Access::Data(*segment).rows;
}

absl::StatusOr<std::optional<std::string>> CategoryName(const std::optional<std::string>& c,
                                                        const IndexOptions& options) {
  if (!c.has_value()) return std::optional<std::string>();
  TI_ASSIGN_OR_RETURN(std::string n, internal::NormalizeName(*c, "category name", options, true));
  return std::optional<std::string>(std::move(n));
}

}  // namespace

absl::StatusOr<SegmentProfile> Snapshot::Profile(const Segment& segment,
                                                 const ProfileOptions& options) const {
  return internal::Guarded([&]() -> absl::StatusOr<SegmentProfile> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(index_, &segment));
    ProfileOptions o;
    TI_ASSIGN_OR_RETURN(o.category, CategoryName(options.category, v_->options));
    if (!options.attribute.empty()) {
      TI_ASSIGN_OR_RETURN(
          o.attribute, internal::NormalizeName(options.attribute, "attribute name", v_->options));
    }
    return internal::ProfileOf(DataOf(*v_), *rows, o);
  });
}

absl::StatusOr<std::vector<ProfileRow>> Snapshot::TopTags(const Segment& segment,
                                                          const TopTagsOptions& options) const {
  return internal::Guarded([&]() -> absl::StatusOr<std::vector<ProfileRow>> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(index_, &segment));
    TopTagsOptions o = options;
    TI_ASSIGN_OR_RETURN(o.category, CategoryName(options.category, v_->options));
    return internal::TopTagsOf(DataOf(*v_), *rows, o);
  });
}

absl::StatusOr<CoOccurrence> Snapshot::CoOccurrenceOf(std::span<const TagId> tags,
                                                      const Segment* segment) const {
  return internal::Guarded([&]() -> absl::StatusOr<CoOccurrence> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(index_, segment));
    return internal::CoOccurrenceOf(DataOf(*v_), tags, rows);
  });
}

absl::StatusOr<Crosstab> Snapshot::CrosstabOf(std::string_view row_category,
                                              std::string_view col_category,
                                              const Segment* segment) const {
  return internal::Guarded([&]() -> absl::StatusOr<Crosstab> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(index_, segment));
    TI_ASSIGN_OR_RETURN(std::string rc,
                        internal::NormalizeName(row_category, "category name", v_->options));
    TI_ASSIGN_OR_RETURN(std::string cc,
                        internal::NormalizeName(col_category, "category name", v_->options));
    return internal::CrosstabOf(DataOf(*v_), rc, cc, rows);
  });
}

absl::StatusOr<CoverageReport> Snapshot::Coverage(const Segment* segment) const {
  return internal::Guarded([&]() -> absl::StatusOr<CoverageReport> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(index_, segment));
    return internal::CoverageOf(DataOf(*v_), rows);
  });
}

absl::StatusOr<Segment> Snapshot::CustomersWithoutCategory(std::string_view category,
                                                           const Segment* segment) const {
  return internal::Guarded([&]() -> absl::StatusOr<Segment> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(index_, segment));
    TI_ASSIGN_OR_RETURN(std::string c,
                        internal::NormalizeName(category, "category name", v_->options));
    auto data = std::make_shared<internal::SegmentData>();
    data->index = index_;
    data->version = v_;
    TI_ASSIGN_OR_RETURN(data->rows, internal::WithoutCategoryOf(DataOf(*v_), c, rows));
    return internal::Access::MakeSegment(std::move(data));
  });
}

// ---- Index: the same calls on a snapshot taken for the call ----

absl::StatusOr<SegmentProfile> Index::Profile(const Segment& segment,
                                              const ProfileOptions& options) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().Profile(segment, options);
}

absl::StatusOr<std::vector<ProfileRow>> Index::TopTags(const Segment& segment,
                                                       const TopTagsOptions& options) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().TopTags(segment, options);
}

absl::StatusOr<CoOccurrence> Index::CoOccurrenceOf(std::span<const TagId> tags,
                                                   const Segment* segment) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().CoOccurrenceOf(tags, segment);
}

absl::StatusOr<Crosstab> Index::CrosstabOf(std::string_view row_category,
                                           std::string_view col_category,
                                           const Segment* segment) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().CrosstabOf(row_category, col_category, segment);
}

absl::StatusOr<CoverageReport> Index::Coverage(const Segment* segment) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().Coverage(segment);
}

absl::StatusOr<Segment> Index::CustomersWithoutCategory(std::string_view category,
                                                        const Segment* segment) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().CustomersWithoutCategory(category, segment);
}

}  // namespace tagindex
