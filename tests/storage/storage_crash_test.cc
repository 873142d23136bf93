// A real crash test: a forked child applies random mutations to an index on
// disk and reports every acknowledgement through a pipe; the parent SIGKILLs
// it at a random moment, reopens the directory and checks that every
// acknowledged mutation is there and nothing else is wrong. The quick suite
// runs 100 iterations, TAGINDEX_FULL=1 runs 500.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::OpenOptions;
using tagindex::SyncPolicy;
using tagindex::testing::Dump;
using tagindex::testing::RandomOp;

namespace {

constexpr int kOps = 150;

[[noreturn]] void RunChild(const std::string& dir, uint64_t seed, SyncPolicy policy, int fd) {
  OpenOptions o;
  o.create_if_missing = true;
  o.sync = policy;
  o.group_commit_interval_ms = 1;
  auto index = Index::Open(dir, o);
  if (!index.ok()) ::_exit(3);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < kOps; ++i) {
    (void)RandomOp(rng, **index, /*allow_checkpoint=*/true);
    const char ack = 1;
    if (::write(fd, &ack, 1) != 1) ::_exit(4);
  }
  ::_exit(0);
}

}  // namespace

TEST_CASE("storage crash: SIGKILL at a random moment loses no acknowledged change",
          "[storage][crash]") {
  const char* full = std::getenv("TAGINDEX_FULL");
  const int iterations = full != nullptr && std::string(full) == "1" ? 500 : 100;
  std::mt19937_64 meta(12345);
  char tmpl[] = "/tmp/tagindex-crash-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  int total_acked = 0, nonempty = 0;
  for (int it = 0; it < iterations; ++it) {
    const uint64_t seed = meta();
    const SyncPolicy policy = it % 5 == 3   ? SyncPolicy::kGroupCommit
                              : it % 5 == 4 ? SyncPolicy::kNone
                                            : SyncPolicy::kEveryWrite;
    const std::string dir = root + "/db" + std::to_string(it);
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
    const unsigned delay_us = static_cast<unsigned>(meta() % 3000);
    int acked = 0;
    char buf[256];
    while (acked < kill_after) {
      ssize_t n = ::read(fds[0], buf, 1);
      if (n <= 0) break;
      ++acked;
    }
    if (delay_us % 2 == 0) ::usleep(delay_us);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    // Acknowledgements already in the pipe count too.
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) acked += static_cast<int>(n);
    ::close(fds[0]);
    if (WIFEXITED(status)) REQUIRE(WEXITSTATUS(status) == 0);

    // The child's ops depend only on the seed: replay them into an oracle.
    auto oracle = Index::Create().value();
    std::mt19937_64 rng(seed);
    for (int i = 0; i < acked; ++i) (void)RandomOp(rng, *oracle, false);
    const std::string after_acked = Dump(*oracle);
    (void)RandomOp(rng, *oracle, false);
    const std::string after_in_flight = Dump(*oracle);

    auto reopened = Index::Open(dir, {.create_if_missing = true});
    INFO("acked " << acked << ": " << reopened.status());
    if (!reopened.ok()) {
      // Killed before the index was first created: nothing was acknowledged.
      REQUIRE(acked == 0);
      continue;
    }
    const std::string got = Dump(**reopened);
    total_acked += acked;
    nonempty += (**reopened).TagCount() > 0 ? 1 : 0;
    const bool match = got == after_acked || got == after_in_flight;
    if (!match) {
      INFO("got:\n" << got << "\nwant:\n" << after_acked);
      CHECK(match);
    }
  }
  std::filesystem::remove_all(root);
  // The test must exercise something: most kills land after many changes.
  CHECK(total_acked > iterations * 20);
  CHECK(nonempty > iterations / 2);
}
