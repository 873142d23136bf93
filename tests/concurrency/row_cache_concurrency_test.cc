// Readers building the attribute row cache (bitmap/bsi.h: ski-rental
// counters, chunks published by compare-and-swap, shared by Copy()) while a
// writer changes the column: every answer is checked against the writer's
// model of the version the reader holds, and the tsan preset runs this
// binary under ThreadSanitizer.
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bitmap/bitmap.h"
#include "bitmap/bsi.h"
#include "tagindex/index.h"

using tagindex::Bitmap;
using tagindex::Bsi;

namespace {

constexpr uint32_t kRows = 4 * 65536;

// A published version of the column with the answers its model gives.
struct Version {
  Bsi bsi;
  std::vector<uint64_t> counts;  // per filter: rows with value >= kBound
  std::vector<tagindex::Int128> sums;
};

constexpr int64_t kBound = 500;

void Expect(Version* v, const std::vector<int64_t>& model,
            const std::vector<std::vector<uint32_t>>& filters) {
  v->counts.clear();
  v->sums.clear();
  for (const auto& rows : filters) {
    uint64_t c = 0;
    tagindex::Int128 s = 0;
    for (uint32_t r : rows) {
      c += model[r] >= kBound;
      s += model[r];
    }
    v->counts.push_back(c);
    v->sums.push_back(s);
  }
}

// Copy-on-write versions of one column, as the index keeps them: the
// writer copies the current version (sharing its built chunks and rent),
// changes the copy (dropping the chunks it touches) and publishes it, while
// readers of older and newer versions build chunks and gather from them.
void RunCopyOnWrite(Bsi::RowCacheMode mode, uint64_t seed) {
  INFO("seed " << seed << " mode " << static_cast<int>(mode));
  Bsi::SetRowCacheForTesting(mode, Bsi::kRowCacheMaxRows, Bsi::RowCacheRent(20) * 2);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> model(kRows);
  std::vector<uint32_t> all(kRows);
  for (uint32_t r = 0; r < kRows; ++r) {
    all[r] = r;
    model[r] = static_cast<int64_t>(rng() % 1000);
  }
  // Small filters: ~20 rows per chunk, in every chunk.
  std::vector<std::vector<uint32_t>> filter_rows(4);
  for (auto& rows : filter_rows) {
    for (uint32_t r = static_cast<uint32_t>(rng() % 3000); r < kRows;
         r += 2000 + static_cast<uint32_t>(rng() % 2000)) {
      rows.push_back(r);
    }
  }
  std::vector<Bitmap> filters;
  for (const auto& rows : filter_rows) filters.push_back(Bitmap::FromIds(rows));
  auto first = std::make_shared<Version>();
  first->bsi = Bsi::Build(all, model);
  Expect(first.get(), model, filter_rows);
  std::mutex mu;
  std::shared_ptr<const Version> current = first;
  auto load = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return current;
  };

  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      uint64_t k = static_cast<uint64_t>(t);
      while (!stop.load()) {
        const std::shared_ptr<const Version> v = load();
        const size_t i = k++ % filters.size();
        const Bsi::Interval iv{kBound, INT64_MAX};
        if (v->bsi.SelectCount({&iv, 1}, &filters[i]) != v->counts[i]) violations++;
        if (v->bsi.Select({&iv, 1}, &filters[i]).Cardinality() != v->counts[i]) violations++;
        const Bsi::Summary s =
            v->bsi.Summarize(&filters[i], {.sum = true, .min = false, .max = false});
        if (s.sum != v->sums[i] || s.count != filter_rows[i].size()) violations++;
        reads++;
      }
    });
  }
  while (reads.load() < 3) std::this_thread::yield();
  for (int round = 0; round < 150; ++round) {
    auto next = std::make_shared<Version>();
    next->bsi = load()->bsi.Copy();
    // A few rows in one or two chunks change; the other chunks stay shared.
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int j = 0; j < n; ++j) {
      const uint32_t r = static_cast<uint32_t>(rng() % (kRows / 2)) + (round % 2) * (kRows / 2);
      const int64_t value = static_cast<int64_t>(rng() % 1000);
      next->bsi.Set(r, value);
      model[r] = value;
    }
    Expect(next.get(), model, filter_rows);
    std::lock_guard<std::mutex> lock(mu);
    current = next;
  }
  // Let the readers work on the final version until it has built chunks
  // (the policy's threshold is two visits' rent).
  while (load()->bsi.RowCacheChunks() == 0) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(violations.load() == 0);
  CHECK(reads.load() > 0);
  Bsi::SetRowCacheForTesting(Bsi::RowCacheMode::kAuto);
}

}  // namespace

TEST_CASE("row cache concurrency: readers build chunks while a writer publishes copies",
          "[bsi][concurrency]") {
  RunCopyOnWrite(Bsi::RowCacheMode::kAuto, 11);
  RunCopyOnWrite(Bsi::RowCacheMode::kAlways, 12);
}

// Through the index: readers count `消费金额 >= 500 AND 小标签` and sum the
// column over the tag's segment while a writer swaps the values of two
// members of the tag (one SetAttributeRows call, so each read sees either
// version): the count and the sum never change.
TEST_CASE(
    "row cache concurrency: index readers see a constant count and sum while a writer "
    "permutes values",
    "[index][concurrency]") {
  Bsi::SetRowCacheForTesting(Bsi::RowCacheMode::kAuto, Bsi::kRowCacheMaxRows,
                             Bsi::RowCacheRent(16) * 2);
  tagindex::IndexOptions o;
  o.key_kind = tagindex::KeyKind::kIdentity;
  auto index = tagindex::Index::Create(o).value();
  std::mt19937_64 rng(21);
  std::vector<int64_t> keys(kRows);
  std::vector<tagindex::RowId> rows(kRows);
  std::vector<int64_t> values(kRows);
  for (uint32_t r = 0; r < kRows; ++r) {
    keys[r] = r;
    rows[r] = r;
    values[r] = static_cast<int64_t>(rng() % 1000);
  }
  REQUIRE(index->AddCustomers(keys).ok());
  REQUIRE(index->CreateAttribute({.name = "消费金额"}).ok());
  REQUIRE(index->SetAttributeRows("消费金额", rows, values).ok());
  const tagindex::TagId tag = index->CreateTag({.name = "小标签"}).value();
  std::vector<tagindex::RowId> members;
  for (uint32_t r = 7; r < kRows; r += 4001) members.push_back(r);  // ~16 per chunk
  REQUIRE(index->TagRows(tag, members).ok());
  uint64_t want_count = 0;
  absl::int128 want_sum = 0;
  for (uint32_t r : members) {
    want_count += values[r] >= 500;
    want_sum += values[r];
  }
  const tagindex::Segment segment = index->Query("小标签").value();

  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto c = index->Count("消费金额 >= 500 AND 小标签");
        if (!c.ok() || *c != want_count) violations++;
        auto s = index->SummarizeAttribute("消费金额", &segment,
                                           {.sum = true, .min = false, .max = false});
        if (!s.ok() || s->sum != want_sum) violations++;
        reads++;
      }
    });
  }
  while (reads.load() < 3) std::this_thread::yield();
  for (int round = 0; round < 300; ++round) {
    const size_t a = rng() % members.size(), b = rng() % members.size();
    const std::vector<tagindex::RowId> pair = {members[a], members[b]};
    const std::vector<int64_t> swapped = {values[members[b]], values[members[a]]};
    REQUIRE(index->SetAttributeRows("消费金额", pair, swapped).ok());
    std::swap(values[members[a]], values[members[b]]);
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(violations.load() == 0);
  CHECK(reads.load() > 0);
  Bsi::SetRowCacheForTesting(Bsi::RowCacheMode::kAuto);
}
