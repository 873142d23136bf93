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

std::optional<std::string> CategoryArg(const py::object& c) {
  if (c.is_none()) return std::nullopt;
  return c.cast<std::string>();
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
    for (const SavedSegmentInfo& i : WithoutGil([&] { return R::Of(self).ListSavedSegments(); })) {
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
  cls.def("profile", [](const typename R::Self& self, const py::object& seg,
                        const py::object& category, const std::string& attribute) {
    Segment all;
    const Segment* s = SegmentArg(seg);
    if (s == nullptr) s = &(all = R::Of(self).AllCustomers());
    ProfileOptions o{CategoryArg(category), attribute};
    SegmentProfile p = ValueOrThrow(WithoutGil([&] { return R::Of(self).Profile(*s, o); }));
    return py::make_tuple(p.segment_count, p.universe_count, RowsDict(p.rows));
  });
  cls.def("top_tags", [](const typename R::Self& self, const py::object& seg, uint64_t n, int by,
                         uint64_t min_count, const py::object& category) {
    Segment all;
    const Segment* s = SegmentArg(seg);
    if (s == nullptr) s = &(all = R::Of(self).AllCustomers());
    if (by != 0 && by != 1) throw py::value_error("by must be 0 (count) or 1 (tgi)");
    TopTagsOptions o{n, static_cast<TopTagsBy>(by), min_count, CategoryArg(category)};
    auto rows = ValueOrThrow(WithoutGil([&] { return R::Of(self).TopTags(*s, o); }));
    return RowsDict(rows);
  });
  cls.def("cooccurrence", [](const typename R::Self& self, const std::vector<uint32_t>& ids,
                             const py::object& seg) {
    std::vector<TagId> tags;
    for (uint32_t id : ids) tags.push_back(TagId{id});
    const Segment* s = SegmentArg(seg);
    CoOccurrence c = ValueOrThrow(WithoutGil([&] { return R::Of(self).CoOccurrenceOf(tags, s); }));
    return py::make_tuple(c.names, c.population, c.counts, c.jaccard, c.lift);
  });
  cls.def("crosstab", [](const typename R::Self& self, const std::string& rows,
                         const std::string& cols, const py::object& seg) {
    const Segment* s = SegmentArg(seg);
    Crosstab x = ValueOrThrow(WithoutGil([&] { return R::Of(self).CrosstabOf(rows, cols, s); }));
    return py::make_tuple(x.row_category, x.col_category, x.row_names, x.col_names, x.counts,
                          x.row_none_by_col, x.col_none_by_row, x.none_none, x.total);
  });
  cls.def("coverage", [](const typename R::Self& self, const py::object& seg) {
    const Segment* s = SegmentArg(seg);
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
    const Segment* s = SegmentArg(seg);
    Segment out =
        ValueOrThrow(WithoutGil([&] { return R::Of(self).CustomersWithoutCategory(category, s); }));
    return PySegment{R::Owner(self), std::move(out)};
  });
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

void BindAnalytics(py::module_& m, py::class_<Index, IndexPtr>& cls) {
  (void)m;
  BindSavedSegments(cls);
  BindReads<IndexReader>(cls);
}

void BindAnalyticsReads(SnapshotClass& snapshot) { BindReads<SnapshotReader>(snapshot); }

}  // namespace tagindex::python
