#include "index/int_key_table.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

namespace tagindex::internal {
namespace {

// Below this many entries Build inserts directly: the table fits in cache.
constexpr size_t kBulkMinEntries = size_t{1} << 15;
// Build groups entries into 2^kBucketBits home regions: few enough write
// streams for the scatter, small enough regions (capacity / 4096 slots, 64 KiB
// at 10 M keys) that inserting within one stays in cache.
constexpr int kBucketBits = 12;
constexpr size_t kMinTail = 64;

}  // namespace

IntKeyTable::~IntKeyTable() { std::free(slots_); }

IntKeyTable::IntKeyTable(IntKeyTable&& other) noexcept
    : seed_(other.seed_),
      slots_(std::exchange(other.slots_, nullptr)),
      slot_count_(std::exchange(other.slot_count_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      capacity_log2_(std::exchange(other.capacity_log2_, 0)),
      size_(std::exchange(other.size_, 0)) {}

IntKeyTable& IntKeyTable::operator=(IntKeyTable&& other) noexcept {
  if (this != &other) {
    std::free(slots_);
    seed_ = other.seed_;
    slots_ = std::exchange(other.slots_, nullptr);
    slot_count_ = std::exchange(other.slot_count_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    capacity_log2_ = std::exchange(other.capacity_log2_, 0);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

int IntKeyTable::Log2For(size_t entries) {
  int log2 = 4;
  while ((size_t{1} << log2) - ((size_t{1} << log2) / 8) < entries) ++log2;
  return log2;
}

void IntKeyTable::Reset(int log2) {
  std::free(slots_);
  slots_ = nullptr;
  capacity_log2_ = log2;
  capacity_ = size_t{1} << log2;
  slot_count_ = capacity_ + kMinTail;
  size_ = 0;
  slots_ = static_cast<Slot*>(std::calloc(slot_count_, sizeof(Slot)));
  if (slots_ == nullptr) throw std::bad_alloc();
}

void IntKeyTable::Clear() {
  std::free(slots_);
  slots_ = nullptr;
  slot_count_ = capacity_ = size_ = 0;
  capacity_log2_ = 0;
}

void IntKeyTable::ExtendTail() {
  const size_t more = std::max(kMinTail, capacity_ / 64);
  void* grown = std::realloc(slots_, (slot_count_ + more) * sizeof(Slot));
  if (grown == nullptr) throw std::bad_alloc();
  slots_ = static_cast<Slot*>(grown);
  std::memset(slots_ + slot_count_, 0, more * sizeof(Slot));
  slot_count_ += more;
}

std::optional<RowId> IntKeyTable::Find(int64_t key) const {
  if (size_ == 0) return std::nullopt;
  const Slot* s = slots_ + Home(key);
  // An entry closer to its home than the probe ends the search: Robin Hood
  // order would have put `key` before it. The empty last slot bounds the loop.
  for (uint32_t d = 1;; ++d, ++s) {
    if (s->dist < d) return std::nullopt;
    if (s->key == key) return s->row;
  }
}

void IntKeyTable::Place(int64_t key, RowId row, size_t i, uint32_t d) {
  size_t j = i;
  while (slots_[j].dist != 0) ++j;
  if (j + 1 == slot_count_) ExtendTail();
  if (j > i) {
    std::memmove(slots_ + i + 1, slots_ + i, (j - i) * sizeof(Slot));
    for (size_t k = i + 1; k <= j; ++k) ++slots_[k].dist;
  }
  slots_[i] = Slot{key, row, d};
  ++size_;
}

bool IntKeyTable::InsertNew(int64_t key, RowId row) {
  if (size_ + 1 > capacity_ - capacity_ / 8) {
    if (Find(key).has_value()) return false;
    Grow();
  }
  size_t i = Home(key);
  uint32_t d = 1;
  for (;; ++i, ++d) {
    const Slot& s = slots_[i];
    if (s.dist < d) break;
    if (s.key == key) return false;
  }
  Place(key, row, i, d);
  return true;
}

void IntKeyTable::Upsert(int64_t key, RowId row) {
  if (size_ != 0) {
    Slot* s = slots_ + Home(key);
    for (uint32_t d = 1;; ++d, ++s) {
      if (s->dist < d) break;
      if (s->key == key) {
        s->row = row;
        return;
      }
    }
  }
  const bool inserted = InsertNew(key, row);
  (void)inserted;  // absent: checked above
}

bool IntKeyTable::EraseIfRow(int64_t key, RowId row) {
  if (size_ == 0) return false;
  size_t i = Home(key);
  for (uint32_t d = 1;; ++d, ++i) {
    if (slots_[i].dist < d) return false;
    if (slots_[i].key == key) break;
  }
  if (slots_[i].row != row) return false;
  // Backward shift: pull the rest of the run one slot closer to home, so
  // no tombstone is left and Robin Hood order still holds.
  size_t j = i + 1;
  while (slots_[j].dist > 1) {
    slots_[j - 1] = slots_[j];
    --slots_[j - 1].dist;
    ++j;
  }
  slots_[j - 1] = Slot{0, 0, 0};
  --size_;
  return true;
}

void IntKeyTable::Grow() {
  Slot* old = slots_;
  const size_t old_count = slot_count_;
  slots_ = nullptr;  // Reset must not free it yet
  Reset(capacity_ == 0 ? 4 : capacity_log2_ + 1);
  // Old slots are in home order, and a new home is 2*old_home or
  // 2*old_home+1: re-inserting in slot order fills the new table front to
  // back.
  for (size_t k = 0; k < old_count; ++k) {
    if (old[k].dist == 0) continue;
    size_t i = Home(old[k].key);
    uint32_t d = 1;
    while (slots_[i].dist >= d) ++i, ++d;
    Place(old[k].key, old[k].row, i, d);
  }
  std::free(old);
}

bool IntKeyTable::Build(std::span<const int64_t> key_of_row, std::span<const RowId> rows) {
  const size_t n = rows.size();
  Reset(Log2For(n));
  if (n < kBulkMinEntries) {
    for (RowId r : rows) {
      if (r >= key_of_row.size() || !InsertNew(key_of_row[r], r)) return false;
    }
    return true;
  }
  // Counting sort by the top bits of the home slot, then insert bucket by
  // bucket: each insertion touches only its bucket's region of the table
  // (in cache) instead of a random DRAM line.
  const int bucket_bits = std::min(kBucketBits, capacity_log2_);
  const int shift = 64 - bucket_bits;
  std::vector<size_t> start((size_t{1} << bucket_bits) + 1, 0);
  for (RowId r : rows) {
    if (r >= key_of_row.size()) return false;
    ++start[(Mix(static_cast<uint64_t>(key_of_row[r]) ^ seed_) >> shift) + 1];
  }
  for (size_t b = 1; b < start.size(); ++b) start[b] += start[b - 1];
  struct Entry {
    int64_t key;
    RowId row;
  };
  std::unique_ptr<Entry[]> sorted(new Entry[n]);  // not value-initialised
  for (RowId r : rows) {
    const int64_t key = key_of_row[r];
    sorted[start[Mix(static_cast<uint64_t>(key) ^ seed_) >> shift]++] = Entry{key, r};
  }
  for (size_t k = 0; k < n; ++k) {
    if (!InsertNew(sorted[k].key, sorted[k].row)) return false;
  }
  return true;
}

bool IntKeyTable::CheckInvariants() const {
  if (slots_ == nullptr) return size_ == 0 && slot_count_ == 0;
  if (slot_count_ < capacity_ + 1 || slots_[slot_count_ - 1].dist != 0) return false;
  size_t occupied = 0;
  for (size_t i = 0; i < slot_count_; ++i) {
    const Slot& s = slots_[i];
    if (s.dist == 0) continue;
    ++occupied;
    const size_t home = Home(s.key);
    if (home > i || i - home + 1 != s.dist) return false;
    // Robin Hood order: within a run homes never decrease.
    if (i > 0 && slots_[i - 1].dist != 0 && Home(slots_[i - 1].key) > home) return false;
    // The entry must be findable (no duplicate earlier in its run).
    for (size_t k = home; k < i; ++k) {
      if (slots_[k].key == s.key) return false;
    }
  }
  return occupied == size_ && size_ <= capacity_ - capacity_ / 8;
}

}  // namespace tagindex::internal
