// Hosts that misbehave underneath an open index: the directory or the log
// removed or replaced (the writer must notice before it acknowledges, and
// refuse every later write), a read-only opener racing a writer's
// checkpoints (never corrupt, never back in time), the snapshot truncated
// in place (keys are not read from the file after Open) or while Open reads
// it (Open reads it with read(2), no mapping), and a log record
// that checksums but does not apply (salvage gets past it).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage_test_util.h"
#include "storage/wal.h"
#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::OpenOptions;
using tagindex::SyncPolicy;
using tagindex::TagId;
using tagindex::TagSpec;
using tagindex::testing::Dump;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;
using Code = absl::StatusCode;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/tagindex-host-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string FindFile(const std::string& dir, const std::string& prefix) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) return e.path();
  }
  return "";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// After the removal/replacement: the next write and every later one fail
// with FailedPrecondition naming the log; the in-memory state shows none of
// them (under group commit a change is published before its sync is
// awaited; the failed sync takes the index back to its last acknowledged
// state).
void RequireWritesRefused(Index& index, const std::string& before) {
  absl::Status st = index.AddCustomer(int64_t{1000}).status();
  INFO(st.ToString());
  REQUIRE(st.code() == Code::kFailedPrecondition);
  REQUIRE_THAT(std::string(st.message()), Catch::Contains("wal-") && Catch::Contains("reopen"));
  for (int i = 0; i < 3; ++i) {
    absl::Status again = index.AddCustomer(int64_t{2000 + i}).status();
    REQUIRE(again.code() == Code::kFailedPrecondition);
  }
  REQUIRE(Dump(index) == before);
}

}  // namespace

TEST_CASE("host: the index directory removed while open fails writes before acknowledging",
          "[storage][host]") {
  for (SyncPolicy sync : {SyncPolicy::kEveryWrite, SyncPolicy::kGroupCommit, SyncPolicy::kNone}) {
    INFO("sync policy " << static_cast<int>(sync));
    TempDir dir;
    const std::string path = dir.path + "/idx";
    OpenOptions o;
    o.create_if_missing = true;
    o.sync = sync;
    auto index = Index::Open(path, o).value();
    const TagId t = index->CreateTag(TagSpec{.name = "t"}).value();
    REQUIRE(index->AddCustomer(int64_t{1}).ok());
    REQUIRE(index->Tag(t, int64_t{1}).ok());
    const std::string before = Dump(*index);
    fs::remove_all(path);
    RequireWritesRefused(*index, before);
    // Queries still answer from memory.
    REQUIRE(index->CustomerCount() == 1);
  }
}

TEST_CASE(
    "host: the log replaced by a copy (cp over it) is noticed; the reopened state is "
    "exactly the acknowledged one",
    "[storage][host]") {
  TempDir dir;
  const std::string path = dir.path + "/idx";
  auto index = Index::Open(path, OpenOptions{.create_if_missing = true}).value();
  for (int64_t k = 0; k < 10; ++k) REQUIRE(index->AddCustomer(k).ok());
  const std::string acknowledged = Dump(*index);
  const std::string log = FindFile(path, "wal-");
  const std::string bytes = ReadAll(log);
  // A new file renamed over the log: same bytes, another inode.
  WriteAll(log + ".new", bytes);
  fs::rename(log + ".new", log);
  RequireWritesRefused(*index, acknowledged);
  index.reset();
  auto reopened = Index::Open(path, OpenOptions{.create_if_missing = true}).value();
  REQUIRE(Dump(*reopened) == acknowledged);
}

TEST_CASE("host: the log removed (in memory file system) is noticed at the next write",
          "[storage][host]") {
  auto mem = std::make_shared<MemFileSystem>();
  auto index = Index::Open("/idx", MemOptions(mem)).value();
  REQUIRE(index->AddCustomer(int64_t{1}).ok());
  REQUIRE(index->Checkpoint().ok());  // customer 1 is in the snapshot
  const std::string acknowledged = Dump(*index);
  std::string log;
  for (const std::string& n : mem->Names()) {
    if (n.find("wal-") != std::string::npos) log = n;
  }
  REQUIRE(mem->Remove(log).ok());
  RequireWritesRefused(*index, acknowledged);
  index.reset();
  // The log is gone: DataLoss unless salvaged; salvage gives the snapshot,
  // which is every acknowledged change (none was acknowledged after it).
  REQUIRE(Index::Open("/idx", MemOptions(mem)).status().code() == Code::kDataLoss);
  OpenOptions salvage = MemOptions(mem);
  salvage.salvage_log = true;
  auto reopened = Index::Open("/idx", salvage).value();
  REQUIRE(Dump(*reopened) == acknowledged);
}

TEST_CASE("host: keys are not read from the snapshot file after Open (truncation in place)",
          "[storage][host]") {
  TempDir dir;
  const std::string path = dir.path + "/idx";
  {
    auto index = Index::Open(path, OpenOptions{.create_if_missing = true}).value();
    std::vector<int64_t> keys;
    for (int64_t k = 0; k < 5000; ++k) keys.push_back(k * 31 + 7);
    REQUIRE(index->AddCustomers(keys).ok());
    REQUIRE(index->Checkpoint().ok());
  }
  OpenOptions ro;
  ro.create_if_missing = true;
  ro.read_only = true;
  auto index = Index::Open(path, ro).value();
  // `cp /dev/null snapshot` / `truncate -s 0`: the same inode, cut to zero.
  const std::string snap = FindFile(path, "snapshot-");
  fs::resize_file(snap, 0);
  // A mapped key list would raise SIGBUS here; the copy answers.
  for (int64_t k = 0; k < 5000; k += 7) REQUIRE(index->FindCustomer(k * 31 + 7).value() == k);
  REQUIRE(index->FindCustomer(int64_t{8}).status().code() == Code::kNotFound);
}

namespace {

// The operating system's file system, except that reading back a file a
// checkpoint has just written ("….tmp") truncates it to zero right after
// the read call returns: what a host cutting the file in that window does.
// Through a mapping (the checkpoint's old read-back path) the next access
// to the keys would raise SIGBUS; bytes read with read(2) are unaffected.
class TruncatingAfterRead : public tagindex::FileSystem {
 public:
  std::shared_ptr<tagindex::FileSystem> base = tagindex::FileSystem::Default();
  int truncated = 0;
  absl::Status CreateDir(const std::string& d) override { return base->CreateDir(d); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& d) override {
    return base->ListDir(d);
  }
  absl::StatusOr<bool> Exists(const std::string& p) override { return base->Exists(p); }
  absl::StatusOr<std::unique_ptr<tagindex::WritableFile>> OpenWritable(const std::string& p,
                                                                       bool t) override {
    return base->OpenWritable(p, t);
  }
  absl::StatusOr<std::unique_ptr<tagindex::ReadableRegion>> ReadFile(
      const std::string& p) override {
    return Cut(p, base->ReadFile(p));
  }
  absl::StatusOr<std::unique_ptr<tagindex::ReadableRegion>> ReadFileCopy(
      const std::string& p) override {
    return Cut(p, base->ReadFileCopy(p));
  }
  absl::Status Rename(const std::string& f, const std::string& t) override {
    return base->Rename(f, t);
  }
  absl::Status Remove(const std::string& p) override { return base->Remove(p); }
  absl::Status SyncDir(const std::string& d) override { return base->SyncDir(d); }
  absl::StatusOr<std::unique_ptr<tagindex::FileLock>> LockFile(const std::string& p) override {
    return base->LockFile(p);
  }

 private:
  absl::StatusOr<std::unique_ptr<tagindex::ReadableRegion>> Cut(
      const std::string& p, absl::StatusOr<std::unique_ptr<tagindex::ReadableRegion>> r) {
    if (p.size() > 4 && p.compare(p.size() - 4, 4, ".tmp") == 0) {
      fs::resize_file(p, 0);
      ++truncated;
    }
    return r;
  }
};

// The operating system's file system, except that once the LOCK is taken
// every file creation fails: the directory is left as a creator killed
// right after locking leaves it (nothing written after the LOCK).
class DiesAfterLock : public tagindex::FileSystem {
 public:
  std::shared_ptr<tagindex::FileSystem> base = tagindex::FileSystem::Default();
  bool locked = false;
  absl::Status CreateDir(const std::string& d) override { return base->CreateDir(d); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& d) override {
    return base->ListDir(d);
  }
  absl::StatusOr<bool> Exists(const std::string& p) override { return base->Exists(p); }
  absl::StatusOr<std::unique_ptr<tagindex::WritableFile>> OpenWritable(const std::string& p,
                                                                       bool t) override {
    if (locked) return absl::UnavailableError("test: the creator died here");
    return base->OpenWritable(p, t);
  }
  absl::StatusOr<std::unique_ptr<tagindex::ReadableRegion>> ReadFile(
      const std::string& p) override {
    return base->ReadFile(p);
  }
  absl::Status Rename(const std::string& f, const std::string& t) override {
    return base->Rename(f, t);
  }
  absl::Status Remove(const std::string& p) override { return base->Remove(p); }
  absl::Status SyncDir(const std::string& d) override { return base->SyncDir(d); }
  absl::StatusOr<std::unique_ptr<tagindex::FileLock>> LockFile(const std::string& p) override {
    absl::StatusOr<std::unique_ptr<tagindex::FileLock>> lock = base->LockFile(p);
    locked = lock.ok();
    return lock;
  }
};

}  // namespace

TEST_CASE("host: a checkpoint's snapshot truncated while it is read back: no SIGBUS",
          "[storage][host]") {
  TempDir dir;
  const std::string path = dir.path + "/idx";
  auto cutter = std::make_shared<TruncatingAfterRead>();
  for (tagindex::KeyKind kind : {tagindex::KeyKind::kInt64, tagindex::KeyKind::kString}) {
    INFO("key kind " << static_cast<int>(kind));
    fs::remove_all(path);
    OpenOptions o{.create_if_missing = true};
    o.index.key_kind = kind;
    o.file_system = cutter;
    auto index = Index::Open(path, o).value();
    auto key = [&](int64_t k) -> tagindex::CustomerKey {
      if (kind == tagindex::KeyKind::kInt64) return k * 31 + 7;
      return "C" + std::to_string(k * 31 + 7);
    };
    auto find = [&](int64_t k) {
      const tagindex::CustomerKey c = key(k);
      return kind == tagindex::KeyKind::kInt64
                 ? index->FindCustomer(std::get<int64_t>(c))
                 : index->FindCustomer(std::string_view(std::get<std::string>(c)));
    };
    auto add = [&](int64_t from, int64_t to) {
      for (int64_t k = from; k < to; ++k) {
        const tagindex::CustomerKey c = key(k);
        REQUIRE((kind == tagindex::KeyKind::kInt64
                     ? index->AddCustomer(std::get<int64_t>(c))
                     : index->AddCustomer(std::string_view(std::get<std::string>(c))))
                    .ok());
      }
    };
    add(0, 3000);
    const int before = cutter->truncated;
    // The keys are read back from the new file (and then cut): they must
    // come from memory this process owns. The checkpoint itself succeeds
    // (what the host did to the file is found by the next Open).
    REQUIRE(index->Checkpoint().ok());
    REQUIRE(cutter->truncated == before + 1);
    for (int64_t k = 0; k < 3000; ++k) REQUIRE(find(k).value() == static_cast<tagindex::RowId>(k));
    add(3000, 3100);  // rows after the snapshot, in memory
    for (int64_t k = 0; k < 3100; k += 7)
      REQUIRE(find(k).value() == static_cast<tagindex::RowId>(k));
    REQUIRE(find(5000).status().code() == Code::kNotFound);
    index.reset();
    // The live snapshot is the empty file the host left: a clean refusal.
    OpenOptions plain{.create_if_missing = false};
    plain.index.key_kind = kind;
    absl::StatusOr<std::unique_ptr<Index>> reopened = Index::Open(path, plain);
    REQUIRE(reopened.status().code() == Code::kDataLoss);
  }
}

TEST_CASE(
    "host: a snapshot truncated and rewritten in place while Open reads it: ok or a clean "
    "DataLoss, never SIGBUS",
    "[storage][host]") {
  TempDir dir;
  const std::string path = dir.path + "/idx";
  const int64_t customers = 150'000;
  {
    auto index = Index::Open(path, OpenOptions{.create_if_missing = true}).value();
    std::vector<int64_t> keys;
    for (int64_t k = 0; k < customers; ++k) keys.push_back(k * 31 + 7);
    REQUIRE(index->AddCustomers(keys).ok());
    const TagId t = index->CreateTag(TagSpec{.name = "t"}).value();
    REQUIRE(index->TagMany(t, std::span<const int64_t>(keys).first(customers / 3)).ok());
    REQUIRE(index->Checkpoint().ok());
  }
  const std::string snap = FindFile(path, "snapshot-");
  const std::string bytes = ReadAll(snap);
  INFO("snapshot of " << bytes.size() << " bytes");
  // The child only cuts and rewrites the file with raw system calls (no
  // index, no allocation: fork safety), the same inode every time, as
  // `truncate` and `cp` over it would.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const int fd = ::open(snap.c_str(), O_WRONLY);
    if (fd < 0) ::_exit(1);
    for (uint64_t i = 1;; ++i) {
      const off_t cut = static_cast<off_t>((i * 2654435761u) % bytes.size());
      if (::ftruncate(fd, cut) != 0) ::_exit(2);
      ::usleep(200);
      if (::pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
        ::_exit(3);
      }
    }
  }
  OpenOptions ro;
  ro.read_only = true;
  int opened = 0, refused = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < until || opened + refused < 20) {
    absl::StatusOr<std::unique_ptr<Index>> index = Index::Open(path, ro);
    if (index.ok()) {
      // Every byte was checked: an index that opens is the file's content.
      REQUIRE((*index)->CustomerCount() == static_cast<uint64_t>(customers));
      ++opened;
    } else {
      INFO(index.status().ToString());
      REQUIRE(index.status().code() == Code::kDataLoss);
      REQUIRE_THAT(std::string(index.status().message()), Catch::Contains(snap));
      ++refused;
    }
  }
  ::kill(child, SIGKILL);
  int wstatus = 0;
  REQUIRE(::waitpid(child, &wstatus, 0) == child);
  REQUIRE(WIFSIGNALED(wstatus));  // the child was still cutting and rewriting
  WARN("opens racing the rewrites: " << opened << " ok, " << refused << " DataLoss");
  // Restored: the file opens again.
  WriteAll(snap, bytes);
  REQUIRE(Index::Open(path, ro).value()->CustomerCount() == static_cast<uint64_t>(customers));
}

TEST_CASE("host: a read-only open racing checkpoints is never corrupt and never goes back",
          "[storage][host]") {
  TempDir dir;
  const std::string path = dir.path + "/idx";
  OpenOptions wo;
  wo.create_if_missing = true;
  wo.sync = SyncPolicy::kNone;
  auto writer = Index::Open(path, wo).value();
  REQUIRE(writer->AddCustomer(int64_t{0}).ok());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acknowledged{1};
  std::atomic<int> checkpoints{0};
  std::thread w([&] {
    for (int64_t k = 1; !stop.load(); ++k) {
      if (!writer->AddCustomer(k).ok()) break;
      acknowledged.store(k + 1);
      if (k % 3 == 0) {
        if (!writer->Checkpoint().ok()) break;
        ++checkpoints;
      }
    }
  });
  OpenOptions ro;
  ro.create_if_missing = true;
  ro.read_only = true;
  uint64_t last = 0;
  int opens = 0;
  // Until enough checkpoints happened during the opens (a checkpoint syncs
  // three times, so it is the slow side), within 20 s.
  const int want = tagindex::testing::Full() ? 300 : 30;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (; std::chrono::steady_clock::now() < deadline && (checkpoints.load() < want || opens < 50);
       ++opens) {
    const int64_t floor = acknowledged.load();
    absl::StatusOr<std::unique_ptr<Index>> r = Index::Open(path, ro);
    INFO("open " << opens << ": " << r.status().ToString());
    REQUIRE(r.ok());
    const uint64_t seen = (*r)->CustomerCount();
    // Everything acknowledged before the open began, and never less than
    // an earlier open saw.
    REQUIRE(seen >= static_cast<uint64_t>(floor));
    REQUIRE(seen >= last);
    last = seen;
  }
  stop = true;
  w.join();
  INFO("opens " << opens << ", customers " << last << ", checkpoints " << checkpoints.load());
  REQUIRE(opens >= 50);
  REQUIRE(checkpoints.load() >= want);
}

TEST_CASE("host: salvage_log gets past a record that checksums but does not apply",
          "[storage][host]") {
  auto mem = std::make_shared<MemFileSystem>();
  std::string log;
  std::string after_delete;
  {
    auto index = Index::Open("/idx", MemOptions(mem)).value();
    const TagId t = index->CreateTag(TagSpec{.name = "t"}).value();
    REQUIRE(index->AddCustomer(int64_t{5}).ok());
    REQUIRE(index->DeleteTag(t).ok());
    after_delete = Dump(*index);
  }
  for (const std::string& n : mem->Names()) {
    if (n.find("wal-") != std::string::npos) log = n;
  }
  const std::string bytes = mem->Get(log);
  auto parsed = tagindex::storage::ParseLog(std::span<const char>(bytes.data(), bytes.size()), log,
                                            1 << 30, false);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->records.size() == 3);
  // The delete record again: well framed and checksummed, but its tag is
  // gone; then a record that would apply (the customer add, a new key is
  // not needed: it is dropped with everything after the bad one).
  const std::string del = bytes.substr(parsed->records[2].offset);
  const std::string add = bytes.substr(parsed->records[1].offset,
                                       parsed->records[2].offset - parsed->records[1].offset);
  mem->Put(log, bytes + del + add);
  absl::Status refused = Index::Open("/idx", MemOptions(mem)).status();
  INFO(refused.ToString());
  REQUIRE(refused.code() == Code::kDataLoss);
  REQUIRE_THAT(std::string(refused.message()),
               Catch::Contains("does not apply") && Catch::Contains("salvage_log"));

  OpenOptions salvage = MemOptions(mem);
  salvage.salvage_log = true;
  {
    auto index = Index::Open("/idx", salvage).value();
    REQUIRE(Dump(*index) == after_delete);
    const tagindex::RecoveryReport report = index->LastRecovery();
    REQUIRE(report.log_records_replayed == 3);
    REQUIRE(report.log_bytes_dropped == del.size() + add.size());
    REQUIRE_THAT(report.salvage_message, Catch::Contains("does not apply"));
    REQUIRE(index->AddCustomer(int64_t{6}).ok());  // the log was cut: writes go on
  }
  auto index = Index::Open("/idx", MemOptions(mem)).value();  // no salvage needed now
  REQUIRE(index->CustomerCount() == 2);
}

// create_if_missing (false by default, as in leveldb): a missing or empty
// path is NotFound unless the caller asks to create; a directory that held
// an index whose generation files are gone, or that holds foreign files, is
// never turned into a new index, whatever the flag.
TEST_CASE("host: reopening a removed or emptied path does not silently create an index",
          "[storage][host]") {
  TempDir dir;
  const std::string path = dir.path + "/idx";
  OpenOptions create;
  create.create_if_missing = true;
  SECTION("a missing path: NotFound by default, nothing made") {
    absl::Status st = Index::Open(path).status();
    INFO(st.ToString());
    REQUIRE(st.code() == Code::kNotFound);
    REQUIRE_THAT(std::string(st.message()), Catch::Contains("create_if_missing"));
    REQUIRE(!fs::exists(path));
    REQUIRE(Index::Open(path, create).ok());
  }
  SECTION("an empty directory: NotFound by default and left empty; created when asked") {
    fs::create_directory(path);
    REQUIRE(Index::Open(path).status().code() == Code::kNotFound);
    REQUIRE(fs::is_empty(path));  // not even a LOCK left behind
    auto index = Index::Open(path, create).value();
    REQUIRE(index->AddCustomer(int64_t{5}).ok());
    index.reset();
    REQUIRE(Index::Open(path).value()->CustomerCount() == 1);  // an index now: opens
  }
  SECTION("the whole directory removed while open (rm -rf): reopening is NotFound") {
    auto index = Index::Open(path, create).value();
    REQUIRE(index->AddCustomer(int64_t{1}).ok());
    fs::remove_all(path);
    index.reset();
    REQUIRE(Index::Open(path).status().code() == Code::kNotFound);
    REQUIRE(!fs::exists(path));
  }
  SECTION("generation files removed, the log with records left: DataLoss, even when creating") {
    {
      auto index = Index::Open(path, create).value();
      REQUIRE(index->AddCustomer(int64_t{1}).ok());
    }
    const std::string log = FindFile(path, "wal-");
    const std::string log_bytes = ReadAll(log);
    fs::remove(FindFile(path, "snapshot-"));
    for (const OpenOptions& o : {OpenOptions{}, create}) {
      absl::Status st = Index::Open(path, o).status();
      INFO(st.ToString());
      REQUIRE(st.code() == Code::kDataLoss);
      REQUIRE_THAT(std::string(st.message()), Catch::Contains("held a tagindex index") &&
                                                  Catch::Contains("wal-") &&
                                                  Catch::Contains("refusing to create"));
    }
    REQUIRE(ReadAll(log) == log_bytes);  // nothing was changed
  }
  SECTION("every generation file removed, the LOCK left: DataLoss") {
    { auto index = Index::Open(path, create).value(); }
    fs::remove(FindFile(path, "snapshot-"));
    fs::remove(FindFile(path, "wal-"));
    REQUIRE(fs::exists(path + "/LOCK"));
    absl::Status st = Index::Open(path, create).status();
    INFO(st.ToString());
    REQUIRE(st.code() == Code::kDataLoss);
    REQUIRE_THAT(std::string(st.message()), Catch::Contains("(LOCK)"));
  }
  SECTION("a directory of foreign files: FailedPrecondition, even when creating") {
    fs::create_directory(path);
    WriteAll(path + "/notes.txt", "mine");
    absl::Status st = Index::Open(path, create).status();
    INFO(st.ToString());
    REQUIRE(st.code() == Code::kFailedPrecondition);
    REQUIRE_THAT(std::string(st.message()),
                 Catch::Contains("is not empty") && Catch::Contains("notes.txt"));
    REQUIRE(!fs::exists(path + "/LOCK"));
  }
  SECTION("what an interrupted creation leaves is created over when asked") {
    fs::create_directory(path);
    WriteAll(path + "/LOCK", "");
    WriteAll(path + "/snapshot-00000000000000000000.tix.tmp", "partial");
    WriteAll(path + "/wal-00000000000000000000.log", tagindex::storage::EncodeWalHeader(0));
    REQUIRE(Index::Open(path).status().code() == Code::kNotFound);
    auto index = Index::Open(path, create).value();
    REQUIRE(index->CustomerCount() == 0);
    REQUIRE(index->AddCustomer(int64_t{3}).ok());
  }
}

// A creator killed between taking the LOCK and writing its first snapshot
// temporary (the sharded crash test hit this window): the directory must
// read as an interrupted creation, created over when asked, not as an index
// whose generation files were removed (a LOCK alone, DataLoss).
TEST_CASE("host: a creation killed right after locking is created over", "[storage][host]") {
  TempDir dir;
  const std::string path = dir.path + "/idx";
  auto dies = std::make_shared<DiesAfterLock>();
  OpenOptions o{.create_if_missing = true};
  o.file_system = dies;
  REQUIRE(!Index::Open(path, o).ok());
  REQUIRE(fs::exists(path + "/LOCK"));
  REQUIRE(Index::Open(path).status().code() == Code::kNotFound);  // not created unasked
  auto index = Index::Open(path, OpenOptions{.create_if_missing = true}).value();
  REQUIRE(index->CustomerCount() == 0);
  REQUIRE(index->AddCustomer(int64_t{9}).ok());
  index.reset();
  REQUIRE(Index::Open(path).value()->CustomerCount() == 1);
  // The marker is gone once the index exists.
  for (const auto& e : fs::directory_iterator(path)) {
    INFO(e.path().string());
    CHECK(e.path().extension() != ".tmp");
  }
}
