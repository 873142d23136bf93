// Index's saved segments (人群包): save / list / rename / drop / load and
// diffs. Mutations go through the one commit path (mutation.h); queries see
// segments through the binder (`人群:NAME`, query_bridge.h).
#include <chrono>
#include <mutex>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "index/index_state.h"
#include "index/mutation.h"
#include "index/names.h"
#include "index/segment_data.h"
#include "tagindex/index.h"
#include "util/edit_distance.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

using internal::IndexState;
using internal::Quote;
using internal::SavedSegmentEntry;
using ReadLock = std::shared_lock<std::shared_mutex>;

absl::Status CommitOne(IndexState& s, internal::Mutation m,
                       internal::CommitResult* result = nullptr) {
  return internal::Commit(s, std::span<internal::Mutation>(&m, 1), {}, result);
}

absl::StatusOr<std::string> SegmentName(const IndexState& s, std::string_view name) {
  return internal::NormalizeName(name, "segment name", s.options);
}

absl::Status Unknown(const IndexState& s, std::string_view name) {
  std::vector<std::string> close = util::ClosestMatches(std::string(name), s.segments.Names());
  std::string hint;
  if (!close.empty()) {
    std::vector<std::string> quoted;
    for (const auto& c : close) quoted.push_back(Quote(c));
    hint = absl::StrCat("; did you mean ", absl::StrJoin(quoted, ", "), "?");
  }
  return absl::NotFoundError(absl::StrCat("index: unknown saved segment ", Quote(name), hint));
}

// The entry called `name`; the caller holds the lock.
absl::StatusOr<const SavedSegmentEntry*> Find(const IndexState& s, std::string_view name) {
  TI_ASSIGN_OR_RETURN(std::string n, SegmentName(s, name));
  const SavedSegmentEntry* e = s.segments.Find(n);
  if (e == nullptr) return Unknown(s, n);
  return e;
}

absl::StatusOr<uint32_t> IdOf(const IndexState& s, std::string_view name) {
  ReadLock lock(s.mu);
  TI_ASSIGN_OR_RETURN(const SavedSegmentEntry* e, Find(s, name));
  return e->id;
}

Segment Wrap(const Index* index, Bitmap rows) {
  auto data = std::make_shared<internal::SegmentData>();
  data->index = index;
  data->rows = std::move(rows);
  return Segment(std::move(data));
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
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
      m.members = &members.data_for_internal_use().rows;
    }
    return CommitOne(*state_, m);
  });
}

absl::StatusOr<SavedSegmentInfo> Index::GetSavedSegment(std::string_view name) const {
  SavedSegmentInfo info;
  {
    ReadLock lock(state_->mu);
    TI_ASSIGN_OR_RETURN(const SavedSegmentEntry* e, Find(*state_, name));
    info.name = e->name;
    info.kind = e->dynamic ? SegmentKind::kDynamic : SegmentKind::kStatic;
    info.query = e->query;
    info.created_micros = e->created_micros;
    info.count = e->dynamic ? 0 : e->members.Cardinality();
  }
  if (info.kind == SegmentKind::kDynamic) {
    // Outside the lock (Count takes it); the stored query compiled at save
    // time, but what it refers to may have gone since.
    TI_ASSIGN_OR_RETURN(info.count, Count(info.query));
  }
  return info;
}

std::vector<SavedSegmentInfo> Index::ListSavedSegments() const {
  std::vector<SavedSegmentInfo> out;
  {
    ReadLock lock(state_->mu);
    for (const SavedSegmentEntry* e : state_->segments.List()) {
      out.push_back({e->name, e->dynamic ? SegmentKind::kDynamic : SegmentKind::kStatic, e->query,
                     e->created_micros, e->dynamic ? 0 : e->members.Cardinality()});
    }
  }
  for (SavedSegmentInfo& info : out) {
    // A dynamic segment whose query no longer binds (a tag it names was
    // deleted) is listed with count 0; using it reports why.
    if (info.kind == SegmentKind::kDynamic) info.count = Count(info.query).value_or(0);
  }
  return out;
}

absl::Status Index::RenameSavedSegment(std::string_view name, std::string_view new_name) {
  TI_ASSIGN_OR_RETURN(uint32_t id, IdOf(*state_, name));
  return CommitOne(*state_, internal::RenameSegmentMutation{id, new_name});
}

absl::Status Index::DropSavedSegment(std::string_view name) {
  TI_ASSIGN_OR_RETURN(uint32_t id, IdOf(*state_, name));
  return CommitOne(*state_, internal::DropSegmentMutation{id});
}

absl::StatusOr<Segment> Index::LoadSavedSegment(std::string_view name) const {
  return internal::Guarded([&]() -> absl::StatusOr<Segment> {
    std::string query;
    {
      ReadLock lock(state_->mu);
      TI_ASSIGN_OR_RETURN(const SavedSegmentEntry* e, Find(*state_, name));
      if (!e->dynamic) return Wrap(this, e->members.Copy());
      query = e->query;
    }
    return Query(query);
  });
}

absl::StatusOr<SegmentDiff> Index::DiffSegments(const Segment& before, const Segment& after,
                                                bool with_rows) const {
  return internal::Guarded([&]() -> absl::StatusOr<SegmentDiff> {
    if (before.index() != this || after.index() != this) {
      return absl::InvalidArgumentError("index: the segment belongs to another index");
    }
    const Bitmap& b = before.data_for_internal_use().rows;
    const Bitmap& a = after.data_for_internal_use().rows;
    SegmentDiff d;
    d.before = b.Cardinality();
    d.after = a.Cardinality();
    d.stayed = Bitmap::AndCardinality(a, b);
    d.entered = d.after - d.stayed;
    d.left = d.before - d.stayed;
    if (with_rows) {
      d.entered_rows = Wrap(this, Bitmap::AndNot(a, b));
      d.left_rows = Wrap(this, Bitmap::AndNot(b, a));
    }
    return d;
  });
}

absl::StatusOr<SegmentDiff> Index::DiffSavedSegment(std::string_view name, bool with_rows) const {
  return internal::Guarded([&]() -> absl::StatusOr<SegmentDiff> {
    std::string query;
    Segment frozen;
    {
      ReadLock lock(state_->mu);
      TI_ASSIGN_OR_RETURN(const SavedSegmentEntry* e, Find(*state_, name));
      if (e->dynamic) {
        return absl::InvalidArgumentError(
            absl::StrCat("index: saved segment ", Quote(e->name),
                         " is dynamic (it is its query; there is nothing frozen to compare)"));
      }
      query = e->query;
      frozen = Wrap(this, e->members.Copy());
    }
    TI_ASSIGN_OR_RETURN(Segment now, Query(query));
    return DiffSegments(frozen, now, with_rows);
  });
}

}  // namespace tagindex
