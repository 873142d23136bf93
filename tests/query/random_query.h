// The random world and query generator of the differential tests, shared by
// tests/query/query_differential_test.cc and tests/shard (sharded results
// must equal the unsharded index's on the same worlds and queries): a
// 600-customer identity-keyed index with tags from empty to full, an
// exclusive category, attribute columns with NULLs and extremes, removed
// customers; and a Generator that returns a query text together with its
// naive std::set result.
#ifndef TAGINDEX_TESTS_QUERY_RANDOM_QUERY_H_
#define TAGINDEX_TESTS_QUERY_RANDOM_QUERY_H_

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tagindex/tagindex.h"

namespace tagindex::testing {

using tagindex::Index;
using tagindex::RowId;
using tagindex::TagId;

using Set = std::set<RowId>;

inline Set And(const Set& a, const Set& b) {
  Set out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}
inline Set Or(const Set& a, const Set& b) {
  Set out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}
inline Set Minus(const Set& a, const Set& b) {
  Set out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}
inline Set Xor(const Set& a, const Set& b) {
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

// A naive attribute column: one optional value per row id.
struct ModelAttr {
  std::string name;
  tagindex::AttributeType type;
  int scale = 0;
  std::vector<std::optional<int64_t>> values;
};

inline constexpr int64_t kToday = 20800;  // QueryOptions::today of every query here

struct World {
  std::unique_ptr<Index> index;
  std::vector<ModelAttr> attrs;
  Set universe;
  std::vector<ModelTag> tags;
  std::vector<std::string> freq_values;  // exclusive category 购买频率
  std::vector<Set> freq_rows;
  Set freq_any;  // holds some value
};

inline World MakeWorld(uint64_t seed) {
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
  // Attributes: values set in one batch, NULL for about a fifth of the rows.
  {
    using tagindex::AttributeType;
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    w.attrs.push_back({"年龄", AttributeType::kInt64, 0, {}});
    w.attrs.push_back({"消费金额", AttributeType::kDecimal, 2, {}});
    w.attrs.push_back({"最近购买", AttributeType::kDate, 0, {}});
    for (ModelAttr& a : w.attrs) {
      REQUIRE(w.index->CreateAttribute({.name = a.name, .type = a.type, .scale = a.scale}).ok());
      a.values.assign(n, std::nullopt);
      std::vector<RowId> rows;
      std::vector<int64_t> vals;
      for (RowId i = 0; i < n; ++i) {
        if (rng() % 5 == 0) continue;
        int64_t v = 0;
        switch (a.type) {
          case AttributeType::kInt64:
            switch (rng() % 10) {
              case 0:
                v = kMin;
                break;
              case 1:
                v = kMax;
                break;
              case 2:
                v = 0;
                break;
              default:
                v = static_cast<int64_t>(rng() % 120) - 20;
            }
            break;
          case AttributeType::kDecimal:
            v = static_cast<int64_t>(rng() % 400000) - 50000;  // -500.00 .. 3499.99
            if (rng() % 4 == 0) v -= v % 100;                  // whole amounts
            break;
          case AttributeType::kDate:
            v = kToday - static_cast<int64_t>(rng() % 400);
            break;
        }
        rows.push_back(i);
        vals.push_back(v);
        a.values[i] = v;
      }
      REQUIRE(w.index->SetAttributeRows(a.name, rows, vals).ok());
    }
  }
  // Remove some customers so NOT and ALL mean "live", not "every row id"
  // (and a removed customer's attribute values are gone).
  for (RowId i = 0; i < n; i += 17) {
    REQUIRE(w.index->RemoveRow(i).ok());
    for (ModelAttr& a : w.attrs) a.values[i].reset();
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
    if (kind <= 8) return AttrPredicate(out);
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

  // A literal near the column's data, spelled as the column's type wants.
  int64_t NearValue(const ModelAttr& a) {
    std::optional<int64_t> v =
        a.values[static_cast<size_t>(Pick(static_cast<int>(a.values.size())))];
    int64_t x =
        v.value_or(a.type == tagindex::AttributeType::kDate ? kToday - Pick(400) : Pick(100));
    const int64_t lo = std::numeric_limits<int64_t>::min(),
                  hi = std::numeric_limits<int64_t>::max();
    if (Chance(0.3) && x > lo) --x;
    if (Chance(0.3) && x < hi) ++x;
    if (a.type == tagindex::AttributeType::kInt64 && Chance(0.1)) x = Chance(0.5) ? lo : hi;
    return x;
  }

  static const std::map<int64_t, std::string>& DateNames() {
    // Built day by day from 2000-01-01 (day 10957): an oracle independent
    // of the library's calendar arithmetic.
    static const std::map<int64_t, std::string> names = [] {
      std::map<int64_t, std::string> m;
      int y = 2000, mo = 1, d = 1;
      for (int64_t day = 10957; day < 22000; ++day) {
        char buf[40];
        std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, mo, d);
        m[day] = buf;
        static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if (++d > kDays[mo - 1] + (mo == 2 && leap)) {
          d = 1;
          if (++mo > 12) {
            mo = 1;
            ++y;
          }
        }
      }
      return m;
    }();
    return names;
  }

  std::string Spelled(const ModelAttr& a, int64_t v) {
    switch (a.type) {
      case tagindex::AttributeType::kInt64:
        return std::to_string(v);
      case tagindex::AttributeType::kDecimal: {
        const uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        std::string sign = v < 0 ? "-" : "";
        if (mag % 100 == 0 && Chance(0.5)) return sign + std::to_string(mag / 100);
        if (mag % 10 == 0 && Chance(0.5)) {
          return sign + std::to_string(mag / 100) + "." + std::to_string(mag % 100 / 10);
        }
        char frac[4];
        std::snprintf(frac, sizeof(frac), "%02d", static_cast<int>(mag % 100));
        return sign + std::to_string(mag / 100) + "." + frac;
      }
      case tagindex::AttributeType::kDate: {
        const int64_t back = kToday - v;
        if (back >= 0 && Chance(0.3)) {
          if (back % 7 == 0 && Chance(0.5)) {
            return Spell({"today - ", "today-", "TODAY - "}) + std::to_string(back / 7) + "w";
          }
          return back == 0 && Chance(0.5)
                     ? "today"
                     : Spell({"today - ", "today-"}) + std::to_string(back) + "d";
        }
        return DateNames().at(v);
      }
    }
    return "?";
  }

  std::string AttrPredicate(Set* out) {
    const ModelAttr& a = w_.attrs[static_cast<size_t>(Pick(static_cast<int>(w_.attrs.size())))];
    auto select = [&](auto pred) {
      out->clear();
      for (RowId r : w_.universe) {
        if (a.values[r] && pred(*a.values[r])) out->insert(r);
      }
    };
    const int64_t c = NearValue(a);
    const std::string cs = Spelled(a, c);
    switch (Pick(12)) {
      case 0:
        select([&](int64_t v) { return v == c; });
        return a.name + " = " + cs;
      case 1:
        select([&](int64_t v) { return v != c; });
        return a.name + " " + Spell({"!=", "<>"}) + " " + cs;
      case 2:
        select([&](int64_t v) { return v < c; });
        return a.name + " < " + cs;
      case 3:
        select([&](int64_t v) { return v <= c; });
        return a.name + " <= " + cs;
      case 4:
        select([&](int64_t v) { return v > c; });
        return a.name + " > " + cs;
      case 5:
        select([&](int64_t v) { return v >= c; });
        return a.name + " >= " + cs;
      case 6:
      case 7: {
        const int64_t d = NearValue(a);
        const bool negated = Pick(2) == 0;
        select([&](int64_t v) { return (c <= v && v <= d) != negated; });
        return a.name + (negated ? " NOT BETWEEN " : " BETWEEN ") + cs + " AND " + Spelled(a, d);
      }
      case 8:
      case 9: {
        std::vector<int64_t> list = {c, NearValue(a), NearValue(a)};
        list.resize(1 + static_cast<size_t>(Pick(3)));
        const bool negated = Pick(2) == 0;
        select([&](int64_t v) {
          return (std::find(list.begin(), list.end(), v) != list.end()) != negated;
        });
        std::string text = a.name + (negated ? " NOT IN (" : " IN (");
        for (size_t i = 0; i < list.size(); ++i) text += (i ? ", " : "") + Spelled(a, list[i]);
        return text + ")";
      }
      case 10:
        out->clear();
        for (RowId r : w_.universe) {
          if (!a.values[r]) out->insert(r);
        }
        return a.name + Spell({" IS NULL", " is null"});
      default:
        select([](int64_t) { return true; });
        return a.name + Spell({" IS NOT NULL", " is not null"});
    }
  }

  const World& w_;
  std::mt19937_64 rng_;
  int inner_prec_ = 4;
};

}  // namespace tagindex::testing

#endif  // TAGINDEX_TESTS_QUERY_RANDOM_QUERY_H_
