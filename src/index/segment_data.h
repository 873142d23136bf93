// The shared, immutable state behind a Segment and a CompiledQuery.
#ifndef TAGINDEX_INDEX_SEGMENT_DATA_H_
#define TAGINDEX_INDEX_SEGMENT_DATA_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// A normal form that is one AND of stored tags — positive tags, NOT tags and
// ORs of tags, at least one positive tag — or a single tag: the shape of most
// segment counts. Runs of it skip the planner (no plan tree, no allocation)
// and call the fused kernel with the operands the planner would have given
// it, in the same order (positives by ascending cardinality).
struct FlatAnd {
  std::vector<TagId> positive;
  std::vector<TagId> negative;
  std::vector<TagId> arms;          // the OR groups' tags, group after group
  std::vector<uint32_t> group_end;  // end of each group in `arms`
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
  std::optional<FlatAnd> flat;  // set when normal_form has that shape
  // The tags when normal_form is an OR of two or more stored tags (runs and
  // counts then skip the planner too); else empty.
  std::vector<TagId> flat_or;
  int64_t compile_nanos = 0;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_SEGMENT_DATA_H_
