#include "bitmap/portable_validator.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/str_cat.h"
#include "bitmap/simd.h"
#include "util/error_info.h"

namespace tagindex {
namespace {

// Cookies of the portable format (RoaringFormatSpec).
constexpr uint32_t kCookieNoRuns = 12346;
constexpr uint32_t kCookieRuns = 12347;
constexpr uint32_t kNoOffsetThreshold = 4;
constexpr uint32_t kMaxContainers = 1u << 16;
constexpr uint32_t kArrayMax = 4096;
constexpr size_t kBitsetBytes = 8192;

uint16_t Load16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Bits set in an 8 KiB bitset container at `p` (any alignment): through the
// library's one popcount dispatch (simd.h).
uint64_t PopcountBitset(const char* p) {
  alignas(64) uint64_t words[kBitsetBytes / 8];
  std::memcpy(words, p, kBitsetBytes);
  return simd::Ops().popcount(words, static_cast<int32_t>(kBitsetBytes / 8));
}
// True if the `n` little-endian uint16 at `p` are strictly increasing. SSE2
// is part of x86-64's baseline, so it needs no dispatch; this loop is most of
// the cost of opening an index.
bool StrictlyIncreasing16(const char* p, uint32_t n) {
  uint32_t j = 1;
#if defined(__SSE2__)
  const __m128i flip = _mm_set1_epi16(static_cast<short>(0x8000));
  __m128i all = _mm_set1_epi16(-1);
  for (; j + 8 <= n; j += 8) {
    const __m128i prev =
        _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + (j - 1) * 2)), flip);
    const __m128i cur =
        _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j * 2)), flip);
    all = _mm_and_si128(all, _mm_cmpgt_epi16(cur, prev));
  }
  if (_mm_movemask_epi8(all) != 0xFFFF) return false;
#endif
  for (; j < n; ++j) {
    if (Load16(p + size_t{j} * 2) <= Load16(p + size_t{j - 1} * 2)) return false;
  }
  return true;
}

absl::Status Bad(size_t offset, const std::string& what) {
  return util::CorruptFile(
      "blob", offset,
      absl::StrCat("bitmap: invalid portable Roaring blob at byte ", offset, ": ", what));
}

}  // namespace

absl::Status ValidatePortableBitmap(std::span<const char> data, uint64_t* cardinality) {
  const char* p = data.data();
  const size_t n = data.size();
  if (n < 4) return Bad(0, absl::StrCat("blob of ", n, " bytes is shorter than a cookie"));
  const uint32_t cookie = Load32(p);
  size_t pos = 4;
  uint32_t size = 0;
  bool has_runs = false;
  const char* run_flags = nullptr;
  if ((cookie & 0xFFFF) == kCookieRuns) {
    has_runs = true;
    size = (cookie >> 16) + 1;
    const size_t flag_bytes = (size + 7) / 8;
    if (n - pos < flag_bytes) return Bad(pos, "run-container flags run past the end");
    run_flags = p + pos;
    pos += flag_bytes;
  } else if (cookie == kCookieNoRuns) {
    if (n - pos < 4) return Bad(pos, "container count runs past the end");
    size = Load32(p + pos);
    pos += 4;
    if (size > kMaxContainers) {
      return Bad(4, absl::StrCat("container count ", size, " exceeds 65536"));
    }
  } else {
    return Bad(0, absl::StrCat("unknown cookie ", cookie));
  }
  const size_t descriptive = pos;
  if ((n - pos) / 4 < size) return Bad(pos, "container headers run past the end");
  pos += size_t{size} * 4;
  const char* offsets = nullptr;
  if (!has_runs || size >= kNoOffsetThreshold) {
    if ((n - pos) / 4 < size) return Bad(pos, "container offsets run past the end");
    offsets = p + pos;
    pos += size_t{size} * 4;
  }
  uint64_t total = 0;
  int32_t prev_key = -1;
  for (uint32_t i = 0; i < size; ++i) {
    const size_t header = descriptive + size_t{i} * 4;
    const uint16_t key = Load16(p + header);
    const uint32_t card = uint32_t{Load16(p + header + 2)} + 1;
    if (static_cast<int32_t>(key) <= prev_key) {
      return Bad(header, absl::StrCat("container key ", key, " is not above the previous one"));
    }
    prev_key = key;
    if (offsets != nullptr && Load32(offsets + size_t{i} * 4) != pos) {
      return Bad(static_cast<size_t>(offsets - p) + size_t{i} * 4,
                 absl::StrCat("offset of container ", i, " is ", Load32(offsets + size_t{i} * 4),
                              " but the container starts at ", pos));
    }
    const bool is_run = has_runs && ((run_flags[i / 8] >> (i % 8)) & 1);
    if (is_run) {
      if (n - pos < 2) return Bad(pos, "run count runs past the end");
      const uint32_t runs = Load16(p + pos);
      pos += 2;
      if ((n - pos) / 4 < runs) return Bad(pos, "runs run past the end");
      if (runs == 0) return Bad(pos - 2, "run container without runs");
      uint64_t count = 0;
      int64_t prev_end = -1;
      for (uint32_t r = 0; r < runs; ++r) {
        const uint32_t start = Load16(p + pos);
        const uint32_t end = start + Load16(p + pos + 2);
        if (end > 0xFFFF) return Bad(pos, "run extends past 65535");
        if (static_cast<int64_t>(start) <= prev_end) {
          return Bad(pos, "runs are unsorted or overlap");
        }
        prev_end = end;
        count += end - start + 1;
        pos += 4;
      }
      if (count != card) {
        return Bad(header, absl::StrCat("run container holds ", count,
                                        " values but its header says ", card));
      }
    } else if (card > kArrayMax) {
      if (n - pos < kBitsetBytes) return Bad(pos, "bitset container runs past the end");
      const uint64_t count = PopcountBitset(p + pos);
      if (count != card) {
        return Bad(pos, absl::StrCat("bitset container holds ", count,
                                     " values but its header says ", card));
      }
      pos += kBitsetBytes;
    } else {
      if ((n - pos) / 2 < card) return Bad(pos, "array container runs past the end");
      const char* values = p + pos;
      const uint32_t unsorted = StrictlyIncreasing16(values, card) ? 0 : 1;
      if (unsorted != 0) {
        uint32_t j = 1;
        while (Load16(values + size_t{j} * 2) > Load16(values + size_t{j - 1} * 2)) ++j;
        return Bad(pos + size_t{j} * 2, "array container values are unsorted or repeated");
      }
      pos += size_t{card} * 2;
    }
    total += card;
  }
  if (pos != n) {
    return Bad(pos, absl::StrCat("blob has ", n - pos, " trailing bytes after ", pos));
  }
  if (cardinality != nullptr) *cardinality = total;
  return absl::OkStatus();
}

}  // namespace tagindex
