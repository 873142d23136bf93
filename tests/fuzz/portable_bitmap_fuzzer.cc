// Fuzzes the portable Roaring validator and CRoaring's deserialiser behind
// it: an accepted blob must decode to a consistent bitmap that serialises
// back to the same bytes' set.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "bitmap/bitmap.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto b = tagindex::Bitmap::PortableDeserialize({reinterpret_cast<const char*>(data), size});
  if (!b.ok()) return 0;
  std::vector<uint32_t> ids = b->ToVector();
  if (ids.size() != b->Cardinality()) std::abort();
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i - 1] >= ids[i]) std::abort();
  }
  std::string again;
  b->PortableSerialize(&again);
  auto b2 = tagindex::Bitmap::PortableDeserialize({again.data(), again.size()});
  if (!b2.ok() || !b2->Equals(*b)) std::abort();
  return 0;
}
