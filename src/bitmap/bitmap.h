// Bitmap: the project's one wrapper of CRoaring. Nothing outside src/bitmap/
// includes a CRoaring header.
//
// A Bitmap is a move-only value type owning a roaring_bitmap_t. Copies are
// explicit (Copy()) so that an accidental O(n) copy of a stored tag cannot
// hide in an innocent-looking assignment. All calls go through CRoaring's C
// API, which reports failure by return value rather than by exception; an
// allocation failure inside CRoaring is turned into a ResourceExhausted status
// where the API returns one, and into std::bad_alloc (which the Index catches
// at its boundary) where it cannot.
//
// Thread safety: const methods may be called concurrently; a non-const call
// requires exclusive access.
//
// Container sharing (copy-on-write between index versions): ShareCopy()
// returns a bitmap whose containers are the same memory as this one's,
// counted in a ContainerShares table. Either bitmap may then be changed: a
// mutation first gives the bitmap its own copy of each shared container it
// touches (one 2^16-id chunk: at most 8 KB), so a Tag into a 10 M-row tag
// copies one container and the container directory, not the tag. The table
// is not thread-safe: every ShareCopy, every mutation and the destruction
// of a bitmap that has ever been shared must be serialised by the owner of
// the table (the index's writer lock; index/version.h). Const reads of a
// sharing bitmap need nothing and may run concurrently with the writer
// changing another bitmap that shares its containers. Copy() is always a
// deep copy that shares nothing.
#ifndef TAGINDEX_BITMAP_BITMAP_H_
#define TAGINDEX_BITMAP_BITMAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct roaring_bitmap_s;

namespace tagindex {

// Reference counts of containers shared between bitmaps (see ShareCopy).
// A container absent from the table belongs to exactly one bitmap.
class ContainerShares {
 public:
  ContainerShares();
  ~ContainerShares();
  ContainerShares(const ContainerShares&) = delete;
  ContainerShares& operator=(const ContainerShares&) = delete;
  // Number of containers currently shared by two or more bitmaps.
  size_t shared_containers() const;
  // Bitset containers kept for reuse (at most 8): a bitset whose last holder
  // is freed is kept here and given to the next copy of a shared bitset
  // (a copy-on-write of one 2^16-id chunk), instead of a free and a malloc
  // of 8 KB per commit. Only unreferenced containers are kept.
  size_t spare_containers() const;

 private:
  friend class Bitmap;
  struct Table;
  std::unique_ptr<Table> table_;
};

class Bitmap {
 public:
  Bitmap();  // empty
  ~Bitmap();
  Bitmap(Bitmap&& other) noexcept;
  Bitmap& operator=(Bitmap&& other) noexcept;
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;

  // Bitmap holding exactly `ids` (any order, duplicates allowed). Large
  // unsorted batches that are dense enough (on average at least 256 ids per
  // 2^16-id chunk they span) are scattered into per-chunk bitsets instead of
  // being sorted; sorted input is appended per container.
  static Bitmap FromIds(std::span<const uint32_t> ids);
  // Bitmap of the half-open range [lo, hi).
  static Bitmap FromRange(uint64_t lo, uint64_t hi);

  Bitmap Copy() const;
  // A copy sharing every container with this bitmap (both are counted in
  // `shares` from now on; see the class comment for the rules). O(number of
  // containers), no container is copied. Without the known CRoaring layout
  // (kernels_fallback) it is a deep Copy().
  Bitmap ShareCopy(ContainerShares* shares) const;

  // --- mutation -----------------------------------------------------------
  void Add(uint32_t id);
  // Returns true if `id` was absent.
  bool AddChecked(uint32_t id);
  // Adds many ids; fastest when sorted. A batch of kBulkBatch ids or more is
  // merged as one bitmap (container by container) and the chunks it touched
  // are run-optimised afterwards, so bulk-loaded cohort tags are run
  // containers; smaller batches are added id by id (their chunks are
  // run-optimised at the next bulk batch or serialisation).
  void AddMany(std::span<const uint32_t> ids);
  static constexpr size_t kBulkBatch = 64;
  void AddRange(uint64_t lo, uint64_t hi);  // [lo, hi)
  void Remove(uint32_t id);
  bool RemoveChecked(uint32_t id);
  // Removes many ids; batches of kBulkBatch or more as one bitmap, like
  // AddMany.
  void RemoveMany(std::span<const uint32_t> ids);
  void RemoveRange(uint64_t lo, uint64_t hi);  // [lo, hi)
  // this |= batch / this &= ~batch, container by container, then the chunks
  // the batch dominates are run-optimised (the bulk path of AddMany).
  void AddAll(const Bitmap& batch);
  void RemoveAll(const Bitmap& batch);
  void Clear();
  // Converts containers to run containers where smaller; returns true if any
  // changed. (Serialisation always writes the smallest form anyway.)
  bool RunOptimize();
  // The same for the chunks holding ids in [lo, hi].
  void RunOptimizeRange(uint32_t lo, uint32_t hi);
  void ShrinkToFit();

  // --- in-place algebra ----------------------------------------------------
  void AndInPlace(const Bitmap& other);
  void OrInPlace(const Bitmap& other);
  void AndNotInPlace(const Bitmap& other);
  void XorInPlace(const Bitmap& other);

  // --- algebra producing a new bitmap ---------------------------------------
  static Bitmap And(const Bitmap& a, const Bitmap& b);
  static Bitmap Or(const Bitmap& a, const Bitmap& b);
  static Bitmap AndNot(const Bitmap& a, const Bitmap& b);
  static Bitmap Xor(const Bitmap& a, const Bitmap& b);
  // Union of all inputs in one pass, chunk by chunk (our kernel, not
  // CRoaring 0.2.66's or_many). Null pointers are not allowed.
  static Bitmap OrMany(std::span<const Bitmap* const> inputs);
  // |OrMany(inputs)| without building the union (kernels::OrManyCount;
  // two inputs: OrCardinality).
  static uint64_t OrManyCardinality(std::span<const Bitmap* const> inputs);
  static Bitmap XorMany(std::span<const Bitmap* const> inputs);

  // --- fused AND / AND NOT over many operands ----------------------------------
  // (p0 AND p1 AND ...) AND NOT (n0 OR n1 OR ...), in one pass over the
  // chunks, without intermediate bitmaps. An empty `positive` gives an empty
  // result. The query executor's workhorse (see kernels.h).
  static Bitmap AndAndNot(std::span<const Bitmap* const> positive,
                          std::span<const Bitmap* const> negative);
  static uint64_t AndAndNotCardinality(std::span<const Bitmap* const> positive,
                                       std::span<const Bitmap* const> negative);

  // (p0 AND ... AND (g0[0] OR g0[1] OR ...) AND ...) AND NOT (n0 OR ...):
  // each OR group is evaluated one chunk at a time over the chunks the
  // positives share, never materialised. `positive` must not be empty
  // (else the result is empty).
  static Bitmap AndOrAndNot(std::span<const Bitmap* const> positive,
                            std::span<const std::span<const Bitmap* const>> or_groups,
                            std::span<const Bitmap* const> negative);
  static uint64_t AndOrAndNotCardinality(std::span<const Bitmap* const> positive,
                                         std::span<const std::span<const Bitmap* const>> or_groups,
                                         std::span<const Bitmap* const> negative);

  // --- counting without materialising ---------------------------------------
  static uint64_t AndCardinality(const Bitmap& a, const Bitmap& b);
  static uint64_t OrCardinality(const Bitmap& a, const Bitmap& b);
  static uint64_t AndNotCardinality(const Bitmap& a, const Bitmap& b);
  static uint64_t XorCardinality(const Bitmap& a, const Bitmap& b);
  static bool Intersects(const Bitmap& a, const Bitmap& b);

  // --- reads --------------------------------------------------------------
  // Cached: computed once per version of the bitmap (every mutation resets
  // the cache), so planning a query costs a load per operand.
  uint64_t Cardinality() const;
  bool IsEmpty() const;
  bool Contains(uint32_t id) const;
  // Number of ids in [lo, hi).
  uint64_t RangeCardinality(uint64_t lo, uint64_t hi) const;
  // Smallest / largest id; undefined (returns UINT32_MAX / 0) when empty.
  uint32_t Minimum() const;
  uint32_t Maximum() const;
  // Number of ids <= id.
  uint64_t Rank(uint32_t id) const;
  // The id with the given 0-based rank, if rank < Cardinality().
  bool Select(uint32_t rank, uint32_t* id) const;
  bool Equals(const Bitmap& other) const;
  bool IsSubsetOf(const Bitmap& other) const;

  std::vector<uint32_t> ToVector() const;
  // Writes up to `limit` ids starting at rank `offset` into `out` (cleared
  // first). Cost is proportional to offset's container, not offset itself.
  void RangeToVector(uint64_t offset, uint64_t limit, std::vector<uint32_t>* out) const;
  // Calls `fn(id)` in ascending order until it returns false.
  void ForEach(const std::function<bool(uint32_t)>& fn) const;

  // Forward iterator in ascending order, with a seek to the first id >= x.
  class Iterator {
   public:
    explicit Iterator(const Bitmap& bitmap);
    ~Iterator();
    Iterator(const Iterator&) = delete;
    Iterator& operator=(const Iterator&) = delete;
    bool Valid() const;
    uint32_t Value() const;
    void Next();
    // Moves to the first id >= x (possibly backwards).
    void SeekGreaterOrEqual(uint32_t x);
    // Reads up to `max` ids into `out`, advancing; returns how many were read.
    size_t Read(uint32_t* out, size_t max);

   private:
    struct State;
    State* state_;
  };

  // --- serialisation ---------------------------------------------------------
  // Size of the standard portable Roaring format of this bitmap, with every
  // container in its smallest form (run containers where smaller, whatever
  // the in-memory form).
  size_t PortableSizeInBytes() const;
  // Appends that portable serialisation to `out` (the bitmap is unchanged).
  void PortableSerialize(std::string* out) const;
  // Parses a portable blob that must occupy exactly `data` (no trailing
  // bytes). Never reads outside `data`; invalid input gives DataLoss.
  static absl::StatusOr<Bitmap> PortableDeserialize(std::span<const char> data);

  // Bytes of heap memory in use (approximate, CRoaring's own estimate).
  size_t SizeInBytes() const;

  // Container mix, for Explain and benchmarks.
  struct Stats {
    uint32_t array_containers = 0;
    uint32_t bitset_containers = 0;
    uint32_t run_containers = 0;
  };
  Stats GetStats() const;

  // Escape hatch for code inside src/bitmap/ (kernels) only. The non-const
  // one forgets the cached cardinality.
  const roaring_bitmap_s* raw() const { return r_; }
  // Gives the bitmap its own copy of every shared container first.
  roaring_bitmap_s* raw() {
    Changed();
    UnshareAll();
    return r_;
  }
  // For kernels that built this bitmap and know its cardinality (so that
  // Cardinality() need not walk the containers). `n` must be exact.
  void SetKnownCardinality(uint64_t n) { card_.store(n, std::memory_order_relaxed); }
  // For kernels that change only the containers whose keys the caller has
  // already unshared (UnshareKeysOf / UnshareRange).
  roaring_bitmap_s* raw_unshared_by_caller() {
    Changed();
    return r_;
  }
  // Gives the bitmap its own copy of the shared containers holding any id of
  // `other` / of [lo, hi) / of `ids`. No-ops for a bitmap never shared.
  void UnshareKeysOf(const Bitmap& other);
  void UnshareRange(uint64_t lo, uint64_t hi);
  void UnshareIds(std::span<const uint32_t> ids);
  void UnshareAll();

 private:
  static constexpr uint64_t kUnknown = ~uint64_t{0};
  explicit Bitmap(roaring_bitmap_s* r);
  void Changed() { card_.store(kUnknown, std::memory_order_relaxed); }
  void UnshareKey(uint16_t key);
  // Frees r_ (containers shared with other bitmaps only lose a count).
  void Free();
  roaring_bitmap_s* r_;
  // Set once this bitmap has shared containers (by ShareCopy, on both
  // sides). Read and written only under the table owner's serialisation
  // (mutable: ShareCopy of a const bitmap marks the source too).
  mutable ContainerShares* shares_ = nullptr;
  mutable std::atomic<uint64_t> card_{kUnknown};
};

}  // namespace tagindex

#endif  // TAGINDEX_BITMAP_BITMAP_H_
