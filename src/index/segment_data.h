// The shared, immutable state behind a Segment and a CompiledQuery.
#ifndef TAGINDEX_INDEX_SEGMENT_DATA_H_
#define TAGINDEX_INDEX_SEGMENT_DATA_H_

#include <memory>
#include <string>

#include "bitmap/bitmap.h"
#include "query/expr.h"
#include "tagindex/query.h"

namespace tagindex {
class Index;
}  // namespace tagindex

namespace tagindex::internal {

struct Version;
class WriteDomain;

struct SegmentData {
  const Index* index = nullptr;  // identity only; may dangle; may be null
  // The version the rows came from (keys for KeysOf); null for a default
  // Segment.
  std::shared_ptr<const Version> version;
  Bitmap rows;
};

struct CompiledQueryData {
  const Index* index = nullptr;  // identity only
  // Where each run pins its version: the index's publication cell, or a
  // snapshot's version (`pinned`, then `domain` is null).
  std::shared_ptr<const WriteDomain> domain;
  std::shared_ptr<const Version> pinned;
  std::string text;
  QueryOptions options;
  query::Expr normal_form;
  int64_t compile_nanos = 0;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_SEGMENT_DATA_H_
