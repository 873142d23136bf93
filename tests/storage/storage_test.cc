// Persistence basics, locking, recovery rules, interop with other Roaring
// implementations and the portable-format validator.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "bitmap/bitmap.h"
#include "bitmap/portable_validator.h"
#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"
#include "util/hash.h"

using tagindex::Index;
using tagindex::OpenOptions;
using tagindex::RowId;
using tagindex::TagId;
using tagindex::testing::Dump;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;
using Code = absl::StatusCode;

namespace {

// The shared test data (../shared/testdata beside the repository; CI has it).
// TAGINDEX_TESTDATA in the environment overrides the configured directory.
std::string TestdataDir() {
  const char* env = std::getenv("TAGINDEX_TESTDATA");
  return env != nullptr && *env != '\0' ? env : TAGINDEX_TESTDATA_DIR;
}

// False, with a message that ctest reports as a skip (SKIP_REGULAR_EXPRESSION
// in tests/CMakeLists.txt), when the shared test data is absent.
bool HaveTestdata() {
  if (std::filesystem::is_directory(TestdataDir())) return true;
  WARN("TAGINDEX_TEST_SKIPPED: the shared test data is not at "
       << TestdataDir() << " (clone ../shared beside the repository or set TAGINDEX_TESTDATA)");
  return false;
}

std::string ReadTestdata(const std::string& rel) {
  std::ifstream in(TestdataDir() + "/" + rel, std::ios::binary);
  INFO("test data file " << TestdataDir() << "/" << rel);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::span<const char> Span(const std::string& s) { return {s.data(), s.size()}; }

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/tagindex-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string path;
};

std::string WalOf(MemFileSystem& fs) {
  for (const std::string& n : fs.Names()) {
    if (n.find("/wal-") != std::string::npos) return n;
  }
  return "";
}

}  // namespace

TEST_CASE("storage: a reopened index holds every change before and after a checkpoint",
          "[storage]") {
  TempDir dir;
  std::string expected;
  {
    auto index = Index::Open(dir.path, {.create_if_missing = true}).value();
    REQUIRE(index->persistent());
    REQUIRE(index->CreateCategory("购买频率", {.exclusive = true}).ok());
    TagId vip = index->CreateTag({.name = "高价值客户", .description = "VIP"}).value();
    TagId high = index->CreateTag({.name = "高频", .category = "购买频率"}).value();
    std::vector<int64_t> keys = {1001, 1002, 1003};
    REQUIRE(index->TagMany(vip, keys).ok());
    REQUIRE(index->Tag(high, int64_t{1001}).ok());
    REQUIRE(index->Checkpoint().ok());
    REQUIRE(index->RemoveCustomer(int64_t{1002}).ok());
    REQUIRE(index->RenameTag(vip, "VIP").ok());
    TagId gone = index->CreateTag({.name = "临时"}).value();
    REQUIRE(index->DeleteTag(gone).ok());
    expected = Dump(*index);
  }
  auto index = Index::Open(dir.path, {.create_if_missing = true}).value();
  CHECK(Dump(*index) == expected);
  CHECK(index->LastRecovery().log_records_replayed == 4);
  CHECK(index->LastRecovery().generation == 1);
  // Tag ids are never reused, even after a deleted last tag and a reopen.
  CHECK(index->CreateTag({.name = "新"}).value().value == 3);
  REQUIRE(index->Checkpoint().ok());
  index.reset();
  index = Index::Open(dir.path, {.create_if_missing = true}).value();
  CHECK(index->LastRecovery().log_records_replayed == 0);
  CHECK(index->FindTag("新").ok());
  // Exactly one snapshot and one log are left.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path)) {
    (void)e;
    ++files;
  }
  CHECK(files == 3);  // snapshot, log, LOCK
}

// Keys live in two layers (the mapped snapshot, memory for rows added
// since); checkpoints rebase and reopens map. Every key must resolve like a
// model says, on the live index and after reopening, for both key kinds.
TEST_CASE("storage: keys resolve across checkpoints, removals, re-adds and reopens", "[storage]") {
  for (tagindex::KeyKind kind : {tagindex::KeyKind::kInt64, tagindex::KeyKind::kString}) {
    const uint64_t seed = 77;
    INFO("seed " << seed << " kind " << static_cast<int>(kind));
    std::mt19937_64 rng(seed);
    auto fs = std::make_shared<MemFileSystem>();
    OpenOptions o = MemOptions(fs);
    o.index.key_kind = kind;
    auto index = Index::Open("db", o).value();
    std::map<uint64_t, RowId> live;  // key number -> row
    auto text = [](uint64_t n) { return "客户-" + std::to_string(n); };
    auto find = [&](uint64_t n) {
      return kind == tagindex::KeyKind::kInt64
                 ? index->FindCustomer(static_cast<int64_t>(n * 1000003))
                 : index->FindCustomer(std::string_view(text(n)));
    };
    auto verify = [&] {
      for (uint64_t n = 0; n < 400; ++n) {
        absl::StatusOr<RowId> got = find(n);
        auto it = live.find(n);
        INFO("key " << n);
        if (it == live.end()) {
          REQUIRE(got.status().code() == Code::kNotFound);
        } else {
          REQUIRE(got.ok());
          REQUIRE(*got == it->second);
        }
      }
    };
    for (int round = 0; round < 12; ++round) {
      // A batch of adds (some already present), then removals.
      std::vector<uint64_t> batch;
      for (int i = 0; i < 60; ++i) batch.push_back(rng() % 400);
      std::vector<RowId> rows;
      if (kind == tagindex::KeyKind::kInt64) {
        std::vector<int64_t> keys;
        for (uint64_t n : batch) keys.push_back(static_cast<int64_t>(n * 1000003));
        REQUIRE(index->AddCustomers(keys, &rows).ok());
      } else {
        std::vector<std::string> owned;
        for (uint64_t n : batch) owned.push_back(text(n));
        std::vector<std::string_view> keys(owned.begin(), owned.end());
        REQUIRE(index->AddCustomers(std::span<const std::string_view>(keys), &rows).ok());
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        auto [it, fresh] = live.emplace(batch[i], rows[i]);
        REQUIRE(it->second == rows[i]);  // present keys keep their row
      }
      for (int i = 0; i < 15; ++i) {
        const uint64_t n = rng() % 400;
        const absl::Status st = kind == tagindex::KeyKind::kInt64
                                    ? index->RemoveCustomer(static_cast<int64_t>(n * 1000003))
                                    : index->RemoveCustomer(std::string_view(text(n)));
        REQUIRE(st.ok() == (live.erase(n) == 1));
      }
      verify();
      if (round % 3 == 1) REQUIRE(index->Checkpoint().ok());
      if (round % 3 == 2) {
        const std::string before = Dump(*index);
        index.reset();
        index = Index::Open("db", o).value();
        REQUIRE(Dump(*index) == before);
      }
      verify();
    }
  }
}

TEST_CASE("storage: string and identity keyed indexes round-trip", "[storage]") {
  for (tagindex::KeyKind kind : {tagindex::KeyKind::kString, tagindex::KeyKind::kIdentity}) {
    auto fs = std::make_shared<MemFileSystem>();
    OpenOptions o = MemOptions(fs);
    o.index.key_kind = kind;
    std::string expected;
    {
      auto index = Index::Open("db", o).value();
      TagId t = index->CreateTag({.name = "a"}).value();
      if (kind == tagindex::KeyKind::kString) {
        std::vector<std::string_view> keys = {"13800000000", "wx:union-1", "客户"};
        REQUIRE(index->TagMany(t, keys).ok());
        REQUIRE(index->Checkpoint().ok());
        REQUIRE(index->RemoveCustomer(std::string_view("wx:union-1")).ok());
        REQUIRE(index->AddCustomer(std::string_view("wx:union-1")).ok());
      } else {
        std::vector<int64_t> keys = {5, 70000, 3000000};
        REQUIRE(index->TagMany(t, keys).ok());
        REQUIRE(index->Checkpoint().ok());
        REQUIRE(index->RemoveCustomer(int64_t{70000}).ok());
      }
      expected = Dump(*index);
    }
    o.index.key_kind = tagindex::KeyKind::kInt64;  // stored options win
    auto index = Index::Open("db", o).value();
    CHECK(index->options().key_kind == kind);
    CHECK(Dump(*index) == expected);
  }
}

TEST_CASE("storage: a second writer gets FailedPrecondition but readers may share", "[storage]") {
  TempDir dir;
  auto first = Index::Open(dir.path, {.create_if_missing = true}).value();
  REQUIRE(first->CreateTag({.name = "x"}).ok());
  auto second = Index::Open(dir.path, {.create_if_missing = true});
  REQUIRE(second.status().code() == Code::kFailedPrecondition);
  CHECK(std::string(second.status().message()).find("LOCK") != std::string::npos);

  // Another process is refused too (flock is per open file description).
  pid_t pid = ::fork();
  if (pid == 0) {
    auto other = Index::Open(dir.path, {.create_if_missing = true});
    ::_exit(other.status().code() == Code::kFailedPrecondition ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  OpenOptions ro;
  ro.create_if_missing = true;
  ro.read_only = true;
  auto reader = Index::Open(dir.path, ro).value();
  CHECK(reader->FindTag("x").ok());
  CHECK(reader->CreateTag({.name = "y"}).status().code() == Code::kFailedPrecondition);
  CHECK(reader->Checkpoint().code() == Code::kFailedPrecondition);
  first.reset();
  CHECK(Index::Open(dir.path, {.create_if_missing = true}).ok());
}

TEST_CASE("storage: the log is read as a copy, so a writer cutting it back cannot fault a reader",
          "[storage]") {
  TempDir dir;
  const std::string path = dir.path + "/wal-test.log";
  std::string content(3 << 20, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 131 % 251);
  {
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
  }
  auto fs = tagindex::FileSystem::Default();
  auto region = fs->ReadFileCopy(path).value();
  // What a writer does after a failed append; touching a mapping of the
  // cut pages now would raise SIGBUS.
  REQUIRE(::truncate(path.c_str(), 100) == 0);
  const std::span<const char> bytes = region->data();
  REQUIRE(bytes.size() == content.size());
  CHECK(std::string(bytes.data(), bytes.size()) == content);
  CHECK(fs->ReadFileCopy(path).value()->data().size() == 100);
  CHECK(fs->ReadFileCopy(dir.path + "/absent").status().code() == Code::kNotFound);
}

TEST_CASE("storage: Open without create on an empty place is NotFound", "[storage]") {
  TempDir dir;
  OpenOptions o;
  o.create_if_missing = false;
  CHECK(Index::Open(dir.path + "/none", o).status().code() == Code::kNotFound);
  CHECK(Index::Open(dir.path, o).status().code() == Code::kNotFound);
  CHECK(Index::Create().value()->Checkpoint().code() == Code::kFailedPrecondition);
}

TEST_CASE("storage: a torn final record is dropped and reported", "[storage]") {
  auto fs = std::make_shared<MemFileSystem>();
  std::string before;
  {
    auto index = Index::Open("db", MemOptions(fs)).value();
    TagId t = index->CreateTag({.name = "t"}).value();
    REQUIRE(index->Tag(t, int64_t{1}).ok());
    before = Dump(*index);
    REQUIRE(index->Tag(t, int64_t{2}).ok());
  }
  const std::string wal = WalOf(*fs);
  std::string bytes = fs->Get(wal);
  fs->Put(wal, bytes.substr(0, bytes.size() - 3));
  {
    auto index = Index::Open("db", MemOptions(fs)).value();
    CHECK(Dump(*index) == before);
    CHECK(index->LastRecovery().torn_tail_truncated);
    CHECK(index->LastRecovery().log_bytes_dropped > 0);
    // The log was cut back, so new records follow the good ones.
    REQUIRE(index->Tag(index->FindTag("t").value(), int64_t{3}).ok());
  }
  auto index = Index::Open("db", MemOptions(fs)).value();
  CHECK_FALSE(index->LastRecovery().torn_tail_truncated);
  CHECK(index->RowsWithTag(index->FindTag("t").value()).value().size() == 2);
}

TEST_CASE("storage: corruption before the end of the log is DataLoss unless salvaged",
          "[storage]") {
  auto fs = std::make_shared<MemFileSystem>();
  std::string after_first;
  {
    auto index = Index::Open("db", MemOptions(fs)).value();
    TagId t = index->CreateTag({.name = "t"}).value();
    after_first = Dump(*index);
    REQUIRE(index->Tag(t, int64_t{1}).ok());
    REQUIRE(index->Tag(t, int64_t{2}).ok());
  }
  const std::string wal = WalOf(*fs);
  std::string bytes = fs->Get(wal);
  // Damage the second record's payload (the header is 32 bytes, the first
  // record starts right after).
  const size_t first_len = static_cast<uint8_t>(bytes[32]) + 16;
  bytes[32 + first_len + 20] ^= 0x10;
  fs->Put(wal, bytes);
  auto failed = Index::Open("db", MemOptions(fs));
  REQUIRE(failed.status().code() == Code::kDataLoss);
  const std::string msg(failed.status().message());
  CHECK(msg.find(wal) != std::string::npos);
  CHECK(msg.find(absl::StrCat("at byte ", 32 + first_len)) != std::string::npos);

  OpenOptions o = MemOptions(fs);
  o.salvage_log = true;
  auto index = Index::Open("db", o).value();
  CHECK(Dump(*index) == after_first);
  CHECK_FALSE(index->LastRecovery().salvage_message.empty());
}

TEST_CASE("storage: unknown required sections and newer versions are refused", "[storage]") {
  auto fs = std::make_shared<MemFileSystem>();
  { auto index = Index::Open("db", MemOptions(fs)).value(); }
  std::string snap;
  for (const auto& n : fs->Names()) {
    if (n.find("/snapshot-") != std::string::npos) snap = n;
  }
  const std::string good = fs->Get(snap);
  std::string bytes = good;
  bytes[8] = 3;  // version 3, header checksum now wrong -> DataLoss
  fs->Put(snap, bytes);
  CHECK(Index::Open("db", MemOptions(fs)).status().code() == Code::kDataLoss);
  // With the checksum fixed: a newer version asks for an upgrade, the
  // pre-release version 1 for a rebuild; both FailedPrecondition.
  for (char version : {3, 1}) {
    bytes = good;
    bytes[8] = version;
    const uint64_t sum = tagindex::util::Xxh3(bytes.data(), 24);
    std::memcpy(bytes.data() + 24, &sum, 8);
    fs->Put(snap, bytes);
    const absl::Status st = Index::Open("db", MemOptions(fs)).status();
    CHECK(st.code() == Code::kFailedPrecondition);
    CHECK_THAT(std::string(st.message()),
               Catch::Contains(version == 3 ? "upgrade tagindex" : "rebuild the index"));
  }
  fs->Put(snap, good);
  CHECK(Index::Open("db", MemOptions(fs)).ok());
}

// ---- interop -----------------------------------------------------------------------

TEST_CASE("storage: Java-written portable Roaring files import with their exact contents",
          "[storage][interop]") {
  if (!HaveTestdata()) return;
  for (const char* name :
       {"roaring-format-spec/bitmapwithoutruns.bin", "roaring-format-spec/bitmapwithruns.bin"}) {
    INFO(name);
    const std::string blob = ReadTestdata(name);
    std::vector<RowId> rows = Index::ParsePortableRows(Span(blob)).value();
    std::vector<RowId> expected;
    for (uint32_t k = 0; k < 100; ++k) expected.push_back(k * 1000);
    for (uint32_t k = 100000; k < 200000; ++k) expected.push_back(3 * k);
    for (uint32_t v = 700000; v < 800000; ++v) expected.push_back(v);
    REQUIRE(rows.size() == 200100);
    CHECK(rows == expected);

    tagindex::IndexOptions io;
    io.key_kind = tagindex::KeyKind::kIdentity;
    auto index = Index::Create(io).value();
    std::vector<int64_t> keys(800000);
    for (int64_t i = 0; i < 800000; ++i) keys[i] = i;
    REQUIRE(index->AddCustomers(keys).ok());
    TagId t = index->ImportTag({.name = "java"}, Span(blob)).value();
    CHECK(index->TagCardinality(t).value() == 200100);
    // Our export is the standard format: it parses back to the same set.
    std::string out = index->ExportTag(t).value();
    CHECK(Index::ParsePortableRows(Span(out)).value() == expected);
  }
  // Run-optimised export of the same set is byte-identical to Java's file.
  const std::string with_runs = ReadTestdata("roaring-format-spec/bitmapwithruns.bin");
  std::vector<RowId> rows = Index::ParsePortableRows(Span(with_runs)).value();
  CHECK(Index::ExportRows(rows) == with_runs);
}

TEST_CASE("storage: CRoaring valid inputs load and every invalid one is rejected",
          "[storage][interop]") {
  if (!HaveTestdata()) return;
  const std::string valid = ReadTestdata("croaring/addoffsetinput.bin");
  std::vector<RowId> rows = Index::ParsePortableRows(Span(valid)).value();
  CHECK(rows.size() == 933468);
  CHECK(rows.front() == 0);
  CHECK(rows.back() == 939335);
  for (const char* name : {"croaring/crashproneinput1.bin", "croaring/crashproneinput2.bin",
                           "croaring/crashproneinput3.bin", "croaring/crashproneinput4.bin",
                           "croaring/crashproneinput5.bin", "croaring/crashproneinput6.bin",
                           "croaring/crashproneinput7.bin", "croaring/64mapemptyinput.bin",
                           "croaring/64mapsizetoosmall.bin", "croaring/64mapinvalidsize.bin",
                           "croaring/64mapkeytoosmall.bin"}) {
    INFO(name);
    const std::string blob = ReadTestdata(name);
    auto parsed = Index::ParsePortableRows(Span(blob));
    CHECK(parsed.status().code() == Code::kDataLoss);
    auto index = Index::Create().value();
    CHECK_FALSE(index->ImportTag({.name = "x"}, Span(blob)).ok());
    CHECK(index->TagCount() == 0);
  }
}

TEST_CASE("storage: ImportTag needs live customers and honours exclusive categories", "[storage]") {
  auto index = Index::Create().value();
  std::vector<int64_t> keys = {10, 11, 12};
  REQUIRE(index->AddCustomers(keys).ok());
  REQUIRE(index->CreateCategory("c", {.exclusive = true}).ok());
  TagId a = index->CreateTag({.name = "a", .category = "c"}).value();
  REQUIRE(index->TagRows(a, std::vector<RowId>{0, 1}).ok());
  std::string blob = Index::ExportRows(std::vector<RowId>{1, 2});
  TagId b = index->ImportTag({.name = "b", .category = "c"}, Span(blob)).value();
  CHECK(index->RowsWithTag(a).value() == std::vector<RowId>{0});
  CHECK(index->RowsWithTag(b).value() == std::vector<RowId>{1, 2});
  std::string bad = Index::ExportRows(std::vector<RowId>{2, 9});
  CHECK(index->ImportTag({.name = "d"}, Span(bad)).status().code() == Code::kNotFound);
  CHECK_FALSE(index->FindTag("d").ok());
}

// ---- the validator -----------------------------------------------------------------

namespace {
std::string Serialize(const std::vector<uint32_t>& ids, bool runs) {
  tagindex::Bitmap b = tagindex::Bitmap::FromIds(ids);
  if (runs) b.RunOptimize();
  std::string out;
  b.PortableSerialize(&out);
  return out;
}
void Put16(std::string& s, size_t at, uint16_t v) {
  s[at] = static_cast<char>(v);
  s[at + 1] = static_cast<char>(v >> 8);
}
bool Valid(const std::string& s) { return tagindex::ValidatePortableBitmap(Span(s)).ok(); }
}  // namespace

TEST_CASE("bitmap validator: crafted portable blobs that CRoaring would accept are rejected",
          "[storage][validator]") {
  // Array container: cookie 12346, count 1, header (key, card-1), offset, values.
  std::string arr = Serialize({1, 5, 9}, false);
  REQUIRE(Valid(arr));
  REQUIRE(arr.size() == 8 + 4 + 4 + 6);
  {
    std::string s = arr;
    Put16(s, 16, 7);  // 7, 5, 9: unsorted
    CHECK_FALSE(Valid(s));
    CHECK(tagindex::Bitmap::PortableDeserialize(Span(s)).status().code() == Code::kDataLoss);
  }
  {
    std::string s = arr;
    Put16(s, 18, 1);  // 1, 1, 9: repeated
    CHECK_FALSE(Valid(s));
  }
  {
    std::string s = arr;
    s[12] = 99;  // wrong offset
    CHECK_FALSE(Valid(s));
  }
  CHECK_FALSE(Valid(arr + "x"));                      // trailing byte
  CHECK_FALSE(Valid(arr.substr(0, arr.size() - 1)));  // short
  {
    std::string s = arr;
    s[4] = static_cast<char>(0xFF);  // container count 255 with no room
    CHECK_FALSE(Valid(s));
  }
  {
    std::string s = arr;
    s[4] = 0;
    s[5] = 0;
    s[6] = 2;  // 131072 containers > 65536
    CHECK_FALSE(Valid(s));
  }
  // Run container: cookie 12347 | (n-1)<<16, flags, header, runs (no offsets < 4).
  std::string run = Serialize({100, 101, 102, 103, 200, 201}, true);
  REQUIRE(Valid(run));
  REQUIRE(run.size() == 4 + 1 + 4 + 2 + 8);
  {
    std::string s = run;
    Put16(s, 15, 102);  // second run starts inside the first
    CHECK_FALSE(Valid(s));
  }
  {
    std::string s = run;
    Put16(s, 15, 65535);  // 65535 + 1 runs past the container
    CHECK_FALSE(Valid(s));
  }
  {
    std::string s = run;
    Put16(s, 7, 9);  // cardinality 10 declared, 6 held
    CHECK_FALSE(Valid(s));
  }
  // Bitset container: wrong popcount.
  std::vector<uint32_t> dense;
  for (uint32_t i = 0; i < 5000; ++i) dense.push_back(i * 2);
  std::string bits = Serialize(dense, false);
  REQUIRE(Valid(bits));
  {
    std::string s = bits;
    s[16] ^= 0x02;  // clears or sets one bit without changing the header
    CHECK_FALSE(Valid(s));
  }
  // Duplicate container keys.
  std::string two = Serialize({1, 70000}, false);
  REQUIRE(Valid(two));
  {
    std::string s = two;
    Put16(s, 12, 0);  // second key 1 -> 0
    CHECK_FALSE(Valid(s));
  }
  CHECK(Valid(Serialize({}, false)));
}

TEST_CASE("bitmap validator: random bit flips never crash and never yield a broken bitmap",
          "[storage][validator]") {
  std::mt19937_64 rng(7);
  INFO("seed 7");
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < 3000; ++i) ids.push_back(static_cast<uint32_t>(rng() % 300000));
  for (uint32_t i = 400000; i < 410000; ++i) ids.push_back(i);
  for (uint32_t i = 500000; i < 520000; i += 3) ids.push_back(i);
  const std::string blob = Serialize(ids, true);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = blob;
    const size_t at = rng() % s.size();
    s[at] ^= static_cast<char>(1u << (rng() % 8));
    auto b = tagindex::Bitmap::PortableDeserialize(Span(s));
    if (b.ok()) {
      // Accepted: the decoded bitmap must be internally consistent.
      std::vector<uint32_t> v = b->ToVector();
      CHECK(v.size() == b->Cardinality());
      CHECK(std::is_sorted(v.begin(), v.end()));
      CHECK(std::adjacent_find(v.begin(), v.end()) == v.end());
    }
  }
}

TEST_CASE("storage: group commit with concurrent writers readers and checkpoints loses nothing",
          "[storage][concurrency]") {
  auto fs = std::make_shared<MemFileSystem>();
  OpenOptions o = MemOptions(fs);
  o.sync = tagindex::SyncPolicy::kGroupCommit;
  o.group_commit_interval_ms = 1;
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 150;
  {
    auto index = Index::Open("db", o).value();
    std::vector<TagId> tags;
    for (int w = 0; w < kWriters; ++w) {
      tags.push_back(index->CreateTag({.name = "w" + std::to_string(w)}).value());
    }
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        for (int i = 0; i < kPerWriter; ++i) {
          if (!index->Tag(tags[w], int64_t{i}).ok()) ++failures;
        }
      });
    }
    std::thread reader([&] {
      while (!stop) {
        for (TagId t : tags) {
          // A reader never sees a half-applied change: counts only grow.
          (void)index->TagCardinality(t).value();
        }
      }
    });
    std::thread checkpointer([&] {
      while (!stop) {
        if (!index->Checkpoint().ok()) ++failures;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    for (auto& t : threads) t.join();
    stop = true;
    reader.join();
    checkpointer.join();
    CHECK(failures == 0);
    // Every call returned, so every change is durable: a power loss now
    // must not lose any.
    fs->Crash();
  }
  auto index = Index::Open("db", MemOptions(fs)).value();
  for (int w = 0; w < kWriters; ++w) {
    CHECK(index->TagCardinality(index->FindTag("w" + std::to_string(w)).value()).value() ==
          kPerWriter);
  }
}

TEST_CASE("storage: a small run-heavy blob of four billion ids is bounded, never expanded",
          "[storage][interop]") {
  tagindex::Bitmap all = tagindex::Bitmap::FromRange(0, uint64_t{1} << 32);
  all.RunOptimize();
  std::string blob;
  all.PortableSerialize(&blob);
  REQUIRE(blob.size() < (size_t{1} << 20));
  CHECK(Index::ParsePortableRows(Span(blob)).status().code() == Code::kResourceExhausted);
  auto index = Index::Create().value();
  std::vector<int64_t> keys = {1, 2};
  REQUIRE(index->AddCustomers(keys).ok());
  CHECK(index->ImportTag({.name = "all"}, Span(blob)).status().code() == Code::kNotFound);
}

// Attribute columns survive log replay, a checkpoint (snapshot section 11),
// mutations after it, and customer removal; compared with a naive column.
TEST_CASE("storage: attribute columns persist through the log and checkpoints", "[storage]") {
  TempDir dir;
  std::mt19937_64 rng(77);
  std::vector<std::optional<int64_t>> spend(3000), day(3000);
  auto check = [&](Index& index) {
    for (RowId r = 0; r < 3000; r += 7) {
      auto live = index.KeyOf(r);
      if (!live.ok()) continue;
      CHECK(index.GetAttributeValue("消费金额", r).value() == spend[r]);
      CHECK(index.GetAttributeValue("最近购买", r).value() == day[r]);
    }
    uint64_t n = 0;
    for (auto& v : spend) n += v.has_value();
    CHECK(index.Count("消费金额 IS NOT NULL").value() == n);
    tagindex::AttributeInfo info = index.GetAttribute("消费金额").value();
    CHECK(info.type == tagindex::AttributeType::kDecimal);
    CHECK(info.scale == 2);
  };
  auto set_random = [&](Index& index, int count) {
    std::vector<RowId> rows;
    std::vector<int64_t> s, d;
    for (int i = 0; i < count; ++i) {
      const RowId r = static_cast<RowId>(rng() % 3000);
      if (!index.KeyOf(r).ok()) continue;
      rows.push_back(r);
      s.push_back(static_cast<int64_t>(rng() % 200000) - 100000);
      d.push_back(20000 + static_cast<int64_t>(rng() % 800));
    }
    REQUIRE(index.SetAttributeRows("消费金额", rows, s).ok());
    REQUIRE(index.SetAttributeRows("最近购买", rows, d).ok());
    for (size_t i = 0; i < rows.size(); ++i) {
      spend[rows[i]] = s[i];
      day[rows[i]] = d[i];
    }
  };
  {
    auto index = Index::Open(dir.path, {.create_if_missing = true}).value();
    std::vector<int64_t> keys(3000);
    for (int i = 0; i < 3000; ++i) keys[static_cast<size_t>(i)] = 100000 + i;
    REQUIRE(index->AddCustomers(keys).ok());
    REQUIRE(index
                ->CreateAttribute(
                    {.name = "消费金额", .type = tagindex::AttributeType::kDecimal, .scale = 2})
                .ok());
    REQUIRE(
        index->CreateAttribute({.name = "最近购买", .type = tagindex::AttributeType::kDate}).ok());
    REQUIRE(index->CreateAttribute({.name = "临时"}).ok());
    REQUIRE(index->DropAttribute("临时").ok());
    set_random(*index, 2000);
    REQUIRE(index->SetAttribute("消费金额", int64_t{100005}, -1).ok());  // by key: row 5
    spend[5] = -1;
  }
  {
    auto index = Index::Open(dir.path, {.create_if_missing = true}).value();  // log replay
    check(*index);
    REQUIRE(index->Checkpoint().ok());
    REQUIRE(index->RemoveCustomer(int64_t{100007}).ok());
    spend[7].reset();
    day[7].reset();
    std::vector<RowId> clear = {10, 11};
    REQUIRE(index->ClearAttributeRows("最近购买", clear).ok());
    day[10].reset();
    day[11].reset();
    set_random(*index, 300);
    REQUIRE(index->RenameAttribute("最近购买", "最近下单").ok());
    REQUIRE(index->RenameAttribute("最近下单", "最近购买").ok());
  }
  {
    auto index = Index::Open(dir.path, {.create_if_missing = true}).value();  // snapshot + log
    check(*index);
    REQUIRE(index->Checkpoint().ok());
  }
  {
    auto index = Index::Open(dir.path, {.create_if_missing = true}).value();  // snapshot only
    check(*index);
    // Ids are not reused after a reopen: a new column gets a fresh id.
    const tagindex::AttributeId fresh = index->CreateAttribute({.name = "新列"}).value();
    CHECK(fresh.value == 3);
  }
}
