// Binding of segment analytics (tagindex/analytics.h) and saved segments
// (tagindex/saved_segments.h): plain tuples and lists; the Python layer
// (_analytics.py, _segments.py) turns them into DataFrames and dataclasses.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "convert.h"
#include "status.h"
#include "tagindex/tagindex.h"

namespace tagindex::python {
namespace {

using IndexPtr = std::shared_ptr<Index>;

const Segment* SegmentArg(const py::object& seg) {
  if (seg.is_none()) return nullptr;
  return &seg.cast<const PySegment&>().segment;
}

// The analytics calls below take one of these beside IndexReader /
// SnapshotReader: how a Python segment argument becomes the reader's
// segment type, and how a result segment goes back to Python.
template <typename R>
struct PlainSegments {
  static const Segment* Arg(const py::object& seg) { return SegmentArg(seg); }
  static PySegment Wrap(const typename R::Self& self, Segment s) {
    return PySegment{R::Owner(self), std::move(s)};
  }
};

// `_ShardedIndex` as a reader: its segments are PyShardedSegments of itself.
struct ShardedReader {
  using Self = std::shared_ptr<ShardedIndex>;
  static const ShardedIndex& Of(const Self& self) { return *self; }
};
struct ShardedSegments {
  static const ShardedSegment* Arg(const py::object& seg) {
    if (seg.is_none()) return nullptr;
    return &seg.cast<const PyShardedSegment&>().segment;
  }
  static PyShardedSegment Wrap(const ShardedReader::Self& self, ShardedSegment s) {
    return PyShardedSegment{self, std::move(s)};
  }
};

// Columns of profile rows: a dict of lists.
py::dict RowsDict(const std::vector<ProfileRow>& rows) {
  py::list tag, name, category, count, overall, sis, so, tgi, acount, asum, amean;
  for (const ProfileRow& r : rows) {
    tag.append(r.tag.value);
    name.append(r.name);
    category.append(r.category);
    count.append(r.count);
    overall.append(r.overall);
    sis.append(r.share_in_segment);
    so.append(r.share_overall);
    tgi.append(r.tgi);
    acount.append(r.attribute_count);
    asum.append(Int128ToPy(r.attribute_sum));
    amean.append(r.attribute_mean);
  }
  py::dict d;
  d["tag"] = tag;
  d["name"] = name;
  d["category"] = category;
  d["count"] = count;
  d["overall"] = overall;
  d["share_in_segment"] = sis;
  d["share_overall"] = so;
  d["tgi"] = tgi;
  d["attribute_count"] = acount;
  d["attribute_sum"] = asum;
  d["attribute_mean"] = amean;
  return d;
}

// A Python int (as RowsDict writes attribute sums) as an int128.
absl::int128 PyToInt128(const py::handle& v) {
  py::int_ i = py::reinterpret_borrow<py::int_>(v);
  py::object lo = i & py::int_(~uint64_t{0});
  py::object hi = i.attr("__rshift__")(64);
  return absl::MakeInt128(hi.cast<int64_t>(), lo.cast<uint64_t>());
}

// The rows of a RowsDict (profile or top_tags) back as ProfileRows, every
// field (MergeProfiles derives the shares again; RankTopTags ranks by them).
std::vector<ProfileRow> RowsFromDict(const py::dict& d) {
  auto col = [&](const char* name) { return d[name].cast<py::list>(); };
  py::list tag = col("tag"), name = col("name"), category = col("category"), count = col("count"),
           overall = col("overall"), sis = col("share_in_segment"), so = col("share_overall"),
           tgi = col("tgi"), acount = col("attribute_count"), asum = col("attribute_sum"),
           amean = col("attribute_mean");
  const size_t n = tag.size();
  for (const py::list& c : {name, category, count, overall, sis, so, tgi, acount, asum, amean}) {
    if (c.size() != n) throw py::value_error("analytics: profile columns of unequal lengths");
  }
  std::vector<ProfileRow> rows(n);
  for (size_t i = 0; i < n; ++i) {
    ProfileRow& r = rows[i];
    r.tag = TagId{tag[i].cast<uint32_t>()};
    r.name = name[i].cast<std::string>();
    r.category = category[i].cast<std::string>();
    r.count = count[i].cast<uint64_t>();
    r.overall = overall[i].cast<uint64_t>();
    r.attribute_count = acount[i].cast<uint64_t>();
    r.share_in_segment = sis[i].cast<double>();
    r.share_overall = so[i].cast<double>();
    r.tgi = tgi[i].cast<double>();
    r.attribute_sum = PyToInt128(asum[i]);
    r.attribute_mean = amean[i].cast<double>();
  }
  return rows;
}

std::optional<std::string> CategoryArg(const py::object& c) {
  if (c.is_none()) return std::nullopt;
  return c.cast<std::string>();
}

// The analytics calls, on `_Index`, `_Snapshot` and `_ShardedIndex`: `R`
// answers (see IndexReader), `S` converts segments (PlainSegments,
// ShardedSegments). The Python layer (_analytics.py) is shared the same way.
template <typename R, typename S, typename Cls>
void BindAnalyticsCalls(Cls& cls) {
  cls.def("profile", [](const typename R::Self& self, const py::object& seg,
                        const py::object& category, const std::string& attribute) {
    std::optional<decltype(R::Of(self).AllCustomers())> all;
    const auto* s = S::Arg(seg);
    if (s == nullptr) s = &all.emplace(R::Of(self).AllCustomers());
    ProfileOptions o{CategoryArg(category), attribute};
    SegmentProfile p = ValueOrThrow(WithoutGil([&] { return R::Of(self).Profile(*s, o); }));
    return py::make_tuple(p.segment_count, p.universe_count, RowsDict(p.rows));
  });
  cls.def("top_tags", [](const typename R::Self& self, const py::object& seg, uint64_t n, int by,
                         uint64_t min_count, const py::object& category) {
    std::optional<decltype(R::Of(self).AllCustomers())> all;
    const auto* s = S::Arg(seg);
    if (s == nullptr) s = &all.emplace(R::Of(self).AllCustomers());
    if (by != 0 && by != 1) throw py::value_error("by must be 0 (count) or 1 (tgi)");
    TopTagsOptions o{n, static_cast<TopTagsBy>(by), min_count, CategoryArg(category)};
    auto rows = ValueOrThrow(WithoutGil([&] { return R::Of(self).TopTags(*s, o); }));
    return RowsDict(rows);
  });
  cls.def("cooccurrence", [](const typename R::Self& self, const std::vector<uint32_t>& ids,
                             const py::object& seg) {
    std::vector<TagId> tags;
    for (uint32_t id : ids) tags.push_back(TagId{id});
    const auto* s = S::Arg(seg);
    CoOccurrence c = ValueOrThrow(WithoutGil([&] { return R::Of(self).CoOccurrenceOf(tags, s); }));
    return py::make_tuple(c.names, c.population, c.counts, c.jaccard, c.lift);
  });
  cls.def("crosstab", [](const typename R::Self& self, const std::string& rows,
                         const std::string& cols, const py::object& seg) {
    const auto* s = S::Arg(seg);
    Crosstab x = ValueOrThrow(WithoutGil([&] { return R::Of(self).CrosstabOf(rows, cols, s); }));
    return py::make_tuple(x.row_category, x.col_category, x.row_names, x.col_names, x.counts,
                          x.row_none_by_col, x.col_none_by_row, x.none_none, x.total);
  });
  cls.def("coverage", [](const typename R::Self& self, const py::object& seg) {
    const auto* s = S::Arg(seg);
    CoverageReport c = ValueOrThrow(WithoutGil([&] { return R::Of(self).Coverage(s); }));
    py::list tags, cats;
    for (const TagCoverage& t : c.tags) {
      tags.append(py::make_tuple(t.tag.value, t.name, t.category, t.count, t.share));
    }
    for (const CategoryCoverage& k : c.categories) {
      cats.append(py::make_tuple(k.category, k.tag_count, k.covered, k.uncovered, k.share));
    }
    return py::make_tuple(c.population, tags, cats);
  });
  cls.def("customers_without_category", [](const typename R::Self& self,
                                           const std::string& category, const py::object& seg) {
    const auto* s = S::Arg(seg);
    auto out =
        ValueOrThrow(WithoutGil([&] { return R::Of(self).CustomersWithoutCategory(category, s); }));
    return S::Wrap(self, std::move(out));
  });
}

}  // namespace

py::tuple SavedInfo(const SavedSegmentInfo& i) {
  return py::make_tuple(i.name, i.kind == SegmentKind::kDynamic ? "dynamic" : "static", i.query,
                        i.created_micros, i.count);
}

py::tuple DiffTuple(const std::shared_ptr<Index>& index, const SegmentDiff& d) {
  py::object entered = py::none(), left = py::none();
  if (d.entered_rows) entered = py::cast(PySegment{index, *d.entered_rows});
  if (d.left_rows) left = py::cast(PySegment{index, *d.left_rows});
  return py::make_tuple(d.before, d.after, d.entered, d.left, d.stayed, entered, left);
}

// The read calls, on `_Index` and `_Snapshot` (see IndexReader): saved
// segments and analytics.
template <typename R, typename Cls>
void BindReads(Cls& cls) {
  cls.def("get_saved_segment", [](const typename R::Self& self, const std::string& name) {
    return SavedInfo(ValueOrThrow(WithoutGil([&] { return R::Of(self).GetSavedSegment(name); })));
  });
  cls.def("list_saved_segments", [](const typename R::Self& self) {
    py::list out;
    for (const SavedSegmentInfo& i :
         ValueOrThrow(WithoutGil([&] { return R::Of(self).ListSavedSegments(); }))) {
      out.append(SavedInfo(i));
    }
    return out;
  });
  cls.def("load_saved_segment", [](const typename R::Self& self, const std::string& name) {
    return PySegment{R::Owner(self),
                     ValueOrThrow(WithoutGil([&] { return R::Of(self).LoadSavedSegment(name); }))};
  });
  cls.def("diff_segments", [](const typename R::Self& self, const PySegment& before,
                              const PySegment& after, bool rows) {
    return DiffTuple(R::Owner(self), ValueOrThrow(WithoutGil([&] {
                       return R::Of(self).DiffSegments(before.segment, after.segment, rows);
                     })));
  });
  cls.def("diff_saved_segment",
          [](const typename R::Self& self, const std::string& name, bool rows) {
            return DiffTuple(
                R::Owner(self),
                ValueOrThrow(WithoutGil([&] { return R::Of(self).DiffSavedSegment(name, rows); })));
          });
  BindAnalyticsCalls<R, PlainSegments<R>>(cls);
}

void BindSavedSegments(py::class_<Index, IndexPtr>& cls) {
  cls.def("save_segment", [](Index& index, const std::string& name, const std::string& query,
                             bool dynamic) {
    ThrowIfError(WithoutGil([&] {
      return index.SaveSegment(name, query, dynamic ? SegmentKind::kDynamic : SegmentKind::kStatic);
    }));
  });
  cls.def("rename_saved_segment",
          [](Index& index, const std::string& name, const std::string& new_name) {
            ThrowIfError(WithoutGil([&] { return index.RenameSavedSegment(name, new_name); }));
          });
  cls.def("drop_saved_segment", [](Index& index, const std::string& name) {
    ThrowIfError(WithoutGil([&] { return index.DropSavedSegment(name); }));
  });
}

// The merge helpers of tagindex/analytics.h over the tuples the calls above
// return, for reducers that gather the parts themselves (tagindex.dask).
void BindMergeHelpers(py::module_& m) {
  m.def("merge_profiles", [](const py::list& parts, const std::string& attribute) {
    std::vector<SegmentProfile> in;
    for (const py::handle& h : parts) {
      auto t = h.cast<py::tuple>();
      if (t.size() != 3)
        throw py::value_error("merge_profiles: expected (segment, universe, rows)");
      SegmentProfile p;
      p.segment_count = t[0].cast<uint64_t>();
      p.universe_count = t[1].cast<uint64_t>();
      p.attribute = attribute;
      p.rows = RowsFromDict(t[2].cast<py::dict>());
      in.push_back(std::move(p));
    }
    SegmentProfile p = ValueOrThrow(MergeProfiles(std::move(in)));
    return py::make_tuple(p.segment_count, p.universe_count, RowsDict(p.rows));
  });
  m.def("rank_top_tags", [](const py::dict& rows, uint64_t n, int by, uint64_t min_count) {
    if (by != 0 && by != 1) throw py::value_error("by must be 0 (count) or 1 (tgi)");
    TopTagsOptions o{n, static_cast<TopTagsBy>(by), min_count, std::nullopt};
    return RowsDict(ValueOrThrow(RankTopTags(RowsFromDict(rows), o)));
  });
  // parts: (tag ids, cooccurrence tuple) of each index, so parts of other
  // tag lists are refused.
  m.def("merge_cooccurrences", [](const py::list& parts) {
    std::vector<CoOccurrence> in;
    for (const py::handle& h : parts) {
      auto pair = h.cast<py::tuple>();
      if (pair.size() != 2) {
        throw py::value_error("merge_cooccurrences: expected (tag ids, cooccurrence tuple)");
      }
      auto t = pair[1].cast<py::tuple>();
      if (t.size() != 5) {
        throw py::value_error("merge_cooccurrences: expected a cooccurrence tuple");
      }
      CoOccurrence c;
      for (uint32_t id : pair[0].cast<std::vector<uint32_t>>()) c.tags.push_back(TagId{id});
      c.names = t[0].cast<std::vector<std::string>>();
      c.population = t[1].cast<uint64_t>();
      c.counts = t[2].cast<std::vector<uint64_t>>();
      if (c.counts.size() != c.tags.size() * c.tags.size()) {
        throw py::value_error("merge_cooccurrences: a matrix is not of its tag list's size");
      }
      c.jaccard.assign(c.counts.size(), 0.0);
      c.lift.assign(c.counts.size(), 0.0);
      in.push_back(std::move(c));
    }
    CoOccurrence c = ValueOrThrow(MergeCoOccurrences(std::move(in)));
    return py::make_tuple(c.names, c.population, c.counts, c.jaccard, c.lift);
  });
}

void BindAnalytics(py::module_& m, py::class_<Index, IndexPtr>& cls) {
  BindMergeHelpers(m);
  BindSavedSegments(cls);
  BindReads<IndexReader>(cls);
}

void BindAnalyticsReads(SnapshotClass& snapshot) { BindReads<SnapshotReader>(snapshot); }

void BindShardedAnalytics(ShardedClass& sharded) {
  BindAnalyticsCalls<ShardedReader, ShardedSegments>(sharded);
}

}  // namespace tagindex::python
