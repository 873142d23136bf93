// Rule tags: definition, errors, refresh semantics against a naive
// per-row model (std::set / std::map, the rules hand-written as row
// predicates), and persistence: reopening after the log and checkpoints,
// and a forked writer SIGKILLed at a random moment.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "index/mutation.h"
#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::RefreshOptions;
using tagindex::RefreshPolicy;
using tagindex::RowId;
using tagindex::RuleRefreshResult;
using tagindex::RuleTagOptions;
using tagindex::TagId;
using tagindex::testing::Dump;
using tagindex::testing::Full;
using Code = absl::StatusCode;

namespace {

constexpr int64_t kDay0 = 20000;  // 2024-10-04

std::set<RowId> RowsOf(const Index& ix, TagId t) {
  std::vector<RowId> v = ix.RowsWithTag(t).value();
  return {v.begin(), v.end()};
}

// ---- the model ---------------------------------------------------------------------

struct Model {
  std::set<RowId> live;
  std::map<int, std::set<RowId>> tags;        // T0..T5
  std::map<RowId, int64_t> amount, last_buy;  // 金额, 最近购买 (absent = NULL)
  // Rules' members and evaluation dates, as the index should have them.
  std::map<std::string, std::set<RowId>> members;
  std::map<std::string, int64_t> as_of;

  bool Has(int t, RowId r) const {
    auto it = tags.find(t);
    return it != tags.end() && it->second.count(r) > 0;
  }
  std::optional<int64_t> Amount(RowId r) const {
    auto it = amount.find(r);
    return it == amount.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
  std::optional<int64_t> LastBuy(RowId r) const {
    auto it = last_buy.find(r);
    return it == last_buy.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
};

// The rules, as text for the index and as row predicates for the model.
struct RuleCase {
  std::string name;
  std::string query;
  RefreshPolicy policy;
  // Whether row r is a member at `today`, given the members of the rules
  // before it (already evaluated at the same date).
  std::function<bool(const Model&, RowId, int64_t today)> member;
};

std::vector<RuleCase> Rules() {
  std::vector<RuleCase> rules;
  rules.push_back({"R0", "T0 AND NOT T1", RefreshPolicy::kOnDemand,
                   [](const Model& m, RowId r, int64_t) { return m.Has(0, r) && !m.Has(1, r); }});
  rules.push_back({"R1", "金额 >= 500 OR 最近购买 IS NULL", RefreshPolicy::kOnDemand,
                   [](const Model& m, RowId r, int64_t) {
                     auto a = m.Amount(r);
                     return (a && *a >= 500) || !m.LastBuy(r);
                   }});
  rules.push_back({"R2", "最近购买 >= today - 30d AND NOT T2", RefreshPolicy::kOnDemand,
                   [](const Model& m, RowId r, int64_t today) {
                     auto d = m.LastBuy(r);
                     return d && *d >= today - 30 && !m.Has(2, r);
                   }});
  // Rules over rules.
  rules.push_back(
      {"R3", "R0 OR (R1 AND T3)", RefreshPolicy::kOnDemand, [](const Model& m, RowId r, int64_t) {
         return m.members.at("R0").count(r) > 0 || (m.members.at("R1").count(r) > 0 && m.Has(3, r));
       }});
  rules.push_back({"R4", "NOT R3 AND NOT (最近购买 < today - 60d) AND NOT 金额 BETWEEN 100 AND 300",
                   RefreshPolicy::kOnDemand, [](const Model& m, RowId r, int64_t today) {
                     auto d = m.LastBuy(r);
                     auto a = m.Amount(r);
                     return m.members.at("R3").count(r) == 0 && !(d && *d < today - 60) &&
                            !(a && *a >= 100 && *a <= 300);
                   }});
  // On commit: kept current by every commit, at its own evaluation date.
  rules.push_back({"R5", "T4 AND (金额 < 300 OR 最近购买 < today - 45d) AND NOT T5",
                   RefreshPolicy::kOnCommit, [](const Model& m, RowId r, int64_t today) {
                     auto d = m.LastBuy(r);
                     auto a = m.Amount(r);
                     return m.Has(4, r) && ((a && *a < 300) || (d && *d < today - 45)) &&
                            !m.Has(5, r);
                   }});
  return rules;
}

std::set<RowId> Evaluate(const Model& m, const RuleCase& rule, int64_t today) {
  std::set<RowId> out;
  for (RowId r : m.live) {
    if (rule.member(m, r, today)) out.insert(r);
  }
  return out;
}

// One random change, applied to the index and the model alike.
void RandomChange(std::mt19937_64& rng, Index& ix, Model& m, const std::vector<TagId>& tag_ids,
                  int64_t* next_key) {
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  std::vector<RowId> live(m.live.begin(), m.live.end());
  auto some_rows = [&](size_t max) {
    std::set<RowId> rows;
    const size_t n = 1 + pick(max);
    for (size_t i = 0; i < n && !live.empty(); ++i) rows.insert(live[pick(live.size())]);
    return std::vector<RowId>(rows.begin(), rows.end());
  };
  switch (pick(9)) {
    case 0:
    case 1: {  // tag
      const int t = static_cast<int>(pick(6));
      std::vector<RowId> rows = some_rows(20);
      REQUIRE(ix.TagRows(tag_ids[t], rows).ok());
      m.tags[t].insert(rows.begin(), rows.end());
      break;
    }
    case 2: {  // untag
      const int t = static_cast<int>(pick(6));
      std::vector<RowId> rows = some_rows(20);
      REQUIRE(ix.UntagRows(tag_ids[t], rows).ok());
      for (RowId r : rows) m.tags[t].erase(r);
      break;
    }
    case 3:
    case 4: {  // set values
      std::vector<RowId> rows = some_rows(15);
      std::vector<int64_t> values;
      const bool dates = pick(2) == 0;
      for (size_t i = 0; i < rows.size(); ++i) {
        values.push_back(dates ? kDay0 + 40 - static_cast<int64_t>(pick(140))
                               : static_cast<int64_t>(pick(1000)));
      }
      REQUIRE(ix.SetAttributeRows(dates ? "最近购买" : "金额", rows, values).ok());
      for (size_t i = 0; i < rows.size(); ++i) (dates ? m.last_buy : m.amount)[rows[i]] = values[i];
      break;
    }
    case 5: {  // clear values
      std::vector<RowId> rows = some_rows(10);
      const bool dates = pick(2) == 0;
      REQUIRE(ix.ClearAttributeRows(dates ? "最近购买" : "金额", rows).ok());
      for (RowId r : rows) (dates ? m.last_buy : m.amount).erase(r);
      break;
    }
    case 6: {  // customers added (they hold nothing: NOT and IS NULL take them in)
      std::vector<int64_t> keys;
      const size_t n = 1 + pick(8);
      for (size_t i = 0; i < n; ++i) keys.push_back((*next_key)++);
      std::vector<RowId> rows;
      REQUIRE(ix.AddCustomers(keys, &rows).ok());
      m.live.insert(rows.begin(), rows.end());
      break;
    }
    case 7: {  // a customer removed
      if (live.size() < 10) break;
      const RowId r = live[pick(live.size())];
      REQUIRE(ix.RemoveRow(r).ok());
      m.live.erase(r);
      for (auto& [t, rows] : m.tags) rows.erase(r);
      m.amount.erase(r);
      m.last_buy.erase(r);
      for (auto& [name, rows] : m.members) rows.erase(r);
      break;
    }
    default: {  // a manual write to a rule tag is refused and changes nothing
      absl::StatusOr<TagId> found = ix.FindTag("R0");
      if (!found.ok()) break;  // not defined yet
      absl::Status st = ix.TagRows(*found, some_rows(3));
      REQUIRE(st.code() == Code::kFailedPrecondition);
      REQUIRE(std::string(st.message()).find("R0") != std::string::npos);
      break;
    }
  }
}

// The on-commit rule is current after every commit.
void CheckOnCommit(const Index& ix, Model& m, const std::vector<RuleCase>& rules) {
  for (const RuleCase& rule : rules) {
    if (rule.policy != RefreshPolicy::kOnCommit) continue;
    m.members[rule.name] = Evaluate(m, rule, m.as_of[rule.name]);
    REQUIRE(RowsOf(ix, ix.FindTag(rule.name).value()) == m.members[rule.name]);
  }
}

void RunDifferential(uint64_t seed, int steps) {
  INFO("seed " << seed << " (rerun: this test with TAGINDEX_FULL=1 runs seeds 1..N)");
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  auto index = Index::Create().value();
  Index& ix = *index;
  Model m;
  std::vector<int64_t> keys;
  for (int64_t k = 0; k < 400; ++k) keys.push_back(k);
  std::vector<RowId> rows;
  REQUIRE(ix.AddCustomers(keys, &rows).ok());
  m.live.insert(rows.begin(), rows.end());
  int64_t next_key = 400;
  std::vector<TagId> tag_ids;
  for (int t = 0; t < 6; ++t)
    tag_ids.push_back(ix.CreateTag({.name = absl::StrCat("T", t)}).value());
  REQUIRE(ix.CreateAttribute({.name = "金额"}).ok());
  REQUIRE(ix.CreateAttribute({.name = "最近购买", .type = tagindex::AttributeType::kDate}).ok());
  for (int i = 0; i < 60; ++i) RandomChange(rng, ix, m, tag_ids, &next_key);

  const std::vector<RuleCase> rules = Rules();
  int64_t today = kDay0;
  for (const RuleCase& rule : rules) {
    RuleTagOptions o;
    o.policy = rule.policy;
    o.as_of = today;
    REQUIRE(ix.DefineRuleTag(rule.name, rule.query, o).ok());
    m.members[rule.name] = Evaluate(m, rule, today);
    m.as_of[rule.name] = today;
    REQUIRE(RowsOf(ix, ix.FindTag(rule.name).value()) == m.members[rule.name]);
  }
  int incremental = 0, date_moves = 0;
  for (int step = 0; step < steps; ++step) {
    INFO("step " << step);
    const int changes = static_cast<int>(pick(12));
    for (int c = 0; c < changes; ++c) {
      RandomChange(rng, ix, m, tag_ids, &next_key);
      CheckOnCommit(ix, m, rules);
    }
    // "today" moves now and then (also backwards).
    if (pick(3) == 0) {
      today += static_cast<int64_t>(pick(25)) - 5;
      ++date_moves;
    }
    RefreshOptions ro;
    ro.as_of = today;
    const bool full = pick(6) == 0;
    if (full) ro.mode = RefreshOptions::Mode::kFull;
    std::vector<RuleRefreshResult> got = ix.RefreshRules(ro).value();
    REQUIRE(got.size() == rules.size());
    // Dependency order: R3 after R0 and R1, R4 after R3.
    std::map<std::string, size_t> at;
    for (size_t i = 0; i < got.size(); ++i) at[got[i].name] = i;
    REQUIRE(at["R3"] > at["R0"]);
    REQUIRE(at["R3"] > at["R1"]);
    REQUIRE(at["R4"] > at["R3"]);
    for (const RuleCase& rule : rules) {
      INFO("rule " << rule.name << " " << rule.query);
      const std::set<RowId> before = m.members[rule.name];
      m.members[rule.name] = Evaluate(m, rule, today);
      m.as_of[rule.name] = today;
      const std::set<RowId>& want = m.members[rule.name];
      const RuleRefreshResult& r = got[at[rule.name]];
      INFO("reason " << r.reason);
      REQUIRE(RowsOf(ix, r.tag) == want);
      uint64_t entered = 0, left = 0;
      for (RowId x : want) entered += before.count(x) == 0 ? 1 : 0;
      for (RowId x : before) left += want.count(x) == 0 ? 1 : 0;
      CHECK(r.entered == entered);
      CHECK(r.left == left);
      CHECK(r.count == want.size());
      CHECK(r.as_of == today);
      if (full) CHECK_FALSE(r.incremental);
      incremental += r.incremental ? 1 : 0;
    }
  }
  // Incremental refreshes happened (also across moves of today), so the
  // comparisons above checked them.
  CHECK(incremental > steps * 3);
  CHECK(date_moves > 0);
}

TEST_CASE("rule tags: incremental refresh equals a full recomputation", "[rules]") {
  const uint64_t seeds = Full() ? 40 : 4;
  for (uint64_t seed = 1; seed <= seeds; ++seed) RunDifferential(seed, Full() ? 60 : 25);
}

TEST_CASE("rule tags: definition, catalog, errors", "[rules]") {
  auto index = Index::Create().value();
  Index& ix = *index;
  const TagId vip = ix.CreateTag({.name = "VIP"}).value();
  const TagId churn = ix.CreateTag({.name = "流失"}).value();
  REQUIRE(ix.CreateCategory("城市", {.exclusive = true}).ok());
  std::vector<int64_t> keys = {1, 2, 3, 4, 5, 6};
  REQUIRE(ix.TagMany(vip, std::vector<int64_t>{1, 2, 3}).ok());
  REQUIRE(ix.TagMany(churn, std::vector<int64_t>{3, 4}).ok());
  REQUIRE(ix.AddCustomers(keys).ok());
  REQUIRE(ix.CreateAttribute({.name = "金额"}).ok());
  REQUIRE(
      ix.SetAttributeMany("金额", keys, std::vector<int64_t>{10, 2000, 3000, 50, 5000, 1}).ok());

  RuleTagOptions o;
  o.category = "价值";
  o.description = "高消费且未流失";
  const TagId hv = ix.DefineRuleTag("高价值", "金额 >= 1000 AND NOT 流失", o).value();
  auto info = ix.GetTag(hv).value();
  CHECK(info.kind == tagindex::TagKind::kRule);
  CHECK(info.rule == "金额 >= 1000 AND NOT 流失");
  CHECK(info.category == "价值");
  CHECK(info.count == 2);  // keys 2 and 5
  CHECK(ix.Count("价值:高价值 AND VIP").value() == 1);
  auto rinfo = ix.GetRuleTag(hv).value();
  CHECK(rinfo.query == "金额 >= 1000 AND NOT 流失");
  CHECK(rinfo.policy == RefreshPolicy::kOnDemand);
  CHECK(ix.ListRuleTags().value().size() == 1);
  bool listed = false;
  const auto listed12 = ix.ListTags().value();
  for (const auto& t : listed12) listed |= t.id == hv && t.rule == rinfo.query;
  CHECK(listed);

  // Manual writes are refused, naming the tag; also inside a batch.
  absl::Status st = ix.Tag(hv, int64_t{1});
  CHECK(st.code() == Code::kFailedPrecondition);
  CHECK(std::string(st.message()).find("价值:高价值") != std::string::npos);
  CHECK(ix.UntagMany(hv, std::vector<int64_t>{2}).code() == Code::kFailedPrecondition);
  tagindex::WriteBatch batch;
  batch.Tag(vip, std::vector<int64_t>{4});
  batch.Tag(hv, std::vector<int64_t>{4});
  CHECK(ix.Write(batch).code() == Code::kFailedPrecondition);
  CHECK_FALSE(ix.HasTag(vip, int64_t{4}).value());  // all or nothing
  CHECK(ix.TagCardinality(hv).value() == 2);

  // Errors at definition.
  CHECK(ix.DefineRuleTag("高价值", "VIP", o).status().code() == Code::kAlreadyExists);
  CHECK(ix.DefineRuleTag("坏", "VIP AND (").status().code() == Code::kInvalidArgument);
  CHECK(ix.DefineRuleTag("坏", "没有").status().code() == Code::kNotFound);
  CHECK(ix.DefineRuleTag("", "VIP").status().code() == Code::kInvalidArgument);
  RuleTagOptions exclusive;
  exclusive.category = "城市";
  CHECK(ix.DefineRuleTag("上海", "VIP", exclusive).status().code() == Code::kInvalidArgument);

  // Rules over rules; a cycle is refused at (re)definition, named.
  const TagId a = ix.DefineRuleTag("A", "高价值 OR VIP").value();
  const TagId b = ix.DefineRuleTag("B", "A AND NOT 流失").value();
  absl::Status cycle = ix.RedefineRuleTag(hv, "B OR 金额 > 4000");
  CHECK(cycle.code() == Code::kInvalidArgument);
  CHECK(std::string(cycle.message()).find("价值:高价值 -> B -> A -> 价值:高价值") !=
        std::string::npos);
  CHECK(ix.RedefineRuleTag(a, "A OR VIP").code() == Code::kInvalidArgument);  // itself
  CHECK(ix.GetRuleTag(b).value().depends_on_rules == std::vector<TagId>{a});

  // What a rule uses cannot be deleted or renamed; a rule used by another
  // cannot be dropped.
  CHECK(ix.DeleteTag(churn).code() == Code::kFailedPrecondition);
  CHECK(ix.RenameTag(vip, "VIP2").code() == Code::kFailedPrecondition);
  CHECK(ix.DropAttribute("金额").code() == Code::kFailedPrecondition);
  CHECK(ix.DropRuleTag(a).code() == Code::kFailedPrecondition);
  CHECK(ix.DropRuleTag(vip).code() == Code::kFailedPrecondition);  // not a rule

  // Redefine replaces the members.
  REQUIRE(ix.RedefineRuleTag(hv, "金额 >= 3000").ok());
  CHECK(ix.TagCardinality(hv).value() == ix.Count("金额 >= 3000").value());
  CHECK(ix.GetTag(hv).value().rule == "金额 >= 3000");
  // B sees A's refresh only after A is refreshed: refresh both.
  auto refreshed = ix.RefreshRules().value();
  CHECK(refreshed.size() == 3);
  CHECK(ix.TagCardinality(b).value() == ix.Count("(金额 >= 3000 OR VIP) AND NOT 流失").value());

  // Refreshing named rules; unknown and non-rule names.
  RefreshOptions named;
  named.rules = {"价值:高价值"};
  CHECK(ix.RefreshRules(named).value().size() == 1);
  named.rules = {"VIP"};
  CHECK(ix.RefreshRules(named).status().code() == Code::kFailedPrecondition);
  named.rules = {"无此规则"};
  CHECK(ix.RefreshRules(named).status().code() == Code::kNotFound);

  // Drop in dependency order.
  REQUIRE(ix.DropRuleTag(b).ok());
  REQUIRE(ix.DropRuleTag(a).ok());
  CHECK(ix.ListRuleTags().value().size() == 1);
  CHECK(ix.FindTag("A").status().code() == Code::kNotFound);
}

TEST_CASE("rule tags: refresh reasons (incremental, today moved, binding changed)", "[rules]") {
  auto index = Index::Create().value();
  Index& ix = *index;
  std::vector<int64_t> keys;
  for (int64_t k = 0; k < 1000; ++k) keys.push_back(k);
  REQUIRE(ix.AddCustomers(keys).ok());
  REQUIRE(ix.CreateAttribute({.name = "最近购买", .type = tagindex::AttributeType::kDate}).ok());
  std::vector<int64_t> days;
  for (int64_t k = 0; k < 1000; ++k) days.push_back(kDay0 - k % 200);
  REQUIRE(ix.SetAttributeMany("最近购买", keys, days).ok());
  REQUIRE(ix.CreateCategory("兴趣").ok());
  const TagId sport = ix.CreateTag({.name = "运动", .category = "兴趣"}).value();
  REQUIRE(ix.TagMany(sport, std::vector<int64_t>{1, 2, 3}).ok());
  RuleTagOptions o;
  o.as_of = kDay0;
  const TagId churn = ix.DefineRuleTag("流失风险", "最近购买 < today - 90d", o).value();
  const TagId fans = ix.DefineRuleTag("兴趣广泛", "兴趣 IS NOT NULL", o).value();
  CHECK(ix.GetRuleTag(churn).value().uses_today);

  RefreshOptions ro;
  ro.as_of = kDay0;
  ro.rules = {"流失风险"};
  auto r = ix.RefreshRules(ro).value();
  CHECK(r[0].incremental);
  CHECK(r[0].evaluated_rows == 0);
  CHECK(r[0].entered + r[0].left == 0);

  // Today moves by 10 days: the rows between the two bounds are re-evaluated.
  ro.as_of = kDay0 + 10;
  r = ix.RefreshRules(ro).value();
  CHECK(r[0].incremental);
  CHECK(r[0].reason.find("today moved") != std::string::npos);
  CHECK(r[0].entered == 50);  // ages 81..90 days: 5 customers per age
  CHECK(r[0].evaluated_rows == 50);
  tagindex::QueryOptions qo;
  qo.today = kDay0 + 10;
  CHECK(r[0].count == ix.Count("最近购买 < today - 90d", qo).value());

  // A new tag in the category changes what `兴趣 IS NOT NULL` binds to.
  const TagId music = ix.CreateTag({.name = "音乐", .category = "兴趣"}).value();
  REQUIRE(ix.TagMany(music, std::vector<int64_t>{7, 8}).ok());
  ro.rules = {"兴趣广泛"};
  r = ix.RefreshRules(ro).value();
  CHECK_FALSE(r[0].incremental);
  CHECK(r[0].reason.find("binds differently") != std::string::npos);
  CHECK(ix.TagCardinality(fans).value() == 5);
  CHECK(ix.GetRuleTag(fans).value().pending == 0);
}

TEST_CASE("rule tags: log records round-trip; malformed ones are DataLoss", "[rules][codec]") {
  using namespace tagindex::internal;
  using tagindex::Bitmap;
  Bitmap members = Bitmap::FromIds(std::vector<uint32_t>{1, 5, 70000});
  Bitmap left = Bitmap::FromIds(std::vector<uint32_t>{2});
  DefineRuleMutation define;
  define.id = 7;
  define.name = "高价值";
  define.category = "价值";
  define.description = "d";
  define.query = "金额 >= 1000";
  define.policy = RefreshPolicy::kOnCommit;
  define.as_of = -3;
  define.members = &members;
  DefineRuleMutation redefine = define;
  redefine.redefine = true;
  RefreshRuleMutation refresh;
  refresh.tag = TagId{7};
  refresh.as_of = kDay0;
  refresh.incremental = true;
  refresh.entered = &members;
  refresh.left = &left;
  for (const Mutation& m : {Mutation(define), Mutation(redefine), Mutation(refresh)}) {
    const std::string record = EncodeRecord(std::span<const Mutation>(&m, 1));
    DecodeArena arena;
    std::vector<Mutation> out;
    REQUIRE(DecodeRecord(std::span<const char>(record.data(), record.size()), &arena, &out).ok());
    REQUIRE(out.size() == 1);
    if (const auto* d = std::get_if<DefineRuleMutation>(&out[0])) {
      CHECK(d->id == 7);
      CHECK(d->redefine == std::get<DefineRuleMutation>(m).redefine);
      CHECK(d->name == (d->redefine ? "" : "高价值"));
      CHECK(d->query == "金额 >= 1000");
      CHECK(d->policy == RefreshPolicy::kOnCommit);
      CHECK(d->as_of == -3);
      CHECK(
          Bitmap::PortableDeserialize(std::span<const char>(d->portable.data(), d->portable.size()))
              ->Equals(members));
    } else {
      const auto& r = std::get<RefreshRuleMutation>(out[0]);
      CHECK(r.tag == TagId{7});
      CHECK(r.as_of == kDay0);
      CHECK(r.incremental);
      CHECK(Bitmap::PortableDeserialize(
                std::span<const char>(r.left_portable.data(), r.left_portable.size()))
                ->Equals(left));
    }
    // Every truncation is refused, never read past.
    for (size_t cut = 1; cut < record.size(); ++cut) {
      std::vector<Mutation> partial;
      DecodeArena a2;
      CHECK(DecodeRecord(std::span<const char>(record.data(), cut), &a2, &partial).code() ==
            Code::kDataLoss);
    }
  }
}

// ---- persistence ------------------------------------------------------------------------

// A deterministic script step over an index (the same on a persistent one
// and an in-memory oracle).
// `refresh_as_of`, when given, receives the date of a RefreshRules step.
absl::Status RuleScriptOp(std::mt19937_64& rng, Index& ix, bool allow_checkpoint,
                          std::optional<int64_t>* refresh_as_of = nullptr) {
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  const uint64_t limit = ix.RowIdLimit();
  const RowId row = limit == 0 ? 0 : static_cast<RowId>(pick(limit));
  switch (pick(10)) {
    case 0: {
      std::vector<int64_t> keys;
      for (int i = 0; i < 5; ++i) keys.push_back(static_cast<int64_t>(pick(100000)));
      return ix.AddCustomers(keys);
    }
    case 1:
    case 2: {
      auto t = ix.FindTag(absl::StrCat("T", pick(3)));
      if (!t.ok()) return t.status();
      return pick(3) == 0 ? ix.UntagRow(*t, row) : ix.TagRow(*t, row);
    }
    case 3:
      return ix.SetAttributeRows("金额", std::vector<RowId>{row},
                                 std::vector<int64_t>{static_cast<int64_t>(pick(1000))});
    case 4: {
      RefreshOptions ro;
      ro.as_of = kDay0 + static_cast<int64_t>(pick(3));
      if (refresh_as_of != nullptr) *refresh_as_of = ro.as_of;
      return ix.RefreshRules(ro).status();
    }
    case 5:
      return ix.RemoveRow(row);
    case 6: {
      RuleTagOptions o;
      o.as_of = kDay0;
      o.policy = pick(2) == 0 ? RefreshPolicy::kOnCommit : RefreshPolicy::kOnDemand;
      auto t = ix.FindTag("规则X");
      if (t.ok())
        return ix.RedefineRuleTag(*t, absl::StrCat("金额 >= ", pick(1000), " AND NOT T1"), o);
      return ix.DefineRuleTag("规则X", "金额 >= 500 AND NOT T1", o).status();
    }
    case 7: {
      // The same draws with and without checkpoints (the oracle has none).
      if (pick(4) == 0) {
        return allow_checkpoint && ix.persistent() ? ix.Checkpoint() : absl::OkStatus();
      }
      return ix.ClearAttributeRows("金额", std::vector<RowId>{row});
    }
    default: {
      auto t = ix.FindTag(absl::StrCat("T", pick(3)));
      if (!t.ok()) return t.status();
      return ix.TagRow(*t, row);
    }
  }
}

absl::Status Setup(Index& ix) {
  for (int t = 0; t < 3; ++t) {
    auto id = ix.CreateTag({.name = absl::StrCat("T", t)});
    if (!id.ok()) return id.status();
  }
  std::vector<int64_t> keys;
  for (int64_t k = 0; k < 50; ++k) keys.push_back(k);
  if (absl::Status s = ix.AddCustomers(keys); !s.ok()) return s;
  if (auto a = ix.CreateAttribute({.name = "金额"}); !a.ok()) return a.status();
  RuleTagOptions o;
  o.as_of = kDay0;
  if (auto r = ix.DefineRuleTag("规则A", "T0 OR 金额 < 100", o); !r.ok()) return r.status();
  o.policy = RefreshPolicy::kOnCommit;
  return ix.DefineRuleTag("规则B", "规则A AND NOT T2", o).status();
}

std::string DumpRules(const Index& ix) {
  std::string out;
  const auto listed13 = ix.ListRuleTags().value();
  for (const auto& r : listed13) {
    absl::StrAppend(&out, "rule ", r.name, " q=", r.query, " policy=", static_cast<int>(r.policy),
                    " as_of=", r.as_of, " n=", r.count, " pending=", r.pending,
                    " full=", r.full_needed, "\n");
  }
  // What the next refresh would do and give (on a throwaway copy).
  auto copy = Index::FromSnapshot(ix.SerializeSnapshot().value()).value();
  RefreshOptions ro;
  ro.as_of = kDay0 + 1;
  const std::vector<RuleRefreshResult> next = copy->RefreshRules(ro).value();
  for (const auto& r : next) {
    absl::StrAppend(&out, "next ", r.name, " +", r.entered, " -", r.left, " n=", r.count,
                    " inc=", r.incremental, "\n");
  }
  return out;
}

TEST_CASE("rule tags survive reopening (log and snapshots)", "[rules][storage]") {
  const int seeds = Full() ? 30 : 6;
  char tmpl[] = "/tmp/tagindex-rules-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    const std::string dir = root + "/db" + std::to_string(seed);
    auto oracle = Index::Create().value();
    REQUIRE(Setup(*oracle).ok());
    std::mt19937_64 rng(static_cast<uint64_t>(seed)), rng_oracle(static_cast<uint64_t>(seed));
    {
      auto index = Index::Open(dir, {.create_if_missing = true}).value();
      REQUIRE(Setup(*index).ok());
      for (int i = 0; i < 200; ++i) {
        const absl::Status got = RuleScriptOp(rng, *index, /*allow_checkpoint=*/true);
        const absl::Status want = RuleScriptOp(rng_oracle, *oracle, false);
        REQUIRE(got.code() == want.code());
      }
      REQUIRE(Dump(*index) + DumpRules(*index) == Dump(*oracle) + DumpRules(*oracle));
      if (seed % 2 == 0) REQUIRE(index->Checkpoint().ok());
    }
    auto reopened = Index::Open(dir, {.create_if_missing = true}).value();
    CHECK(Dump(*reopened) == Dump(*oracle));
    CHECK(DumpRules(*reopened) == DumpRules(*oracle));
  }
  std::filesystem::remove_all(root);
}

std::vector<RuleRefreshResult> RefreshAll(const std::string& snapshot, int64_t as_of) {
  auto copy = Index::FromSnapshot(snapshot).value();
  RefreshOptions ro;
  ro.as_of = as_of;
  return copy->RefreshRules(ro).value();
}

[[noreturn]] void RunChild(const std::string& dir, uint64_t seed, int fd) {
  tagindex::OpenOptions o;
  o.create_if_missing = true;
  o.sync = tagindex::SyncPolicy::kEveryWrite;
  auto index = Index::Open(dir, o);
  if (!index.ok()) ::_exit(3);
  if (!Setup(**index).ok()) ::_exit(5);
  const char ack = 1;
  if (::write(fd, &ack, 1) != 1) ::_exit(4);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 120; ++i) {
    (void)RuleScriptOp(rng, **index, /*allow_checkpoint=*/true);
    if (::write(fd, &ack, 1) != 1) ::_exit(4);
  }
  ::_exit(0);
}

TEST_CASE("rule tags: SIGKILL at a random moment loses no acknowledged change", "[rules][crash]") {
  const int iterations = Full() ? 150 : 20;
  std::mt19937_64 meta(4242);
  char tmpl[] = "/tmp/tagindex-rulecrash-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  for (int it = 0; it < iterations; ++it) {
    const uint64_t seed = meta();
    const std::string dir = root + "/db" + std::to_string(it);
    INFO("iteration " << it << " seed " << seed);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      RunChild(dir, seed, fds[1]);
    }
    ::close(fds[1]);
    const int kill_after = 1 + static_cast<int>(meta() % 120);
    int acked = 0;
    char buf[256];
    while (acked < kill_after) {
      if (::read(fds[0], buf, 1) <= 0) break;
      ++acked;
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) acked += static_cast<int>(n);
    ::close(fds[0]);
    auto reopened = Index::Open(dir, {.create_if_missing = true});
    REQUIRE(reopened.ok());
    const std::string got = Dump(**reopened) + DumpRules(**reopened);
    auto oracle = Index::Create().value();
    REQUIRE(Setup(*oracle).ok());
    std::mt19937_64 rng(seed);
    for (int i = 0; i < acked - 1; ++i) (void)RuleScriptOp(rng, *oracle, false);
    const std::string after_acked = Dump(*oracle) + DumpRules(*oracle);
    const std::string before = oracle->SerializeSnapshot().value();
    std::optional<int64_t> refresh_as_of;
    (void)RuleScriptOp(rng, *oracle, false, &refresh_as_of);
    std::vector<std::string> allowed = {after_acked, Dump(*oracle) + DumpRules(*oracle)};
    if (refresh_as_of) {
      // RefreshRules commits one record per rule, in dependency order: a
      // crash inside it leaves a prefix of the rules refreshed.
      std::vector<std::string> order;
      for (const RuleRefreshResult& r : RefreshAll(before, *refresh_as_of)) order.push_back(r.name);
      for (size_t k = 1; k < order.size(); ++k) {
        auto partial = Index::FromSnapshot(before).value();
        RefreshOptions ro;
        ro.as_of = *refresh_as_of;
        ro.rules.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
        REQUIRE(partial->RefreshRules(ro).ok());
        allowed.push_back(Dump(*partial) + DumpRules(*partial));
      }
    }
    const bool match = std::find(allowed.begin(), allowed.end(), got) != allowed.end();
    if (!match) {
      INFO("got:\n" << got << "\nwant:\n" << after_acked);
      CHECK(match);
    }
  }
  std::filesystem::remove_all(root);
}

}  // namespace
