// Index's analytics methods: each normalises its names, takes the read lock
// and calls the plain-data functions of analytics.h. (The lock is the one
// line to change when readers move to immutable index versions.)
#include <mutex>
#include <shared_mutex>

#include "index/analytics.h"
#include "index/index_state.h"
#include "index/names.h"
#include "index/segment_data.h"
#include "tagindex/index.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

using internal::AnalyticsData;
using internal::IndexState;
using ReadLock = std::shared_lock<std::shared_mutex>;

AnalyticsData DataOf(const IndexState& s) { return {s.catalog, s.universe, s.attributes}; }

absl::StatusOr<const Bitmap*> RowsOf(const Index* index, const Segment* segment) {
  if (segment == nullptr) return nullptr;
  if (segment->index() != index) {
    return absl::InvalidArgumentError("analytics: the segment belongs to another index");
  }
  return &segment->data_for_internal_use().rows;
}

absl::StatusOr<std::optional<std::string>> CategoryName(const std::optional<std::string>& c,
                                                        const IndexOptions& options) {
  if (!c.has_value()) return std::optional<std::string>();
  TI_ASSIGN_OR_RETURN(std::string n, internal::NormalizeName(*c, "category name", options, true));
  return std::optional<std::string>(std::move(n));
}

}  // namespace

absl::StatusOr<SegmentProfile> Index::Profile(const Segment& segment,
                                              const ProfileOptions& options) const {
  return internal::Guarded([&]() -> absl::StatusOr<SegmentProfile> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(this, &segment));
    ProfileOptions o;
    TI_ASSIGN_OR_RETURN(o.category, CategoryName(options.category, state_->options));
    if (!options.attribute.empty()) {
      TI_ASSIGN_OR_RETURN(o.attribute, internal::NormalizeName(options.attribute, "attribute name",
                                                               state_->options));
    }
    ReadLock lock(state_->mu);
    return internal::ProfileOf(DataOf(*state_), *rows, o);
  });
}

absl::StatusOr<std::vector<ProfileRow>> Index::TopTags(const Segment& segment,
                                                       const TopTagsOptions& options) const {
  return internal::Guarded([&]() -> absl::StatusOr<std::vector<ProfileRow>> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(this, &segment));
    TopTagsOptions o = options;
    TI_ASSIGN_OR_RETURN(o.category, CategoryName(options.category, state_->options));
    ReadLock lock(state_->mu);
    return internal::TopTagsOf(DataOf(*state_), *rows, o);
  });
}

absl::StatusOr<CoOccurrence> Index::CoOccurrenceOf(std::span<const TagId> tags,
                                                   const Segment* segment) const {
  return internal::Guarded([&]() -> absl::StatusOr<CoOccurrence> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(this, segment));
    ReadLock lock(state_->mu);
    return internal::CoOccurrenceOf(DataOf(*state_), tags, rows);
  });
}

absl::StatusOr<Crosstab> Index::CrosstabOf(std::string_view row_category,
                                           std::string_view col_category,
                                           const Segment* segment) const {
  return internal::Guarded([&]() -> absl::StatusOr<Crosstab> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(this, segment));
    TI_ASSIGN_OR_RETURN(std::string rc,
                        internal::NormalizeName(row_category, "category name", state_->options));
    TI_ASSIGN_OR_RETURN(std::string cc,
                        internal::NormalizeName(col_category, "category name", state_->options));
    ReadLock lock(state_->mu);
    return internal::CrosstabOf(DataOf(*state_), rc, cc, rows);
  });
}

absl::StatusOr<CoverageReport> Index::Coverage(const Segment* segment) const {
  return internal::Guarded([&]() -> absl::StatusOr<CoverageReport> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(this, segment));
    ReadLock lock(state_->mu);
    return internal::CoverageOf(DataOf(*state_), rows);
  });
}

absl::StatusOr<Segment> Index::CustomersWithoutCategory(std::string_view category,
                                                        const Segment* segment) const {
  return internal::Guarded([&]() -> absl::StatusOr<Segment> {
    TI_ASSIGN_OR_RETURN(const Bitmap* rows, RowsOf(this, segment));
    TI_ASSIGN_OR_RETURN(std::string c,
                        internal::NormalizeName(category, "category name", state_->options));
    auto data = std::make_shared<internal::SegmentData>();
    data->index = this;
    {
      ReadLock lock(state_->mu);
      TI_ASSIGN_OR_RETURN(data->rows, internal::WithoutCategoryOf(DataOf(*state_), c, rows));
    }
    return Segment(std::move(data));
  });
}

}  // namespace tagindex
