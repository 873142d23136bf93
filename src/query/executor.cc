#include "query/executor.h"

#include <chrono>
#include <deque>
#include <optional>
#include <vector>

namespace tagindex::query {
namespace {

using Op = PlanNode::Op;
using Clock = std::chrono::steady_clock;

// A node's value: a stored bitmap borrowed from the index, or an owned
// intermediate. Borrowing is what keeps stored tags from being copied.
class Value {
 public:
  static Value Borrow(const Bitmap* b) {
    Value v;
    v.borrowed_ = b;
    return v;
  }
  static Value Own(Bitmap b) {
    Value v;
    v.owned_ = std::move(b);
    return v;
  }
  const Bitmap& get() const { return borrowed_ != nullptr ? *borrowed_ : owned_; }
  bool owned() const { return borrowed_ == nullptr; }
  Bitmap Take() && { return owned() ? std::move(owned_) : borrowed_->Copy(); }
  Bitmap& mutable_owned() { return owned_; }

 private:
  const Bitmap* borrowed_ = nullptr;
  Bitmap owned_;
};

class Executor {
 public:
  explicit Executor(const Bitmap& universe) : universe_(universe) {}

  Value Eval(const PlanNode& n, ExplainNode* x) {
    const Clock::time_point start = x != nullptr ? Clock::now() : Clock::time_point();
    Value v = EvalNode(n, x);
    if (x != nullptr) {
      x->executed = true;
      x->actual = v.get().Cardinality();
      x->nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    }
    return v;
  }

  uint64_t Count(const PlanNode& n) {
    switch (n.op) {
      case Op::kTag:
        return n.bitmap->Cardinality();
      case Op::kAll:
        return universe_.Cardinality();
      case Op::kNone:
        return 0;
      case Op::kPredicate:
        return n.bsi->SelectCount(*n.intervals);
      case Op::kNot:
        // Operands are subsets of the universe, so |U \ x| = |U| - |x|.
        return universe_.Cardinality() - Count(n.children[0]);
      case Op::kAnd: {
        std::optional<uint64_t> count;
        AndSteps(n, nullptr, &count);
        return *count;
      }
      case Op::kOr:
      case Op::kXor: {
        if (n.children.size() == 2) {
          Value a = Eval(n.children[0], nullptr);
          Value b = Eval(n.children[1], nullptr);
          return n.op == Op::kOr ? Bitmap::OrCardinality(a.get(), b.get())
                                 : Bitmap::XorCardinality(a.get(), b.get());
        }
        return Eval(n, nullptr).get().Cardinality();
      }
    }
    return 0;
  }

 private:
  ExplainNode* Child(ExplainNode* x, size_t i) { return x != nullptr ? &x->children[i] : nullptr; }

  Value EvalNode(const PlanNode& n, ExplainNode* x) {
    switch (n.op) {
      case Op::kTag:
      case Op::kAll:
        return Value::Borrow(n.bitmap);
      case Op::kNone:
        return Value::Own(Bitmap());
      case Op::kPredicate:
        return Value::Own(n.bsi->Select(*n.intervals));
      case Op::kNot: {
        Value c = Eval(n.children[0], Child(x, 0));
        return Value::Own(Bitmap::AndNot(universe_, c.get()));
      }
      case Op::kAnd:
        return AndSteps(n, x, nullptr);
      case Op::kOr:
      case Op::kXor: {
        std::vector<Value> values;
        values.reserve(n.children.size());
        std::vector<const Bitmap*> inputs;
        for (size_t i = 0; i < n.children.size(); ++i) {
          values.push_back(Eval(n.children[i], Child(x, i)));
        }
        for (const Value& v : values) inputs.push_back(&v.get());
        if (inputs.size() == 2) {
          return Value::Own(n.op == Op::kOr ? Bitmap::Or(*inputs[0], *inputs[1])
                                            : Bitmap::Xor(*inputs[0], *inputs[1]));
        }
        return Value::Own(n.op == Op::kOr ? Bitmap::OrMany(inputs) : Bitmap::XorMany(inputs));
      }
    }
    return Value::Own(Bitmap());
  }

  // Evaluates the operands in plan order (positives ascending, then the
  // subtracted ones) and combines runs of them in one fused pass over the
  // chunks (Bitmap::AndAndNot / AndAndNotCardinality: no intermediate
  // bitmap, SIMD kernels). Stops at the first empty intermediate: an empty
  // positive operand ends the AND at once, and before an operand that is
  // itself a computation (not a stored tag) the operands so far are combined
  // and checked, so no work is spent on a subtree whose result cannot matter.
  // With `count` set, nothing of the last combination is materialised.
  Value AndSteps(const PlanNode& n, ExplainNode* x, std::optional<uint64_t>* count) {
    std::deque<Value> held;  // deque: pointers to held values stay valid
    std::vector<const Bitmap*> pos, neg;
    auto empty = [&] {
      if (count != nullptr) *count = 0;
      return Value::Own(Bitmap());
    };
    for (size_t i = 0; i < n.children.size(); ++i) {
      const PlanNode& c = n.children[i];
      if (!c.IsLeaf() && !pos.empty() && pos.size() + neg.size() >= 2) {
        held.push_back(Value::Own(Bitmap::AndAndNot(pos, neg)));
        pos.assign(1, &held.back().get());
        neg.clear();
        if (pos[0]->IsEmpty()) return empty();
      }
      if (c.op == Op::kPredicate) {
        // The running intersection (one bitmap now, or nothing yet) is the
        // filter: the slices are only walked in its chunks and rows.
        const Bitmap* filter = pos.empty() ? nullptr : pos[0];
        const bool last = i + 1 == n.children.size();
        if (count != nullptr && last && !c.subtracted && filter != nullptr && x == nullptr) {
          *count = c.bsi->SelectCount(*c.intervals, filter);
          return Value::Own(Bitmap());
        }
        held.push_back(EvalPredicate(c, Child(x, i), filter));
        const Bitmap* b = &held.back().get();
        if (c.subtracted) {
          neg.push_back(b);
        } else {
          if (b->IsEmpty()) return empty();
          pos.assign(1, b);  // a subset of the filter: it replaces it
        }
        continue;
      }
      held.push_back(Eval(c, Child(x, i)));
      const Bitmap* b = &held.back().get();
      if (c.subtracted) {
        neg.push_back(b);
      } else {
        if (b->IsEmpty()) return empty();
        pos.push_back(b);
      }
    }
    if (pos.empty()) pos.push_back(&universe_);  // the planner adds ALL; be safe
    if (count != nullptr) {
      *count = pos.size() == 1 && neg.empty() ? pos[0]->Cardinality()
                                              : Bitmap::AndAndNotCardinality(pos, neg);
      return Value::Own(Bitmap());
    }
    if (pos.size() == 1 && neg.empty()) {
      for (Value& v : held) {
        if (&v.get() == pos[0]) return std::move(v);
      }
      return Value::Borrow(pos[0]);  // the universe
    }
    return Value::Own(Bitmap::AndAndNot(pos, neg));
  }

  // A predicate restricted to `filter` (null: every row with a value).
  Value EvalPredicate(const PlanNode& n, ExplainNode* x, const Bitmap* filter) {
    const Clock::time_point start = x != nullptr ? Clock::now() : Clock::time_point();
    Value v = Value::Own(n.bsi->Select(*n.intervals, filter));
    if (x != nullptr) {
      x->executed = true;
      x->actual = v.get().Cardinality();
      x->nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    }
    return v;
  }

  const Bitmap& universe_;
};

}  // namespace

ExplainNode ExplainSkeleton(const PlanNode& plan) {
  ExplainNode x;
  switch (plan.op) {
    case Op::kTag:
      x.operation = "TAG";
      break;
    case Op::kAll:
      x.operation = "ALL";
      break;
    case Op::kNone:
      x.operation = "NONE";
      break;
    case Op::kAnd:
      x.operation = "AND";
      break;
    case Op::kOr:
      x.operation = "OR";
      break;
    case Op::kXor:
      x.operation = "XOR";
      break;
    case Op::kNot:
      x.operation = "NOT";
      break;
    case Op::kPredicate:
      x.operation = "PREDICATE";
      break;
  }
  if (plan.label != nullptr) x.detail = *plan.label;
  x.subtracted = plan.subtracted;
  x.estimated = plan.estimate;
  for (const PlanNode& c : plan.children) x.children.push_back(ExplainSkeleton(c));
  return x;
}

Bitmap Execute(const PlanNode& plan, const Bitmap& universe, ExplainNode* explain) {
  return Executor(universe).Eval(plan, explain).Take();
}

uint64_t ExecuteCount(const PlanNode& plan, const Bitmap& universe) {
  return Executor(universe).Count(plan);
}

}  // namespace tagindex::query
