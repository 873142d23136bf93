// Hosts that misbehave underneath an open index: the directory or the log
// removed or replaced (the writer must notice before it acknowledges, and
// refuse every later write), a read-only opener racing a writer's
// checkpoints (never corrupt, never back in time), the snapshot truncated
// in place (keys are not read from the file after Open), and a log record
// that checksums but does not apply (salvage gets past it).
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
// them (under group commit a change is applied in memory before its sync
// is awaited, so a failed sync leaves it there unacknowledged, as any sync
// failure does: `check_state` is false for it).
void RequireWritesRefused(Index& index, const std::string& before, bool check_state = true) {
  absl::Status st = index.AddCustomer(int64_t{1000}).status();
  INFO(st.ToString());
  REQUIRE(st.code() == Code::kFailedPrecondition);
  REQUIRE_THAT(std::string(st.message()), Catch::Contains("wal-") && Catch::Contains("reopen"));
  for (int i = 0; i < 3; ++i) {
    absl::Status again = index.AddCustomer(int64_t{2000 + i}).status();
    REQUIRE(again.code() == Code::kFailedPrecondition);
  }
  if (check_state) REQUIRE(Dump(index) == before);
}

}  // namespace

TEST_CASE("host: the index directory removed while open fails writes before acknowledging",
          "[storage][host]") {
  for (SyncPolicy sync : {SyncPolicy::kEveryWrite, SyncPolicy::kGroupCommit, SyncPolicy::kNone}) {
    INFO("sync policy " << static_cast<int>(sync));
    TempDir dir;
    const std::string path = dir.path + "/idx";
    OpenOptions o;
    o.sync = sync;
    auto index = Index::Open(path, o).value();
    const TagId t = index->CreateTag(TagSpec{.name = "t"}).value();
    REQUIRE(index->AddCustomer(int64_t{1}).ok());
    REQUIRE(index->Tag(t, int64_t{1}).ok());
    const std::string before = Dump(*index);
    fs::remove_all(path);
    RequireWritesRefused(*index, before, sync != SyncPolicy::kGroupCommit);
    // Queries still answer from memory.
    if (sync != SyncPolicy::kGroupCommit) REQUIRE(index->CustomerCount() == 1);
  }
}

TEST_CASE(
    "host: the log replaced by a copy (cp over it) is noticed; the reopened state is "
    "exactly the acknowledged one",
    "[storage][host]") {
  TempDir dir;
  const std::string path = dir.path + "/idx";
  auto index = Index::Open(path, OpenOptions{}).value();
  for (int64_t k = 0; k < 10; ++k) REQUIRE(index->AddCustomer(k).ok());
  const std::string acknowledged = Dump(*index);
  const std::string log = FindFile(path, "wal-");
  const std::string bytes = ReadAll(log);
  // A new file renamed over the log: same bytes, another inode.
  WriteAll(log + ".new", bytes);
  fs::rename(log + ".new", log);
  RequireWritesRefused(*index, acknowledged);
  index.reset();
  auto reopened = Index::Open(path, OpenOptions{}).value();
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
    auto index = Index::Open(path, OpenOptions{}).value();
    std::vector<int64_t> keys;
    for (int64_t k = 0; k < 5000; ++k) keys.push_back(k * 31 + 7);
    REQUIRE(index->AddCustomers(keys).ok());
    REQUIRE(index->Checkpoint().ok());
  }
  OpenOptions ro;
  ro.read_only = true;
  auto index = Index::Open(path, ro).value();
  // `cp /dev/null snapshot` / `truncate -s 0`: the same inode, cut to zero.
  const std::string snap = FindFile(path, "snapshot-");
  fs::resize_file(snap, 0);
  // A mapped key list would raise SIGBUS here; the copy answers.
  for (int64_t k = 0; k < 5000; k += 7) REQUIRE(index->FindCustomer(k * 31 + 7).value() == k);
  REQUIRE(index->FindCustomer(int64_t{8}).status().code() == Code::kNotFound);
}

TEST_CASE("host: a read-only open racing checkpoints is never corrupt and never goes back",
          "[storage][host]") {
  TempDir dir;
  const std::string path = dir.path + "/idx";
  OpenOptions wo;
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
