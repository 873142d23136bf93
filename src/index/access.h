// internal::Access: the library's one way into the private parts of the
// public classes (Index's state, Segment's, Snapshot's and CompiledQuery's
// data). The public headers only forward-declare it and name it a friend,
// so nothing internal is reachable from them. Not part of the public API.
#ifndef TAGINDEX_INDEX_ACCESS_H_
#define TAGINDEX_INDEX_ACCESS_H_

#include <memory>
#include <utility>

#include "index/index_state.h"
#include "index/segment_data.h"
#include "tagindex/index.h"
#include "tagindex/query.h"
#include "tagindex/segment.h"
#include "tagindex/snapshot.h"

namespace tagindex::internal {

struct Access {
  static IndexState& State(Index& index) { return *index.state_; }
  static const IndexState& State(const Index& index) { return *index.state_; }
  static std::unique_ptr<Index> MakeIndex(std::unique_ptr<IndexState> state) {
    return std::unique_ptr<Index>(new Index(std::move(state)));
  }
  static Segment MakeSegment(std::shared_ptr<const SegmentData> data) {
    return Segment(std::move(data));
  }
  static const SegmentData& Data(const Segment& segment) { return *segment.data_; }
  static const CompiledQueryData& Data(const CompiledQuery& query) { return *query.data_; }
  static CompiledQuery MakeCompiledQuery(std::shared_ptr<const CompiledQueryData> data) {
    return CompiledQuery(std::move(data));
  }
  static Snapshot MakeSnapshot(std::shared_ptr<const Version> version, const Index* index) {
    return Snapshot(std::move(version), index);
  }
  static const std::shared_ptr<const Version>& VersionOf(const Snapshot& s) { return s.v_; }
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_ACCESS_H_
