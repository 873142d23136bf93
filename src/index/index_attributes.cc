// Index's attribute columns: create / describe / rename / drop, values by
// key or row, and aggregates over a segment. The columns are bit-sliced
// indexes (bitmap/bsi.h); queries reach them through query_bridge.h.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <new>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "index/access.h"
#include "index/index_state.h"
#include "index/mutation.h"
#include "index/names.h"
#include "index/segment_data.h"
#include "query/attribute_value.h"
#include "tagindex/index.h"
#include "util/edit_distance.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

using internal::AttributeEntry;
using internal::IndexState;
using internal::Quote;
using internal::Version;

using internal::Guarded;

absl::Status UnknownAttribute(const Version& s, std::string_view name) {
  std::vector<std::string> suggestions =
      util::ClosestMatches(std::string(name), s.attributes.Names());
  std::string hint;
  if (!suggestions.empty()) {
    std::vector<std::string> quoted;
    for (const auto& x : suggestions) quoted.push_back(Quote(x));
    hint = absl::StrCat("; did you mean ", absl::StrJoin(quoted, ", "), "?");
  }
  ErrorInfo info = util::Info(ErrorKind::kUnknownAttribute, name);
  info.suggestions = std::move(suggestions);
  return util::Error(absl::StatusCode::kNotFound,
                     absl::StrCat("index: unknown attribute ", Quote(name), hint), info);
}

// The live column called `name` (after name normalisation), for readers and
// writers alike; the caller holds the lock.
template <typename State>
auto FindColumn(State& s, std::string_view name)
    -> absl::StatusOr<decltype(s.attributes.Find(name))> {
  TI_ASSIGN_OR_RETURN(std::string normalized,
                      internal::NormalizeName(name, "attribute name", s.options));
  auto* e = s.attributes.Find(normalized);
  if (e == nullptr) return UnknownAttribute(s, normalized);
  return e;
}

AttributeInfo InfoOf(const AttributeEntry& e) {
  AttributeInfo info;
  info.id = e.id;
  info.name = e.name;
  info.type = e.type;
  info.scale = e.scale;
  info.description = e.description;
  info.count = e.column.Count();
  info.bits = e.column.bits();
  return info;
}

absl::Status CheckLive(const Version& s, std::span<const RowId> rows) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!s.universe().Contains(rows[i])) {
      return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer,
                         absl::StrCat("row ", rows[i]),
                         absl::StrCat("index: row ", rows[i], " is not a live customer",
                                      rows.size() > 1 ? absl::StrCat(" (batch position ", i, ")")
                                                      : std::string()));
    }
  }
  return absl::OkStatus();
}

// Mutations go through the one commit path (mutation.h): validate, log,
// apply. A column is named here and addressed by id in the log.
absl::Status CommitOne(IndexState& s, internal::Mutation m,
                       internal::CommitResult* result = nullptr) {
  return internal::Commit(s, std::span<internal::Mutation>(&m, 1), {}, result);
}

// (The id is checked again when the mutation is validated: a column dropped
// in between is NotFound then.)
absl::StatusOr<AttributeId> IdOf(const IndexState& s, std::string_view name) {
  TI_RETURN_IF_ERROR(internal::CheckOwner(s));
  std::shared_ptr<const Version> v = s.Pin();
  TI_ASSIGN_OR_RETURN(const AttributeEntry* e, FindColumn(*v, name));
  return e->id;
}

// The segment's rows as a filter (null: all customers). Errors: a segment
// of another index.
absl::StatusOr<const Bitmap*> FilterOf(const Index* index, const Segment* segment) {
  if (segment == nullptr) return nullptr;
  if (segment->index() != index) {
    return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, "segment",
                       "index: the segment belongs to another index");
  }
  return &internal::Access::Data(*segment).rows;
}

}  // namespace

absl::StatusOr<AttributeId> Index::CreateAttribute(const AttributeSpec& spec) {
  internal::CreateAttributeMutation m;
  m.name = spec.name;
  m.type = spec.type;
  m.scale = spec.scale;
  m.description = spec.description;
  internal::CommitResult result;
  TI_RETURN_IF_ERROR(CommitOne(*state_, m, &result));
  return result.items[0].attribute;
}

absl::StatusOr<AttributeInfo> Snapshot::GetAttribute(std::string_view name) const {
  TI_ASSIGN_OR_RETURN(const AttributeEntry* e, FindColumn(*v_, name));
  return InfoOf(*e);
}

absl::StatusOr<std::vector<AttributeInfo>> Snapshot::ListAttributes() const {
  return internal::Guarded([&]() -> absl::StatusOr<std::vector<AttributeInfo>> {
    std::vector<AttributeInfo> out;
    for (const AttributeEntry* e : v_->attributes.List()) out.push_back(InfoOf(*e));
    return out;
  });
}

absl::Status Index::RenameAttribute(std::string_view name, std::string_view new_name) {
  TI_ASSIGN_OR_RETURN(AttributeId id, IdOf(*state_, name));
  return CommitOne(*state_, internal::RenameAttributeMutation{id, new_name});
}

absl::Status Index::DropAttribute(std::string_view name) {
  TI_ASSIGN_OR_RETURN(AttributeId id, IdOf(*state_, name));
  return CommitOne(*state_, internal::DropAttributeMutation{id});
}

absl::Status Index::SetAttribute(std::string_view attribute, int64_t key, int64_t value) {
  return SetAttributeMany(attribute, std::span<const int64_t>(&key, 1),
                          std::span<const int64_t>(&value, 1));
}
absl::Status Index::SetAttribute(std::string_view attribute, std::string_view key, int64_t value) {
  return SetAttributeMany(attribute, std::span<const std::string_view>(&key, 1),
                          std::span<const int64_t>(&value, 1));
}

absl::Status Index::SetAttributeMany(std::string_view attribute, std::span<const int64_t> keys,
                                     std::span<const int64_t> values) {
  TI_ASSIGN_OR_RETURN(AttributeId id, IdOf(*state_, attribute));
  return CommitOne(*state_,
                   internal::SetAttributeKeysMutation{id, internal::KeyList::Of(keys), values});
}

absl::Status Index::SetAttributeMany(std::string_view attribute,
                                     std::span<const std::string_view> keys,
                                     std::span<const int64_t> values) {
  TI_ASSIGN_OR_RETURN(AttributeId id, IdOf(*state_, attribute));
  return CommitOne(*state_,
                   internal::SetAttributeKeysMutation{id, internal::KeyList::Of(keys), values});
}

absl::Status Index::SetAttributeRows(std::string_view attribute, std::span<const RowId> rows,
                                     std::span<const int64_t> values) {
  TI_ASSIGN_OR_RETURN(AttributeId id, IdOf(*state_, attribute));
  return CommitOne(*state_, internal::SetAttributeRowsMutation{id, rows, values, false});
}

absl::Status Index::ClearAttributeRows(std::string_view attribute, std::span<const RowId> rows) {
  TI_ASSIGN_OR_RETURN(AttributeId id, IdOf(*state_, attribute));
  return CommitOne(*state_, internal::SetAttributeRowsMutation{id, rows, {}, true});
}

absl::Status Index::ClearAttribute(std::string_view attribute, int64_t key) {
  return ClearAttributeMany(attribute, std::span<const int64_t>(&key, 1));
}
absl::Status Index::ClearAttribute(std::string_view attribute, std::string_view key) {
  return ClearAttributeMany(attribute, std::span<const std::string_view>(&key, 1));
}
absl::Status Index::ClearAttributeMany(std::string_view attribute, std::span<const int64_t> keys) {
  TI_ASSIGN_OR_RETURN(AttributeId id, IdOf(*state_, attribute));
  return CommitOne(*state_,
                   internal::SetAttributeKeysMutation{id, internal::KeyList::Of(keys), {}, true});
}
absl::Status Index::ClearAttributeMany(std::string_view attribute,
                                       std::span<const std::string_view> keys) {
  TI_ASSIGN_OR_RETURN(AttributeId id, IdOf(*state_, attribute));
  return CommitOne(*state_,
                   internal::SetAttributeKeysMutation{id, internal::KeyList::Of(keys), {}, true});
}

absl::StatusOr<std::optional<int64_t>> Snapshot::GetAttributeValue(std::string_view attribute,
                                                                   RowId row) const {
  TI_ASSIGN_OR_RETURN(const AttributeEntry* e, FindColumn(*v_, attribute));
  TI_RETURN_IF_ERROR(CheckLive(*v_, std::span<const RowId>(&row, 1)));
  return e->column.Get(row);
}

absl::StatusOr<int64_t> Snapshot::ParseAttributeValue(std::string_view attribute,
                                                      std::string_view text) const {
  TI_ASSIGN_OR_RETURN(const AttributeEntry* e, FindColumn(*v_, attribute));
  absl::StatusOr<int64_t> v = query::ParseAttribute(e->type, e->scale, text);
  if (!v.ok()) {
    return util::WithMessage(
        v.status(), absl::StrCat("index: attribute ", Quote(e->name), ": ", v.status().message()));
  }
  return v;
}

absl::StatusOr<std::string> Snapshot::FormatAttributeValue(std::string_view attribute,
                                                           int64_t value) const {
  TI_ASSIGN_OR_RETURN(const AttributeEntry* e, FindColumn(*v_, attribute));
  return query::FormatAttribute(e->type, e->scale, value);
}

absl::StatusOr<AttributeSummary> Snapshot::SummarizeAttribute(
    std::string_view attribute, const Segment* segment, const AttributeAggregates& which) const {
  return Guarded([&]() -> absl::StatusOr<AttributeSummary> {
    TI_ASSIGN_OR_RETURN(const Bitmap* filter, FilterOf(index_, segment));
    TI_ASSIGN_OR_RETURN(const AttributeEntry* e, FindColumn(*v_, attribute));
    // One pass over the segment's chunks for everything asked for.
    const Bsi::Summary s =
        e->column.Summarize(filter, {.sum = which.sum, .min = which.min, .max = which.max});
    AttributeSummary out;
    out.count = s.count;
    out.sum = absl::MakeInt128(static_cast<int64_t>(s.sum >> 64),
                               static_cast<uint64_t>(s.sum & ~uint64_t{0}));
    out.min = s.min;
    out.max = s.max;
    if (out.count > 0 && which.sum) {
      out.mean = static_cast<double>(static_cast<long double>(s.sum) /
                                     static_cast<long double>(out.count));
    }
    return out;
  });
}

absl::StatusOr<std::vector<AttributeEntryValue>> Snapshot::TopAttribute(
    std::string_view attribute, uint64_t k, bool largest, const Segment* segment) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<AttributeEntryValue>> {
    TI_ASSIGN_OR_RETURN(const Bitmap* filter, FilterOf(index_, segment));
    TI_ASSIGN_OR_RETURN(const AttributeEntry* e, FindColumn(*v_, attribute));
    std::vector<AttributeEntryValue> out;
    for (const auto& [row, value] : e->column.TopK(k, largest, filter)) {
      out.push_back({row, value});
    }
    return out;
  });
}

absl::StatusOr<std::vector<uint64_t>> Snapshot::AttributeHistogram(std::string_view attribute,
                                                                   std::span<const int64_t> bounds,
                                                                   const Segment* segment) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<uint64_t>> {
    if (bounds.size() < 2) {
      return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, "bounds",
                         "index: a histogram needs at least two bucket bounds");
    }
    for (size_t i = 0; i + 1 < bounds.size(); ++i) {
      if (bounds[i] >= bounds[i + 1]) {
        return util::Error(
            absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, "bounds",
            absl::StrCat("index: histogram bounds must be strictly ascending; bound ", i + 1, " (",
                         bounds[i + 1], ") is not above bound ", i, " (", bounds[i], ")"));
      }
    }
    TI_ASSIGN_OR_RETURN(const Bitmap* filter, FilterOf(index_, segment));
    TI_ASSIGN_OR_RETURN(const AttributeEntry* e, FindColumn(*v_, attribute));
    return e->column.Histogram(bounds, filter);
  });
}

absl::StatusOr<std::optional<int64_t>> Snapshot::AttributeQuantile(std::string_view attribute,
                                                                   double q,
                                                                   const Segment* segment) const {
  return Guarded([&]() -> absl::StatusOr<std::optional<int64_t>> {
    if (!(q >= 0.0 && q <= 1.0)) {
      return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, absl::StrCat(q),
                         absl::StrCat("index: quantile ", q, " is outside [0, 1]"));
    }
    TI_ASSIGN_OR_RETURN(const Bitmap* filter, FilterOf(index_, segment));
    TI_ASSIGN_OR_RETURN(const AttributeEntry* e, FindColumn(*v_, attribute));
    const uint64_t n = e->column.Count(filter);
    if (n == 0) return std::optional<int64_t>();
    // Nearest rank: ceil(q * n), at least 1.
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
    rank = std::clamp<uint64_t>(rank, 1, n);
    return e->column.KthSmallest(rank - 1, filter);
  });
}

}  // namespace tagindex
