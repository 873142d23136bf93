#include "util/hash.h"

#include <xxhash.h>

namespace tagindex::util {

uint64_t Xxh3(const void* data, size_t size) { return XXH3_64bits(data, size); }

}  // namespace tagindex::util
