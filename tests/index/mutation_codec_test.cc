// Every mutation kind round-trips through the log codec (randomised, fixed
// seeds), alone and inside a batch record; damaged records are DataLoss;
// and Commit's Delta matches a before/after comparison of the index.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "index/access.h"
#include "index/index_state.h"
#include "index/mutation.h"
#include "tagindex/tagindex.h"

namespace ti = tagindex::internal;
using tagindex::RowId;
using tagindex::TagId;
using tagindex::TagKind;

namespace {

// A text of every field, written without the codec: the oracle.
struct Describe {
  std::string Keys(const ti::KeyList& k) {
    std::string out = k.is_string ? "s[" : "i[";
    if (k.is_string) {
      for (auto s : k.strings) absl::StrAppend(&out, s.size(), ":", std::string(s), ",");
    } else {
      for (auto v : k.ints) absl::StrAppend(&out, v, ",");
    }
    return out + "]";
  }
  std::string Rows(std::span<const RowId> rows) {
    std::string out = "r[";
    for (RowId r : rows) absl::StrAppend(&out, r, ",");
    return out + "]";
  }
  std::string operator()(const ti::AddCustomersMutation& m) { return "add " + Keys(m.keys); }
  std::string operator()(const ti::RemoveCustomersMutation& m) { return "rmk " + Keys(m.keys); }
  std::string operator()(const ti::RemoveRowsMutation& m) { return "rmr " + Rows(m.rows); }
  std::string operator()(const ti::CreateCategoryMutation& m) {
    return absl::StrCat("cat ", std::string(m.name), "|", std::string(m.description), "|",
                        m.exclusive);
  }
  std::string operator()(const ti::CreateTagMutation& m) {
    return absl::StrCat("tag ", m.id, "|", std::string(m.name), "|", std::string(m.category), "|",
                        std::string(m.description), "|", static_cast<int>(m.kind));
  }
  std::string operator()(const ti::RenameTagMutation& m) {
    return absl::StrCat("ren ", m.tag.value, "|", std::string(m.name));
  }
  std::string operator()(const ti::SetTagDescriptionMutation& m) {
    return absl::StrCat("desc ", m.tag.value, "|", std::string(m.description));
  }
  std::string operator()(const ti::DeleteTagMutation& m) {
    return absl::StrCat("del ", m.tag.value);
  }
  std::string operator()(const ti::TagKeysMutation& m) {
    return absl::StrCat("tk ", m.add, " ", m.tag.value, " ", Keys(m.keys));
  }
  std::string operator()(const ti::TagRowsMutation& m) {
    return absl::StrCat("tr ", m.add, " ", m.tag.value, " ", Rows(m.rows));
  }
  std::string operator()(const ti::ImportTagMutation& m) {
    return absl::StrCat("imp ", m.id, "|", std::string(m.name), "|", std::string(m.category), "|",
                        std::string(m.description), "|", static_cast<int>(m.kind), "|",
                        m.portable.size(), ":", std::string(m.portable));
  }
  std::string Values(std::span<const int64_t> v) {
    std::string out = "v[";
    for (int64_t x : v) absl::StrAppend(&out, x, ",");
    return out + "]";
  }
  std::string operator()(const ti::CreateAttributeMutation& m) {
    return absl::StrCat("attr ", m.id, "|", std::string(m.name), "|", static_cast<int>(m.type), "|",
                        m.scale, "|", std::string(m.description));
  }
  std::string operator()(const ti::RenameAttributeMutation& m) {
    return absl::StrCat("renattr ", m.attribute.value, "|", std::string(m.name));
  }
  std::string operator()(const ti::DropAttributeMutation& m) {
    return absl::StrCat("dropattr ", m.attribute.value);
  }
  std::string operator()(const ti::SetAttributeKeysMutation& m) {
    return absl::StrCat("setk ", m.attribute.value, " ", m.clear, " ", Keys(m.keys), " ",
                        Values(m.values));
  }
  std::string operator()(const ti::SetAttributeRowsMutation& m) {
    return absl::StrCat("setr ", m.attribute.value, " ", m.clear, " ", Rows(m.rows), " ",
                        Values(m.values));
  }
  std::string operator()(const ti::SaveSegmentMutation& m) {
    return absl::StrCat("seg ", m.id, "|", std::string(m.name), "|", m.dynamic, "|",
                        std::string(m.query), "|", m.created_micros, "|", m.portable.size(), ":",
                        std::string(m.portable));
  }
  std::string operator()(const ti::RenameSegmentMutation& m) {
    return absl::StrCat("renseg ", m.id, "|", std::string(m.name));
  }
  std::string operator()(const ti::DropSegmentMutation& m) {
    return absl::StrCat("dropseg ", m.id);
  }
  // Rule tags: round trips in tests/index/rules_test.cc.
  std::string operator()(const ti::DefineRuleMutation& m) {
    return absl::StrCat("rule ", m.id, "|", m.redefine, "|", std::string(m.name), "|",
                        std::string(m.query), "|", static_cast<int>(m.policy), "|", m.as_of, "|",
                        std::string(m.portable));
  }
  std::string operator()(const ti::RefreshRuleMutation& m) {
    return absl::StrCat("refresh ", m.tag.value, "|", m.as_of, "|", m.incremental, "|",
                        std::string(m.entered_portable), "|", std::string(m.left_portable));
  }
};

std::string Text(const ti::Mutation& m) { return std::visit(Describe{}, m); }

// Owner of the random values the mutations view.
struct Pool {
  std::deque<std::string> strings;
  std::deque<std::vector<int64_t>> ints;
  std::deque<std::vector<std::string_view>> views;
  std::deque<std::vector<RowId>> rows;
};

ti::Mutation RandomMutation(std::mt19937_64& rng, Pool& pool, int kind) {
  auto pick = [&](uint64_t n) { return rng() % n; };
  auto str = [&]() -> std::string_view {
    std::string s;
    for (uint64_t i = 0, n = pick(12); i < n; ++i) s.push_back(static_cast<char>(rng()));
    if (pick(4) == 0) s += "客户标签";
    return pool.strings.emplace_back(std::move(s));
  };
  auto keys = [&]() {
    const uint64_t n = pick(4) == 0 ? 0 : 1 + pick(40);
    if (pick(2) == 0) {
      auto& v = pool.ints.emplace_back();
      for (uint64_t i = 0; i < n; ++i) v.push_back(static_cast<int64_t>(rng()));
      return ti::KeyList::Of(std::span<const int64_t>(v));
    }
    auto& v = pool.views.emplace_back();
    for (uint64_t i = 0; i < n; ++i) v.push_back(str());
    return ti::KeyList::Of(std::span<const std::string_view>(v));
  };
  auto rows = [&]() -> std::span<const RowId> {
    auto& v = pool.rows.emplace_back();
    for (uint64_t i = 0, n = pick(30); i < n; ++i) v.push_back(static_cast<RowId>(rng()));
    return v;
  };
  const TagId tag{static_cast<uint32_t>(rng())};
  const TagKind tk = pick(2) == 0 ? TagKind::kManual : TagKind::kRule;
  const uint32_t id = static_cast<uint32_t>(pick(1u << 30));
  switch (kind) {
    case 0:
      return ti::AddCustomersMutation{keys()};
    case 1:
      return ti::RemoveCustomersMutation{keys()};
    case 2:
      return ti::RemoveRowsMutation{rows()};
    case 3:
      return ti::CreateCategoryMutation{str(), str(), pick(2) == 0};
    case 4:
      return ti::CreateTagMutation{id, str(), str(), str(), tk};
    case 5:
      return ti::RenameTagMutation{tag, str()};
    case 6:
      return ti::SetTagDescriptionMutation{tag, str()};
    case 7:
      return ti::DeleteTagMutation{tag};
    case 8:
      return ti::TagKeysMutation{tag, keys(), pick(2) == 0};
    case 9:
      return ti::TagRowsMutation{tag, rows(), pick(2) == 0};
    case 10:
      return ti::ImportTagMutation{id, str(), str(), str(), tk, str()};
    default:
      break;
  }
  const tagindex::AttributeId attr{static_cast<uint32_t>(pick(1u << 20))};
  auto values = [&](size_t n) -> std::span<const int64_t> {
    auto& v = pool.ints.emplace_back();
    for (size_t i = 0; i < n; ++i) {
      const uint64_t r = pick(4);
      v.push_back(r == 0 ? INT64_MIN : r == 1 ? INT64_MAX : static_cast<int64_t>(rng()));
    }
    return v;
  };
  switch (kind) {
    case 11: {
      const auto type = static_cast<tagindex::AttributeType>(pick(3));
      const int32_t scale =
          type == tagindex::AttributeType::kDecimal ? 1 + static_cast<int32_t>(pick(18)) : 0;
      return ti::CreateAttributeMutation{id, str(), type, scale, str()};
    }
    case 12:
      return ti::RenameAttributeMutation{attr, str()};
    case 13:
      return ti::DropAttributeMutation{attr};
    case 14: {
      ti::KeyList k = keys();
      const bool clear = pick(2) == 0;
      return ti::SetAttributeKeysMutation{
          attr, k, clear ? std::span<const int64_t>() : values(k.size()), clear};
    }
    case 16: {
      ti::SaveSegmentMutation m;
      m.id = id;
      m.name = str();
      m.dynamic = pick(2) == 0;
      m.query = str();
      m.created_micros = static_cast<int64_t>(rng());
      if (!m.dynamic) m.portable = str();
      return m;
    }
    case 17:
      return ti::RenameSegmentMutation{id, str()};
    case 18:
      return ti::DropSegmentMutation{id};
    default: {
      std::span<const RowId> r = rows();
      const bool clear = pick(2) == 0;
      return ti::SetAttributeRowsMutation{
          attr, r, clear ? std::span<const int64_t>() : values(r.size()), clear};
    }
  }
}

}  // namespace

TEST_CASE("mutation codec: every kind round-trips alone and in batches", "[mutation][codec]") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    Pool pool;
    std::vector<ti::Mutation> items;
    for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n; ++i) {
      items.push_back(RandomMutation(rng, pool, static_cast<int>((seed + i) % 19)));
    }
    // Each alone.
    for (const ti::Mutation& m : items) {
      const std::string rec = ti::EncodeRecord(std::span<const ti::Mutation>(&m, 1));
      ti::DecodeArena arena;
      std::vector<ti::Mutation> back;
      REQUIRE(ti::DecodeRecord(rec, &arena, &back).ok());
      REQUIRE(back.size() == 1);
      REQUIRE(back[0].index() == m.index());
      REQUIRE(Text(back[0]) == Text(m));
      // Every cut of the record is a clean error (never a crash or a
      // different mutation that happens to parse).
      for (size_t cut = 0; cut < rec.size(); ++cut) {
        std::vector<ti::Mutation> partial;
        ti::DecodeArena a2;
        absl::Status st = ti::DecodeRecord(std::span<const char>(rec.data(), cut), &a2, &partial);
        if (st.ok()) FAIL("a cut record parsed: " << Text(m) << " cut at " << cut);
        REQUIRE(st.code() == absl::StatusCode::kDataLoss);
      }
    }
    // Together, as one batch record.
    const std::string rec = ti::EncodeRecord(items);
    ti::DecodeArena arena;
    std::vector<ti::Mutation> back;
    REQUIRE(ti::DecodeRecord(rec, &arena, &back).ok());
    REQUIRE(back.size() == items.size());
    for (size_t i = 0; i < items.size(); ++i) REQUIRE(Text(back[i]) == Text(items[i]));
  }
}

TEST_CASE("mutation codec: version 1 records and malformed records", "[mutation][codec]") {
  ti::DecodeArena arena;
  std::vector<ti::Mutation> out;
  // Delete tag as version 1 wrote it: type 7, u32 id, u32 0 (an empty row list).
  const std::string v1_delete("\x07\x05\x00\x00\x00\x00\x00\x00\x00", 9);
  REQUIRE(ti::DecodeRecord(v1_delete, &arena, &out).ok());
  REQUIRE(std::get<ti::DeleteTagMutation>(out.at(0)).tag == TagId{5});
  // ... whose trailing u32 must be zero.
  const std::string bad_delete("\x07\x05\x00\x00\x00\x01\x00\x00\x00", 9);
  CHECK(ti::DecodeRecord(bad_delete, &arena, &out).code() == absl::StatusCode::kDataLoss);
  // Import tag as version 1 wrote it (type 12, no id): the id is assigned
  // on replay.
  std::string v1_import("\x0c", 1);
  for (std::string_view field : {"t", "", ""}) {
    v1_import += std::string("\x00\x00\x00\x00", 4);
    v1_import[v1_import.size() - 4] = static_cast<char>(field.size());
    v1_import += field;
  }
  v1_import += std::string("\x00", 1);              // kind
  v1_import += std::string("\x00\x00\x00\x00", 4);  // empty blob
  out.clear();
  REQUIRE(ti::DecodeRecord(v1_import, &arena, &out).ok());
  CHECK(std::get<ti::ImportTagMutation>(out.at(0)).id == ti::kUnassignedTagId);
  CHECK(std::get<ti::ImportTagMutation>(out.at(0)).name == "t");
  // Unknown types, nested batches, a batch of one, trailing bytes.
  for (const std::string& bad :
       {std::string("\x63", 1), std::string(""),
        std::string("\x0f\x01\x00\x00\x00\x09\x00\x00\x00\x07\x01\x00\x00\x00", 14),
        std::string("\x07\x01\x00\x00\x00\x00", 6)}) {
    CHECK(ti::DecodeRecord(bad, &arena, &out).code() == absl::StatusCode::kDataLoss);
  }
  ti::Mutation del = ti::DeleteTagMutation{TagId{1}};
  std::vector<ti::Mutation> two = {del, del};
  std::string batch = ti::EncodeRecord(two);
  std::string nested = ti::EncodeRecord(two);
  // Replace the second item by the whole batch record: nesting is refused.
  std::vector<ti::Mutation> one = {del};
  const std::string item = ti::EncodeRecord(one);
  std::string n2("\x0f\x02\x00\x00\x00", 5);
  for (const std::string& part : {item, batch}) {
    std::string len("\x00\x00\x00\x00", 4);
    len[0] = static_cast<char>(part.size());
    n2 += len + part;
  }
  CHECK(ti::DecodeRecord(n2, &arena, &out).code() == absl::StatusCode::kDataLoss);
  (void)nested;
}

// Commit's Delta against the index before and after: the rows each tag
// gained and lost, the customers added and removed, and every tag touched.
TEST_CASE("mutation pipeline: Delta is exactly what changed", "[mutation][delta]") {
  using tagindex::Index;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto index = Index::Create().value();
    ti::IndexState& s = ti::Access::State(*index);
    REQUIRE(index->CreateCategory("excl", {.exclusive = true}).ok());
    std::vector<TagId> tags;
    for (int i = 0; i < 5; ++i) {
      tags.push_back(
          index->CreateTag({.name = absl::StrCat("t", i), .category = i < 3 ? "excl" : ""})
              .value());
    }
    auto snapshot = [&] {
      std::map<uint32_t, std::set<RowId>> m;
      const auto listed14 = index->ListTags().value();
      for (const auto& t : listed14) {
        auto rows = index->RowsWithTag(t.id).value();
        m[t.id.value] = std::set<RowId>(rows.begin(), rows.end());
      }
      return m;
    };
    for (int step = 0; step < 60; ++step) {
      INFO("step " << step);
      std::vector<int64_t> keys;
      for (int i = 0, n = 1 + static_cast<int>(rng() % 20); i < n; ++i) {
        keys.push_back(static_cast<int64_t>(rng() % 50));
      }
      std::vector<RowId> live = index->LiveRows().value();
      std::vector<RowId> rows;
      for (RowId r : live) {
        if (rng() % 3 == 0) rows.push_back(r);
      }
      const TagId tag = tags[rng() % tags.size()];
      std::vector<ti::Mutation> items;
      switch (rng() % 5) {
        case 0:
          items.push_back(
              ti::AddCustomersMutation{ti::KeyList::Of(std::span<const int64_t>(keys))});
          break;
        case 1:
          items.push_back(
              ti::TagKeysMutation{tag, ti::KeyList::Of(std::span<const int64_t>(keys)), true});
          break;
        case 2:
          items.push_back(ti::TagRowsMutation{tag, rows, false});
          break;
        case 3:
          items.push_back(ti::RemoveRowsMutation{
              std::span<const RowId>(rows).first(std::min<size_t>(rows.size(), 2))});
          break;
        default:
          items.push_back(ti::TagRowsMutation{tag, rows, true});
          items.push_back(ti::TagRowsMutation{tags[rng() % tags.size()], rows, rng() % 2 == 0});
          break;
      }
      const auto before = snapshot();
      const std::vector<RowId> live_before = index->LiveRows().value();
      ti::CommitResult result;
      absl::Status st = ti::Commit(s, items, {.deltas = true}, &result);
      REQUIRE(st.ok());
      const auto after = snapshot();
      const std::vector<RowId> live_after = index->LiveRows().value();
      std::set<RowId> lb(live_before.begin(), live_before.end());
      std::set<RowId> la(live_after.begin(), live_after.end());
      std::vector<RowId> added, removed;
      std::set_difference(la.begin(), la.end(), lb.begin(), lb.end(), std::back_inserter(added));
      std::set_difference(lb.begin(), lb.end(), la.begin(), la.end(), std::back_inserter(removed));
      CHECK(result.delta.customers_added == added);
      CHECK(result.delta.customers_removed == removed);
      std::map<uint32_t, std::pair<std::vector<RowId>, std::vector<RowId>>> got;
      for (const ti::TagRowsDelta& d : result.delta.rows) {
        REQUIRE(got.count(d.tag.value) == 0);  // one entry per tag
        got[d.tag.value] = {d.added.ToVector(), d.removed.ToVector()};
      }
      std::vector<TagId> changed;
      for (const auto& [id, rows_after] : after) {
        const auto& rows_before = before.at(id);
        std::vector<RowId> plus, minus;
        std::set_difference(rows_after.begin(), rows_after.end(), rows_before.begin(),
                            rows_before.end(), std::back_inserter(plus));
        std::set_difference(rows_before.begin(), rows_before.end(), rows_after.begin(),
                            rows_after.end(), std::back_inserter(minus));
        auto it = got.find(id);
        if (plus.empty() && minus.empty()) {
          // A tag listed with no net change (added then removed in one
          // batch) must say so exactly.
          if (it != got.end()) {
            CHECK(it->second.first.empty());
            CHECK(it->second.second.empty());
          }
          continue;
        }
        changed.push_back(TagId{id});
        REQUIRE(it != got.end());
        CHECK(it->second.first == plus);
        CHECK(it->second.second == minus);
      }
      // Every tag that changed is listed as touched.
      for (TagId t : changed) {
        CHECK(std::binary_search(result.delta.tags.begin(), result.delta.tags.end(), t));
      }
    }
  }
}
