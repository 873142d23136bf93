// Bulk TagRows / UntagRows (issue #16): a batch of Bitmap::kBulkBatch rows or
// more is checked against the universe as one bitmap operation. The outcome
// (OK and the members, or the first offending row with its batch position,
// the ErrorInfo and the BatchError) is compared with a std::set model that
// checks row by row, on random batches with dead, never-assigned and
// duplicated rows, alone and after items of the same WriteBatch that add or
// remove customers.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bitmap/bitmap.h"
#include "tagindex/errors.h"
#include "tagindex/index.h"
#include "tagindex/write_batch.h"

namespace tagindex {
namespace {

bool FullRun() {
  const char* f = std::getenv("TAGINDEX_FULL");
  return f != nullptr && std::string(f) == "1";
}

TEST_CASE("bulk TagRows: the batch universe check matches a per-row model", "[index][bulk]") {
  const int seeds = FullRun() ? 400 : 40;
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    const uint32_t n = 1000 + static_cast<uint32_t>(rng() % 5000);
    auto index = Index::Create({.key_kind = KeyKind::kIdentity}).value();
    const TagId t = index->CreateTag({.name = "t"}).value();
    std::vector<int64_t> keys(n);
    for (uint32_t i = 0; i < n; ++i) keys[i] = i;
    REQUIRE(index->AddCustomers(keys).ok());
    std::set<RowId> live(keys.begin(), keys.end());
    for (uint32_t i = 0; i < n / 10; ++i) {
      const RowId r = static_cast<RowId>(rng() % n);
      if (live.erase(r) != 0) REQUIRE(index->RemoveRow(r).ok());
    }
    std::set<RowId> members;
    for (int round = 0; round < 6; ++round) {
      INFO("round " << round);
      // Some batches are clean; others hold a few bad rows anywhere.
      const bool clean = rng() % 2 == 0;
      const size_t size = Bitmap::kBulkBatch + rng() % 700;
      std::vector<RowId> rows;
      for (size_t i = 0; i < size; ++i) {
        if (!clean && rng() % 200 == 0) {
          rows.push_back(static_cast<RowId>(rng() % (n + 500)));  // dead, live or never assigned
        } else if (!rows.empty() && rng() % 10 == 0) {
          rows.push_back(rows[rng() % rows.size()]);  // a duplicate
        } else {
          auto it = live.lower_bound(static_cast<RowId>(rng() % n));
          rows.push_back(it != live.end() ? *it : *live.begin());
        }
      }
      if (rng() % 3 != 0) std::shuffle(rows.begin(), rows.end(), rng);
      const bool add = rng() % 3 != 0;
      const int mode = static_cast<int>(rng() % 3);  // 0 call, 1 batch, 2 batch after changes
      std::set<RowId> now_live = live;
      WriteBatch batch;
      std::vector<RowId> gone;
      std::vector<int64_t> fresh;
      if (mode == 2) {
        // Earlier items: remove a few live rows (some of them in `rows`),
        // register customers beyond the universe (some rows refer to them).
        for (int i = 0; i < 5; ++i) {
          const RowId r = rows[rng() % rows.size()];
          if (now_live.erase(r) != 0) gone.push_back(r);
        }
        const uint64_t limit = index->RowIdLimit();
        for (uint64_t k = limit; k < limit + 20; ++k) {
          fresh.push_back(static_cast<int64_t>(k));
          now_live.insert(static_cast<RowId>(k));
          if (rng() % 2 == 0) rows[rng() % rows.size()] = static_cast<RowId>(k);
        }
        batch.RemoveRows(gone);
        batch.AddCustomers(fresh);
      }
      size_t first_bad = rows.size();
      for (size_t i = 0; i < rows.size(); ++i) {
        if (now_live.count(rows[i]) == 0) {
          first_bad = i;
          break;
        }
      }
      absl::Status st;
      if (mode == 0) {
        st = add ? index->TagRows(t, rows) : index->UntagRows(t, rows);
      } else {
        if (add) {
          batch.TagRows(t, rows);
        } else {
          batch.UntagRows(t, rows);
        }
        st = index->Write(batch);
      }
      INFO(st.ToString());
      if (first_bad == rows.size()) {
        REQUIRE(st.ok());
        live = now_live;
        for (RowId r : gone) members.erase(r);
        for (RowId r : rows) {
          if (add) {
            members.insert(r);
          } else {
            members.erase(r);
          }
        }
      } else {
        const RowId bad = rows[first_bad];
        REQUIRE(st.code() == absl::StatusCode::kNotFound);
        const std::string want = "index: row " + std::to_string(bad) +
                                 " is not a live customer (batch position " +
                                 std::to_string(first_bad) + ")";
        CHECK(std::string(st.message()).find(want) != std::string::npos);
        auto info = GetErrorInfo(st);
        REQUIRE(info.has_value());
        CHECK(info->kind == ErrorKind::kUnknownCustomer);
        CHECK(info->subject == "row " + std::to_string(bad));
        if (mode != 0) {
          auto be = GetBatchError(st);
          REQUIRE(be.has_value());
          CHECK(be->item == (mode == 2 ? 2u : 0u));
          CHECK(be->subject == "row " + std::to_string(bad));
        }
      }
      const std::vector<RowId> got = index->RowsWithTag(t).value();
      CHECK(got == std::vector<RowId>(members.begin(), members.end()));
      CHECK(index->LiveRows().value() == std::vector<RowId>(live.begin(), live.end()));
    }
  }
}

}  // namespace
}  // namespace tagindex
