// `_ShardedIndex` and `_ShardedSegment`: the sharded index
// (tagindex/sharded_index.h). The package's `tagindex.ShardedIndex`
// (_sharded.py) wraps them. Keys come as an int64 array or a list of str
// (the Python layer classifies them); the GIL is released in every call.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "convert.h"
#include "status.h"
#include "tagindex/sharded_index.h"

namespace tagindex::python {
namespace {

namespace py = pybind11;

const ShardedSegment* SegOf(const py::object& o) {
  if (o.is_none()) return nullptr;
  return &o.cast<const PyShardedSegment&>().segment;
}

// Runs fn(span) on int64 keys (a numpy array) or str keys (a list).
template <typename Fn>
absl::Status WithKeys(const py::object& keys, bool strings, Fn&& fn) {
  if (strings) {
    StringKeys k = ToStringKeys(keys);
    return WithoutGil([&] { return fn(std::span<const std::string_view>(k.views)); });
  }
  KeyArray a = keys.cast<KeyArray>();
  return WithoutGil([&] { return fn(AsSpan(a)); });
}

py::tuple RowsTuple(const std::vector<ShardedRow>& rows) {
  std::vector<uint32_t> shards, ids;
  shards.reserve(rows.size());
  ids.reserve(rows.size());
  for (const ShardedRow& r : rows) {
    shards.push_back(r.shard);
    ids.push_back(r.row);
  }
  return py::make_tuple(ToNumpy(std::move(shards)), ToNumpy(std::move(ids)));
}

QueryOptions Options(const py::object& today, bool unknown_tags_are_empty) {
  QueryOptions o;
  if (!today.is_none()) o.today = today.cast<int64_t>();
  o.unknown_tags_are_empty = unknown_tags_are_empty;
  return o;
}

py::tuple TagTuple(const TagInfo& t) {
  return py::make_tuple(t.id.value, t.name, t.category, t.description,
                        t.kind == TagKind::kRule ? "rule" : "manual", t.count);
}

}  // namespace

void BindSharded(py::module_& m) {
  py::class_<PyShardedSegment>(m, "_ShardedSegment")
      .def("count", [](const PyShardedSegment& s) { return s.segment.Count(); })
      .def("shard_counts", [](const PyShardedSegment& s) { return s.segment.ShardCounts(); })
      .def("page",
           [](const PyShardedSegment& s, uint64_t offset, uint64_t limit) {
             return RowsTuple(
                 ValueOrThrow(WithoutGil([&] { return s.segment.Page(offset, limit); })));
           })
      .def("page_after",
           [](const PyShardedSegment& s, const py::object& after, uint64_t limit) {
             std::optional<ShardedRow> a;
             if (!after.is_none()) {
               auto t = after.cast<std::pair<uint32_t, uint32_t>>();
               a = ShardedRow{t.first, t.second};
             }
             return RowsTuple(
                 ValueOrThrow(WithoutGil([&] { return s.segment.PageAfter(a, limit); })));
           })
      .def("keys",
           [](const PyShardedSegment& s, uint64_t offset, uint64_t limit) {
             auto keys = ValueOrThrow(WithoutGil([&] { return s.segment.Keys(offset, limit); }));
             return KeysToPy(std::move(keys), s.index->key_kind());
           })
      .def("intersect",
           [](const PyShardedSegment& a, const PyShardedSegment& b) {
             return PyShardedSegment{a.index, ValueOrThrow(a.segment.Intersect(b.segment))};
           })
      .def("union",
           [](const PyShardedSegment& a, const PyShardedSegment& b) {
             return PyShardedSegment{a.index, ValueOrThrow(a.segment.Union(b.segment))};
           })
      .def("difference", [](const PyShardedSegment& a, const PyShardedSegment& b) {
        return PyShardedSegment{a.index, ValueOrThrow(a.segment.Difference(b.segment))};
      });

  py::class_<ShardedIndex, std::shared_ptr<ShardedIndex>> cls(m, "_ShardedIndex");
  cls.def_static("open",
                 [](const std::string& path, uint32_t shards, int key_kind, uint64_t rows_per_shard,
                    uint32_t threads, bool create_if_missing, bool read_only, int sync) {
                   ShardedOpenOptions o;
                   o.create.shards = shards;
                   o.create.index.key_kind = static_cast<KeyKind>(key_kind);
                   o.create.rows_per_shard = rows_per_shard;
                   o.threads = threads;
                   o.shard.create_if_missing = create_if_missing;
                   o.shard.read_only = read_only;
                   o.shard.sync = static_cast<SyncPolicy>(sync);
                   return std::shared_ptr<ShardedIndex>(
                       ValueOrThrow(WithoutGil([&] { return ShardedIndex::Open(path, o); })));
                 });
  cls.def_static(
      "in_memory", [](uint32_t shards, int key_kind, uint64_t rows_per_shard, uint32_t threads) {
        ShardedOpenOptions o;
        o.create.shards = shards;
        o.create.index.key_kind = static_cast<KeyKind>(key_kind);
        o.create.rows_per_shard = rows_per_shard;
        o.threads = threads;
        return std::shared_ptr<ShardedIndex>(ValueOrThrow(ShardedIndex::CreateInMemory(o)));
      });
  cls.def_static("shard_path", &ShardedIndex::ShardPath);
  cls.def_static("reshard", [](const std::string& source, const std::string& dest, uint32_t shards,
                               uint64_t rows_per_shard, uint32_t threads) {
    ThrowIfError(WithoutGil(
        [&] { return ShardedIndex::Reshard(source, dest, shards, rows_per_shard, threads); }));
  });
  BindShardedAnalytics(cls);
  cls.def_static("read_manifest", [](const std::string& path) {
    ShardedManifestInfo m =
        ValueOrThrow(WithoutGil([&] { return ShardedIndex::ReadManifest(path); }));
    return py::make_tuple(m.generation, m.shards, static_cast<int>(m.key_kind), m.rows_per_shard,
                          m.change_pending);
  });
  cls.def("shard_count", &ShardedIndex::shard_count);
  cls.def("key_kind", [](const ShardedIndex& s) { return static_cast<int>(s.key_kind()); });
  cls.def("threads", &ShardedIndex::threads);
  cls.def("rows_per_shard", &ShardedIndex::rows_per_shard);
  cls.def("generation", &ShardedIndex::generation);
  cls.def("repair_report", &ShardedIndex::repair_report);
  cls.def("persistent", &ShardedIndex::persistent);
  cls.def("customer_count", [](const ShardedIndex& s) { return s.CustomerCount(); });
  cls.def("shard_of_int",
          [](const ShardedIndex& s, int64_t k) { return ValueOrThrow(s.ShardOf(k)); });
  cls.def("shard_of_str", [](const ShardedIndex& s, const std::string& k) {
    return ValueOrThrow(s.ShardOf(std::string_view(k)));
  });

  // ---- catalog ----
  cls.def("create_category", [](ShardedIndex& s, const std::string& name, bool exclusive,
                                const std::string& description) {
    ThrowIfError(WithoutGil([&] {
      return s.CreateCategory(name, {.exclusive = exclusive, .description = description});
    }));
  });
  cls.def("list_categories", [](const ShardedIndex& s) {
    py::list out;
    for (const CategoryInfo& c : ValueOrThrow(WithoutGil([&] { return s.ListCategories(); }))) {
      out.append(py::make_tuple(c.name, c.description, c.exclusive, c.tag_count));
    }
    return out;
  });
  cls.def("create_tag", [](ShardedIndex& s, const std::string& name, const std::string& category,
                           const std::string& description) {
    return ValueOrThrow(WithoutGil([&] {
             return s.CreateTag({.name = name, .category = category, .description = description});
           }))
        .value;
  });
  cls.def("find_tag", [](const ShardedIndex& s, const std::string& name) {
    return ValueOrThrow(s.FindTag(name)).value;
  });
  cls.def("get_tag", [](const ShardedIndex& s, uint32_t id) {
    return TagTuple(ValueOrThrow(WithoutGil([&] { return s.GetTag(TagId{id}); })));
  });
  cls.def("list_tags", [](const ShardedIndex& s) {
    py::list out;
    for (const TagInfo& t : ValueOrThrow(WithoutGil([&] { return s.ListTags(); })))
      out.append(TagTuple(t));
    return out;
  });
  cls.def("rename_tag", [](ShardedIndex& s, uint32_t id, const std::string& name) {
    ThrowIfError(WithoutGil([&] { return s.RenameTag(TagId{id}, name); }));
  });
  cls.def("set_tag_description", [](ShardedIndex& s, uint32_t id, const std::string& d) {
    ThrowIfError(WithoutGil([&] { return s.SetTagDescription(TagId{id}, d); }));
  });
  cls.def("delete_tag", [](ShardedIndex& s, uint32_t id) {
    ThrowIfError(WithoutGil([&] { return s.DeleteTag(TagId{id}); }));
  });
  cls.def("create_attribute", [](ShardedIndex& s, const std::string& name, int type, int scale,
                                 const std::string& description) {
    return ValueOrThrow(WithoutGil([&] {
             return s.CreateAttribute({.name = name,
                                       .type = static_cast<AttributeType>(type),
                                       .scale = scale,
                                       .description = description});
           }))
        .value;
  });
  cls.def("rename_attribute", [](ShardedIndex& s, const std::string& a, const std::string& b) {
    ThrowIfError(WithoutGil([&] { return s.RenameAttribute(a, b); }));
  });
  cls.def("drop_attribute", [](ShardedIndex& s, const std::string& a) {
    ThrowIfError(WithoutGil([&] { return s.DropAttribute(a); }));
  });
  cls.def("get_attribute", [](const ShardedIndex& s, const std::string& name) {
    AttributeInfo a = ValueOrThrow(WithoutGil([&] { return s.GetAttribute(name); }));
    return py::make_tuple(a.id.value, a.name, static_cast<int>(a.type), a.scale, a.description,
                          a.count, a.bits);
  });
  cls.def("list_attributes", [](const ShardedIndex& s) {
    py::list out;
    for (const AttributeInfo& a : ValueOrThrow(WithoutGil([&] { return s.ListAttributes(); }))) {
      out.append(py::make_tuple(a.id.value, a.name, static_cast<int>(a.type), a.scale,
                                a.description, a.count, a.bits));
    }
    return out;
  });

  // ---- data ----
  cls.def("add_customers", [](ShardedIndex& s, const py::object& keys, bool strings) {
    ThrowIfError(WithKeys(keys, strings, [&](auto k) { return s.AddCustomers(k); }));
  });
  cls.def("remove_customers", [](ShardedIndex& s, const py::object& keys, bool strings) {
    ThrowIfError(WithKeys(keys, strings, [&](auto k) { return s.RemoveCustomers(k); }));
  });
  cls.def("tag_many", [](ShardedIndex& s, uint32_t tag, const py::object& keys, bool strings) {
    ThrowIfError(WithKeys(keys, strings, [&](auto k) { return s.TagMany(TagId{tag}, k); }));
  });
  cls.def("untag_many", [](ShardedIndex& s, uint32_t tag, const py::object& keys, bool strings) {
    ThrowIfError(WithKeys(keys, strings, [&](auto k) { return s.UntagMany(TagId{tag}, k); }));
  });
  cls.def("set_attribute_many", [](ShardedIndex& s, const std::string& name, const py::object& keys,
                                   bool strings, const KeyArray& values) {
    ThrowIfError(WithKeys(keys, strings,
                          [&](auto k) { return s.SetAttributeMany(name, k, AsSpan(values)); }));
  });
  cls.def("load_from", [](ShardedIndex& s, const Index& source) {
    ThrowIfError(WithoutGil([&] { return s.LoadFrom(source); }));
  });
  cls.def("checkpoint",
          [](ShardedIndex& s) { ThrowIfError(WithoutGil([&] { return s.Checkpoint(); })); });

  // ---- queries ----
  cls.def("count", [](const ShardedIndex& s, const py::object& arg, const py::object& today,
                      bool unknown_empty) {
    QueryOptions o = Options(today, unknown_empty);
    QueryText text(arg, o.max_query_bytes);
    return ValueOrThrow(WithoutGil([&] { return s.Count(text.view(), o); }));
  });
  cls.def("shard_counts", [](const ShardedIndex& s, const py::object& arg, const py::object& today,
                             bool unknown_empty) {
    QueryOptions o = Options(today, unknown_empty);
    QueryText text(arg, o.max_query_bytes);
    return ValueOrThrow(WithoutGil([&] { return s.ShardCounts(text.view(), o); }));
  });
  cls.def("query", [](const std::shared_ptr<ShardedIndex>& s, const py::object& arg,
                      const py::object& today, bool unknown_empty) {
    QueryOptions o = Options(today, unknown_empty);
    QueryText text(arg, o.max_query_bytes);
    return PyShardedSegment{s, ValueOrThrow(WithoutGil([&] { return s->Query(text.view(), o); }))};
  });
  cls.def("all_customers", [](const std::shared_ptr<ShardedIndex>& s) {
    return PyShardedSegment{s, s->AllCustomers()};
  });
  cls.def("explain", [](const ShardedIndex& s, const py::object& arg, const py::object& today,
                        bool unknown_empty) {
    QueryOptions o = Options(today, unknown_empty);
    QueryText text(arg, o.max_query_bytes);
    ShardedExplanation e = ValueOrThrow(WithoutGil([&] { return s.Explain(text.view(), o); }));
    py::dict d;
    d["text"] = e.ToString();
    d["count"] = e.count;
    d["shard_nanos"] = e.shard_nanos;
    d["slowest_shard"] = e.slowest_shard;
    d["total_nanos"] = e.total_nanos;
    d["threads"] = e.threads;
    std::vector<uint64_t> counts;
    for (const Explanation& x : e.shards) counts.push_back(x.count);
    d["shard_counts"] = counts;
    return d;
  });

  // ---- attribute aggregates (storage units) ----
  cls.def("summarize_attribute", [](const ShardedIndex& s, const std::string& name,
                                    const py::object& seg) {
    const ShardedSegment* p = SegOf(seg);
    AttributeSummary a = ValueOrThrow(WithoutGil([&] { return s.SummarizeAttribute(name, p); }));
    return py::make_tuple(a.count, Int128ToPy(a.sum), a.min, a.max, a.mean);
  });
  cls.def("top_attribute", [](const ShardedIndex& s, const std::string& name, uint64_t k,
                              bool largest, const py::object& seg) {
    const ShardedSegment* p = SegOf(seg);
    auto top = ValueOrThrow(WithoutGil([&] { return s.TopAttribute(name, k, largest, p); }));
    std::vector<ShardedRow> at;
    std::vector<int64_t> values;
    for (const auto& e : top) {
      at.push_back(e.at);
      values.push_back(e.value);
    }
    auto keys = ValueOrThrow(WithoutGil([&]() -> absl::StatusOr<std::vector<CustomerKey>> {
      std::vector<CustomerKey> out;
      for (ShardedRow r : at) {
        absl::StatusOr<CustomerKey> key = s.KeyOf(r);
        if (!key.ok()) return key.status();
        out.push_back(*std::move(key));
      }
      return out;
    }));
    return py::make_tuple(KeysToPy(std::move(keys), s.key_kind()), ToNumpy(std::move(values)));
  });
  cls.def("attribute_histogram", [](const ShardedIndex& s, const std::string& name,
                                    const KeyArray& bounds, const py::object& seg) {
    const ShardedSegment* p = SegOf(seg);
    return ToNumpy(
        ValueOrThrow(WithoutGil([&] { return s.AttributeHistogram(name, AsSpan(bounds), p); })));
  });
  cls.def("attribute_quantile",
          [](const ShardedIndex& s, const std::string& name, double q, const py::object& seg) {
            const ShardedSegment* p = SegOf(seg);
            return ValueOrThrow(WithoutGil([&] { return s.AttributeQuantile(name, q, p); }));
          });
}

}  // namespace tagindex::python
