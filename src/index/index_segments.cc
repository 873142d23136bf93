// Index's saved segments (人群包): save / list / rename / drop / load and
// diffs. Mutations go through the one commit path (mutation.h); the reads
// are Snapshot methods on one version (Index's are the same calls on a
// snapshot taken for the call); queries see segments through the binder
// (`人群:NAME`, query_bridge.h).
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "index/access.h"
#include "index/index_state.h"
#include "index/mutation.h"
#include "index/names.h"
#include "index/segment_data.h"
#include "tagindex/index.h"
#include "tagindex/snapshot.h"
#include "util/edit_distance.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

using internal::IndexState;
using internal::Quote;
using internal::SavedSegmentEntry;
using internal::Version;

absl::Status CommitOne(IndexState& s, internal::Mutation m,
                       internal::CommitResult* result = nullptr) {
  return internal::Commit(s, std::span<internal::Mutation>(&m, 1), {}, result);
}

absl::Status Unknown(const Version& v, std::string_view name) {
  std::vector<std::string> close = util::ClosestMatches(std::string(name), v.segments.Names());
  std::string hint;
  if (!close.empty()) {
    std::vector<std::string> quoted;
    for (const auto& c : close) quoted.push_back(Quote(c));
    hint = absl::StrCat("; did you mean ", absl::StrJoin(quoted, ", "), "?");
  }
  return absl::NotFoundError(absl::StrCat("index: unknown saved segment ", Quote(name), hint));
}

// The entry called `name` in `v`.
absl::StatusOr<const SavedSegmentEntry*> Find(const Version& v, std::string_view name) {
  TI_ASSIGN_OR_RETURN(std::string n, internal::NormalizeName(name, "segment name", v.options));
  const SavedSegmentEntry* e = v.segments.Find(n);
  if (e == nullptr) return Unknown(v, n);
  return e;
}

// The id now (the commit checks it still names a segment).
absl::StatusOr<uint32_t> IdOf(const IndexState& s, std::string_view name) {
  std::shared_ptr<const Version> v = s.Pin();
  TI_ASSIGN_OR_RETURN(const SavedSegmentEntry* e, Find(*v, name));
  return e->id;
}

Segment Wrap(const Index* index, std::shared_ptr<const Version> v, Bitmap rows) {
  auto data = std::make_shared<internal::SegmentData>();
  data->index = index;
  data->version = std::move(v);
  data->rows = std::move(rows);
  return internal::Access::MakeSegment(std::move(data));
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SavedSegmentInfo InfoOf(const SavedSegmentEntry& e) {
  return {e.name, e.dynamic ? SegmentKind::kDynamic : SegmentKind::kStatic, e.query,
          e.created_micros, e.dynamic ? 0 : e.members.Cardinality()};
}

}  // namespace

absl::Status Index::SaveSegment(std::string_view name, std::string_view query, SegmentKind kind,
                                const QueryOptions& options) {
  return internal::Guarded([&]() -> absl::Status {
    if (kind != SegmentKind::kStatic && kind != SegmentKind::kDynamic) {
      return absl::InvalidArgumentError("index: unknown SegmentKind");
    }
    internal::SaveSegmentMutation m;
    m.name = name;
    m.query = query;
    m.dynamic = kind == SegmentKind::kDynamic;
    m.created_micros = NowMicros();
    Segment members;
    if (m.dynamic) {
      TI_RETURN_IF_ERROR(Compile(query, options).status());  // binds now: errors at save time
    } else {
      TI_ASSIGN_OR_RETURN(members, Query(query, options));
      m.members = &internal::Access::Data(members).rows;
    }
    return CommitOne(*state_, m);
  });
}

absl::StatusOr<SavedSegmentInfo> Snapshot::GetSavedSegment(std::string_view name) const {
  TI_ASSIGN_OR_RETURN(const SavedSegmentEntry* e, Find(*v_, name));
  SavedSegmentInfo info = InfoOf(*e);
  // The stored query compiled at save time, but what it refers to may have
  // gone since.
  if (info.kind == SegmentKind::kDynamic) {
    TI_ASSIGN_OR_RETURN(info.count, Count(info.query));
  }
  return info;
}

absl::StatusOr<std::vector<SavedSegmentInfo>> Snapshot::ListSavedSegments() const {
  return internal::Guarded([&]() -> absl::StatusOr<std::vector<SavedSegmentInfo>> {
    std::vector<SavedSegmentInfo> out;
    for (const SavedSegmentEntry* e : v_->segments.List()) out.push_back(InfoOf(*e));
    for (SavedSegmentInfo& info : out) {
      // A dynamic segment whose query no longer binds (a tag it names was
      // deleted) is listed with count 0 (out of memory is an error: the
      // count would be wrong); using it reports why.
      if (info.kind == SegmentKind::kDynamic) {
        absl::StatusOr<uint64_t> n = Count(info.query);
        if (n.status().code() == absl::StatusCode::kResourceExhausted) return n.status();
        info.count = n.value_or(0);
      }
    }
    return out;
  });
}

absl::StatusOr<Segment> Snapshot::LoadSavedSegment(std::string_view name) const {
  return internal::Guarded([&]() -> absl::StatusOr<Segment> {
    TI_ASSIGN_OR_RETURN(const SavedSegmentEntry* e, Find(*v_, name));
    if (!e->dynamic) return Wrap(index_, v_, e->members.Copy());
    return Query(e->query);
  });
}

absl::StatusOr<SegmentDiff> Snapshot::DiffSegments(const Segment& before, const Segment& after,
                                                   bool with_rows) const {
  return internal::Guarded([&]() -> absl::StatusOr<SegmentDiff> {
    if (before.index() != index_ || after.index() != index_) {
      return absl::InvalidArgumentError("index: the segment belongs to another index");
    }
    const Bitmap& b = internal::Access::Data(before).rows;
    const Bitmap& a = internal::Access::Data(after).rows;
    SegmentDiff d;
    d.before = b.Cardinality();
    d.after = a.Cardinality();
    d.stayed = Bitmap::AndCardinality(a, b);
    d.entered = d.after - d.stayed;
    d.left = d.before - d.stayed;
    if (with_rows) {
      d.entered_rows = Wrap(index_, v_, Bitmap::AndNot(a, b));
      d.left_rows = Wrap(index_, v_, Bitmap::AndNot(b, a));
    }
    return d;
  });
}

absl::StatusOr<SegmentDiff> Snapshot::DiffSavedSegment(std::string_view name,
                                                       bool with_rows) const {
  return internal::Guarded([&]() -> absl::StatusOr<SegmentDiff> {
    TI_ASSIGN_OR_RETURN(const SavedSegmentEntry* e, Find(*v_, name));
    if (e->dynamic) {
      return absl::InvalidArgumentError(
          absl::StrCat("index: saved segment ", Quote(e->name),
                       " is dynamic (it is its query; there is nothing frozen to compare)"));
    }
    Segment frozen = Wrap(index_, v_, e->members.Copy());
    TI_ASSIGN_OR_RETURN(Segment now, Query(e->query));
    return DiffSegments(frozen, now, with_rows);
  });
}

// ---- Index ----

absl::StatusOr<SavedSegmentInfo> Index::GetSavedSegment(std::string_view name) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().GetSavedSegment(name);
}

absl::StatusOr<std::vector<SavedSegmentInfo>> Index::ListSavedSegments() const {
  return GetSnapshot().ListSavedSegments();
}

absl::Status Index::RenameSavedSegment(std::string_view name, std::string_view new_name) {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  TI_ASSIGN_OR_RETURN(uint32_t id, IdOf(*state_, name));
  return CommitOne(*state_, internal::RenameSegmentMutation{id, new_name});
}

absl::Status Index::DropSavedSegment(std::string_view name) {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  TI_ASSIGN_OR_RETURN(uint32_t id, IdOf(*state_, name));
  return CommitOne(*state_, internal::DropSegmentMutation{id});
}

absl::StatusOr<Segment> Index::LoadSavedSegment(std::string_view name) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().LoadSavedSegment(name);
}

absl::StatusOr<SegmentDiff> Index::DiffSegments(const Segment& before, const Segment& after,
                                                bool with_rows) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().DiffSegments(before, after, with_rows);
}

absl::StatusOr<SegmentDiff> Index::DiffSavedSegment(std::string_view name, bool with_rows) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return GetSnapshot().DiffSavedSegment(name, with_rows);
}

}  // namespace tagindex
