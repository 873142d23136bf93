// Fault injection through the file-system seam, and corrupt files: every
// failure and every damaged byte ends in a clean error or in exactly the
// acknowledged state, checked against an in-memory oracle index.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::OpenOptions;
using tagindex::testing::Dump;
using tagindex::testing::Full;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;
using tagindex::testing::RandomOp;
using Code = absl::StatusCode;

namespace {

// Reopens "db" twice and compares with `want`: once as after a process crash
// (the files as written), once as after a power loss (only what was synced).
void CheckReopens(const std::shared_ptr<MemFileSystem>& fs, const std::string& want) {
  fs->ClearFault();
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) fs->Crash();
    auto reopened = Index::Open("db", MemOptions(fs));
    INFO((pass == 0 ? "process crash: " : "power loss: ") << reopened.status());
    REQUIRE(reopened.ok());
    CHECK(Dump(**reopened) == want);
  }
}

}  // namespace

// The oracle must apply only acknowledged ops, so it replays the script and
// stops applying where the persistent index stopped acknowledging.
TEST_CASE("storage faults: fail the Nth write, sync or rename, then lose power",
          "[storage][fault]") {
  const int ops = Full() ? 300 : 120;
  const uint64_t seed = 20261123;
  INFO("seed " << seed);
  for (auto kind :
       {MemFileSystem::Op::kWrite, MemFileSystem::Op::kSync, MemFileSystem::Op::kRename}) {
    for (int n = 1;; ++n) {
      INFO("fault kind " << static_cast<int>(kind) << " at op " << n);
      auto fs = std::make_shared<MemFileSystem>();
      fs->FailAt(kind, n);
      auto oracle = Index::Create().value();
      std::mt19937_64 rng(seed);
      std::mt19937_64 oracle_rng(seed);
      std::unique_ptr<Index> index;
      {
        auto opened = Index::Open("db", MemOptions(fs));
        if (opened.ok()) index = std::move(opened).value();
      }
      bool poisoned = false;
      for (int i = 0; index != nullptr && i < ops; ++i) {
        const int fired = fs->faults_fired();
        absl::Status got = RandomOp(rng, *index, /*allow_checkpoint=*/true);
        if (got.ok()) {
          absl::Status want = RandomOp(oracle_rng, *oracle, false);
          INFO("op " << i);
          REQUIRE(want.ok());
        } else {
          // A failed op is not applied to the oracle; ops after a fault may
          // be refused by a read-only log, which is fine.
          if (fs->faults_fired() == fired && !poisoned) {
            absl::Status want = RandomOp(oracle_rng, *oracle, false);
            INFO("op " << i << ": " << got);
            REQUIRE_FALSE(want.ok());
          } else {
            oracle_rng = rng;  // skip the op in the oracle's stream
            poisoned = true;
          }
        }
      }
      const bool fired = fs->faults_fired() > 0;
      const std::string want = Dump(*oracle);
      index.reset();
      CheckReopens(fs, want);
      if (!fired) {
        // The script finished without reaching op n: every op was tried.
        CHECK(n > (kind == MemFileSystem::Op::kRename ? 2 : 50));
        break;
      }
    }
  }
}

// A checkpoint writes its snapshot without the writer lock: changes made
// while it does go to the old log and are carried into the new one. Here
// they are made from inside the snapshot's Sync (the hook runs on the
// checkpointing thread, between pinning the version and switching logs), so
// every run has them, and a fault at every step of the sequence, then a
// crash or power loss, must still recover exactly the acknowledged changes.
TEST_CASE("storage faults: changes made while a checkpoint writes survive every fault",
          "[storage][fault]") {
  const int ops = Full() ? 200 : 80;
  const uint64_t seed = 20261201;
  INFO("seed " << seed);
  for (auto kind :
       {MemFileSystem::Op::kWrite, MemFileSystem::Op::kSync, MemFileSystem::Op::kRename}) {
    for (int n = 1;; ++n) {
      INFO("fault kind " << static_cast<int>(kind) << " at op " << n);
      auto fs = std::make_shared<MemFileSystem>();
      auto oracle = Index::Create().value();
      std::mt19937_64 rng(seed);
      std::mt19937_64 oracle_rng(seed);
      std::unique_ptr<Index> index;
      {
        auto opened = Index::Open("db", MemOptions(fs));
        REQUIRE(opened.ok());
        index = std::move(opened).value();
      }
      fs->FailAt(kind, n);
      bool poisoned = false;
      int during = 0;  // changes acknowledged while a snapshot was written
      // One op on both sides, keeping the oracle to the acknowledged ones.
      auto step = [&](int i) {
        const int fired = fs->faults_fired();
        absl::Status got = RandomOp(rng, *index, /*allow_checkpoint=*/false);
        if (got.ok()) {
          absl::Status want = RandomOp(oracle_rng, *oracle, false);
          INFO("op " << i);
          REQUIRE(want.ok());
          return true;
        }
        if (fs->faults_fired() == fired && !poisoned) {
          absl::Status want = RandomOp(oracle_rng, *oracle, false);
          INFO("op " << i << ": " << got);
          REQUIRE_FALSE(want.ok());
        } else {
          oracle_rng = rng;
          poisoned = true;
        }
        return false;
      };
      bool in_checkpoint = false;
      int i = 0;
      fs->SetBeforeSync([&](const std::string& path) {
        if (!in_checkpoint || path.size() < 8 || path.substr(path.size() - 8) != ".tix.tmp") return;
        in_checkpoint = false;  // once per checkpoint (not for the writes' own syncs)
        for (int k = 0; k < 3; ++k) during += step(i++) ? 1 : 0;
      });
      while (i < ops) {
        if (i % 10 == 9) {
          in_checkpoint = true;
          // May fail at the fault (the state stays exact); after a failure
          // past its commit point the index refuses every write.
          const int before = fs->faults_fired();
          if (!index->Checkpoint().ok() && fs->faults_fired() > before) poisoned = true;
          in_checkpoint = false;
          ++i;
          continue;
        }
        step(i++);
      }
      fs->SetBeforeSync(nullptr);
      const bool fired = fs->faults_fired() > 0;
      const std::string want = Dump(*oracle);
      index.reset();
      CheckReopens(fs, want);
      if (!fired) {
        CHECK(during > 0);  // the script did change the index mid-checkpoint
        CHECK(n > (kind == MemFileSystem::Op::kRename ? 2 : 20));
        break;
      }
    }
  }
}

TEST_CASE("storage faults: power loss with SyncPolicy::kNone keeps a prefix of the changes",
          "[storage][fault]") {
  const uint64_t seed = 99;
  INFO("seed " << seed);
  auto fs = std::make_shared<MemFileSystem>();
  OpenOptions o = MemOptions(fs);
  o.sync = tagindex::SyncPolicy::kNone;
  std::mt19937_64 rng(seed);
  std::vector<std::string> prefixes;
  {
    auto index = Index::Open("db", o).value();
    auto oracle = Index::Create().value();
    std::mt19937_64 orng(seed);
    prefixes.push_back(Dump(*oracle));
    for (int i = 0; i < 80; ++i) {
      (void)RandomOp(rng, *index, false);
      (void)RandomOp(orng, *oracle, false);
      prefixes.push_back(Dump(*oracle));
    }
    fs->Crash();
  }
  auto index = Index::Open("db", o).value();
  const std::string got = Dump(*index);
  CHECK(std::find(prefixes.begin(), prefixes.end(), got) != prefixes.end());
}

// ---- corrupt files ------------------------------------------------------------------

namespace {

struct Saved {
  std::shared_ptr<MemFileSystem> fs;
  std::string snapshot_path, wal_path;
  std::string snapshot, wal;
  std::vector<std::string> prefixes;  // state after 0..k log records
};

// A small saved index: a snapshot after some mutations and a log of more.
Saved MakeSaved(uint64_t seed) {
  Saved s;
  s.fs = std::make_shared<MemFileSystem>();
  std::mt19937_64 rng(seed);
  auto index = Index::Open("db", MemOptions(s.fs)).value();
  for (int i = 0; i < 60; ++i) (void)RandomOp(rng, *index, false);
  REQUIRE(index->Checkpoint().ok());
  s.prefixes.push_back(Dump(*index));
  for (int i = 0; i < 25; ++i) {
    if (RandomOp(rng, *index, false).ok()) s.prefixes.push_back(Dump(*index));
  }
  index.reset();
  for (const std::string& n : s.fs->Names()) {
    if (n.find("/snapshot-") != std::string::npos) s.snapshot_path = n;
    if (n.find("/wal-") != std::string::npos) s.wal_path = n;
  }
  s.snapshot = s.fs->Get(s.snapshot_path);
  s.wal = s.fs->Get(s.wal_path);
  return s;
}

}  // namespace

TEST_CASE("storage corruption: every truncation of a snapshot is a clean DataLoss",
          "[storage][corrupt]") {
  Saved s = MakeSaved(5);
  INFO("seed 5, snapshot of " << s.snapshot.size() << " bytes");
  for (size_t len = 0; len < s.snapshot.size(); ++len) {
    s.fs->Put(s.snapshot_path, s.snapshot.substr(0, len));
    OpenOptions o = MemOptions(s.fs);
    o.read_only = true;
    auto got = Index::Open("db", o);
    INFO("length " << len << ": " << got.status());
    REQUIRE(got.status().code() == Code::kDataLoss);
    // What a program acts on: the kind and the file, from the payload.
    std::optional<tagindex::ErrorInfo> info = tagindex::GetErrorInfo(got.status());
    REQUIRE(info.has_value());
    CHECK(info->kind == tagindex::ErrorKind::kCorruptFile);
    CHECK(info->path == s.snapshot_path);
    CHECK(info->subject == s.snapshot_path);
  }
}

TEST_CASE("storage corruption: every truncation of a log loads a prefix of its changes",
          "[storage][corrupt]") {
  Saved s = MakeSaved(6);
  s.fs->Put(s.snapshot_path, s.snapshot);
  INFO("seed 6, log of " << s.wal.size() << " bytes");
  for (size_t len = 0; len < s.wal.size(); ++len) {
    s.fs->Put(s.wal_path, s.wal.substr(0, len));
    OpenOptions o = MemOptions(s.fs);
    o.read_only = true;
    auto got = Index::Open("db", o);
    INFO("length " << len);
    if (len < 32) {
      REQUIRE(got.status().code() == Code::kDataLoss);  // the header is gone
      continue;
    }
    REQUIRE(got.ok());
    const std::string dump = Dump(**got);
    REQUIRE(std::find(s.prefixes.begin(), s.prefixes.end(), dump) != s.prefixes.end());
  }
}

TEST_CASE("storage corruption: random bit flips are detected or harmless", "[storage][corrupt]") {
  const uint64_t seed = 4242;
  INFO("seed " << seed);
  Saved s = MakeSaved(seed);
  std::mt19937_64 rng(seed);
  const int flips = Full() ? 40000 : 10000;
  int detected = 0;
  for (int i = 0; i < flips; ++i) {
    const bool in_log = i % 2 == 1;
    std::string snap = s.snapshot, wal = s.wal;
    std::string& target = in_log ? wal : snap;
    const size_t at = rng() % target.size();
    const int bit = static_cast<int>(rng() % 8);
    target[at] ^= static_cast<char>(1 << bit);
    s.fs->Put(s.snapshot_path, snap);
    s.fs->Put(s.wal_path, wal);
    OpenOptions o = MemOptions(s.fs);
    o.read_only = true;
    auto got = Index::Open("db", o);
    INFO("flip " << i << (in_log ? " in log" : " in snapshot") << " byte " << at << " bit " << bit);
    if (!got.ok()) {
      REQUIRE((got.status().code() == Code::kDataLoss ||
               got.status().code() == Code::kFailedPrecondition));
      ++detected;
      continue;
    }
    // Accepted: only a flip in the final log record may be (as a torn tail),
    // and then the result is an earlier state, never a wrong one.
    const std::string dump = Dump(**got);
    if (in_log) {
      REQUIRE(std::find(s.prefixes.begin(), s.prefixes.end(), dump) != s.prefixes.end());
    } else {
      REQUIRE(dump == s.prefixes.back());
    }
  }
  CHECK(detected > flips / 2);
}

// Group commit publishes a change before its sync is awaited. When that
// sync fails, the index goes back to its last acknowledged state (the
// version before the first change not synced), the log is cut back to the
// synced length, and every later write fails with the first error. Checked
// with writers on several threads against a model built from the calls that
// returned OK only: the state in memory, after a process crash and after a
// power loss is exactly that.
TEST_CASE("storage faults: a failed group-commit sync leaves exactly the acknowledged state",
          "[storage][fault]") {
  const int threads = 4;
  for (int fail_at : {1, 2, 5, 9}) {
    INFO("failing sync " << fail_at);
    auto fs = std::make_shared<MemFileSystem>();
    OpenOptions o = MemOptions(fs);
    o.sync = tagindex::SyncPolicy::kGroupCommit;
    o.group_commit_interval_ms = 0;
    std::string acknowledged;
    {
      auto index = Index::Open("db", o).value();
      const tagindex::TagId t = index->CreateTag(tagindex::TagSpec{.name = "t"}).value();
      REQUIRE(index->AddCustomer(int64_t{0}).ok());
      REQUIRE(index->Tag(t, int64_t{0}).ok());
      fs->FailAt(MemFileSystem::Op::kSync, fail_at);
      // Per thread: (row, key, tagged) of every acknowledged AddCustomer.
      std::vector<std::vector<std::tuple<tagindex::RowId, int64_t, bool>>> acked(threads);
      std::vector<std::string> first_error(threads);
      std::vector<std::thread> pool;
      for (int w = 0; w < threads; ++w) {
        pool.emplace_back([&, w] {
          for (int64_t i = 0; i < 40; ++i) {
            const int64_t key = 1 + w * 1000 + i;
            absl::StatusOr<tagindex::RowId> row = index->AddCustomer(key);
            absl::Status st = row.status();
            if (row.ok()) {
              st = index->Tag(t, key);
              acked[w].emplace_back(*row, key, st.ok());
            }
            if (!st.ok() && first_error[w].empty()) first_error[w] = std::string(st.message());
          }
        });
      }
      for (std::thread& th : pool) th.join();
      REQUIRE(fs->faults_fired() == 1);
      // The model: customer 0 and what was acknowledged, in row order (the
      // acknowledged commits must be a prefix of the commit order, so the
      // model assigns the same rows).
      auto model = Index::Create().value();
      const tagindex::TagId mt = model->CreateTag(tagindex::TagSpec{.name = "t"}).value();
      REQUIRE(model->AddCustomer(int64_t{0}).ok());
      REQUIRE(model->Tag(mt, int64_t{0}).ok());
      std::vector<std::tuple<tagindex::RowId, int64_t, bool>> all;
      for (const auto& a : acked) all.insert(all.end(), a.begin(), a.end());
      std::sort(all.begin(), all.end());
      for (const auto& [row, key, tagged] : all) {
        REQUIRE(model->AddCustomer(key).value() == row);
        if (tagged) REQUIRE(model->Tag(mt, key).ok());
      }
      acknowledged = Dump(*model);
      // Reads: exactly the acknowledged state, no unacknowledged change.
      REQUIRE(Dump(*index) == acknowledged);
      // Every writer saw the injected failure; later writes fail naming it.
      for (int w = 0; w < threads; ++w) {
        INFO(first_error[w]);
        REQUIRE_THAT(first_error[w], Catch::Contains("injected failure"));
      }
      absl::Status later = index->AddCustomer(int64_t{99999}).status();
      REQUIRE_THAT(std::string(later.message()),
                   Catch::Contains("injected failure") && Catch::Contains("reopen the index"));
      REQUIRE(Dump(*index) == acknowledged);
    }
    CheckReopens(fs, acknowledged);
  }
}
