#include "query/executor.h"

#include <chrono>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"

namespace tagindex::query {
namespace {

using Op = PlanNode::Op;
using Clock = std::chrono::steady_clock;

// A node's value: a stored bitmap borrowed from the index, an owned
// intermediate, or nothing (a count was taken instead). Borrowing is what
// keeps stored tags from being copied; nothing is allocated for a borrow.
class Value {
 public:
  static Value Borrow(const Bitmap* b) {
    Value v;
    v.borrowed_ = b;
    return v;
  }
  static Value Own(Bitmap b) {
    Value v;
    v.owned_.emplace(std::move(b));
    return v;
  }
  const Bitmap& get() const { return borrowed_ != nullptr ? *borrowed_ : *owned_; }
  bool owned() const { return borrowed_ == nullptr; }
  Bitmap Take() && { return owned() ? std::move(*owned_) : borrowed_->Copy(); }

 private:
  const Bitmap* borrowed_ = nullptr;
  std::optional<Bitmap> owned_;
};

template <typename T>
using Small = absl::InlinedVector<T, 8>;

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
        if (n.op == Op::kOr) {  // counted chunk by chunk, never built
          Small<Value> values;
          Small<const Bitmap*> inputs;
          values.reserve(n.children.size());
          for (const PlanNode& c : n.children) values.push_back(Eval(c, nullptr));
          for (const Value& v : values) inputs.push_back(&v.get());
          return Bitmap::OrManyCardinality(inputs);
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
  // chunks (kernels: no intermediate bitmap, SIMD). Stops at the first empty
  // intermediate: an empty positive operand ends the AND at once, and before
  // an operand that is itself a computation (not a stored tag) the operands
  // so far are combined and checked, so no work is spent on a subtree whose
  // result cannot matter. Fused OR operands (planner) go to the last
  // combination as OR groups, evaluated chunk by chunk, never built. With
  // `count` set, nothing of the last combination is materialised. Nothing
  // here allocates unless an intermediate is materialised or there are more
  // than 8 operands.
  Value AndSteps(const PlanNode& n, ExplainNode* x, std::optional<uint64_t>* count) {
    Small<Value> held;                        // reserved: pointers to held values stay valid
    held.reserve(2 * n.children.size() + 1);  // a child and an intermediate each
    Small<const Bitmap*> pos, neg, arms;
    Small<std::pair<size_t, size_t>> group_ranges;
    auto empty = [&] {
      if (count != nullptr) {
        *count = 0;
        return Value();
      }
      return Value::Own(Bitmap());
    };
    for (size_t i = 0; i < n.children.size(); ++i) {
      const PlanNode& c = n.children[i];
      if (c.fused) {
        const size_t begin = arms.size();
        for (const PlanNode& arm : c.children) arms.push_back(arm.bitmap);
        group_ranges.push_back({begin, arms.size()});
        continue;
      }
      if (!c.IsLeaf() && !pos.empty() && pos.size() + neg.size() >= 2) {
        held.push_back(Value::Own(Bitmap::AndAndNot(pos, neg)));
        pos.assign(1, &held.back().get());
        neg.clear();
        if (pos[0]->IsEmpty()) return empty();
      }
      if (c.op == Op::kPredicate) {
        // The running intersection is the filter: the slices are only walked
        // in its chunks and rows. It must be one bitmap, so the operands so
        // far (two or more tags, or any subtracted) are combined first.
        if (!pos.empty() && pos.size() + neg.size() >= 2) {
          held.push_back(Value::Own(Bitmap::AndAndNot(pos, neg)));
          pos.assign(1, &held.back().get());
          neg.clear();
          if (pos[0]->IsEmpty()) return empty();
        }
        const Bitmap* filter = pos.empty() ? nullptr : pos[0];
        const bool last = i + 1 == n.children.size();
        if (count != nullptr && last && !c.subtracted && filter != nullptr && neg.empty() &&
            group_ranges.empty() && x == nullptr) {
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
    Small<std::span<const Bitmap* const>> groups;
    for (const auto& [begin, end] : group_ranges) {
      groups.push_back(std::span<const Bitmap* const>(arms.data() + begin, end - begin));
    }
    if (count != nullptr) {
      *count = pos.size() == 1 && neg.empty() && groups.empty()
                   ? pos[0]->Cardinality()
                   : Bitmap::AndOrAndNotCardinality(pos, groups, neg);
      return Value();
    }
    if (pos.size() == 1 && neg.empty() && groups.empty()) {
      for (Value& v : held) {
        if (&v.get() == pos[0]) return std::move(v);
      }
      return Value::Borrow(pos[0]);  // the universe
    }
    return Value::Own(Bitmap::AndOrAndNot(pos, groups, neg));
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
  if (plan.fused) x.detail = "fused: evaluated per chunk inside the AND, never materialised";
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
