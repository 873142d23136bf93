// Fuzzes log parsing, the record decoder (index/mutation_codec.cc) and
// replay: an arbitrary log after a fixed valid snapshot. The first input
// byte chooses checksum repair and salvage.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "index/mutation.h"
#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

namespace {

// A small real index: its snapshot is the base every input is replayed on.
const std::string& BaseSnapshot() {
  static const std::string* snap = [] {
    auto fs = std::make_shared<tagindex::testing::MemFileSystem>();
    tagindex::OpenOptions o;
    o.create_if_missing = true;
    o.file_system = fs;
    auto index = tagindex::Index::Open("db", o).value();
    (void)index->CreateCategory("c", {.exclusive = true});
    auto a = index->CreateTag({.name = "a", .category = "c"}).value();
    auto b = index->CreateTag({.name = "b"}).value();
    std::vector<int64_t> keys = {1, 2, 3, 4, 5};
    (void)index->TagMany(a, keys);
    (void)index->TagMany(b, keys);
    (void)index->Checkpoint();
    index.reset();
    return new std::string(fs->Get("db/snapshot-00000000000000000001.tix"));
  }();
  return *snap;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string log(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) tagindex::fuzz::FixLogChecksums(log);
  const bool salvage = data[0] & 2;
  auto parsed = tagindex::storage::ParseLog({log.data(), log.size()}, "fuzz", 1 << 20, salvage);
  if (parsed.ok()) {
    // Every record through the decoder directly, and a decoded record
    // re-encoded must decode to the same bytes again.
    for (const auto& rec : parsed->records) {
      tagindex::internal::DecodeArena arena;
      std::vector<tagindex::internal::Mutation> items;
      if (!tagindex::internal::DecodeRecord(rec.payload, &arena, &items).ok()) continue;
      const std::string again = tagindex::internal::EncodeRecord(items);
      tagindex::internal::DecodeArena arena2;
      std::vector<tagindex::internal::Mutation> items2;
      if (!tagindex::internal::DecodeRecord(again, &arena2, &items2).ok() ||
          tagindex::internal::EncodeRecord(items2) != again) {
        __builtin_trap();
      }
    }
  }
  auto fs = std::make_shared<tagindex::testing::MemFileSystem>();
  (void)fs->CreateDir("db");
  fs->Put("db/snapshot-00000000000000000001.tix", BaseSnapshot());
  fs->Put("db/wal-00000000000000000001.log", log);
  tagindex::OpenOptions o;
  o.create_if_missing = true;
  o.file_system = fs;
  o.read_only = data[0] & 4;
  o.salvage_log = salvage;
  o.max_log_record_bytes = 1 << 20;
  auto index = tagindex::Index::Open("db", o);
  if (index.ok()) (void)tagindex::testing::Dump(**index);
  return 0;
}
