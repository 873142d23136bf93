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
      [](const std::string& path, int key_kind, bool create_missing_customers,
         size_t max_name_bytes, size_t max_name_code_points, size_t max_description_bytes,
         size_t max_string_key_bytes, uint32_t max_tags, bool create_if_missing, bool read_only,
         int sync, uint32_t group_commit_interval_ms, bool salvage_log, uint32_t max_tag_id_on_load,
         uint64_t max_log_record_bytes) {
        if (key_kind < 0 || key_kind > static_cast<int>(KeyKind::kIdentity)) {
          throw StatusError(absl::InvalidArgumentError("index: unknown key kind"));
        }
        if (sync < 0 || sync > static_cast<int>(SyncPolicy::kNone)) {
          throw StatusError(absl::InvalidArgumentError("index: unknown sync policy"));
        }
        OpenOptions options;
        options.index.key_kind = static_cast<KeyKind>(key_kind);
        options.index.create_missing_customers = create_missing_customers;
        options.index.max_name_bytes = max_name_bytes;
        options.index.max_name_code_points = max_name_code_points;
        options.index.max_description_bytes = max_description_bytes;
        options.index.max_string_key_bytes = max_string_key_bytes;
        options.index.max_tags = max_tags;
        options.create_if_missing = create_if_missing;
        options.read_only = read_only;
        options.sync = static_cast<SyncPolicy>(sync);
        options.group_commit_interval_ms = group_commit_interval_ms;
        options.salvage_log = salvage_log;
        options.max_tag_id_on_load = max_tag_id_on_load;
        options.max_log_record_bytes = max_log_record_bytes;
        return IndexPtr(ValueOrThrow(WithoutGil([&] { return Index::Open(path, options); })));
      },
      py::arg("path"), py::arg("key_kind"), py::arg("create_missing_customers"),
      py::arg("max_name_bytes"), py::arg("max_name_code_points"), py::arg("max_description_bytes"),
      py::arg("max_string_key_bytes"), py::arg("max_tags"), py::arg("create_if_missing"),
      py::arg("read_only"), py::arg("sync"), py::arg("group_commit_interval_ms"),
      py::arg("salvage_log"), py::arg("max_tag_id_on_load"), py::arg("max_log_record_bytes"));
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
