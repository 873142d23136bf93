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

template <typename Reader>
py::object KeysOfRows(const Reader& reader, const RowArray& rows) {
  const std::span<const uint32_t> span = AsSpan(rows);
  auto keys = WithoutGil([&]() -> absl::StatusOr<std::vector<CustomerKey>> {
    std::vector<CustomerKey> out;
    out.reserve(span.size());
    for (RowId row : span) {
      absl::StatusOr<CustomerKey> key = reader.KeyOf(row);
      if (!key.ok()) return key.status();
      out.push_back(*std::move(key));
    }
    return out;
  });
  return KeysToPy(ValueOrThrow(std::move(keys)), reader.options().key_kind);
}

TagId Id(uint32_t v) { return TagId{v}; }

// The read calls, on `_Index` (R = IndexReader) and `_Snapshot`
// (R = SnapshotReader): customers, categories, tags and memberships.
template <typename R, typename Cls>
void BindReads(Cls& cls) {
  cls.def("find_customer_int", [](const typename R::Self& self, int64_t key) {
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).FindCustomer(key); }));
  });
  cls.def("find_customer_str", [](const typename R::Self& self, const std::string& key) {
    return ValueOrThrow(
        WithoutGil([&] { return R::Of(self).FindCustomer(std::string_view(key)); }));
  });
  cls.def("key_of", [](const typename R::Self& self, RowId row) {
    return ToPy(ValueOrThrow(WithoutGil([&] { return R::Of(self).KeyOf(row); })));
  });
  cls.def("keys_of_rows", [](const typename R::Self& self, const RowArray& rows) {
    return KeysOfRows(R::Of(self), rows);
  });
  cls.def("customer_count", [](const typename R::Self& self) {
    return WithoutGil([&] { return R::Of(self).CustomerCount(); });
  });
  cls.def("row_id_limit", [](const typename R::Self& self) {
    return WithoutGil([&] { return R::Of(self).RowIdLimit(); });
  });
  cls.def("live_rows", [](const typename R::Self& self) {
    return ToNumpy(ValueOrThrow(WithoutGil([&] { return R::Of(self).LiveRows(); })));
  });

  cls.def("get_category", [](const typename R::Self& self, const std::string& name) {
    return CategoryTuple(ValueOrThrow(WithoutGil([&] { return R::Of(self).GetCategory(name); })));
  });
  cls.def("list_categories", [](const typename R::Self& self) {
    std::vector<CategoryInfo> all =
        ValueOrThrow(WithoutGil([&] { return R::Of(self).ListCategories(); }));
    py::list out;
    for (const CategoryInfo& c : all) out.append(CategoryTuple(c));
    return out;
  });

  cls.def("find_tag", [](const typename R::Self& self, const std::string& name) {
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).FindTag(name); })).value;
  });
  cls.def("find_tag_in", [](const typename R::Self& self, const std::string& category,
                            const std::string& name) {
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).FindTag(category, name); })).value;
  });
  cls.def("get_tag", [](const typename R::Self& self, uint32_t tag) {
    return TagTuple(ValueOrThrow(WithoutGil([&] { return R::Of(self).GetTag(Id(tag)); })));
  });
  cls.def("list_tags", [](const typename R::Self& self) {
    std::vector<TagInfo> all = ValueOrThrow(WithoutGil([&] { return R::Of(self).ListTags(); }));
    py::list out;
    for (const TagInfo& t : all) out.append(TagTuple(t));
    return out;
  });
  cls.def("tag_count", [](const typename R::Self& self) {
    return WithoutGil([&] { return R::Of(self).TagCount(); });
  });

  cls.def("tag_cardinality", [](const typename R::Self& self, uint32_t tag) {
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).TagCardinality(Id(tag)); }));
  });
  cls.def("has_tag_int", [](const typename R::Self& self, uint32_t tag, int64_t key) {
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).HasTag(Id(tag), key); }));
  });
  cls.def("has_tag_str", [](const typename R::Self& self, uint32_t tag, const std::string& key) {
    return ValueOrThrow(
        WithoutGil([&] { return R::Of(self).HasTag(Id(tag), std::string_view(key)); }));
  });
  cls.def("has_tag_row", [](const typename R::Self& self, uint32_t tag, RowId row) {
    return ValueOrThrow(WithoutGil([&] { return R::Of(self).HasTagRow(Id(tag), row); }));
  });
  cls.def("tags_of_int", [](const typename R::Self& self, int64_t key) {
    return TagIdsToNumpy(ValueOrThrow(WithoutGil([&] { return R::Of(self).TagsOf(key); })));
  });
  cls.def("tags_of_str", [](const typename R::Self& self, const std::string& key) {
    return TagIdsToNumpy(
        ValueOrThrow(WithoutGil([&] { return R::Of(self).TagsOf(std::string_view(key)); })));
  });
  cls.def("tags_of_row", [](const typename R::Self& self, RowId row) {
    return TagIdsToNumpy(ValueOrThrow(WithoutGil([&] { return R::Of(self).TagsOfRow(row); })));
  });
  cls.def("rows_with_tag", [](const typename R::Self& self, uint32_t tag) {
    return ToNumpy(ValueOrThrow(WithoutGil([&] { return R::Of(self).RowsWithTag(Id(tag)); })));
  });
  cls.def("keys_with_tag", [](const typename R::Self& self, uint32_t tag) {
    return KeysToPy(ValueOrThrow(WithoutGil([&] { return R::Of(self).KeysWithTag(Id(tag)); })),
                    R::Of(self).options().key_kind);
  });
}

}  // namespace

py::class_<Index, std::shared_ptr<Index>> BindIndex(py::module_& m) {
  py::class_<Index, IndexPtr> cls(m, "_Index",
                                  "Low-level handle of a C++ tagindex::Index (private).");
  // Options arrive as a `_IndexOptions` (options_binding.cc), whose fields
  // are checked as they are set.
  cls.def(py::init([](const IndexOptions& options) {
            return IndexPtr(ValueOrThrow(Index::Create(options)));
          }),
          py::arg("options"));
  cls.def("options", [](const Index& index) { return index.options(); });
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
  cls.def("remove_customer_int", [](Index& index, int64_t key) {
    ThrowIfError(WithoutGil([&] { return index.RemoveCustomer(key); }));
  });
  cls.def("remove_customer_str", [](Index& index, const std::string& key) {
    ThrowIfError(WithoutGil([&] { return index.RemoveCustomer(std::string_view(key)); }));
  });
  cls.def("remove_row", [](Index& index, RowId row) {
    ThrowIfError(WithoutGil([&] { return index.RemoveRow(row); }));
  });
  // ---- categories ----
  cls.def("create_category", [](Index& index, const std::string& name, bool exclusive,
                                const std::string& description) {
    CategoryOptions options;
    options.exclusive = exclusive;
    options.description = description;
    ThrowIfError(WithoutGil([&] { return index.CreateCategory(name, options); }));
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
  cls.def("rename_tag", [](Index& index, uint32_t tag, const std::string& name) {
    ThrowIfError(WithoutGil([&] { return index.RenameTag(Id(tag), name); }));
  });
  cls.def("set_tag_description", [](Index& index, uint32_t tag, const std::string& text) {
    ThrowIfError(WithoutGil([&] { return index.SetTagDescription(Id(tag), text); }));
  });
  cls.def("delete_tag", [](Index& index, uint32_t tag) {
    ThrowIfError(WithoutGil([&] { return index.DeleteTag(Id(tag)); }));
  });
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

  BindReads<IndexReader>(cls);
  return cls;
}

void BindIndexReads(SnapshotClass& snapshot) { BindReads<SnapshotReader>(snapshot); }

}  // namespace tagindex::python
