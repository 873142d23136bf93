#include "index/key_map.h"

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

// Removes `key` from `map` if it maps to `row` (a newer row of the same key
// stays).
template <typename Map, typename Key>
void EraseIfRow(Map& map, const Key& key, RowId row) {
  auto it = map.find(key);
  if (it != map.end() && it->second == row) map.erase(it);
}

// Batches at least this large size the maps once up front; smaller ones
// (a single Tag) leave growth to the map.
constexpr size_t kReserveBatch = 4096;

}  // namespace

KeyMap::KeyMap(KeyKind kind)
    : kind_(kind), table_seed_(kind == KeyKind::kIdentity ? 0 : FreshSeed()) {}

std::optional<RowId> KeyMap::Find(int64_t key) const {
  if (kind_ == KeyKind::kIdentity) {
    if (key < 0 || key > static_cast<int64_t>(kMaxRowId)) return std::nullopt;
    return static_cast<RowId>(key);
  }
  if (!int_rows_.empty()) {
    auto it = int_rows_.find(key);
    if (it != int_rows_.end()) return it->second;
  }
  return base_.Find(key);
}

std::optional<RowId> KeyMap::Find(std::string_view key) const {
  if (!string_rows_.empty()) {
    auto it = string_rows_.find(key);
    if (it != string_rows_.end()) return it->second;
  }
  return base_.Find(key);
}

template <typename K>
void KeyMap::FindManyImpl(std::span<const K> keys, std::vector<RowId>* rows) const {
  constexpr RowId kNoRow = FrozenKeys::kNoRow;
  rows->resize(keys.size());
  if (kind_ == KeyKind::kIdentity) {
    for (size_t i = 0; i < keys.size(); ++i) (*rows)[i] = Find(keys[i]).value_or(kNoRow);
    return;
  }
  if (memory_empty()) {
    base_.FindMany(keys, rows->data());
    return;
  }
  // Memory first (newer); the keys it lacks go to the base as one batch.
  std::vector<K> rest;
  std::vector<size_t> rest_at;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::optional<RowId> row;
    if constexpr (std::is_same_v<K, int64_t>) {
      auto it = int_rows_.find(keys[i]);
      if (it != int_rows_.end()) row = it->second;
    } else {
      auto it = string_rows_.find(keys[i]);
      if (it != string_rows_.end()) row = it->second;
    }
    (*rows)[i] = row.value_or(kNoRow);
    if (!row && base_.entry_count() != 0) {
      rest.push_back(keys[i]);
      rest_at.push_back(i);
    }
  }
  if (rest.empty()) return;
  std::vector<RowId> found(rest.size());
  base_.FindMany(std::span<const K>(rest), found.data());
  for (size_t j = 0; j < rest.size(); ++j) (*rows)[rest_at[j]] = found[j];
}

void KeyMap::FindMany(std::span<const int64_t> keys, std::vector<RowId>* rows) const {
  FindManyImpl(keys, rows);
}

void KeyMap::FindMany(std::span<const std::string_view> keys, std::vector<RowId>* rows) const {
  FindManyImpl(keys, rows);
}

void KeyMap::Insert(int64_t key, RowId row) {
  if (kind_ == KeyKind::kIdentity) return;
  const uint64_t at = uint64_t{row} - base_.rows();
  int_rows_[key] = row;
  if (int_keys_.size() <= at) int_keys_.resize(at + 1);
  int_keys_[at] = key;
}

void KeyMap::Insert(std::string_view key, RowId row) {
  const uint64_t at = uint64_t{row} - base_.rows();
  if (string_keys_.size() <= at) string_keys_.resize(at + 1);
  string_keys_[at] = std::string(key);
  const std::string_view stored(string_keys_[at]);
  auto [it, inserted] = string_rows_.try_emplace(stored, row);
  if (!inserted) {
    // An entry of an older row must not keep a view of that row's key.
    string_rows_.erase(it);
    string_rows_.emplace(stored, row);
  }
}

void KeyMap::InsertMany(std::span<const int64_t> keys, RowId first_row) {
  if (kind_ == KeyKind::kIdentity) return;
  // (Not int_keys_.reserve: an exact reserve per batch would defeat the
  // vector's geometric growth and copy it on every small batch.)
  if (keys.size() >= kReserveBatch) int_rows_.reserve(int_rows_.size() + keys.size());
  for (size_t i = 0; i < keys.size(); ++i) Insert(keys[i], static_cast<RowId>(first_row + i));
}

void KeyMap::InsertMany(std::span<const std::string_view> keys, RowId first_row) {
  if (keys.size() >= kReserveBatch) string_rows_.reserve(string_rows_.size() + keys.size());
  for (size_t i = 0; i < keys.size(); ++i) Insert(keys[i], static_cast<RowId>(first_row + i));
}

void KeyMap::EraseRow(RowId row) {
  if (row < base_.rows()) return;
  const uint64_t at = uint64_t{row} - base_.rows();
  switch (kind_) {
    case KeyKind::kIdentity:
      return;
    case KeyKind::kInt64:
      if (at < int_keys_.size()) EraseIfRow(int_rows_, int_keys_[at], row);
      return;
    case KeyKind::kString:
      if (at < string_keys_.size())
        EraseIfRow(string_rows_, std::string_view(string_keys_[at]), row);
      return;
  }
}

CustomerKey KeyMap::KeyOf(RowId row) const {
  switch (kind_) {
    case KeyKind::kIdentity:
      return static_cast<int64_t>(row);
    case KeyKind::kInt64:
      if (row < base_.rows()) return base_.IntKey(row);
      return int_keys_.at(uint64_t{row} - base_.rows());
    case KeyKind::kString:
      if (row < base_.rows()) return std::string(base_.StringKey(row));
      return string_keys_.at(uint64_t{row} - base_.rows());
  }
  return int64_t{0};
}

void KeyMap::SetBase(FrozenKeys base) {
  const uint64_t old_rows = base_.rows();
  const uint64_t new_rows = base.rows();
  // In-memory rows now covered by the new base: forget their entries.
  const uint64_t covered =
      std::min<uint64_t>(new_rows - std::min(new_rows, old_rows), memory_rows());
  // Every in-memory row covered (a checkpoint after a bulk load): every
  // entry of the tables maps to one of those rows, so all of them go.
  const bool all = covered == memory_rows();
  if (kind_ == KeyKind::kInt64) {
    for (uint64_t i = 0; i < covered && !all; ++i) {
      EraseIfRow(int_rows_, int_keys_[i], static_cast<RowId>(old_rows + i));
    }
    int_keys_.erase(int_keys_.begin(), int_keys_.begin() + static_cast<ptrdiff_t>(covered));
    if (int_keys_.empty()) {
      decltype(int_rows_)().swap(int_rows_);
      int_keys_.shrink_to_fit();
    }
  } else if (kind_ == KeyKind::kString) {
    for (uint64_t i = 0; i < covered && !all; ++i) {
      EraseIfRow(string_rows_, std::string_view(string_keys_[i]), static_cast<RowId>(old_rows + i));
    }
    string_keys_.erase(string_keys_.begin(),
                       string_keys_.begin() + static_cast<ptrdiff_t>(covered));
    if (string_keys_.empty()) {
      decltype(string_rows_)().swap(string_rows_);
      string_keys_.shrink_to_fit();
    }
  }
  table_seed_ = base.seed();
  base_ = std::move(base);
}

}  // namespace tagindex::internal
