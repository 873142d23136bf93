// Randomised differential test: every mutation is applied to the Index and to
// a naive model (std::map / std::set), and the full state is compared.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tagindex/index.h"

using tagindex::Index;
using tagindex::IndexOptions;
using tagindex::KeyKind;
using tagindex::RowId;
using tagindex::TagId;
using Code = absl::StatusCode;

namespace {

struct ModelTag {
  std::string name;
  std::string category;
  std::set<RowId> rows;
};

// The naive model of an index with int64 keys.
struct Model {
  bool identity = false;
  std::map<int64_t, RowId> live;  // key -> row
  std::map<RowId, int64_t> key_of;
  uint64_t next_row = 0;
  std::map<uint32_t, ModelTag> tags;  // id -> tag
  std::set<std::string> exclusive;
  uint32_t next_tag = 0;

  RowId Register(int64_t key) {
    auto it = live.find(key);
    if (it != live.end()) return it->second;
    RowId row = identity ? static_cast<RowId>(key) : static_cast<RowId>(next_row++);
    if (identity) next_row = std::max<uint64_t>(next_row, uint64_t{row} + 1);
    live[key] = row;
    key_of[row] = key;
    return row;
  }
  void Tag(uint32_t tag, RowId row) {
    auto& t = tags.at(tag);
    if (exclusive.count(t.category)) {
      for (auto& [id, other] : tags) {
        if (id != tag && other.category == t.category) other.rows.erase(row);
      }
    }
    t.rows.insert(row);
  }
  void Remove(int64_t key) {
    RowId row = live.at(key);
    for (auto& [id, t] : tags) t.rows.erase(row);
    live.erase(key);
    key_of.erase(row);
  }
};

void CompareState(const Index& index, const Model& m, uint64_t seed, int step) {
  INFO("seed " << seed << " step " << step);
  REQUIRE(index.CustomerCount() == m.live.size());
  REQUIRE(index.RowIdLimit() == m.next_row);
  std::vector<RowId> want_universe;
  for (auto& [row, key] : m.key_of) want_universe.push_back(row);
  REQUIRE(index.LiveRows().value() == want_universe);
  REQUIRE(index.TagCount() == m.tags.size());
  for (const auto& [id, t] : m.tags) {
    INFO("tag " << t.name);
    auto rows = index.RowsWithTag(TagId{id});
    REQUIRE(rows.ok());
    REQUIRE(*rows == std::vector<RowId>(t.rows.begin(), t.rows.end()));
    REQUIRE(index.GetTag(TagId{id}).value().name == t.name);
  }
}

void RunSequence(uint64_t seed, bool identity, int steps) {
  std::mt19937_64 rng(seed);
  auto index =
      Index::Create(IndexOptions{.key_kind = identity ? KeyKind::kIdentity : KeyKind::kInt64})
          .value();
  Model m;
  m.identity = identity;
  REQUIRE(index->CreateCategory("freq", {.exclusive = true}).ok());
  m.exclusive.insert("freq");

  auto rand_int = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto random_key = [&] { return identity ? rand_int(0, 3000) : rand_int(-1500, 1500); };
  auto random_tag = [&]() -> uint32_t {
    // Mostly live tags; sometimes a deleted or never-created id.
    if (m.tags.empty() || rand_int(0, 19) == 0) return static_cast<uint32_t>(rand_int(0, 60));
    auto it = m.tags.begin();
    std::advance(it, rand_int(0, static_cast<int64_t>(m.tags.size()) - 1));
    return it->first;
  };
  auto expect = [&](const absl::Status& got, Code want, int step, const char* op) {
    INFO("seed " << seed << " step " << step << " op " << op << ": " << got.ToString());
    REQUIRE(got.code() == want);
  };

  for (int step = 0; step < steps; ++step) {
    const int op = static_cast<int>(rand_int(0, 99));
    if (op < 4 || m.tags.size() < 3) {  // create a tag
      const bool in_freq = rand_int(0, 2) == 0;
      std::string name = "t" + std::to_string(m.next_tag);
      std::string category = in_freq ? "freq" : (rand_int(0, 1) ? "兴趣" : "");
      auto id = index->CreateTag({.name = name, .category = category});
      INFO("seed " << seed << " step " << step);
      REQUIRE(id.ok());
      REQUIRE(id->value == m.next_tag);
      m.tags[m.next_tag++] = ModelTag{name, category, {}};
    } else if (op < 6) {  // delete a tag
      uint32_t tag = random_tag();
      absl::Status s = index->DeleteTag(TagId{tag});
      expect(s, m.tags.count(tag) ? Code::kOk : Code::kNotFound, step, "delete");
      m.tags.erase(tag);
    } else if (op < 8) {  // rename
      uint32_t tag = random_tag();
      std::string name = "r" + std::to_string(step);
      absl::Status s = index->RenameTag(TagId{tag}, name);
      expect(s, m.tags.count(tag) ? Code::kOk : Code::kNotFound, step, "rename");
      if (m.tags.count(tag)) m.tags[tag].name = name;
    } else if (op < 12) {  // remove a customer
      int64_t key = random_key();
      absl::Status s = index->RemoveCustomer(key);
      expect(s, m.live.count(key) ? Code::kOk : Code::kNotFound, step, "remove");
      if (m.live.count(key)) m.Remove(key);
    } else if (op < 40) {  // tag one
      uint32_t tag = random_tag();
      int64_t key = random_key();
      absl::Status s = index->Tag(TagId{tag}, key);
      expect(s, m.tags.count(tag) ? Code::kOk : Code::kNotFound, step, "tag");
      if (m.tags.count(tag)) m.Tag(tag, m.Register(key));
    } else if (op < 55) {  // untag one
      uint32_t tag = random_tag();
      int64_t key = random_key();
      absl::Status s = index->Untag(TagId{tag}, key);
      Code want = !m.tags.count(tag)   ? Code::kNotFound
                  : !m.live.count(key) ? Code::kNotFound
                                       : Code::kOk;
      expect(s, want, step, "untag");
      if (want == Code::kOk) m.tags[tag].rows.erase(m.live[key]);
    } else if (op < 75) {  // tag many (with duplicates)
      uint32_t tag = random_tag();
      std::vector<int64_t> keys(static_cast<size_t>(rand_int(0, 300)));
      for (auto& k : keys) k = random_key();
      absl::Status s = index->TagMany(TagId{tag}, keys);
      expect(s, m.tags.count(tag) ? Code::kOk : Code::kNotFound, step, "tag many");
      if (m.tags.count(tag)) {
        for (int64_t k : keys) m.Tag(tag, m.Register(k));
      }
    } else if (op < 85) {  // untag many
      uint32_t tag = random_tag();
      std::vector<int64_t> keys(static_cast<size_t>(rand_int(0, 200)));
      for (auto& k : keys) k = random_key();
      bool all_live = true;
      for (int64_t k : keys) all_live &= m.live.count(k) > 0;
      absl::Status s = index->UntagMany(TagId{tag}, keys);
      Code want = !m.tags.count(tag) ? Code::kNotFound : !all_live ? Code::kNotFound : Code::kOk;
      expect(s, want, step, "untag many");
      if (want == Code::kOk) {
        for (int64_t k : keys) m.tags[tag].rows.erase(m.live[k]);
      }
    } else if (op < 95) {  // tag / untag rows
      uint32_t tag = random_tag();
      std::vector<RowId> rows(static_cast<size_t>(rand_int(0, 100)));
      for (auto& r : rows) r = static_cast<RowId>(rand_int(0, static_cast<int64_t>(m.next_row)));
      bool all_live = true;
      for (RowId r : rows) all_live &= m.key_of.count(r) > 0;
      const bool untag = rand_int(0, 1) == 1;
      absl::Status s =
          untag ? index->UntagRows(TagId{tag}, rows) : index->TagRows(TagId{tag}, rows);
      Code want = !m.tags.count(tag) ? Code::kNotFound : !all_live ? Code::kNotFound : Code::kOk;
      expect(s, want, step, untag ? "untag rows" : "tag rows");
      if (want == Code::kOk) {
        for (RowId r : rows) {
          if (untag) {
            m.tags[tag].rows.erase(r);
          } else {
            m.Tag(tag, r);
          }
        }
      }
    } else {  // point reads
      int64_t key = random_key();
      uint32_t tag = random_tag();
      auto has = index->HasTag(TagId{tag}, key);
      if (m.live.count(key) && m.tags.count(tag)) {
        INFO("seed " << seed << " step " << step);
        REQUIRE(has.ok());
        REQUIRE(*has == (m.tags[tag].rows.count(m.live[key]) > 0));
        std::vector<TagId> want;
        for (auto& [id, t] : m.tags) {
          if (t.rows.count(m.live[key])) want.push_back(TagId{id});
        }
        REQUIRE(index->TagsOf(key).value() == want);
      } else {
        REQUIRE(has.status().code() == Code::kNotFound);
      }
    }
    if (step % 25 == 0 || step == steps - 1) CompareState(*index, m, seed, step);
  }
  // Exclusivity invariant over the whole run.
  std::map<RowId, int> freq_count;
  for (auto& [id, t] : m.tags) {
    if (t.category == "freq") {
      const std::vector<RowId> rows = index->RowsWithTag(TagId{id}).value();
      for (RowId r : rows) {
        INFO("seed " << seed << ": row " << r << " holds two exclusive tags");
        REQUIRE(++freq_count[r] == 1);
      }
    }
  }
}

}  // namespace

TEST_CASE("index oracle: random mutation sequences match a std::set model (int64 keys)",
          "[index][oracle]") {
  for (uint64_t seed : {11u, 12u, 13u, 14u, 15u}) RunSequence(seed, /*identity=*/false, 3000);
}

TEST_CASE("index oracle: random mutation sequences match a std::set model (identity keys)",
          "[index][oracle]") {
  for (uint64_t seed : {21u, 22u, 23u}) RunSequence(seed, /*identity=*/true, 3000);
}
