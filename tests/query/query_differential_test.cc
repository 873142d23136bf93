// Differential test: random queries (fixed seeds, depth up to 8, tags from
// empty to full) evaluated three ways — executor with every normaliser rule
// on, with every rule off, and a naive std::set evaluator — which must agree
// on every count and every id. The seed and query are printed on failure.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::QueryOptions;
using tagindex::RowId;
using tagindex::TagId;

namespace {

using Set = std::set<RowId>;

Set And(const Set& a, const Set& b) {
  Set out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}
Set Or(const Set& a, const Set& b) {
  Set out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}
Set Minus(const Set& a, const Set& b) {
  Set out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}
Set Xor(const Set& a, const Set& b) {
  Set out;
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(),
                                std::inserter(out, out.end()));
  return out;
}

struct ModelTag {
  std::string category;  // "" = none
  std::string name;
  std::string spelled;  // how a query must write it (quoted / qualified as needed)
  Set rows;
};

struct World {
  std::unique_ptr<Index> index;
  Set universe;
  std::vector<ModelTag> tags;
  std::vector<std::string> freq_values;  // exclusive category 购买频率
  std::vector<Set> freq_rows;
  Set freq_any;  // holds some value
};

World MakeWorld(uint64_t seed) {
  World w;
  std::mt19937_64 rng(seed);
  const RowId n = 600;
  w.index = Index::Create({.key_kind = tagindex::KeyKind::kIdentity}).value();
  std::vector<int64_t> keys(n);
  for (RowId i = 0; i < n; ++i) keys[i] = i;
  REQUIRE(w.index->AddCustomers(keys).ok());
  for (RowId i = 0; i < n; ++i) w.universe.insert(i);
  REQUIRE(w.index->CreateCategory("购买频率", {.exclusive = true}).ok());

  auto add = [&](std::string category, std::string name, std::string spelled, Set rows) {
    TagId t = w.index->CreateTag({.name = name, .category = category}).value();
    std::vector<RowId> v(rows.begin(), rows.end());
    REQUIRE(w.index->TagRows(t, v).ok());
    w.tags.push_back({std::move(category), std::move(name), std::move(spelled), std::move(rows)});
  };
  auto random_set = [&](double p) {
    std::bernoulli_distribution d(p);
    Set s;
    for (RowId i = 0; i < n; ++i) {
      if (d(rng)) s.insert(i);
    }
    return s;
  };
  auto range_set = [&](RowId lo, RowId hi) {
    Set s;
    for (RowId i = lo; i < hi; ++i) s.insert(i);
    return s;
  };
  add("", "空标签", "空标签", {});
  add("", "全体", "全体", w.universe);
  add("", "高价值客户", "高价值客户", random_set(0.5));
  add("", "电子产品", "电子产品", random_set(0.2));
  add("", "流失风险", "流失风险", random_set(0.05));
  add("", "VIP-2024", "VIP-2024", random_set(0.01));
  add("", "AND", "\"AND\"", random_set(0.3));
  add("", "非会员", "非会员", range_set(100, 400));
  add("", "新客 2026", "「新客 2026」", range_set(450, 520));
  add("兴趣", "运动", "兴趣:运动", random_set(0.15));
  add("爱好", "运动", "爱好:运动", random_set(0.4));
  add("", "Month-to-month", "Month-to-month", random_set(0.004));
  // Exclusive category: each row has at most one value.
  w.freq_values = {"高频", "中频", "低频"};
  w.freq_rows.assign(3, {});
  std::uniform_int_distribution<int> pick(0, 4);
  for (RowId i = 0; i < n; ++i) {
    int v = pick(rng);
    if (v < 3) w.freq_rows[v].insert(i);
  }
  for (size_t i = 0; i < 3; ++i) {
    TagId t = w.index->CreateTag({.name = w.freq_values[i], .category = "购买频率"}).value();
    std::vector<RowId> v(w.freq_rows[i].begin(), w.freq_rows[i].end());
    REQUIRE(w.index->TagRows(t, v).ok());
  }
  // Remove some customers so NOT and ALL mean "live", not "every row id".
  for (RowId i = 0; i < n; i += 17) {
    REQUIRE(w.index->RemoveRow(i).ok());
    w.universe.erase(i);
    for (auto& t : w.tags) t.rows.erase(i);
    for (auto& f : w.freq_rows) f.erase(i);
  }
  for (const Set& s : w.freq_rows) w.freq_any = Or(w.freq_any, s);
  return w;
}

// Generates a query text and its naive result at the same time.
class Generator {
 public:
  Generator(const World& w, uint64_t seed) : w_(w), rng_(seed) {}

  // prec: 1 OR, 2 XOR, 3 AND, 4 NOT/primary. Returns text that binds at
  // least as tightly as `prec` requires of its position.
  std::string Gen(int depth, int max_depth, Set* out) {
    const bool leaf = depth >= max_depth || Chance(depth == 0 ? 0.1 : 0.3 + 0.07 * depth);
    if (leaf) return Leaf(out);
    switch (Pick(4)) {
      case 0: {  // NOT
        Set inner;
        std::string t = Gen(depth + 1, max_depth, &inner);
        *out = Minus(w_.universe, inner);
        return Spell({"NOT", "not", "!", "非"}) + " " + Wrap(t, /*need=*/4, inner_prec_);
      }
      default: {
        static const char* kAnd[] = {"AND", "and", "&", "&&", "且"};
        static const char* kOr[] = {"OR", "Or", "|", "||", "或"};
        static const char* kXor[] = {"XOR", "xor", "^"};
        const int op = Pick(3);  // 0 AND, 1 OR, 2 XOR
        const int prec = op == 0 ? 3 : op == 1 ? 1 : 2;
        const int arity = 2 + Pick(2) + (Chance(0.1) ? 2 : 0);
        std::string text;
        for (int i = 0; i < arity; ++i) {
          Set s;
          std::string t = Gen(depth + 1, max_depth, &s);
          t = Wrap(t, prec, inner_prec_);
          if (i == 0) {
            *out = std::move(s);
            text = t;
            continue;
          }
          *out = op == 0 ? And(*out, s) : op == 1 ? Or(*out, s) : Xor(*out, s);
          const char* spelled = op == 0 ? kAnd[Pick(5)] : op == 1 ? kOr[Pick(5)] : kXor[Pick(3)];
          text += std::string(" ") + spelled + " " + t;
        }
        inner_prec_ = prec;
        return text;
      }
    }
  }

 private:
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string Spell(std::initializer_list<const char*> forms) {
    return *(forms.begin() + Pick(static_cast<int>(forms.size())));
  }
  // Parenthesises `t` (whose top operator has precedence `have`) unless it
  // already binds tightly enough for a position needing `need`; sometimes
  // adds redundant parentheses anyway.
  std::string Wrap(const std::string& t, int need, int have) {
    if (have < need || Chance(0.2)) return "(" + t + ")";
    return t;
  }

  std::string Leaf(Set* out) {
    inner_prec_ = 4;
    const int kind = Pick(20);
    if (kind == 0) {
      *out = w_.universe;
      return Spell({"ALL", "all"});
    }
    if (kind == 1) {
      out->clear();
      return Spell({"NONE", "none"});
    }
    if (kind <= 4) return Predicate(out);
    const ModelTag& t = w_.tags[static_cast<size_t>(Pick(static_cast<int>(w_.tags.size())))];
    *out = t.rows;
    if (t.category.empty() && t.spelled == t.name && Chance(0.2)) return "「" + t.name + "」";
    return t.spelled;
  }

  std::string Predicate(Set* out) {
    const int v = Pick(3);
    const std::string& value = w_.freq_values[static_cast<size_t>(v)];
    const Set& any = w_.freq_any;
    switch (Pick(6)) {
      case 0:
        *out = w_.freq_rows[v];
        return "购买频率 = " + value;
      case 1:
        *out = Minus(any, w_.freq_rows[v]);
        return "购买频率 " + Spell({"!=", "<>"}) + " " + value;
      case 2: {
        const int u = Pick(3);
        *out = Or(w_.freq_rows[v], w_.freq_rows[u]);
        return "购买频率 IN (" + value + ", " + w_.freq_values[u] + ")";
      }
      case 3:
        *out = Minus(any, w_.freq_rows[v]);
        return "购买频率 not in (" + value + ")";
      case 4:
        *out = Minus(w_.universe, any);
        return "购买频率 IS NULL";
      default:
        *out = any;
        return "购买频率 is not null";
    }
  }

  const World& w_;
  std::mt19937_64 rng_;
  int inner_prec_ = 4;
};

int QueryCount() {
  const char* full = std::getenv("TAGINDEX_FULL");
  return full != nullptr && std::string(full) == "1" ? 100000 : 10000;
}

}  // namespace

TEST_CASE("differential: optimised, unoptimised and naive evaluation agree", "[query]") {
  const uint64_t world_seed = 20261123;
  World w = MakeWorld(world_seed);
  QueryOptions off;
  off.rewrites = {.flatten = false,
                  .remove_double_negation = false,
                  .fold_constants = false,
                  .remove_duplicates = false};
  const int queries = QueryCount();
  int failures = 0;
  for (int i = 0; i < queries && failures < 5; ++i) {
    const uint64_t seed = 1000 + static_cast<uint64_t>(i);
    Generator gen(w, seed);
    Set expected;
    const int max_depth = 1 + static_cast<int>(seed % 8);
    const std::string text = gen.Gen(0, max_depth, &expected);
    const std::vector<RowId> want(expected.begin(), expected.end());
    auto on = w.index->Query(text);
    auto plain = w.index->Query(text, off);
    auto count_on = w.index->Count(text);
    auto count_off = w.index->Count(text, off);
    const bool ok = on.ok() && plain.ok() && count_on.ok() && count_off.ok() &&
                    on->Rows() == want && plain->Rows() == want && *count_on == want.size() &&
                    *count_off == want.size();
    if (!ok) {
      ++failures;
      auto describe = [](const auto& r) {
        std::ostringstream o;
        if (r.ok()) {
          if constexpr (std::is_same_v<std::decay_t<decltype(*r)>, uint64_t>) {
            o << *r;
          } else {
            o << r->Count() << " rows";
          }
        } else {
          o << r.status();
        }
        return o.str();
      };
      INFO("world seed " << world_seed << ", query seed " << seed << ", query: " << text);
      INFO("expected " << want.size() << " rows; rules on: " << describe(on)
                       << "; rules off: " << describe(plain) << "; count on: " << describe(count_on)
                       << "; count off: " << describe(count_off));
      CHECK(ok);
    }
  }
  CHECK(failures == 0);
}
