// WriteBatch: owns copies of its items' arguments and the Mutation values
// that view them (index/mutation.h); Index::Write commits them.
#include "tagindex/write_batch.h"

#include <charconv>
#include <deque>
#include <utility>

#include "absl/strings/str_split.h"
#include "index/mutation.h"

namespace tagindex {

using internal::KeyList;

struct WriteBatch::Rep {
  std::vector<internal::Mutation> items;
  // Owners of what the items view; deques never move their elements.
  std::deque<std::vector<int64_t>> ints;
  std::deque<std::vector<RowId>> rows;
  std::deque<std::string> strings;
  std::deque<std::vector<std::string_view>> string_lists;

  std::string_view Str(std::string_view s) { return strings.emplace_back(s); }
  KeyList Keys(std::span<const int64_t> k) {
    return KeyList::Of(std::span<const int64_t>(ints.emplace_back(k.begin(), k.end())));
  }
  KeyList Keys(std::span<const std::string_view> k) {
    std::vector<std::string_view>& views = string_lists.emplace_back();
    views.reserve(k.size());
    for (std::string_view s : k) views.push_back(Str(s));
    return KeyList::Of(std::span<const std::string_view>(views));
  }
  std::span<const int64_t> Ints(std::span<const int64_t> v) {
    return ints.emplace_back(v.begin(), v.end());
  }
  std::span<const RowId> Rows(std::span<const RowId> r) {
    return rows.emplace_back(r.begin(), r.end());
  }
  size_t Add(internal::Mutation m) {
    items.push_back(std::move(m));
    return items.size() - 1;
  }
};

WriteBatch::WriteBatch() : rep_(std::make_unique<Rep>()) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

size_t WriteBatch::AddCustomers(std::span<const int64_t> keys) {
  return rep_->Add(internal::AddCustomersMutation{rep_->Keys(keys)});
}
size_t WriteBatch::AddCustomers(std::span<const std::string_view> keys) {
  return rep_->Add(internal::AddCustomersMutation{rep_->Keys(keys)});
}
size_t WriteBatch::RemoveCustomers(std::span<const int64_t> keys) {
  return rep_->Add(internal::RemoveCustomersMutation{rep_->Keys(keys)});
}
size_t WriteBatch::RemoveCustomers(std::span<const std::string_view> keys) {
  return rep_->Add(internal::RemoveCustomersMutation{rep_->Keys(keys)});
}
size_t WriteBatch::RemoveRows(std::span<const RowId> rows) {
  return rep_->Add(internal::RemoveRowsMutation{rep_->Rows(rows)});
}
size_t WriteBatch::CreateCategory(std::string_view name, const CategoryOptions& options) {
  return rep_->Add(internal::CreateCategoryMutation{rep_->Str(name), rep_->Str(options.description),
                                                    options.exclusive});
}
size_t WriteBatch::CreateTag(const TagSpec& spec) {
  internal::CreateTagMutation m;
  m.name = rep_->Str(spec.name);
  m.category = rep_->Str(spec.category);
  m.description = rep_->Str(spec.description);
  m.kind = spec.kind;
  return rep_->Add(m);
}
size_t WriteBatch::RenameTag(TagId tag, std::string_view new_name) {
  return rep_->Add(internal::RenameTagMutation{tag, rep_->Str(new_name)});
}
size_t WriteBatch::SetTagDescription(TagId tag, std::string_view description) {
  return rep_->Add(internal::SetTagDescriptionMutation{tag, rep_->Str(description)});
}
size_t WriteBatch::DeleteTag(TagId tag) { return rep_->Add(internal::DeleteTagMutation{tag}); }
size_t WriteBatch::Tag(TagId tag, std::span<const int64_t> keys) {
  return rep_->Add(internal::TagKeysMutation{tag, rep_->Keys(keys), true});
}
size_t WriteBatch::Tag(TagId tag, std::span<const std::string_view> keys) {
  return rep_->Add(internal::TagKeysMutation{tag, rep_->Keys(keys), true});
}
size_t WriteBatch::TagRows(TagId tag, std::span<const RowId> rows) {
  return rep_->Add(internal::TagRowsMutation{tag, rep_->Rows(rows), true});
}
size_t WriteBatch::Untag(TagId tag, std::span<const int64_t> keys) {
  return rep_->Add(internal::TagKeysMutation{tag, rep_->Keys(keys), false});
}
size_t WriteBatch::Untag(TagId tag, std::span<const std::string_view> keys) {
  return rep_->Add(internal::TagKeysMutation{tag, rep_->Keys(keys), false});
}
size_t WriteBatch::UntagRows(TagId tag, std::span<const RowId> rows) {
  return rep_->Add(internal::TagRowsMutation{tag, rep_->Rows(rows), false});
}
size_t WriteBatch::ImportTag(const TagSpec& spec, std::span<const char> portable_roaring) {
  internal::ImportTagMutation m;
  m.name = rep_->Str(spec.name);
  m.category = rep_->Str(spec.category);
  m.description = rep_->Str(spec.description);
  m.kind = spec.kind;
  m.portable = rep_->Str(std::string_view(portable_roaring.data(), portable_roaring.size()));
  return rep_->Add(m);
}

size_t WriteBatch::SetAttribute(AttributeId attribute, std::span<const int64_t> keys,
                                std::span<const int64_t> values) {
  return rep_->Add(
      internal::SetAttributeKeysMutation{attribute, rep_->Keys(keys), rep_->Ints(values)});
}
size_t WriteBatch::SetAttribute(AttributeId attribute, std::span<const std::string_view> keys,
                                std::span<const int64_t> values) {
  return rep_->Add(
      internal::SetAttributeKeysMutation{attribute, rep_->Keys(keys), rep_->Ints(values)});
}
size_t WriteBatch::SetAttributeRows(AttributeId attribute, std::span<const RowId> rows,
                                    std::span<const int64_t> values) {
  return rep_->Add(
      internal::SetAttributeRowsMutation{attribute, rep_->Rows(rows), rep_->Ints(values), false});
}
size_t WriteBatch::ClearAttribute(AttributeId attribute, std::span<const int64_t> keys) {
  return rep_->Add(internal::SetAttributeKeysMutation{attribute, rep_->Keys(keys), {}, true});
}
size_t WriteBatch::ClearAttribute(AttributeId attribute, std::span<const std::string_view> keys) {
  return rep_->Add(internal::SetAttributeKeysMutation{attribute, rep_->Keys(keys), {}, true});
}
size_t WriteBatch::ClearAttributeRows(AttributeId attribute, std::span<const RowId> rows) {
  return rep_->Add(internal::SetAttributeRowsMutation{attribute, rep_->Rows(rows), {}, true});
}

size_t WriteBatch::size() const { return rep_->items.size(); }
void WriteBatch::Clear() { *rep_ = Rep(); }

std::vector<internal::Mutation> internal::WriteBatchAccess::Items(const WriteBatch& batch) {
  return batch.rep_->items;
}

std::optional<BatchError> GetBatchError(const absl::Status& status) {
  auto payload = status.GetPayload(internal::kBatchErrorUrl);
  if (!payload) return std::nullopt;
  std::vector<std::string> parts =
      absl::StrSplit(std::string(*payload), absl::MaxSplits('\x1f', 3));
  if (parts.size() != 4) return std::nullopt;
  BatchError e;
  if (std::from_chars(parts[0].data(), parts[0].data() + parts[0].size(), e.item).ec !=
      std::errc()) {
    return std::nullopt;
  }
  e.kind = std::move(parts[1]);
  e.subject = std::move(parts[2]);
  e.reason = std::move(parts[3]);
  return e;
}

}  // namespace tagindex
