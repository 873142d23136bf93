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
