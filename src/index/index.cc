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
#include "index/durability.h"
#include "index/index_state.h"
#include "index/names.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

using internal::CategoryEntry;
using internal::IndexState;
using internal::LogMutation;
using internal::LogTicket;
using internal::Quote;
using internal::RecordType;
using internal::TagEntry;

using ReadLock = std::shared_lock<std::shared_mutex>;
using WriteLock = std::unique_lock<std::shared_mutex>;

// CRoaring reports allocation failure as NULL, which Bitmap turns into
// std::bad_alloc; this is where it becomes a status, so no exception
// crosses the public API.
template <typename Fn>
auto Guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("index: out of memory");
  }
}

// Runs a mutation `fn(ticket)` (which takes the lock, validates, logs, then
// applies) and, once the lock is released, waits for its log record to be
// durable, so that group commit shares one fsync among concurrent writers.
template <typename Fn>
auto Mutate(Fn&& fn) -> decltype(fn(static_cast<LogTicket*>(nullptr))) {
  LogTicket ticket;
  auto result = Guarded([&] { return fn(&ticket); });
  if (!result.ok()) return result;
  absl::Status durable = internal::AwaitDurable(ticket);
  if (!durable.ok()) return durable;
  return result;
}

std::string KeyText(int64_t key) { return absl::StrCat(key); }
std::string KeyText(std::string_view key) { return Quote(key); }

const char* KindName(KeyKind kind) {
  switch (kind) {
    case KeyKind::kInt64:
      return "int64";
    case KeyKind::kString:
      return "string";
    case KeyKind::kIdentity:
      return "identity";
  }
  return "?";
}

absl::Status CheckKey(const IndexState& s, int64_t key) {
  if (s.options.key_kind == KeyKind::kString) {
    return absl::InvalidArgumentError(
        absl::StrCat("index: customer key ", key, " is an integer but this index has string keys"));
  }
  if (s.options.key_kind == KeyKind::kIdentity &&
      (key < 0 || key > static_cast<int64_t>(kMaxRowId))) {
    return absl::InvalidArgumentError(absl::StrCat("index: customer key ", key, " is outside [0, ",
                                                   kMaxRowId,
                                                   "], the range of an identity-keyed index"));
  }
  return absl::OkStatus();
}

absl::Status CheckKey(const IndexState& s, std::string_view key) {
  if (s.options.key_kind != KeyKind::kString) {
    return absl::InvalidArgumentError(absl::StrCat("index: customer key ", Quote(key),
                                                   " is a string but this index has ",
                                                   KindName(s.options.key_kind), " keys"));
  }
  return internal::ValidateStringKey(key, s.options);
}

template <typename K>
std::optional<RowId> LiveRow(const IndexState& s, const K& key) {
  std::optional<RowId> row = s.keys.Find(key);
  if (row && !s.universe.Contains(*row)) return std::nullopt;
  return row;
}

template <typename K>
absl::Status KeyNotFound(const K& key) {
  return absl::NotFoundError(absl::StrCat("index: customer key ", KeyText(key), " not found"));
}

std::string BatchPosition(size_t i, size_t n) {
  return n > 1 ? absl::StrCat(" (batch position ", i, ")") : std::string();
}

// Maps `keys` to live row ids, in input order, in two steps so that a
// mutation can be logged between them: Plan checks the whole batch and
// looks every key up (changing nothing; with `create`, unknown keys are
// noted as new customers, without, an unknown key is NotFound); Commit
// registers the new customers and returns the rows. The caller holds the
// write lock from Plan to Commit, so the plan stays valid.
template <typename K>
class KeyBatch {
 public:
  absl::Status Plan(const IndexState& s, std::span<const K> keys, bool create) {
    keys_ = keys;
    for (size_t i = 0; i < keys.size(); ++i) {
      absl::Status st = CheckKey(s, keys[i]);
      if (!st.ok()) {
        return absl::Status(st.code(), absl::StrCat(st.message(), BatchPosition(i, keys.size())));
      }
    }
    // One batch lookup (its cache misses overlap), then liveness per key.
    s.keys.FindMany(keys, &rows_);
    // Sized once for a batch of new customers (temporary, batch-sized).
    if (create && keys.size() >= 4096 && s.keys.kind() != KeyKind::kIdentity) {
      fresh_index_.reserve(keys.size());
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      const RowId found = rows_[i];
      if (found != kPending && s.universe.Contains(found)) continue;
      if (!create) {
        absl::Status st = KeyNotFound(keys[i]);
        return absl::NotFoundError(absl::StrCat(st.message(), BatchPosition(i, keys.size())));
      }
      // First sight of each new key -> index into `fresh_`; until Commit
      // the row holds that index.
      auto [it, inserted] = fresh_index_.try_emplace(keys[i], fresh_.size());
      if (inserted) fresh_.push_back(keys[i]);
      rows_[i] = static_cast<RowId>(it->second);
      pending_.push_back(i);
    }
    if (!fresh_.empty() && s.options.key_kind != KeyKind::kIdentity &&
        s.row_limit + fresh_.size() > uint64_t{kMaxRowId} + 1) {
      return absl::ResourceExhaustedError(
          absl::StrCat("index: cannot add ", fresh_.size(), " customers: row ids are used up (",
                       s.row_limit, " assigned of ", uint64_t{kMaxRowId} + 1, ")"));
    }
    return absl::OkStatus();
  }

  std::vector<RowId> Commit(IndexState& s) {
    if (fresh_.empty()) return std::move(rows_);
    std::vector<RowId> fresh_rows(fresh_.size());
    if (s.options.key_kind == KeyKind::kIdentity) {
      if constexpr (std::is_same_v<K, int64_t>) {
        uint64_t limit = s.row_limit;
        for (size_t j = 0; j < fresh_.size(); ++j) {
          fresh_rows[j] = static_cast<RowId>(fresh_[j]);
          limit = std::max<uint64_t>(limit, uint64_t{fresh_rows[j]} + 1);
        }
        s.row_limit = limit;
      }
    } else {
      const RowId first = static_cast<RowId>(s.row_limit);
      for (size_t j = 0; j < fresh_.size(); ++j) fresh_rows[j] = static_cast<RowId>(first + j);
      s.keys.InsertMany(std::span<const K>(fresh_), first);
      s.row_limit += fresh_.size();
    }
    for (size_t i : pending_) rows_[i] = fresh_rows[rows_[i]];
    std::sort(fresh_rows.begin(), fresh_rows.end());
    s.universe.AddMany(fresh_rows);
    return std::move(rows_);
  }

 private:
  static constexpr RowId kPending = internal::FrozenKeys::kNoRow;
  using FreshIndex =
      std::conditional_t<std::is_same_v<K, std::string_view>,
                         absl::flat_hash_map<K, size_t, util::StringHash, util::StringEq>,
                         absl::flat_hash_map<K, size_t>>;
  std::span<const K> keys_;
  std::vector<RowId> rows_;      // for a new customer: its index in fresh_
  std::vector<size_t> pending_;  // positions of new customers' keys
  FreshIndex fresh_index_;
  std::vector<K> fresh_;
};

absl::Status CheckLiveRows(const IndexState& s, std::span<const RowId> rows) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!s.universe.Contains(rows[i])) {
      return absl::NotFoundError(absl::StrCat("index: row ", rows[i], " is not a live customer",
                                              BatchPosition(i, rows.size())));
    }
  }
  return absl::OkStatus();
}

std::vector<RowId> SortedUnique(std::vector<RowId> rows) {
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

absl::StatusOr<TagEntry*> GetTagEntry(IndexState& s, TagId tag) {
  TagEntry* entry = s.catalog.Get(tag);
  if (entry == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("index: tag id ", tag.value, " not found (deleted or never created)"));
  }
  return entry;
}

absl::StatusOr<const TagEntry*> GetTagEntry(const IndexState& s, TagId tag) {
  const TagEntry* entry = s.catalog.Get(tag);
  if (entry == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("index: tag id ", tag.value, " not found (deleted or never created)"));
  }
  return entry;
}

// Adds sorted, unique, live `rows` to `tag`, enforcing category exclusivity.
void ApplyTag(IndexState& s, TagEntry& tag, const std::vector<RowId>& rows) {
  if (rows.empty()) return;
  const CategoryEntry* category = s.catalog.FindCategory(tag.category);
  if (category != nullptr && category->exclusive && category->tags.size() > 1) {
    const Bitmap batch = Bitmap::FromIds(rows);
    for (TagId sibling_id : category->tags) {
      if (sibling_id == tag.id) continue;
      TagEntry* sibling = s.catalog.Get(sibling_id);
      if (Bitmap::Intersects(sibling->bitmap, batch)) sibling->bitmap.AndNotInPlace(batch);
    }
  }
  tag.bitmap.AddMany(rows);
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
    return absl::InvalidArgumentError(
        "index: IndexOptions limits (max_name_bytes, max_name_code_points, "
        "max_string_key_bytes, max_tags) must be positive");
  }
  if (static_cast<uint8_t>(options.key_kind) > static_cast<uint8_t>(KeyKind::kIdentity)) {
    return absl::InvalidArgumentError("index: unknown IndexOptions::key_kind");
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
absl::Status AddKeys(IndexState& s, std::span<const K> keys, std::vector<RowId>* rows,
                     LogTicket* ticket) {
  WriteLock lock(s.mu);
  KeyBatch<K> batch;
  TI_RETURN_IF_ERROR(batch.Plan(s, keys, /*create=*/true));
  TI_RETURN_IF_ERROR(
      LogMutation(s, internal::EncodeKeysRecord(RecordType::kAddCustomers, TagId{}, keys), ticket));
  *rows = batch.Commit(s);
  return absl::OkStatus();
}

template <typename K>
absl::StatusOr<RowId> AddOne(IndexState& s, const K& key, LogTicket* ticket) {
  std::vector<RowId> rows;
  TI_RETURN_IF_ERROR(AddKeys<K>(s, std::span<const K>(&key, 1), &rows, ticket));
  return rows[0];
}

template <typename K>
absl::StatusOr<RowId> FindOne(const IndexState& s, const K& key) {
  ReadLock lock(s.mu);
  TI_RETURN_IF_ERROR(CheckKey(s, key));
  if (std::optional<RowId> row = LiveRow(s, key)) return *row;
  return KeyNotFound(key);
}

void RemoveRowLocked(IndexState& s, RowId row) {
  s.catalog.ForEachTagMutable([&](TagEntry& t) { t.bitmap.Remove(row); });
  s.universe.Remove(row);
  s.keys.EraseRow(row);
}

template <typename K>
absl::Status RemoveOne(IndexState& s, const K& key, LogTicket* ticket) {
  WriteLock lock(s.mu);
  TI_RETURN_IF_ERROR(CheckKey(s, key));
  std::optional<RowId> row = LiveRow(s, key);
  if (!row) return KeyNotFound(key);
  const RowId r = *row;
  TI_RETURN_IF_ERROR(LogMutation(
      s, internal::EncodeRowsRecord(RecordType::kRemoveRows, TagId{}, std::span(&r, 1)), ticket));
  RemoveRowLocked(s, r);
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<RowId> Index::AddCustomer(int64_t key) {
  return Mutate([&](LogTicket* t) { return AddOne(*state_, key, t); });
}
absl::StatusOr<RowId> Index::AddCustomer(std::string_view key) {
  return Mutate([&](LogTicket* t) { return AddOne(*state_, key, t); });
}

absl::Status Index::AddCustomers(std::span<const int64_t> keys, std::vector<RowId>* rows) {
  std::vector<RowId> local;
  return Mutate(
      [&](LogTicket* t) { return AddKeys(*state_, keys, rows != nullptr ? rows : &local, t); });
}
absl::Status Index::AddCustomers(std::span<const std::string_view> keys, std::vector<RowId>* rows) {
  std::vector<RowId> local;
  return Mutate(
      [&](LogTicket* t) { return AddKeys(*state_, keys, rows != nullptr ? rows : &local, t); });
}

absl::StatusOr<RowId> Index::FindCustomer(int64_t key) const { return FindOne(*state_, key); }
absl::StatusOr<RowId> Index::FindCustomer(std::string_view key) const {
  return FindOne(*state_, key);
}

absl::StatusOr<CustomerKey> Index::KeyOf(RowId row) const {
  ReadLock lock(state_->mu);
  if (!state_->universe.Contains(row)) {
    return absl::NotFoundError(absl::StrCat("index: row ", row, " is not a live customer"));
  }
  return state_->keys.KeyOf(row);
}

absl::Status Index::RemoveCustomer(int64_t key) {
  return Mutate([&](LogTicket* t) { return RemoveOne(*state_, key, t); });
}
absl::Status Index::RemoveCustomer(std::string_view key) {
  return Mutate([&](LogTicket* t) { return RemoveOne(*state_, key, t); });
}
absl::Status Index::RemoveRow(RowId row) {
  return Mutate([&](LogTicket* t) {
    WriteLock lock(state_->mu);
    TI_RETURN_IF_ERROR(CheckLiveRows(*state_, std::span<const RowId>(&row, 1)));
    TI_RETURN_IF_ERROR(LogMutation(
        *state_, internal::EncodeRowsRecord(RecordType::kRemoveRows, TagId{}, std::span(&row, 1)),
        t));
    RemoveRowLocked(*state_, row);
    return absl::OkStatus();
  });
}

uint64_t Index::CustomerCount() const {
  ReadLock lock(state_->mu);
  return state_->universe.Cardinality();
}

uint64_t Index::RowIdLimit() const {
  ReadLock lock(state_->mu);
  return state_->row_limit;
}

std::vector<RowId> Index::LiveRows() const {
  ReadLock lock(state_->mu);
  return state_->universe.ToVector();
}

// ---- categories ---------------------------------------------------------------------

absl::Status Index::CreateCategory(std::string_view name, const CategoryOptions& options) {
  return Mutate([&](LogTicket* t) -> absl::Status {
    TI_ASSIGN_OR_RETURN(std::string normalized,
                        internal::NormalizeName(name, "category name", state_->options));
    TI_RETURN_IF_ERROR(internal::ValidateDescription(options.description, state_->options));
    WriteLock lock(state_->mu);
    if (state_->catalog.FindCategory(normalized) != nullptr) {
      return absl::AlreadyExistsError(
          absl::StrCat("index: category ", Quote(normalized), " already exists"));
    }
    TI_RETURN_IF_ERROR(LogMutation(
        *state_, internal::EncodeCreateCategory(normalized, options.description, options.exclusive),
        t));
    state_->catalog.AddCategory(std::move(normalized), options.description, options.exclusive);
    return absl::OkStatus();
  });
}

absl::StatusOr<CategoryInfo> Index::GetCategory(std::string_view name) const {
  TI_ASSIGN_OR_RETURN(std::string normalized,
                      internal::NormalizeName(name, "category name", state_->options));
  ReadLock lock(state_->mu);
  const CategoryEntry* c = state_->catalog.FindCategory(normalized);
  if (c == nullptr) {
    return absl::NotFoundError(absl::StrCat("index: category ", Quote(normalized), " not found"));
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

struct NewTagNames {
  std::string name;
  std::string category;
};

// The checks of a new tag's spec shared by CreateTag and ImportTag:
// normalised names, description, kind.
absl::StatusOr<NewTagNames> NormalizeNewTag(const TagSpec& spec, const IndexOptions& opts) {
  NewTagNames out;
  TI_ASSIGN_OR_RETURN(out.name, internal::NormalizeName(spec.name, "tag name", opts));
  TI_ASSIGN_OR_RETURN(out.category, internal::NormalizeName(spec.category, "category name", opts,
                                                            /*allow_empty=*/true));
  TI_RETURN_IF_ERROR(internal::ValidateDescription(spec.description, opts));
  if (spec.kind != TagKind::kManual && spec.kind != TagKind::kRule) {
    return absl::InvalidArgumentError("index: unknown TagKind");
  }
  return out;
}

// Whether a tag (category, name) can be added now: not present, under
// max_tags, tag ids left. `verb` ("create", "import") is for messages.
absl::Status CheckRoomForTag(const internal::Catalog& catalog, const IndexOptions& opts,
                             const std::string& name, const std::string& category,
                             const char* verb) {
  if (catalog.Find(category, name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat(
        "index: tag ", Quote(name),
        category.empty() ? std::string() : absl::StrCat(" in category ", Quote(category)),
        " already exists"));
  }
  if (catalog.live_tag_count() >= opts.max_tags) {
    return absl::ResourceExhaustedError(absl::StrCat("index: cannot ", verb, " tag ", Quote(name),
                                                     ": the index holds ", opts.max_tags,
                                                     " tags, the limit (IndexOptions::max_tags)"));
  }
  if (catalog.next_tag_id() == UINT32_MAX) {
    return absl::ResourceExhaustedError("index: tag ids are used up");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TagId> Index::CreateTag(const TagSpec& spec) {
  return Mutate([&](LogTicket* t) -> absl::StatusOr<TagId> {
    const IndexOptions& opts = state_->options;
    TI_ASSIGN_OR_RETURN(NewTagNames names, NormalizeNewTag(spec, opts));
    const std::string& name = names.name;
    const std::string& category = names.category;
    WriteLock lock(state_->mu);
    internal::Catalog& catalog = state_->catalog;
    TI_RETURN_IF_ERROR(CheckRoomForTag(catalog, opts, name, category, "create"));
    TI_RETURN_IF_ERROR(LogMutation(*state_,
                                   internal::EncodeCreateTag(TagId{catalog.next_tag_id()}, name,
                                                             category, spec.description, spec.kind),
                                   t));
    return catalog.AddTag(std::move(name), std::move(category), spec.description, spec.kind).id;
  });
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
    return absl::NotFoundError(absl::StrCat("index: unknown tag ", Quote(normalized), hint));
  }
  std::vector<std::string> candidates;
  for (const TagEntry* t : found) {
    candidates.push_back(
        Quote(t->category.empty() ? t->name : absl::StrCat(t->category, ":", t->name)));
  }
  return absl::InvalidArgumentError(absl::StrCat("index: tag name ", Quote(normalized),
                                                 " is in several categories; qualify it as one of ",
                                                 absl::StrJoin(candidates, ", ")));
}

absl::StatusOr<TagId> Index::FindTag(std::string_view category, std::string_view name) const {
  TI_ASSIGN_OR_RETURN(std::string n, internal::NormalizeName(name, "tag name", state_->options));
  TI_ASSIGN_OR_RETURN(std::string c,
                      internal::NormalizeName(category, "category name", state_->options, true));
  ReadLock lock(state_->mu);
  if (const TagEntry* t = state_->catalog.Find(c, n)) return t->id;
  return absl::NotFoundError(absl::StrCat(
      "index: unknown tag ", Quote(n),
      c.empty() ? std::string(" without a category") : absl::StrCat(" in category ", Quote(c))));
}

absl::Status Index::RenameTag(TagId tag, std::string_view new_name) {
  return Mutate([&](LogTicket* t) -> absl::Status {
    TI_ASSIGN_OR_RETURN(std::string name,
                        internal::NormalizeName(new_name, "tag name", state_->options));
    WriteLock lock(state_->mu);
    TI_ASSIGN_OR_RETURN(TagEntry * entry, GetTagEntry(*state_, tag));
    if (entry->name == name) return absl::OkStatus();
    if (state_->catalog.Find(entry->category, name) != nullptr) {
      return absl::AlreadyExistsError(absl::StrCat("index: cannot rename ", Quote(entry->name),
                                                   " to ", Quote(name), ": that tag exists"));
    }
    TI_RETURN_IF_ERROR(
        LogMutation(*state_, internal::EncodeTagText(RecordType::kRenameTag, tag, name), t));
    state_->catalog.Rename(*entry, std::move(name));
    return absl::OkStatus();
  });
}

absl::Status Index::SetTagDescription(TagId tag, std::string_view description) {
  return Mutate([&](LogTicket* t) -> absl::Status {
    TI_RETURN_IF_ERROR(internal::ValidateDescription(description, state_->options));
    WriteLock lock(state_->mu);
    TI_ASSIGN_OR_RETURN(TagEntry * entry, GetTagEntry(*state_, tag));
    TI_RETURN_IF_ERROR(LogMutation(
        *state_, internal::EncodeTagText(RecordType::kSetTagDescription, tag, description), t));
    entry->description = std::string(description);
    return absl::OkStatus();
  });
}

absl::Status Index::DeleteTag(TagId tag) {
  return Mutate([&](LogTicket* t) -> absl::Status {
    WriteLock lock(state_->mu);
    TI_ASSIGN_OR_RETURN(TagEntry * entry, GetTagEntry(*state_, tag));
    (void)entry;
    TI_RETURN_IF_ERROR(
        LogMutation(*state_, internal::EncodeRowsRecord(RecordType::kDeleteTag, tag, {}), t));
    state_->catalog.Delete(tag);
    return absl::OkStatus();
  });
}

absl::StatusOr<TagInfo> Index::GetTag(TagId tag) const {
  ReadLock lock(state_->mu);
  TI_ASSIGN_OR_RETURN(const TagEntry* entry, GetTagEntry(*state_, tag));
  return MakeInfo(*entry);
}

std::vector<TagInfo> Index::ListTags() const {
  ReadLock lock(state_->mu);
  std::vector<TagInfo> out;
  out.reserve(state_->catalog.live_tag_count());
  state_->catalog.ForEachTag([&](const TagEntry& t) { out.push_back(MakeInfo(t)); });
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

enum class Op { kTag, kUntag };

void Apply(IndexState& s, TagEntry& tag, Op op, std::vector<RowId> rows) {
  rows = SortedUnique(std::move(rows));
  if (op == Op::kTag) {
    ApplyTag(s, tag, rows);
  } else {
    tag.bitmap.RemoveMany(rows);
  }
}

template <typename K>
absl::Status ByKeys(IndexState& s, TagId tag, std::span<const K> keys, Op op) {
  return Mutate([&](LogTicket* t) -> absl::Status {
    WriteLock lock(s.mu);
    TI_ASSIGN_OR_RETURN(TagEntry * entry, GetTagEntry(s, tag));
    const bool create = op == Op::kTag && s.options.create_missing_customers;
    KeyBatch<K> batch;
    TI_RETURN_IF_ERROR(batch.Plan(s, keys, create));
    TI_RETURN_IF_ERROR(
        LogMutation(s,
                    internal::EncodeKeysRecord(
                        op == Op::kTag ? RecordType::kTagKeys : RecordType::kUntagKeys, tag, keys),
                    t));
    Apply(s, *entry, op, batch.Commit(s));
    return absl::OkStatus();
  });
}

// A large batch of rows as one bitmap: built without sorting a copy (dense
// unsorted batches are scattered into bitsets), checked against the universe
// with one bitmap operation, applied container by container.
void ApplyBatch(IndexState& s, TagEntry& tag, Op op, const Bitmap& batch) {
  if (op == Op::kUntag) {
    tag.bitmap.RemoveAll(batch);
    return;
  }
  const CategoryEntry* category = s.catalog.FindCategory(tag.category);
  if (category != nullptr && category->exclusive && category->tags.size() > 1) {
    for (TagId sibling_id : category->tags) {
      if (sibling_id == tag.id) continue;
      TagEntry* sibling = s.catalog.Get(sibling_id);
      if (Bitmap::Intersects(sibling->bitmap, batch)) sibling->bitmap.AndNotInPlace(batch);
    }
  }
  tag.bitmap.AddAll(batch);
}

absl::Status ByRows(IndexState& s, TagId tag, std::span<const RowId> rows, Op op) {
  return Mutate([&](LogTicket* t) -> absl::Status {
    WriteLock lock(s.mu);
    TI_ASSIGN_OR_RETURN(TagEntry * entry, GetTagEntry(s, tag));
    if (rows.size() >= Bitmap::kBulkBatch) {
      const Bitmap batch = Bitmap::FromIds(rows);
      // The per-row check only runs to name the first bad row.
      if (Bitmap::AndNotCardinality(batch, s.universe) != 0)
        TI_RETURN_IF_ERROR(CheckLiveRows(s, rows));
      TI_RETURN_IF_ERROR(LogMutation(
          s,
          internal::EncodeRowsRecord(op == Op::kTag ? RecordType::kTagRows : RecordType::kUntagRows,
                                     tag, rows),
          t));
      ApplyBatch(s, *entry, op, batch);
      return absl::OkStatus();
    }
    TI_RETURN_IF_ERROR(CheckLiveRows(s, rows));
    TI_RETURN_IF_ERROR(
        LogMutation(s,
                    internal::EncodeRowsRecord(
                        op == Op::kTag ? RecordType::kTagRows : RecordType::kUntagRows, tag, rows),
                    t));
    Apply(s, *entry, op, std::vector<RowId>(rows.begin(), rows.end()));
    return absl::OkStatus();
  });
}

}  // namespace

absl::Status Index::Tag(TagId tag, int64_t key) {
  return ByKeys(*state_, tag, std::span<const int64_t>(&key, 1), Op::kTag);
}
absl::Status Index::Tag(TagId tag, std::string_view key) {
  return ByKeys(*state_, tag, std::span<const std::string_view>(&key, 1), Op::kTag);
}
absl::Status Index::TagRow(TagId tag, RowId row) {
  return ByRows(*state_, tag, std::span<const RowId>(&row, 1), Op::kTag);
}
absl::Status Index::TagMany(TagId tag, std::span<const int64_t> keys) {
  return ByKeys(*state_, tag, keys, Op::kTag);
}
absl::Status Index::TagMany(TagId tag, std::span<const std::string_view> keys) {
  return ByKeys(*state_, tag, keys, Op::kTag);
}
absl::Status Index::TagRows(TagId tag, std::span<const RowId> rows) {
  return ByRows(*state_, tag, rows, Op::kTag);
}

absl::Status Index::Untag(TagId tag, int64_t key) {
  return ByKeys(*state_, tag, std::span<const int64_t>(&key, 1), Op::kUntag);
}
absl::Status Index::Untag(TagId tag, std::string_view key) {
  return ByKeys(*state_, tag, std::span<const std::string_view>(&key, 1), Op::kUntag);
}
absl::Status Index::UntagRow(TagId tag, RowId row) {
  return ByRows(*state_, tag, std::span<const RowId>(&row, 1), Op::kUntag);
}
absl::Status Index::UntagMany(TagId tag, std::span<const int64_t> keys) {
  return ByKeys(*state_, tag, keys, Op::kUntag);
}
absl::Status Index::UntagMany(TagId tag, std::span<const std::string_view> keys) {
  return ByKeys(*state_, tag, keys, Op::kUntag);
}
absl::Status Index::UntagRows(TagId tag, std::span<const RowId> rows) {
  return ByRows(*state_, tag, rows, Op::kUntag);
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
  TI_RETURN_IF_ERROR(CheckKey(s, key));
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
  TI_RETURN_IF_ERROR(CheckLiveRows(*state_, std::span<const RowId>(&row, 1)));
  return HasTagLocked(*state_, tag, row);
}

absl::StatusOr<std::vector<TagId>> Index::TagsOf(int64_t key) const {
  ReadLock lock(state_->mu);
  TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*state_, key));
  return TagsOfLocked(*state_, row);
}
absl::StatusOr<std::vector<TagId>> Index::TagsOf(std::string_view key) const {
  ReadLock lock(state_->mu);
  TI_ASSIGN_OR_RETURN(RowId row, LiveRowOrError(*state_, key));
  return TagsOfLocked(*state_, row);
}
absl::StatusOr<std::vector<TagId>> Index::TagsOfRow(RowId row) const {
  ReadLock lock(state_->mu);
  TI_RETURN_IF_ERROR(CheckLiveRows(*state_, std::span<const RowId>(&row, 1)));
  return TagsOfLocked(*state_, row);
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

// ---- export / import (the rest of the storage block is in index_storage.cc) ---------

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
  return Mutate([&](LogTicket* t) -> absl::StatusOr<TagId> {
    const IndexOptions& opts = state_->options;
    TI_ASSIGN_OR_RETURN(NewTagNames names, NormalizeNewTag(spec, opts));
    const std::string& name = names.name;
    const std::string& category = names.category;
    absl::StatusOr<Bitmap> parsed = Bitmap::PortableDeserialize(blob);
    if (!parsed.ok()) {
      return absl::Status(
          parsed.status().code(),
          absl::StrCat("index: cannot import tag ", Quote(name), ": ", parsed.status().message()));
    }
    Bitmap rows = std::move(parsed).value();
    WriteLock lock(state_->mu);
    internal::Catalog& catalog = state_->catalog;
    TI_RETURN_IF_ERROR(CheckRoomForTag(catalog, opts, name, category, "import"));
    if (!rows.IsSubsetOf(state_->universe)) {
      Bitmap missing = Bitmap::AndNot(rows, state_->universe);
      return absl::NotFoundError(absl::StrCat(
          "index: cannot import tag ", Quote(name), ": ", missing.Cardinality(),
          " of its row ids are not live customers (the first is ", missing.Minimum(), ")"));
    }
    TI_RETURN_IF_ERROR(
        LogMutation(*state_,
                    internal::EncodeImportTag(name, category, spec.description, spec.kind,
                                              std::string_view(blob.data(), blob.size())),
                    t));
    TagEntry& entry =
        catalog.AddTag(std::move(name), std::move(category), spec.description, spec.kind);
    // Set algebra on the bitmap: a run-heavy blob is never expanded to a list.
    const CategoryEntry* cat = state_->catalog.FindCategory(entry.category);
    if (cat != nullptr && cat->exclusive) {
      for (TagId sibling_id : cat->tags) {
        if (sibling_id == entry.id) continue;
        TagEntry* sibling = state_->catalog.Get(sibling_id);
        if (Bitmap::Intersects(sibling->bitmap, rows)) sibling->bitmap.AndNotInPlace(rows);
      }
    }
    entry.bitmap = std::move(rows);
    return entry.id;
  });
}

}  // namespace tagindex
