// Writes seed corpora for the fuzzers into <out>/<fuzzer name>/: a real
// snapshot and log (with the fuzzers' leading option byte) and a few
// portable Roaring bitmaps of every container kind.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "bitmap/bitmap.h"
#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

namespace {
void Write(const std::filesystem::path& dir, const std::string& name, const std::string& data) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << data;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path out = argv[1];
  // One index per keyed kind: string keys and int64 keys each bring a key
  // list and a lookup table (docs/file_format.md, kinds 4 and 10); a third,
  // of int64 keys with ascending runs, brings key runs (kind 30) too (the
  // fuzzer's checksum-repair mode then reaches the run checks).
  for (int variant : {0, 1, 2}) {
    const tagindex::KeyKind kind =
        variant == 0 ? tagindex::KeyKind::kString : tagindex::KeyKind::kInt64;
    const bool strings = kind == tagindex::KeyKind::kString;
    const std::string tag = variant == 0 ? "" : (variant == 1 ? "_int64" : "_int64_runs");
    auto fs = std::make_shared<tagindex::testing::MemFileSystem>();
    tagindex::OpenOptions o;
    o.create_if_missing = true;
    o.file_system = fs;
    o.index.key_kind = kind;
    auto index = tagindex::Index::Open("db", o).value();
    (void)index->CreateCategory("购买频率", {.exclusive = true});
    auto a = index->CreateTag({.name = "高频", .category = "购买频率"}).value();
    auto b = index->CreateTag({.name = "高价值客户", .description = "VIP"}).value();
    // A second tag of the exclusive category and an attribute column, so a
    // mutated snapshot (checksums repaired) reaches the disjointness and
    // attribute checks of the loader.
    auto c = index->CreateTag({.name = "低频", .category = "购买频率"}).value();
    (void)index->CreateAttribute({.name = "消费", .type = tagindex::AttributeType::kInt64});
    std::vector<std::string_view> text = {"138", "139", "wx:1", "wx:2"};
    std::vector<int64_t> ints = {138, 139, -7, int64_t{1} << 40};
    if (strings) {
      (void)index->TagMany(a, text);
      (void)index->TagMany(b, std::span(text).subspan(1));
      (void)index->TagMany(c, std::span(text).subspan(3));  // wx:2 leaves 高频
      (void)index->SetAttribute("消费", std::string_view("138"), 1200);
    } else {
      (void)index->TagMany(a, ints);
      (void)index->TagMany(b, std::span(ints).subspan(1));
      (void)index->TagMany(c, std::span(ints).subspan(3));
      (void)index->SetAttribute("消费", int64_t{138}, 1200);
      if (variant == 2) {  // two runs of 20 (rows 4..23 and 24..43)
        std::vector<int64_t> run;
        for (int64_t k = 0; k < 20; ++k) run.push_back(1000 + k);
        for (int64_t k = 0; k < 20; ++k) run.push_back(100 + k);
        (void)index->AddCustomers(run);
        (void)index->TagMany(b, std::span(run).subspan(10, 20));
      }
    }
    (void)index->Checkpoint();
    if (strings) {
      (void)index->RemoveCustomer(std::string_view("139"));
      (void)index->Untag(a, std::string_view("wx:1"));
    } else {
      (void)index->RemoveCustomer(int64_t{139});
      (void)index->Untag(a, int64_t{-7});
    }
    (void)index->RenameTag(b, "VIP");
    index.reset();
    for (const std::string& name : fs->Names()) {
      const std::string data = fs->Get(name);
      if (name.find("/snapshot-") != std::string::npos) {
        Write(out / "snapshot_reader_fuzzer", "snapshot0" + tag, std::string(1, '\0') + data);
        Write(out / "snapshot_reader_fuzzer", "snapshot1" + tag, std::string(1, '\1') + data);
      } else if (name.find("/wal-") != std::string::npos) {
        for (char opt : {'\0', '\1', '\3', '\7'}) {
          Write(out / "wal_reader_fuzzer", std::string("log") + char('0' + opt) + tag, opt + data);
        }
      }
    }
  }
  std::vector<uint32_t> dense, sparse, runs;
  for (uint32_t i = 0; i < 6000; ++i) dense.push_back(i * 3);
  for (uint32_t i = 0; i < 50; ++i) sparse.push_back(i * 70001);
  for (uint32_t i = 1000; i < 9000; ++i) runs.push_back(i);
  int n = 0;
  for (auto* ids : {&dense, &sparse, &runs}) {
    for (bool optimize : {false, true}) {
      tagindex::Bitmap bm = tagindex::Bitmap::FromIds(*ids);
      if (optimize) bm.RunOptimize();
      std::string blob;
      bm.PortableSerialize(&blob);
      Write(out / "portable_bitmap_fuzzer", "bitmap" + std::to_string(n++), blob);
    }
  }
  // Sharded-index manifests: a real one (option byte 0: as is), and one with
  // an intent and no checksum line (option byte 1: the fuzzer appends it).
  {
    auto fs = std::make_shared<tagindex::testing::MemFileSystem>();
    tagindex::ShardedOpenOptions so;
    so.shard.create_if_missing = true;
    so.create.shards = 2;
    so.shard.file_system = fs;
    auto sharded = tagindex::ShardedIndex::Open("/idx", so).value();
    (void)sharded->CreateCategory("频率", {.exclusive = true});
    (void)sharded->CreateTag({.name = "高频", .category = "频率"});
    (void)sharded->CreateTag({.name = "VIP"});
    const std::string manifest = fs->Get("/idx/MANIFEST");
    Write(out / "manifest_fuzzer", "manifest0", std::string(1, '\0') + manifest);
    std::string body = manifest.substr(0, manifest.rfind("checksum "));
    Write(out / "manifest_fuzzer", "manifest1",
          std::string(1, '\1') + body + "intent rename_tag 2 新名\n");
  }
  std::printf("seed corpora written to %s\n", out.c_str());
  return 0;
}
