// Crash test of the manifest protocol: a forked child makes random catalog
// changes (create / rename / describe / delete tags, categories, attributes)
// and data writes on a 3-shard index on disk, acknowledging each through a
// pipe; the parent SIGKILLs it at a random moment (often between shards of
// one catalog change), reopens (which repairs an interrupted change) and
// compares with an oracle that replayed the acknowledged operations: the
// state must be that after them, or after the one in flight. Every shard's
// catalog must equal the manifest's (Open checks it). 150 iterations in the
// quick suite, 1000 with TAGINDEX_FULL=1.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "shard/shard_dump.h"
#include "storage/storage_test_util.h"
#include "tagindex/sharded_index.h"

using tagindex::ShardedIndex;
using tagindex::ShardedOpenOptions;
using tagindex::TagId;

namespace {

constexpr int kOps = 60;
constexpr uint32_t kShards = 3;

// One deterministic operation; the rng advances the same way whatever the
// outcome, so the oracle replays the child's script exactly.
void RandomShardedOp(std::mt19937_64& rng, ShardedIndex& s) {
  const int kind = static_cast<int>(rng() % 10);
  const uint64_t a = rng() % 12, b = rng() % 12, c = rng() % 4;
  const std::string name = absl::StrCat("标签", a);
  std::vector<tagindex::TagInfo> tags = s.ListTags().value();
  const TagId some = tags.empty() ? TagId{1} : tags[b % tags.size()].id;
  switch (kind) {
    case 0:
    case 1:
    case 2:
      (void)s.CreateTag({.name = name, .category = c == 0 ? "" : absl::StrCat("类", c)});
      break;
    case 3:
      (void)s.RenameTag(some, absl::StrCat("改名", a));
      break;
    case 4:
      (void)s.DeleteTag(some);
      break;
    case 5:
      (void)s.SetTagDescription(some, absl::StrCat("说明 ", a));
      break;
    case 6:
      (void)s.CreateCategory(absl::StrCat("互斥", a), {.exclusive = true});
      break;
    case 7:
      if (c < 2) {
        (void)s.CreateAttribute({.name = absl::StrCat("金额", a)});
      } else {
        (void)s.DropAttribute(absl::StrCat("金额", b));
      }
      break;
    default: {  // data: tag customers of one shard (writes are atomic per shard only)
      std::vector<int64_t> keys;
      const uint32_t target = static_cast<uint32_t>(a % kShards);
      for (int64_t k = static_cast<int64_t>(b * 1000); keys.size() < 20; ++k) {
        if (s.ShardOf(k).value() == target) keys.push_back(k);
      }
      (void)s.TagMany(some, keys);
    }
  }
}

std::string Dump(const ShardedIndex& s) {
  std::string out;
  const auto listed7 = s.ListCategories().value();
  for (const auto& c : listed7) {
    absl::StrAppend(&out, "category ", c.name, " ", c.exclusive, "\n");
  }
  const auto listed8 = s.ListTags().value();
  for (const auto& t : listed8) {
    absl::StrAppend(&out, "tag ", t.id.value, " ", t.category, ":", t.name, " '", t.description,
                    "' ", t.count, "\n");
  }
  const auto listed9 = s.ListAttributes().value();
  for (const auto& a : listed9) absl::StrAppend(&out, "attr ", a.id.value, " ", a.name, "\n");
  absl::StrAppend(&out, "customers ", s.CustomerCount(), "\n");
  return out;
}

[[noreturn]] void RunChild(const std::string& dir, uint64_t seed, tagindex::SyncPolicy policy,
                           int fd) {
  ShardedOpenOptions o;
  o.shard.create_if_missing = true;
  o.create.shards = kShards;
  o.threads = 2;
  o.shard.sync = policy;
  auto s = ShardedIndex::Open(dir, o);
  if (!s.ok()) ::_exit(3);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < kOps; ++i) {
    RandomShardedOp(rng, **s);
    const char ack = 1;
    if (::write(fd, &ack, 1) != 1) ::_exit(4);
  }
  ::_exit(0);
}

}  // namespace

TEST_CASE("sharded crash: SIGKILL between shards is repaired from the manifest on open",
          "[shard][crash]") {
  const int iterations = tagindex::testing::Full() ? 1000 : 150;
  std::mt19937_64 meta(4242);
  // On tmpfs when there is one: a SIGKILL does not need fsync to be real,
  // and without the disk's fsync latency the kills spread over the whole
  // protocol (between shards too) rather than over fsyncs.
  std::string tmpl = std::filesystem::is_directory("/dev/shm")
                         ? "/dev/shm/tagindex-shardcrash-XXXXXX"
                         : "/tmp/tagindex-shardcrash-XXXXXX";
  const std::string root = ::mkdtemp(tmpl.data());
  int total_acked = 0, forward = 0, back = 0;
  for (int it = 0; it < iterations; ++it) {
    const uint64_t seed = meta();
    const std::string dir = root + "/db" + std::to_string(it);
    // A SIGKILL is a process crash: what was written (write(2)) before an
    // acknowledgement survives without fsync, so most iterations use
    // SyncPolicy::kNone for the shards (the manifest is always fsynced);
    // every fourth uses kEveryWrite.
    const auto policy =
        it % 4 == 0 ? tagindex::SyncPolicy::kEveryWrite : tagindex::SyncPolicy::kNone;
    INFO("iteration " << it << " seed " << seed << " policy " << static_cast<int>(policy));
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      RunChild(dir, seed, policy, fds[1]);
    }
    ::close(fds[1]);
    const int kill_after = static_cast<int>(meta() % kOps);
    const unsigned delay_us = static_cast<unsigned>(meta() % 4000);
    int acked = 0;
    char buf[256];
    while (acked < kill_after) {
      if (::read(fds[0], buf, 1) <= 0) break;
      ++acked;
    }
    ::usleep(delay_us);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) acked += static_cast<int>(n);
    ::close(fds[0]);
    if (WIFEXITED(status)) REQUIRE(WEXITSTATUS(status) == 0);

    ShardedOpenOptions mem;
    mem.shard.create_if_missing = true;
    mem.create.shards = kShards;
    mem.threads = 1;
    auto oracle = ShardedIndex::CreateInMemory(mem).value();
    std::mt19937_64 rng(seed);
    for (int i = 0; i < acked; ++i) RandomShardedOp(rng, *oracle);
    const std::string after_acked = Dump(*oracle);
    RandomShardedOp(rng, *oracle);
    const std::string after_in_flight = Dump(*oracle);

    ShardedOpenOptions o;
    o.shard.create_if_missing = true;
    o.create.shards = kShards;
    auto reopened = ShardedIndex::Open(dir, o);
    INFO("acked " << acked << ": " << reopened.status());
    REQUIRE(reopened.ok());
    const std::string& report = (*reopened)->repair_report();
    if (report.find("forward") != std::string::npos) ++forward;
    if (report.find("back") != std::string::npos) ++back;
    const std::string got = Dump(**reopened);
    const bool match = got == after_acked || got == after_in_flight;
    if (!match) {
      INFO("repair: " << report << "\ngot:\n" << got << "\nwant:\n" << after_acked);
      CHECK(match);
    }
    // A second open finds nothing to repair.
    reopened->reset();
    auto again = ShardedIndex::Open(dir, o);
    REQUIRE(again.ok());
    CHECK((*again)->repair_report().empty());
    total_acked += acked;
    std::filesystem::remove_all(dir);
  }
  std::filesystem::remove_all(root);
  std::printf(
      "sharded crash: %d iterations, %d acknowledged ops, %d repairs rolled forward, "
      "%d rolled back\n",
      iterations, total_acked, forward, back);
  INFO("rolled forward " << forward << ", rolled back " << back << ", acked " << total_acked);
  CHECK(total_acked > iterations * 10);
  // The kills do land inside catalog changes, between shards.
  CHECK(forward + back > 0);
}

// Every write, sync and rename of a catalog change failing in turn (an
// in-memory file system with injected faults and power loss): the change
// fails or succeeds, and after the "power loss" the reopened index is in
// the state before the change or after it, on every shard.
TEST_CASE("sharded crash: a fault at every step of a catalog change is repaired",
          "[shard][crash]") {
  using tagindex::testing::MemFileSystem;
  int forward = 0, back = 0, points = 0;
  for (MemFileSystem::Op op :
       {MemFileSystem::Op::kWrite, MemFileSystem::Op::kSync, MemFileSystem::Op::kRename}) {
    for (int k = 1; k <= 40; ++k) {
      INFO("op " << static_cast<int>(op) << " fault at " << k);
      auto fs = std::make_shared<MemFileSystem>();
      ShardedOpenOptions o;
      o.shard.create_if_missing = true;
      o.create.shards = kShards;
      o.threads = 1;
      o.shard.file_system = fs;
      std::string before, after;
      {
        auto s = ShardedIndex::Open("/idx", o).value();
        REQUIRE(s->CreateCategory("互斥", {.exclusive = true}).ok());
        TagId t = s->CreateTag({.name = "旧名", .category = "互斥"}).value();
        REQUIRE(s->TagMany(t, std::vector<int64_t>{1, 2, 3, 4, 5, 6}).ok());
        before = Dump(*s);
        fs->FailAt(op, k);
        absl::Status st = s->RenameTag(t, "新名");
        fs->ClearFault();
        if (st.ok()) {
          after = Dump(*s);
        } else {
          // Later catalog changes fail too (the sharded index, or the
          // shard whose log failed, refuses writes until reopened).
          CHECK(!s->CreateTag({.name = "x"}).ok());
        }
        if (fs->faults_fired() > 0) ++points;
      }
      fs->Crash();
      auto reopened = ShardedIndex::Open("/idx", o);
      REQUIRE(reopened.ok());
      const std::string got = Dump(**reopened);
      const bool renamed = got.find("新名") != std::string::npos;
      CHECK((got == before || renamed));
      if (renamed) CHECK(got.find("旧名") == std::string::npos);
      if (!after.empty()) CHECK(got == after);  // acknowledged: never lost
      const std::string& report = (*reopened)->repair_report();
      forward += report.find("forward") != std::string::npos;
      back += report.find("back") != std::string::npos;
      for (uint32_t i = 0; i < kShards; ++i) {
        CHECK((*reopened)->shard(i).FindTag("互斥", renamed ? "新名" : "旧名").ok());
      }
    }
  }
  std::printf("sharded fault sweep: %d fault points, %d repairs rolled forward, %d back\n", points,
              forward, back);
  CHECK(points > 10);
  // A fault never leaves an intent that reached no shard durable (the
  // intent is withdrawn, or its manifest write is the fault), so the sweep
  // only rolls forward; the SIGKILL test above sees both.
  CHECK(forward > 0);
}

// Reshard killed at a random moment (SIGKILL of a forked child): the
// destination either does not exist or is complete (its deep dump equals
// the source's), and the source is untouched (same dump, opens without
// repair). The kill delays spread over a measured reshard's duration.
TEST_CASE("sharded crash: a reshard killed at any moment leaves no partial destination",
          "[shard][crash][reshard]") {
  const int iterations = tagindex::testing::Full() ? 60 : 10;
  std::string tmpl = std::filesystem::is_directory("/dev/shm")
                         ? "/dev/shm/tagindex-reshardcrash-XXXXXX"
                         : "/tmp/tagindex-reshardcrash-XXXXXX";
  const std::string root = ::mkdtemp(tmpl.data());
  const std::string src = root + "/src";
  {
    ShardedOpenOptions o;
    o.shard.create_if_missing = true;
    o.create.shards = kShards;
    o.shard.sync = tagindex::SyncPolicy::kNone;
    auto s = ShardedIndex::Open(src, o).value();
    std::mt19937_64 rng(777);
    for (int i = 0; i < 40; ++i) RandomShardedOp(rng, *s);
    std::vector<int64_t> keys;
    for (int64_t k = 0; k < 20000; ++k) keys.push_back(k * 7919);
    REQUIRE(s->AddCustomers(keys).ok());
    REQUIRE(s->CreateAttribute({.name = "余额"}).ok());
    std::vector<int64_t> values(keys.begin(), keys.end());
    REQUIRE(s->SetAttributeMany("余额", keys, values).ok());
    REQUIRE(s->Checkpoint().ok());
  }
  ShardedOpenOptions ro;
  ro.shard.create_if_missing = true;
  ro.shard.read_only = true;
  ro.shard.create_if_missing = false;
  const std::string want = tagindex::testing::DeepDump(*ShardedIndex::Open(src, ro).value());
  // How long one reshard takes here.
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(ShardedIndex::Reshard(src, root + "/timed", 5, 0, 2).ok());
  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::mt19937_64 meta(31337);
  int absent = 0, complete = 0;
  for (int it = 0; it < iterations; ++it) {
    const std::string dest = root + "/dest" + std::to_string(it);
    const unsigned delay_us =
        static_cast<unsigned>(meta() % static_cast<uint64_t>(us * 12 / 10 + 1));
    INFO("iteration " << it << ", killed after " << delay_us << " us of about " << us);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::_exit(ShardedIndex::Reshard(src, dest, 1 + it % 6, 0, 2).ok() ? 0 : 3);
    }
    ::usleep(delay_us);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) REQUIRE(WEXITSTATUS(status) == 0);
    if (std::filesystem::exists(dest)) {
      auto got = ShardedIndex::Open(dest, ro);
      REQUIRE(got.ok());
      CHECK((*got)->shard_count() == static_cast<uint32_t>(1 + it % 6));
      CHECK(tagindex::testing::DeepDump(**got) == want);
      ++complete;
    } else {
      ++absent;
    }
  }
  auto again = ShardedIndex::Open(src, ro);
  REQUIRE(again.ok());
  CHECK(tagindex::testing::DeepDump(**again) == want);
  std::printf(
      "reshard crash: %d iterations, %d destinations complete, %d absent (reshard %lld us)\n",
      iterations, complete, absent, static_cast<long long>(us));
  std::filesystem::remove_all(root);
}
