// Low-level binding of tagindex::Index as `_tagindex._Index`. Argument
// coercion (ranges, lists, pandas, dtype checks) lives in the Python layer;
// this file only moves data across and releases the GIL around every call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "bindings.h"
#include "convert.h"
#include "status.h"
#include "tagindex/tagindex.h"

namespace tagindex::python {
namespace {

using IndexPtr = std::shared_ptr<Index>;

py::tuple TagTuple(const TagInfo& t) {
  return py::make_tuple(t.id.value, t.name, t.category, t.description, static_cast<int>(t.kind),
                        t.count, t.rule);
}

py::tuple CategoryTuple(const CategoryInfo& c) {
  return py::make_tuple(c.name, c.description, c.exclusive, c.tag_count);
}

py::array_t<uint32_t> TagIdsToNumpy(std::vector<TagId>&& ids) {
  std::vector<uint32_t> raw(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) raw[i] = ids[i].value;
  return ToNumpy(std::move(raw));
}

py::object KeysOfRows(const Index& index, const RowArray& rows) {
  const std::span<const uint32_t> span = AsSpan(rows);
  auto keys = WithoutGil([&]() -> absl::StatusOr<std::vector<CustomerKey>> {
    std::vector<CustomerKey> out;
    out.reserve(span.size());
    for (RowId row : span) {
      absl::StatusOr<CustomerKey> key = index.KeyOf(row);
      if (!key.ok()) return key.status();
      out.push_back(*std::move(key));
    }
    return out;
  });
  return KeysToPy(ValueOrThrow(std::move(keys)), index.options().key_kind);
}

TagId Id(uint32_t v) { return TagId{v}; }

}  // namespace

py::class_<Index, std::shared_ptr<Index>> BindIndex(py::module_& m) {
  py::class_<Index, IndexPtr> cls(m, "_Index",
                                  "Low-level handle of a C++ tagindex::Index (private).");
  cls.def(py::init([](int key_kind, bool create_missing_customers, size_t max_name_bytes,
                      size_t max_name_code_points, size_t max_description_bytes,
                      size_t max_string_key_bytes, uint32_t max_tags) {
            IndexOptions options;
            options.key_kind = static_cast<KeyKind>(key_kind);
            options.create_missing_customers = create_missing_customers;
            options.max_name_bytes = max_name_bytes;
            options.max_name_code_points = max_name_code_points;
            options.max_description_bytes = max_description_bytes;
            options.max_string_key_bytes = max_string_key_bytes;
            options.max_tags = max_tags;
            if (key_kind < 0 || key_kind > static_cast<int>(KeyKind::kIdentity)) {
              throw StatusError(absl::InvalidArgumentError("index: unknown key kind"));
            }
            return IndexPtr(ValueOrThrow(Index::Create(std::move(options))));
          }),
          py::arg("key_kind"), py::arg("create_missing_customers"), py::arg("max_name_bytes"),
          py::arg("max_name_code_points"), py::arg("max_description_bytes"),
          py::arg("max_string_key_bytes"), py::arg("max_tags"));

  cls.def("options", [](const Index& index) {
    const IndexOptions& o = index.options();
    py::dict d;
    d["key_kind"] = static_cast<int>(o.key_kind);
    d["create_missing_customers"] = o.create_missing_customers;
    d["max_name_bytes"] = o.max_name_bytes;
    d["max_name_code_points"] = o.max_name_code_points;
    d["max_description_bytes"] = o.max_description_bytes;
    d["max_string_key_bytes"] = o.max_string_key_bytes;
    d["max_tags"] = o.max_tags;
    return d;
  });
  cls.def_property_readonly(
      "key_kind", [](const Index& index) { return static_cast<int>(index.options().key_kind); });

  // ---- customers ----
  cls.def("add_customer_int", [](Index& index, int64_t key) {
    return ValueOrThrow(WithoutGil([&] { return index.AddCustomer(key); }));
  });
  cls.def("add_customer_str", [](Index& index, const std::string& key) {
    return ValueOrThrow(WithoutGil([&] { return index.AddCustomer(std::string_view(key)); }));
  });
  cls.def("add_customers_int", [](Index& index, const KeyArray& keys) {
    std::vector<RowId> rows;
    ThrowIfError(WithoutGil([&] { return index.AddCustomers(AsSpan(keys), &rows); }));
    return ToNumpy(std::move(rows));
  });
  cls.def("add_customers_str", [](Index& index, const py::handle& keys) {
    StringKeys k = ToStringKeys(keys);
    std::vector<RowId> rows;
    ThrowIfError(WithoutGil(
        [&] { return index.AddCustomers(std::span<const std::string_view>(k.views), &rows); }));
    return ToNumpy(std::move(rows));
  });
  cls.def("find_customer_int", [](const Index& index, int64_t key) {
    return ValueOrThrow(WithoutGil([&] { return index.FindCustomer(key); }));
  });
  cls.def("find_customer_str", [](const Index& index, const std::string& key) {
    return ValueOrThrow(WithoutGil([&] { return index.FindCustomer(std::string_view(key)); }));
  });
  cls.def("key_of", [](const Index& index, RowId row) {
    return ToPy(ValueOrThrow(WithoutGil([&] { return index.KeyOf(row); })));
  });
  cls.def("keys_of_rows", &KeysOfRows);
  cls.def("remove_customer_int", [](Index& index, int64_t key) {
    ThrowIfError(WithoutGil([&] { return index.RemoveCustomer(key); }));
  });
  cls.def("remove_customer_str", [](Index& index, const std::string& key) {
    ThrowIfError(WithoutGil([&] { return index.RemoveCustomer(std::string_view(key)); }));
  });
  cls.def("remove_row", [](Index& index, RowId row) {
    ThrowIfError(WithoutGil([&] { return index.RemoveRow(row); }));
  });
  cls.def("customer_count",
          [](const Index& index) { return WithoutGil([&] { return index.CustomerCount(); }); });
  cls.def("row_id_limit",
          [](const Index& index) { return WithoutGil([&] { return index.RowIdLimit(); }); });
  cls.def("live_rows", [](const Index& index) {
    return ToNumpy(ValueOrThrow(WithoutGil([&] { return index.LiveRows(); })));
  });

  // ---- categories ----
  cls.def("create_category", [](Index& index, const std::string& name, bool exclusive,
                                const std::string& description) {
    CategoryOptions options;
    options.exclusive = exclusive;
    options.description = description;
    ThrowIfError(WithoutGil([&] { return index.CreateCategory(name, options); }));
  });
  cls.def("get_category", [](const Index& index, const std::string& name) {
    return CategoryTuple(ValueOrThrow(WithoutGil([&] { return index.GetCategory(name); })));
  });
  cls.def("list_categories", [](const Index& index) {
    std::vector<CategoryInfo> all = WithoutGil([&] { return index.ListCategories(); });
    py::list out;
    for (const CategoryInfo& c : all) out.append(CategoryTuple(c));
    return out;
  });

  // ---- tags ----
  cls.def("create_tag", [](Index& index, const std::string& name, const std::string& category,
                           const std::string& description, int kind) {
    if (kind != static_cast<int>(TagKind::kManual) && kind != static_cast<int>(TagKind::kRule)) {
      throw StatusError(absl::InvalidArgumentError("index: unknown tag kind"));
    }
    TagSpec spec{.name = name,
                 .category = category,
                 .description = description,
                 .kind = static_cast<TagKind>(kind)};
    return ValueOrThrow(WithoutGil([&] { return index.CreateTag(spec); })).value;
  });
  cls.def("find_tag", [](const Index& index, const std::string& name) {
    return ValueOrThrow(WithoutGil([&] { return index.FindTag(name); })).value;
  });
  cls.def("find_tag_in",
          [](const Index& index, const std::string& category, const std::string& name) {
            return ValueOrThrow(WithoutGil([&] { return index.FindTag(category, name); })).value;
          });
  cls.def("rename_tag", [](Index& index, uint32_t tag, const std::string& name) {
    ThrowIfError(WithoutGil([&] { return index.RenameTag(Id(tag), name); }));
  });
  cls.def("set_tag_description", [](Index& index, uint32_t tag, const std::string& text) {
    ThrowIfError(WithoutGil([&] { return index.SetTagDescription(Id(tag), text); }));
  });
  cls.def("delete_tag", [](Index& index, uint32_t tag) {
    ThrowIfError(WithoutGil([&] { return index.DeleteTag(Id(tag)); }));
  });
  cls.def("get_tag", [](const Index& index, uint32_t tag) {
    return TagTuple(ValueOrThrow(WithoutGil([&] { return index.GetTag(Id(tag)); })));
  });
  cls.def("list_tags", [](const Index& index) {
    std::vector<TagInfo> all = WithoutGil([&] { return index.ListTags(); });
    py::list out;
    for (const TagInfo& t : all) out.append(TagTuple(t));
    return out;
  });
  cls.def("tag_count",
          [](const Index& index) { return WithoutGil([&] { return index.TagCount(); }); });

  // ---- memberships ----
  cls.def("tag_int", [](Index& index, uint32_t tag, int64_t key) {
    ThrowIfError(WithoutGil([&] { return index.Tag(Id(tag), key); }));
  });
  cls.def("tag_str", [](Index& index, uint32_t tag, const std::string& key) {
    ThrowIfError(WithoutGil([&] { return index.Tag(Id(tag), std::string_view(key)); }));
  });
  cls.def("tag_many_int", [](Index& index, uint32_t tag, const KeyArray& keys) {
    ThrowIfError(WithoutGil([&] { return index.TagMany(Id(tag), AsSpan(keys)); }));
  });
  cls.def("tag_many_str", [](Index& index, uint32_t tag, const py::handle& keys) {
    StringKeys k = ToStringKeys(keys);
    ThrowIfError(WithoutGil(
        [&] { return index.TagMany(Id(tag), std::span<const std::string_view>(k.views)); }));
  });
  cls.def("tag_rows", [](Index& index, uint32_t tag, const RowArray& rows) {
    ThrowIfError(WithoutGil([&] { return index.TagRows(Id(tag), AsSpan(rows)); }));
  });
  cls.def("untag_int", [](Index& index, uint32_t tag, int64_t key) {
    ThrowIfError(WithoutGil([&] { return index.Untag(Id(tag), key); }));
  });
  cls.def("untag_str", [](Index& index, uint32_t tag, const std::string& key) {
    ThrowIfError(WithoutGil([&] { return index.Untag(Id(tag), std::string_view(key)); }));
  });
  cls.def("untag_many_int", [](Index& index, uint32_t tag, const KeyArray& keys) {
    ThrowIfError(WithoutGil([&] { return index.UntagMany(Id(tag), AsSpan(keys)); }));
  });
  cls.def("untag_many_str", [](Index& index, uint32_t tag, const py::handle& keys) {
    StringKeys k = ToStringKeys(keys);
    ThrowIfError(WithoutGil(
        [&] { return index.UntagMany(Id(tag), std::span<const std::string_view>(k.views)); }));
  });
  cls.def("untag_rows", [](Index& index, uint32_t tag, const RowArray& rows) {
    ThrowIfError(WithoutGil([&] { return index.UntagRows(Id(tag), AsSpan(rows)); }));
  });

  // ---- reads ----
  cls.def("tag_cardinality", [](const Index& index, uint32_t tag) {
    return ValueOrThrow(WithoutGil([&] { return index.TagCardinality(Id(tag)); }));
  });
  cls.def("has_tag_int", [](const Index& index, uint32_t tag, int64_t key) {
    return ValueOrThrow(WithoutGil([&] { return index.HasTag(Id(tag), key); }));
  });
  cls.def("has_tag_str", [](const Index& index, uint32_t tag, const std::string& key) {
    return ValueOrThrow(WithoutGil([&] { return index.HasTag(Id(tag), std::string_view(key)); }));
  });
  cls.def("has_tag_row", [](const Index& index, uint32_t tag, RowId row) {
    return ValueOrThrow(WithoutGil([&] { return index.HasTagRow(Id(tag), row); }));
  });
  cls.def("tags_of_int", [](const Index& index, int64_t key) {
    return TagIdsToNumpy(ValueOrThrow(WithoutGil([&] { return index.TagsOf(key); })));
  });
  cls.def("tags_of_str", [](const Index& index, const std::string& key) {
    return TagIdsToNumpy(
        ValueOrThrow(WithoutGil([&] { return index.TagsOf(std::string_view(key)); })));
  });
  cls.def("tags_of_row", [](const Index& index, RowId row) {
    return TagIdsToNumpy(ValueOrThrow(WithoutGil([&] { return index.TagsOfRow(row); })));
  });
  cls.def("rows_with_tag", [](const Index& index, uint32_t tag) {
    return ToNumpy(ValueOrThrow(WithoutGil([&] { return index.RowsWithTag(Id(tag)); })));
  });
  cls.def("keys_with_tag", [](const Index& index, uint32_t tag) {
    return KeysToPy(ValueOrThrow(WithoutGil([&] { return index.KeysWithTag(Id(tag)); })),
                    index.options().key_kind);
  });
  return cls;
}

}  // namespace tagindex::python
