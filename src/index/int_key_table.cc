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
// streams for the scatter (each a page: TLB reach), small enough regions
// (capacity / 1024 slots, 256 KiB at 10 M keys) to sort one in L2.
constexpr int kBucketBits = 10;
constexpr size_t kMinTail = 64;

// Zero-filled memory of `bytes` bytes; release with FreeBlock. calloc, not
// a vector: large blocks come straight from the kernel already zero, so an
// empty table is not written twice. (Transparent huge pages made a bulk
// build 2x faster when memory was recycled, but a first open in a fresh
// process 3x slower, paying for compaction: not used.)
void* AllocateZeroed(size_t bytes) {
  void* p = std::calloc(bytes, 1);
  if (p == nullptr && bytes != 0) throw std::bad_alloc();
  return p;
}

void FreeBlock(void* p) { std::free(p); }

}  // namespace

IntKeyTable::~IntKeyTable() { FreeBlock(slots_); }

IntKeyTable::IntKeyTable(IntKeyTable&& other) noexcept
    : seed_(other.seed_),
      slots_(std::exchange(other.slots_, nullptr)),
      slot_count_(std::exchange(other.slot_count_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      capacity_log2_(std::exchange(other.capacity_log2_, 0)),
      size_(std::exchange(other.size_, 0)) {}

IntKeyTable& IntKeyTable::operator=(IntKeyTable&& other) noexcept {
  if (this != &other) {
    FreeBlock(slots_);
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
  Clear();
  capacity_log2_ = log2;
  capacity_ = size_t{1} << log2;
  // The tail is mapped but, until a run reaches it, never touched.
  slot_count_ = capacity_ + std::max(kMinTail, capacity_ / 64);
  slots_ = static_cast<Slot*>(AllocateZeroed(slot_count_ * sizeof(Slot)));
}

void IntKeyTable::Clear() {
  FreeBlock(slots_);
  slots_ = nullptr;
  slot_count_ = capacity_ = size_ = 0;
  capacity_log2_ = 0;
}

void IntKeyTable::ExtendTail() {
  const size_t more = std::max(kMinTail, capacity_ / 64);
  Slot* grown = static_cast<Slot*>(AllocateZeroed((slot_count_ + more) * sizeof(Slot)));
  std::memcpy(grown, slots_, slot_count_ * sizeof(Slot));
  FreeBlock(slots_);
  slots_ = grown;
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
  if (size_ + 1 > capacity_ - capacity_ / 8) {
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
    Grow();
  }
  size_t i = Home(key);
  uint32_t d = 1;
  for (;; ++i, ++d) {
    Slot& s = slots_[i];
    if (s.dist < d) break;
    if (s.key == key) {
      s.row = row;
      return;
    }
  }
  Place(key, row, i, d);
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
  const size_t old_size = size_;
  slots_ = nullptr;  // Reset must not free it yet
  slot_count_ = 0;
  Reset(capacity_ == 0 ? 4 : capacity_log2_ + 1);
  // Runs never wrap, so the old slots hold their entries in home order, and
  // a new home is 2*old_home or 2*old_home+1. Emitting each old home's group
  // twice (new home even, then odd) gives the entries in new home order:
  // placed at max(home, next free slot), that is the Robin Hood layout,
  // written front to back with no sort buffer.
  size_t pos = 0;  // the next free slot
  for (size_t k = 0; k < old_count;) {
    if (old[k].dist == 0) {
      ++k;
      continue;
    }
    const size_t old_home = k + 1 - old[k].dist;
    size_t end = k + 1;
    while (old[end].dist != 0 && end + 1 - old[end].dist == old_home) ++end;
    for (size_t parity = 0; parity < 2; ++parity) {
      for (size_t j = k; j < end; ++j) {
        const size_t home = Home(old[j].key);
        if ((home & 1) != parity) continue;
        if (pos < home) pos = home;
        if (pos + 1 >= slot_count_) ExtendTail();
        slots_[pos] = Slot{old[j].key, old[j].row, static_cast<uint32_t>(pos - home + 1)};
        ++pos;
      }
    }
    k = end;
  }
  size_ = old_size;
  FreeBlock(old);
}

bool IntKeyTable::Build(std::span<const int64_t> key_of_row, std::span<const RowId> rows) {
  if (BuildUnchecked(key_of_row, rows)) return true;
  Clear();
  return false;
}

template <typename ForEach>
bool IntKeyTable::FillSorted(size_t n, ForEach for_each) {
  if (n < kBulkMinEntries) {
    bool distinct = true;
    const bool ok = for_each([&](int64_t key, RowId row) {
      if (!InsertNew(key, row)) distinct = false;
    });
    return ok && distinct;
  }
  // Two counting sorts by home slot, so the table is written front to back:
  // first by its top bits into 2^kBucketBits buckets (one pass over the
  // entries), then each bucket (a few thousand entries, in cache) by the
  // rest. Placing entries in home order at max(home, next free slot) is
  // exactly the Robin Hood layout, with no probing and no shifting.
  const int bucket_bits = std::min(kBucketBits, capacity_log2_);
  const int shift = 64 - bucket_bits;
  const int home_shift = 64 - capacity_log2_;
  const size_t buckets = size_t{1} << bucket_bits;
  std::vector<size_t> end(buckets + 1, 0);
  const bool ok = for_each(
      [&](int64_t key, RowId) { ++end[(Mix(static_cast<uint64_t>(key) ^ seed_) >> shift) + 1]; });
  if (!ok) return false;
  for (size_t b = 1; b <= buckets; ++b) end[b] += end[b - 1];
  // Packed: a quarter less fresh memory to fault in than 16 bytes.
  struct __attribute__((packed)) Entry {
    int64_t key;
    RowId row;
  };
  static_assert(sizeof(Entry) == 12);
  std::unique_ptr<Entry, void (*)(void*)> block(
      static_cast<Entry*>(AllocateZeroed(n * sizeof(Entry))), &FreeBlock);
  Entry* by_bucket = block.get();
  for_each([&](int64_t key, RowId row) {
    by_bucket[end[Mix(static_cast<uint64_t>(key) ^ seed_) >> shift]++] = Entry{key, row};
  });
  // end[b] is now where bucket b ends.
  const size_t region = size_t{1} << (capacity_log2_ - bucket_bits);
  std::vector<uint32_t> at(region + 1);
  std::vector<Entry> ordered;
  size_t pos = 0;  // the next free slot
  for (size_t b = 0; b < buckets; ++b) {
    const size_t first = b == 0 ? 0 : end[b - 1];
    const size_t count = end[b] - first;
    if (count == 0) continue;
    std::fill(at.begin(), at.end(), 0);
    for (size_t k = first; k < end[b]; ++k) {
      const size_t home = Mix(static_cast<uint64_t>(by_bucket[k].key) ^ seed_) >> home_shift;
      ++at[(home & (region - 1)) + 1];
    }
    for (size_t i = 1; i <= region; ++i) at[i] += at[i - 1];
    ordered.resize(count);
    for (size_t k = first; k < end[b]; ++k) {
      const size_t home = Mix(static_cast<uint64_t>(by_bucket[k].key) ^ seed_) >> home_shift;
      ordered[at[home & (region - 1)]++] = by_bucket[k];
    }
    for (const Entry& e : ordered) {
      const size_t home = Mix(static_cast<uint64_t>(e.key) ^ seed_) >> home_shift;
      if (pos < home) pos = home;
      // Slots [home, pos) are occupied; the entries sharing this home sit at
      // the end of them: a repeated key can only be there.
      for (size_t k = pos; k > home && k - slots_[k - 1].dist == home;) {
        --k;
        if (slots_[k].key == e.key) return false;
      }
      if (pos + 1 >= slot_count_) ExtendTail();
      slots_[pos] = Slot{e.key, e.row, static_cast<uint32_t>(pos - home + 1)};
      ++pos;
    }
  }
  size_ = n;
  return true;
}

bool IntKeyTable::BuildUnchecked(std::span<const int64_t> key_of_row, std::span<const RowId> rows) {
  Reset(Log2For(rows.size()));
  return FillSorted(rows.size(), [&](auto&& emit) {
    for (RowId r : rows) {
      if (r >= key_of_row.size()) return false;
      emit(key_of_row[r], r);
    }
    return true;
  });
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
