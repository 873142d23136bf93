// IndexState: everything an Index holds, shared with the library's own
// layers (query binding, storage). Not part of the public API.
#ifndef TAGINDEX_INDEX_INDEX_STATE_H_
#define TAGINDEX_INDEX_INDEX_STATE_H_

#include <cstdint>
#include <memory>
#include <shared_mutex>

#include "bitmap/bitmap.h"
#include "index/attributes.h"
#include "index/catalog.h"
#include "index/durability.h"
#include "index/key_map.h"
#include "tagindex/options.h"

namespace tagindex::internal {

struct IndexState {
  explicit IndexState(IndexOptions opts) : options(std::move(opts)), keys(options.key_kind) {}

  const IndexOptions options;

  // Readers take it shared, writers exclusive. Everything below is guarded.
  mutable std::shared_mutex mu;

  KeyMap keys;
  Catalog catalog;
  AttributeTable attributes;  // in memory only for now (not in snapshots or the log)
  Bitmap universe;         // live customers
  uint64_t row_limit = 0;  // one past the largest row id ever assigned

  // Set for an index opened with Index::Open; null for an in-memory one.
  std::unique_ptr<Durability> durability;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_INDEX_STATE_H_
