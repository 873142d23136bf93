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

using ReadLock = std::shared_lock<std::shared_mutex>;
using WriteLock = std::unique_lock<std::shared_mutex>;

using internal::Guarded;

std::string KeyText(int64_t key) { return absl::StrCat(key); }
std::string KeyText(std::string_view key) { return Quote(key); }

template <typename K>
std::optional<RowId> LiveRow(const IndexState& s, const K& key) {
  std::optional<RowId> row = s.keys.Find(key);
  if (row && !s.universe.Contains(*row)) return std::nullopt;
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

absl::Status CheckLiveRow(const IndexState& s, RowId row) {
  if (s.universe.Contains(row)) return absl::OkStatus();
  return RowNotLive(row);
}

absl::StatusOr<const TagEntry*> GetTagEntry(const IndexState& s, TagId tag) {
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

absl::StatusOr<std::vector<CustomerKey>> RowsToKeys(const IndexState& s,
                                                    const std::vector<RowId>& rows) {
  std::vector<CustomerKey> keys;
  keys.reserve(rows.size());
  for (RowId r : rows) keys.push_back(s.keys.KeyOf(r));
  return keys;
}

}  // namespace

// ---- construction ---------------------------------------------------------------

Index::Index(std::unique_ptr<internal::IndexState> state) : state_(std::move(state)) {}
Index::~Index() = default;

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
absl::StatusOr<RowId> FindOne(const IndexState& s, const K& key) {
  ReadLock lock(s.mu);
  TI_RETURN_IF_ERROR(internal::CheckKey(s, key));
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

absl::StatusOr<RowId> Index::FindCustomer(int64_t key) const { return FindOne(*state_, key); }
absl::StatusOr<RowId> Index::FindCustomer(std::string_view key) const {
  return FindOne(*state_, key);
}

absl::StatusOr<CustomerKey> Index::KeyOf(RowId row) const {
  ReadLock lock(state_->mu);
  if (!state_->universe.Contains(row)) {
    return RowNotLive(row);
  }
  return state_->keys.KeyOf(row);
}

absl::Status Index::RemoveCustomer(int64_t key) { return RemoveOne(*state_, key); }
absl::Status Index::RemoveCustomer(std::string_view key) { return RemoveOne(*state_, key); }
absl::Status Index::RemoveRow(RowId row) {
  return CommitOne(*state_, internal::RemoveRowsMutation{std::span<const RowId>(&row, 1)});
}

uint64_t Index::CustomerCount() const {
  ReadLock lock(state_->mu);
  return state_->universe.Cardinality();
}

uint64_t Index::RowIdLimit() const {
  ReadLock lock(state_->mu);
  return state_->row_limit;
}

absl::StatusOr<std::vector<RowId>> Index::LiveRows() const {
  return Guarded([&]() -> absl::StatusOr<std::vector<RowId>> {
    ReadLock lock(state_->mu);
    return state_->universe.ToVector();
  });
}

// ---- categories ---------------------------------------------------------------------

absl::Status Index::CreateCategory(std::string_view name, const CategoryOptions& options) {
  return CommitOne(*state_,
                   internal::CreateCategoryMutation{name, options.description, options.exclusive});
}

absl::StatusOr<CategoryInfo> Index::GetCategory(std::string_view name) const {
  TI_ASSIGN_OR_RETURN(std::string normalized,
                      internal::NormalizeName(name, "category name", state_->options));
  ReadLock lock(state_->mu);
  const CategoryEntry* c = state_->catalog.FindCategory(normalized);
  if (c == nullptr) {
    return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCategory, normalized,
                       absl::StrCat("index: category ", Quote(normalized), " not found"));
  }
  return MakeCategoryInfo(*c);
}

std::vector<CategoryInfo> Index::ListCategories() const {
  ReadLock lock(state_->mu);
  std::vector<CategoryInfo> out;
  for (const auto& [name, c] : state_->catalog.categories()) out.push_back(MakeCategoryInfo(c));
  return out;
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

absl::StatusOr<TagId> Index::FindTag(std::string_view name) const {
  TI_ASSIGN_OR_RETURN(std::string normalized,
                      internal::NormalizeName(name, "tag name", state_->options));
  ReadLock lock(state_->mu);
  std::vector<const TagEntry*> found = state_->catalog.FindByName(normalized);
  if (found.size() == 1) return found[0]->id;
  if (found.empty()) {
    std::vector<std::string> suggestions = state_->catalog.Suggest(normalized);
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

absl::StatusOr<TagId> Index::FindTag(std::string_view category, std::string_view name) const {
  TI_ASSIGN_OR_RETURN(std::string n, internal::NormalizeName(name, "tag name", state_->options));
  TI_ASSIGN_OR_RETURN(std::string c,
                      internal::NormalizeName(category, "category name", state_->options, true));
  ReadLock lock(state_->mu);
  if (const TagEntry* t = state_->catalog.Find(c, n)) return t->id;
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

absl::StatusOr<TagInfo> Index::GetTag(TagId tag) const {
  ReadLock lock(state_->mu);
  TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*state_, tag));
  TagInfo info = MakeInfo(*entry);
  if (const internal::RuleEntry* r = state_->rules.Find(tag)) info.rule = r->query;
  return info;
}

std::vector<TagInfo> Index::ListTags() const {
  ReadLock lock(state_->mu);
  std::vector<TagInfo> out;
  out.reserve(state_->catalog.live_tag_count());
  state_->catalog.ForEachTag([&](const TagEntry& t) {
    out.push_back(MakeInfo(t));
    if (const internal::RuleEntry* r = state_->rules.Find(t.id)) out.back().rule = r->query;
  });
  std::sort(out.begin(), out.end(), [](const TagInfo& a, const TagInfo& b) {
    return std::tie(a.category, a.name) < std::tie(b.category, b.name);
  });
  return out;
}

uint32_t Index::TagCount() const {
  ReadLock lock(state_->mu);
  return state_->catalog.live_tag_count();
}

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

absl::StatusOr<uint64_t> Index::TagCardinality(TagId tag) const {
  ReadLock lock(state_->mu);
  TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*state_, tag));
  return entry->bitmap.Cardinality();
}

namespace {
template <typename K>
absl::StatusOr<RowId> LiveRowOrError(const IndexState& s, const K& key) {
  TI_RETURN_IF_ERROR(internal::CheckKey(s, key));
  if (std::optional<RowId> row = LiveRow(s, key)) return *row;
  return KeyNotFound(key);
}

absl::StatusOr<bool> HasTagLocked(const IndexState& s, TagId tag, RowId row) {
  TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(s, tag));
  return entry->bitmap.Contains(row);
}

std::vector<TagId> TagsOfLocked(const IndexState& s, RowId row) {
  std::vector<TagId> out;
  s.catalog.ForEachTag([&](const TagEntry& t) {
    if (t.bitmap.Contains(row)) out.push_back(t.id);
  });
  return out;
}
}  // namespace

absl::StatusOr<bool> Index::HasTag(TagId tag, int64_t key) const {
  ReadLock lock(state_->mu);
  TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*state_, key));
  return HasTagLocked(*state_, tag, row);
}
absl::StatusOr<bool> Index::HasTag(TagId tag, std::string_view key) const {
  ReadLock lock(state_->mu);
  TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*state_, key));
  return HasTagLocked(*state_, tag, row);
}
absl::StatusOr<bool> Index::HasTagRow(TagId tag, RowId row) const {
  ReadLock lock(state_->mu);
  TI_RETURN_IF_ERROR(CheckLiveRow(*state_, row));
  return HasTagLocked(*state_, tag, row);
}

absl::StatusOr<std::vector<TagId>> Index::TagsOf(int64_t key) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<TagId>> {
    ReadLock lock(state_->mu);
    TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*state_, key));
    return TagsOfLocked(*state_, row);
  });
}
absl::StatusOr<std::vector<TagId>> Index::TagsOf(std::string_view key) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<TagId>> {
    ReadLock lock(state_->mu);
    TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*state_, key));
    return TagsOfLocked(*state_, row);
  });
}
absl::StatusOr<std::vector<TagId>> Index::TagsOfRow(RowId row) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<TagId>> {
    ReadLock lock(state_->mu);
    TI_RETURN_IF_ERROR(CheckLiveRow(*state_, row));
    return TagsOfLocked(*state_, row);
  });
}

absl::StatusOr<std::vector<RowId>> Index::RowsWithTag(TagId tag) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<RowId>> {
    ReadLock lock(state_->mu);
    TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*state_, tag));
    return entry->bitmap.ToVector();
  });
}

absl::StatusOr<std::vector<CustomerKey>> Index::KeysWithTag(TagId tag) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<CustomerKey>> {
    ReadLock lock(state_->mu);
    TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*state_, tag));
    return RowsToKeys(*state_, entry->bitmap.ToVector());
  });
}

// ---- export / import (Open is in open.cc, Checkpoint in checkpoint.cc) ---------------

absl::StatusOr<std::string> Index::ExportTag(TagId tag) const {
  return Guarded([&]() -> absl::StatusOr<std::string> {
    ReadLock lock(state_->mu);
    TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*state_, tag));
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
