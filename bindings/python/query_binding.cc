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

struct PySnapshot {
  IndexPtr index;
  Snapshot snapshot;
};

// QueryOptions from the Python layer's tuple (QueryOptions dataclass fields in
// order), or the defaults for None.
QueryOptions ToQueryOptions(const py::object& o) {
  QueryOptions options;
  if (o.is_none()) return options;
  auto t = o.cast<py::tuple>();
  if (t.size() != 8 && t.size() != 9)
    throw py::value_error("query options: expected 8 or 9 fields");
  options.max_query_bytes = t[0].cast<size_t>();
  options.max_depth = t[1].cast<uint32_t>();
  options.max_operands = t[2].cast<uint32_t>();
  options.unknown_tags_are_empty = t[3].cast<bool>();
  options.rewrites.flatten = t[4].cast<bool>();
  options.rewrites.remove_double_negation = t[5].cast<bool>();
  options.rewrites.fold_constants = t[6].cast<bool>();
  options.rewrites.remove_duplicates = t[7].cast<bool>();
  if (t.size() == 9 && !t[8].is_none()) options.today = t[8].cast<int64_t>();  // days
  return options;
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

}  // namespace

void BindQuery(py::module_& m, py::class_<Index, IndexPtr>& index_class) {
  py::class_<PySegment> seg(m, "_Segment", "Low-level query result (private).");
  seg.def("count", [](const PySegment& s) { return s.segment.Count(); });
  seg.def("contains", [](const PySegment& s, RowId row) { return s.segment.Contains(row); });
  seg.def("rows",
          [](const PySegment& s) { return ToNumpy(WithoutGil([&] { return s.segment.Rows(); })); });
  seg.def("page", [](const PySegment& s, uint64_t offset, uint64_t limit) {
    return ToNumpy(WithoutGil([&] { return s.segment.Page(offset, limit); }));
  });
  seg.def("page_after", [](const PySegment& s, std::optional<RowId> after, uint64_t limit) {
    return ToNumpy(WithoutGil([&] { return s.segment.PageAfter(after, limit); }));
  });
  seg.def("slice", [](const PySegment& s, uint64_t offset, uint64_t limit) {
    return PySegment{s.index, WithoutGil([&] { return s.segment.Slice(offset, limit); })};
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
    std::string blob = WithoutGil([&] { return s.segment.ToPortable(); });
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

  index_class.def("query", [](const IndexPtr& self, const std::string& text,
                              const py::object& opts) {
    QueryOptions options = ToQueryOptions(opts);
    return PySegment{self, ValueOrThrow(WithoutGil([&] { return self->Query(text, options); }))};
  });
  index_class.def("count",
                  [](const IndexPtr& self, const std::string& text, const py::object& opts) {
                    QueryOptions options = ToQueryOptions(opts);
                    return ValueOrThrow(WithoutGil([&] { return self->Count(text, options); }));
                  });
  index_class.def("explain",
                  [](const IndexPtr& self, const std::string& text, const py::object& opts) {
                    QueryOptions options = ToQueryOptions(opts);
                    return ExplanationToDict(
                        ValueOrThrow(WithoutGil([&] { return self->Explain(text, options); })));
                  });
  index_class.def(
      "compile", [](const IndexPtr& self, const std::string& text, const py::object& opts) {
        QueryOptions options = ToQueryOptions(opts);
        return PyCompiledQuery{
            self, ValueOrThrow(WithoutGil([&] { return self->Compile(text, options); }))};
      });
  index_class.def("all_customers", [](const IndexPtr& self) {
    return PySegment{self, WithoutGil([&] { return self->AllCustomers(); })};
  });
  index_class.def("segment_from_rows", [](const IndexPtr& self, const RowArray& rows) {
    return PySegment{self,
                     ValueOrThrow(WithoutGil([&] { return self->SegmentOfRows(AsSpan(rows)); }))};
  });
  index_class.def("segment_from_portable", [](const IndexPtr& self, const py::bytes& blob) {
    std::span<const char> span = BytesSpan(blob);
    return PySegment{self, ValueOrThrow(WithoutGil([&] {
                       return self->SegmentFromPortable(std::string_view(span.data(), span.size()));
                     }))};
  });

  // Snapshots: a point-in-time view (tagindex/snapshot.h). The wrapper holds
  // the Index like a segment does (so its segments combine with the
  // index's); the C++ snapshot alone would outlive it.
  py::class_<PySnapshot> snap(m, "_Snapshot", "Low-level point-in-time view (private).");
  index_class.def("snapshot", [](const IndexPtr& self) {
    return PySnapshot{self, WithoutGil([&] { return self->GetSnapshot(); })};
  });
  snap.def("sequence", [](const PySnapshot& s) { return s.snapshot.sequence(); });
  snap.def("customer_count", [](const PySnapshot& s) { return s.snapshot.CustomerCount(); });
  snap.def("row_id_limit", [](const PySnapshot& s) { return s.snapshot.RowIdLimit(); });
  snap.def("tag_count", [](const PySnapshot& s) { return s.snapshot.TagCount(); });
  snap.def("tag_names", [](const PySnapshot& s) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const TagInfo& t : s.snapshot.ListTags()) out.emplace_back(t.category, t.name);
    return out;
  });
  snap.def("tag_cardinality", [](const PySnapshot& s, uint32_t tag) {
    return ValueOrThrow(s.snapshot.TagCardinality(TagId{tag}));
  });
  snap.def("find_customer", [](const PySnapshot& s, const py::object& key) -> RowId {
    if (py::isinstance<py::str>(key)) {
      const std::string k = key.cast<std::string>();
      return ValueOrThrow(s.snapshot.FindCustomer(std::string_view(k)));
    }
    return ValueOrThrow(s.snapshot.FindCustomer(key.cast<int64_t>()));
  });
  snap.def("key_of", [](const PySnapshot& s, RowId row) {
    return ToPy(ValueOrThrow(s.snapshot.KeyOf(row)));
  });
  snap.def("query", [](const PySnapshot& s, const std::string& text, const py::object& opts) {
    QueryOptions options = ToQueryOptions(opts);
    return PySegment{s.index,
                     ValueOrThrow(WithoutGil([&] { return s.snapshot.Query(text, options); }))};
  });
  snap.def("count", [](const PySnapshot& s, const std::string& text, const py::object& opts) {
    QueryOptions options = ToQueryOptions(opts);
    return ValueOrThrow(WithoutGil([&] { return s.snapshot.Count(text, options); }));
  });
  snap.def("explain", [](const PySnapshot& s, const std::string& text, const py::object& opts) {
    QueryOptions options = ToQueryOptions(opts);
    return ExplanationToDict(
        ValueOrThrow(WithoutGil([&] { return s.snapshot.Explain(text, options); })));
  });
  snap.def("compile", [](const PySnapshot& s, const std::string& text, const py::object& opts) {
    QueryOptions options = ToQueryOptions(opts);
    return PyCompiledQuery{
        s.index, ValueOrThrow(WithoutGil([&] { return s.snapshot.Compile(text, options); }))};
  });
  snap.def("all_customers", [](const PySnapshot& s) {
    return PySegment{s.index, WithoutGil([&] { return s.snapshot.AllCustomers(); })};
  });
}

}  // namespace tagindex::python
