// Hashing and checksums. This is the only code that includes xxHash.
#ifndef TAGINDEX_UTIL_HASH_H_
#define TAGINDEX_UTIL_HASH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tagindex::util {

// XXH3-64 of `data` (seed 0). Used for string keys and as the checksum of
// every persistent section and log record.
uint64_t Xxh3(const void* data, size_t size);
inline uint64_t Xxh3(std::string_view s) { return Xxh3(s.data(), s.size()); }

// XXH3-64 of `data` with `seed` (XXH3_64bits_withSeed).
uint64_t Xxh3Seeded(const void* data, size_t size, uint64_t seed);

// Xxh3Seeded of n byte strings: out[i] = Xxh3Seeded(data[i], size[i], seed),
// with xxHash inlined into the loop (util/hash_inline.cc), so a batch of short keys (the snapshot
// loader's) pays no library call per key.
void Xxh3SeededMany(const char* const* data, const size_t* size, size_t n, uint64_t seed,
                    uint64_t* out);

// Streaming XXH3-64 (seed 0): the digest of the concatenation of every
// Update() equals Xxh3() of the whole. Lets writers checksum a section while
// streaming it out, without assembling it in memory.
class Xxh3Stream {
 public:
  Xxh3Stream();
  ~Xxh3Stream();
  Xxh3Stream(const Xxh3Stream&) = delete;
  Xxh3Stream& operator=(const Xxh3Stream&) = delete;
  void Reset();
  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  uint64_t Digest() const;

 private:
  void* state_;  // XXH3_state_t, kept opaque so xxhash.h stays in hash.cc
};

// Transparent hasher/equality for hash maps keyed by std::string, so that
// lookups by std::string_view do not allocate.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return Xxh3(s); }
  size_t operator()(const std::string& s) const { return Xxh3(s); }
};
struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

}  // namespace tagindex::util

#endif  // TAGINDEX_UTIL_HASH_H_
