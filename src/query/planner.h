// Planner: normal form -> plan. Stage 5 of the pipeline.
//
// The plan orders AND operands by ascending cardinality (exact for stored
// tags, cached per bitmap version), turns NOT operands of an AND into AND-NOT
// steps, marks OR operands of an AND over stored bitmaps as fused (evaluated
// one chunk at a time over the chunks of the AND's other operands), and
// points at the stored bitmaps without copying them.
#ifndef TAGINDEX_QUERY_PLANNER_H_
#define TAGINDEX_QUERY_PLANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bitmap/bitmap.h"
#include "bitmap/bsi.h"
#include "query/expr.h"

namespace tagindex::query {

// Where the planner finds the data. Implemented in src/index; the caller
// holds the index's read lock from planning until execution ends, since the
// plan borrows the bitmaps.
class BitmapSource {
 public:
  virtual ~BitmapSource() = default;
  // The stored bitmap of a live tag, or nullptr if the tag was deleted.
  virtual const Bitmap* TagBitmap(TagId tag) const = 0;
  // Every live customer.
  virtual const Bitmap& Universe() const = 0;
  // The column of a live attribute, or nullptr if it was dropped.
  virtual const Bsi* AttributeColumn(AttributeId /*attribute*/) const { return nullptr; }
};

struct PlanNode {
  enum class Op { kTag, kAll, kNone, kAnd, kOr, kXor, kNot, kPredicate };
  Op op = Op::kNone;
  // kPredicate: the column and the value intervals (borrowed from the
  // expression). Evaluated by walking the slices, restricted to the running
  // intersection when it is an AND operand after others.
  const Bsi* bsi = nullptr;
  const std::vector<Bsi::Interval>* intervals = nullptr;
  const Bitmap* bitmap = nullptr;      // kTag and kAll: borrowed, never copied
  const std::string* label = nullptr;  // kTag: points into the expression
  bool subtracted = false;             // an operand of AND applied as AND-NOT
  // kOr operand of an AND whose operands are all stored bitmaps, evaluated
  // chunk by chunk inside the AND's fused kernel (never materialised).
  bool fused = false;
  // Expected cardinality: exact for kTag/kAll/kNone; for kPredicate the
  // column's count times the fraction of its value domain [min bound, max
  // bound of its width] the intervals cover (a uniform-values guess).
  uint64_t estimate = 0;
  // kAnd: operands to intersect, ascending estimate, then operands to
  // subtract (subtracted = true), descending estimate. An AND with no
  // positive operand starts from kAll. kOr/kXor: operands. kNot: one.
  std::vector<PlanNode> children;

  // Stored bitmaps (a predicate is computed, so it is not a leaf).
  bool IsLeaf() const { return op == Op::kTag || op == Op::kAll || op == Op::kNone; }
  // Indented tree with estimates, for tests and debugging.
  std::string DebugString() const;
};

// Plans `e`, which must outlive the plan (labels point into it). Errors:
// FailedPrecondition if a tag of `e` was deleted.
absl::StatusOr<PlanNode> Plan(const Expr& e, const BitmapSource& source);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_PLANNER_H_
