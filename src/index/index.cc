#include "tagindex/index.h"

#include <algorithm>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "index/access.h"
#include "index/index_state.h"
#include "index/mutation.h"
#include "index/names.h"
#include "util/error_info.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

using internal::CategoryEntry;
using internal::IndexState;
using internal::Quote;
using internal::TagEntry;
using internal::Version;

using internal::Guarded;

std::string KeyText(std::string_view key) { return Quote(key); }

// The customer's row in version `s`: the newest row below its row limit
// (rows at or above it did not exist yet), if live there.
template <typename K>
std::optional<RowId> LiveRow(const Version& s, const K& key) {
  std::optional<RowId> row = s.keys->Find(key, s.row_limit);
  if (row && !s.universe().Contains(*row)) return std::nullopt;
  return row;
}

absl::Status KeyNotFound(int64_t key) {
  return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer, absl::StrCat(key),
                     absl::StrCat("index: customer key ", key, " not found"));
}
absl::Status KeyNotFound(std::string_view key) {
  return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer, key,
                     absl::StrCat("index: customer key ", KeyText(key), " not found"));
}

absl::Status RowNotLive(RowId row) {
  return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer,
                     absl::StrCat("row ", row),
                     absl::StrCat("index: row ", row, " is not a live customer"));
}

absl::Status CheckLiveRow(const Version& s, RowId row) {
  if (s.universe().Contains(row)) return absl::OkStatus();
  return RowNotLive(row);
}

absl::StatusOr<const TagEntry*> GetTagEntry(const Version& s, TagId tag) {
  const TagEntry* entry = s.catalog.Get(tag);
  if (entry == nullptr) {
    return util::Error(
        absl::StatusCode::kNotFound,
        absl::StrCat("index: tag id ", tag.value, " not found (deleted or never created)"),
        util::IdInfo(ErrorKind::kUnknownTag, "tag id", tag.value));
  }
  return entry;
}

// Every public mutator: its mutation(s), committed through the one
// pipeline (index/mutation.h).
absl::Status CommitOne(IndexState& s, internal::Mutation m,
                       internal::CommitResult* result = nullptr) {
  return internal::Commit(s, std::span<internal::Mutation>(&m, 1), {}, result);
}

TagInfo MakeInfo(const TagEntry& t) {
  TagInfo info;
  info.id = t.id;
  info.name = t.name;
  info.category = t.category;
  info.description = t.description;
  info.kind = t.kind;
  info.count = t.bitmap.Cardinality();
  return info;
}

CategoryInfo MakeCategoryInfo(const CategoryEntry& c) {
  CategoryInfo info;
  info.name = c.name;
  info.description = c.description;
  info.exclusive = c.exclusive;
  info.tag_count = static_cast<uint32_t>(c.tags.size());
  return info;
}

absl::StatusOr<std::vector<CustomerKey>> RowsToKeys(const Version& s,
                                                    const std::vector<RowId>& rows) {
  std::vector<CustomerKey> keys;
  keys.reserve(rows.size());
  for (RowId r : rows) keys.push_back(s.keys->KeyOf(r));
  return keys;
}

}  // namespace

// ---- construction ---------------------------------------------------------------

Index::Index(std::unique_ptr<internal::IndexState> state) : state_(std::move(state)) {}
Index::~Index() {
  // A fork child must not sync or unlock the parent's files: it leaks its
  // copy of the state instead (the parent's stays intact).
  if (!internal::CheckOwner(*state_).ok()) (void)state_.release();
}

absl::StatusOr<std::unique_ptr<Index>> Index::Create(IndexOptions options) {
  if (options.max_name_bytes == 0 || options.max_name_code_points == 0 ||
      options.max_string_key_bytes == 0 || options.max_tags == 0) {
    return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, "IndexOptions",
                       "index: IndexOptions limits (max_name_bytes, max_name_code_points, "
                       "max_string_key_bytes, max_tags) must be positive");
  }
  if (static_cast<uint8_t>(options.key_kind) > static_cast<uint8_t>(KeyKind::kIdentity)) {
    return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue,
                       "IndexOptions::key_kind", "index: unknown IndexOptions::key_kind");
  }
  return Guarded([&]() -> absl::StatusOr<std::unique_ptr<Index>> {
    return std::unique_ptr<Index>(
        new Index(std::make_unique<internal::IndexState>(std::move(options))));
  });
}

const IndexOptions& Index::options() const { return state_->options; }

Snapshot Index::GetSnapshot() const { return internal::Access::MakeSnapshot(state_->Pin(), this); }

// ---- customers --------------------------------------------------------------------

namespace {
template <typename K>
absl::Status AddKeys(IndexState& s, std::span<const K> keys, std::vector<RowId>* rows) {
  internal::CommitResult result;
  TI_RETURN_IF_ERROR(
      CommitOne(s, internal::AddCustomersMutation{internal::KeyList::Of(keys)}, &result));
  if (rows != nullptr) *rows = std::move(result.items[0].rows);
  return absl::OkStatus();
}

template <typename K>
absl::StatusOr<RowId> AddOne(IndexState& s, const K& key) {
  std::vector<RowId> rows;
  TI_RETURN_IF_ERROR(AddKeys<K>(s, std::span<const K>(&key, 1), &rows));
  return rows[0];
}

template <typename K>
absl::StatusOr<RowId> FindOne(const Version& s, const K& key) {
  TI_RETURN_IF_ERROR(internal::CheckKey(s.options, key));
  if (std::optional<RowId> row = LiveRow(s, key)) return *row;
  return KeyNotFound(key);
}

template <typename K>
absl::Status RemoveOne(IndexState& s, const K& key) {
  return CommitOne(
      s, internal::RemoveCustomersMutation{internal::KeyList::Of(std::span<const K>(&key, 1))});
}
}  // namespace

absl::StatusOr<RowId> Index::AddCustomer(int64_t key) { return AddOne(*state_, key); }
absl::StatusOr<RowId> Index::AddCustomer(std::string_view key) { return AddOne(*state_, key); }

absl::Status Index::AddCustomers(std::span<const int64_t> keys, std::vector<RowId>* rows) {
  return AddKeys(*state_, keys, rows);
}
absl::Status Index::AddCustomers(std::span<const std::string_view> keys, std::vector<RowId>* rows) {
  return AddKeys(*state_, keys, rows);
}

absl::StatusOr<RowId> Snapshot::FindCustomer(int64_t key) const { return FindOne(*v_, key); }
absl::StatusOr<RowId> Snapshot::FindCustomer(std::string_view key) const {
  return FindOne(*v_, key);
}

absl::StatusOr<CustomerKey> Snapshot::KeyOf(RowId row) const {
  if (!v_->universe().Contains(row)) {
    return RowNotLive(row);
  }
  return v_->keys->KeyOf(row);
}

absl::Status Index::RemoveCustomer(int64_t key) { return RemoveOne(*state_, key); }
absl::Status Index::RemoveCustomer(std::string_view key) { return RemoveOne(*state_, key); }
absl::Status Index::RemoveRow(RowId row) {
  return CommitOne(*state_, internal::RemoveRowsMutation{std::span<const RowId>(&row, 1)});
}

uint64_t Snapshot::CustomerCount() const { return v_->universe().Cardinality(); }

uint64_t Snapshot::RowIdLimit() const { return v_->row_limit; }

absl::StatusOr<std::vector<RowId>> Snapshot::LiveRows() const {
  return Guarded([&]() -> absl::StatusOr<std::vector<RowId>> { return v_->universe().ToVector(); });
}

// ---- categories ---------------------------------------------------------------------

absl::Status Index::CreateCategory(std::string_view name, const CategoryOptions& options) {
  return CommitOne(*state_,
                   internal::CreateCategoryMutation{name, options.description, options.exclusive});
}

absl::StatusOr<CategoryInfo> Snapshot::GetCategory(std::string_view name) const {
  TI_ASSIGN_OR_RETURN(std::string normalized,
                      internal::NormalizeName(name, "category name", v_->options));
  const CategoryEntry* c = v_->catalog.FindCategory(normalized);
  if (c == nullptr) {
    return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCategory, normalized,
                       absl::StrCat("index: category ", Quote(normalized), " not found"));
  }
  return MakeCategoryInfo(*c);
}

absl::StatusOr<std::vector<CategoryInfo>> Snapshot::ListCategories() const {
  return Guarded([&]() -> absl::StatusOr<std::vector<CategoryInfo>> {
    std::vector<CategoryInfo> out;
    for (const auto& [name, c] : v_->catalog.categories()) out.push_back(MakeCategoryInfo(c));
    return out;
  });
}

// ---- tags -----------------------------------------------------------------------------

namespace {
internal::CreateTagMutation CreateTagOf(const TagSpec& spec) {
  internal::CreateTagMutation m;
  m.name = spec.name;
  m.category = spec.category;
  m.description = spec.description;
  m.kind = spec.kind;
  return m;
}
}  // namespace

absl::StatusOr<TagId> Index::CreateTag(const TagSpec& spec) {
  internal::CommitResult result;
  TI_RETURN_IF_ERROR(CommitOne(*state_, CreateTagOf(spec), &result));
  return result.items[0].tag;
}

absl::StatusOr<TagId> Snapshot::FindTag(std::string_view name) const {
  TI_ASSIGN_OR_RETURN(std::string normalized,
                      internal::NormalizeName(name, "tag name", v_->options));
  std::vector<const TagEntry*> found = v_->catalog.FindByName(normalized);
  if (found.size() == 1) return found[0]->id;
  if (found.empty()) {
    std::vector<std::string> suggestions = v_->catalog.Suggest(normalized);
    std::string hint;
    if (!suggestions.empty()) {
      std::vector<std::string> quoted;
      for (const auto& s : suggestions) quoted.push_back(Quote(s));
      hint = absl::StrCat("; did you mean ", absl::StrJoin(quoted, ", "), "?");
    }
    ErrorInfo info = util::Info(ErrorKind::kUnknownTag, normalized);
    info.suggestions = std::move(suggestions);
    return util::Error(absl::StatusCode::kNotFound,
                       absl::StrCat("index: unknown tag ", Quote(normalized), hint), info);
  }
  ErrorInfo info = util::Info(ErrorKind::kAmbiguousName, normalized);
  std::vector<std::string> candidates;
  for (const TagEntry* t : found) {
    info.candidates.push_back(t->category.empty() ? t->name
                                                  : absl::StrCat(t->category, ":", t->name));
    candidates.push_back(Quote(info.candidates.back()));
  }
  return util::Error(absl::StatusCode::kInvalidArgument,
                     absl::StrCat("index: tag name ", Quote(normalized),
                                  " is in several categories; qualify it as one of ",
                                  absl::StrJoin(candidates, ", ")),
                     info);
}

absl::StatusOr<TagId> Snapshot::FindTag(std::string_view category, std::string_view name) const {
  TI_ASSIGN_OR_RETURN(std::string n, internal::NormalizeName(name, "tag name", v_->options));
  TI_ASSIGN_OR_RETURN(std::string c,
                      internal::NormalizeName(category, "category name", v_->options, true));
  if (const TagEntry* t = v_->catalog.Find(c, n)) return t->id;
  return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownTag, n,
                     absl::StrCat("index: unknown tag ", Quote(n),
                                  c.empty() ? std::string(" without a category")
                                            : absl::StrCat(" in category ", Quote(c))));
}

absl::Status Index::RenameTag(TagId tag, std::string_view new_name) {
  return CommitOne(*state_, internal::RenameTagMutation{tag, new_name});
}

absl::Status Index::SetTagDescription(TagId tag, std::string_view description) {
  return CommitOne(*state_, internal::SetTagDescriptionMutation{tag, description});
}

absl::Status Index::DeleteTag(TagId tag) {
  return CommitOne(*state_, internal::DeleteTagMutation{tag});
}

absl::StatusOr<TagInfo> Snapshot::GetTag(TagId tag) const {
  TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*v_, tag));
  TagInfo info = MakeInfo(*entry);
  if (const internal::RuleEntry* r = v_->rules.Find(tag)) info.rule = r->query;
  return info;
}

absl::StatusOr<std::vector<TagInfo>> Snapshot::ListTags() const {
  return Guarded([&]() -> absl::StatusOr<std::vector<TagInfo>> {
    std::vector<TagInfo> out;
    out.reserve(v_->catalog.live_tag_count());
    v_->catalog.ForEachTag([&](const TagEntry& t) {
      out.push_back(MakeInfo(t));
      if (const internal::RuleEntry* r = v_->rules.Find(t.id)) out.back().rule = r->query;
    });
    std::sort(out.begin(), out.end(), [](const TagInfo& a, const TagInfo& b) {
      return std::tie(a.category, a.name) < std::tie(b.category, b.name);
    });
    return out;
  });
}

uint32_t Snapshot::TagCount() const { return v_->catalog.live_tag_count(); }

// ---- memberships -----------------------------------------------------------------------

namespace {

template <typename K>
absl::Status ByKeys(IndexState& s, TagId tag, std::span<const K> keys, bool add) {
  return CommitOne(s, internal::TagKeysMutation{tag, internal::KeyList::Of(keys), add});
}

absl::Status ByRows(IndexState& s, TagId tag, std::span<const RowId> rows, bool add) {
  return CommitOne(s, internal::TagRowsMutation{tag, rows, add});
}

}  // namespace

absl::Status Index::Tag(TagId tag, int64_t key) {
  return ByKeys(*state_, tag, std::span<const int64_t>(&key, 1), true);
}
absl::Status Index::Tag(TagId tag, std::string_view key) {
  return ByKeys(*state_, tag, std::span<const std::string_view>(&key, 1), true);
}
absl::Status Index::TagRow(TagId tag, RowId row) {
  return ByRows(*state_, tag, std::span<const RowId>(&row, 1), true);
}
absl::Status Index::TagMany(TagId tag, std::span<const int64_t> keys) {
  return ByKeys(*state_, tag, keys, true);
}
absl::Status Index::TagMany(TagId tag, std::span<const std::string_view> keys) {
  return ByKeys(*state_, tag, keys, true);
}
absl::Status Index::TagRows(TagId tag, std::span<const RowId> rows) {
  return ByRows(*state_, tag, rows, true);
}

absl::Status Index::Untag(TagId tag, int64_t key) {
  return ByKeys(*state_, tag, std::span<const int64_t>(&key, 1), false);
}
absl::Status Index::Untag(TagId tag, std::string_view key) {
  return ByKeys(*state_, tag, std::span<const std::string_view>(&key, 1), false);
}
absl::Status Index::UntagRow(TagId tag, RowId row) {
  return ByRows(*state_, tag, std::span<const RowId>(&row, 1), false);
}
absl::Status Index::UntagMany(TagId tag, std::span<const int64_t> keys) {
  return ByKeys(*state_, tag, keys, false);
}
absl::Status Index::UntagMany(TagId tag, std::span<const std::string_view> keys) {
  return ByKeys(*state_, tag, keys, false);
}
absl::Status Index::UntagRows(TagId tag, std::span<const RowId> rows) {
  return ByRows(*state_, tag, rows, false);
}

// ---- reads -------------------------------------------------------------------------------

absl::StatusOr<uint64_t> Snapshot::TagCardinality(TagId tag) const {
  TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*v_, tag));
  return entry->bitmap.Cardinality();
}

namespace {
template <typename K>
absl::StatusOr<RowId> LiveRowOrError(const Version& s, const K& key) {
  TI_RETURN_IF_ERROR(internal::CheckKey(s.options, key));
  if (std::optional<RowId> row = LiveRow(s, key)) return *row;
  return KeyNotFound(key);
}

absl::StatusOr<bool> HasTagLocked(const Version& s, TagId tag, RowId row) {
  TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(s, tag));
  return entry->bitmap.Contains(row);
}

std::vector<TagId> TagsOfLocked(const Version& s, RowId row) {
  std::vector<TagId> out;
  s.catalog.ForEachTag([&](const TagEntry& t) {
    if (t.bitmap.Contains(row)) out.push_back(t.id);
  });
  return out;
}
}  // namespace

absl::StatusOr<bool> Snapshot::HasTag(TagId tag, int64_t key) const {
  TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*v_, key));
  return HasTagLocked(*v_, tag, row);
}
absl::StatusOr<bool> Snapshot::HasTag(TagId tag, std::string_view key) const {
  TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*v_, key));
  return HasTagLocked(*v_, tag, row);
}
absl::StatusOr<bool> Snapshot::HasTagRow(TagId tag, RowId row) const {
  TI_RETURN_IF_ERROR(CheckLiveRow(*v_, row));
  return HasTagLocked(*v_, tag, row);
}

absl::StatusOr<std::vector<TagId>> Snapshot::TagsOf(int64_t key) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<TagId>> {
    TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*v_, key));
    return TagsOfLocked(*v_, row);
  });
}
absl::StatusOr<std::vector<TagId>> Snapshot::TagsOf(std::string_view key) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<TagId>> {
    TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*v_, key));
    return TagsOfLocked(*v_, row);
  });
}
absl::StatusOr<std::vector<TagId>> Snapshot::TagsOfRow(RowId row) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<TagId>> {
    TI_RETURN_IF_ERROR(CheckLiveRow(*v_, row));
    return TagsOfLocked(*v_, row);
  });
}

absl::StatusOr<std::vector<RowId>> Snapshot::RowsWithTag(TagId tag) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<RowId>> {
    TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*v_, tag));
    return entry->bitmap.ToVector();
  });
}

absl::StatusOr<std::vector<CustomerKey>> Snapshot::KeysWithTag(TagId tag) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<CustomerKey>> {
    TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*v_, tag));
    return RowsToKeys(*v_, entry->bitmap.ToVector());
  });
}

// ---- export / import (Open is in open.cc, Checkpoint in checkpoint.cc) ---------------

absl::StatusOr<std::string> Snapshot::ExportTag(TagId tag) const {
  return Guarded([&]() -> absl::StatusOr<std::string> {
    TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*v_, tag));
    std::string out;
    entry->bitmap.PortableSerialize(&out);
    return out;
  });
}

absl::StatusOr<TagId> Index::ImportTag(const TagSpec& spec, std::span<const char> blob) {
  internal::ImportTagMutation m;
  m.name = spec.name;
  m.category = spec.category;
  m.description = spec.description;
  m.kind = spec.kind;
  m.portable = std::string_view(blob.data(), blob.size());
  internal::CommitResult result;
  TI_RETURN_IF_ERROR(CommitOne(*state_, m, &result));
  return result.items[0].tag;
}

std::string Index::ExportRows(std::span<const RowId> rows) {
  Bitmap b = Bitmap::FromIds(rows);
  b.RunOptimize();
  std::string out;
  b.PortableSerialize(&out);
  return out;
}

absl::StatusOr<std::vector<RowId>> Index::ParsePortableRows(std::span<const char> blob,
                                                            uint64_t max_ids) {
  try {
    TI_ASSIGN_OR_RETURN(Bitmap b, Bitmap::PortableDeserialize(blob));
    if (b.Cardinality() > max_ids) {
      return util::Error(absl::StatusCode::kResourceExhausted,
                         absl::StrCat("storage: blob holds ", b.Cardinality(),
                                      " ids, more than the limit ", max_ids),
                         util::LimitInfo("max_ids"));
    }
    return b.ToVector();
  } catch (const std::bad_alloc&) {
    return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory, "blob",
                       "storage: out of memory parsing a Roaring blob");
  }
}

absl::Status Index::Write(const WriteBatch& batch, WriteResult* result) {
  if (batch.empty()) return absl::OkStatus();
  // A copy of the items (views of the batch's data): Commit normalises
  // names and assigns tag ids in it; the batch stays reusable.
  std::vector<internal::Mutation> items = internal::WriteBatchAccess::Items(batch);
  internal::CommitResult committed;
  TI_RETURN_IF_ERROR(internal::Commit(*state_, items, {.batch = true}, &committed));
  if (result != nullptr) {
    result->tags.assign(items.size(), TagId{});
    result->rows.assign(items.size(), {});
    for (size_t i = 0; i < items.size(); ++i) {
      result->tags[i] = committed.items[i].tag;
      result->rows[i] = std::move(committed.items[i].rows);
    }
  }
  return absl::OkStatus();
}

}  // namespace tagindex
