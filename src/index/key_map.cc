#include "index/key_map.h"

#include <algorithm>
#include <mutex>
#include <random>
#include <type_traits>
#include <utility>

#include "storage/coding.h"

namespace tagindex::internal {
namespace {

// Seed of a new lookup table: nothing an outsider chooses (customer ids)
// should be able to pile into one bucket. (absl's maps seed themselves.)
uint64_t FreshSeed() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

// Batches at least this large size the maps once up front; smaller ones
// (a single Tag) leave growth to the map.
constexpr size_t kReserveBatch = 4096;

}  // namespace

KeyMap::KeyMap(KeyKind kind)
    : kind_(kind), table_seed_(kind == KeyKind::kIdentity ? 0 : FreshSeed()) {}

namespace {
// The newest of `row` and its history below `limit`.
template <typename History, typename Key>
std::optional<RowId> Bounded(RowId row, const History& history, const Key& key, uint64_t limit) {
  if (row < limit) return row;
  auto it = history.find(key);
  if (it == history.end()) return std::nullopt;
  for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
    if (*r < limit) return *r;
  }
  return std::nullopt;
}
}  // namespace

const KeyMap::IntRun* KeyMap::RunOf(int64_t key, size_t* hint) const {
  if (int_runs_.empty()) return nullptr;
  auto holds = [key](const IntRun& r) {
    return key >= r.key && static_cast<uint64_t>(key) - static_cast<uint64_t>(r.key) < r.length;
  };
  // A batch of ascending keys stays in one run or moves to the next.
  if (*hint < int_runs_.size()) {
    if (holds(int_runs_[*hint])) return &int_runs_[*hint];
    if (*hint + 1 < int_runs_.size() && holds(int_runs_[*hint + 1])) {
      ++*hint;
      return &int_runs_[*hint];
    }
  }
  auto it = std::upper_bound(int_runs_.begin(), int_runs_.end(), key,
                             [](int64_t k, const IntRun& r) { return k < r.key; });
  if (it == int_runs_.begin()) return nullptr;
  --it;
  if (!holds(*it)) return nullptr;
  *hint = static_cast<size_t>(it - int_runs_.begin());
  return &*it;
}

std::optional<RowId> KeyMap::FindMemory(int64_t key, uint64_t limit) const {
  size_t hint = 0;
  return FindMemory(key, limit, &hint);
}

std::optional<RowId> KeyMap::FindMemory(int64_t key, uint64_t limit, size_t* hint) const {
  if (const IntRun* run = RunOf(key, hint)) {
    const RowId row =
        run->row + static_cast<RowId>(static_cast<uint64_t>(key) - static_cast<uint64_t>(run->key));
    // The run row is the key's first row: any newer one is in int_rows_.
    if (superseded_.IsEmpty() || !superseded_.Contains(row)) {
      if (row < limit) return row;
      return std::nullopt;
    }
    if (auto it = int_rows_.find(key); it != int_rows_.end()) {
      if (std::optional<RowId> newer = Bounded(it->second, int_history_, key, limit)) return newer;
    }
    if (row < limit) return row;
    return std::nullopt;
  }
  if (int_rows_.empty()) return std::nullopt;
  auto it = int_rows_.find(key);
  if (it == int_rows_.end()) return std::nullopt;
  return Bounded(it->second, int_history_, key, limit);
}

size_t KeyMap::run_count() const {
  std::shared_lock lock(mu_);
  return int_runs_.size();
}

uint64_t KeyMap::run_keys() const {
  std::shared_lock lock(mu_);
  return int_run_keys_;
}

std::optional<RowId> KeyMap::FindMemory(std::string_view key, uint64_t limit) const {
  if (string_rows_.empty()) return std::nullopt;
  auto it = string_rows_.find(key);
  if (it == string_rows_.end()) return std::nullopt;
  return Bounded(it->second, string_history_, key, limit);
}

std::optional<RowId> KeyMap::Find(int64_t key, uint64_t limit) const {
  if (kind_ == KeyKind::kIdentity) {
    if (key < 0 || key > static_cast<int64_t>(kMaxRowId)) return std::nullopt;
    if (static_cast<uint64_t>(key) >= limit) return std::nullopt;
    return static_cast<RowId>(key);
  }
  {
    std::shared_lock lock(mu_);
    if (std::optional<RowId> row = FindMemory(key, limit)) return row;
  }
  std::optional<RowId> row = base_.Find(key);
  if (row && *row >= limit) return std::nullopt;
  return row;
}

std::optional<RowId> KeyMap::FindAsWriter(int64_t key, uint64_t limit) const {
  if (kind_ == KeyKind::kIdentity) return Find(key, limit);  // no map, no lock
  if (std::optional<RowId> row = FindMemory(key, limit)) return row;
  std::optional<RowId> row = base_.Find(key);
  if (row && *row >= limit) return std::nullopt;
  return row;
}

std::optional<RowId> KeyMap::FindAsWriter(std::string_view key, uint64_t limit) const {
  if (std::optional<RowId> row = FindMemory(key, limit)) return row;
  std::optional<RowId> row = base_.Find(key);
  if (row && *row >= limit) return std::nullopt;
  return row;
}

std::optional<RowId> KeyMap::Find(std::string_view key, uint64_t limit) const {
  {
    std::shared_lock lock(mu_);
    if (std::optional<RowId> row = FindMemory(key, limit)) return row;
  }
  std::optional<RowId> row = base_.Find(key);
  if (row && *row >= limit) return std::nullopt;
  return row;
}

template <typename K>
void KeyMap::FindManyImpl(std::span<const K> keys, std::vector<RowId>* rows, uint64_t limit) const {
  constexpr RowId kNoRow = FrozenKeys::kNoRow;
  rows->resize(keys.size());
  if (kind_ == KeyKind::kIdentity) {
    for (size_t i = 0; i < keys.size(); ++i) (*rows)[i] = Find(keys[i], limit).value_or(kNoRow);
    return;
  }
  auto bound = [&] {
    if (limit == kNoLimit) return;
    for (RowId& r : *rows) {
      if (r != kNoRow && r >= limit) r = kNoRow;
    }
  };
  std::shared_lock lock(mu_);
  if (memory_empty()) {
    lock.unlock();
    base_.FindMany(keys, rows->data());
    bound();
    return;
  }
  // Memory first (newer); the keys it lacks go to the base as one batch.
  std::vector<K> rest;
  std::vector<size_t> rest_at;
  size_t hint = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::optional<RowId> row;
    if constexpr (std::is_same_v<K, int64_t>) {
      row = FindMemory(keys[i], limit, &hint);  // runs: no hash probe
    } else {
      row = FindMemory(keys[i], limit);
    }
    (*rows)[i] = row.value_or(kNoRow);
    if (!row && !base_.lookup_empty()) {
      rest.push_back(keys[i]);
      rest_at.push_back(i);
    }
  }
  lock.unlock();
  if (rest.empty()) return;
  std::vector<RowId> found(rest.size());
  base_.FindMany(std::span<const K>(rest), found.data());
  for (size_t j = 0; j < rest.size(); ++j) {
    (*rows)[rest_at[j]] = found[j] != kNoRow && found[j] < limit ? found[j] : kNoRow;
  }
}

void KeyMap::FindMany(std::span<const int64_t> keys, std::vector<RowId>* rows,
                      uint64_t limit) const {
  FindManyImpl(keys, rows, limit);
}

void KeyMap::FindMany(std::span<const std::string_view> keys, std::vector<RowId>* rows,
                      uint64_t limit) const {
  FindManyImpl(keys, rows, limit);
}

void KeyMap::InsertLocked(int64_t key, RowId row) {
  const uint64_t at = uint64_t{row} - base_.rows();
  auto [it, inserted] = int_rows_.try_emplace(key, row);
  if (!inserted) {
    int_history_[key].push_back(it->second);
    it->second = row;
  } else if (!int_runs_.empty()) {
    // A key of a run seen again (after its removal): its run row is older.
    size_t hint = 0;
    if (const IntRun* run = RunOf(key, &hint)) {
      superseded_.Add(run->row + static_cast<RowId>(static_cast<uint64_t>(key) -
                                                    static_cast<uint64_t>(run->key)));
    }
  }
  if (int_keys_.size() <= at) int_keys_.resize(at + 1);
  int_keys_[at] = key;
}

void KeyMap::InsertLocked(std::string_view key, RowId row) {
  const uint64_t at = uint64_t{row} - base_.rows();
  if (string_keys_.size() <= at) string_keys_.resize(at + 1);
  string_keys_[at] = std::string(key);
  const std::string_view stored(string_keys_[at]);
  auto it = string_rows_.find(stored);
  if (it != string_rows_.end()) {
    // An entry of an older row must not keep a view of that row's key
    // (the views stay valid: the deque never moves its elements).
    const RowId older = it->second;
    string_rows_.erase(it);
    auto h = string_history_.find(stored);
    if (h == string_history_.end()) {
      string_history_.emplace(stored, std::vector<RowId>{older});
    } else {
      h->second.push_back(older);
    }
  }
  string_rows_.emplace(stored, row);
}

void KeyMap::Insert(int64_t key, RowId row) {
  if (kind_ == KeyKind::kIdentity) return;
  std::unique_lock lock(mu_);
  InsertLocked(key, row);
}

void KeyMap::Insert(std::string_view key, RowId row) {
  std::unique_lock lock(mu_);
  InsertLocked(key, row);
}

void KeyMap::AddRunLocked(std::span<const int64_t> keys, size_t begin, size_t end, RowId first_row,
                          std::vector<IntRun>* fresh_runs) {
  const int64_t key = keys[begin];
  const RowId row = static_cast<RowId>(first_row + begin);
  const uint32_t length = static_cast<uint32_t>(end - begin);
  // Extend the run that ends right before (in keys and in rows): the
  // auto-increment customer added one at a time.
  if (!int_runs_.empty()) {
    auto it = std::upper_bound(int_runs_.begin(), int_runs_.end(), key,
                               [](int64_t k, const IntRun& r) { return k < r.key; });
    if (it != int_runs_.begin()) {
      IntRun& prev = *(it - 1);
      if (static_cast<uint64_t>(key) - static_cast<uint64_t>(prev.key) == prev.length &&
          uint64_t{row} - prev.row == prev.length && uint64_t{prev.length} + length <= UINT32_MAX) {
        prev.length += length;
        int_run_keys_ += length;
        for (size_t j = begin; j < end; ++j) {
          int_keys_[uint64_t{first_row} + j - base_.rows()] = keys[j];
        }
        return;
      }
    }
  }
  // A new run only above every run (runs stay sorted by appending) and long
  // enough to pay; anything else goes to the hash map.
  const IntRun* last = !fresh_runs->empty() ? &fresh_runs->back()
                       : !int_runs_.empty() ? &int_runs_.back()
                                            : nullptr;
  const bool above = last == nullptr || key > last->key + (int64_t{last->length} - 1);
  if (length < kMinRun || !above) {
    for (size_t j = begin; j < end; ++j) InsertLocked(keys[j], static_cast<RowId>(first_row + j));
    return;
  }
  fresh_runs->push_back({key, row, length});
  int_run_keys_ += length;
  for (size_t j = begin; j < end; ++j) int_keys_[uint64_t{first_row} + j - base_.rows()] = keys[j];
}

void KeyMap::InsertMany(std::span<const int64_t> keys, RowId first_row, bool all_new) {
  if (kind_ == KeyKind::kIdentity) return;
  // (Not int_keys_.reserve: an exact reserve per batch would defeat the
  // vector's geometric growth and copy it on every small batch.)
  for (size_t i = 0; i < keys.size(); i += kInsertChunk) {
    std::unique_lock lock(mu_);
    const size_t end = std::min(keys.size(), i + kInsertChunk);
    if (!all_new) {
      if (i == 0 && keys.size() >= kReserveBatch) {
        int_rows_.reserve(int_rows_.size() + keys.size());
      }
      for (size_t j = i; j < end; ++j) InsertLocked(keys[j], static_cast<RowId>(first_row + j));
      continue;
    }
    // New keys: stretches of consecutive values become runs.
    const uint64_t last_at = uint64_t{first_row} + end - 1 - base_.rows();
    if (int_keys_.size() <= last_at) int_keys_.resize(last_at + 1);
    std::vector<IntRun> fresh_runs;
    size_t begin = i;
    for (size_t j = i + 1; j <= end; ++j) {
      if (j < end && keys[j - 1] != INT64_MAX && keys[j] == keys[j - 1] + 1) continue;
      AddRunLocked(keys, begin, j, first_row, &fresh_runs);
      begin = j;
    }
    int_runs_.insert(int_runs_.end(), fresh_runs.begin(), fresh_runs.end());
  }
}

void KeyMap::InsertMany(std::span<const std::string_view> keys, RowId first_row) {
  for (size_t i = 0; i < keys.size(); i += kInsertChunk) {
    std::unique_lock lock(mu_);
    if (i == 0 && keys.size() >= kReserveBatch) {
      string_rows_.reserve(string_rows_.size() + keys.size());
    }
    const size_t end = std::min(keys.size(), i + kInsertChunk);
    for (size_t j = i; j < end; ++j) InsertLocked(keys[j], static_cast<RowId>(first_row + j));
  }
}

CustomerKey KeyMap::KeyOf(RowId row) const {
  switch (kind_) {
    case KeyKind::kIdentity:
      return static_cast<int64_t>(row);
    case KeyKind::kInt64: {
      if (row < base_.rows()) return base_.IntKey(row);
      std::shared_lock lock(mu_);
      return int_keys_.at(uint64_t{row} - base_.rows());
    }
    case KeyKind::kString: {
      if (row < base_.rows()) return std::string(base_.StringKey(row));
      std::shared_lock lock(mu_);
      return string_keys_.at(uint64_t{row} - base_.rows());
    }
  }
  return int64_t{0};
}

void KeyMap::SetBase(FrozenKeys base) {
  std::unique_lock lock(mu_);
  table_seed_ = base.seed();
  base_ = std::move(base);
}

std::shared_ptr<KeyMap> KeyMap::Rebased(FrozenKeys base) const {
  auto out = std::make_shared<KeyMap>(kind_);
  std::shared_lock lock(mu_);
  const uint64_t old_rows = base_.rows();
  const uint64_t new_rows = base.rows();
  out->table_seed_ = base.seed();
  out->base_ = std::move(base);
  // In-memory rows not covered by the new base move to the new map.
  const uint64_t covered =
      std::min<uint64_t>(new_rows - std::min(new_rows, old_rows), memory_rows());
  if (kind_ == KeyKind::kInt64) {
    for (uint64_t i = covered; i < int_keys_.size(); ++i) {
      out->InsertLocked(int_keys_[i], static_cast<RowId>(old_rows + i));
    }
  } else if (kind_ == KeyKind::kString) {
    for (uint64_t i = covered; i < string_keys_.size(); ++i) {
      out->InsertLocked(std::string_view(string_keys_[i]), static_cast<RowId>(old_rows + i));
    }
  }
  return out;
}

}  // namespace tagindex::internal
