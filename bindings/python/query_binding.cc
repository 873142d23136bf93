// Binding of queries and segments: `_Index.query/count/explain/compile`,
// `_Segment` and `_CompiledQuery`.
//
// A C++ Segment or CompiledQuery borrows its Index; the wrappers here hold
// the Index's shared_ptr beside it, so Python can never outlive the index
// a segment points into.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bindings.h"
#include "convert.h"
#include "status.h"
#include "tagindex/tagindex.h"

namespace tagindex::python {
namespace {

using IndexPtr = std::shared_ptr<Index>;

struct PyCompiledQuery {
  IndexPtr index;
  CompiledQuery query;
};

// The options of a query: a `_QueryOptions` (options_binding.cc), or the
// defaults for None.
QueryOptions ToQueryOptions(const py::object& o) {
  if (o.is_none()) return QueryOptions();
  return o.cast<QueryOptions>();
}

py::dict NodeToDict(const ExplainNode& n) {
  py::dict d;
  d["operation"] = n.operation;
  d["detail"] = n.detail;
  d["subtracted"] = n.subtracted;
  d["estimated"] = n.estimated;
  d["executed"] = n.executed;
  d["actual"] = n.actual;
  d["nanos"] = n.nanos;
  py::list children;
  for (const ExplainNode& c : n.children) children.append(NodeToDict(c));
  d["children"] = children;
  return d;
}

py::dict ExplanationToDict(const Explanation& e) {
  py::dict d;
  d["query"] = e.query;
  d["normal_form"] = e.normal_form;
  d["root"] = NodeToDict(e.root);
  d["count"] = e.count;
  d["compile_nanos"] = e.compile_nanos;
  d["plan_nanos"] = e.plan_nanos;
  d["execute_nanos"] = e.execute_nanos;
  d["text"] = e.ToString();
  return d;
}

PySegment Combine(const PySegment& a, const PySegment& b,
                  absl::StatusOr<Segment> (Segment::*op)(const Segment&) const) {
  return PySegment{a.index, ValueOrThrow(WithoutGil([&] { return (a.segment.*op)(b.segment); }))};
}

// The query calls, on `_Index` and `_Snapshot` (see IndexReader).
template <typename R, typename Cls>
void BindReads(Cls& cls) {
  cls.def("query", [](const typename R::Self& self, const py::object& arg, const py::object& opts) {
    QueryOptions options = ToQueryOptions(opts);
    QueryText text(arg, options.max_query_bytes);
    return PySegment{
        R::Owner(self),
        ValueOrThrow(WithoutGil([&] { return R::Of(self).Query(text.view(), options); }))};
  });
  cls.def("count", [](const typename R::Self& self, const py::object& arg, const py::object& opts) {
    QueryOptions options = ToQueryOptions(opts);
    QueryText text(arg, options.max_query_bytes);
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).Count(text.view(), options); }));
  });
  cls.def(
      "explain", [](const typename R::Self& self, const py::object& arg, const py::object& opts) {
        QueryOptions options = ToQueryOptions(opts);
        QueryText text(arg, options.max_query_bytes);
        return ExplanationToDict(
            ValueOrThrow(WithoutGil([&] { return R::Of(self).Explain(text.view(), options); })));
      });
  cls.def(
      "compile", [](const typename R::Self& self, const py::object& arg, const py::object& opts) {
        QueryOptions options = ToQueryOptions(opts);
        QueryText text(arg, options.max_query_bytes);
        return PyCompiledQuery{
            R::Owner(self),
            ValueOrThrow(WithoutGil([&] { return R::Of(self).Compile(text.view(), options); }))};
      });
  cls.def("all_customers", [](const typename R::Self& self) {
    return PySegment{R::Owner(self), WithoutGil([&] { return R::Of(self).AllCustomers(); })};
  });
  cls.def("segment_from_rows", [](const typename R::Self& self, const RowArray& rows) {
    return PySegment{
        R::Owner(self),
        ValueOrThrow(WithoutGil([&] { return R::Of(self).SegmentOfRows(AsSpan(rows)); }))};
  });
  cls.def("segment_from_portable", [](const typename R::Self& self, const py::bytes& blob) {
    std::span<const char> span = BytesSpan(blob);
    return PySegment{
        R::Owner(self), ValueOrThrow(WithoutGil([&] {
          return R::Of(self).SegmentFromPortable(std::string_view(span.data(), span.size()));
        }))};
  });
}

}  // namespace

SnapshotClass BindQuery(py::module_& m, py::class_<Index, IndexPtr>& index_class) {
  py::class_<PySegment> seg(m, "_Segment", "Low-level query result (private).");
  seg.def("count", [](const PySegment& s) { return s.segment.Count(); });
  seg.def("contains", [](const PySegment& s, RowId row) { return s.segment.Contains(row); });
  // Rows, pages, slices and blobs raise the tagindex error for
  // ResourceExhausted (kind "out_of_memory") when they cannot be allocated,
  // never a bare MemoryError.
  seg.def("rows", [](const PySegment& s) {
    return ToNumpy(ValueOrThrow(WithoutGil([&] { return s.segment.Rows(); })));
  });
  seg.def("page", [](const PySegment& s, uint64_t offset, uint64_t limit) {
    return ToNumpy(ValueOrThrow(WithoutGil([&] { return s.segment.Page(offset, limit); })));
  });
  seg.def("page_after", [](const PySegment& s, std::optional<RowId> after, uint64_t limit) {
    return ToNumpy(ValueOrThrow(WithoutGil([&] { return s.segment.PageAfter(after, limit); })));
  });
  seg.def("slice", [](const PySegment& s, uint64_t offset, uint64_t limit) {
    return PySegment{s.index,
                     ValueOrThrow(WithoutGil([&] { return s.segment.Slice(offset, limit); }))};
  });
  seg.def("keys_of", [](const PySegment& s, const RowArray& rows) {
    auto keys = WithoutGil([&] { return s.segment.KeysOf(AsSpan(rows)); });
    return KeysToPy(ValueOrThrow(std::move(keys)), s.index->options().key_kind);
  });
  seg.def("intersect", [](const PySegment& a, const PySegment& b) {
    return Combine(a, b, &Segment::Intersect);
  });
  seg.def("union",
          [](const PySegment& a, const PySegment& b) { return Combine(a, b, &Segment::Union); });
  seg.def("difference", [](const PySegment& a, const PySegment& b) {
    return Combine(a, b, &Segment::Difference);
  });
  seg.def("symmetric_difference", [](const PySegment& a, const PySegment& b) {
    return Combine(a, b, &Segment::SymmetricDifference);
  });
  seg.def("same_rows", [](const PySegment& a, const PySegment& b) {
    return WithoutGil([&] { return a.segment.SameRows(b.segment); });
  });
  seg.def("to_portable", [](const PySegment& s) {
    std::string blob = ValueOrThrow(WithoutGil([&] { return s.segment.ToPortable(); }));
    return py::bytes(blob);
  });
  seg.def_property_readonly("index", [](const PySegment& s) { return s.index; });

  py::class_<PyCompiledQuery> compiled(m, "_CompiledQuery", "Low-level compiled query (private).");
  compiled.def("run", [](const PyCompiledQuery& q) {
    return PySegment{q.index, ValueOrThrow(WithoutGil([&] { return q.query.Run(); }))};
  });
  compiled.def("count", [](const PyCompiledQuery& q) {
    return ValueOrThrow(WithoutGil([&] { return q.query.Count(); }));
  });
  compiled.def("explain", [](const PyCompiledQuery& q) {
    return ExplanationToDict(ValueOrThrow(WithoutGil([&] { return q.query.Explain(); })));
  });
  compiled.def("text", [](const PyCompiledQuery& q) { return q.query.text(); });
  compiled.def("debug_string", [](const PyCompiledQuery& q) { return q.query.DebugString(); });

  // Snapshots: a point-in-time view (tagindex/snapshot.h), PySnapshot in
  // bindings.h. Their read calls are the same templates as _Index's (here
  // and in the other parts, bound from module.cc).
  py::class_<PySnapshot> snap(m, "_Snapshot", "Low-level point-in-time view (private).");
  index_class.def("snapshot", [](const IndexPtr& self) {
    return PySnapshot{self, WithoutGil([&] { return self->GetSnapshot(); })};
  });
  snap.def("sequence", [](const PySnapshot& s) { return s.snapshot.sequence(); });
  snap.def_property_readonly("key_kind", [](const PySnapshot& s) {
    return static_cast<int>(s.snapshot.options().key_kind);
  });
  BindReads<IndexReader>(index_class);
  BindReads<SnapshotReader>(snap);
  return snap;
}

}  // namespace tagindex::python
