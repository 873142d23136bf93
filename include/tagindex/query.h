// Segment queries: options, errors, Explain output and compiled queries.
//
// The language is documented in docs/query_language.md. In short:
//
//   高价值客户 AND 电子产品 AND NOT 流失风险
//   (兴趣:运动 OR 兴趣:户外) AND 购买频率 IN (高频, 中频)
//
// Entry points are on tagindex::Index (see index.h, "Queries"):
//   Index::Query(text)   -> Segment            the matching customers
//   Index::Count(text)   -> uint64_t           without building the segment
//   Index::Explain(text) -> Explanation        the plan, estimated vs actual
//   Index::Compile(text) -> CompiledQuery      parse + bind once, run many times
//
// Errors (absl::Status codes):
//   InvalidArgument    syntax error; a tag name in several categories; an
//                      operator that does not apply (`类别 >= 3`)
//   NotFound           unknown tag, category value or attribute
//   InvalidArgument    also: a literal of the wrong type for an attribute
//                      (`最近购买 > 12.5`), more decimals than its scale
//   ResourceExhausted  a limit of QueryOptions
//   FailedPrecondition a compiled query's tag was deleted since Compile
// Every error about a place in the text carries a QueryErrorLocation payload
// (GetQueryErrorLocation); unknown-tag errors carry their "did you mean"
// suggestions (GetUnknownTagSuggestions). Messages are one line:
// "query: line L, column C: problem"; the caret snippet is in the location
// payload. Every query error also carries an ErrorInfo (tagindex/errors.h):
// kind query_syntax (subject: the text at the error, up to the next space or
// parenthesis, at most 64 bytes), limit (subject: the QueryOptions field),
// unknown_tag / unknown_category / unknown_attribute (subject: the name;
// suggestions), ambiguous_name (candidates), bad_value (a literal).
#ifndef TAGINDEX_QUERY_H_
#define TAGINDEX_QUERY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tagindex/segment.h"

namespace tagindex {

class Index;

// Switches for the normaliser's rewrite rules. All on by default; tests turn
// them off to check that the optimised and plain evaluations agree.
struct QueryRewrites {
  // (a AND b) AND c -> AND(a, b, c); likewise OR and XOR.
  bool flatten = true;
  // NOT NOT x -> x.
  bool remove_double_negation = true;
  // x AND NONE -> NONE, x OR ALL -> ALL, x AND NOT x -> NONE, NOT ALL -> NONE, ...
  bool fold_constants = true;
  // a AND a -> a, a OR a -> a, a XOR a -> NONE.
  bool remove_duplicates = true;
};

// Options of one query. Every field has a safe default.
struct QueryOptions {
  // Longest accepted query text, in bytes.
  size_t max_query_bytes = 64 * 1024;
  // Deepest nesting of parentheses and NOT (values above 256 count as 256:
  // the pipeline's recursion must fit any thread's stack).
  uint32_t max_depth = 64;
  // Most operands (names and literals) in one query.
  uint32_t max_operands = 4096;
  // When true, an unknown tag name is the empty set instead of NotFound
  // (useful for dashboards over tags that may not exist yet).
  bool unknown_tags_are_empty = false;
  // The date `today` means in attribute predicates (`最近购买 < today - 90d`),
  // as days since 1970-01-01; unset: the current UTC date when the query is
  // compiled (a CompiledQuery keeps the date it was compiled with). Set it
  // for reproducible results.
  std::optional<int64_t> today;
  // Normaliser rules (for testing; leave on).
  QueryRewrites rewrites;
};

// Where in the query text an error is.
struct QueryErrorLocation {
  size_t offset = 0;  // byte offset into the query text
  size_t line = 1;    // 1-based
  size_t column = 1;  // 1-based, in code points
  // Two lines: the query line (cut to a window around the error) and a caret
  // under the problem, aligned for terminals (CJK characters are two cells).
  std::string snippet;
};

// The location payload of a query error, or nullopt if `status` has none.
std::optional<QueryErrorLocation> GetQueryErrorLocation(const absl::Status& status);

// The "did you mean" suggestions of an unknown-tag error (qualified as
// "category:name" where the name alone is ambiguous), in order, best first.
// Empty if `status` has none.
std::vector<std::string> GetUnknownTagSuggestions(const absl::Status& status);

// One node of an executed plan.
struct ExplainNode {
  // "TAG", "ALL", "NONE", "AND", "OR", "XOR", "NOT", "PREDICATE" (an
  // attribute range, detail "消费金额 >= 1000"); an AND operand that is
  // subtracted is marked by `subtracted` (AND-NOT).
  std::string operation;
  // The tag ("category:name") for TAG nodes; for an OR operand of an AND
  // that was fused into the AND's kernel (evaluated per chunk, never built,
  // so not executed on its own) "fused: ...".
  std::string detail;
  bool subtracted = false;
  uint64_t estimated = 0;  // cardinality the planner expected
  bool executed = false;   // false when skipped (an earlier operand was empty)
  uint64_t actual = 0;     // cardinality after execution (if executed)
  int64_t nanos = 0;       // wall time of this node including its children
  std::vector<ExplainNode> children;
};

// A query's plan with estimated and actual cardinalities and times.
struct Explanation {
  std::string query;        // the text
  std::string normal_form;  // the normalised expression, DebugString form
  ExplainNode root;
  uint64_t count = 0;         // the result's cardinality
  int64_t compile_nanos = 0;  // parse + bind + normalise
  int64_t plan_nanos = 0;
  int64_t execute_nanos = 0;
  // The plan as an indented tree, one node a line:
  //   AND  est=1200 actual=830 time=41.2us
  //     TAG 电子产品  est=5000 actual=5000 time=0.1us
  //     AND-NOT TAG 流失风险  est=900 actual=900 time=0.1us
  std::string ToString() const;
};

namespace internal {
struct Access;
struct CompiledQueryData;
}  // namespace internal

// A query parsed, bound and normalised once, to be run many times.
//
// Binding is done once: tag names are resolved to TagIds at Compile time
// (renaming a tag later does not change the query; deleting one makes later
// runs fail with FailedPrecondition). The data is read at each run: every
// run sees the index's current memberships and plans with current
// cardinalities.
//
// Each run pins the index's current version (Snapshot::Compile: the
// snapshot's) and works on it from start to end, never waiting for a
// writer. Count keeps nothing of the version, so it reads it without a pin
// (no lock, no shared counter: counts from many threads do not slow each
// other down, and do not keep one-row writes from being made in place).
// Lifetime: it may outlive the Index; runs after the Index is destroyed
// fail with FailedPrecondition (a snapshot's query keeps working).
// Thread safety: immutable; Run/Count/Explain may be called from many
// threads at once, concurrently with writes. Copying is cheap (shared).
//
// Cost: a query that is one AND of tags, NOT tags and ORs of tags (with at
// least one plain tag), or a single tag — most segment counts — is
// recognised at Compile time and runs without building a plan: Count
// allocates nothing and its fixed cost is a version pin and the kernel call
// (~50 ns for an AND found empty from the chunk keys, bench/query_benchmark
// BM_Query_CountEmpty). Other shapes are planned at each run.
class CompiledQuery {
 public:
  ~CompiledQuery();
  CompiledQuery(const CompiledQuery&);
  CompiledQuery& operator=(const CompiledQuery&);
  CompiledQuery(CompiledQuery&&) noexcept;
  CompiledQuery& operator=(CompiledQuery&&) noexcept;

  // The matching customers now.
  absl::StatusOr<Segment> Run() const;
  // Their number, without materialising where the plan allows.
  absl::StatusOr<uint64_t> Count() const;
  // Runs the query and reports its plan.
  absl::StatusOr<Explanation> Explain() const;

  const std::string& text() const;
  // The normal form, e.g. "(AND 高价值客户 电子产品 (NOT 流失风险))".
  std::string DebugString() const;

 private:
  friend struct internal::Access;  // the library itself (src/index/access.h)
  explicit CompiledQuery(std::shared_ptr<const internal::CompiledQueryData> data);
  std::shared_ptr<const internal::CompiledQueryData> data_;
};

}  // namespace tagindex

#endif  // TAGINDEX_QUERY_H_
