// Index's query entry points and CompiledQuery: the glue between the query
// pipeline (src/query, which knows nothing of the index) and the catalog.
#include <chrono>
#include <mutex>
#include <new>
#include <shared_mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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
using ReadLock = std::shared_lock<std::shared_mutex>;
using internal::CatalogResolver;
using internal::CompiledQueryData;
using internal::IndexState;
using internal::StateSource;
using internal::TagEntry;

int64_t NanosSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
}

// CRoaring's allocation failures surface as std::bad_alloc from Bitmap; no
// exception may cross the public API.
template <typename Fn>
auto Guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory, "query",
                       "query: out of memory");
  }
}

absl::StatusOr<std::shared_ptr<const CompiledQueryData>> CompileData(const Index& index,
                                                                     std::string_view text,
                                                                     const QueryOptions& options) {
  const Clock::time_point start = Clock::now();
  TI_ASSIGN_OR_RETURN(std::unique_ptr<query::AstNode> ast, query::ParseQuery(text, options));
  const IndexState& state = index.state_for_internal_use();
  query::Expr bound;
  {
    ReadLock lock(state.mu);
    CatalogResolver resolver(state.catalog, state.attributes, &state.segments);
    TI_ASSIGN_OR_RETURN(bound, query::Bind(text, *ast, resolver, options));
  }
  auto data = std::make_shared<CompiledQueryData>();
  data->index = &index;
  data->text = std::string(text);
  data->options = options;
  data->normal_form = query::Normalize(std::move(bound), options.rewrites);
  data->compile_nanos = NanosSince(start);
  return data;
}

absl::StatusOr<Segment> RunData(const CompiledQueryData& d) {
  const IndexState& state = d.index->state_for_internal_use();
  auto segment = std::make_shared<internal::SegmentData>();
  segment->index = d.index;
  {
    ReadLock lock(state.mu);
    StateSource source(state);
    TI_ASSIGN_OR_RETURN(query::PlanNode plan, query::Plan(d.normal_form, source));
    segment->rows = query::Execute(plan, state.universe);
  }
  return Segment(std::move(segment));
}

absl::StatusOr<uint64_t> CountData(const CompiledQueryData& d) {
  const IndexState& state = d.index->state_for_internal_use();
  ReadLock lock(state.mu);
  StateSource source(state);
  TI_ASSIGN_OR_RETURN(query::PlanNode plan, query::Plan(d.normal_form, source));
  return query::ExecuteCount(plan, state.universe);
}

absl::StatusOr<Explanation> ExplainData(const CompiledQueryData& d) {
  const IndexState& state = d.index->state_for_internal_use();
  Explanation x;
  x.query = d.text;
  x.normal_form = d.normal_form.DebugString();
  x.compile_nanos = d.compile_nanos;
  ReadLock lock(state.mu);
  StateSource source(state);
  Clock::time_point start = Clock::now();
  TI_ASSIGN_OR_RETURN(query::PlanNode plan, query::Plan(d.normal_form, source));
  x.plan_nanos = NanosSince(start);
  x.root = query::ExplainSkeleton(plan);
  start = Clock::now();
  Bitmap result = query::Execute(plan, state.universe, &x.root);
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
  return Guarded([&] { return RunData(*data_); });
}
absl::StatusOr<uint64_t> CompiledQuery::Count() const {
  return Guarded([&] { return CountData(*data_); });
}
absl::StatusOr<Explanation> CompiledQuery::Explain() const {
  return Guarded([&] { return ExplainData(*data_); });
}
const std::string& CompiledQuery::text() const { return data_->text; }
std::string CompiledQuery::DebugString() const { return data_->normal_form.DebugString(); }

// ---- Index ---------------------------------------------------------------------

absl::StatusOr<CompiledQuery> Index::Compile(std::string_view text,
                                             const QueryOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<CompiledQuery> {
    TI_ASSIGN_OR_RETURN(auto data, CompileData(*this, text, options));
    return CompiledQuery(std::move(data));
  });
}

absl::StatusOr<Segment> Index::Query(std::string_view text, const QueryOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<Segment> {
    TI_ASSIGN_OR_RETURN(auto data, CompileData(*this, text, options));
    return RunData(*data);
  });
}

absl::StatusOr<uint64_t> Index::Count(std::string_view text, const QueryOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<uint64_t> {
    TI_ASSIGN_OR_RETURN(auto data, CompileData(*this, text, options));
    return CountData(*data);
  });
}

absl::StatusOr<Explanation> Index::Explain(std::string_view text,
                                           const QueryOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<Explanation> {
    TI_ASSIGN_OR_RETURN(auto data, CompileData(*this, text, options));
    return ExplainData(*data);
  });
}

Segment Index::AllCustomers() const {
  auto data = std::make_shared<internal::SegmentData>();
  data->index = this;
  ReadLock lock(state_->mu);
  data->rows = state_->universe.Copy();
  return Segment(std::move(data));
}

namespace {

absl::StatusOr<Segment> CheckedSegment(const Index* index, const IndexState& state, Bitmap rows) {
  ReadLock lock(state.mu);
  if (!rows.IsSubsetOf(state.universe)) {
    Bitmap outside = Bitmap::AndNot(rows, state.universe);
    return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer,
                       absl::StrCat("row ", outside.Minimum()),
                       absl::StrCat("segment: row ", outside.Minimum(), " is not a live customer"));
  }
  auto data = std::make_shared<internal::SegmentData>();
  data->index = index;
  data->rows = std::move(rows);
  return Segment(std::move(data));
}

}  // namespace

absl::StatusOr<Segment> Index::SegmentOfRows(std::span<const RowId> rows) const {
  return Guarded([&]() -> absl::StatusOr<Segment> {
    return CheckedSegment(this, *state_, Bitmap::FromIds(rows));
  });
}

absl::StatusOr<Segment> Index::SegmentFromPortable(std::string_view blob) const {
  return Guarded([&]() -> absl::StatusOr<Segment> {
    TI_ASSIGN_OR_RETURN(
        Bitmap rows, Bitmap::PortableDeserialize(std::span<const char>(blob.data(), blob.size())));
    return CheckedSegment(this, *state_, std::move(rows));
  });
}

}  // namespace tagindex
