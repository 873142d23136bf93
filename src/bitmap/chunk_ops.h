// Per-container-pair kernels: one 2^16-id chunk at a time.
//
// A chunk's operand is a View of a container (sorted uint16 array, 1024-word
// bitset, or sorted non-adjacent runs), with no CRoaring type in sight: the
// adapter (croaring_adapter.h) builds Views from CRoaring's containers, the
// driver (kernels.cc) walks the chunks. The running result of a chunk lives
// in a Work: it may point at a source container (nothing copied yet) or at
// one of Work's own buffers. Runs stay runs: run x run and run AND NOT array
// give runs, run x array gives an array, run x bitset a bitset (or an array
// when the runs cover at most 4096 ids); a run container is never expanded
// into a bitset to be intersected.
//
// Thread safety: a Work belongs to one thread; Views are only read.
#ifndef TAGINDEX_BITMAP_CHUNK_OPS_H_
#define TAGINDEX_BITMAP_CHUNK_OPS_H_

#include <cstdint>
#include <span>

#include "bitmap/simd.h"

namespace tagindex::kernels {

constexpr int32_t kWords = 1 << 10;    // 64-bit words in a 2^16-bit chunk
constexpr int32_t kMaxArray = 4096;    // CRoaring's array/bitset threshold
constexpr int32_t kMaxRuns = 1 << 15;  // most runs a chunk can hold
constexpr int32_t kPad = 16;           // SIMD blocks may store up to 16 past n

// The ids [start, start + length] (CRoaring's rle16_t layout).
struct Run {
  uint16_t start;
  uint16_t length;
};

enum class Kind : uint8_t { kArray, kBitset, kRuns };

struct View {
  Kind kind = Kind::kArray;
  int32_t n = 0;     // array: elements; runs: runs; bitset: kWords
  int32_t card = 0;  // ids in the chunk (exact)
  const uint16_t* array = nullptr;
  const uint64_t* bits = nullptr;
  const Run* runs = nullptr;
};

// The running result of one chunk plus scratch space (~200 KiB: keep it off
// the stack; the driver keeps one per thread).
struct Work {
  Kind kind = Kind::kArray;
  const uint16_t* arr = nullptr;   // kArray
  const uint64_t* bits = nullptr;  // kBitset
  const Run* runs = nullptr;       // kRuns
  int32_t n = 0;                   // kArray: elements, kRuns: runs
  int32_t card = 0;                // kArray, kRuns: exact; kBitset: -1 (unknown)
  int abuf_next = 0, rbuf_next = 0;
  alignas(64) uint64_t words[kWords];
  // All zero between uses (the array band and OR groups set bits in it and
  // clear exactly what they set).
  // Mutable: counting (a const operation on the Work) borrows it.
  alignas(64) mutable uint64_t scratch[kWords];
  uint16_t abuf[2][kMaxArray + kPad];
  uint16_t common[kMaxArray + kPad];
  Run rbuf[2][kMaxRuns + 1];

  Work();
  uint16_t* NextArray() { return abuf[abuf_next ^= 1]; }
  Run* NextRuns() { return rbuf[rbuf_next ^= 1]; }
  void SetArray(const uint16_t* a, int32_t count) {
    kind = Kind::kArray;
    arr = a;
    n = card = count;
  }
  void SetBits(const uint64_t* b) {
    kind = Kind::kBitset;
    bits = b;
    card = -1;
  }
  void SetRuns(const Run* r, int32_t count, int32_t ids) {
    kind = Kind::kRuns;
    runs = r;
    n = count;
    card = ids;
  }
  bool Empty() const { return kind != Kind::kBitset && card == 0; }
};

// w := v.
void Init(Work& w, const View& v);
// w := w AND v / w AND NOT v.
void And(Work& w, const View& v, const simd::OpTable& ops);
void AndNot(Work& w, const View& v, const simd::OpTable& ops);
// w := w AND (arms[0] OR arms[1] OR ...); `arms` may be empty (then empty).
void AndOr(Work& w, std::span<const View> arms, const simd::OpTable& ops);
// |w|, |w AND v|, |w AND (OR arms)|, without writing anything.
uint64_t Count(const Work& w, const simd::OpTable& ops);
uint64_t CountAnd(const Work& w, const View& v, const simd::OpTable& ops);
uint64_t CountAndOr(Work& w, std::span<const View> arms, const simd::OpTable& ops);

// Intersection of two sorted arrays (count only when out is null), choosing
// per pair between galloping, the SIMD merge and a bitset in `scratch`
// (which must be all zero, and is left so), by the sizes.
int32_t IntersectArrays(const uint16_t* a, int32_t na, const uint16_t* b, int32_t nb, uint16_t* out,
                        uint64_t* scratch, const simd::OpTable& ops);

// Sets / clears / counts the bits [lo, hi] (inclusive, both < 2^16).
// (Inline: wide ORs of run containers call it once per run.)
inline void SetBitRange(uint64_t* w, uint32_t lo, uint32_t hi) {
  const uint32_t first = lo >> 6, last = hi >> 6;
  const uint64_t lo_mask = ~uint64_t{0} << (lo & 63);
  const uint64_t hi_mask = ~uint64_t{0} >> (63 - (hi & 63));
  if (first == last) {
    w[first] |= lo_mask & hi_mask;
    return;
  }
  w[first] |= lo_mask;
  for (uint32_t k = first + 1; k < last; ++k) w[k] = ~uint64_t{0};
  w[last] |= hi_mask;
}
void ClearBitRange(uint64_t* w, uint32_t lo, uint32_t hi);
uint64_t CountBitRange(const uint64_t* w, uint32_t lo, uint32_t hi, const simd::OpTable& ops);

// Number of runs of set bits in a 1024-word bitset / a sorted array.
int32_t RunsInBitset(const uint64_t* w, const simd::OpTable& ops);
int32_t RunsInArray(const uint16_t* a, int32_t n);

}  // namespace tagindex::kernels

#endif  // TAGINDEX_BITMAP_CHUNK_OPS_H_
