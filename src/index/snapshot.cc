// Snapshot's plumbing, and Index's read calls: each is the same call on a
// snapshot taken for it (one pointer copy), so one call sees one version.
// The read calls' bodies are Snapshot methods in index.cc,
// index_attributes.cc and index_query.cc beside the writers they mirror.
#include "tagindex/snapshot.h"

#include "index/access.h"
#include "index/index_state.h"
#include "tagindex/index.h"
#include "util/status_macros.h"

namespace tagindex {

Snapshot::Snapshot(std::shared_ptr<const internal::Version> version, const Index* index)
    : v_(std::move(version)), index_(index) {}
Snapshot::Snapshot(const Snapshot&) = default;
Snapshot& Snapshot::operator=(const Snapshot&) = default;
Snapshot::Snapshot(Snapshot&&) noexcept = default;
Snapshot& Snapshot::operator=(Snapshot&&) noexcept = default;
Snapshot::~Snapshot() = default;

uint64_t Snapshot::sequence() const { return v_->sequence; }
const IndexOptions& Snapshot::options() const { return v_->options; }

absl::StatusOr<RowId> Index::FindCustomer(int64_t key) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().FindCustomer(key);
}

absl::StatusOr<RowId> Index::FindCustomer(std::string_view key) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().FindCustomer(key);
}

absl::StatusOr<CustomerKey> Index::KeyOf(RowId row) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().KeyOf(row);
}

uint64_t Index::CustomerCount() const { return GetSnapshot().CustomerCount(); }

uint64_t Index::RowIdLimit() const { return GetSnapshot().RowIdLimit(); }

absl::StatusOr<std::vector<RowId>> Index::LiveRows() const { return GetSnapshot().LiveRows(); }

absl::StatusOr<CategoryInfo> Index::GetCategory(std::string_view name) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().GetCategory(name);
}

absl::StatusOr<std::vector<CategoryInfo>> Index::ListCategories() const {
  return GetSnapshot().ListCategories();
}

absl::StatusOr<TagId> Index::FindTag(std::string_view name) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().FindTag(name);
}

absl::StatusOr<TagId> Index::FindTag(std::string_view category, std::string_view name) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().FindTag(category, name);
}

absl::StatusOr<TagInfo> Index::GetTag(TagId tag) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().GetTag(tag);
}

absl::StatusOr<std::vector<TagInfo>> Index::ListTags() const { return GetSnapshot().ListTags(); }

uint32_t Index::TagCount() const { return GetSnapshot().TagCount(); }

absl::StatusOr<uint64_t> Index::TagCardinality(TagId tag) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().TagCardinality(tag);
}

absl::StatusOr<bool> Index::HasTag(TagId tag, int64_t key) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().HasTag(tag, key);
}

absl::StatusOr<bool> Index::HasTag(TagId tag, std::string_view key) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().HasTag(tag, key);
}

absl::StatusOr<bool> Index::HasTagRow(TagId tag, RowId row) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().HasTagRow(tag, row);
}

absl::StatusOr<std::vector<TagId>> Index::TagsOf(int64_t key) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().TagsOf(key);
}

absl::StatusOr<std::vector<TagId>> Index::TagsOf(std::string_view key) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().TagsOf(key);
}

absl::StatusOr<std::vector<TagId>> Index::TagsOfRow(RowId row) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().TagsOfRow(row);
}

absl::StatusOr<std::vector<RowId>> Index::RowsWithTag(TagId tag) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().RowsWithTag(tag);
}

absl::StatusOr<std::vector<CustomerKey>> Index::KeysWithTag(TagId tag) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().KeysWithTag(tag);
}

absl::StatusOr<std::string> Index::ExportTag(TagId tag) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().ExportTag(tag);
}

absl::StatusOr<AttributeInfo> Index::GetAttribute(std::string_view name) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().GetAttribute(name);
}

absl::StatusOr<std::vector<AttributeInfo>> Index::ListAttributes() const {
  return GetSnapshot().ListAttributes();
}

absl::StatusOr<std::optional<int64_t>> Index::GetAttributeValue(std::string_view attribute,
                                                                RowId row) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().GetAttributeValue(attribute, row);
}

absl::StatusOr<int64_t> Index::ParseAttributeValue(std::string_view attribute,
                                                   std::string_view text) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().ParseAttributeValue(attribute, text);
}

absl::StatusOr<std::string> Index::FormatAttributeValue(std::string_view attribute,
                                                        int64_t value) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().FormatAttributeValue(attribute, value);
}

absl::StatusOr<AttributeSummary> Index::SummarizeAttribute(std::string_view attribute,
                                                           const Segment* segment,
                                                           const AttributeAggregates& which) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().SummarizeAttribute(attribute, segment, which);
}

absl::StatusOr<std::vector<AttributeEntryValue>> Index::TopAttribute(std::string_view attribute,
                                                                     uint64_t k, bool largest,
                                                                     const Segment* segment) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().TopAttribute(attribute, k, largest, segment);
}

absl::StatusOr<std::vector<uint64_t>> Index::AttributeHistogram(std::string_view attribute,
                                                                std::span<const int64_t> bounds,
                                                                const Segment* segment) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().AttributeHistogram(attribute, bounds, segment);
}

absl::StatusOr<std::optional<int64_t>> Index::AttributeQuantile(std::string_view attribute,
                                                                double q,
                                                                const Segment* segment) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().AttributeQuantile(attribute, q, segment);
}

absl::StatusOr<Segment> Index::Query(std::string_view text, const QueryOptions& options) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().Query(text, options);
}

absl::StatusOr<uint64_t> Index::Count(std::string_view text, const QueryOptions& options) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().Count(text, options);
}

absl::StatusOr<Explanation> Index::Explain(std::string_view text,
                                           const QueryOptions& options) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().Explain(text, options);
}

Segment Index::AllCustomers() const { return GetSnapshot().AllCustomers(); }

absl::StatusOr<Segment> Index::SegmentOfRows(std::span<const RowId> rows) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().SegmentOfRows(rows);
}

absl::StatusOr<Segment> Index::SegmentFromPortable(std::string_view blob) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().SegmentFromPortable(blob);
}

}  // namespace tagindex
