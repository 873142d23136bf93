// Differential tests of segment analytics (tagindex/analytics.h) against a
// naive model: a std::set of rows per tag, counted by walking the sets.
// Every random case prints its seed on failure.
#include "index/analytics.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bitmap/bitmap.h"
#include "bitmap/bsi.h"
#include "bitmap/kernels.h"
#include "tagindex/index.h"

using tagindex::Bitmap;
using tagindex::Index;
using tagindex::IndexOptions;
using tagindex::KeyKind;
using tagindex::RowId;
using tagindex::Segment;
using tagindex::TagId;

namespace {

using Rows = std::set<RowId>;

uint64_t Common(const Rows& a, const Rows& b) {
  uint64_t n = 0;
  for (RowId r : a) n += b.count(r);
  return n;
}

// Ids with a mix of container shapes: sparse arrays, dense bitsets, runs.
std::vector<uint32_t> RandomIds(std::mt19937_64& rng, uint32_t limit) {
  std::vector<uint32_t> out;
  switch (rng() % 4) {
    case 0: {  // sparse
      const int n = static_cast<int>(rng() % 3000);
      for (int i = 0; i < n; ++i) out.push_back(static_cast<uint32_t>(rng() % limit));
      break;
    }
    case 1: {  // dense
      const double p = 0.05 + 0.9 * static_cast<double>(rng() % 1000) / 1000.0;
      std::bernoulli_distribution in(p);
      for (uint32_t i = 0; i < limit; ++i) {
        if (in(rng)) out.push_back(i);
      }
      break;
    }
    case 2: {  // a few runs
      const int runs = 1 + static_cast<int>(rng() % 6);
      for (int k = 0; k < runs; ++k) {
        const uint32_t lo = static_cast<uint32_t>(rng() % limit);
        const uint32_t len = static_cast<uint32_t>(rng() % 70000);
        for (uint32_t i = lo; i < std::min<uint64_t>(limit, uint64_t{lo} + len); ++i) {
          out.push_back(i);
        }
      }
      break;
    }
    default:  // empty
      break;
  }
  return out;
}

TEST_CASE("AndCardinalityMany equals one intersection count per bitmap", "[analytics]") {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    const uint32_t limit = 1 + static_cast<uint32_t>(rng() % 400000);
    const std::vector<uint32_t> a_ids = RandomIds(rng, limit);
    const Bitmap a = Bitmap::FromIds(a_ids);
    const Rows a_set(a_ids.begin(), a_ids.end());
    std::vector<Bitmap> bs;
    std::vector<Rows> b_sets;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      std::vector<uint32_t> ids = RandomIds(rng, limit);
      Bitmap b = Bitmap::FromIds(ids);
      if (rng() % 2) b.RunOptimize();
      bs.push_back(std::move(b));
      b_sets.emplace_back(ids.begin(), ids.end());
    }
    std::vector<const Bitmap*> ptrs;
    for (const Bitmap& b : bs) ptrs.push_back(&b);
    std::vector<uint64_t> fused(bs.size(), 99), separate(bs.size(), 99);
    tagindex::internal::CountInSegment(a, ptrs, fused.data(),
                                       tagindex::internal::CountMethod::kFused);
    tagindex::internal::CountInSegment(a, ptrs, separate.data(),
                                       tagindex::internal::CountMethod::kSeparate);
    for (size_t i = 0; i < bs.size(); ++i) {
      INFO("bitmap " << i);
      const uint64_t want = Common(a_set, b_sets[i]);
      CHECK(fused[i] == want);
      CHECK(separate[i] == want);
    }
  }
}

struct ModelTag {
  TagId id;
  std::string name, category;
  Rows rows;
};

// An index and its naive model, built from the same random choices.
struct Fixture {
  std::unique_ptr<Index> index;
  Rows universe;
  std::vector<ModelTag> tags;
  std::map<RowId, int64_t> spend;  // attribute 消费金额
  Rows segment_rows;               // as the segment was taken (may hold removed rows)
  Segment segment;

  Rows LiveSegment() const {
    Rows out;
    for (RowId r : segment_rows) {
      if (universe.count(r)) out.insert(r);
    }
    return out;
  }
  const ModelTag& Tag(TagId id) const {
    for (const ModelTag& t : tags) {
      if (t.id == id) return t;
    }
    FAIL("no tag " << id.value);
    return tags[0];
  }
  std::vector<const ModelTag*> Sorted(const std::string* category) const {
    std::vector<const ModelTag*> out;
    for (const ModelTag& t : tags) {
      if (category == nullptr || t.category == *category) out.push_back(&t);
    }
    std::sort(out.begin(), out.end(), [](const ModelTag* a, const ModelTag* b) {
      return std::tie(a->category, a->name) < std::tie(b->category, b->name);
    });
    return out;
  }
};

bool Full() {
  const char* v = std::getenv("TAGINDEX_FULL");
  return v != nullptr && std::string(v) == "1";
}

Fixture Build(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Fixture f;
  IndexOptions options;
  options.key_kind = KeyKind::kIdentity;
  f.index = Index::Create(options).value();
  Index& ix = *f.index;
  // Up to 5 chunks of 2^16 ids (3 in the quick suite).
  const uint32_t limit = 1000 + static_cast<uint32_t>(rng() % (Full() ? 320000 : 190000));
  std::vector<int64_t> keys;
  std::bernoulli_distribution live(0.8);
  for (uint32_t i = 0; i < limit; ++i) {
    if (live(rng)) {
      keys.push_back(i);
      f.universe.insert(i);
    }
  }
  REQUIRE(ix.AddCustomers(keys).ok());
  const std::vector<RowId> live_rows(f.universe.begin(), f.universe.end());
  auto add_tag = [&](const std::string& name, const std::string& category, const Rows& rows) {
    TagId id = ix.CreateTag({.name = name, .category = category}).value();
    std::vector<RowId> v(rows.begin(), rows.end());
    REQUIRE(ix.TagRows(id, v).ok());
    f.tags.push_back({id, name, category, rows});
  };
  auto live_subset = [&]() {
    Rows out;
    for (uint32_t id : RandomIds(rng, limit)) {
      if (f.universe.count(id)) out.insert(id);
    }
    return out;
  };
  for (int i = 0; i < 10; ++i) add_tag("兴趣" + std::to_string(i), "兴趣爱好类", live_subset());
  add_tag("运动", "兴趣爱好类", live_subset());
  add_tag("运动", "品类", live_subset());  // the same name in two categories
  add_tag("空标签", "品类", {});
  for (int i = 0; i < 3; ++i) add_tag("无类" + std::to_string(i), "", live_subset());
  // Two exclusive categories: every customer gets at most one tag of each.
  for (const auto& [category, names] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"城市", {"北京", "上海", "杭州", "深圳", "成都"}},
           {"购买频率", {"高频", "中频", "低频"}}}) {
    REQUIRE(ix.CreateCategory(category, {.exclusive = true}).ok());
    std::vector<Rows> members(names.size());
    const uint64_t none_one_in = 2 + rng() % 5;
    for (RowId r : live_rows) {
      if (rng() % none_one_in == 0) continue;
      // Skewed: the first tags are more frequent.
      const size_t k =
          std::min<size_t>(names.size() - 1, (rng() % 16 == 0) ? rng() % names.size() : rng() % 2);
      members[k].insert(r);
    }
    for (size_t k = 0; k < names.size(); ++k) add_tag(names[k], category, members[k]);
  }
  REQUIRE(ix.CreateCategory("空类", {.exclusive = true}).ok());
  REQUIRE(ix.CreateAttribute({.name = "消费金额"}).ok());
  std::vector<RowId> vrows;
  std::vector<int64_t> values;
  for (RowId r : live_rows) {
    if (rng() % 3 == 0) continue;
    const int64_t v = static_cast<int64_t>(rng() % 200000) - 1000;
    vrows.push_back(r);
    values.push_back(v);
    f.spend[r] = v;
  }
  REQUIRE(ix.SetAttributeRows("消费金额", vrows, values).ok());
  // The segment: a random subset of live customers (any shape).
  f.segment_rows = live_subset();
  if (rng() % 4 == 0) f.segment_rows = f.universe;
  std::vector<RowId> seg(f.segment_rows.begin(), f.segment_rows.end());
  f.segment = ix.SegmentOfRows(seg).value();
  // Then some customers leave: the segment keeps their rows, nothing counts them.
  for (RowId r : live_rows) {
    if (rng() % 50 != 0) continue;
    REQUIRE(ix.RemoveRow(r).ok());
    f.universe.erase(r);
    f.spend.erase(r);
    for (ModelTag& t : f.tags) t.rows.erase(r);
  }
  return f;
}

double Share(uint64_t a, uint64_t b) { return b == 0 ? 0.0 : double(a) / double(b); }

void CheckRatio(double got, double want) {
  if (std::isnan(want)) {
    CHECK(std::isnan(got));
  } else {
    CHECK(got == Approx(want).epsilon(1e-12));
  }
}

TEST_CASE("analytics equal the naive model", "[analytics]") {
  // The std::set oracle dominates (8 minutes under ASan with 8 seeds): 4 in the quick suite.
  const uint64_t seeds = Full() ? 60 : 4;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    Fixture f = Build(seed);
    const Index& ix = *f.index;
    const Rows seg = f.LiveSegment();
    const uint64_t n = f.universe.size();

    for (int variant = 0; variant < 3; ++variant) {
      INFO("profile variant " << variant);
      tagindex::ProfileOptions po;
      std::string category = "兴趣爱好类";
      if (variant == 1) po.category = " " + category + " ";  // names are trimmed
      if (variant == 2) po.attribute = "消费金额";
      auto p = ix.Profile(f.segment, po);
      REQUIRE(p.ok());
      CHECK(p->segment_count == seg.size());
      CHECK(p->universe_count == n);
      const auto want = f.Sorted(variant == 1 ? &category : nullptr);
      REQUIRE(p->rows.size() == want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        const tagindex::ProfileRow& r = p->rows[i];
        const ModelTag& t = *want[i];
        INFO("tag " << t.category << ":" << t.name);
        CHECK(r.tag == t.id);
        CHECK(r.name == t.name);
        CHECK(r.category == t.category);
        const uint64_t c = Common(seg, t.rows);
        CHECK(r.count == c);
        CHECK(r.overall == t.rows.size());
        CheckRatio(r.share_in_segment, Share(c, seg.size()));
        CheckRatio(r.share_overall, Share(t.rows.size(), n));
        CheckRatio(r.tgi,
                   t.rows.empty() ? NAN : 100.0 * Share(c, seg.size()) / Share(t.rows.size(), n));
        if (variant == 2) {
          uint64_t cnt = 0;
          tagindex::Int128 sum = 0;
          for (RowId row : seg) {
            auto it = f.spend.find(row);
            if (it != f.spend.end() && t.rows.count(row)) {
              ++cnt;
              sum += it->second;
            }
          }
          CHECK(r.attribute_count == cnt);
          CHECK(r.attribute_sum == absl::int128(static_cast<int64_t>(sum)));
          CheckRatio(r.attribute_mean, cnt == 0 ? 0.0 : double(sum) / double(cnt));
        } else {
          CHECK(r.attribute_count == 0);
        }
      }
    }

    // Top-N by count and by TGI, with and without a minimum count.
    for (auto by : {tagindex::TopTagsBy::kCount, tagindex::TopTagsBy::kTgi}) {
      for (uint64_t min_count : {uint64_t{0}, uint64_t{50}}) {
        for (uint64_t topn : {uint64_t{1}, uint64_t{5}, uint64_t{100}}) {
          INFO("top " << topn << " by " << int(by) << " min " << min_count);
          auto top = ix.TopTags(f.segment, {.n = topn, .by = by, .min_count = min_count});
          REQUIRE(top.ok());
          struct Cand {
            const ModelTag* t;
            uint64_t count;
            double tgi;
          };
          std::vector<Cand> cands;
          for (const ModelTag* t : f.Sorted(nullptr)) {
            const uint64_t c = Common(seg, t->rows);
            const double tgi =
                t->rows.empty() ? NAN : 100.0 * Share(c, seg.size()) / Share(t->rows.size(), n);
            if (c < min_count) continue;
            if (by == tagindex::TopTagsBy::kTgi && std::isnan(tgi)) continue;
            cands.push_back({t, c, tgi});
          }
          // Naive: a full stable sort by the key (candidates are already in
          // (category, name) order, the final tie break).
          std::stable_sort(cands.begin(), cands.end(), [&](const Cand& a, const Cand& b) {
            const double ta = std::isnan(a.tgi) ? -1 : a.tgi, tb = std::isnan(b.tgi) ? -1 : b.tgi;
            if (by == tagindex::TopTagsBy::kTgi) {
              return ta != tb ? ta > tb : a.count > b.count;
            }
            return a.count != b.count ? a.count > b.count : ta > tb;
          });
          if (cands.size() > topn) cands.resize(topn);
          REQUIRE(top->size() == cands.size());
          for (size_t i = 0; i < cands.size(); ++i) {
            CHECK((*top)[i].tag == cands[i].t->id);
            CHECK((*top)[i].count == cands[i].count);
          }
        }
      }
    }

    // Co-occurrence of a tag list (with a repeated tag), in the segment and overall.
    std::vector<TagId> list;
    for (size_t i = 0; i < f.tags.size(); i += 2) list.push_back(f.tags[i].id);
    list.push_back(f.tags[0].id);
    for (bool in_segment : {false, true}) {
      INFO("co-occurrence in segment " << in_segment);
      auto m = ix.CoOccurrenceOf(list, in_segment ? &f.segment : nullptr);
      REQUIRE(m.ok());
      const Rows& pop = in_segment ? seg : f.universe;
      CHECK(m->population == pop.size());
      const size_t k = list.size();
      REQUIRE(m->counts.size() == k * k);
      for (size_t i = 0; i < k; ++i) {
        const ModelTag& a = f.Tag(list[i]);
        CHECK(m->names[i] == (a.name == "运动" ? a.category + ":运动" : a.name));
        for (size_t j = 0; j < k; ++j) {
          const ModelTag& b = f.Tag(list[j]);
          Rows ab;
          uint64_t ca = Common(pop, a.rows), cb = Common(pop, b.rows), cab = 0;
          for (RowId r : pop) cab += a.rows.count(r) && b.rows.count(r);
          INFO("pair " << a.name << " " << b.name);
          CHECK(m->counts[i * k + j] == cab);
          CheckRatio(m->jaccard[i * k + j],
                     ca + cb - cab == 0 ? NAN : double(cab) / double(ca + cb - cab));
          CheckRatio(m->lift[i * k + j],
                     ca == 0 || cb == 0 || pop.empty()
                         ? NAN
                         : double(cab) * double(pop.size()) / (double(ca) * double(cb)));
        }
      }
    }

    // Crosstab of the two exclusive categories, in the segment and overall.
    for (bool in_segment : {false, true}) {
      INFO("crosstab in segment " << in_segment);
      auto x = ix.CrosstabOf("购买频率", "城市", in_segment ? &f.segment : nullptr);
      REQUIRE(x.ok());
      const Rows& pop = in_segment ? seg : f.universe;
      const std::string rc = "购买频率", cc = "城市";
      const auto rows = f.Sorted(&rc);
      const auto cols = f.Sorted(&cc);
      REQUIRE(x->rows.size() == rows.size());
      REQUIRE(x->cols.size() == cols.size());
      CHECK(x->total == pop.size());
      uint64_t none_none = 0;
      for (RowId r : pop) {
        bool in_r = false, in_c = false;
        for (const ModelTag* t : rows) in_r = in_r || t->rows.count(r);
        for (const ModelTag* t : cols) in_c = in_c || t->rows.count(r);
        none_none += !in_r && !in_c;
      }
      CHECK(x->none_none == none_none);
      for (size_t i = 0; i < rows.size(); ++i) {
        CHECK(x->rows[i] == rows[i]->id);
        CHECK(x->row_totals[i] == Common(pop, rows[i]->rows));
        uint64_t no_col = 0;
        for (RowId r : pop) {
          if (!rows[i]->rows.count(r)) continue;
          bool any = false;
          for (const ModelTag* t : cols) any = any || t->rows.count(r);
          no_col += !any;
        }
        CHECK(x->col_none_by_row[i] == no_col);
        for (size_t j = 0; j < cols.size(); ++j) {
          uint64_t c = 0;
          for (RowId r : pop) c += rows[i]->rows.count(r) && cols[j]->rows.count(r);
          CHECK(x->counts[i * cols.size() + j] == c);
        }
      }
      for (size_t j = 0; j < cols.size(); ++j) {
        CHECK(x->col_totals[j] == Common(pop, cols[j]->rows));
        uint64_t no_row = 0;
        for (RowId r : pop) {
          if (!cols[j]->rows.count(r)) continue;
          bool any = false;
          for (const ModelTag* t : rows) any = any || t->rows.count(r);
          no_row += !any;
        }
        CHECK(x->row_none_by_col[j] == no_row);
      }
    }

    // Coverage and customers without a category.
    for (bool in_segment : {false, true}) {
      INFO("coverage in segment " << in_segment);
      auto c = ix.Coverage(in_segment ? &f.segment : nullptr);
      REQUIRE(c.ok());
      const Rows& pop = in_segment ? seg : f.universe;
      CHECK(c->population == pop.size());
      const auto all = f.Sorted(nullptr);
      REQUIRE(c->tags.size() == all.size());
      for (size_t i = 0; i < all.size(); ++i) {
        CHECK(c->tags[i].tag == all[i]->id);
        CHECK(c->tags[i].count == Common(pop, all[i]->rows));
        CheckRatio(c->tags[i].share, Share(Common(pop, all[i]->rows), pop.size()));
      }
      std::map<std::string, Rows> covered;
      std::map<std::string, uint32_t> tag_count;
      for (const ModelTag& t : f.tags) {
        if (t.category.empty()) continue;
        ++tag_count[t.category];
        for (RowId r : t.rows) {
          if (pop.count(r)) covered[t.category].insert(r);
        }
      }
      tag_count["空类"] = 0;
      REQUIRE(c->categories.size() == tag_count.size());
      for (const tagindex::CategoryCoverage& cat : c->categories) {
        INFO("category " << cat.category);
        CHECK(cat.tag_count == tag_count.at(cat.category));
        CHECK(cat.covered == covered[cat.category].size());
        CHECK(cat.uncovered == pop.size() - covered[cat.category].size());
        Rows without;
        for (RowId r : pop) {
          if (!covered[cat.category].count(r)) without.insert(r);
        }
        auto w = ix.CustomersWithoutCategory(cat.category, in_segment ? &f.segment : nullptr);
        REQUIRE(w.ok());
        CHECK(w->Rows().value() == std::vector<RowId>(without.begin(), without.end()));
      }
    }
  }
}

TEST_CASE("analytics errors name the problem", "[analytics]") {
  Fixture f = Build(7);
  const Index& ix = *f.index;
  auto other = Index::Create().value();
  const Segment foreign = other->AllCustomers();
  CHECK(ix.Profile(foreign).status().code() == absl::StatusCode::kInvalidArgument);
  auto p = ix.Profile(f.segment, {.category = "没有"});
  CHECK(p.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(p.status().message()).find("没有") != std::string::npos);
  CHECK(ix.Profile(f.segment, {.attribute = "年龄"}).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(ix.TopTags(f.segment, {.n = 0}).status().code() == absl::StatusCode::kInvalidArgument);
  auto x = ix.CrosstabOf("兴趣爱好类", "城市");
  CHECK(x.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(x.status().message()).find("not exclusive") != std::string::npos);
  CHECK(ix.CrosstabOf("城市", "城市").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ix.CrosstabOf("城市", "无").status().code() == absl::StatusCode::kNotFound);
  const TagId bad[] = {f.tags[0].id, TagId{9999}};
  auto m = ix.CoOccurrenceOf(bad);
  CHECK(m.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(m.status().message()).find("position 1") != std::string::npos);
  CHECK(ix.CustomersWithoutCategory("无").status().code() == absl::StatusCode::kNotFound);
  CHECK(ix.Profile(f.segment, {.category = std::string("\xff")}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
