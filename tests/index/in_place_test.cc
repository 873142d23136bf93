// In-place commits (issue #9: the cost of a one-key Tag): a one-row change
// of a version nobody has pinned is made on that version itself instead of
// a copy (mutation_apply.cc Commit, WriteDomain::LockUnpinned). Random
// single-key and single-row Tag/Untag, upserts, batches, exclusive
// categories and index reads are interleaved with snapshots taken, held and
// dropped at random; every held snapshot must keep answering exactly what
// the std::set model said when it was taken, and the index must agree with
// the model throughout. The test also asserts that both kinds of commit
// happened (in place and copied), so it exercises the path it is about.
// Seeds are printed on failure.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "index/access.h"
#include "index/index_state.h"
#include "tagindex/index.h"
#include "tagindex/snapshot.h"
#include "tagindex/write_batch.h"

namespace tagindex {
namespace {

bool FullRun() {
  const char* f = std::getenv("TAGINDEX_FULL");
  return f != nullptr && std::string(f) == "1";
}

// Members of each tag, by row.
using Model = std::vector<std::set<RowId>>;

void ExpectTags(const Snapshot& snap, const std::vector<TagId>& tags, const Model& model,
                const char* what) {
  for (size_t t = 0; t < tags.size(); ++t) {
    INFO(what << ", tag " << t);
    auto rows = snap.RowsWithTag(tags[t]);
    REQUIRE(rows.ok());
    REQUIRE(std::vector<RowId>(model[t].begin(), model[t].end()) == *rows);
  }
}

TEST_CASE("in-place commits never change a pinned version", "[index][in_place]") {
  const int seeds = FullRun() ? 40 : 2;
  const int ops = FullRun() ? 6000 : 1500;
  for (KeyKind kind : {KeyKind::kInt64, KeyKind::kIdentity}) {
    for (int seed = 1; seed <= seeds; ++seed) {
      const bool create = seed % 2 == 0;
      INFO("seed " << seed << " key kind " << static_cast<int>(kind) << " create " << create);
      std::mt19937_64 rng(static_cast<uint64_t>(seed) * 104729 + static_cast<uint64_t>(kind));
      IndexOptions o;
      o.key_kind = kind;
      o.create_missing_customers = create;
      auto index = Index::Create(o).value();
      REQUIRE(index->CreateCategory("freq", {.exclusive = true}).ok());
      // plain, plain, exclusive A, exclusive B
      std::vector<TagId> tags = {index->CreateTag({.name = "p0"}).value(),
                                 index->CreateTag({.name = "p1"}).value(),
                                 index->CreateTag({.name = "high", .category = "freq"}).value(),
                                 index->CreateTag({.name = "low", .category = "freq"}).value()};
      // 200,000 customers over four containers of row ids; keys spread
      // (int64) or equal to the row (identity).
      const int64_t n = 200'000;
      auto key_of = [&](int64_t i) { return kind == KeyKind::kIdentity ? i : i * 7919 + 1380000; };
      std::vector<int64_t> keys;
      for (int64_t i = 0; i < n; ++i) keys.push_back(key_of(i));
      REQUIRE(index->AddCustomers(keys).ok());
      std::vector<RowId> row_of(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        row_of[static_cast<size_t>(i)] = *index->FindCustomer(keys[i]);
      Model model(tags.size());
      // p0 dense (bitset containers), p1 sparse (arrays).
      std::vector<int64_t> dense;
      std::vector<int64_t> sparse;
      for (int64_t i = 0; i < n; ++i) {
        if (rng() % 2 == 0) dense.push_back(keys[static_cast<size_t>(i)]);
        if (rng() % 50 == 0) sparse.push_back(keys[static_cast<size_t>(i)]);
      }
      REQUIRE(index->TagMany(tags[0], dense).ok());
      REQUIRE(index->TagMany(tags[1], sparse).ok());
      for (int64_t k : dense) model[0].insert(*index->FindCustomer(k));
      for (int64_t k : sparse) model[1].insert(*index->FindCustomer(k));
      int64_t next_new = n;  // upserts: keys past the registered ones

      struct Held {
        Snapshot snap;
        Model model;
        uint64_t customers;
      };
      std::vector<Held> held;
      auto& domain = *internal::Access::State(*index).domain;
      const uint64_t in_place_before = domain.in_place_commits;
      uint64_t commits = 0;

      for (int op = 0; op < ops; ++op) {
        INFO("op " << op);
        const int what = static_cast<int>(rng() % 100);
        const size_t t = rng() % tags.size();
        const size_t i = rng() % static_cast<size_t>(n);
        const bool add = rng() % 3 != 0;
        auto change = [&](RowId row) {
          if (add) {
            if (t >= 2) model[t == 2 ? 3 : 2].erase(row);  // exclusive siblings
            model[t].insert(row);
          } else {
            model[t].erase(row);
          }
        };
        if (what < 45) {  // one key
          const int64_t key = keys[i];
          REQUIRE((add ? index->Tag(tags[t], key) : index->Untag(tags[t], key)).ok());
          change(row_of[i]);
          ++commits;
        } else if (what < 60) {  // one row
          const RowId row = row_of[i];
          REQUIRE((add ? index->TagRow(tags[t], row) : index->UntagRow(tags[t], row)).ok());
          change(row);
          ++commits;
        } else if (what < 65) {  // a batch of three keys (never in place)
          std::vector<int64_t> three = {keys[i], keys[(i + 1) % keys.size()],
                                        keys[(i + 7) % keys.size()]};
          std::vector<RowId> rows = {row_of[i], row_of[(i + 1) % keys.size()],
                                     row_of[(i + 7) % keys.size()]};
          REQUIRE((add ? index->TagMany(tags[t], three) : index->UntagMany(tags[t], three)).ok());
          for (RowId r : rows) change(r);
          ++commits;
        } else if (what < 70 && create && add) {  // upsert: a new customer (copied)
          const int64_t key = key_of(next_new++);
          REQUIRE(index->Tag(tags[t], key).ok());
          const RowId row = *index->FindCustomer(key);
          change(row);
          ++commits;
        } else if (what < 78) {  // take a snapshot (at most four held)
          if (held.size() == 4) held.erase(held.begin());
          held.push_back({index->GetSnapshot(), model, index->CustomerCount()});
        } else if (what < 86) {  // drop one
          if (!held.empty()) held.erase(held.begin() + static_cast<long>(rng() % held.size()));
        } else if (what < 92) {  // an index read (pins for the call only)
          auto has = index->HasTagRow(tags[t], row_of[i]);
          REQUIRE(has.ok());
          REQUIRE(*has == (model[t].count(row_of[i]) > 0));
        } else if (what < 94) {  // a query segment held like a snapshot
          auto seg = index->Query("p0 OR p1");
          REQUIRE(seg.ok());
          std::set<RowId> expect = model[0];
          expect.insert(model[1].begin(), model[1].end());
          // Twenty one-key Tags of p0 after it (in place once the next
          // version is unpinned); the segment must not see them.
          for (int k = 0; k < 20; ++k) {
            const size_t j = rng() % keys.size();
            REQUIRE(index->Tag(tags[0], keys[j]).ok());
            model[0].insert(row_of[j]);
          }
          auto rows = seg->Rows();
          REQUIRE(rows.ok());
          REQUIRE(std::vector<RowId>(expect.begin(), expect.end()) == *rows);
          commits += 20;
        }
        if (op % 300 == 299 || op == ops - 1) {
          for (const Held& h : held) {
            ExpectTags(h.snap, tags, h.model, "held snapshot");
            REQUIRE(h.snap.CustomerCount() == h.customers);
          }
          ExpectTags(index->GetSnapshot(), tags, model, "index");
        }
      }
      const uint64_t in_place = domain.in_place_commits - in_place_before;
      INFO("commits " << commits << ", in place " << in_place);
      CHECK(in_place > commits / 10);
      CHECK(in_place < commits);
    }
  }
}

}  // namespace
}  // namespace tagindex
