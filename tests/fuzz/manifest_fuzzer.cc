// Fuzzes the sharded index's MANIFEST parser (src/shard/manifest.cc) and the
// reconciliation on open (catalog comparison, intent repair): an arbitrary
// MANIFEST beside two real shards. The first input byte chooses whether a
// valid checksum line is appended (so the fuzzer reaches the line parser and
// the repair) or the bytes are used as they are. Open must return a status,
// never crash.
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "storage/storage_test_util.h"
#include "tagindex/sharded_index.h"
#include "util/hash.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto fs = std::make_shared<tagindex::testing::MemFileSystem>();
  tagindex::ShardedOpenOptions o;
  o.shard.create_if_missing = true;
  o.create.shards = 2;
  o.threads = 1;
  o.shard.file_system = fs;
  {
    auto s = tagindex::ShardedIndex::Open("/idx", o);
    if (!s.ok()) return 0;
    (void)(*s)->CreateCategory("频率", {.exclusive = true});
    (void)(*s)->CreateTag({.name = "高频", .category = "频率"});
    (void)(*s)->CreateTag({.name = "VIP"});
  }
  std::string manifest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    if (!manifest.empty() && manifest.back() != '\n') manifest += '\n';
    char sum[40];
    std::snprintf(sum, sizeof(sum), "checksum %016" PRIx64 "\n", tagindex::util::Xxh3(manifest));
    manifest += sum;
  }
  fs->Put("/idx/MANIFEST", manifest);
  o.shard.read_only = (data[0] & 2) != 0;
  auto reopened = tagindex::ShardedIndex::Open("/idx", o);
  if (reopened.ok()) (void)(*reopened)->Count("VIP OR 高频");
  return 0;
}
