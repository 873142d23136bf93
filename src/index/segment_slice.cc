// Segment::Slice: a page of a segment as a Segment of the same index.
#include <memory>
#include <new>
#include <vector>

#include "index/segment_data.h"
#include "tagindex/segment.h"
#include "util/error_info.h"

namespace tagindex {

absl::StatusOr<Segment> Segment::Slice(uint64_t offset, uint64_t limit) const {
  // The rows come from this snapshot, so they need no liveness check (they
  // may name customers removed since, exactly as the parent segment does).
  absl::StatusOr<std::vector<RowId>> rows = Page(offset, limit);
  if (!rows.ok()) return rows.status();
  try {
    auto data = std::make_shared<internal::SegmentData>();
    data->index = data_->index;
    data->version = data_->version;
    data->rows = Bitmap::FromIds(*rows);
    return Segment(std::move(data));
  } catch (const std::bad_alloc&) {
    return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory, "segment",
                       "segment: out of memory");
  }
}

}  // namespace tagindex
