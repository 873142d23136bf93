// `_tagindex._WriteBatch` (tagindex::WriteBatch) and `_Index.write`. The
// Python class tagindex.WriteBatch resolves tags and coerces keys, then
// calls these.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "bindings.h"
#include "convert.h"
#include "status.h"
#include "tagindex/tagindex.h"

namespace tagindex::python {

void BindWriteBatch(py::module_& m, py::class_<Index, std::shared_ptr<Index>>& index) {
  py::class_<WriteBatch> cls(m, "_WriteBatch", "Low-level tagindex::WriteBatch (private).");
  cls.def(py::init<>());
  cls.def("__len__", &WriteBatch::size);
  cls.def("clear", &WriteBatch::Clear);
  cls.def("add_customers_int",
          [](WriteBatch& b, const KeyArray& keys) { return b.AddCustomers(AsSpan(keys)); });
  cls.def("add_customers_str", [](WriteBatch& b, const py::handle& keys) {
    StringKeys k = ToStringKeys(keys);
    return b.AddCustomers(std::span<const std::string_view>(k.views));
  });
  cls.def("remove_customers_int",
          [](WriteBatch& b, const KeyArray& keys) { return b.RemoveCustomers(AsSpan(keys)); });
  cls.def("remove_customers_str", [](WriteBatch& b, const py::handle& keys) {
    StringKeys k = ToStringKeys(keys);
    return b.RemoveCustomers(std::span<const std::string_view>(k.views));
  });
  cls.def("remove_rows",
          [](WriteBatch& b, const RowArray& rows) { return b.RemoveRows(AsSpan(rows)); });
  cls.def("create_category", [](WriteBatch& b, const std::string& name, bool exclusive,
                                const std::string& description) {
    return b.CreateCategory(name, {.exclusive = exclusive, .description = description});
  });
  cls.def("create_tag", [](WriteBatch& b, const std::string& name, const std::string& category,
                           const std::string& description, int kind) {
    return b.CreateTag({.name = name,
                        .category = category,
                        .description = description,
                        .kind = static_cast<TagKind>(kind)});
  });
  cls.def("rename_tag", [](WriteBatch& b, uint32_t tag, const std::string& name) {
    return b.RenameTag(TagId{tag}, name);
  });
  cls.def("set_tag_description", [](WriteBatch& b, uint32_t tag, const std::string& text) {
    return b.SetTagDescription(TagId{tag}, text);
  });
  cls.def("delete_tag", [](WriteBatch& b, uint32_t tag) { return b.DeleteTag(TagId{tag}); });
  cls.def("members_int", [](WriteBatch& b, bool add, uint32_t tag, const KeyArray& keys) {
    return add ? b.Tag(TagId{tag}, AsSpan(keys)) : b.Untag(TagId{tag}, AsSpan(keys));
  });
  cls.def("members_str", [](WriteBatch& b, bool add, uint32_t tag, const py::handle& keys) {
    StringKeys k = ToStringKeys(keys);
    std::span<const std::string_view> v(k.views);
    return add ? b.Tag(TagId{tag}, v) : b.Untag(TagId{tag}, v);
  });
  cls.def("members_rows", [](WriteBatch& b, bool add, uint32_t tag, const RowArray& rows) {
    return add ? b.TagRows(TagId{tag}, AsSpan(rows)) : b.UntagRows(TagId{tag}, AsSpan(rows));
  });
  cls.def("import_tag", [](WriteBatch& b, const std::string& name, const std::string& category,
                           const std::string& description, int kind, const py::bytes& blob) {
    const std::string data = blob;
    return b.ImportTag({.name = name,
                        .category = category,
                        .description = description,
                        .kind = static_cast<TagKind>(kind)},
                       std::span<const char>(data.data(), data.size()));
  });
  cls.def("set_attribute_keys_int",
          [](WriteBatch& b, uint32_t attribute, const KeyArray& keys, const KeyArray& values) {
            return b.SetAttribute(AttributeId{attribute}, AsSpan(keys), AsSpan(values));
          });
  cls.def("set_attribute_keys_str",
          [](WriteBatch& b, uint32_t attribute, const py::handle& keys, const KeyArray& values) {
            StringKeys k = ToStringKeys(keys);
            return b.SetAttribute(AttributeId{attribute},
                                  std::span<const std::string_view>(k.views), AsSpan(values));
          });
  cls.def("set_attribute_rows",
          [](WriteBatch& b, uint32_t attribute, const RowArray& rows, const KeyArray& values) {
            return b.SetAttributeRows(AttributeId{attribute}, AsSpan(rows), AsSpan(values));
          });
  cls.def("clear_attribute_rows", [](WriteBatch& b, uint32_t attribute, const RowArray& rows) {
    return b.ClearAttributeRows(AttributeId{attribute}, AsSpan(rows));
  });
  cls.def("clear_attribute_keys_int", [](WriteBatch& b, uint32_t attribute, const KeyArray& keys) {
    return b.ClearAttribute(AttributeId{attribute}, AsSpan(keys));
  });
  cls.def(
      "clear_attribute_keys_str", [](WriteBatch& b, uint32_t attribute, const py::handle& keys) {
        StringKeys k = ToStringKeys(keys);
        return b.ClearAttribute(AttributeId{attribute}, std::span<const std::string_view>(k.views));
      });

  // Returns, per item: the new tag's id (create/import), the rows of the
  // keys (add customers, a uint32 array), or None.
  index.def("write", [](Index& idx, const WriteBatch& batch, py::list kinds) {
    WriteResult result;
    ThrowIfError(WithoutGil([&] { return idx.Write(batch, &result); }));
    py::list out;
    for (size_t i = 0; i < result.tags.size(); ++i) {
      const std::string kind = py::str(kinds[i]);
      if (kind == "tag") {
        out.append(result.tags[i].value);
      } else if (kind == "rows") {
        out.append(ToNumpy(std::move(result.rows[i])));
      } else {
        out.append(py::none());
      }
    }
    return out;
  });
}

}  // namespace tagindex::python
