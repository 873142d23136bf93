// Fuzzes Index::Open on an arbitrary snapshot file (with an empty log). The
// first input byte chooses whether checksums are repaired first, so both the
// checksum layer and the section decoders behind it are exercised.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz/fuzz_util.h"
#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string snapshot(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) tagindex::fuzz::FixSnapshotChecksums(snapshot);
  // The file is named after the generation its header claims (seeds come
  // from indexes that checkpointed), so inputs get past the name check.
  uint64_t gen = snapshot.size() >= 24 ? tagindex::storage::LoadU64(snapshot.data() + 16) : 0;
  char digits[21];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(gen));
  auto fs = std::make_shared<tagindex::testing::MemFileSystem>();
  (void)fs->CreateDir("db");
  fs->Put(std::string("db/snapshot-") + digits + ".tix", snapshot);
  fs->Put(std::string("db/wal-") + digits + ".log", tagindex::storage::EncodeWalHeader(gen));
  tagindex::OpenOptions o;
  o.create_if_missing = true;
  o.file_system = fs;
  o.read_only = true;
  auto index = tagindex::Index::Open("db", o);
  if (index.ok()) {
    // A loaded index must be internally consistent enough to answer.
    (void)tagindex::testing::Dump(**index);
  }
  return 0;
}
