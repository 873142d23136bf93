// Binding of attribute columns: values cross as int64 storage units (the
// Python layer converts decimals, dates, NaN/NaT/None).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bindings.h"
#include "convert.h"
#include "status.h"
#include "tagindex/tagindex.h"

namespace tagindex::python {
namespace {

using IndexPtr = std::shared_ptr<Index>;

py::tuple InfoTuple(const AttributeInfo& a) {
  return py::make_tuple(a.id.value, a.name, static_cast<int>(a.type), a.scale, a.description,
                        a.count, a.bits);
}

// The C++ segment of a `_Segment` or None.
const Segment* SegmentOf(const py::object& seg) {
  if (seg.is_none()) return nullptr;
  return &seg.cast<const PySegment&>().segment;
}

// The read calls, on `_Index` and `_Snapshot` (see IndexReader).
template <typename R, typename Cls>
void BindReads(Cls& cls) {
  cls.def("get_attribute", [](const typename R::Self& self, const std::string& name) {
    return InfoTuple(ValueOrThrow(WithoutGil([&] { return R::Of(self).GetAttribute(name); })));
  });
  cls.def("list_attributes", [](const typename R::Self& self) {
    py::list out;
    for (const AttributeInfo& a :
         ValueOrThrow(WithoutGil([&] { return R::Of(self).ListAttributes(); }))) {
      out.append(InfoTuple(a));
    }
    return out;
  });
  cls.def("attribute_values", [](const typename R::Self& self, const std::string& name,
                                 const RowArray& rows) {
    // One value per row (rows of a segment page or frame), NULL as a mask.
    std::vector<int64_t> values(static_cast<size_t>(rows.size()));
    std::vector<uint8_t> present(values.size());
    const std::span<const uint32_t> span = AsSpan(rows);
    absl::Status st = WithoutGil([&]() -> absl::Status {
      for (size_t i = 0; i < span.size(); ++i) {
        absl::StatusOr<std::optional<int64_t>> v = R::Of(self).GetAttributeValue(name, span[i]);
        if (!v.ok()) return v.status();
        present[i] = v->has_value();
        values[i] = v->value_or(0);
      }
      return absl::OkStatus();
    });
    ThrowIfError(st);
    return py::make_tuple(ToNumpy(std::move(values)), ToNumpy(std::move(present)));
  });
  cls.def("parse_attribute_value", [](const typename R::Self& self, const std::string& name,
                                      const std::string& text) {
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).ParseAttributeValue(name, text); }));
  });
  cls.def("format_attribute_value", [](const typename R::Self& self, const std::string& name,
                                       int64_t v) {
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).FormatAttributeValue(name, v); }));
  });
  cls.def(
      "summarize_attribute",
      [](const typename R::Self& self, const std::string& name, const py::object& seg, bool sum,
         bool min, bool max) {
        const Segment* s = SegmentOf(seg);
        const AttributeAggregates which{.sum = sum, .min = min, .max = max};
        AttributeSummary a = ValueOrThrow(
            WithoutGil([&] { return R::Of(self).SummarizeAttribute(name, s, which); }));
        return py::make_tuple(a.count, Int128ToPy(a.sum), a.min, a.max, a.mean);
      },
      py::arg("name"), py::arg("segment"), py::arg("sum") = true, py::arg("min") = true,
      py::arg("max") = true);
  cls.def("top_attribute", [](const typename R::Self& self, const std::string& name, uint64_t k,
                              bool largest, const py::object& seg) {
    const Segment* s = SegmentOf(seg);
    auto top =
        ValueOrThrow(WithoutGil([&] { return R::Of(self).TopAttribute(name, k, largest, s); }));
    std::vector<uint32_t> rows;
    std::vector<int64_t> values;
    for (const AttributeEntryValue& e : top) {
      rows.push_back(e.row);
      values.push_back(e.value);
    }
    return py::make_tuple(ToNumpy(std::move(rows)), ToNumpy(std::move(values)));
  });
  cls.def("attribute_histogram", [](const typename R::Self& self, const std::string& name,
                                    const KeyArray& bounds, const py::object& seg) {
    const Segment* s = SegmentOf(seg);
    return ToNumpy(ValueOrThrow(
        WithoutGil([&] { return R::Of(self).AttributeHistogram(name, AsSpan(bounds), s); })));
  });
  cls.def("attribute_quantile", [](const typename R::Self& self, const std::string& name, double q,
                                   const py::object& seg) {
    const Segment* s = SegmentOf(seg);
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).AttributeQuantile(name, q, s); }));
  });
}

}  // namespace

void BindAttributes(py::module_& m, py::class_<Index, IndexPtr>& cls) {
  cls.def("create_attribute", [](Index& index, const std::string& name, int type, int scale,
                                 const std::string& description) {
    if (type < 0 || type > 2) throw py::value_error("attribute type must be 0, 1 or 2");
    AttributeSpec spec{name, static_cast<AttributeType>(type), scale, description};
    return ValueOrThrow(WithoutGil([&] { return index.CreateAttribute(spec); })).value;
  });
  cls.def("rename_attribute", [](Index& index, const std::string& name, const std::string& to) {
    ThrowIfError(WithoutGil([&] { return index.RenameAttribute(name, to); }));
  });
  cls.def("drop_attribute", [](Index& index, const std::string& name) {
    ThrowIfError(WithoutGil([&] { return index.DropAttribute(name); }));
  });
  cls.def("set_attribute_rows",
          [](Index& index, const std::string& name, const RowArray& rows, const KeyArray& values) {
            ThrowIfError(WithoutGil(
                [&] { return index.SetAttributeRows(name, AsSpan(rows), AsSpan(values)); }));
          });
  cls.def("set_attribute_keys_int",
          [](Index& index, const std::string& name, const KeyArray& keys, const KeyArray& values) {
            ThrowIfError(WithoutGil(
                [&] { return index.SetAttributeMany(name, AsSpan(keys), AsSpan(values)); }));
          });
  cls.def("set_attribute_keys_str", [](Index& index, const std::string& name,
                                       const py::handle& keys, const KeyArray& values) {
    StringKeys k = ToStringKeys(keys);
    ThrowIfError(WithoutGil([&] {
      return index.SetAttributeMany(name, std::span<const std::string_view>(k.views),
                                    AsSpan(values));
    }));
  });
  cls.def("clear_attribute_rows", [](Index& index, const std::string& name, const RowArray& rows) {
    ThrowIfError(WithoutGil([&] { return index.ClearAttributeRows(name, AsSpan(rows)); }));
  });
  BindReads<IndexReader>(cls);
  (void)m;
}

void BindAttributeReads(SnapshotClass& snapshot) { BindReads<SnapshotReader>(snapshot); }

}  // namespace tagindex::python
