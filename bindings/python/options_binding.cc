// The option structs of the C++ API as `_tagindex._IndexOptions`,
// `_OpenOptions` and `_QueryOptions`: the one place the Python package learns
// their fields. Each field is bound once, with its documentation; its default
// is read from a default-constructed C++ struct, so the C++ header states it.
// Every class carries `_fields`, a tuple of (name, kind, max, default, doc)
// in binding order, from which tagindex/_options.py derives the public
// dataclasses, the keyword arguments of Index(), Index.open() and the query
// methods, their signatures (and so the stub check) and the pickler's state.
//
// A new field of one of these structs is one line here (plus the C++ field).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>

#include "bindings.h"
#include "convert.h"
#include "status.h"
#include "tagindex/tagindex.h"

namespace tagindex::python {
namespace {

// The largest value Python may pass for an unsigned field (a size_t or
// uint64_t is kept within int64 like the rest of the API).
template <typename T>
uint64_t MaxOf() {
  if constexpr (std::is_same_v<T, bool>) {
    return 1;
  } else {
    return std::min<uint64_t>(std::numeric_limits<T>::max(),
                              uint64_t{std::numeric_limits<int64_t>::max()});
  }
}

template <typename S>
class OptionTable {
 public:
  OptionTable(py::module_& m, const char* name, const char* doc) : cls_(m, name, doc) {
    cls_.def(py::init<>());
  }

  // A bool or unsigned integer field, read and written as is.
  template <typename T>
  OptionTable& Field(const char* name, T S::*member, const char* doc) {
    static_assert(std::is_same_v<T, bool> || std::is_unsigned_v<T>);
    cls_.def_readwrite(name, member, doc);
    return Add(name, std::is_same_v<T, bool> ? "bool" : "int", MaxOf<T>(), doc);
  }

  // An enum field, as its int value (the Python layer names the values).
  template <typename E>
  OptionTable& Enum(const char* name, E S::*member, E last, const char* doc) {
    const std::string field = name;
    cls_.def_property(
        name, [member](const S& s) { return static_cast<int>(s.*member); },
        [member, last, field](S& s, int v) {
          if (v < 0 || v > static_cast<int>(last)) {
            throw StatusError(absl::InvalidArgumentError("options: " + field + " must be in [0, " +
                                                         std::to_string(static_cast<int>(last)) +
                                                         "], got " + std::to_string(v)));
          }
          s.*member = static_cast<E>(v);
        },
        doc);
    return Add(name, "enum", static_cast<uint64_t>(last), doc);
  }

  // A field whose Python form is computed (kind names the conversion).
  template <typename Get, typename Set>
  OptionTable& Computed(const char* name, const char* kind, Get get, Set set, const char* doc) {
    cls_.def_property(name, get, set, doc);
    return Add(name, kind, 0, doc);
  }

  py::class_<S>& cls() { return cls_; }

  void Finish() { cls_.attr("_fields") = py::tuple(fields_); }

 private:
  OptionTable& Add(const char* name, const char* kind, uint64_t max, const char* doc) {
    py::object defaults = py::cast(S{});
    fields_.append(py::make_tuple(name, kind, max, defaults.attr(name), doc));
    return *this;
  }

  py::class_<S> cls_;
  py::list fields_;
};

}  // namespace

void BindOptions(py::module_& m) {
  OptionTable<IndexOptions> index(m, "_IndexOptions", "tagindex::IndexOptions (private).");
  index
      .Enum("key_kind", &IndexOptions::key_kind, KeyKind::kIdentity,
            "how customers are identified: ``\"int64\"`` (integer keys mapped to dense row "
            "ids), ``\"string\"`` (UTF-8 keys such as phone numbers) or ``\"identity\"`` (the "
            "integer key *is* the row id).")
      .Field("create_missing_customers", &IndexOptions::create_missing_customers,
             "tagging an unknown key registers the customer (else UnknownCustomerError).")
      .Field("max_name_bytes", &IndexOptions::max_name_bytes,
             "longest tag or category name, in UTF-8 bytes.")
      .Field("max_name_code_points", &IndexOptions::max_name_code_points,
             "longest tag or category name, in code points.")
      .Field("max_description_bytes", &IndexOptions::max_description_bytes,
             "longest description, in bytes.")
      .Field("max_string_key_bytes", &IndexOptions::max_string_key_bytes,
             "longest string customer key, in bytes.")
      .Field("max_tags", &IndexOptions::max_tags, "the most live tags an index may hold.")
      .Finish();

  OptionTable<OpenOptions> open(m, "_OpenOptions",
                                "tagindex::OpenOptions without the file system (private).");
  open.cls().def_readwrite("index", &OpenOptions::index);
  open.Field("create_if_missing", &OpenOptions::create_if_missing,
             "create the directory and an empty index if there is none (default False: a "
             "missing path is NotFoundError; never over a former index or foreign files).")
      .Field("read_only", &OpenOptions::read_only,
             "write nothing (no lock; the log is replayed in memory); mutations and "
             "checkpoint raise FailedPreconditionError.")
      .Enum("sync", &OpenOptions::sync, SyncPolicy::kNone,
            "when a log record reaches stable storage: ``\"every_write\"`` (fdatasync before "
            "returning), ``\"group_commit\"`` (a background fsync every "
            "``group_commit_interval_ms`` shared by concurrent writers, each waiting for its "
            "own) or ``\"none\"`` (survives a process crash, not a machine crash).")
      .Field("group_commit_interval_ms", &OpenOptions::group_commit_interval_ms,
             "under group_commit, the pause after each background sync.")
      .Field("salvage_log", &OpenOptions::salvage_log,
             "keep the records before a corrupt spot in the log instead of failing (reported "
             "in last_recovery).")
      .Field("max_tag_id_on_load", &OpenOptions::max_tag_id_on_load,
             "safety limit on load: most live tags (and attribute columns) accepted from a "
             "snapshot; ids are never reused and size nothing, so the id counter is not "
             "limited.")
      .Field("max_log_record_bytes", &OpenOptions::max_log_record_bytes,
             "safety limit on load: largest single log record accepted, in bytes.")
      .Finish();

  OptionTable<QueryOptions> query(m, "_QueryOptions", "tagindex::QueryOptions (private).");
  query
      .Field("max_query_bytes", &QueryOptions::max_query_bytes,
             "longest accepted query text, in bytes.")
      .Field("max_depth", &QueryOptions::max_depth, "deepest nesting of parentheses and NOT.")
      .Field("max_operands", &QueryOptions::max_operands,
             "most operands (names and literals) in one query.")
      .Field("unknown_tags_are_empty", &QueryOptions::unknown_tags_are_empty,
             "an unknown tag name is the empty set instead of UnknownTagError (dashboards "
             "over tags that may not exist yet).")
      .Computed(
          "rewrites", "bool",
          [](const QueryOptions& o) {
            const QueryRewrites& r = o.rewrites;
            return r.flatten && r.remove_double_negation && r.fold_constants && r.remove_duplicates;
          },
          [](QueryOptions& o, bool on) {
            o.rewrites.flatten = o.rewrites.remove_double_negation = on;
            o.rewrites.fold_constants = o.rewrites.remove_duplicates = on;
          },
          "the normaliser's rewrite rules (flatten, remove double negation, fold constants, "
          "remove duplicates): ``True`` for all, ``False`` for none. Turning them off is for "
          "testing.")
      .Computed(
          "today", "date", [](const QueryOptions& o) { return o.today; },
          [](QueryOptions& o, std::optional<int64_t> days) { o.today = days; },
          "the date ``today`` means in attribute predicates (``最近购买 < today - 90d``): a "
          "``datetime.date``, an ISO string, or days since 1970-01-01; ``None`` is the "
          "current UTC date.")
      .Finish();
}

}  // namespace tagindex::python
