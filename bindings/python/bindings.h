// Entry points of the _tagindex extension's parts (one per area).
#ifndef TAGINDEX_BINDINGS_PYTHON_BINDINGS_H_
#define TAGINDEX_BINDINGS_PYTHON_BINDINGS_H_

#include <pybind11/pybind11.h>

#include <memory>
#include <utility>

#include "tagindex/index.h"
#include "tagindex/segment.h"
#include "tagindex/sharded_index.h"
#include "tagindex/snapshot.h"

namespace tagindex::python {

// A snapshot with the Index it came from: its segments are PySegments of
// that index (so they combine with the index's own); the C++ snapshot alone
// would outlive the index.
struct PySnapshot {
  std::shared_ptr<Index> index;
  Snapshot snapshot;
};

using IndexClass = pybind11::class_<Index, std::shared_ptr<Index>>;
using SnapshotClass = pybind11::class_<PySnapshot>;

// The read bindings are written once, as templates over one of these two
// adapters, and defined on both `_Index` and `_Snapshot`: `Of(self)` is what
// answers (the Index, whose reads take a snapshot per call, or the pinned
// Snapshot), `Owner(self)` the Index its segments belong to.
struct IndexReader {
  using Self = std::shared_ptr<Index>;
  static const Index& Of(const Self& self) { return *self; }
  static const std::shared_ptr<Index>& Owner(const Self& self) { return self; }
};
struct SnapshotReader {
  using Self = PySnapshot;
  static const Snapshot& Of(const Self& self) { return self.snapshot; }
  static const std::shared_ptr<Index>& Owner(const Self& self) { return self.index; }
};

// Binds `_Index` (the foundation API) and returns the class so that the
// other parts can add their methods to it.
pybind11::class_<Index, std::shared_ptr<Index>> BindIndex(pybind11::module_& m);
// Queries and segments: `_Segment`, `_CompiledQuery`, `_Index.query` etc.,
// and `_Snapshot` (returned, for the other parts' read calls).
SnapshotClass BindQuery(pybind11::module_& m,
                        pybind11::class_<Index, std::shared_ptr<Index>>& index);
// The read calls of each part on `_Snapshot` (the same templates as `_Index`'s).
void BindIndexReads(SnapshotClass& snapshot);
void BindAttributeReads(SnapshotClass& snapshot);
void BindAnalyticsReads(SnapshotClass& snapshot);
// Storage: `_Index.open`, checkpoint, export/import of portable Roaring blobs.
void BindStorage(pybind11::module_& m, pybind11::class_<Index, std::shared_ptr<Index>>& index);
// The CSV importer and the demo shop: `_Index.import_csv`, `build_demo_shop`.
void BindImport(pybind11::module_& m, pybind11::class_<Index, std::shared_ptr<Index>>& index);

// Batches: `_WriteBatch` and `_Index.write`.
void BindWriteBatch(pybind11::module_& m, pybind11::class_<Index, std::shared_ptr<Index>>& index);

// Attribute columns: `_Index.create_attribute`, values, aggregates.
void BindAttributes(pybind11::module_& m, pybind11::class_<Index, std::shared_ptr<Index>>& index);

// Segment analytics: `_Index.profile`, top_tags, cooccurrence, crosstab, coverage.
void BindAnalytics(pybind11::module_& m, pybind11::class_<Index, std::shared_ptr<Index>>& index);
// Rule tags: `_Index.define_rule_tag`, refresh_rules, list_rule_tags.
void BindRules(pybind11::module_& m, pybind11::class_<Index, std::shared_ptr<Index>>& index);
// The sharded index: `_ShardedIndex`, `_ShardedSegment`.
void BindSharded(pybind11::module_& m);
// _IndexOptions, _OpenOptions, _QueryOptions (before the classes that take them).
void BindOptions(pybind11::module_& m);

// A Segment with the Index it borrows, so Python never outlives the index.
struct PySegment {
  std::shared_ptr<Index> index;
  Segment segment;
};

// A ShardedSegment with the ShardedIndex it borrows.
struct PyShardedSegment {
  std::shared_ptr<ShardedIndex> index;
  ShardedSegment segment;
};
using ShardedClass = pybind11::class_<ShardedIndex, std::shared_ptr<ShardedIndex>>;
// The analytics calls of `_Index` (profile, top_tags, cooccurrence,
// crosstab, coverage, customers_without_category), the same templates, on
// `_ShardedIndex` (analytics_binding.cc).
void BindShardedAnalytics(ShardedClass& sharded);

// Runs `fn` with the GIL released: every call into the index may wait for
// its reader/writer lock or do real work, and other Python threads must keep
// running meanwhile. Statuses are checked after the GIL is back.
template <typename Fn>
auto WithoutGil(Fn&& fn) -> decltype(fn()) {
  pybind11::gil_scoped_release release;
  return std::forward<Fn>(fn)();
}

}  // namespace tagindex::python

#endif  // TAGINDEX_BINDINGS_PYTHON_BINDINGS_H_
