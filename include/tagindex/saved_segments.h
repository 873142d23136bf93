// Saved segments (人群包): a segment kept under a name, to reuse in queries
// and campaigns.
//
//   static   the members frozen when saved (with the query text and the
//            creation time); customers removed from the index leave it,
//            nothing else changes it
//   dynamic  the stored query, evaluated whenever the segment is used
//
// Example:
//
//   absl::Status s = index->SaveSegment("双十一老客", "复购客户 AND 大促敏感");
//   s = index->SaveSegment("高潜新客", "新客户 AND 消费金额 >= 500", SegmentKind::kDynamic);
//   uint64_t n = index->Count("人群:双十一老客 AND NOT 流失风险").value();
//   tagindex::SegmentDiff d = index->DiffSavedSegment("双十一老客").value();  // vs its query now
//   tagindex::Segment members = index->LoadSavedSegment("双十一老客").value();
//
// In queries a saved segment is written `人群:NAME` or `segment:NAME`
// (docs/query_language.md); a real tag of category 人群 / segment with that
// name takes precedence. A static segment costs what a tag costs; a dynamic
// one is replaced by its query when the query is compiled.
//
// Persistence: saving, renaming and dropping are log records (WAL types
// 40-42) and segments are snapshot sections (kind 20), like tags. They are
// not accepted inside a WriteBatch yet (Unimplemented).
#ifndef TAGINDEX_SAVED_SEGMENTS_H_
#define TAGINDEX_SAVED_SEGMENTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "tagindex/segment.h"

namespace tagindex {

enum class SegmentKind : uint8_t { kStatic = 0, kDynamic = 1 };

struct SavedSegmentInfo {
  std::string name;
  SegmentKind kind = SegmentKind::kStatic;
  std::string query;           // as written when saved
  int64_t created_micros = 0;  // Unix time in microseconds
  // Static: live members now. Dynamic: the query's count now.
  uint64_t count = 0;
};

// Who entered and who left between `before` and `after`.
struct SegmentDiff {
  uint64_t before = 0, after = 0;
  uint64_t entered = 0;  // in after, not in before
  uint64_t left = 0;     // in before, not in after
  uint64_t stayed = 0;
  // With `with_rows`: the customers themselves.
  std::optional<Segment> entered_rows, left_rows;
};

}  // namespace tagindex

#endif  // TAGINDEX_SAVED_SEGMENTS_H_
