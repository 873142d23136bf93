// Index's query entry points and CompiledQuery: the glue between the query
// pipeline (src/query, which knows nothing of the index) and the catalog.
#include <chrono>
#include <mutex>
#include <new>
#include <optional>
#include <shared_mutex>
#include <span>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "index/access.h"
#include "index/index_state.h"
#include "index/query_bridge.h"
#include "index/segment_data.h"
#include "query/binder.h"
#include "query/executor.h"
#include "query/normalizer.h"
#include "query/parser.h"
#include "query/planner.h"
#include "tagindex/index.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

using Clock = std::chrono::steady_clock;
using internal::CatalogResolver;
using internal::CompiledQueryData;
using internal::IndexState;
using internal::StateSource;
using internal::TagEntry;
using internal::Version;

int64_t NanosSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

// CRoaring's allocation failures surface as std::bad_alloc from Bitmap; no
// exception may cross the public API.
template <typename Fn>
auto Guarded(Fn&& fn) -> decltype(fn()) {
  return internal::Guarded(std::forward<Fn>(fn), "query");
}

template <typename T>
using Small = absl::InlinedVector<T, 8>;

// The FlatAnd of a normal form of that shape (segment_data.h).
std::optional<internal::FlatAnd> Flatten(const query::Expr& e) {
  using Kind = query::Expr::Kind;
  internal::FlatAnd f;
  if (e.kind == Kind::kTag) {
    f.positive.push_back(e.tag);
    return f;
  }
  if (e.kind != Kind::kAnd) return std::nullopt;
  for (const query::Expr& c : e.children) {
    switch (c.kind) {
      case Kind::kTag:
        f.positive.push_back(c.tag);
        break;
      case Kind::kNot:
        if (c.children.size() != 1 || c.children[0].kind != Kind::kTag) return std::nullopt;
        f.negative.push_back(c.children[0].tag);
        break;
      case Kind::kOr:
        if (c.children.size() < 2) return std::nullopt;
        for (const query::Expr& arm : c.children) {
          if (arm.kind != Kind::kTag) return std::nullopt;
          f.arms.push_back(arm.tag);
        }
        f.group_end.push_back(static_cast<uint32_t>(f.arms.size()));
        break;
      default:
        return std::nullopt;
    }
  }
  if (f.positive.empty()) return std::nullopt;
  return f;
}

// The tags of a normal form that is an OR of two or more stored tags (the
// planner would give Execute exactly these operands), else empty.
std::vector<TagId> FlattenOr(const query::Expr& e) {
  using Kind = query::Expr::Kind;
  std::vector<TagId> tags;
  if (e.kind != Kind::kOr || e.children.size() < 2) return tags;
  for (const query::Expr& c : e.children) {
    if (c.kind != Kind::kTag) return {};
    tags.push_back(c.tag);
  }
  return tags;
}

// The stored bitmaps of a FlatAnd in one version, ordered as the planner
// orders them: positives by ascending cardinality (stable), so the kernel
// sees exactly the operands the general path would give it.
struct FlatOperands {
  Small<const Bitmap*> positive, negative, arms;
  Small<std::span<const Bitmap* const>> groups;
};

// False if a tag is no longer live (the general path then reports which).
bool Resolve(const internal::FlatAnd& f, const Version& v, FlatOperands* o) {
  const StateSource source(v);
  for (TagId t : f.positive) {
    const Bitmap* b = source.TagBitmap(t);
    if (b == nullptr) return false;
    o->positive.push_back(b);
  }
  for (TagId t : f.negative) {
    const Bitmap* b = source.TagBitmap(t);
    if (b == nullptr) return false;
    o->negative.push_back(b);
  }
  for (TagId t : f.arms) {
    const Bitmap* b = source.TagBitmap(t);
    if (b == nullptr) return false;
    o->arms.push_back(b);
  }
  uint32_t begin = 0;
  for (uint32_t end : f.group_end) {
    o->groups.push_back(std::span<const Bitmap* const>(o->arms.data() + begin, end - begin));
    begin = end;
  }
  auto& pos = o->positive;  // insertion sort: stable, and a handful of operands
  for (size_t i = 1; i < pos.size(); ++i) {
    const Bitmap* x = pos[i];
    const uint64_t n = x->Cardinality();
    size_t j = i;
    for (; j > 0 && pos[j - 1]->Cardinality() > n; --j) pos[j] = pos[j - 1];
    pos[j] = x;
  }
  return true;
}

bool OnlyOnePositive(const FlatOperands& o) {
  return o.positive.size() == 1 && o.negative.empty() && o.groups.empty();
}

// A AND B, the commonest flat shape: two lookups, no operand vectors.
bool ResolvePair(const internal::FlatAnd& f, const Version& v, const Bitmap** a, const Bitmap** b) {
  const StateSource source(v);
  *a = source.TagBitmap(f.positive[0]);
  *b = source.TagBitmap(f.positive[1]);
  if (*a == nullptr || *b == nullptr) return false;
  if ((*b)->Cardinality() < (*a)->Cardinality()) std::swap(*a, *b);  // as Resolve orders them
  return true;
}

bool IsPair(const internal::FlatAnd& f) {
  return f.positive.size() == 2 && f.negative.empty() && f.arms.empty();
}

// The stored bitmaps of a flat OR, or false if a tag is no longer live.
bool ResolveOr(const std::vector<TagId>& tags, const Version& v, Small<const Bitmap*>* out) {
  const StateSource source(v);
  for (TagId t : tags) {
    const Bitmap* b = source.TagBitmap(t);
    if (b == nullptr) return false;
    out->push_back(b);
  }
  return true;
}

std::optional<uint64_t> CountFlat(const internal::FlatAnd& f, const Version& v) {
  if (IsPair(f)) {
    const Bitmap *a, *b;
    if (!ResolvePair(f, v, &a, &b)) return std::nullopt;
    return Bitmap::AndCardinality(*a, *b);
  }
  FlatOperands o;
  if (!Resolve(f, v, &o)) return std::nullopt;
  if (o.positive[0]->Cardinality() == 0) return 0;  // the smallest: an empty AND
  if (OnlyOnePositive(o)) return o.positive[0]->Cardinality();
  return Bitmap::AndOrAndNotCardinality(o.positive, o.groups, o.negative);
}

std::optional<Bitmap> RunFlat(const internal::FlatAnd& f, const Version& v) {
  if (IsPair(f)) {
    const Bitmap *a, *b;
    if (!ResolvePair(f, v, &a, &b)) return std::nullopt;
    return Bitmap::And(*a, *b);
  }
  FlatOperands o;
  if (!Resolve(f, v, &o)) return std::nullopt;
  if (o.positive[0]->Cardinality() == 0) return Bitmap();
  if (OnlyOnePositive(o)) return o.positive[0]->Copy();
  return Bitmap::AndOrAndNot(o.positive, o.groups, o.negative);
}

// Parses, binds against `v` and normalises.
absl::StatusOr<std::shared_ptr<CompiledQueryData>> CompileData(const Version& v,
                                                               std::string_view text,
                                                               const QueryOptions& options) {
  const Clock::time_point start = Clock::now();
  TI_ASSIGN_OR_RETURN(std::unique_ptr<query::AstNode> ast, query::ParseQuery(text, options));
  query::Expr bound;
  {
    CatalogResolver resolver(v.catalog, v.attributes, &v.segments);
    TI_ASSIGN_OR_RETURN(bound, query::Bind(text, *ast, resolver, options));
  }
  auto data = std::make_shared<CompiledQueryData>();
  data->text = std::string(text);
  data->options = options;
  data->normal_form = query::Normalize(std::move(bound), options.rewrites);
  data->flat = Flatten(data->normal_form);
  data->flat_or = FlattenOr(data->normal_form);
  data->compile_nanos = NanosSince(start);
  return data;
}

// The version a run of `d` works on.
absl::StatusOr<std::shared_ptr<const Version>> VersionFor(const CompiledQueryData& d) {
  if (d.pinned != nullptr) return d.pinned;
  std::shared_ptr<const Version> v = d.domain->Current();
  if (v == nullptr) {
    return absl::FailedPreconditionError(
        "query: the index this query was compiled for has been closed");
  }
  return v;
}

absl::StatusOr<Segment> RunOn(const CompiledQueryData& d, std::shared_ptr<const Version> v) {
  auto segment = std::make_shared<internal::SegmentData>();
  segment->index = d.index;
  std::optional<Bitmap> flat;
  if (d.flat) flat = RunFlat(*d.flat, *v);
  if (!d.flat_or.empty()) {
    Small<const Bitmap*> in;
    if (ResolveOr(d.flat_or, *v, &in)) {
      flat = in.size() == 2 ? Bitmap::Or(*in[0], *in[1]) : Bitmap::OrMany(in);
    }
  }
  if (flat) {
    segment->rows = *std::move(flat);
  } else {
    StateSource source(*v);
    TI_ASSIGN_OR_RETURN(query::PlanNode plan, query::Plan(d.normal_form, source));
    segment->rows = query::Execute(plan, v->universe());
  }
  segment->version = std::move(v);
  return internal::Access::MakeSegment(std::move(segment));
}

absl::StatusOr<uint64_t> CountOn(const CompiledQueryData& d, const Version& v) {
  if (d.flat) {
    if (std::optional<uint64_t> n = CountFlat(*d.flat, v)) return *n;
  }
  if (!d.flat_or.empty()) {
    Small<const Bitmap*> in;
    if (ResolveOr(d.flat_or, v, &in)) return Bitmap::OrManyCardinality(in);
  }
  StateSource source(v);
  TI_ASSIGN_OR_RETURN(query::PlanNode plan, query::Plan(d.normal_form, source));
  return query::ExecuteCount(plan, v.universe());
}

absl::StatusOr<Explanation> ExplainOn(const CompiledQueryData& d, const Version& v) {
  Explanation x;
  x.query = d.text;
  x.normal_form = d.normal_form.DebugString();
  x.compile_nanos = d.compile_nanos;
  StateSource source(v);
  Clock::time_point start = Clock::now();
  TI_ASSIGN_OR_RETURN(query::PlanNode plan, query::Plan(d.normal_form, source));
  x.plan_nanos = NanosSince(start);
  x.root = query::ExplainSkeleton(plan);
  start = Clock::now();
  Bitmap result = query::Execute(plan, v.universe(), &x.root);
  x.execute_nanos = NanosSince(start);
  x.count = result.Cardinality();
  return x;
}

std::string Micros(int64_t nanos) { return absl::StrFormat("%.1fus", nanos / 1000.0); }

void AppendNode(const ExplainNode& n, int depth, std::string* out) {
  out->append(static_cast<size_t>(depth) * 2, ' ');
  if (n.subtracted) *out += "AND-NOT ";
  *out += n.operation;
  if (!n.detail.empty()) absl::StrAppend(out, " ", n.detail);
  absl::StrAppend(out, "  est=", n.estimated);
  if (n.executed) {
    absl::StrAppend(out, " actual=", n.actual, " time=", Micros(n.nanos));
  } else {
    *out += " (skipped)";
  }
  *out += '\n';
  for (const ExplainNode& c : n.children) AppendNode(c, depth + 1, out);
}

}  // namespace

std::string Explanation::ToString() const {
  std::string out = absl::StrCat("query: ", query, "\nnormal form: ", normal_form, "\n");
  AppendNode(root, 0, &out);
  absl::StrAppend(&out, "count=", count, " compile=", Micros(compile_nanos),
                  " plan=", Micros(plan_nanos), " execute=", Micros(execute_nanos), "\n");
  return out;
}

// ---- CompiledQuery ------------------------------------------------------------

CompiledQuery::CompiledQuery(std::shared_ptr<const internal::CompiledQueryData> data)
    : data_(std::move(data)) {}
CompiledQuery::~CompiledQuery() = default;
CompiledQuery::CompiledQuery(const CompiledQuery&) = default;
CompiledQuery& CompiledQuery::operator=(const CompiledQuery&) = default;
CompiledQuery::CompiledQuery(CompiledQuery&&) noexcept = default;
CompiledQuery& CompiledQuery::operator=(CompiledQuery&&) noexcept = default;

absl::StatusOr<Segment> CompiledQuery::Run() const {
  return Guarded([&]() -> absl::StatusOr<Segment> {
    TI_ASSIGN_OR_RETURN(std::shared_ptr<const Version> v, VersionFor(*data_));
    return RunOn(*data_, std::move(v));
  });
}
absl::StatusOr<uint64_t> CompiledQuery::Count() const {
  return Guarded([&]() -> absl::StatusOr<uint64_t> {
    if (data_->pinned != nullptr) return CountOn(*data_, *data_->pinned);  // held by data_
    // A count keeps nothing of the version: read it without a pin.
    const internal::ReadGuard read(*data_->domain);
    if (read.version() == nullptr) return VersionFor(*data_).status();  // closed: its error
    return CountOn(*data_, *read.version());
  });
}
absl::StatusOr<Explanation> CompiledQuery::Explain() const {
  return Guarded([&]() -> absl::StatusOr<Explanation> {
    TI_ASSIGN_OR_RETURN(std::shared_ptr<const Version> v, VersionFor(*data_));
    return ExplainOn(*data_, *v);
  });
}
const std::string& CompiledQuery::text() const { return data_->text; }
std::string CompiledQuery::DebugString() const { return data_->normal_form.DebugString(); }

// ---- Index and Snapshot ------------------------------------------------------------

absl::StatusOr<CompiledQuery> Index::Compile(std::string_view text,
                                             const QueryOptions& options) const {
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  return Guarded([&]() -> absl::StatusOr<CompiledQuery> {
    TI_ASSIGN_OR_RETURN(auto data, CompileData(*state_->Pin(), text, options));
    data->index = this;
    data->domain = state_->domain;
    return internal::Access::MakeCompiledQuery(std::move(data));
  });
}

absl::StatusOr<CompiledQuery> Snapshot::Compile(std::string_view text,
                                                const QueryOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<CompiledQuery> {
    TI_ASSIGN_OR_RETURN(auto data, CompileData(*v_, text, options));
    data->index = index_;
    data->pinned = v_;
    return internal::Access::MakeCompiledQuery(std::move(data));
  });
}

absl::StatusOr<Segment> Snapshot::Query(std::string_view text, const QueryOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<Segment> {
    TI_ASSIGN_OR_RETURN(auto data, CompileData(*v_, text, options));
    data->index = index_;
    return RunOn(*data, v_);
  });
}

absl::StatusOr<uint64_t> Snapshot::Count(std::string_view text, const QueryOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<uint64_t> {
    TI_ASSIGN_OR_RETURN(auto data, CompileData(*v_, text, options));
    return CountOn(*data, *v_);
  });
}

absl::StatusOr<Explanation> Snapshot::Explain(std::string_view text,
                                              const QueryOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<Explanation> {
    TI_ASSIGN_OR_RETURN(auto data, CompileData(*v_, text, options));
    return ExplainOn(*data, *v_);
  });
}

Segment Snapshot::AllCustomers() const {
  auto data = std::make_shared<internal::SegmentData>();
  data->index = index_;
  data->version = v_;
  data->rows = v_->universe().Copy();
  return internal::Access::MakeSegment(std::move(data));
}

namespace {

absl::StatusOr<Segment> CheckedSegment(const Index* index, std::shared_ptr<const Version> v,
                                       Bitmap rows) {
  if (!rows.IsSubsetOf(v->universe())) {
    Bitmap outside = Bitmap::AndNot(rows, v->universe());
    return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer,
                       absl::StrCat("row ", outside.Minimum()),
                       absl::StrCat("segment: row ", outside.Minimum(), " is not a live customer"));
  }
  auto data = std::make_shared<internal::SegmentData>();
  data->index = index;
  data->version = std::move(v);
  data->rows = std::move(rows);
  return internal::Access::MakeSegment(std::move(data));
}

}  // namespace

absl::StatusOr<Segment> Snapshot::SegmentOfRows(std::span<const RowId> rows) const {
  return Guarded([&]() -> absl::StatusOr<Segment> {
    return CheckedSegment(index_, v_, Bitmap::FromIds(rows));
  });
}

absl::StatusOr<Segment> Snapshot::SegmentFromPortable(std::string_view blob) const {
  return Guarded([&]() -> absl::StatusOr<Segment> {
    TI_ASSIGN_OR_RETURN(
        Bitmap rows, Bitmap::PortableDeserialize(std::span<const char>(blob.data(), blob.size())));
    return CheckedSegment(index_, v_, std::move(rows));
  });
}

}  // namespace tagindex
