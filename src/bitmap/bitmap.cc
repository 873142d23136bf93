#include "bitmap/bitmap.h"

#include <roaring/roaring.h>
#if TAGINDEX_CROARING_LAYOUT
#include <roaring/containers/containers.h>
#include <roaring/roaring_array.h>
#endif

#include <algorithm>
#include <new>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bitmap/kernels.h"
#include "bitmap/portable_validator.h"
#include "util/error_info.h"

namespace tagindex {
namespace {

// CRoaring's C API returns NULL when malloc fails. Bitmap operations that
// allocate have no status to return, so they throw std::bad_alloc, which the
// public API boundary turns into ResourceExhausted.
roaring_bitmap_t* Check(roaring_bitmap_t* r) {
  if (r == nullptr) throw std::bad_alloc();
  return r;
}

}  // namespace

// ---- container sharing ----------------------------------------------------------

// extra(c) = number of bitmaps holding container c, minus one; a container
// absent from the table, or present with extra 0, has one holder.
//
// An open-addressing table (linear probing, Fibonacci hashing of the
// pointer, load at most 1/2), not a general hash map: every commit
// share-copies a tag's directory (one increment per container) and the
// version it replaces gives them back (one decrement each), so these two
// operations are the uncontended Tag's main cost. A count that drops to 0
// keeps its slot (the next commit's share-copy of the same containers then
// finds it instead of inserting): such a slot means "one holder", exactly
// like an absent one, so a slot left behind by a freed container whose
// address malloc reuses is still right. Slots at 0 are dropped when the
// table is rebuilt (to grow, or to shrink once few counts are live).
struct ContainerShares::Table {
  struct Slot {
    const void* key = nullptr;  // null: empty (containers are never null)
    uint32_t extra = 0;
  };
  static constexpr int kMinLog = 8;

#if TAGINDEX_CROARING_LAYOUT
  // Bitset containers (the struct and its 8 KB array) given back by a
  // bitmap that was their only holder, kept for the next UnshareKey of a
  // bitset instead of being freed: a one-key Tag of a dense tag clones one
  // bitset per commit and the version it replaces frees one, so in a steady
  // state the writer reuses the same few blocks and never calls malloc for
  // 8 KB (which also ran glibc's malloc_consolidate after the commit's small
  // frees). Only provably unreferenced memory comes here: a container whose
  // last holder is being freed (no count in the table, so no other bitmap
  // and hence no reader's version points at it). Guarded like the table
  // (the owner's serialisation). At most kMaxSpare blocks (64 KB) per table.
  static constexpr size_t kMaxSpare = 8;
  std::vector<bitset_container_t*> spare;
  ~Table() {
    for (bitset_container_t* b : spare) bitset_container_free(b);
  }
  // Frees `c` (of type `typecode`, now unreferenced) or keeps it as a spare.
  void Release(void* c, uint8_t typecode) {
    if (typecode == BITSET_CONTAINER_TYPE_CODE && spare.size() < kMaxSpare) {
      if (spare.capacity() == 0) spare.reserve(kMaxSpare);
      spare.push_back(static_cast<bitset_container_t*>(c));
      return;
    }
    container_free(c, typecode);
  }
  // A private copy of `c` (type `typecode`), a spare block when one is kept;
  // null if out of memory.
  void* Clone(const void* c, uint8_t typecode) {
    if (typecode == BITSET_CONTAINER_TYPE_CODE && !spare.empty()) {
      bitset_container_t* b = spare.back();
      spare.pop_back();
      const auto* src = static_cast<const bitset_container_t*>(c);
      std::memcpy(b->array, src->array, sizeof(uint64_t) * BITSET_CONTAINER_SIZE_IN_WORDS);
      b->cardinality = src->cardinality;
      return b;
    }
    return container_clone(c, typecode);
  }
#endif

  std::vector<Slot> slots = std::vector<Slot>(size_t{1} << kMinLog);
  int log = kMinLog;
  size_t used = 0;    // slots with a key
  size_t shared = 0;  // slots with extra > 0

  size_t mask() const { return slots.size() - 1; }
  size_t Home(const void* p) const {
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(p) * 0x9E3779B97F4A7C15ull) >>
                               (64 - log));
  }
  // The slot counting `p` as shared (extra > 0), or null.
  Slot* FindShared(const void* p) {
    for (size_t i = Home(p);; i = (i + 1) & mask()) {
      Slot& s = slots[i];
      if (s.key == p) return s.extra > 0 ? &s : nullptr;
      if (s.key == nullptr) return nullptr;
    }
  }
  // Counts one more holder of `p`. The caller reserved room.
  void Increment(const void* p) {
    for (size_t i = Home(p);; i = (i + 1) & mask()) {
      Slot& s = slots[i];
      if (s.key == p) {
        shared += s.extra == 0;
        ++s.extra;
        return;
      }
      if (s.key == nullptr) {
        s.key = p;
        s.extra = 1;
        ++used;
        ++shared;
        return;
      }
    }
  }
  // One holder less (extra > 0); the slot stays.
  void Decrement(Slot* s) {
    if (--s->extra == 0) --shared;
  }
  // Room for `n` more keys at load <= 1/2: rebuilds (dropping the slots at
  // 0) when full, and shrinks when few counts are live.
  void Reserve(size_t n) {
    if ((used + n) * 2 <= slots.size() && !(log > kMinLog && (shared + n) * 16 < slots.size())) {
      return;
    }
    int want = kMinLog;
    while ((shared + n) * 4 > (size_t{1} << want)) ++want;  // load <= 1/4 after
    std::vector<Slot> old(size_t{1} << want);
    old.swap(slots);
    log = want;
    used = 0;
    for (const Slot& s : old) {
      if (s.key == nullptr || s.extra == 0) continue;
      size_t i = Home(s.key);
      while (slots[i].key != nullptr) i = (i + 1) & mask();
      slots[i] = s;
      ++used;
    }
  }
};
ContainerShares::ContainerShares() : table_(std::make_unique<Table>()) {}
ContainerShares::~ContainerShares() = default;
size_t ContainerShares::shared_containers() const { return table_->shared; }
size_t ContainerShares::spare_containers() const {
#if TAGINDEX_CROARING_LAYOUT
  return table_->spare.size();
#else
  return 0;
#endif
}

Bitmap::Bitmap() : r_(Check(roaring_bitmap_create())) {}
Bitmap::Bitmap(roaring_bitmap_s* r) : r_(Check(r)) {}
Bitmap::~Bitmap() { Free(); }

void Bitmap::Free() {
  if (r_ == nullptr) return;
#if TAGINDEX_CROARING_LAYOUT
  if (shares_ != nullptr) {
    ContainerShares::Table& table = *shares_->table_;
    roaring_array_t* ra = &r_->high_low_container;
    for (int32_t i = 0; i < ra->size; ++i) {
      ContainerShares::Table::Slot* slot = table.FindShared(ra->containers[i]);
      if (slot == nullptr) {
        table.Release(ra->containers[i], ra->typecodes[i]);
      } else {
        table.Decrement(slot);
      }
    }
    ra_clear_without_containers(ra);
    free(r_);
    r_ = nullptr;
    return;
  }
#endif
  roaring_bitmap_free(r_);
  r_ = nullptr;
}

Bitmap::Bitmap(Bitmap&& other) noexcept
    : r_(other.r_), card_(other.card_.load(std::memory_order_relaxed)) {
  shares_ = other.shares_;
  other.r_ = nullptr;
  other.shares_ = nullptr;
  other.Changed();
}
Bitmap& Bitmap::operator=(Bitmap&& other) noexcept {
  if (this != &other) {
    Free();
    r_ = other.r_;
    shares_ = other.shares_;
    card_.store(other.card_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    other.r_ = nullptr;
    other.shares_ = nullptr;
    other.Changed();
  }
  return *this;
}

Bitmap Bitmap::ShareCopy(ContainerShares* shares) const {
#if TAGINDEX_CROARING_LAYOUT
  const roaring_array_t& src = r_->high_low_container;
  Bitmap b(roaring_bitmap_create_with_capacity(static_cast<uint32_t>(src.size)));
  roaring_array_t& dst = b.r_->high_low_container;
  ContainerShares::Table& table = *shares->table_;
  for (int32_t i = 0; i < src.size; ++i) {
    // tagindex never sets CRoaring's own copy-on-write flag, whose shared
    // containers 0.2.66 handles incompletely (equals, copy and or assert).
    if (src.typecodes[i] == SHARED_CONTAINER_TYPE_CODE) return Copy();
  }
  if (src.size > 0) {
    std::memcpy(dst.keys, src.keys, sizeof(uint16_t) * static_cast<size_t>(src.size));
    std::memcpy(dst.typecodes, src.typecodes, static_cast<size_t>(src.size));
    std::memcpy(dst.containers, src.containers, sizeof(void*) * static_cast<size_t>(src.size));
  }
  dst.size = src.size;
  table.Reserve(static_cast<size_t>(src.size));
  for (int32_t i = 0; i < src.size; ++i) table.Increment(src.containers[i]);
  shares_ = shares;
  b.shares_ = shares;
  b.card_.store(card_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  return b;
#else
  (void)shares;
  return Copy();
#endif
}

void Bitmap::UnshareKey(uint16_t key) {
#if TAGINDEX_CROARING_LAYOUT
  ContainerShares::Table& table = *shares_->table_;
  if (table.shared == 0) return;  // nothing is shared (an in-place commit's usual case)
  roaring_array_t* ra = &r_->high_low_container;
  const int32_t i = ra_get_index(ra, key);
  if (i < 0) return;
  ContainerShares::Table::Slot* slot = table.FindShared(ra->containers[i]);
  if (slot == nullptr) return;
  void* clone = table.Clone(ra->containers[i], ra->typecodes[i]);
  if (clone == nullptr) throw std::bad_alloc();
  table.Decrement(slot);
  ra->containers[i] = clone;
#else
  (void)key;
#endif
}

void Bitmap::UnshareAll() {
#if TAGINDEX_CROARING_LAYOUT
  if (shares_ == nullptr) return;
  roaring_array_t* ra = &r_->high_low_container;
  for (int32_t i = 0; i < ra->size; ++i) UnshareKey(ra->keys[i]);
#endif
}

void Bitmap::UnshareKeysOf(const Bitmap& other) {
#if TAGINDEX_CROARING_LAYOUT
  if (shares_ == nullptr) return;
  const roaring_array_t& o = other.r_->high_low_container;
  for (int32_t i = 0; i < o.size; ++i) UnshareKey(o.keys[i]);
#else
  (void)other;
#endif
}

void Bitmap::UnshareRange(uint64_t lo, uint64_t hi) {
#if TAGINDEX_CROARING_LAYOUT
  if (shares_ == nullptr || lo >= hi) return;
  const uint16_t lo_key = static_cast<uint16_t>(lo >> 16);
  const uint16_t hi_key = static_cast<uint16_t>((hi - 1) >> 16);
  roaring_array_t* ra = &r_->high_low_container;
  for (int32_t i = 0; i < ra->size; ++i) {
    if (ra->keys[i] >= lo_key && ra->keys[i] <= hi_key) UnshareKey(ra->keys[i]);
  }
#else
  (void)lo;
  (void)hi;
#endif
}

void Bitmap::UnshareIds(std::span<const uint32_t> ids) {
  if (shares_ == nullptr) return;
  int64_t last = -1;
  for (uint32_t id : ids) {
    const int64_t key = id >> 16;
    if (key == last) continue;
    UnshareKey(static_cast<uint16_t>(key));
    last = key;
  }
}
// A moved-from Bitmap has r_ == nullptr; it may only be destroyed or assigned
// to. Every other method expects a live bitmap.

Bitmap Bitmap::FromIds(std::span<const uint32_t> ids) {
  Bitmap b;
  if (ids.empty()) return b;
  // Dense batches, sorted or not: the scatter beats add_many even on sorted
  // ids (bench/kernels_benchmark BM_Build_*).
  if (ids.size() >= kBulkBatch && kernels::BuildFromUnsorted(ids, &b)) return b;
  if (std::is_sorted(ids.begin(), ids.end())) {
    roaring_bitmap_add_many(b.r_, ids.size(), ids.data());
    return b;
  }
  std::vector<uint32_t> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  roaring_bitmap_add_many(b.r_, sorted.size(), sorted.data());
  return b;
}

Bitmap Bitmap::FromRange(uint64_t lo, uint64_t hi) {
  Bitmap b;
  b.AddRange(lo, hi);
  return b;
}

Bitmap Bitmap::Copy() const {
  Bitmap b(roaring_bitmap_copy(r_));
  b.card_.store(card_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  return b;
}

void Bitmap::Add(uint32_t id) {
  Changed();
  if (shares_ != nullptr) UnshareKey(static_cast<uint16_t>(id >> 16));
  roaring_bitmap_add(r_, id);
}
bool Bitmap::AddChecked(uint32_t id) {
  Changed();
  if (shares_ != nullptr) UnshareKey(static_cast<uint16_t>(id >> 16));
  return roaring_bitmap_add_checked(r_, id);
}
void Bitmap::AddMany(std::span<const uint32_t> ids) {
  if (ids.empty()) return;
  if (ids.size() == 1) return Add(ids[0]);  // a one-key Tag: no batch machinery
  Changed();
  UnshareIds(ids);
  if (ids.size() < kBulkBatch) {
    roaring_bitmap_add_many(r_, ids.size(), ids.data());
    return;
  }
  kernels::ApplyBatch(*this, FromIds(ids), /*remove=*/false);
}
void Bitmap::AddRange(uint64_t lo, uint64_t hi) {
  Changed();
  hi = std::min<uint64_t>(hi, uint64_t{1} << 32);
  UnshareRange(lo, hi);
  if (lo < hi) {
    roaring_bitmap_add_range_closed(r_, static_cast<uint32_t>(lo), static_cast<uint32_t>(hi - 1));
  }
}
void Bitmap::Remove(uint32_t id) {
  Changed();
  if (shares_ != nullptr) UnshareKey(static_cast<uint16_t>(id >> 16));
  roaring_bitmap_remove(r_, id);
}
bool Bitmap::RemoveChecked(uint32_t id) {
  Changed();
  if (shares_ != nullptr) UnshareKey(static_cast<uint16_t>(id >> 16));
  return roaring_bitmap_remove_checked(r_, id);
}
void Bitmap::RemoveMany(std::span<const uint32_t> ids) {
  if (ids.empty()) return;
  if (ids.size() == 1) return Remove(ids[0]);
  Changed();
  UnshareIds(ids);
  if (ids.size() < kBulkBatch) {
    roaring_bitmap_remove_many(r_, ids.size(), ids.data());
    return;
  }
  kernels::ApplyBatch(*this, FromIds(ids), /*remove=*/true);
}
void Bitmap::AddAll(const Bitmap& batch) {
  UnshareKeysOf(batch);
  kernels::ApplyBatch(*this, batch, /*remove=*/false);
}
void Bitmap::RemoveAll(const Bitmap& batch) {
  UnshareKeysOf(batch);
  kernels::ApplyBatch(*this, batch, /*remove=*/true);
}
void Bitmap::RemoveRange(uint64_t lo, uint64_t hi) {
  Changed();
  hi = std::min<uint64_t>(hi, uint64_t{1} << 32);
  UnshareRange(lo, hi);
  if (lo < hi) {
    roaring_bitmap_remove_range_closed(r_, static_cast<uint32_t>(lo),
                                       static_cast<uint32_t>(hi - 1));
  }
}
void Bitmap::Clear() {
  Changed();
  if (shares_ != nullptr) {
    Free();
    r_ = Check(roaring_bitmap_create());
    shares_ = nullptr;
    return;
  }
  roaring_bitmap_clear(r_);
}
bool Bitmap::RunOptimize() {
  UnshareAll();
  return roaring_bitmap_run_optimize(r_);
}
void Bitmap::RunOptimizeRange(uint32_t lo, uint32_t hi) {
  if (lo <= hi) UnshareRange(lo, uint64_t{hi} + 1);
  kernels::RunOptimizeRange(*this, lo, hi);
}
void Bitmap::ShrinkToFit() {
  UnshareAll();
  roaring_bitmap_shrink_to_fit(r_);
}

void Bitmap::AndInPlace(const Bitmap& o) {
  Changed();
  UnshareAll();
  roaring_bitmap_and_inplace(r_, o.r_);
}
void Bitmap::OrInPlace(const Bitmap& o) {
  Changed();
  UnshareKeysOf(o);
  roaring_bitmap_or_inplace(r_, o.r_);
}
void Bitmap::AndNotInPlace(const Bitmap& o) {
  Changed();
  UnshareKeysOf(o);
  roaring_bitmap_andnot_inplace(r_, o.r_);
}
void Bitmap::XorInPlace(const Bitmap& o) {
  Changed();
  UnshareAll();
  roaring_bitmap_xor_inplace(r_, o.r_);
}

// AND and AND NOT go through the fused kernels (runtime-dispatched SSE4.2 /
// POPCNT); see kernels.h for why Debian's CRoaring is slow here.
Bitmap Bitmap::And(const Bitmap& a, const Bitmap& b) {
  const Bitmap* pos[] = {&a, &b};
  return kernels::AndAndNot(pos, {});
}
// Our kernel (kernels::Or), chosen per container pair in UnionChunk: array
// | array by the dispatched SIMD merge (or a bitset when they sum past
// 4,096), run | run and run | array as intervals, bitset | x by word ORs;
// keys only one side has are copied. Faster than CRoaring 0.2.66's
// roaring_bitmap_or on every real dataset (BENCHMARKS.md, kern5).
Bitmap Bitmap::Or(const Bitmap& a, const Bitmap& b) { return kernels::Or(a, b); }
Bitmap Bitmap::AndNot(const Bitmap& a, const Bitmap& b) {
  const Bitmap* pos[] = {&a};
  const Bitmap* neg[] = {&b};
  return kernels::AndAndNot(pos, neg);
}
Bitmap Bitmap::Xor(const Bitmap& a, const Bitmap& b) {
  return Bitmap(roaring_bitmap_xor(a.r_, b.r_));
}

namespace {
std::vector<const roaring_bitmap_t*> RawPointers(std::span<const Bitmap* const> in) {
  std::vector<const roaring_bitmap_t*> raw(in.size());
  std::transform(in.begin(), in.end(), raw.begin(), [](const Bitmap* b) { return b->raw(); });
  return raw;
}
}  // namespace

Bitmap Bitmap::OrMany(std::span<const Bitmap* const> inputs) {
  if (inputs.empty()) return Bitmap();
  if (inputs.size() == 1) return inputs[0]->Copy();
  return kernels::OrMany(inputs);
}

uint64_t Bitmap::OrManyCardinality(std::span<const Bitmap* const> inputs) {
  if (inputs.empty()) return 0;
  if (inputs.size() == 1) return inputs[0]->Cardinality();
  if (inputs.size() == 2) return OrCardinality(*inputs[0], *inputs[1]);
  return kernels::OrManyCount(inputs);
}

Bitmap Bitmap::XorMany(std::span<const Bitmap* const> inputs) {
  if (inputs.empty()) return Bitmap();
  if (inputs.size() == 1) return inputs[0]->Copy();
  auto raw = RawPointers(inputs);
  return Bitmap(roaring_bitmap_xor_many(raw.size(), raw.data()));
}

Bitmap Bitmap::AndAndNot(std::span<const Bitmap* const> positive,
                         std::span<const Bitmap* const> negative) {
  return kernels::AndAndNot(positive, negative);
}
uint64_t Bitmap::AndAndNotCardinality(std::span<const Bitmap* const> positive,
                                      std::span<const Bitmap* const> negative) {
  return kernels::AndAndNotCardinality(positive, negative);
}

Bitmap Bitmap::AndOrAndNot(std::span<const Bitmap* const> positive,
                           std::span<const std::span<const Bitmap* const>> or_groups,
                           std::span<const Bitmap* const> negative) {
  return kernels::Evaluate({positive, negative, or_groups});
}
uint64_t Bitmap::AndOrAndNotCardinality(std::span<const Bitmap* const> positive,
                                        std::span<const std::span<const Bitmap* const>> or_groups,
                                        std::span<const Bitmap* const> negative) {
  return kernels::Count({positive, negative, or_groups});
}

uint64_t Bitmap::AndCardinality(const Bitmap& a, const Bitmap& b) {
  const Bitmap* pos[] = {&a, &b};
  return kernels::AndAndNotCardinality(pos, {});
}
// |a| + |b| - |a AND b|: two cached cardinalities and the AND kernel, no
// union is formed.
uint64_t Bitmap::OrCardinality(const Bitmap& a, const Bitmap& b) {
  return a.Cardinality() + b.Cardinality() - AndCardinality(a, b);
}
uint64_t Bitmap::AndNotCardinality(const Bitmap& a, const Bitmap& b) {
  const Bitmap* pos[] = {&a};
  const Bitmap* neg[] = {&b};
  return kernels::AndAndNotCardinality(pos, neg);
}
uint64_t Bitmap::XorCardinality(const Bitmap& a, const Bitmap& b) {
  return roaring_bitmap_xor_cardinality(a.r_, b.r_);
}
bool Bitmap::Intersects(const Bitmap& a, const Bitmap& b) {
  return roaring_bitmap_intersect(a.r_, b.r_);
}

uint64_t Bitmap::Cardinality() const {
  uint64_t n = card_.load(std::memory_order_relaxed);
  if (n == kUnknown) {
    n = roaring_bitmap_get_cardinality(r_);
    card_.store(n, std::memory_order_relaxed);
  }
  return n;
}
bool Bitmap::IsEmpty() const { return roaring_bitmap_is_empty(r_); }
bool Bitmap::Contains(uint32_t id) const { return roaring_bitmap_contains(r_, id); }
uint64_t Bitmap::RangeCardinality(uint64_t lo, uint64_t hi) const {
  hi = std::min<uint64_t>(hi, uint64_t{1} << 32);
  if (lo >= hi) return 0;
  return roaring_bitmap_range_cardinality(r_, lo, hi);
}
uint32_t Bitmap::Minimum() const { return roaring_bitmap_minimum(r_); }
uint32_t Bitmap::Maximum() const { return roaring_bitmap_maximum(r_); }
uint64_t Bitmap::Rank(uint32_t id) const { return roaring_bitmap_rank(r_, id); }
bool Bitmap::Select(uint32_t rank, uint32_t* id) const {
  return roaring_bitmap_select(r_, rank, id);
}
bool Bitmap::Equals(const Bitmap& o) const { return roaring_bitmap_equals(r_, o.r_); }
bool Bitmap::IsSubsetOf(const Bitmap& o) const { return roaring_bitmap_is_subset(r_, o.r_); }

std::vector<uint32_t> Bitmap::ToVector() const {
  std::vector<uint32_t> out(Cardinality());
  if (!out.empty()) roaring_bitmap_to_uint32_array(r_, out.data());
  return out;
}

void Bitmap::RangeToVector(uint64_t offset, uint64_t limit, std::vector<uint32_t>* out) const {
  out->clear();
  const uint64_t card = Cardinality();
  if (offset >= card || limit == 0) return;
  const uint64_t n = std::min(limit, card - offset);
  out->resize(n);
  roaring_bitmap_range_uint32_array(r_, offset, n, out->data());
}

void Bitmap::ForEach(const std::function<bool(uint32_t)>& fn) const {
  struct Ctx {
    const std::function<bool(uint32_t)>* fn;
  } ctx{&fn};
  roaring_iterate(
      r_, [](uint32_t v, void* p) { return (*static_cast<Ctx*>(p)->fn)(v); }, &ctx);
}

struct Bitmap::Iterator::State {
  roaring_uint32_iterator_t it;
};

Bitmap::Iterator::Iterator(const Bitmap& bitmap) : state_(new State) {
  roaring_init_iterator(bitmap.r_, &state_->it);
}
Bitmap::Iterator::~Iterator() { delete state_; }
bool Bitmap::Iterator::Valid() const { return state_->it.has_value; }
uint32_t Bitmap::Iterator::Value() const { return state_->it.current_value; }
void Bitmap::Iterator::Next() { roaring_advance_uint32_iterator(&state_->it); }
void Bitmap::Iterator::SeekGreaterOrEqual(uint32_t x) {
  roaring_move_uint32_iterator_equalorlarger(&state_->it, x);
}
size_t Bitmap::Iterator::Read(uint32_t* out, size_t max) {
  // roaring_read_uint32_iterator takes a uint32_t count.
  size_t total = 0;
  while (total < max && state_->it.has_value) {
    const uint32_t chunk = static_cast<uint32_t>(std::min<size_t>(max - total, uint32_t{1} << 30));
    total += roaring_read_uint32_iterator(&state_->it, out + total, chunk);
  }
  return total;
}

size_t Bitmap::PortableSizeInBytes() const { return kernels::PortableSize(*this); }

void Bitmap::PortableSerialize(std::string* out) const { kernels::PortableWrite(*this, out); }

absl::StatusOr<Bitmap> Bitmap::PortableDeserialize(std::span<const char> data) {
  // CRoaring 0.2.66 checks bounds only; the strict validator runs first so
  // that a crafted blob can never yield a bitmap with broken invariants.
  uint64_t cardinality = 0;
  absl::Status valid = ValidatePortableBitmap(data, &cardinality);
  if (!valid.ok()) return valid;
  roaring_bitmap_t* r = roaring_bitmap_portable_deserialize_safe(data.data(), data.size());
  if (r == nullptr) {
    return util::CorruptFile(
        "blob", std::nullopt,
        absl::StrCat("bitmap: invalid portable Roaring blob of ", data.size(), " bytes"));
  }
  Bitmap out(r);
  if (roaring_bitmap_get_cardinality(r) != cardinality) {
    return util::CorruptFile("blob", std::nullopt,
                             "bitmap: portable Roaring blob decoded to a wrong cardinality");
  }
  out.card_.store(cardinality, std::memory_order_relaxed);
  return out;
}

size_t Bitmap::SizeInBytes() const { return roaring_bitmap_size_in_bytes(r_); }

Bitmap::Stats Bitmap::GetStats() const {
  roaring_statistics_t s;
  roaring_bitmap_statistics(r_, &s);
  Stats out;
  out.array_containers = s.n_array_containers;
  out.bitset_containers = s.n_bitset_containers;
  out.run_containers = s.n_run_containers;
  return out;
}

}  // namespace tagindex
