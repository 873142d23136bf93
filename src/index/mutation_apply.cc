// The mutation pipeline (see mutation.h): one Normalize, Validate and Apply
// per mutation kind, used by live writes, WriteBatch and replay alike, and
// Commit, which runs them under the write lock and logs them as one record.
#include <algorithm>
#include <deque>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "index/durability.h"
#include "index/index_state.h"
#include "index/mutation.h"
#include "index/names.h"
#include "index/rules.h"
#include "tagindex/write_batch.h"
#include "util/error_info.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace tagindex::internal {

namespace {

std::vector<RowId> Minus(const std::vector<RowId>& a, const std::vector<RowId>& b) {
  std::vector<RowId> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<RowId> Union(const std::vector<RowId>& a, const std::vector<RowId>& b) {
  std::vector<RowId> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

// Net effect of this change followed by `other`: a row is added if it was
// not there before this and is there after `other`, removed likewise:
//   added   = (A.added - B.removed) | (B.added - A.removed)
//   removed = (A.removed - B.added) | (B.removed - A.added)
void Delta::Merge(Delta other) {
  absl::InlinedVector<TagId, 2> tags_union;
  std::set_union(tags.begin(), tags.end(), other.tags.begin(), other.tags.end(),
                 std::back_inserter(tags_union));
  tags = std::move(tags_union);
  // Most items of a batch (tag changes) add and remove no customers: the
  // customer lists stay as they are (a batch-sized copy per item otherwise).
  if (!other.customers_added.empty() || !other.customers_removed.empty()) MergeCustomers(other);
  MergeRows(other);
}

void Delta::MergeCustomers(const Delta& other) {
  std::vector<RowId> added = Union(Minus(customers_added, other.customers_removed),
                                   Minus(other.customers_added, customers_removed));
  std::vector<RowId> removed = Union(Minus(customers_removed, other.customers_added),
                                     Minus(other.customers_removed, customers_added));
  customers_added = std::move(added);
  customers_removed = std::move(removed);
}

void Delta::MergeRows(Delta& other) {
  for (TagRowsDelta& d : other.rows) {
    auto it = std::lower_bound(rows.begin(), rows.end(), d.tag,
                               [](const TagRowsDelta& x, TagId t) { return x.tag < t; });
    if (it == rows.end() || it->tag != d.tag) {
      rows.insert(it, std::move(d));
      continue;
    }
    Bitmap net_added = Bitmap::AndNot(it->added, d.removed);
    net_added.OrInPlace(Bitmap::AndNot(d.added, it->removed));
    Bitmap net_removed = Bitmap::AndNot(it->removed, d.added);
    net_removed.OrInPlace(Bitmap::AndNot(d.removed, it->added));
    it->added = std::move(net_added);
    it->removed = std::move(net_removed);
  }
  for (AttributeRowsDelta& d : other.attributes) {
    auto it = std::lower_bound(
        attributes.begin(), attributes.end(), d.attribute,
        [](const AttributeRowsDelta& x, AttributeId a) { return x.attribute.value < a.value; });
    if (it == attributes.end() || it->attribute != d.attribute) {
      attributes.insert(it, std::move(d));
    } else {
      it->rows.OrInPlace(d.rows);
    }
  }
}

namespace {

// ---- messages -----------------------------------------------------------------------

std::string KeyText(int64_t key) { return absl::StrCat(key); }
std::string KeyText(std::string_view key) { return Quote(key); }
// A key as ErrorInfo names it: int64 in decimal, a string as given.
std::string KeySubject(int64_t key) { return absl::StrCat(key); }
std::string KeySubject(std::string_view key) { return std::string(key); }

const char* KeyKindName(KeyKind kind) {
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

std::string BatchPosition(size_t i, size_t n) {
  return n > 1 ? absl::StrCat(" (batch position ", i, ")") : std::string();
}

// Where validation failed: the subject (key, row, tag, name) for the
// BatchError payload.
struct Failure {
  std::string subject;
};

absl::Status Fail(Failure* f, std::string subject, absl::Status st) {
  f->subject = std::move(subject);
  return st;
}

std::string TagSubject(TagId tag) { return absl::StrCat("tag id ", tag.value); }

// ---- the state as the items validated so far leave it ----------------------------------

// Validation of item i sees the effects of items 0..i-1 of the same commit
// through this view (a tag created, a customer added or removed, ...), so a
// batch may create a tag or customer and use it. Membership changes are
// not recorded: no later validation depends on them. For a commit of one
// item nothing is recorded (`recording` false): the view is the state.
class BatchView {
 public:
  BatchView(const Version& s, bool recording)
      : s_(s),
        recording_(recording),
        next_tag_(s.catalog.next_tag_id()),
        live_tags_(s.catalog.live_tag_count()),
        row_limit_(s.row_limit) {}

  const Version& state() const { return s_; }
  bool recording() const { return recording_; }

  // Tags.
  bool TagLive(TagId id) const {
    if (auto it = tags_.find(id.value); it != tags_.end()) return it->second.has_value();
    return s_.catalog.Get(id) != nullptr;
  }
  // Name and category of a live tag.
  std::pair<std::string_view, std::string_view> TagNames(TagId id) const {
    if (auto it = tags_.find(id.value); it != tags_.end()) {
      return {it->second->first, it->second->second};
    }
    const TagEntry* t = s_.catalog.Get(id);
    return {t->name, t->category};
  }
  bool NameTaken(std::string_view category, std::string_view name) const {
    if (auto it = names_.find(Qualified(category, name)); it != names_.end()) return it->second;
    return s_.catalog.Find(category, name) != nullptr;
  }
  bool CategoryExists(std::string_view name) const {
    return categories_.count(std::string(name)) > 0 || s_.catalog.FindCategory(name) != nullptr;
  }
  uint32_t next_tag_id() const { return next_tag_; }
  uint32_t live_tag_count() const { return live_tags_; }

  void CreateTag(uint32_t id, std::string_view name, std::string_view category) {
    ++next_tag_;
    ++live_tags_;
    if (!recording_) return;
    tags_[id] = std::make_pair(std::string(name), std::string(category));
    names_[Qualified(category, name)] = true;
    if (!category.empty()) categories_.insert(std::string(category));
  }
  void RenameTag(TagId id, std::string_view name) {
    if (!recording_) return;
    auto [old_name, category] = TagNames(id);
    std::pair<std::string, std::string> entry{std::string(name), std::string(category)};
    names_[Qualified(category, old_name)] = false;
    names_[Qualified(category, name)] = true;
    tags_[id.value] = std::move(entry);
  }
  void DeleteTag(TagId id) {
    --live_tags_;
    if (!recording_) return;
    auto [name, category] = TagNames(id);
    names_[Qualified(category, name)] = false;
    tags_[id.value] = std::nullopt;
  }
  void CreateCategory(std::string_view name) {
    if (recording_) categories_.insert(std::string(name));
  }

  // Customers.
  uint64_t row_limit() const { return row_limit_; }
  void set_row_limit(uint64_t limit) { row_limit_ = limit; }
  bool RowLive(RowId row) const {
    if (recording_ && !rows_.empty()) {
      if (auto it = rows_.find(row); it != rows_.end()) return it->second;
    }
    return s_.universe().Contains(row);
  }
  bool rows_changed() const { return !rows_.empty(); }
  const absl::flat_hash_map<RowId, bool>& row_changes() const { return rows_; }
  void SetRowLive(RowId row, bool live) {
    if (recording_) rows_[row] = live;
  }
  // A key added by an earlier item: its row (live or not is RowLive's).
  std::optional<RowId> PendingKey(int64_t key) const {
    if (int_keys_.empty()) return std::nullopt;
    auto it = int_keys_.find(key);
    if (it == int_keys_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<RowId> PendingKey(std::string_view key) const {
    if (string_keys_.empty()) return std::nullopt;
    auto it = string_keys_.find(key);
    if (it == string_keys_.end()) return std::nullopt;
    return it->second;
  }
  bool has_pending_keys() const { return !int_keys_.empty() || !string_keys_.empty(); }
  void MapKey(int64_t key, RowId row) {
    if (recording_) int_keys_[key] = row;
  }
  void MapKey(std::string_view key, RowId row) {
    if (recording_) string_keys_[key] = row;
  }

 private:
  static std::string Qualified(std::string_view category, std::string_view name) {
    std::string q(category);
    q.push_back('\0');
    q.append(name);
    return q;
  }

  const Version& s_;
  const bool recording_;
  uint32_t next_tag_;
  uint32_t live_tags_;
  uint64_t row_limit_;
  // id -> (name, category) of a live tag, or nullopt once deleted.
  std::map<uint32_t, std::optional<std::pair<std::string, std::string>>> tags_;
  absl::flat_hash_map<std::string, bool> names_;  // qualified name -> taken
  std::set<std::string> categories_;              // created
  absl::flat_hash_map<RowId, bool> rows_;         // row -> live
  absl::flat_hash_map<int64_t, RowId> int_keys_;
  absl::flat_hash_map<std::string_view, RowId, util::StringHash, util::StringEq> string_keys_;
};

// ---- keys ---------------------------------------------------------------------------

// Maps keys to live row ids, in input order, in two steps so that the
// commit can log between them: Plan checks the whole list and looks every
// key up (changing nothing; with `create`, unknown keys are noted as new
// customers, without, an unknown key is NotFound); Commit registers the new
// customers and returns the rows. The write lock is held from Plan to
// Commit, and the items before this one are applied in between exactly as
// the BatchView predicted, so the plan stays valid.
class KeyPlan {
 public:
  virtual ~KeyPlan() = default;
  virtual std::vector<RowId> Commit(Version& s, std::vector<RowId>* fresh_sorted) = 0;
  // When every key of a bulk batch was found live: its rows as one bitmap
  // (built for the liveness check; Apply merges it as it is). Else null.
  virtual const Bitmap* batch() const = 0;
};

template <typename K>
class KeyBatch final : public KeyPlan {
 public:
  absl::Status Plan(BatchView& view, std::span<const K> keys, bool create, Failure* failure) {
    const Version& s = view.state();
    for (size_t i = 0; i < keys.size(); ++i) {
      absl::Status st = CheckKey(s.options, keys[i]);
      if (!st.ok()) {
        return Fail(
            failure, KeyText(keys[i]),
            util::WithMessage(st, absl::StrCat(st.message(), BatchPosition(i, keys.size()))));
      }
    }
    // One batch lookup (its cache misses overlap), then liveness per key.
    // A key added by an earlier item of the batch (the importer's tags of
    // its new customers) is answered by the batch's own small table; only
    // the others are looked up in the index's.
    const bool pending = view.has_pending_keys();
    if (pending) {
      rows_.assign(keys.size(), kPending);
      std::vector<K> rest;
      std::vector<size_t> rest_at;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (std::optional<RowId> p = view.PendingKey(keys[i])) {
          rows_[i] = *p;
        } else {
          rest.push_back(keys[i]);
          rest_at.push_back(i);
        }
      }
      if (!rest.empty()) {
        std::vector<RowId> found;
        s.keys->FindMany(std::span<const K>(rest), &found);
        for (size_t j = 0; j < rest.size(); ++j) rows_[rest_at[j]] = found[j];
      }
    } else {
      s.keys->FindMany(keys, &rows_);
    }
    const bool overlay = view.rows_changed();
    // A bulk batch whose keys all have rows: one subset test of its rows'
    // bitmap against the universe instead of a probe per key (the bitmap is
    // what Apply merges).
    if (!overlay && keys.size() >= Bitmap::kBulkBatch &&
        std::find(rows_.begin(), rows_.end(), kPending) == rows_.end()) {
      Bitmap rows = Bitmap::FromIds(rows_);
      if (rows.IsSubsetOf(s.universe())) {
        batch_.emplace(std::move(rows));
        return absl::OkStatus();
      }
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      RowId found = rows_[i];
      if (found != kPending && (overlay ? view.RowLive(found) : s.universe().Contains(found))) {
        rows_[i] = found;
        continue;
      }
      if (!create) {
        return Fail(failure, KeyText(keys[i]),
                    util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer,
                                KeySubject(keys[i]),
                                absl::StrCat("index: customer key ", KeyText(keys[i]), " not found",
                                             BatchPosition(i, keys.size()))));
      }
      // A key with a row (removed, or removed by an earlier item) comes
      // back: the KeyMap must keep its history.
      if (found != kPending) all_new_ = false;
      // First sight of each new key -> index into `fresh_`; until Commit
      // the row holds that index. New keys in ascending order (the
      // auto-increment ids of a CRM) need no table to be deduplicated.
      if (ascending_ && (fresh_.empty() || fresh_.back() < keys[i])) {
        fresh_.push_back(keys[i]);
        rows_[i] = static_cast<RowId>(fresh_.size() - 1);
      } else if (ascending_ && fresh_.back() == keys[i]) {
        rows_[i] = static_cast<RowId>(fresh_.size() - 1);
      } else {
        if (ascending_) {
          ascending_ = false;
          // Sized once for a batch of new customers (temporary, batch-sized).
          if (keys.size() >= 4096 && s.keys->kind() != KeyKind::kIdentity) {
            fresh_index_.reserve(keys.size() - i + fresh_.size());
          }
          for (size_t j = 0; j < fresh_.size(); ++j) fresh_index_.try_emplace(fresh_[j], j);
        }
        auto [it, inserted] = fresh_index_.try_emplace(keys[i], fresh_.size());
        if (inserted) fresh_.push_back(keys[i]);
        rows_[i] = static_cast<RowId>(it->second);
      }
      pending_.push_back(i);
    }
    if (fresh_.empty()) return absl::OkStatus();
    if (s.options.key_kind != KeyKind::kIdentity &&
        view.row_limit() + fresh_.size() > uint64_t{kMaxRowId} + 1) {
      return Fail(failure, KeyText(fresh_[0]),
                  util::Error(absl::StatusCode::kResourceExhausted,
                              absl::StrCat("index: cannot add ", fresh_.size(),
                                           " customers: row ids are used up (", view.row_limit(),
                                           " assigned of ", uint64_t{kMaxRowId} + 1, ")"),
                              util::LimitInfo("row ids")));
    }
    if (view.recording()) {
      // What Commit will assign, for the items after this one.
      uint64_t limit = view.row_limit();
      for (size_t j = 0; j < fresh_.size(); ++j) {
        RowId row;
        if constexpr (std::is_same_v<K, int64_t>) {
          row = s.options.key_kind == KeyKind::kIdentity ? static_cast<RowId>(fresh_[j])
                                                         : static_cast<RowId>(view.row_limit() + j);
        } else {
          row = static_cast<RowId>(view.row_limit() + j);
        }
        limit = std::max<uint64_t>(limit, uint64_t{row} + 1);
        view.MapKey(fresh_[j], row);
        view.SetRowLive(row, true);
      }
      view.set_row_limit(limit);
    }
    return absl::OkStatus();
  }

  std::vector<RowId> Commit(Version& s, std::vector<RowId>* fresh_sorted) override {
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
      if constexpr (std::is_same_v<K, int64_t>) {
        s.keys->InsertMany(std::span<const K>(fresh_), first, all_new_);
      } else {
        s.keys->InsertMany(std::span<const K>(fresh_), first);
      }
      s.row_limit += fresh_.size();
    }
    for (size_t i : pending_) rows_[i] = fresh_rows[rows_[i]];
    if (s.options.key_kind != KeyKind::kIdentity) {
      // Consecutive new rows: one range (already sorted).
      s.MutableUniverse().AddRange(fresh_rows.front(), uint64_t{fresh_rows.back()} + 1);
    } else {
      if (!std::is_sorted(fresh_rows.begin(), fresh_rows.end())) {
        std::sort(fresh_rows.begin(), fresh_rows.end());
      }
      s.MutableUniverse().AddMany(fresh_rows);
    }
    *fresh_sorted = std::move(fresh_rows);
    return std::move(rows_);
  }

 private:
  static constexpr RowId kPending = FrozenKeys::kNoRow;
  using FreshIndex =
      std::conditional_t<std::is_same_v<K, std::string_view>,
                         absl::flat_hash_map<K, size_t, util::StringHash, util::StringEq>,
                         absl::flat_hash_map<K, size_t>>;
  std::vector<RowId> rows_;      // for a new customer: its index in fresh_
  std::vector<size_t> pending_;  // positions of new customers' keys
  FreshIndex fresh_index_;       // only once the new keys stop ascending
  std::vector<K> fresh_;
  bool ascending_ = true;        // fresh_ strictly ascending (fresh_index_ unused)
  bool all_new_ = true;          // no key of fresh_ has a row in the KeyMap
  std::optional<Bitmap> batch_;  // made only for a bulk batch (an empty Bitmap allocates)

 public:
  const Bitmap* batch() const override { return batch_ ? &*batch_ : nullptr; }
};

absl::Status PlanKeys(BatchView& view, const KeyList& keys, bool create, Failure* failure,
                      std::unique_ptr<KeyPlan>* plan) {
  if (keys.is_string) {
    auto batch = std::make_unique<KeyBatch<std::string_view>>();
    TI_RETURN_IF_ERROR(batch->Plan(view, keys.strings, create, failure));
    *plan = std::move(batch);
  } else {
    auto batch = std::make_unique<KeyBatch<int64_t>>();
    TI_RETURN_IF_ERROR(batch->Plan(view, keys.ints, create, failure));
    *plan = std::move(batch);
  }
  return absl::OkStatus();
}

// A single-key TagKeys item of a single-item commit (every Index::Tag /
// Untag of one key): planned inline, with no KeyPlan on the heap and no
// row vectors. Only for a commit of one item, whose BatchView records
// nothing (no pending keys, no changed rows).
struct OneKey {
  bool active = false;
  bool fresh = false;   // a new customer: Apply registers it
  bool all_new = true;  // ... whose key never had a row
  RowId row = 0;        // the live row (fresh: assigned by Apply)
  int64_t int_key = 0;
  std::string_view string_key;
  bool is_string = false;
};

// The plan of one key (see OneKey): the checks and messages of
// KeyBatch::Plan for a batch of one.
template <typename K>
absl::Status PlanOneKey(const BatchView& view, K key, bool create, Failure* failure, OneKey* one) {
  const Version& s = view.state();
  absl::Status st = CheckKey(s.options, key);
  if (!st.ok()) return Fail(failure, KeyText(key), std::move(st));
  const std::optional<RowId> found = s.keys->FindAsWriter(key);  // under the writer lock
  one->active = true;
  if constexpr (std::is_same_v<K, int64_t>) {
    one->int_key = key;
  } else {
    one->string_key = key;
    one->is_string = true;
  }
  if (found && s.universe().Contains(*found)) {
    one->row = *found;
    return absl::OkStatus();
  }
  if (!create) {
    return Fail(
        failure, KeyText(key),
        util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer, KeySubject(key),
                    absl::StrCat("index: customer key ", KeyText(key), " not found")));
  }
  one->fresh = true;
  one->all_new = !found.has_value();
  if (s.options.key_kind != KeyKind::kIdentity && view.row_limit() + 1 > uint64_t{kMaxRowId} + 1) {
    return Fail(
        failure, KeyText(key),
        util::Error(absl::StatusCode::kResourceExhausted,
                    absl::StrCat("index: cannot add 1 customers: row ids are used up (",
                                 view.row_limit(), " assigned of ", uint64_t{kMaxRowId} + 1, ")"),
                    util::LimitInfo("row ids")));
  }
  return absl::OkStatus();
}

// Registers a planned new customer (KeyBatch::Commit for one key).
void CommitOneKey(Version& s, OneKey& one) {
  if (!one.fresh) return;
  if (s.options.key_kind == KeyKind::kIdentity) {
    one.row = static_cast<RowId>(one.int_key);
    s.row_limit = std::max<uint64_t>(s.row_limit, uint64_t{one.row} + 1);
    s.MutableUniverse().Add(one.row);
    return;
  }
  one.row = static_cast<RowId>(s.row_limit);
  if (one.is_string) {
    s.keys->InsertMany(std::span<const std::string_view>(&one.string_key, 1), one.row);
  } else {
    s.keys->InsertMany(std::span<const int64_t>(&one.int_key, 1), one.row, one.all_new);
  }
  s.row_limit += 1;
  s.MutableUniverse().AddRange(one.row, uint64_t{one.row} + 1);
}

absl::Status CheckLiveRows(const BatchView& view, std::span<const RowId> rows, Failure* failure) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!view.RowLive(rows[i])) {
      return Fail(failure, absl::StrCat("row ", rows[i]),
                  util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer,
                              absl::StrCat("row ", rows[i]),
                              absl::StrCat("index: row ", rows[i], " is not a live customer",
                                           BatchPosition(i, rows.size()))));
    }
  }
  return absl::OkStatus();
}

// Whether every row of `batch` is live in the view: `universe` (the
// version's, before this commit) corrected by the rows earlier items of the
// batch added or removed. One AND NOT of the batch bitmap, not a probe per
// row.
bool BatchRowsLive(const BatchView& view, const Bitmap& universe, const Bitmap& batch) {
  if (!view.rows_changed()) return batch.IsSubsetOf(universe);
  Bitmap missing = Bitmap::AndNot(batch, universe);
  for (const auto& [row, live] : view.row_changes()) {
    if (!batch.Contains(row)) continue;
    if (live) {
      missing.Remove(row);
    } else {
      missing.Add(row);
    }
  }
  return missing.IsEmpty();
}

absl::Status CheckTag(const BatchView& view, TagId tag, Failure* failure) {
  if (view.TagLive(tag)) return absl::OkStatus();
  return Fail(failure, TagSubject(tag),
              util::Error(absl::StatusCode::kNotFound,
                          absl::StrCat("index: tag id ", tag.value,
                                       " not found (deleted or never created)"),
                          util::IdInfo(ErrorKind::kUnknownTag, "tag id", tag.value)));
}

std::vector<RowId> SortedUnique(std::span<const RowId> in) {
  std::vector<RowId> rows(in.begin(), in.end());
  if (!std::is_sorted(rows.begin(), rows.end())) std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

// ---- what Validate hands to Apply ------------------------------------------------------

// A Bitmap made on first use: an empty Bitmap allocates (CRoaring's
// roaring_bitmap_create), and most items never touch these.
class LazyBitmap {
 public:
  Bitmap& operator()() {
    if (!b_) b_.emplace();
    return *b_;
  }

 private:
  std::optional<Bitmap> b_;
};

struct Prepared {
  std::unique_ptr<KeyPlan> keys;    // key-based kinds
  OneKey one_key;                   // TagKeys of one key, committed alone
  std::vector<RowId> rows;          // removals: sorted, unique
  LazyBitmap imported;              // ImportTag / SaveSegment (replay): the parsed blob;
                                    // DefineRule: the members; RefreshRule: entered
  LazyBitmap left;                  // RefreshRule: left
  LazyBitmap batch;                 // TagRows of kBulkBatch rows or more: the rows
  bool has_batch = false;           // ... checked live (then Apply merges `batch`)
  std::unique_ptr<BoundRule> rule;  // DefineRule / RefreshRule: the bound rule
};

// Whether a tag (category, name) can be added now: not present, under
// max_tags, tag ids left. `verb` ("create", "import") is for messages.
absl::Status CheckRoomForTag(const BatchView& view, std::string_view name,
                             std::string_view category, const char* verb, Failure* failure) {
  const IndexOptions& opts = view.state().options;
  if (view.NameTaken(category, name)) {
    return Fail(
        failure, std::string(name),
        util::Error(absl::StatusCode::kAlreadyExists, ErrorKind::kAlreadyExists, name,
                    absl::StrCat("index: tag ", Quote(name),
                                 category.empty() ? std::string()
                                                  : absl::StrCat(" in category ", Quote(category)),
                                 " already exists")));
  }
  if (view.live_tag_count() >= opts.max_tags) {
    return Fail(
        failure, std::string(name),
        util::Error(absl::StatusCode::kResourceExhausted,
                    absl::StrCat("index: cannot ", verb, " tag ", Quote(name), ": the index holds ",
                                 opts.max_tags, " tags, the limit (IndexOptions::max_tags)"),
                    util::LimitInfo("IndexOptions::max_tags")));
  }
  if (view.next_tag_id() >= UINT32_MAX) {
    return Fail(failure, std::string(name),
                util::Error(absl::StatusCode::kResourceExhausted, "index: tag ids are used up",
                            util::LimitInfo("tag ids")));
  }
  return absl::OkStatus();
}

// The id a new tag takes: assigned on a live write, checked on replay.
absl::Status TakeTagId(const BatchView& view, uint32_t* id, Failure* failure) {
  if (*id == kUnassignedTagId) {
    *id = view.next_tag_id();
    return absl::OkStatus();
  }
  if (*id != view.next_tag_id()) {
    return Fail(failure, absl::StrCat("tag id ", *id),
                util::Error(absl::StatusCode::kDataLoss, ErrorKind::kCorruptFile, "log",
                            absl::StrCat("tag logged with id ", *id, " but the next tag id is ",
                                         view.next_tag_id())));
  }
  return absl::OkStatus();
}

// ---- Normalize: names trimmed and checked, before the lock -------------------------------

struct Normalizer {
  const IndexOptions& opts;
  std::forward_list<std::string>& owned;
  Failure* failure;

  absl::Status Name(std::string_view* name, const char* what, bool allow_empty = false) {
    absl::StatusOr<std::string> n = NormalizeName(*name, what, opts, allow_empty);
    if (!n.ok()) return Fail(failure, std::string(*name), n.status());
    *name = owned.emplace_front(*std::move(n));
    return absl::OkStatus();
  }
  absl::Status Description(std::string_view d) {
    absl::Status st = ValidateDescription(d, opts);
    if (!st.ok()) return Fail(failure, "description", st);
    return absl::OkStatus();
  }
  absl::Status Kind(TagKind kind) {
    if (kind == TagKind::kManual || kind == TagKind::kRule) return absl::OkStatus();
    return Fail(failure, "kind",
                util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue,
                            "TagSpec::kind", "index: unknown TagKind"));
  }

  absl::Status operator()(CreateCategoryMutation& m) {
    TI_RETURN_IF_ERROR(Name(&m.name, "category name"));
    return Description(m.description);
  }
  absl::Status operator()(CreateTagMutation& m) {
    TI_RETURN_IF_ERROR(Name(&m.name, "tag name"));
    TI_RETURN_IF_ERROR(Name(&m.category, "category name", /*allow_empty=*/true));
    TI_RETURN_IF_ERROR(Description(m.description));
    return Kind(m.kind);
  }
  absl::Status operator()(ImportTagMutation& m) {
    TI_RETURN_IF_ERROR(Name(&m.name, "tag name"));
    TI_RETURN_IF_ERROR(Name(&m.category, "category name", /*allow_empty=*/true));
    TI_RETURN_IF_ERROR(Description(m.description));
    return Kind(m.kind);
  }
  absl::Status operator()(RenameTagMutation& m) { return Name(&m.name, "tag name"); }
  absl::Status operator()(SetTagDescriptionMutation& m) { return Description(m.description); }
  absl::Status operator()(CreateAttributeMutation& m) {
    TI_RETURN_IF_ERROR(Name(&m.name, "attribute name"));
    return Description(m.description);
  }
  absl::Status operator()(RenameAttributeMutation& m) { return Name(&m.name, "attribute name"); }
  absl::Status operator()(SaveSegmentMutation& m) { return Name(&m.name, "segment name"); }
  absl::Status operator()(RenameSegmentMutation& m) { return Name(&m.name, "segment name"); }
  absl::Status operator()(DefineRuleMutation& m) {
    if (!m.redefine) {
      TI_RETURN_IF_ERROR(Name(&m.name, "tag name"));
      TI_RETURN_IF_ERROR(Name(&m.category, "category name", /*allow_empty=*/true));
      TI_RETURN_IF_ERROR(Description(m.description));
    }
    return absl::OkStatus();
  }
  // Keys are the host's bytes (checked in Validate); nothing else to do.
  absl::Status operator()(auto&) { return absl::OkStatus(); }
};

// ---- Validate: against the view; changes nothing but the view ----------------------------

struct Validator {
  BatchView& view;
  Prepared& prep;
  Failure* failure;

  const Version& s() const { return view.state(); }
  RuleInputs rule_inputs() const {
    return {s().catalog, s().attributes, s().segments, s().universe()};
  }

  // Rule tags: no manual writes; nothing a rule reads is deleted or renamed.
  absl::Status NotRuleTag(TagId tag) {
    absl::Status st = RefuseManualWrite(s().rules, s().catalog, tag);
    if (!st.ok()) return Fail(failure, TagSubject(tag), st);
    return absl::OkStatus();
  }
  absl::Status NotUsedByRule(const RuleEntry* user, std::string what) {
    if (user == nullptr) return absl::OkStatus();
    const TagEntry* t = s().catalog.Get(user->tag);
    return Fail(failure, what,
                util::Error(absl::StatusCode::kFailedPrecondition, ErrorKind::kUnsupported, what,
                            absl::StrCat("index: ", what, " is used by rule tag ",
                                         Quote(t != nullptr ? RuleName(*t) : "?"),
                                         "; redefine or drop that rule first")));
  }
  absl::Status TagNotUsed(TagId tag) {
    const TagEntry* t = s().catalog.Get(tag);
    if (t == nullptr) return absl::OkStatus();
    return NotUsedByRule(s().rules.UserOfTag(tag), absl::StrCat("tag ", Quote(RuleName(*t))));
  }

  absl::Status operator()(AddCustomersMutation& m) {
    return PlanKeys(view, m.keys, /*create=*/true, failure, &prep.keys);
  }
  absl::Status RemoveRows(std::span<const RowId> rows) {
    prep.rows = SortedUnique(rows);
    for (RowId r : prep.rows) view.SetRowLive(r, false);
    return absl::OkStatus();
  }
  absl::Status operator()(RemoveCustomersMutation& m) {
    TI_RETURN_IF_ERROR(PlanKeys(view, m.keys, /*create=*/false, failure, &prep.keys));
    std::vector<RowId> unused;
    // No new customers in the plan, so Commit only returns the rows.
    std::vector<RowId> rows = prep.keys->Commit(const_cast<Version&>(s()), &unused);
    prep.keys.reset();
    return RemoveRows(rows);
  }
  absl::Status operator()(RemoveRowsMutation& m) {
    TI_RETURN_IF_ERROR(CheckLiveRows(view, m.rows, failure));
    return RemoveRows(m.rows);
  }
  absl::Status operator()(CreateCategoryMutation& m) {
    if (view.CategoryExists(m.name)) {
      return Fail(failure, std::string(m.name),
                  util::Error(absl::StatusCode::kAlreadyExists, ErrorKind::kAlreadyExists, m.name,
                              absl::StrCat("index: category ", Quote(m.name), " already exists")));
    }
    view.CreateCategory(m.name);
    return absl::OkStatus();
  }
  absl::Status operator()(CreateTagMutation& m) {
    TI_RETURN_IF_ERROR(CheckRoomForTag(view, m.name, m.category, "create", failure));
    TI_RETURN_IF_ERROR(TakeTagId(view, &m.id, failure));
    view.CreateTag(m.id, m.name, m.category);
    return absl::OkStatus();
  }
  absl::Status operator()(RenameTagMutation& m) {
    TI_RETURN_IF_ERROR(CheckTag(view, m.tag, failure));
    auto [name, category] = view.TagNames(m.tag);
    if (name == m.name) return absl::OkStatus();
    TI_RETURN_IF_ERROR(TagNotUsed(m.tag));
    if (view.NameTaken(category, m.name)) {
      return Fail(failure, std::string(m.name),
                  util::Error(absl::StatusCode::kAlreadyExists, ErrorKind::kAlreadyExists, m.name,
                              absl::StrCat("index: cannot rename ", Quote(name), " to ",
                                           Quote(m.name), ": that tag exists")));
    }
    view.RenameTag(m.tag, m.name);
    return absl::OkStatus();
  }
  absl::Status operator()(SetTagDescriptionMutation& m) { return CheckTag(view, m.tag, failure); }
  absl::Status operator()(DeleteTagMutation& m) {
    TI_RETURN_IF_ERROR(CheckTag(view, m.tag, failure));
    TI_RETURN_IF_ERROR(TagNotUsed(m.tag));
    view.DeleteTag(m.tag);
    return absl::OkStatus();
  }
  absl::Status operator()(TagKeysMutation& m) {
    TI_RETURN_IF_ERROR(CheckTag(view, m.tag, failure));
    TI_RETURN_IF_ERROR(NotRuleTag(m.tag));
    const bool create = m.add && s().options.create_missing_customers;
    if (m.keys.size() == 1 && !view.recording()) {
      return m.keys.is_string ? PlanOneKey(view, m.keys.strings[0], create, failure, &prep.one_key)
                              : PlanOneKey(view, m.keys.ints[0], create, failure, &prep.one_key);
    }
    return PlanKeys(view, m.keys, create, failure, &prep.keys);
  }
  absl::Status operator()(TagRowsMutation& m) {
    TI_RETURN_IF_ERROR(CheckTag(view, m.tag, failure));
    TI_RETURN_IF_ERROR(NotRuleTag(m.tag));
    if (m.rows.size() < Bitmap::kBulkBatch) return CheckLiveRows(view, m.rows, failure);
    // A bulk batch is one bitmap (the one Apply merges), checked against the
    // universe in one operation: batch AND NOT universe must be empty. Only
    // when it is not are the rows walked, to name the first offending one
    // exactly as the per-row check does.
    prep.batch() = Bitmap::FromIds(m.rows);
    if (!BatchRowsLive(view, s().universe(), prep.batch())) {
      return CheckLiveRows(view, m.rows, failure);
    }
    prep.has_batch = true;
    return absl::OkStatus();
  }
  absl::Status operator()(ImportTagMutation& m) {
    absl::StatusOr<Bitmap> parsed =
        Bitmap::PortableDeserialize(std::span<const char>(m.portable.data(), m.portable.size()));
    if (!parsed.ok()) {
      return Fail(failure, std::string(m.name),
                  util::WithMessage(parsed.status(),
                                    absl::StrCat("index: cannot import tag ", Quote(m.name), ": ",
                                                 parsed.status().message())));
    }
    prep.imported() = *std::move(parsed);
    TI_RETURN_IF_ERROR(CheckRoomForTag(view, m.name, m.category, "import", failure));
    Bitmap missing = Bitmap::AndNot(prep.imported(), s().universe());
    if (view.rows_changed()) {
      for (const auto& [row, live] : view.row_changes()) {
        if (!prep.imported().Contains(row)) continue;
        if (live) {
          missing.Remove(row);
        } else {
          missing.Add(row);
        }
      }
    }
    if (!missing.IsEmpty()) {
      return Fail(failure, absl::StrCat("row ", missing.Minimum()),
                  util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer,
                              absl::StrCat("row ", missing.Minimum()),
                              absl::StrCat("index: cannot import tag ", Quote(m.name), ": ",
                                           missing.Cardinality(),
                                           " of its row ids are not live customers (the first is ",
                                           missing.Minimum(), ")")));
    }
    TI_RETURN_IF_ERROR(TakeTagId(view, &m.id, failure));
    view.CreateTag(m.id, m.name, m.category);
    return absl::OkStatus();
  }

  // ---- attributes (one item per commit: see mutation.h) ----
  absl::Status OneItem() {
    if (!view.recording()) return absl::OkStatus();
    return Fail(
        failure, "attribute",
        util::Error(absl::StatusCode::kUnimplemented, ErrorKind::kUnsupported, "attribute",
                    "index: creating, renaming or dropping an attribute cannot be part of a "
                    "WriteBatch; call the Index method"));
  }
  absl::Status CheckAttribute(AttributeId id) {
    if (s().attributes.Get(id) != nullptr) return absl::OkStatus();
    return Fail(failure, absl::StrCat("attribute id ", id.value),
                util::Error(absl::StatusCode::kNotFound,
                            absl::StrCat("index: attribute id ", id.value,
                                         " not found (dropped or never created)"),
                            util::IdInfo(ErrorKind::kUnknownAttribute, "attribute id", id.value)));
  }
  absl::Status NameFree(std::string_view name) {
    if (s().attributes.Find(name) != nullptr) {
      return Fail(failure, std::string(name),
                  util::Error(absl::StatusCode::kAlreadyExists, ErrorKind::kAlreadyExists, name,
                              absl::StrCat("index: attribute ", Quote(name), " already exists")));
    }
    if (view.CategoryExists(name)) {
      return Fail(
          failure, std::string(name),
          util::Error(absl::StatusCode::kAlreadyExists, ErrorKind::kAlreadyExists, name,
                      absl::StrCat("index: ", Quote(name),
                                   " is a category; an attribute needs a name of its own")));
    }
    return absl::OkStatus();
  }
  absl::Status operator()(CreateAttributeMutation& m) {
    TI_RETURN_IF_ERROR(OneItem());
    const bool decimal = m.type == AttributeType::kDecimal;
    if (m.type != AttributeType::kInt64 && !decimal && m.type != AttributeType::kDate) {
      return Fail(failure, std::string(m.name),
                  util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue,
                              "AttributeSpec::type",
                              absl::StrCat("index: attribute ", Quote(m.name), ": unknown type")));
    }
    if (decimal ? (m.scale < 1 || m.scale > 18) : m.scale != 0) {
      return Fail(
          failure, std::string(m.name),
          util::Error(
              absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, "AttributeSpec::scale",
              absl::StrCat("index: attribute ", Quote(m.name), ": scale ", m.scale,
                           decimal ? " is outside 1..18" : " applies only to decimal attributes")));
    }
    TI_RETURN_IF_ERROR(NameFree(m.name));
    const uint32_t next = s().attributes.next_id();
    if (m.id == kUnassignedAttributeId) {
      m.id = next;
    } else if (m.id < next) {  // replay: ids only grow
      return Fail(failure, absl::StrCat("attribute id ", m.id),
                  util::Error(absl::StatusCode::kDataLoss, ErrorKind::kCorruptFile, "log",
                              absl::StrCat("attribute logged with id ", m.id, " but ids below ",
                                           next, " are taken")));
    }
    if (m.id >= UINT32_MAX - 1) {
      return Fail(
          failure, std::string(m.name),
          util::Error(absl::StatusCode::kResourceExhausted, "index: attribute ids are used up",
                      util::LimitInfo("attribute ids")));
    }
    return absl::OkStatus();
  }
  absl::Status operator()(RenameAttributeMutation& m) {
    TI_RETURN_IF_ERROR(OneItem());
    TI_RETURN_IF_ERROR(CheckAttribute(m.attribute));
    if (s().attributes.Get(m.attribute)->name == m.name) return absl::OkStatus();
    TI_RETURN_IF_ERROR(AttributeNotUsed(m.attribute));
    return NameFree(m.name);
  }
  absl::Status AttributeNotUsed(AttributeId a) {
    return NotUsedByRule(s().rules.UserOfAttribute(a),
                         absl::StrCat("attribute ", Quote(s().attributes.Get(a)->name)));
  }
  absl::Status operator()(DropAttributeMutation& m) {
    TI_RETURN_IF_ERROR(OneItem());
    TI_RETURN_IF_ERROR(CheckAttribute(m.attribute));
    return AttributeNotUsed(m.attribute);
  }
  absl::Status Lengths(size_t n, size_t values) {
    if (n == values) return absl::OkStatus();
    return Fail(failure, "values",
                util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, "values",
                            absl::StrCat("index: ", n, " customers but ", values,
                                         " values; the batches must be the same length")));
  }
  // Values may be set inside a batch: the attribute's existence cannot
  // change within one (create / rename / drop commit alone), and keys and
  // rows are checked against the view like the tag kinds'.
  absl::Status operator()(SetAttributeKeysMutation& m) {
    TI_RETURN_IF_ERROR(CheckAttribute(m.attribute));
    if (!m.clear) TI_RETURN_IF_ERROR(Lengths(m.keys.size(), m.values.size()));
    return PlanKeys(view, m.keys, /*create=*/false, failure, &prep.keys);
  }
  absl::Status operator()(SetAttributeRowsMutation& m) {
    TI_RETURN_IF_ERROR(CheckAttribute(m.attribute));
    if (!m.clear) TI_RETURN_IF_ERROR(Lengths(m.rows.size(), m.values.size()));
    return CheckLiveRows(view, m.rows, failure);
  }

  // ---- saved segments (one item per commit) ----
  absl::Status SegmentsOneItem() {
    if (!view.recording()) return absl::OkStatus();
    return Fail(failure, "segment",
                absl::UnimplementedError(
                    "index: saved-segment mutations cannot be part of a WriteBatch yet"));
  }
  absl::Status SegmentNameFree(std::string_view name) {
    if (s().segments.Find(name) == nullptr) return absl::OkStatus();
    return Fail(failure, std::string(name),
                absl::AlreadyExistsError(
                    absl::StrCat("index: a saved segment ", Quote(name), " already exists")));
  }
  absl::Status CheckSegment(uint32_t id) {
    if (s().segments.Get(id) != nullptr) return absl::OkStatus();
    return Fail(failure, absl::StrCat("segment id ", id),
                absl::NotFoundError(absl::StrCat("index: saved segment id ", id,
                                                 " not found (dropped or never saved)")));
  }
  absl::Status operator()(SaveSegmentMutation& m) {
    TI_RETURN_IF_ERROR(SegmentsOneItem());
    TI_RETURN_IF_ERROR(SegmentNameFree(m.name));
    if (m.query.empty()) {
      return Fail(failure, std::string(m.name),
                  absl::InvalidArgumentError(
                      absl::StrCat("index: saved segment ", Quote(m.name), " has no query text")));
    }
    const uint32_t next = s().segments.next_id();
    if (m.id == kUnassignedSegmentId) {
      m.id = next;
    } else if (m.id < next) {  // replay: ids only grow
      return Fail(failure, absl::StrCat("segment id ", m.id),
                  absl::DataLossError(absl::StrCat("segment logged with id ", m.id,
                                                   " but ids below ", next, " are taken")));
    }
    if (m.id >= UINT32_MAX - kSegmentTagBase - 1) {
      return Fail(failure, std::string(m.name),
                  absl::ResourceExhaustedError("index: saved-segment ids are used up"));
    }
    if (!m.dynamic && m.members == nullptr) {
      absl::StatusOr<Bitmap> parsed =
          Bitmap::PortableDeserialize(std::span<const char>(m.portable.data(), m.portable.size()));
      if (!parsed.ok()) {
        return Fail(failure, std::string(m.name),
                    absl::DataLossError(absl::StrCat("index: saved segment ", Quote(m.name), ": ",
                                                     parsed.status().message())));
      }
      prep.imported() = *std::move(parsed);
    }
    return absl::OkStatus();
  }
  absl::Status operator()(RenameSegmentMutation& m) {
    TI_RETURN_IF_ERROR(SegmentsOneItem());
    TI_RETURN_IF_ERROR(CheckSegment(m.id));
    if (s().segments.Get(m.id)->name == m.name) return absl::OkStatus();
    TI_RETURN_IF_ERROR(SegmentNotUsed(m.id));
    return SegmentNameFree(m.name);
  }
  absl::Status SegmentNotUsed(uint32_t id) {
    const std::string& name = s().segments.Get(id)->name;
    return NotUsedByRule(s().rules.UserOfSegment(name),
                         absl::StrCat("saved segment ", Quote(name)));
  }
  absl::Status operator()(DropSegmentMutation& m) {
    TI_RETURN_IF_ERROR(SegmentsOneItem());
    TI_RETURN_IF_ERROR(CheckSegment(m.id));
    return SegmentNotUsed(m.id);
  }

  // ---- rule tags (one item per commit) ----
  absl::Status RulesOneItem() {
    if (!view.recording()) return absl::OkStatus();
    return Fail(failure, "rule",
                util::Error(absl::StatusCode::kUnimplemented, ErrorKind::kUnsupported, "rule",
                            "index: defining or refreshing a rule tag cannot be part of a "
                            "WriteBatch; call the Index method"));
  }
  absl::Status operator()(DefineRuleMutation& m) {
    TI_RETURN_IF_ERROR(RulesOneItem());
    if (!m.redefine) {
      TI_RETURN_IF_ERROR(CheckRoomForTag(view, m.name, m.category, "define", failure));
      TI_RETURN_IF_ERROR(TakeTagId(view, &m.id, failure));
    } else {
      TI_RETURN_IF_ERROR(CheckTag(view, TagId{m.id}, failure));
    }
    prep.rule = std::make_unique<BoundRule>();
    absl::Status st =
        ValidateDefineRule(rule_inputs(), s().rules, m, prep.rule.get(), &prep.imported());
    if (!st.ok())
      return Fail(failure, m.redefine ? TagSubject(TagId{m.id}) : std::string(m.name), st);
    if (!m.redefine) view.CreateTag(m.id, m.name, m.category);
    return absl::OkStatus();
  }
  absl::Status operator()(RefreshRuleMutation& m) {
    TI_RETURN_IF_ERROR(RulesOneItem());
    TI_RETURN_IF_ERROR(CheckTag(view, m.tag, failure));
    prep.rule = std::make_unique<BoundRule>();
    absl::Status st = ValidateRefreshRule(rule_inputs(), s().rules, m, prep.rule.get(),
                                          &prep.imported(), &prep.left());
    if (!st.ok()) return Fail(failure, TagSubject(m.tag), st);
    return absl::OkStatus();
  }
};

// ---- Apply: infallible but for memory; returns what changed ---------------------------------

// The exclusive-category rule, the only place it is enforced: a customer
// holds at most one tag of an exclusive category, so the rows that join
// `tag` leave its siblings.
void LeaveSiblings(Version& s, const TagEntry& tag, const Bitmap& joining, Delta* delta,
                   bool deltas) {
  const CategoryEntry* category = s.catalog.FindCategory(tag.category);
  if (category == nullptr || !category->exclusive || category->tags.size() < 2) return;
  for (TagId sibling_id : category->tags) {
    if (sibling_id == tag.id) continue;
    const TagEntry* sibling = s.catalog.Get(sibling_id);
    if (!Bitmap::Intersects(sibling->bitmap, joining)) continue;
    if (deltas) {
      delta->rows.push_back({sibling_id, Bitmap(), Bitmap::And(sibling->bitmap, joining)});
    }
    delta->tags.push_back(sibling_id);
    s.catalog.Mutable(sibling_id)->bitmap.AndNotInPlace(joining);
  }
}

bool IsExclusive(const Version& s, const TagEntry& tag) {
  if (tag.category.empty()) return false;
  const CategoryEntry* c = s.catalog.FindCategory(tag.category);
  return c != nullptr && c->exclusive && c->tags.size() > 1;
}

// Adds or removes sorted, unique, live `rows` of `tag`.
// The same for a batch already made one bitmap (bulk TagRows / UntagRows).
void ChangeMembers(Version& s, TagEntry& tag, const Bitmap& batch, bool add, Delta* delta,
                   bool deltas) {
  if (batch.IsEmpty()) return;
  delta->tags.push_back(tag.id);
  if (add && IsExclusive(s, tag)) LeaveSiblings(s, tag, batch, delta, deltas);
  if (deltas) {
    if (add) {
      delta->rows.push_back({tag.id, Bitmap::AndNot(batch, tag.bitmap), Bitmap()});
    } else {
      delta->rows.push_back({tag.id, Bitmap(), Bitmap::And(batch, tag.bitmap)});
    }
  }
  if (add) {
    tag.bitmap.AddAll(batch);
  } else {
    tag.bitmap.RemoveAll(batch);
  }
}

void ChangeMembers(Version& s, TagEntry& tag, std::span<const RowId> rows, bool add, Delta* delta,
                   bool deltas) {
  if (rows.empty()) return;
  delta->tags.push_back(tag.id);
  std::optional<Bitmap> batch;
  const bool exclusive = add && IsExclusive(s, tag);
  if (deltas || exclusive) batch = Bitmap::FromIds(rows);
  if (exclusive) LeaveSiblings(s, tag, *batch, delta, deltas);
  if (deltas) {
    if (add) {
      delta->rows.push_back({tag.id, Bitmap::AndNot(*batch, tag.bitmap), Bitmap()});
    } else {
      delta->rows.push_back({tag.id, Bitmap(), Bitmap::And(*batch, tag.bitmap)});
    }
  }
  if (add) {
    tag.bitmap.AddMany(rows);
  } else {
    tag.bitmap.RemoveMany(rows);
  }
}

void RemoveRowsLocked(Version& s, const std::vector<RowId>& rows, Delta* delta, bool deltas) {
  if (rows.empty()) return;
  const Bitmap gone = Bitmap::FromIds(rows);
  std::vector<TagId> touched;
  s.catalog.ForEachTag([&](const TagEntry& t) {
    if (!Bitmap::Intersects(t.bitmap, gone)) return;
    delta->tags.push_back(t.id);
    if (deltas) delta->rows.push_back({t.id, Bitmap(), Bitmap::And(t.bitmap, gone)});
    touched.push_back(t.id);
  });
  // Only the tags that held a removed row are copied (copy-on-write).
  for (TagId id : touched) s.catalog.Mutable(id)->bitmap.AndNotInPlace(gone);
  s.MutableUniverse().AndNotInPlace(gone);
  s.attributes.ClearRows(gone);  // a removed customer has no values
  s.segments.ClearRows(gone);    // nor a place in a static saved segment
  // The KeyMap keeps the removed rows' entries: versions are bounded by
  // their universe (and older versions still need them).
  delta->customers_removed = rows;
}

struct Applier {
  Version& s;
  Prepared& prep;
  ItemResult& result;
  Delta& delta;
  bool deltas;

  void operator()(AddCustomersMutation&) {
    result.rows = prep.keys->Commit(s, &delta.customers_added);
  }
  void operator()(RemoveCustomersMutation&) { RemoveRowsLocked(s, prep.rows, &delta, deltas); }
  void operator()(RemoveRowsMutation&) { RemoveRowsLocked(s, prep.rows, &delta, deltas); }
  void operator()(CreateCategoryMutation& m) {
    s.catalog.AddCategory(std::string(m.name), std::string(m.description), m.exclusive);
  }
  TagEntry& AddTag(uint32_t id, std::string_view name, std::string_view category,
                   std::string_view description, TagKind kind) {
    TagEntry& entry = s.catalog.AddTagWithId(TagId{id}, std::string(name), std::string(category),
                                             std::string(description), kind);
    result.tag = entry.id;
    delta.tags.push_back(entry.id);
    return entry;
  }
  void operator()(CreateTagMutation& m) { AddTag(m.id, m.name, m.category, m.description, m.kind); }
  void operator()(RenameTagMutation& m) {
    const TagEntry* t = s.catalog.Get(m.tag);
    delta.tags.push_back(m.tag);
    if (t->name != m.name) s.catalog.Rename(m.tag, std::string(m.name));
  }
  void operator()(SetTagDescriptionMutation& m) {
    s.catalog.Mutable(m.tag)->description = std::string(m.description);
    delta.tags.push_back(m.tag);
  }
  void operator()(DeleteTagMutation& m) {
    const TagEntry* t = s.catalog.Get(m.tag);
    delta.tags.push_back(m.tag);
    if (deltas && !t->bitmap.IsEmpty()) delta.rows.push_back({m.tag, Bitmap(), t->bitmap.Copy()});
    s.catalog.Delete(m.tag);
    s.rules.Erase(m.tag);  // dropping a rule tag drops its rule
  }
  void operator()(TagKeysMutation& m) {
    if (prep.one_key.active) {
      OneKey& one = prep.one_key;
      CommitOneKey(s, one);
      if (one.fresh) delta.customers_added.assign(1, one.row);
      // Nothing to change (tagging a member, untagging a non-member): the
      // tag is not copied. Not for exclusive categories (LeaveSiblings
      // decides there) nor when exact deltas are asked for (they list the
      // tag with empty rows, as the general path does).
      const TagEntry* t = s.catalog.Get(m.tag);
      if (!deltas && t->bitmap.Contains(one.row) == m.add && !(m.add && IsExclusive(s, *t))) {
        delta.tags.push_back(m.tag);
        return;
      }
      ChangeMembers(s, *s.catalog.Mutable(m.tag), std::span<const RowId>(&one.row, 1), m.add,
                    &delta, deltas);
      return;
    }
    std::vector<RowId> unused;
    std::vector<RowId> rows = prep.keys->Commit(s, &unused);
    if (!unused.empty()) delta.customers_added = std::move(unused);
    if (const Bitmap* batch = prep.keys->batch()) {
      ChangeMembers(s, *s.catalog.Mutable(m.tag), *batch, m.add, &delta, deltas);
      return;
    }
    if (rows.size() >= Bitmap::kBulkBatch) {
      // One bitmap (scattered, not sorted) merged into the tag.
      ChangeMembers(s, *s.catalog.Mutable(m.tag), Bitmap::FromIds(rows), m.add, &delta, deltas);
      return;
    }
    std::sort(rows.begin(), rows.end());
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    ChangeMembers(s, *s.catalog.Mutable(m.tag), rows, m.add, &delta, deltas);
  }
  void operator()(TagRowsMutation& m) {
    if (prep.has_batch) {
      ChangeMembers(s, *s.catalog.Mutable(m.tag), prep.batch(), m.add, &delta, deltas);
      return;
    }
    ChangeMembers(s, *s.catalog.Mutable(m.tag), SortedUnique(m.rows), m.add, &delta, deltas);
  }
  void operator()(ImportTagMutation& m) {
    TagEntry& entry = AddTag(m.id, m.name, m.category, m.description, m.kind);
    // Set algebra on the bitmap: a run-heavy blob is never expanded to a list.
    if (IsExclusive(s, entry)) LeaveSiblings(s, entry, prep.imported(), &delta, deltas);
    if (deltas && !prep.imported().IsEmpty()) {
      delta.rows.push_back({entry.id, prep.imported().Copy(), Bitmap()});
    }
    entry.bitmap = std::move(prep.imported());
  }
  void operator()(CreateAttributeMutation& m) {
    result.attribute = s.attributes
                           .AddWithId(AttributeId{m.id}, std::string(m.name), m.type, m.scale,
                                      std::string(m.description))
                           .id;
  }
  void operator()(RenameAttributeMutation& m) {
    const AttributeEntry* e = s.attributes.Get(m.attribute);
    if (e->name != m.name) s.attributes.Rename(m.attribute, std::string(m.name));
  }
  void operator()(DropAttributeMutation& m) { s.attributes.Drop(m.attribute); }
  void operator()(SetAttributeKeysMutation& m) {
    std::vector<RowId> unused;
    std::vector<RowId> rows = prep.keys->Commit(s, &unused);
    Bsi& column = s.attributes.Mutable(m.attribute)->column;
    if (m.clear) {
      column.ClearMany(rows);
    } else {
      column.SetMany(rows, m.values);
    }
    if (deltas) delta.attributes.push_back({m.attribute, Bitmap::FromIds(rows)});
  }
  void operator()(SetAttributeRowsMutation& m) {
    if (deltas) delta.attributes.push_back({m.attribute, Bitmap::FromIds(m.rows)});
    Bsi& column = s.attributes.Mutable(m.attribute)->column;
    if (m.clear) {
      column.ClearMany(m.rows);
    } else {
      column.SetMany(m.rows, m.values);
    }
  }
  void operator()(SaveSegmentMutation& m) {
    auto e = std::make_unique<SavedSegmentEntry>();
    e->id = m.id;
    e->name = std::string(m.name);
    e->dynamic = m.dynamic;
    e->query = std::string(m.query);
    e->created_micros = m.created_micros;
    if (!m.dynamic) {
      // Only live customers: one removed between the query and this commit
      // (or, on replay, before it) is not a member.
      e->members = Bitmap::And(m.members != nullptr ? *m.members : prep.imported(), s.universe());
    }
    result.segment = s.segments.Add(std::move(e)).id;
  }
  void operator()(RenameSegmentMutation& m) {
    const SavedSegmentEntry* e = s.segments.Get(m.id);
    if (e->name != m.name) s.segments.Rename(e->name, std::string(m.name));
  }
  void operator()(DropSegmentMutation& m) { s.segments.Drop(s.segments.Get(m.id)->name); }
  void operator()(DefineRuleMutation& m) {
    if (!m.redefine) {
      AddTag(m.id, m.name, m.category, m.description, TagKind::kRule);
    } else {
      result.tag = TagId{m.id};
      delta.tags.push_back(TagId{m.id});
    }
    ApplyDefineRule(s.rules, *s.catalog.Mutable(TagId{m.id}), m, std::move(*prep.rule),
                    std::move(prep.imported()), s.universe(), &delta, deltas);
  }
  void operator()(RefreshRuleMutation& m) {
    result.tag = m.tag;
    delta.tags.push_back(m.tag);
    ApplyRefreshRule(s.rules, *s.catalog.Mutable(m.tag), m, std::move(*prep.rule), prep.imported(),
                     prep.left(), &delta, deltas);
  }
};

// Sorts a delta built by one item into Delta's documented order.
void Tidy(Delta& d) {
  std::sort(d.tags.begin(), d.tags.end());
  d.tags.erase(std::unique(d.tags.begin(), d.tags.end()), d.tags.end());
  std::stable_sort(d.rows.begin(), d.rows.end(),
                   [](const TagRowsDelta& a, const TagRowsDelta& b) { return a.tag < b.tag; });
  // One entry per tag (an exclusive sibling listed once per tag at most).
  std::vector<TagRowsDelta> merged;
  for (TagRowsDelta& r : d.rows) {
    if (!merged.empty() && merged.back().tag == r.tag) {
      merged.back().added.OrInPlace(r.added);
      merged.back().removed.OrInPlace(r.removed);
    } else {
      merged.push_back(std::move(r));
    }
  }
  d.rows = std::move(merged);
  std::stable_sort(d.attributes.begin(), d.attributes.end(),
                   [](const AttributeRowsDelta& a, const AttributeRowsDelta& b) {
                     return a.attribute.value < b.attribute.value;
                   });
  std::vector<AttributeRowsDelta> columns;
  for (AttributeRowsDelta& a : d.attributes) {
    if (!columns.empty() && columns.back().attribute == a.attribute) {
      columns.back().rows.OrInPlace(a.rows);
    } else {
      columns.push_back(std::move(a));
    }
  }
  d.attributes = std::move(columns);
}

// The BatchError payload (tagindex/write_batch.h): fields separated by
// \x1f (names and keys in messages never hold control characters; keys are
// quoted, with control bytes escaped, by Quote).
absl::Status WithBatchItem(absl::Status st, size_t item, size_t n, const Mutation& m,
                           const Failure& failure) {
  absl::Status out(st.code(), absl::StrCat("batch item ", item, " of ", n, " (", KindName(m),
                                           "): ", st.message()));
  st.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  out.SetPayload(kBatchErrorUrl, absl::Cord(absl::StrCat(item, "\x1f", KindName(m), "\x1f",
                                                         failure.subject, "\x1f", st.message())));
  return out;
}

}  // namespace

absl::Status CheckKey(const IndexOptions& o, int64_t key) {
  if (o.key_kind == KeyKind::kString) {
    return BadKey(absl::StrCat(key), absl::StrCat("index: customer key ", key,
                                                  " is an integer but this index has string keys"));
  }
  if (o.key_kind == KeyKind::kIdentity && (key < 0 || key > static_cast<int64_t>(kMaxRowId))) {
    return BadKey(absl::StrCat(key),
                  absl::StrCat("index: customer key ", key, " is outside [0, ", kMaxRowId,
                               "], the range of an identity-keyed index"));
  }
  return absl::OkStatus();
}

absl::Status CheckKey(const IndexOptions& o, std::string_view key) {
  if (o.key_kind != KeyKind::kString) {
    return BadKey(
        key, absl::StrCat("index: customer key ", Quote(key), " is a string but this index has ",
                          KeyKindName(o.key_kind), " keys"));
  }
  return ValidateStringKey(key, o);
}

namespace {

// Whether a commit may change the current version in place when nobody has
// pinned it (Commit, WriteDomain::LockUnpinned): one item that adds or
// removes one existing customer's row in one tag. Not a new customer (that
// also changes the key map, the universe and the row limit), not a tag of
// an exclusive category (that changes its siblings too), not with rule tags
// (their hooks), not a bulk batch, and not under kGroupCommit (whose
// rollback keeps the version before each unsynced commit). What is left
// changes one bit: Apply either copies a container first or does nothing
// that can fail, so no reader ever sees half of it. And the tag's entry is
// not shared with another version (that would share-copy its whole
// container directory under the cell mutex, which readers wait on): what
// Pin() may wait for is one bit and at most one 8 KB container copy.
bool InPlaceCandidate(const Version& v, std::span<const Mutation> items,
                      std::span<const Prepared> prepared, const LogTicket& ticket) {
  if (items.size() != 1 || !v.rules.empty()) return false;
  if (ticket.wal != nullptr && ticket.wal->policy() == SyncPolicy::kGroupCommit) return false;
  TagId tag;
  if (const auto* k = std::get_if<TagKeysMutation>(&items[0])) {
    if (!prepared[0].one_key.active || prepared[0].one_key.fresh) return false;
    tag = k->tag;
  } else if (const auto* r = std::get_if<TagRowsMutation>(&items[0])) {
    if (r->rows.size() != 1 || prepared[0].has_batch) return false;
    tag = r->tag;
  } else {
    return false;
  }
  const TagEntry* t = v.catalog.Get(tag);
  return t != nullptr && !v.catalog.EntryShared(tag) && !IsExclusive(v, *t);
}

}  // namespace

absl::Status Commit(IndexState& s, std::span<Mutation> items, const CommitOptions& options,
                    CommitResult* result) {
  CommitResult local;
  CommitResult& out = result != nullptr ? *result : local;
  LogTicket ticket;
  absl::Status st = Guarded([&]() -> absl::Status {
    Failure failure;
    auto item_error = [&](absl::Status e, size_t i) {
      if (!options.batch) return e;
      return WithBatchItem(std::move(e), i, items.size(), items[i], failure);
    };
    Normalizer normalize{s.options, out.normalized, &failure};
    for (size_t i = 0; i < items.size(); ++i) {
      absl::Status e = std::visit(normalize, items[i]);
      if (!e.ok()) return item_error(std::move(e), i);
    }
    TI_RETURN_IF_ERROR(CheckOwner(s));
    // One item (every single-call mutator) needs no heap for its plan.
    Prepared one;
    std::vector<Prepared> many;
    if (items.size() > 1) many.resize(items.size());
    std::span<Prepared> prepared =
        items.size() == 1 ? std::span<Prepared>(&one, 1) : std::span<Prepared>(many);
    WriterLock lock(s);
    // Validation reads the current version (it changes nothing).
    const Version& current = s.CurrentLocked();
    BatchView view(current, /*recording=*/items.size() > 1);
    for (size_t i = 0; i < items.size(); ++i) {
      absl::Status e = std::visit(Validator{view, prepared[i], &failure}, items[i]);
      if (!e.ok()) return item_error(std::move(e), i);
    }
    // An in-memory index has no log: nothing to encode.
    if (!options.replay && s.durability != nullptr) {
      TI_RETURN_IF_ERROR(LogMutation(s, EncodeRecord(items), &ticket));
    }
    // Rule tags note changed rows from exact deltas.
    const bool deltas = options.deltas || !current.rules.empty();
    // A one-row change of a version nobody has pinned is made in place
    // (InPlaceCandidate, WriteDomain::LockUnpinned): no version copy, no
    // tag entry clone, no container copy. Otherwise the next version is a
    // copy sharing everything with the current one and Apply copies what
    // it changes; readers keep the current version until Publish, so a
    // failure anywhere below leaves them (and the index) exactly as they
    // were. Built on the heap once: Publish adopts it. Declared after
    // `lock`, so a failed commit frees it under the writer mutex.
    WriteDomain::InPlaceLock in_place;
    if (!deltas && InPlaceCandidate(current, items, prepared, ticket)) {
      in_place = s.domain->LockUnpinned();
    }
    std::unique_ptr<Version> next_holder;
    if (!in_place.owns_lock()) next_holder = std::make_unique<Version>(current);
    Version& next = in_place.owns_lock() ? const_cast<Version&>(current) : *next_holder;
    // Per-item results only for a caller that reads them.
    ItemResult unused_result;
    if (result != nullptr) out.items.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      Delta d;
      std::visit(
          Applier{next, prepared[i], result != nullptr ? out.items[i] : unused_result, d, deltas},
          items[i]);
      Tidy(d);
      if (i == 0) {
        out.delta = std::move(d);
      } else {
        out.delta.Merge(std::move(d));
      }
    }
    if (in_place.owns_lock()) {
      ++next.sequence;
      ++s.domain->in_place_commits;
      in_place.unlock();
      return absl::OkStatus();
    }
    // Rule tags: note the changed rows; refresh the on-commit rules.
    if (!next.rules.empty()) {
      RunRuleHooks(next.catalog, next.attributes, next.segments, next.universe(), next.rules,
                   &out.delta);
    }
    ++next.sequence;
    NoteUnsynced(s, ticket);
    s.Publish(std::move(next_holder));
    return absl::OkStatus();
  });
  TI_RETURN_IF_ERROR(st);
  return AwaitDurable(s, ticket);
}

}  // namespace tagindex::internal
