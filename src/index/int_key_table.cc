#include "index/int_key_table.h"

#include <sys/mman.h>

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

// Blocks from this size on bypass malloc: fresh anonymous memory is already
// zero, and asking for transparent huge pages turns the ~65,000 page faults
// of a 256 MiB table into ~130 (faults were most of a bulk build's time).
constexpr size_t kHugeBlockBytes = size_t{4} << 20;
constexpr size_t kHugePage = size_t{2} << 20;

size_t RoundedBlockBytes(size_t bytes) {
  return bytes < kHugeBlockBytes ? bytes : (bytes + kHugePage - 1) / kHugePage * kHugePage;
}

// Zero-filled memory of `bytes` bytes; release with FreeBlock(p, bytes).
void* AllocateZeroed(size_t bytes) {
  if (bytes < kHugeBlockBytes) {
    void* p = std::calloc(bytes, 1);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  const size_t size = RoundedBlockBytes(bytes);
  // Over-map by one huge page and trim, so the block is huge-page aligned.
  void* raw =
      mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (base + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > base) munmap(raw, aligned - base);
  const size_t after = base + size + kHugePage - (aligned + size);
  if (after > 0) munmap(reinterpret_cast<void*>(aligned + size), after);
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);  // advisory: ignore failure
  return reinterpret_cast<void*>(aligned);
}

void FreeBlock(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kHugeBlockBytes) {
    std::free(p);
  } else {
    munmap(p, RoundedBlockBytes(bytes));
  }
}

}  // namespace

IntKeyTable::~IntKeyTable() { FreeBlock(slots_, slot_count_ * sizeof(Slot)); }

IntKeyTable::IntKeyTable(IntKeyTable&& other) noexcept
    : seed_(other.seed_),
      slots_(std::exchange(other.slots_, nullptr)),
      slot_count_(std::exchange(other.slot_count_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      capacity_log2_(std::exchange(other.capacity_log2_, 0)),
      size_(std::exchange(other.size_, 0)) {}

IntKeyTable& IntKeyTable::operator=(IntKeyTable&& other) noexcept {
  if (this != &other) {
    FreeBlock(slots_, slot_count_ * sizeof(Slot));
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
  FreeBlock(slots_, slot_count_ * sizeof(Slot));
  slots_ = nullptr;
  slot_count_ = capacity_ = size_ = 0;
  capacity_log2_ = 0;
}

void IntKeyTable::ExtendTail() {
  const size_t more = std::max(kMinTail, capacity_ / 64);
  Slot* grown = static_cast<Slot*>(AllocateZeroed((slot_count_ + more) * sizeof(Slot)));
  std::memcpy(grown, slots_, slot_count_ * sizeof(Slot));
  FreeBlock(slots_, slot_count_ * sizeof(Slot));
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
  slot_count_ = 0;
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
  FreeBlock(old, old_count * sizeof(Slot));
}

bool IntKeyTable::Build(std::span<const int64_t> key_of_row, std::span<const RowId> rows) {
  if (BuildUnchecked(key_of_row, rows)) return true;
  Clear();
  return false;
}

bool IntKeyTable::BuildUnchecked(std::span<const int64_t> key_of_row, std::span<const RowId> rows) {
  const size_t n = rows.size();
  Reset(Log2For(n));
  if (n < kBulkMinEntries) {
    for (RowId r : rows) {
      if (r >= key_of_row.size() || !InsertNew(key_of_row[r], r)) return false;
    }
    return true;
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
  for (RowId r : rows) {
    if (r >= key_of_row.size()) return false;
    ++end[(Mix(static_cast<uint64_t>(key_of_row[r]) ^ seed_) >> shift) + 1];
  }
  for (size_t b = 1; b <= buckets; ++b) end[b] += end[b - 1];
  struct Entry {
    int64_t key;
    RowId row;
  };
  struct Block {
    Entry* p;
    size_t bytes;
    ~Block() { FreeBlock(p, bytes); }
  } block{static_cast<Entry*>(AllocateZeroed(n * sizeof(Entry))), n * sizeof(Entry)};
  Entry* by_bucket = block.p;
  for (RowId r : rows) {
    const int64_t key = key_of_row[r];
    by_bucket[end[Mix(static_cast<uint64_t>(key) ^ seed_) >> shift]++] = Entry{key, r};
  }
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
