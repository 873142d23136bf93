// Binding of the storage API: `_Index.open`, checkpoint, recovery report,
// and tag / row-set export and import in the portable Roaring format.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "bindings.h"
#include "convert.h"
#include "status.h"
#include "tagindex/tagindex.h"

namespace tagindex::python {
namespace {

using IndexPtr = std::shared_ptr<Index>;

py::dict RecoveryToDict(const RecoveryReport& r) {
  py::dict d;
  d["generation"] = r.generation;
  d["snapshot_bytes"] = r.snapshot_bytes;
  d["log_records_replayed"] = r.log_records_replayed;
  d["torn_tail_truncated"] = r.torn_tail_truncated;
  d["log_bytes_dropped"] = r.log_bytes_dropped;
  d["salvage_message"] = r.salvage_message;
  return d;
}

}  // namespace

void BindStorage(py::module_& m, py::class_<Index, IndexPtr>& cls) {
  cls.def_static(
      "open",
      [](const std::string& path, const OpenOptions& options) {
        return IndexPtr(ValueOrThrow(WithoutGil([&] { return Index::Open(path, options); })));
      },
      py::arg("path"), py::arg("options"));
  // The snapshot format as the one format of a whole index (pickling, save).
  cls.def("save_to", [](const Index& index, const std::string& path) {
    ThrowIfError(WithoutGil([&] { return index.SaveTo(path); }));
  });
  cls.def("backup", [](const Index& index, const std::string& path) {
    ThrowIfError(WithoutGil([&] { return index.Backup(path); }));
  });
  cls.def("serialize_snapshot", [](const Index& index) {
    std::string bytes = ValueOrThrow(WithoutGil([&] { return index.SerializeSnapshot(); }));
    return py::bytes(bytes);
  });
  cls.def_static("from_snapshot", [](const py::bytes& bytes) {
    const std::span<const char> span = BytesSpan(bytes);
    return IndexPtr(ValueOrThrow(WithoutGil([&] { return Index::FromSnapshot(span); })));
  });
  cls.def("checkpoint",
          [](Index& index) { ThrowIfError(WithoutGil([&] { return index.Checkpoint(); })); });
  cls.def("persistent", [](const Index& index) { return index.persistent(); });
  cls.def("last_recovery", [](const Index& index) {
    return RecoveryToDict(WithoutGil([&] { return index.LastRecovery(); }));
  });
  cls.def("export_tag", [](const Index& index, uint32_t tag) {
    std::string blob = ValueOrThrow(WithoutGil([&] { return index.ExportTag(TagId{tag}); }));
    return py::bytes(blob);
  });
  cls.def("import_tag", [](Index& index, const std::string& name, const std::string& category,
                           const std::string& description, int kind, const py::bytes& blob) {
    if (kind != static_cast<int>(TagKind::kManual) && kind != static_cast<int>(TagKind::kRule)) {
      throw StatusError(absl::InvalidArgumentError("index: unknown tag kind"));
    }
    TagSpec spec{.name = name,
                 .category = category,
                 .description = description,
                 .kind = static_cast<TagKind>(kind)};
    std::span<const char> data = BytesSpan(blob);
    return ValueOrThrow(WithoutGil([&] { return index.ImportTag(spec, data); })).value;
  });
  m.def("export_rows", [](const RowArray& rows) {
    std::string blob = WithoutGil([&] { return Index::ExportRows(AsSpan(rows)); });
    return py::bytes(blob);
  });
  m.def("parse_portable_rows", [](const py::bytes& blob, uint64_t max_ids) {
    std::span<const char> data = BytesSpan(blob);
    return ToNumpy(
        ValueOrThrow(WithoutGil([&] { return Index::ParsePortableRows(data, max_ids); })));
  });
}

}  // namespace tagindex::python
