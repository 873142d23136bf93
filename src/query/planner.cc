#include "query/planner.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex::query {
namespace {

using Op = PlanNode::Op;

class Planner {
 public:
  explicit Planner(const BitmapSource& source)
      : source_(source), universe_size_(source.Universe().Cardinality()) {}

  absl::StatusOr<PlanNode> PlanExpr(const Expr& e) {
    PlanNode n;
    switch (e.kind) {
      case Expr::Kind::kTag: {
        const Bitmap* b = source_.TagBitmap(e.tag);
        if (b == nullptr) {
          return util::Error(
              absl::StatusCode::kFailedPrecondition,
              absl::StrCat("query: tag ", e.label, " (id ", e.tag.value,
                           ") was deleted after the query was compiled; compile it again"),
              util::IdInfo(ErrorKind::kUnknownTag, "tag id", e.tag.value));
        }
        n.op = Op::kTag;
        n.bitmap = b;
        n.label = &e.label;
        n.estimate = b->Cardinality();
        return n;
      }
      case Expr::Kind::kPredicate:
        return PlanPredicate(e);
      case Expr::Kind::kAll:
        n.op = Op::kAll;
        n.bitmap = &source_.Universe();
        n.estimate = universe_size_;
        return n;
      case Expr::Kind::kNone:
        n.op = Op::kNone;
        return n;
      case Expr::Kind::kNot: {
        n.op = Op::kNot;
        TI_ASSIGN_OR_RETURN(PlanNode child, PlanExpr(e.children[0]));
        n.estimate = universe_size_ - std::min(universe_size_, child.estimate);
        n.children.push_back(std::move(child));
        return n;
      }
      case Expr::Kind::kAnd:
        return PlanAnd(e);
      case Expr::Kind::kOr:
      case Expr::Kind::kXor: {
        n.op = e.kind == Expr::Kind::kOr ? Op::kOr : Op::kXor;
        uint64_t sum = 0;
        for (const Expr& c : e.children) {
          TI_ASSIGN_OR_RETURN(PlanNode child, PlanExpr(c));
          sum += child.estimate;
          n.children.push_back(std::move(child));
        }
        n.estimate = std::min(sum, universe_size_);
        return n;
      }
    }
    return absl::InternalError("query: unknown expression kind");
  }

 private:
  absl::StatusOr<PlanNode> PlanPredicate(const Expr& e) {
    const Bsi* bsi = source_.AttributeColumn(e.attribute);
    if (bsi == nullptr) {
      return util::Error(
          absl::StatusCode::kFailedPrecondition,
          absl::StrCat("query: the attribute of ", e.label, " (id ", e.attribute.value,
                       ") was dropped after the query was compiled; compile it again"),
          util::IdInfo(ErrorKind::kUnknownAttribute, "attribute id", e.attribute.value));
    }
    PlanNode n;
    n.op = Op::kPredicate;
    n.bsi = bsi;
    n.intervals = &e.intervals;
    n.label = &e.label;
    // Uniform guess over the column's value domain: [-2^bits, 2^bits - 1],
    // or [0, 2^bits - 1] when no value is negative.
    const long double hi = std::ldexp(1.0L, bsi->bits()) - 1;
    const long double lo = bsi->sign().IsEmpty() ? 0.0L : -std::ldexp(1.0L, bsi->bits());
    long double covered = 0;
    for (const Bsi::Interval& iv : e.intervals) {
      const long double a = std::max<long double>(lo, static_cast<long double>(iv.lo));
      const long double b = std::min<long double>(hi, static_cast<long double>(iv.hi));
      if (a <= b) covered += b - a + 1;
    }
    const uint64_t count = bsi->existence().Cardinality();
    const long double fraction = std::min<long double>(1.0L, covered / (hi - lo + 1));
    n.estimate = static_cast<uint64_t>(static_cast<long double>(count) * fraction);
    return n;
  }

  absl::StatusOr<PlanNode> PlanAnd(const Expr& e) {
    PlanNode n;
    n.op = Op::kAnd;
    std::vector<PlanNode> positive, negative;
    for (const Expr& c : e.children) {
      if (c.kind == Expr::Kind::kNot) {
        TI_ASSIGN_OR_RETURN(PlanNode child, PlanExpr(c.children[0]));
        child.subtracted = true;
        negative.push_back(std::move(child));
      } else {
        TI_ASSIGN_OR_RETURN(PlanNode child, PlanExpr(c));
        positive.push_back(std::move(child));
      }
    }
    if (positive.empty()) {
      PlanNode all;
      all.op = Op::kAll;
      all.bitmap = &source_.Universe();
      all.estimate = universe_size_;
      positive.push_back(std::move(all));
    }
    std::stable_sort(positive.begin(), positive.end(),
                     [](const PlanNode& a, const PlanNode& b) { return a.estimate < b.estimate; });
    std::stable_sort(negative.begin(), negative.end(),
                     [](const PlanNode& a, const PlanNode& b) { return a.estimate > b.estimate; });
    n.estimate = positive.front().estimate;
    MarkFusedOrs(positive);
    for (PlanNode& p : positive) n.children.push_back(std::move(p));
    for (PlanNode& p : negative) n.children.push_back(std::move(p));
    return n;
  }

  // A = B1 OR ... OR Bk over stored bitmaps, beside another positive
  // operand, is evaluated per chunk inside the AND: only the chunks the
  // other operands share are looked at, and the OR is never built (it won
  // in every measured case: bench/query_benchmark BM_Query_*AOr).
  static void MarkFusedOrs(std::vector<PlanNode>& positive) {
    bool other = false;
    for (const PlanNode& p : positive) other = other || p.op != Op::kOr;
    if (!other) return;
    for (PlanNode& p : positive) {
      if (p.op != Op::kOr || p.children.size() < 2) continue;
      bool leaves = true;
      for (const PlanNode& c : p.children)
        leaves = leaves && (c.op == Op::kTag || c.op == Op::kAll);
      p.fused = leaves;
    }
  }

  const BitmapSource& source_;
  const uint64_t universe_size_;
};

const char* OpName(Op op) {
  switch (op) {
    case Op::kTag:
      return "TAG";
    case Op::kAll:
      return "ALL";
    case Op::kNone:
      return "NONE";
    case Op::kAnd:
      return "AND";
    case Op::kOr:
      return "OR";
    case Op::kXor:
      return "XOR";
    case Op::kNot:
      return "NOT";
    case Op::kPredicate:
      return "PREDICATE";
  }
  return "?";
}

void AppendPlan(const PlanNode& n, int indent, std::string* out) {
  out->append(static_cast<size_t>(indent) * 2, ' ');
  if (n.subtracted) *out += "AND-NOT ";
  if (n.fused) *out += "FUSED ";
  *out += OpName(n.op);
  if (n.label != nullptr) absl::StrAppend(out, " ", *n.label);
  absl::StrAppend(out, " est=", n.estimate, "\n");
  for (const PlanNode& c : n.children) AppendPlan(c, indent + 1, out);
}

}  // namespace

std::string PlanNode::DebugString() const {
  std::string out;
  AppendPlan(*this, 0, &out);
  return out;
}

absl::StatusOr<PlanNode> Plan(const Expr& e, const BitmapSource& source) {
  return Planner(source).PlanExpr(e);
}

}  // namespace tagindex::query
