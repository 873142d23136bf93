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
