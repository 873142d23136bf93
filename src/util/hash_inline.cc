// Xxh3SeededMany, with xxHash compiled into this file (XXH_INLINE_ALL): the
// same algorithm and values as libxxhash's exported XXH3_64bits_withSeed,
// without a library call per string. Kept apart from hash.cc so that the
// checksums of long inputs still use the library's own build.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util/hash.h"

namespace tagindex::util {

void Xxh3SeededMany(const char* const* data, const size_t* size, size_t n, uint64_t seed,
                    uint64_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = XXH3_64bits_withSeed(data[i], size[i], seed);
}

}  // namespace tagindex::util
