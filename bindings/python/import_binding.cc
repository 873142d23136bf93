// Binding of the CSV importer and the demo shop (include/tagindex/import.h,
// demo.h): `_Index.import_csv`, `_Index.import_csv_text`,
// `_Index.build_demo_shop`, `_tagindex.demo_queries`. The Python package
// (tagindex/_import.py) turns the dicts into dataclasses.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "bindings.h"
#include "status.h"
#include "tagindex/tagindex.h"

namespace tagindex::python {
namespace {

namespace py = pybind11;
using IndexPtr = std::shared_ptr<Index>;

using TagSpecs = std::vector<std::tuple<std::string, std::string, std::string>>;
using MultiSpecs = std::vector<std::tuple<std::string, std::string, std::string, bool>>;
using CategorySpecs = std::vector<std::tuple<std::string, std::string>>;
// (column, attribute, AttributeType code, scale, declared)
using AttrSpecs = std::vector<std::tuple<std::string, std::string, int, int, bool>>;

struct Args {
  ImportMapping mapping;
  ImportOptions options;
  size_t max_rejects = 0;  // 0: keep all
};

Args MakeArgs(const Index& index, const std::string& key, int key_kind, const TagSpecs& tags,
              const MultiSpecs& multi, const CategorySpecs& categories, const AttrSpecs& attrs,
              const std::string& delimiter, bool strict, bool replace, size_t batch_rows,
              size_t max_rejects, unsigned threads) {
  Args a;
  a.mapping.key_column = key;
  if (key_kind < 0) {
    a.mapping.key_kind = index.options().key_kind;
  } else if (key_kind > static_cast<int>(KeyKind::kIdentity)) {
    throw StatusError(absl::InvalidArgumentError("import: unknown key kind"));
  } else {
    a.mapping.key_kind = static_cast<KeyKind>(key_kind);
  }
  for (const auto& [column, tag, category] : tags) {
    a.mapping.tags.push_back({.column = column, .tag = tag, .category = category});
  }
  for (const auto& [column, separator, category, qualified] : multi) {
    a.mapping.multi_tags.push_back({.column = column,
                                    .separator = separator,
                                    .category = category,
                                    .qualified_names = qualified});
  }
  for (const auto& [column, category] : categories) {
    a.mapping.categories.push_back({.column = column, .category = category});
  }
  for (const auto& [column, attribute, type, scale, declared] : attrs) {
    if (type < 0 || type > static_cast<int>(AttributeType::kDate)) {
      throw StatusError(absl::InvalidArgumentError("import: unknown attribute type"));
    }
    a.mapping.attributes.push_back({.column = column,
                                    .attribute = attribute,
                                    .type = static_cast<AttributeType>(type),
                                    .scale = scale,
                                    .declared = declared});
  }
  if (delimiter.size() != 1) {
    throw StatusError(absl::InvalidArgumentError("import: the delimiter must be one byte"));
  }
  a.options.csv.separator = delimiter[0];
  a.options.strict = strict;
  a.options.replace = replace;
  a.options.batch_rows = batch_rows;
  a.options.threads = threads;
  a.options.max_rejects_kept = 0;  // collected through on_reject below
  a.max_rejects = max_rejects;
  return a;
}

py::dict ReportToDict(const ImportReport& r, const std::vector<RejectedRow>& rejects) {
  py::dict d;
  d["file"] = r.file;
  d["rows_read"] = r.rows_read;
  d["rows_imported"] = r.rows_imported;
  d["rows_rejected"] = r.rows_rejected;
  d["customers_added"] = r.customers_added;
  d["tag_assignments"] = r.tag_assignments;
  d["tag_removals"] = r.tag_removals;
  d["tags_created"] = r.tags_created;
  d["attribute_values"] = r.attribute_values;
  d["attribute_clears"] = r.attribute_clears;
  d["bytes"] = r.bytes;
  d["seconds"] = r.seconds;
  py::list list;
  for (const RejectedRow& j : rejects) {
    py::dict x;
    x["file"] = j.file;
    x["line"] = j.line;
    x["record"] = j.record;
    x["column"] = j.column;
    x["reason"] = j.reason;
    x["raw"] = py::bytes(j.raw);  // may hold invalid UTF-8: that can be why it was rejected
    x["kind"] = std::string(ErrorKindName(j.kind));
    // The subject is a cell: bytes that need not be UTF-8 (replaced if not).
    x["subject"] = py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
        j.subject.data(), static_cast<Py_ssize_t>(j.subject.size()), "replace"));
    list.append(x);
  }
  d["rejects"] = list;
  return d;
}

template <typename Run>
py::dict RunImport(Args& a, Run&& run) {
  std::vector<RejectedRow> rejects;
  a.options.on_reject = [&](const RejectedRow& r) {
    if (a.max_rejects == 0 || rejects.size() < a.max_rejects) rejects.push_back(r);
  };
  ImportReport report = ValueOrThrow(WithoutGil([&] { return run(a); }));
  return ReportToDict(report, rejects);
}

}  // namespace

void BindImport(py::module_& m, py::class_<Index, IndexPtr>& cls) {
  cls.def(
      "import_csv",
      [](Index& index, const std::string& path, const std::string& key, int key_kind,
         const TagSpecs& tags, const MultiSpecs& multi, const CategorySpecs& categories,
         const AttrSpecs& attrs, const std::string& delimiter, bool strict, bool replace,
         size_t batch_rows, size_t max_rejects, unsigned threads) {
        Args a = MakeArgs(index, key, key_kind, tags, multi, categories, attrs, delimiter, strict,
                          replace, batch_rows, max_rejects, threads);
        return RunImport(
            a, [&](Args& args) { return ImportCsvFile(index, path, args.mapping, args.options); });
      },
      py::arg("path"), py::arg("key"), py::arg("key_kind"), py::arg("tags"), py::arg("multi"),
      py::arg("categories"), py::arg("attributes"), py::arg("delimiter"), py::arg("strict"),
      py::arg("replace"), py::arg("batch_rows"), py::arg("max_rejects"), py::arg("threads") = 0);
  cls.def(
      "import_csv_text",
      [](Index& index, std::string text, const std::string& name, const std::string& key,
         int key_kind, const TagSpecs& tags, const MultiSpecs& multi,
         const CategorySpecs& categories, const AttrSpecs& attrs, const std::string& delimiter,
         bool strict, bool replace, size_t batch_rows, size_t max_rejects, unsigned threads) {
        Args a = MakeArgs(index, key, key_kind, tags, multi, categories, attrs, delimiter, strict,
                          replace, batch_rows, max_rejects, threads);
        return RunImport(a, [&](Args& args) {
          return ImportCsvString(index, std::move(text), args.mapping, args.options, name);
        });
      },
      py::arg("text"), py::arg("name"), py::arg("key"), py::arg("key_kind"), py::arg("tags"),
      py::arg("multi"), py::arg("categories"), py::arg("attributes"), py::arg("delimiter"),
      py::arg("strict"), py::arg("replace"), py::arg("batch_rows"), py::arg("max_rejects"),
      py::arg("threads") = 0);
  cls.def(
      "build_demo_shop",
      [](Index& index, uint64_t customers, uint64_t seed) {
        DemoReport r = ValueOrThrow(WithoutGil(
            [&] { return BuildDemoShop(index, {.customers = customers, .seed = seed}); }));
        py::dict d;
        d["customers"] = r.customers;
        d["tags"] = r.tags;
        d["tag_assignments"] = r.tag_assignments;
        d["seconds"] = r.seconds;
        return d;
      },
      py::arg("customers"), py::arg("seed"));
  m.def("demo_queries", [] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const DemoQuery& q : DemoQueries()) out.push_back({q.text, q.description});
    return out;
  });
}

}  // namespace tagindex::python
