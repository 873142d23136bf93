// Modern CRoaring side of bench/compare.sh. Built by compare.sh against the
// CRoaring sources bundled in the npm package `roaring` (never committed,
// never linked with tagindex: their symbols clash with Debian's libroaring).
// CRoaring dispatches to its AVX2 / AVX-512 kernels at run time.
//
//   compare_croaring DATA QUERIES [--reps N] [--budget S]
//
// What its users write: roaring_bitmap_of_ptr + run_optimize per tag;
// and_cardinality; and then andnot_cardinality for three-way; or_many then
// and_cardinality; successive and_inplace for wide ANDs.
#include <cstdint>
#include <string>
#include <vector>

#include "compare_data.h"
#include "roaring.h"

#if defined(__cplusplus) && !defined(ROARING_COMPARE_NO_USING)
using namespace ::roaring::api;  // NOLINT: the C API under its C++ namespace
#endif

namespace {

using compare::Die;

bool Sum(uint32_t value, void* param) {
  auto* acc = static_cast<uint64_t*>(param);
  acc[0] += 1;
  acc[1] += value;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const compare::Args args = compare::ParseArgs(argc, argv);
  const compare::Data data = compare::ReadData(args.data);
  const std::vector<compare::Query> queries = compare::ReadQueries(args.queries, data.tags.size());
  const std::string system = "croaring";

  std::vector<roaring_bitmap_t*> bm(data.tags.size());
  const double load_s = compare::Seconds([&] {
    for (size_t t = 0; t < data.tags.size(); ++t) {
      bm[t] = roaring_bitmap_of_ptr(data.tags[t].size(), data.tags[t].data());
      if (bm[t] == nullptr) Die("out of memory");
      roaring_bitmap_run_optimize(bm[t]);
      roaring_bitmap_shrink_to_fit(bm[t]);
    }
  });
  // Without run_optimize (what a bitmap holds before it; tagindex never
  // makes run containers): container mix and portable size.
  uint64_t plain_portable = 0, plain_arrays = 0, plain_bitsets = 0;
  for (size_t t = 0; t < data.tags.size(); ++t) {
    roaring_bitmap_t* plain = roaring_bitmap_of_ptr(data.tags[t].size(), data.tags[t].data());
    plain_portable += roaring_bitmap_portable_size_in_bytes(plain);
    roaring_statistics_t st;
    roaring_bitmap_statistics(plain, &st);
    plain_arrays += st.n_array_containers;
    plain_bitsets += st.n_bitset_containers;
    roaring_bitmap_free(plain);
  }
  uint64_t portable = 0, arrays = 0, bitsets = 0, runs = 0;
  for (size_t t = 0; t < bm.size(); ++t) {
    if (roaring_bitmap_get_cardinality(bm[t]) != data.tags[t].size()) Die("load lost ids");
    portable += roaring_bitmap_portable_size_in_bytes(bm[t]);
    roaring_statistics_t st;
    roaring_bitmap_statistics(bm[t], &st);
    arrays += st.n_array_containers;
    bitsets += st.n_bitset_containers;
    runs += st.n_run_containers;
  }
  const double assignments = static_cast<double>(data.Assignments());
  compare::PrintFacts(system, "load",
                      {{"load_s", load_s},
                       {"storage_bytes", static_cast<double>(portable)},
                       {"portable_bytes", static_cast<double>(portable)},
                       {"assignments", assignments},
                       {"bits_per_value", portable * 8.0 / assignments},
                       {"array_containers", static_cast<double>(arrays)},
                       {"bitset_containers", static_cast<double>(bitsets)},
                       {"run_containers", static_cast<double>(runs)},
                       {"plain_portable_bytes", static_cast<double>(plain_portable)},
                       {"plain_bits_per_value", plain_portable * 8.0 / assignments},
                       {"plain_array_containers", static_cast<double>(plain_arrays)},
                       {"plain_bitset_containers", static_cast<double>(plain_bitsets)}},
                      {{"version", ROARING_VERSION}});

  for (const compare::Query& q : queries) {
    compare::Result r;
    std::vector<const roaring_bitmap_t*> ops;
    for (uint32_t t : q.tags) ops.push_back(bm[t]);
    std::function<void()> fn;
    if (q.shape == "and2") {
      fn = [&] { r.count = roaring_bitmap_and_cardinality(ops[0], ops[1]); };
    } else if (q.shape == "andnot3") {
      fn = [&] {
        roaring_bitmap_t* ab = roaring_bitmap_and(ops[0], ops[1]);
        r.count = roaring_bitmap_andnot_cardinality(ab, ops[2]);
        roaring_bitmap_free(ab);
      };
    } else if (q.shape == "mat3") {
      fn = [&] {
        roaring_bitmap_t* ab = roaring_bitmap_and(ops[0], ops[1]);
        roaring_bitmap_andnot_inplace(ab, ops[2]);
        uint64_t acc[2] = {0, 0};
        roaring_iterate(ab, Sum, acc);
        r.count = acc[0];
        r.checksum = acc[1];
        roaring_bitmap_free(ab);
      };
    } else if (q.shape == "andor") {
      fn = [&] {
        roaring_bitmap_t* u = roaring_bitmap_or_many(ops.size() - 1, ops.data() + 1);
        r.count = roaring_bitmap_and_cardinality(ops[0], u);
        roaring_bitmap_free(u);
      };
    } else if (q.shape == "andall") {
      fn = [&] {
        roaring_bitmap_t* acc = roaring_bitmap_and(ops[0], ops[1]);
        for (size_t i = 2; i + 1 < ops.size(); ++i) roaring_bitmap_and_inplace(acc, ops[i]);
        r.count = roaring_bitmap_and_cardinality(acc, ops.back());
        roaring_bitmap_free(acc);
      };
    } else if (q.shape == "pairs_and" || q.shape == "pairs_or") {
      const bool is_and = q.shape == "pairs_and";
      fn = [&] {
        uint64_t total = 0;
        for (size_t i = 0; i + 1 < ops.size(); ++i) {
          roaring_bitmap_t* x = is_and ? roaring_bitmap_and(ops[i], ops[i + 1])
                                       : roaring_bitmap_or(ops[i], ops[i + 1]);
          total += roaring_bitmap_get_cardinality(x);
          roaring_bitmap_free(x);
        }
        r.count = total;
      };
    } else if (q.shape == "pairs_andcount") {
      fn = [&] {
        uint64_t total = 0;
        for (size_t i = 0; i + 1 < ops.size(); ++i) {
          total += roaring_bitmap_and_cardinality(ops[i], ops[i + 1]);
        }
        r.count = total;
      };
    } else if (q.shape == "wide_or") {
      fn = [&] {
        roaring_bitmap_t* u = roaring_bitmap_or_many(ops.size(), ops.data());
        r.count = roaring_bitmap_get_cardinality(u);
        roaring_bitmap_free(u);
      };
    } else {
      Die("croaring: unsupported shape " + q.shape);
    }
    const compare::Timing t = compare::Time(fn, args.reps, args.budget);
    compare::PrintQuery(system, q, r, t);
  }
  for (roaring_bitmap_t* b : bm) roaring_bitmap_free(b);
  return 0;
}
