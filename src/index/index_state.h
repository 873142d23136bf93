// IndexState: everything an Index holds, shared with the library's own
// layers (query binding, storage). Not part of the public API.
#ifndef TAGINDEX_INDEX_INDEX_STATE_H_
#define TAGINDEX_INDEX_INDEX_STATE_H_

#include <cstdint>
#include <memory>
#include <new>
#include <shared_mutex>
#include <string_view>

#include "absl/status/status.h"
#include "bitmap/bitmap.h"
#include "index/attributes.h"
#include "index/catalog.h"
#include "index/durability.h"
#include "index/key_map.h"
#include "index/rules.h"
#include "index/saved_segments.h"
#include "tagindex/options.h"
#include "util/error_info.h"

namespace tagindex::internal {

struct IndexState {
  explicit IndexState(IndexOptions opts) : options(std::move(opts)), keys(options.key_kind) {}

  const IndexOptions options;

  // Readers take it shared, writers exclusive. Everything below is guarded.
  mutable std::shared_mutex mu;

  KeyMap keys;
  Catalog catalog;
  AttributeTable attributes;   // in memory only for now (not in snapshots or the log)
  SavedSegmentTable segments;  // saved segments (人群包)
  RuleTable rules;             // rule tags' rules (their members are catalog tags)
  Bitmap universe;             // live customers
  uint64_t row_limit = 0;      // one past the largest row id ever assigned

  // Set for an index opened with Index::Open; null for an in-memory one.
  std::unique_ptr<Durability> durability;
};

// CRoaring reports allocation failure as NULL, which Bitmap turns into
// std::bad_alloc; this is where it becomes a status, so no exception
// crosses the public API. (Commit, in mutation_apply.cc, guards every write
// with it; reads that allocate call it directly.)
template <typename Fn>
auto Guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory, "index",
                       "index: out of memory");
  }
}

// Whether `key` fits the index's KeyKind (and, for strings, the key rules).
absl::Status CheckKey(const IndexState& s, int64_t key);
absl::Status CheckKey(const IndexState& s, std::string_view key);

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_INDEX_STATE_H_
