// Queries of the flat-AND shape — positive tags, NOT tags and ORs of tags, at
// least one positive tag — skip the planner (src/index/index_query.cc, FlatAnd)
// and call the fused kernel directly. These tests hold that path to a
// sorted-vector oracle on multi-chunk tags of every container kind (arrays,
// bitsets, runs, empty, tags in disjoint chunks), through CompiledQuery::Count
// and Run, Index::Count and Query, and a Snapshot's compiled query; and check
// that it follows new versions and reports deleted tags like the planner does.
// Seeds are printed on failure.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "index/access.h"
#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::RowId;
using tagindex::TagId;

namespace {

using Set = std::vector<RowId>;  // sorted, distinct: the oracle

constexpr RowId kRows = 400000;  // 7 chunks of 2^16 rows

struct Model {
  std::unique_ptr<Index> index;
  std::vector<std::string> names;
  std::vector<TagId> ids;
  std::vector<Set> rows;
};

void AddTag(Model& m, const std::string& name, const Set& rows) {
  const TagId id = m.index->CreateTag({.name = name}).value();
  REQUIRE(m.index->TagRows(id, rows).ok());
  m.names.push_back(name);
  m.ids.push_back(id);
  m.rows.push_back(rows);
}

Model MakeModel(uint64_t seed) {
  Model m;
  m.index = Index::Create({.key_kind = tagindex::KeyKind::kIdentity}).value();
  std::vector<int64_t> keys(kRows);
  for (RowId i = 0; i < kRows; ++i) keys[i] = i;
  REQUIRE(m.index->AddCustomers(keys).ok());
  std::mt19937_64 rng(seed);
  // Uniform densities: array containers (sparse) to bitsets (dense).
  for (double p : {0.0005, 0.01, 0.05, 0.3, 0.7}) {
    Set s;
    for (RowId r = 0; r < kRows; ++r) {
      if (std::uniform_real_distribution<double>(0, 1)(rng) < p) s.push_back(r);
    }
    AddTag(m, "u" + std::to_string(static_cast<int>(p * 10000)), s);
  }
  // Cohorts: a few id ranges (run containers).
  for (int t = 0; t < 3; ++t) {
    Set s;
    for (int run = 0; run < 4; ++run) {
      const RowId begin = static_cast<RowId>(rng() % kRows);
      const RowId len = static_cast<RowId>(rng() % 90000);
      for (RowId r = begin; r < std::min<RowId>(kRows, begin + len); ++r) s.push_back(r);
    }
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
    AddTag(m, "c" + std::to_string(t), s);
  }
  // Tags confined to one chunk each (ANDs of them are empty at the key level).
  for (RowId chunk : {0u, 2u, 5u}) {
    Set s;
    for (RowId r = chunk << 16; r < (chunk + 1) << 16; r += 1 + static_cast<RowId>(rng() % 7)) {
      s.push_back(r);
    }
    AddTag(m, "k" + std::to_string(chunk), s);
  }
  AddTag(m, "empty", Set());
  return m;
}

Set Inter(const Set& a, const Set& b) {
  Set out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}
Set Union(const Set& a, const Set& b) {
  Set out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}
Set Minus(const Set& a, const Set& b) {
  Set out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// A random flat AND and its oracle answer.
std::string RandomFlat(const Model& m, std::mt19937_64& rng, Set* want) {
  auto pick = [&] { return static_cast<size_t>(rng() % m.names.size()); };
  std::string text;
  const int positives = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < positives; ++i) {
    const size_t t = pick();
    text += (text.empty() ? "" : " AND ") + m.names[t];
    *want = i == 0 ? m.rows[t] : Inter(*want, m.rows[t]);
  }
  const int groups = static_cast<int>(rng() % 3);
  for (int g = 0; g < groups; ++g) {
    const int arms = 2 + static_cast<int>(rng() % 3);
    Set any;
    text += " AND (";
    for (int a = 0; a < arms; ++a) {
      const size_t t = pick();
      text += (a == 0 ? "" : " OR ") + m.names[t];
      any = Union(any, m.rows[t]);
    }
    text += ")";
    *want = Inter(*want, any);
  }
  const int negatives = static_cast<int>(rng() % 3);
  for (int i = 0; i < negatives; ++i) {
    const size_t t = pick();
    text += " AND NOT " + m.names[t];
    *want = Minus(*want, m.rows[t]);
  }
  return text;
}

int Queries() {
  const char* full = std::getenv("TAGINDEX_FULL");
  return full != nullptr && std::string(full) == "1" ? 5000 : 150;
}

}  // namespace

TEST_CASE("flat AND: counts and rows agree with a sorted-vector oracle", "[query][flat]") {
  const uint64_t model_seed = 20261201;
  Model m = MakeModel(model_seed);
  const tagindex::Snapshot snap = m.index->GetSnapshot();
  int flat = 0;  // queries that took the path under test (a tag ANDed with its
                 // own NOT normalises to NONE and takes the planner)
  for (int i = 0; i < Queries(); ++i) {
    const uint64_t seed = 77 + static_cast<uint64_t>(i);
    std::mt19937_64 rng(seed);
    Set want;
    const std::string text = RandomFlat(m, rng, &want);
    INFO("model seed " << model_seed << ", query seed " << seed << ": " << text);
    const std::vector<RowId> rows(want.begin(), want.end());
    auto q = m.index->Compile(text);
    REQUIRE(q.ok());
    flat += tagindex::internal::Access::Data(*q).flat.has_value() ? 1 : 0;
    auto count = q->Count();
    REQUIRE(count.ok());
    CHECK(*count == want.size());
    auto run = q->Run();
    REQUIRE(run.ok());
    CHECK(run->Rows().value() == rows);
    CHECK(m.index->Count(text).value() == want.size());
    CHECK(m.index->Query(text).value().Rows().value() == rows);
    auto sq = snap.Compile(text);
    REQUIRE(sq.ok());
    CHECK(sq->Count().value() == want.size());
    CHECK(sq->Run().value().Rows().value() == rows);
  }
  INFO(flat << " of " << Queries() << " queries were flat ANDs");
  CHECK(flat >= Queries() * 3 / 4);
}

TEST_CASE("flat AND: a compiled query follows new versions; a snapshot's does not",
          "[query][flat]") {
  Model m = MakeModel(5);
  const std::string text = "u500 AND c0 AND NOT u100";
  const Set before = Minus(Inter(m.rows[2], m.rows[5]), m.rows[1]);
  const tagindex::CompiledQuery q = m.index->Compile(text).value();
  const tagindex::CompiledQuery pinned = m.index->GetSnapshot().Compile(text).value();
  REQUIRE(q.Count().value() == before.size());
  // Tag every row of chunk 3 with u500 and c0: the answer gains them (less u10).
  std::vector<RowId> chunk3;
  for (RowId r = 3u << 16; r < 4u << 16; ++r) chunk3.push_back(r);
  REQUIRE(m.index->TagRows(m.ids[2], chunk3).ok());
  REQUIRE(m.index->TagRows(m.ids[5], chunk3).ok());
  const Set after = Minus(Union(before, chunk3), m.rows[1]);
  CHECK(q.Count().value() == after.size());
  CHECK(q.Run().value().Rows().value() == std::vector<RowId>(after.begin(), after.end()));
  CHECK(pinned.Count().value() == before.size());
  CHECK(pinned.Run().value().Rows().value() == std::vector<RowId>(before.begin(), before.end()));
}

TEST_CASE("flat AND: a tag deleted after compiling is reported, as by the planner",
          "[query][flat]") {
  Model m = MakeModel(6);
  const tagindex::CompiledQuery a = m.index->Compile("u500 AND k2").value();
  const tagindex::CompiledQuery b = m.index->Compile("u500 AND NOT k2").value();
  const tagindex::CompiledQuery c = m.index->Compile("u500 AND (u100 OR k2)").value();
  REQUIRE(m.index->DeleteTag(m.ids[9]).ok());  // k2
  for (const tagindex::CompiledQuery* q : {&a, &b, &c}) {
    INFO(q->text());
    REQUIRE(tagindex::internal::Access::Data(*q).flat.has_value());
    auto count = q->Count();
    REQUIRE_FALSE(count.ok());
    CHECK(count.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(std::string(count.status().message()).find("was deleted") != std::string::npos);
    auto run = q->Run();
    REQUIRE_FALSE(run.ok());
    CHECK(run.status().code() == absl::StatusCode::kFailedPrecondition);
  }
}
