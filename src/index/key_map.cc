#include "index/key_map.h"

#include <random>

namespace tagindex::internal {
namespace {

// A per-map seed: nothing derived from the int64 table's hash is persisted,
// and an unpredictable seed keeps customer ids chosen by an outsider from
// piling into one probe run.
uint64_t FreshSeed() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) ^ rd();
}

}  // namespace

KeyMap::KeyMap(KeyKind kind) : kind_(kind), int_rows_(kind == KeyKind::kInt64 ? FreshSeed() : 0) {}

std::optional<RowId> KeyMap::Find(int64_t key) const {
  if (kind_ == KeyKind::kIdentity) {
    if (key < 0 || key > static_cast<int64_t>(kMaxRowId)) return std::nullopt;
    return static_cast<RowId>(key);
  }
  return int_rows_.Find(key);
}

std::optional<RowId> KeyMap::Find(std::string_view key) const {
  auto it = string_rows_.find(key);
  if (it == string_rows_.end()) return std::nullopt;
  return it->second;
}

void KeyMap::Insert(int64_t key, RowId row) {
  if (kind_ == KeyKind::kIdentity) return;
  int_rows_.Upsert(key, row);
  if (int_keys_.size() <= row) int_keys_.resize(size_t{row} + 1);
  int_keys_[row] = key;
}

void KeyMap::Insert(std::string_view key, RowId row) {
  string_rows_[std::string(key)] = row;
  if (string_keys_.size() <= row) string_keys_.resize(size_t{row} + 1);
  string_keys_[row] = std::string(key);
}

void KeyMap::EraseRow(RowId row) {
  switch (kind_) {
    case KeyKind::kIdentity:
      return;
    case KeyKind::kInt64:
      if (row < int_keys_.size()) int_rows_.EraseIfRow(int_keys_[row], row);
      return;
    case KeyKind::kString:
      if (row < string_keys_.size()) {
        auto it = string_rows_.find(string_keys_[row]);
        if (it != string_rows_.end() && it->second == row) string_rows_.erase(it);
      }
      return;
  }
}

CustomerKey KeyMap::KeyOf(RowId row) const {
  switch (kind_) {
    case KeyKind::kIdentity:
      return static_cast<int64_t>(row);
    case KeyKind::kInt64:
      return int_keys_.at(row);
    case KeyKind::kString:
      return string_keys_.at(row);
  }
  return int64_t{0};
}

bool KeyMap::Restore(std::vector<int64_t> reverse, std::span<const RowId> live_rows) {
  int_keys_ = std::move(reverse);
  if (int_rows_.Build(int_keys_, live_rows)) return true;
  int_rows_.Clear();
  return false;
}

bool KeyMap::Restore(std::vector<std::string> reverse, std::span<const RowId> live_rows) {
  string_keys_ = std::move(reverse);
  string_rows_.clear();
  string_rows_.reserve(live_rows.size());
  for (RowId row : live_rows) {
    if (row >= string_keys_.size()) return false;
    if (!string_rows_.try_emplace(string_keys_[row], row).second) return false;
  }
  return true;
}

size_t KeyMap::size() const {
  return kind_ == KeyKind::kString ? string_rows_.size() : int_rows_.size();
}

}  // namespace tagindex::internal
