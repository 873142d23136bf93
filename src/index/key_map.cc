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
  if (kind_ == KeyKind::kInt64) {
    for (uint64_t i = 0; i < covered; ++i) {
      EraseIfRow(int_rows_, int_keys_[i], static_cast<RowId>(old_rows + i));
    }
    int_keys_.erase(int_keys_.begin(), int_keys_.begin() + static_cast<ptrdiff_t>(covered));
    if (int_keys_.empty()) {
      decltype(int_rows_)().swap(int_rows_);
      int_keys_.shrink_to_fit();
    }
  } else if (kind_ == KeyKind::kString) {
    for (uint64_t i = 0; i < covered; ++i) {
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

std::vector<std::string_view> KeyMap::KeyListParts(std::string* scratch) const {
  scratch->clear();
  storage::PutU8(scratch, static_cast<uint8_t>(kind_));
  storage::PutU64(scratch, kind_ == KeyKind::kIdentity ? 0 : rows());
  const size_t header = scratch->size();
  if (kind_ == KeyKind::kIdentity) return {*scratch};
  if (kind_ == KeyKind::kInt64) {
    std::string_view mem(reinterpret_cast<const char*>(int_keys_.data()), int_keys_.size() * 8);
    return {std::string_view(*scratch), base_.IntKeyBytes(), mem};
  }
  // Strings: offsets of the base rows as they are, then those of the
  // memory rows shifted past the base bytes (and the final one), then the
  // base bytes and the memory bytes.
  uint64_t offset = base_.StringBlob().size();
  for (const std::string& k : string_keys_) {
    storage::PutU64(scratch, offset);
    offset += k.size();
  }
  storage::PutU64(scratch, offset);
  const size_t blob_start = scratch->size();
  for (const std::string& k : string_keys_) scratch->append(k);
  const std::string_view all(*scratch);
  return {all.substr(0, header), base_.StringOffsetBytes(), all.substr(header, blob_start - header),
          base_.StringBlob(), all.substr(blob_start)};
}

std::vector<std::string_view> KeyMap::LookupEntryParts(const Bitmap& live,
                                                       std::vector<uint64_t>* scratch) const {
  // Rows never come back to life (a re-added key gets a new row), so if
  // every live row is a base row and as many rows are live as the base has
  // entries, the live rows are exactly the base's entries.
  const uint64_t live_count = live.Cardinality();
  if (base_.entry_count() != 0 && live_count == base_.entry_count() &&
      live.Maximum() < base_.rows()) {
    return {base_.EntryBytes()};
  }
  *scratch = LookupEntries(live);
  return {std::string_view(reinterpret_cast<const char*>(scratch->data()), scratch->size() * 8)};
}

std::vector<uint64_t> KeyMap::LookupEntries(const Bitmap& live) const {
  const uint64_t base_rows = base_.rows();
  // One pass over the live rows: base rows into a bitset (to filter the
  // base's entries with one probe each), memory rows into fresh entries.
  std::vector<uint64_t> live_bits((base_rows + 63) / 64, 0);
  std::vector<uint64_t> fresh;
  ForEachLiveRow(live, [&](RowId r) {
    if (r < base_rows) {
      live_bits[r >> 6] |= uint64_t{1} << (r & 63);
    } else if (kind_ == KeyKind::kInt64) {
      fresh.push_back(FrozenEntry(FrozenKeyHash(int_keys_[r - base_rows], table_seed_), r));
    } else {
      fresh.push_back(FrozenEntry(
          FrozenKeyHash(std::string_view(string_keys_[r - base_rows]), table_seed_), r));
    }
    return true;
  });
  SortFrozenEntries(&fresh);
  if (base_.entry_count() == 0) return fresh;
  std::vector<uint64_t> out;
  out.reserve(live.Cardinality());
  size_t j = 0;
  for (uint64_t i = 0; i < base_.entry_count(); ++i) {
    const uint64_t e = base_.Entry(i);
    const RowId r = static_cast<RowId>(e);
    if ((live_bits[r >> 6] >> (r & 63) & 1) == 0) continue;
    while (j < fresh.size() && fresh[j] < e) out.push_back(fresh[j++]);
    out.push_back(e);
  }
  out.insert(out.end(), fresh.begin() + static_cast<ptrdiff_t>(j), fresh.end());
  return out;
}

}  // namespace tagindex::internal
