#include "query/executor.h"

#include <chrono>
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

  // Intersects the positive operands (ascending) and subtracts the rest,
  // stopping at the first empty intermediate. With `count` set, the last
  // step is a *_cardinality call and nothing of it is materialised.
  Value AndSteps(const PlanNode& n, ExplainNode* x, std::optional<uint64_t>* count) {
    const size_t steps = n.children.size();
    Value acc = Eval(n.children[0], Child(x, 0));
    for (size_t i = 1; i < steps; ++i) {
      if (acc.get().IsEmpty()) break;
      const PlanNode& c = n.children[i];
      Value v = Eval(c, Child(x, i));
      if (count != nullptr && i + 1 == steps) {
        *count = c.subtracted ? Bitmap::AndNotCardinality(acc.get(), v.get())
                              : Bitmap::AndCardinality(acc.get(), v.get());
        return acc;
      }
      if (acc.owned()) {
        if (c.subtracted) {
          acc.mutable_owned().AndNotInPlace(v.get());
        } else {
          acc.mutable_owned().AndInPlace(v.get());
        }
      } else {
        acc = Value::Own(c.subtracted ? Bitmap::AndNot(acc.get(), v.get())
                                      : Bitmap::And(acc.get(), v.get()));
      }
    }
    if (count != nullptr) *count = acc.get().Cardinality();
    return acc;
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
