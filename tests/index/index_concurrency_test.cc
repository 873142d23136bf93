// Many readers and one writer at once: readers must always see a consistent
// state (checked through invariants the writer maintains), and nothing may
// crash or race (run under the asan preset; TSan-clean by construction of
// the reader/writer lock).
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "tagindex/index.h"

using tagindex::Index;
using tagindex::RowId;
using tagindex::TagId;

TEST_CASE(
    "index concurrency: readers see exclusive-category invariants while a writer moves "
    "customers",
    "[index][concurrency]") {
  auto index = Index::Create().value();
  REQUIRE(index->CreateCategory("freq", {.exclusive = true}).ok());
  const TagId a = index->CreateTag({.name = "a", .category = "freq"}).value();
  const TagId b = index->CreateTag({.name = "b", .category = "freq"}).value();
  std::vector<int64_t> keys(2000);
  for (int64_t i = 0; i < 2000; ++i) keys[i] = i;
  REQUIRE(index->TagMany(a, keys).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        // Every customer holds exactly one of a/b at every instant, so the
        // counts always add up (each call is atomic on its own).
        auto tags = index->ListTags().value();
        uint64_t total = 0;
        for (const auto& t : tags) total += t.count;
        if (total != 2000) violations++;
        auto has = index->TagsOf(int64_t{7});
        if (!has.ok() || has->size() != 1) violations++;
        reads++;
      }
    });
  }
  // Start writing only once every reader has read at least once, so the
  // test really overlaps them even on a loaded machine.
  while (reads.load() < 3) std::this_thread::yield();
  for (int round = 0; round < 200; ++round) {
    const TagId to = round % 2 ? a : b;
    std::vector<int64_t> batch(keys.begin() + (round % 10) * 200,
                               keys.begin() + (round % 10) * 200 + 200);
    REQUIRE(index->TagMany(to, batch).ok());
    REQUIRE(index->Tag(to, int64_t{7}).ok());
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(violations.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(index->TagCardinality(a).value() + index->TagCardinality(b).value() == 2000);
}

// CompiledQuery::Count reads the current version without a pin (a hazard
// slot, index/version.h ReadGuard) while one-row commits are made in place
// and batches are copied: a count must always see one whole version. The
// writer tags y before x (each its own commit), so no version ever has a
// member of x outside y, and x only grows; readers check both on every
// count. Run under the tsan preset too.
TEST_CASE("index concurrency: lock-free counts during in-place and copied commits",
          "[index][concurrency]") {
  constexpr int64_t kCustomers = 6000;
  auto index = Index::Create().value();
  const TagId x = index->CreateTag({.name = "x"}).value();
  const TagId y = index->CreateTag({.name = "y"}).value();
  std::vector<int64_t> keys(kCustomers);
  for (int64_t i = 0; i < kCustomers; ++i) keys[i] = i;
  REQUIRE(index->AddCustomers(keys).ok());
  const tagindex::CompiledQuery outside = index->Compile("x AND NOT y").value();
  const tagindex::CompiledQuery members = index->Compile("x").value();

  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      uint64_t last = 0;
      long n = 0;
      while (!stop.load()) {
        auto bad = outside.Count();
        if (!bad.ok() || *bad != 0) violations++;
        auto now = members.Count();
        if (!now.ok() || *now < last || *now > static_cast<uint64_t>(kCustomers)) violations++;
        if (now.ok()) last = *now;
        // One reader also pins versions now and then (a held snapshot makes
        // the next commit copy).
        if (r == 0 && ++n % 64 == 0) {
          auto snap = index->GetSnapshot();
          if (snap.TagCardinality(x).value_or(1) > snap.TagCardinality(y).value_or(0)) violations++;
        }
        reads++;
      }
    });
  }
  while (reads.load() < 3) std::this_thread::yield();
  int64_t next = 0;
  while (next < kCustomers) {
    if (next % 500 == 0 && next + 100 <= kCustomers) {
      const std::vector<int64_t> batch(keys.begin() + next, keys.begin() + next + 100);
      REQUIRE(index->TagMany(y, batch).ok());
      REQUIRE(index->TagMany(x, batch).ok());
      next += 100;
      continue;
    }
    REQUIRE(index->Tag(y, next).ok());
    REQUIRE(index->Tag(x, next).ok());
    ++next;
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(violations.load() == 0);
  CHECK(members.Count().value() == static_cast<uint64_t>(kCustomers));
  CHECK(outside.Count().value() == 0);
  // After the index is gone a compiled query says so (its version is gone
  // from the cell; nothing it read is kept).
  index.reset();
  CHECK(members.Count().status().code() == absl::StatusCode::kFailedPrecondition);
}
