// Segment analytics: every number is an intersection count of bitmaps (or a
// bit-sliced sum), never a walk over customers. See analytics.h.
#include "index/analytics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bitmap/kernels.h"
#include "index/names.h"

namespace tagindex::internal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

bool ByCategoryName(const TagEntry* a, const TagEntry* b) {
  return std::tie(a->category, a->name) < std::tie(b->category, b->name);
}

absl::Status UnknownCategory(std::string_view name) {
  return absl::NotFoundError(absl::StrCat("analytics: unknown category ", Quote(name)));
}

// The tags of `category` (nullopt: all; "": those without a category),
// ordered by (category, name).
absl::StatusOr<std::vector<const TagEntry*>> Select(const Catalog& catalog,
                                                    const std::optional<std::string>& category) {
  std::vector<const TagEntry*> out;
  if (category.has_value() && !category->empty()) {
    const CategoryEntry* c = catalog.FindCategory(*category);
    if (c == nullptr) return UnknownCategory(*category);
    for (TagId id : c->tags) out.push_back(catalog.Get(id));
  } else {
    catalog.ForEachTag([&](const TagEntry& t) {
      if (!category.has_value() || t.category.empty()) out.push_back(&t);
    });
  }
  std::sort(out.begin(), out.end(), ByCategoryName);
  return out;
}

std::string DisplayName(const Catalog& catalog, const TagEntry& t) {
  if (!t.category.empty() && catalog.FindByName(t.name).size() > 1) {
    return absl::StrCat(t.category, ":", t.name);
  }
  return t.name;
}

// The live part of a segment, or the universe; `owned` keeps a computed one.
const Bitmap& LivePart(const AnalyticsData& d, const Bitmap* segment, Bitmap* owned) {
  if (segment == nullptr) return d.universe;
  *owned = Bitmap::And(*segment, d.universe);
  return *owned;
}

std::vector<const Bitmap*> BitmapsOf(std::span<const TagEntry* const> tags) {
  std::vector<const Bitmap*> out;
  out.reserve(tags.size());
  for (const TagEntry* t : tags) out.push_back(&t->bitmap);
  return out;
}

absl::StatusOr<std::vector<ProfileRow>> Rows(const AnalyticsData& d, const Bitmap& segment,
                                             const std::optional<std::string>& category,
                                             const std::string& attribute, CountMethod method,
                                             uint64_t* segment_count) {
  const AttributeEntry* attr = nullptr;
  if (!attribute.empty()) {
    attr = d.attributes.Find(attribute);
    if (attr == nullptr) {
      return absl::NotFoundError(absl::StrCat("analytics: unknown attribute ", Quote(attribute)));
    }
  }
  auto selected = Select(d.catalog, category);
  if (!selected.ok()) return selected.status();
  const std::vector<const TagEntry*>& tags = *selected;
  // Tags hold live rows only, so |segment ∩ tag| needs no universe; the
  // segment's own size does.
  *segment_count = Bitmap::AndCardinality(segment, d.universe);
  std::vector<uint64_t> counts(tags.size());
  const std::vector<const Bitmap*> bitmaps = BitmapsOf(tags);
  CountInSegment(segment, bitmaps, counts.data(), method);
  std::vector<ProfileRow> rows(tags.size());
  for (size_t i = 0; i < tags.size(); ++i) {
    ProfileRow& r = rows[i];
    r.tag = tags[i]->id;
    r.name = tags[i]->name;
    r.category = tags[i]->category;
    r.count = counts[i];
    r.overall = tags[i]->bitmap.Cardinality();
    if (attr != nullptr && r.count > 0) {
      const Bitmap both = Bitmap::And(segment, tags[i]->bitmap);
      r.attribute_count = attr->column.Count(&both);
      const Int128 sum = attr->column.Sum(&both);
      r.attribute_sum = absl::MakeInt128(static_cast<int64_t>(sum >> 64),
                                         static_cast<uint64_t>(sum & ~uint64_t{0}));
    }
  }
  return rows;
}

}  // namespace

void CountInSegment(const Bitmap& segment, std::span<const Bitmap* const> tags, uint64_t* counts,
                    CountMethod method) {
  if (method == CountMethod::kAuto) {
    // Array chunks (at most 4096 ids of 65536) on average over the chunks
    // the segment spans: O(1), the cardinality is cached. (CRoaring's
    // container statistics walk every value.)
    const uint64_t n = segment.Cardinality();
    const uint64_t chunks =
        n == 0 ? 1 : (uint64_t{segment.Maximum()} >> 16) - (segment.Minimum() >> 16) + 1;
    method = n <= chunks * 4096 ? CountMethod::kFused : CountMethod::kSeparate;
  }
  if (method == CountMethod::kFused) {
    kernels::AndCardinalityMany(segment, tags, counts);
    return;
  }
  for (size_t i = 0; i < tags.size(); ++i) counts[i] = Bitmap::AndCardinality(segment, *tags[i]);
}

absl::StatusOr<SegmentProfile> ProfileOf(const AnalyticsData& d, const Bitmap& segment,
                                         const ProfileOptions& options, CountMethod method) {
  SegmentProfile p;
  auto rows = Rows(d, segment, options.category, options.attribute, method, &p.segment_count);
  if (!rows.ok()) return rows.status();
  p.universe_count = d.universe.Cardinality();
  p.attribute = options.attribute;
  p.rows = *std::move(rows);
  FinishProfile(p);
  return p;
}

absl::StatusOr<std::vector<ProfileRow>> TopTagsOf(const AnalyticsData& d, const Bitmap& segment,
                                                  const TopTagsOptions& options,
                                                  CountMethod method) {
  if (options.n == 0) return absl::InvalidArgumentError("analytics: top-N needs n >= 1");
  SegmentProfile p;
  auto rows = Rows(d, segment, options.category, "", method, &p.segment_count);
  if (!rows.ok()) return rows.status();
  p.universe_count = d.universe.Cardinality();
  p.rows = *std::move(rows);
  FinishProfile(p);
  return RankTopTags(std::move(p.rows), options);
}

absl::StatusOr<CoOccurrence> CoOccurrenceOf(const AnalyticsData& d, std::span<const TagId> tags,
                                            const Bitmap* segment) {
  std::vector<const TagEntry*> entries;
  for (size_t i = 0; i < tags.size(); ++i) {
    const TagEntry* t = d.catalog.Get(tags[i]);
    if (t == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("analytics: tag id ", tags[i].value, " (position ", i, ") does not exist"));
    }
    entries.push_back(t);
  }
  Bitmap owned;
  const Bitmap& pop = LivePart(d, segment, &owned);
  CoOccurrence m;
  const size_t n = entries.size();
  m.tags.assign(tags.begin(), tags.end());
  for (const TagEntry* t : entries) m.names.push_back(DisplayName(d.catalog, *t));
  m.population = pop.Cardinality();
  m.counts.assign(n * n, 0);
  // Row i: the tag restricted to the population, counted against every
  // later tag in one fused pass; the matrix is symmetric.
  std::vector<const Bitmap*> bitmaps = BitmapsOf(entries);
  std::vector<uint64_t> row(n);
  for (size_t i = 0; i < n; ++i) {
    const Bitmap in_pop = segment == nullptr ? Bitmap() : Bitmap::And(pop, *bitmaps[i]);
    const Bitmap& a = segment == nullptr ? *bitmaps[i] : in_pop;
    m.counts[i * n + i] = a.Cardinality();
    if (i + 1 < n) {
      CountInSegment(a, std::span<const Bitmap* const>(bitmaps.data() + i + 1, n - i - 1),
                     row.data());
      for (size_t j = i + 1; j < n; ++j) {
        m.counts[i * n + j] = m.counts[j * n + i] = row[j - i - 1];
      }
    }
  }
  FinishCoOccurrence(m);
  return m;
}

absl::StatusOr<Crosstab> CrosstabOf(const AnalyticsData& d, std::string_view row_category,
                                    std::string_view col_category, const Bitmap* segment) {
  const CategoryEntry* rc = d.catalog.FindCategory(row_category);
  if (rc == nullptr) return UnknownCategory(row_category);
  const CategoryEntry* cc = d.catalog.FindCategory(col_category);
  if (cc == nullptr) return UnknownCategory(col_category);
  if (rc == cc) {
    return absl::InvalidArgumentError(
        absl::StrCat("analytics: crosstab of category ", Quote(row_category), " with itself"));
  }
  for (const CategoryEntry* c : {rc, cc}) {
    if (!c->exclusive) {
      return absl::InvalidArgumentError(
          absl::StrCat("analytics: crosstab needs exclusive categories; ", Quote(c->name),
                       " is not exclusive (a customer may hold several of its tags)"));
    }
  }
  auto rows = Select(d.catalog, rc->name);
  auto cols = Select(d.catalog, cc->name);
  if (!rows.ok()) return rows.status();
  if (!cols.ok()) return cols.status();
  Bitmap owned;
  const Bitmap& pop = LivePart(d, segment, &owned);
  Crosstab x;
  x.row_category = rc->name;
  x.col_category = cc->name;
  const size_t nr = rows->size(), nc = cols->size();
  for (const TagEntry* t : *rows) {
    x.rows.push_back(t->id);
    x.row_names.push_back(t->name);
  }
  for (const TagEntry* t : *cols) {
    x.cols.push_back(t->id);
    x.col_names.push_back(t->name);
  }
  x.total = pop.Cardinality();
  x.counts.assign(nr * nc, 0);
  x.row_totals.assign(nr, 0);
  x.col_totals.assign(nc, 0);
  const std::vector<const Bitmap*> col_bitmaps = BitmapsOf(*cols);
  const std::vector<const Bitmap*> row_bitmaps = BitmapsOf(*rows);
  CountInSegment(pop, col_bitmaps, x.col_totals.data());
  CountInSegment(pop, row_bitmaps, x.row_totals.data());
  for (size_t r = 0; r < nr; ++r) {
    if (x.row_totals[r] == 0) continue;
    const Bitmap in_pop = Bitmap::And(pop, *row_bitmaps[r]);
    CountInSegment(in_pop, col_bitmaps, x.counts.data() + r * nc);
  }
  // Exclusive categories: each customer holds at most one row and one column
  // tag, so the margins follow from the counts.
  x.row_none_by_col.assign(nc, 0);
  x.col_none_by_row.assign(nr, 0);
  uint64_t covered = 0;
  for (size_t r = 0; r < nr; ++r) {
    uint64_t sum = 0;
    for (size_t c = 0; c < nc; ++c) sum += x.counts[r * nc + c];
    x.col_none_by_row[r] = x.row_totals[r] - sum;
    covered += x.row_totals[r];
  }
  for (size_t c = 0; c < nc; ++c) {
    uint64_t sum = 0;
    for (size_t r = 0; r < nr; ++r) sum += x.counts[r * nc + c];
    x.row_none_by_col[c] = x.col_totals[c] - sum;
    covered += x.row_none_by_col[c];
  }
  x.none_none = x.total - covered;
  return x;
}

absl::StatusOr<CoverageReport> CoverageOf(const AnalyticsData& d, const Bitmap* segment) {
  Bitmap owned;
  const Bitmap& pop = LivePart(d, segment, &owned);
  CoverageReport out;
  out.population = pop.Cardinality();
  auto all = Select(d.catalog, std::nullopt);
  if (!all.ok()) return all.status();
  const std::vector<const Bitmap*> bitmaps = BitmapsOf(*all);
  std::vector<uint64_t> counts(all->size());
  if (segment == nullptr) {
    for (size_t i = 0; i < bitmaps.size(); ++i) counts[i] = bitmaps[i]->Cardinality();
  } else {
    CountInSegment(pop, bitmaps, counts.data());
  }
  for (size_t i = 0; i < all->size(); ++i) {
    const TagEntry& t = *(*all)[i];
    out.tags.push_back({t.id, t.name, t.category, counts[i], 0});
  }
  for (const auto& [name, c] : d.catalog.categories()) {
    std::vector<const Bitmap*> members;
    for (TagId id : c.tags) members.push_back(&d.catalog.Get(id)->bitmap);
    CategoryCoverage cov;
    cov.category = name;
    cov.tag_count = static_cast<uint32_t>(c.tags.size());
    if (!members.empty()) {
      const Bitmap any = Bitmap::OrMany(members);
      cov.covered = segment == nullptr ? any.Cardinality() : Bitmap::AndCardinality(any, pop);
    }
    out.categories.push_back(std::move(cov));
  }
  FinishCoverage(out);
  return out;
}

absl::StatusOr<Bitmap> WithoutCategoryOf(const AnalyticsData& d, std::string_view category,
                                         const Bitmap* segment) {
  const CategoryEntry* c = d.catalog.FindCategory(category);
  if (c == nullptr) return UnknownCategory(category);
  Bitmap owned;
  const Bitmap& pop = LivePart(d, segment, &owned);
  std::vector<const Bitmap*> members;
  for (TagId id : c->tags) members.push_back(&d.catalog.Get(id)->bitmap);
  if (members.empty()) return pop.Copy();
  const Bitmap* pos[] = {&pop};
  return Bitmap::AndAndNot(pos, members);
}

}  // namespace tagindex::internal

namespace tagindex {

void FinishProfile(SegmentProfile& profile) {
  using internal::kNaN;
  using internal::Ratio;
  for (ProfileRow& r : profile.rows) {
    r.share_in_segment = Ratio(r.count, profile.segment_count);
    r.share_overall = Ratio(r.overall, profile.universe_count);
    r.tgi = r.overall == 0 ? kNaN : 100.0 * r.share_in_segment / r.share_overall;
    r.attribute_mean = r.attribute_count == 0
                           ? 0.0
                           : static_cast<double>(static_cast<long double>(r.attribute_sum) /
                                                 static_cast<long double>(r.attribute_count));
  }
}

absl::StatusOr<std::vector<ProfileRow>> RankTopTags(std::vector<ProfileRow> rows,
                                                    const TopTagsOptions& options) {
  if (options.n == 0) return absl::InvalidArgumentError("analytics: top-N needs n >= 1");
  std::vector<ProfileRow> kept;
  for (ProfileRow& r : rows) {
    if (r.count < options.min_count) continue;
    if (options.by == TopTagsBy::kTgi && std::isnan(r.tgi)) continue;
    kept.push_back(std::move(r));
  }
  // Best first; ties by the other measure, then (category, name): the order
  // is total, so the answer is deterministic.
  auto better = [&](const ProfileRow& a, const ProfileRow& b) {
    if (options.by == TopTagsBy::kTgi) {
      if (a.tgi != b.tgi) return a.tgi > b.tgi;
      if (a.count != b.count) return a.count > b.count;
    } else {
      if (a.count != b.count) return a.count > b.count;
      const double ta = std::isnan(a.tgi) ? -1 : a.tgi, tb = std::isnan(b.tgi) ? -1 : b.tgi;
      if (ta != tb) return ta > tb;
    }
    return std::tie(a.category, a.name) < std::tie(b.category, b.name);
  };
  const size_t n = static_cast<size_t>(std::min<uint64_t>(options.n, kept.size()));
  std::partial_sort(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(n), kept.end(),
                    better);
  kept.resize(n);
  return kept;
}

void FinishCoOccurrence(CoOccurrence& m) {
  const size_t n = m.tags.size();
  m.jaccard.assign(n * n, internal::kNaN);
  m.lift.assign(n * n, internal::kNaN);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const uint64_t ab = m.counts[i * n + j], a = m.counts[i * n + i], b = m.counts[j * n + j];
      const uint64_t either = a + b - ab;
      if (either > 0) m.jaccard[i * n + j] = static_cast<double>(ab) / static_cast<double>(either);
      if (a > 0 && b > 0 && m.population > 0) {
        m.lift[i * n + j] = static_cast<double>(ab) * static_cast<double>(m.population) /
                            (static_cast<double>(a) * static_cast<double>(b));
      }
    }
  }
}

void FinishCoverage(CoverageReport& report) {
  for (TagCoverage& t : report.tags) t.share = internal::Ratio(t.count, report.population);
  for (CategoryCoverage& c : report.categories) {
    c.uncovered = report.population - c.covered;
    c.share = internal::Ratio(c.covered, report.population);
  }
}

absl::StatusOr<SegmentProfile> MergeProfiles(std::vector<SegmentProfile> parts) {
  if (parts.empty()) return absl::InvalidArgumentError("analytics: no profiles to merge");
  SegmentProfile out = std::move(parts[0]);
  for (size_t p = 1; p < parts.size(); ++p) {
    const SegmentProfile& in = parts[p];
    bool aligned = in.rows.size() == out.rows.size();
    for (size_t i = 0; aligned && i < out.rows.size(); ++i) {
      aligned = in.rows[i].tag == out.rows[i].tag;
    }
    if (!aligned) {
      return absl::InvalidArgumentError(absl::StrCat(
          "analytics: profile ", p, " has other tags than profile 0 (not one catalog)"));
    }
    out.segment_count += in.segment_count;
    out.universe_count += in.universe_count;
    for (size_t i = 0; i < out.rows.size(); ++i) {
      ProfileRow& r = out.rows[i];
      r.count += in.rows[i].count;
      r.overall += in.rows[i].overall;
      r.attribute_count += in.rows[i].attribute_count;
      r.attribute_sum += in.rows[i].attribute_sum;
    }
  }
  FinishProfile(out);
  return out;
}

absl::StatusOr<CoOccurrence> MergeCoOccurrences(std::vector<CoOccurrence> parts) {
  if (parts.empty()) {
    return absl::InvalidArgumentError("analytics: no co-occurrence matrices to merge");
  }
  CoOccurrence out = std::move(parts[0]);
  for (size_t p = 1; p < parts.size(); ++p) {
    const CoOccurrence& in = parts[p];
    if (in.tags != out.tags || in.counts.size() != out.counts.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("analytics: co-occurrence matrix ", p, " is of other tags than matrix 0"));
    }
    out.population += in.population;
    for (size_t i = 0; i < out.counts.size(); ++i) out.counts[i] += in.counts[i];
  }
  FinishCoOccurrence(out);
  return out;
}

}  // namespace tagindex
