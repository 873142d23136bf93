// The shared, immutable state behind a Segment and a CompiledQuery.
#ifndef TAGINDEX_INDEX_SEGMENT_DATA_H_
#define TAGINDEX_INDEX_SEGMENT_DATA_H_

#include <string>

#include "bitmap/bitmap.h"
#include "query/expr.h"
#include "tagindex/query.h"

namespace tagindex {
class Index;
}  // namespace tagindex

namespace tagindex::internal {

struct SegmentData {
  const Index* index = nullptr;  // borrowed; may be null
  Bitmap rows;
};

struct CompiledQueryData {
  const Index* index = nullptr;  // borrowed
  std::string text;
  QueryOptions options;
  query::Expr normal_form;
  int64_t compile_nanos = 0;
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_SEGMENT_DATA_H_
