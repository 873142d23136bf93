// The analytics subcommands of `tagindex` (profile, top, cooccur, crosstab,
// coverage) and the saved-segment ones (segment save / list / ...). Printing only; the numbers come
// from Index's analytics methods (include/tagindex/analytics.h), or from
// ShardedIndex's (the same calls, merged exactly) when the directory holds a
// sharded index's MANIFEST: the commands are written once over either.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "tagindex/sharded_index.h"
#include "tagindex/tagindex.h"

namespace tagindex::cli {
namespace {

struct Args {
  std::string dir, query, segment, category, attribute, by = "count", metric = "lift";
  std::string rows, cols, without;
  std::vector<std::string> tags;
  uint64_t n = 10, min_count = 0, limit = 0;
  uint32_t threads = 0;
  bool json = false;
};

absl::StatusOr<std::unique_ptr<Index>> OpenIndex(const std::string& dir) {
  OpenOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  return Index::Open(dir, options);
}

// Runs `fn(index)` on the index in `dir`, opened read-only: a ShardedIndex
// when the directory holds a MANIFEST (queries on `threads` threads), else
// an Index. `fn` is generic over the two (their analytics calls have the
// same names and contracts; segments are Segment or ShardedSegment).
template <typename Fn>
int WithAnyIndex(const std::string& dir, uint32_t threads, Fn&& fn) {
  if (IsShardedDir(dir)) {
    ShardedOpenOptions o;
    o.shard.read_only = true;
    o.shard.create_if_missing = false;
    o.threads = threads;
    auto sharded = ShardedIndex::Open(dir, o);
    if (!sharded.ok()) return ReportError(sharded.status());
    return fn(static_cast<const ShardedIndex&>(**sharded));
  }
  auto index = OpenIndex(dir);
  if (!index.ok()) return ReportError(index.status());
  return fn(static_cast<const Index&>(**index));
}

std::string Pct(double share) { return absl::StrFormat("%.2f%%", 100.0 * share); }
std::string Num(double v, int decimals = 1) {
  return std::isnan(v) ? std::string("-") : absl::StrFormat("%.*f", decimals, v);
}
std::string JsonNum(double v) {
  return std::isnan(v) || std::isinf(v) ? std::string("null") : absl::StrFormat("%.10g", v);
}
std::string Int128Text(absl::int128 v) {
  std::string text;
  const bool negative = v < 0;
  absl::uint128 mag = negative ? -static_cast<absl::uint128>(v) : static_cast<absl::uint128>(v);
  if (mag == 0) text = "0";
  while (mag > 0) {
    text.insert(text.begin(), static_cast<char>('0' + static_cast<int>(mag % 10)));
    mag /= 10;
  }
  return negative ? "-" + text : text;
}

// The segment of a query, or every customer for "".
template <typename I>
auto SegmentOf(const I& index, const std::string& text)
    -> absl::StatusOr<decltype(index.AllCustomers())> {
  if (text.empty()) return index.AllCustomers();
  return index.Query(text);
}

// A tag by "name" or "category:name".
template <typename I>
absl::StatusOr<TagId> TagByText(const I& index, const std::string& text) {
  absl::StatusOr<TagId> tag = index.FindTag(text);
  if (tag.ok() || !absl::IsNotFound(tag.status())) return tag;
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return tag;
  absl::StatusOr<TagId> qualified = index.FindTag(text.substr(0, colon), text.substr(colon + 1));
  return qualified.ok() ? qualified : tag;
}

// An attribute aggregate in the column's own unit ("12.50", a date).
template <typename I>
std::string AttributeMean(const I& index, const AttributeInfo& a, const ProfileRow& r) {
  if (r.attribute_count == 0) return "-";
  if (a.type == AttributeType::kDate) {
    auto d = index.FormatAttributeValue(a.name, std::llround(r.attribute_mean));
    return d.ok() ? *d : "-";
  }
  return absl::StrFormat("%.2f", r.attribute_mean / std::pow(10.0, a.scale));
}

template <typename I>
void PrintRows(const I& index, const std::vector<ProfileRow>& rows, uint64_t segment_count,
               const std::string& attribute, const std::optional<AttributeInfo>& info,
               const Args& a, const char* what) {
  if (a.json) {
    std::string out = absl::StrCat("{\"segment\":", JsonString(a.query),
                                   ",\"segment_count\":", segment_count, ",\"tags\":[");
    for (size_t i = 0; i < rows.size(); ++i) {
      const ProfileRow& r = rows[i];
      absl::StrAppend(&out, i ? "," : "", "{\"id\":", r.tag.value, ",\"name\":", JsonString(r.name),
                      ",\"category\":", JsonString(r.category), ",\"count\":", r.count,
                      ",\"overall\":", r.overall,
                      ",\"share_in_segment\":", JsonNum(r.share_in_segment),
                      ",\"share_overall\":", JsonNum(r.share_overall), ",\"tgi\":", JsonNum(r.tgi));
      if (!attribute.empty()) {
        absl::StrAppend(&out, ",\"attribute_count\":", r.attribute_count,
                        ",\"attribute_sum\":", Int128Text(r.attribute_sum),
                        ",\"attribute_mean\":", JsonNum(r.attribute_mean));
      }
      out += "}";
    }
    std::printf("%s]}\n", out.c_str());
    return;
  }
  std::vector<std::string> header = {"category", "tag",           "in segment",
                                     "share",    "overall share", "TGI"};
  std::vector<bool> right = {false, false, true, true, true, true};
  if (!attribute.empty()) {
    header.push_back(attribute + " mean");
    right.push_back(true);
  }
  Table table(header, right);
  for (const ProfileRow& r : rows) {
    std::vector<std::string> row = {r.category,           r.name,
                                    Thousands(r.count),   Pct(r.share_in_segment),
                                    Pct(r.share_overall), Num(r.tgi)};
    if (info) row.push_back(AttributeMean(index, *info, r));
    table.Add(row);
  }
  table.Print(stdout);
  std::fprintf(stderr, "%s of %s customers in the segment\n", what,
               Thousands(segment_count).c_str());
}

template <typename I>
using SegmentType = std::decay_t<decltype(std::declval<const I&>().AllCustomers())>;

template <typename I>
int RunProfileOn(const I& index, const Args& a) {
  auto seg = SegmentOf(index, a.query);
  if (!seg.ok()) return ReportError(seg.status());
  ProfileOptions o;
  if (!a.category.empty()) o.category = a.category;
  o.attribute = a.attribute;
  std::optional<AttributeInfo> info;
  if (!a.attribute.empty()) {
    auto i = index.GetAttribute(a.attribute);
    if (!i.ok()) return ReportError(i.status());
    info = *i;
  }
  auto p = index.Profile(*seg, o);
  if (!p.ok()) return ReportError(p.status());
  PrintRows(index, p->rows, p->segment_count, a.attribute, info, a, "profile");
  return kExitOk;
}

template <typename I>
int RunTopOn(const I& index, const Args& a) {
  TopTagsOptions o;
  o.n = a.n;
  o.min_count = a.min_count;
  if (a.by == "tgi") {
    o.by = TopTagsBy::kTgi;
  } else if (a.by != "count") {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat("top: --by must be count or tgi, not \"", a.by, "\"")));
  }
  if (!a.category.empty()) o.category = a.category;
  auto seg = SegmentOf(index, a.query);
  if (!seg.ok()) return ReportError(seg.status());
  auto top = index.TopTags(*seg, o);
  if (!top.ok()) return ReportError(top.status());
  const uint64_t segment_count = index.Profile(*seg, {.category = ""}).value().segment_count;
  PrintRows(index, *top, segment_count, "", std::nullopt, a, "top tags");
  return kExitOk;
}

template <typename I>
int RunCooccurOn(const I& index, const Args& a) {
  std::vector<TagId> ids;
  for (const std::string& t : a.tags) {
    auto id = TagByText(index, t);
    if (!id.ok()) return ReportError(id.status());
    ids.push_back(*id);
  }
  std::optional<SegmentType<I>> seg;
  if (!a.segment.empty()) {
    auto s = index.Query(a.segment);
    if (!s.ok()) return ReportError(s.status());
    seg = *s;
  }
  auto m = index.CoOccurrenceOf(ids, seg ? &*seg : nullptr);
  if (!m.ok()) return ReportError(m.status());
  const size_t n = ids.size();
  if (a.json) {
    auto matrix = [&](auto&& cell) {
      std::string out = "[";
      for (size_t i = 0; i < n; ++i) {
        out += i ? ",[" : "[";
        for (size_t j = 0; j < n; ++j) absl::StrAppend(&out, j ? "," : "", cell(i * n + j));
        out += "]";
      }
      return out + "]";
    };
    std::string names = "[";
    for (size_t i = 0; i < n; ++i) absl::StrAppend(&names, i ? "," : "", JsonString(m->names[i]));
    names += "]";
    std::printf("{\"tags\":%s,\"population\":%llu,\"counts\":%s,\"jaccard\":%s,\"lift\":%s}\n",
                names.c_str(), static_cast<unsigned long long>(m->population),
                matrix([&](size_t k) { return absl::StrCat(m->counts[k]); }).c_str(),
                matrix([&](size_t k) { return JsonNum(m->jaccard[k]); }).c_str(),
                matrix([&](size_t k) { return JsonNum(m->lift[k]); }).c_str());
    return kExitOk;
  }
  if (a.metric != "count" && a.metric != "jaccard" && a.metric != "lift") {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat("cooccur: --metric must be count, jaccard or lift, not \"", a.metric, "\"")));
  }
  std::vector<std::string> header = {""};
  std::vector<bool> right = {false};
  for (const std::string& name : m->names) {
    header.push_back(name);
    right.push_back(true);
  }
  Table table(header, right);
  for (size_t i = 0; i < n; ++i) {
    std::vector<std::string> row = {m->names[i]};
    for (size_t j = 0; j < n; ++j) {
      const size_t k = i * n + j;
      row.push_back(a.metric == "count"     ? Thousands(m->counts[k])
                    : a.metric == "jaccard" ? Num(m->jaccard[k], 3)
                                            : Num(m->lift[k], 2));
    }
    table.Add(row);
  }
  table.Print(stdout);
  std::fprintf(stderr, "%s over %s customers\n", a.metric.c_str(),
               Thousands(m->population).c_str());
  return kExitOk;
}

template <typename I>
int RunCrosstabOn(const I& index, const Args& a) {
  std::optional<SegmentType<I>> seg;
  if (!a.segment.empty()) {
    auto s = index.Query(a.segment);
    if (!s.ok()) return ReportError(s.status());
    seg = *s;
  }
  auto x = index.CrosstabOf(a.rows, a.cols, seg ? &*seg : nullptr);
  if (!x.ok()) return ReportError(x.status());
  const size_t nr = x->rows.size(), nc = x->cols.size();
  auto cell = [&](size_t r, size_t c) -> uint64_t {
    if (r < nr && c < nc) return x->counts[r * nc + c];
    if (r < nr) return x->col_none_by_row[r];
    if (c < nc) return x->row_none_by_col[c];
    return x->none_none;
  };
  if (a.json) {
    auto names = [](const std::vector<std::string>& v) {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) absl::StrAppend(&out, i ? "," : "", JsonString(v[i]));
      return out + "]";
    };
    std::string counts = "[";
    for (size_t r = 0; r <= nr; ++r) {
      counts += r ? ",[" : "[";
      for (size_t c = 0; c <= nc; ++c) absl::StrAppend(&counts, c ? "," : "", cell(r, c));
      counts += "]";
    }
    counts += "]";
    std::printf(
        "{\"rows\":%s,\"columns\":%s,\"row_category\":%s,\"column_category\":%s,\"total\":%llu,"
        "\"counts\":%s}\n",
        names(x->row_names).c_str(), names(x->col_names).c_str(),
        JsonString(x->row_category).c_str(), JsonString(x->col_category).c_str(),
        static_cast<unsigned long long>(x->total), counts.c_str());
    return kExitOk;
  }
  std::vector<std::string> header = {x->row_category + " \\ " + x->col_category};
  std::vector<bool> right = {false};
  for (const std::string& c : x->col_names) {
    header.push_back(c);
    right.push_back(true);
  }
  header.push_back("(none)");
  right.push_back(true);
  Table table(header, right);
  for (size_t r = 0; r <= nr; ++r) {
    std::vector<std::string> row = {r < nr ? x->row_names[r] : "(none)"};
    for (size_t c = 0; c <= nc; ++c) row.push_back(Thousands(cell(r, c)));
    table.Add(row);
  }
  table.Print(stdout);
  std::fprintf(stderr, "%s customers\n", Thousands(x->total).c_str());
  return kExitOk;
}

template <typename I>
int RunCoverageOn(const I& index, const Args& a) {
  std::optional<SegmentType<I>> seg;
  if (!a.segment.empty()) {
    auto s = index.Query(a.segment);
    if (!s.ok()) return ReportError(s.status());
    seg = *s;
  }
  if (!a.without.empty()) {
    auto w = index.CustomersWithoutCategory(a.without, seg ? &*seg : nullptr);
    if (!w.ok()) return ReportError(w.status());
    const uint64_t shown = a.limit == 0 ? w->Count() : std::min<uint64_t>(a.limit, w->Count());
    auto page = w->Page(0, shown);
    if (!page.ok()) return ReportError(page.status());
    auto keys = w->KeysOf(*page);
    if (!keys.ok()) return ReportError(keys.status());
    std::string out;
    for (const CustomerKey& k : *keys) {
      if (const int64_t* i = std::get_if<int64_t>(&k)) {
        absl::StrAppend(&out, *i, "\n");
      } else {
        absl::StrAppend(&out, std::get<std::string>(k), "\n");
      }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fprintf(stderr, "%s customers without a tag of %s\n", Thousands(w->Count()).c_str(),
                 a.without.c_str());
    return kExitOk;
  }
  auto c = index.Coverage(seg ? &*seg : nullptr);
  if (!c.ok()) return ReportError(c.status());
  if (a.json) {
    std::string out = absl::StrCat("{\"population\":", c->population, ",\"categories\":[");
    for (size_t i = 0; i < c->categories.size(); ++i) {
      const CategoryCoverage& k = c->categories[i];
      absl::StrAppend(&out, i ? "," : "", "{\"category\":", JsonString(k.category),
                      ",\"tags\":", k.tag_count, ",\"covered\":", k.covered,
                      ",\"uncovered\":", k.uncovered, ",\"share\":", JsonNum(k.share), "}");
    }
    out += "],\"tags\":[";
    for (size_t i = 0; i < c->tags.size(); ++i) {
      const TagCoverage& t = c->tags[i];
      absl::StrAppend(&out, i ? "," : "", "{\"id\":", t.tag.value, ",\"name\":", JsonString(t.name),
                      ",\"category\":", JsonString(t.category), ",\"count\":", t.count,
                      ",\"share\":", JsonNum(t.share), "}");
    }
    std::printf("%s]}\n", out.c_str());
    return kExitOk;
  }
  Table cats({"category", "tags", "covered", "share", "no tag"}, {false, true, true, true, true});
  for (const CategoryCoverage& k : c->categories) {
    cats.Add({k.category, absl::StrCat(k.tag_count), Thousands(k.covered), Pct(k.share),
              Thousands(k.uncovered)});
  }
  cats.Print(stdout);
  std::printf("\n");
  Table tags({"category", "tag", "customers", "share"}, {false, false, true, true});
  for (const TagCoverage& t : c->tags) {
    tags.Add({t.category, t.name, Thousands(t.count), Pct(t.share)});
  }
  tags.Print(stdout);
  std::fprintf(stderr, "coverage of %s customers\n", Thousands(c->population).c_str());
  return kExitOk;
}

int RunProfile(const Args& a) {
  return WithAnyIndex(a.dir, a.threads, [&](const auto& index) { return RunProfileOn(index, a); });
}

int RunTop(const Args& a) {
  return WithAnyIndex(a.dir, a.threads, [&](const auto& index) { return RunTopOn(index, a); });
}

int RunCooccur(const Args& a) {
  return WithAnyIndex(a.dir, a.threads, [&](const auto& index) { return RunCooccurOn(index, a); });
}

int RunCrosstab(const Args& a) {
  return WithAnyIndex(a.dir, a.threads, [&](const auto& index) { return RunCrosstabOn(index, a); });
}

int RunCoverage(const Args& a) {
  return WithAnyIndex(a.dir, a.threads, [&](const auto& index) { return RunCoverageOn(index, a); });
}

}  // namespace

void AddAnalyticsCommands(CLI::App& app, int& result) {
  static constexpr const char* kShardThreadsHelp =
      "sharded index: threads of the query pool (0 = all cores)";
  auto a = std::make_shared<Args>();

  CLI::App* profile =
      app.add_subcommand("profile", "Segment profile: per tag count, shares and TGI");
  profile->add_option("dir", a->dir, "index directory")->required();
  profile->add_option("query", a->query, "segment query")->required();
  profile->add_option("--category", a->category, "only the tags of this category");
  profile->add_option("--attribute", a->attribute, "also the mean of this attribute per tag");
  profile->add_option("--threads", a->threads, kShardThreadsHelp);
  profile->add_flag("--json", a->json, "JSON: {segment, segment_count, tags: [...]}");
  profile->footer(
      "TGI = 100 x (share in segment / share of all customers).\nExamples:\n"
      "  tagindex profile ./idx 高价值客户 --category 兴趣爱好类\n"
      "  tagindex profile ./idx '流失风险 AND 高价值客户' --attribute 消费金额 --json\n");
  profile->callback([a, &result]() { result = RunProfile(*a); });

  CLI::App* top = app.add_subcommand("top", "The N tags of a segment with most customers or TGI");
  top->add_option("dir", a->dir, "index directory")->required();
  top->add_option("query", a->query, "segment query")->required();
  top->add_option("-n", a->n, "how many tags")->capture_default_str();
  top->add_option("--by", a->by, "count | tgi")->capture_default_str();
  top->add_option("--min-count", a->min_count, "leave out tags with fewer customers in it");
  top->add_option("--category", a->category, "only the tags of this category");
  top->add_option("--threads", a->threads, kShardThreadsHelp);
  top->add_flag("--json", a->json, "JSON, as profile");
  top->footer(
      "Examples:\n  tagindex top ./idx 高价值客户 -n 5\n"
      "  tagindex top ./idx 流失风险 --by tgi --min-count 1000\n");
  top->callback([a, &result]() { result = RunTop(*a); });

  CLI::App* co =
      app.add_subcommand("cooccur", "Co-occurrence matrix of tags (counts, Jaccard, lift)");
  co->add_option("dir", a->dir, "index directory")->required();
  co->add_option("tags", a->tags, "tags: name or category:name")->required();
  co->add_option("--segment", a->segment, "within this segment query (default: everyone)");
  co->add_option("--metric", a->metric, "count | jaccard | lift (table only)")
      ->capture_default_str();
  co->add_option("--threads", a->threads, kShardThreadsHelp);
  co->add_flag("--json", a->json, "JSON: {tags, population, counts, jaccard, lift}");
  co->footer(
      "Examples:\n  tagindex cooccur ./idx 电子产品 图书音像 运动 --metric count\n"
      "  tagindex cooccur ./idx 电子产品 运动 --segment 高价值客户 --json\n");
  co->callback([a, &result]() { result = RunCooccur(*a); });

  CLI::App* x = app.add_subcommand("crosstab", "Counts per tag pair of two exclusive categories");
  x->add_option("dir", a->dir, "index directory")->required();
  x->add_option("rows", a->rows, "row category (exclusive)")->required();
  x->add_option("columns", a->cols, "column category (exclusive)")->required();
  x->add_option("--segment", a->segment, "within this segment query (default: everyone)");
  x->add_option("--threads", a->threads, kShardThreadsHelp);
  x->add_flag("--json", a->json, "JSON: {rows, columns, total, counts} ((none) last)");
  x->footer("Examples:\n  tagindex crosstab ./idx 购买频率 城市 --segment 高价值客户\n");
  x->callback([a, &result]() { result = RunCrosstab(*a); });

  CLI::App* cov = app.add_subcommand("coverage", "Customers covered per category and tag");
  cov->add_option("dir", a->dir, "index directory")->required();
  cov->add_option("--segment", a->segment, "within this segment query (default: everyone)");
  cov->add_option("--without", a->without,
                  "print the keys of customers with no tag of this category instead");
  cov->add_option("--limit", a->limit, "with --without: at most this many keys (0 = all)");
  cov->add_option("--threads", a->threads, kShardThreadsHelp);
  cov->add_flag("--json", a->json, "JSON: {population, categories, tags}");
  cov->footer(
      "Examples:\n  tagindex coverage ./idx\n  tagindex coverage ./idx --without 城市 --limit "
      "10\n");
  cov->callback([a, &result]() { result = RunCoverage(*a); });
}

}  // namespace tagindex::cli

namespace tagindex::cli {
namespace {

struct SegArgs {
  std::string dir, name, query, new_name, against, output;
  bool dynamic = false, json = false, rows = false;
};

absl::StatusOr<std::unique_ptr<Index>> OpenForWriting(const std::string& dir) {
  OpenOptions options;
  options.create_if_missing = false;
  return Index::Open(dir, options);
}

std::string KindText(SegmentKind k) { return k == SegmentKind::kDynamic ? "dynamic" : "static"; }

std::string CreatedText(int64_t micros) {
  const std::time_t t = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string InfoJson(const SavedSegmentInfo& i) {
  return absl::StrCat("{\"name\":", JsonString(i.name), ",\"kind\":\"", KindText(i.kind),
                      "\",\"query\":", JsonString(i.query), ",\"created\":\"",
                      CreatedText(i.created_micros), "\",\"count\":", i.count, "}");
}

int RunSegSave(const SegArgs& a) {
  auto index = OpenForWriting(a.dir);
  if (!index.ok()) return ReportError(index.status());
  absl::Status s = (*index)->SaveSegment(a.name, a.query,
                                         a.dynamic ? SegmentKind::kDynamic : SegmentKind::kStatic);
  if (!s.ok()) return ReportError(s);
  auto info = (*index)->GetSavedSegment(a.name);
  if (!info.ok()) return ReportError(info.status());
  if (a.json) {
    std::printf("%s\n", InfoJson(*info).c_str());
  } else {
    std::fprintf(stderr, "saved %s segment %s: %s customers\n", KindText(info->kind).c_str(),
                 info->name.c_str(), Thousands(info->count).c_str());
  }
  return kExitOk;
}

int RunSegList(const SegArgs& a) {
  auto index = OpenIndex(a.dir);
  if (!index.ok()) return ReportError(index.status());
  absl::StatusOr<std::vector<SavedSegmentInfo>> list_or = (*index)->ListSavedSegments();
  if (!list_or.ok()) return ReportError(list_or.status());
  std::vector<SavedSegmentInfo> list = *std::move(list_or);
  if (a.json) {
    std::string out = "[";
    for (size_t i = 0; i < list.size(); ++i) absl::StrAppend(&out, i ? "," : "", InfoJson(list[i]));
    std::printf("%s]\n", out.c_str());
    return kExitOk;
  }
  Table table({"segment", "kind", "customers", "created (UTC)", "query"},
              {false, false, true, false, false});
  for (const SavedSegmentInfo& i : list) {
    table.Add(
        {i.name, KindText(i.kind), Thousands(i.count), CreatedText(i.created_micros), i.query});
  }
  table.Print(stdout);
  return kExitOk;
}

int RunSegRename(const SegArgs& a) {
  auto index = OpenForWriting(a.dir);
  if (!index.ok()) return ReportError(index.status());
  absl::Status s = (*index)->RenameSavedSegment(a.name, a.new_name);
  return s.ok() ? kExitOk : ReportError(s);
}

int RunSegDrop(const SegArgs& a) {
  auto index = OpenForWriting(a.dir);
  if (!index.ok()) return ReportError(index.status());
  absl::Status s = (*index)->DropSavedSegment(a.name);
  return s.ok() ? kExitOk : ReportError(s);
}

int RunSegDiff(const SegArgs& a) {
  auto index = OpenIndex(a.dir);
  if (!index.ok()) return ReportError(index.status());
  absl::StatusOr<SegmentDiff> d;
  if (a.against.empty()) {
    d = (*index)->DiffSavedSegment(a.name);
  } else {
    auto before = (*index)->LoadSavedSegment(a.name);
    if (!before.ok()) return ReportError(before.status());
    auto after = (*index)->LoadSavedSegment(a.against);
    if (!after.ok()) return ReportError(after.status());
    d = (*index)->DiffSegments(*before, *after);
  }
  if (!d.ok()) return ReportError(d.status());
  if (a.json) {
    std::printf(
        "{\"before\":%llu,\"after\":%llu,\"entered\":%llu,\"left\":%llu,\"stayed\":%llu}\n",
        static_cast<unsigned long long>(d->before), static_cast<unsigned long long>(d->after),
        static_cast<unsigned long long>(d->entered), static_cast<unsigned long long>(d->left),
        static_cast<unsigned long long>(d->stayed));
  } else {
    Table table({"before", "after", "entered", "left", "stayed"}, {true, true, true, true, true});
    table.Add({Thousands(d->before), Thousands(d->after), Thousands(d->entered), Thousands(d->left),
               Thousands(d->stayed)});
    table.Print(stdout);
  }
  return kExitOk;
}

int RunSegExport(const SegArgs& a) {
  auto index = OpenIndex(a.dir);
  if (!index.ok()) return ReportError(index.status());
  auto seg = (*index)->LoadSavedSegment(a.name);
  if (!seg.ok()) return ReportError(seg.status());
  const absl::StatusOr<std::string> portable = seg->ToPortable();
  if (!portable.ok()) return ReportError(portable.status());
  const std::string& blob = *portable;
  std::FILE* f = std::fopen(a.output.c_str(), "wb");
  if (f == nullptr) {
    return ReportError(absl::InvalidArgumentError(
        absl::StrCat("segment export: cannot open ", a.output, " for writing")));
  }
  const bool ok = std::fwrite(blob.data(), 1, blob.size(), f) == blob.size();
  if (std::fclose(f) != 0 || !ok) {
    return ReportError(
        absl::InternalError(absl::StrCat("segment export: writing ", a.output, " failed")));
  }
  std::fprintf(stderr, "%s customers, %s bytes of portable Roaring\n",
               Thousands(seg->Count()).c_str(), Thousands(blob.size()).c_str());
  return kExitOk;
}

}  // namespace

void AddSegmentCommands(CLI::App& app, int& result) {
  auto a = std::make_shared<SegArgs>();
  CLI::App* seg = app.add_subcommand("segment", "Saved segments (人群包): save, list, diff, ...");
  seg->require_subcommand(1);
  seg->footer(
      "Examples:\n  tagindex segment save ./idx 双十一老客 '复购客户 AND 大促敏感'\n"
      "  tagindex segment save ./idx 高危 流失风险 --dynamic\n"
      "  tagindex count ./idx '人群:双十一老客 AND NOT 流失风险'\n"
      "  tagindex segment diff ./idx 双十一老客          # vs its query now\n"
      "  tagindex export ./idx 人群:双十一老客 -o list.csv\n");

  CLI::App* save = seg->add_subcommand("save", "Save a query's result (or, --dynamic, the query)");
  save->add_option("dir", a->dir, "index directory")->required();
  save->add_option("name", a->name, "segment name")->required();
  save->add_option("query", a->query, "segment query")->required();
  save->add_flag("--dynamic", a->dynamic, "store the query, evaluated when used");
  save->add_flag("--json", a->json, "JSON: {name, kind, query, created, count}");
  save->callback([a, &result]() { result = RunSegSave(*a); });

  CLI::App* list = seg->add_subcommand("list", "The saved segments");
  list->add_option("dir", a->dir, "index directory")->required();
  list->add_flag("--json", a->json, "JSON array");
  list->callback([a, &result]() { result = RunSegList(*a); });

  CLI::App* rename = seg->add_subcommand("rename", "Rename a saved segment");
  rename->add_option("dir", a->dir, "index directory")->required();
  rename->add_option("name", a->name, "segment name")->required();
  rename->add_option("new_name", a->new_name, "new name")->required();
  rename->callback([a, &result]() { result = RunSegRename(*a); });

  CLI::App* drop = seg->add_subcommand("drop", "Drop a saved segment");
  drop->add_option("dir", a->dir, "index directory")->required();
  drop->add_option("name", a->name, "segment name")->required();
  drop->callback([a, &result]() { result = RunSegDrop(*a); });

  CLI::App* diff = seg->add_subcommand(
      "diff", "Entered / left: a static segment vs its query now, or vs another segment");
  diff->add_option("dir", a->dir, "index directory")->required();
  diff->add_option("name", a->name, "segment name")->required();
  diff->add_option("--against", a->against, "compare with this saved segment instead");
  diff->add_flag("--json", a->json, "JSON: {before, after, entered, left, stayed}");
  diff->callback([a, &result]() { result = RunSegDiff(*a); });

  CLI::App* exp = seg->add_subcommand("export", "Write the members as portable Roaring");
  exp->add_option("dir", a->dir, "index directory")->required();
  exp->add_option("name", a->name, "segment name")->required();
  exp->add_option("-o,--output", a->output, "output file")->required();
  exp->callback([a, &result]() { result = RunSegExport(*a); });
}

}  // namespace tagindex::cli
