// Executor: plan -> bitmap or count. Stage 6 of the pipeline.
#ifndef TAGINDEX_QUERY_EXECUTOR_H_
#define TAGINDEX_QUERY_EXECUTOR_H_

#include <cstdint>

#include "bitmap/bitmap.h"
#include "query/planner.h"
#include "tagindex/query.h"

namespace tagindex::query {

// Evaluates `plan` into a new bitmap (the caller owns it; stored bitmaps are
// copied only when the whole result is one stored bitmap). If `explain` is
// not null it receives the executed tree with actual cardinalities and times
// (which costs an extra cardinality per node).
// May throw std::bad_alloc (CRoaring out of memory); the Index catches it.
Bitmap Execute(const PlanNode& plan, const Bitmap& universe, ExplainNode* explain = nullptr);

// The cardinality of `plan`, computing the last step of each AND/OR/XOR
// with a *_cardinality call instead of materialising it.
uint64_t ExecuteCount(const PlanNode& plan, const Bitmap& universe);

// The explain skeleton of a plan (estimates only, nothing executed).
ExplainNode ExplainSkeleton(const PlanNode& plan);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_EXECUTOR_H_
