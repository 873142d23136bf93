// Differential test: random queries (fixed seeds, depth up to 8, tags from
// empty to full, attribute predicates of every form on integer, decimal and
// date columns with NULLs, negatives and the int64 extremes) evaluated three ways — executor with
// every normaliser rule on, with every rule off, and a naive std::set evaluator — which must agree
// on every count and every id. The seed and query are printed on failure.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "query/random_query.h"
#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::QueryOptions;
using tagindex::RowId;
using tagindex::TagId;

namespace {

using tagindex::testing::Generator;
using tagindex::testing::kToday;
using tagindex::testing::MakeWorld;
using tagindex::testing::Set;
using tagindex::testing::World;

int QueryCount() {
  const char* full = std::getenv("TAGINDEX_FULL");
  return full != nullptr && std::string(full) == "1" ? 100000 : 4000;
}

}  // namespace

TEST_CASE("differential: optimised, unoptimised and naive evaluation agree", "[query]") {
  const uint64_t world_seed = 20261123;
  World w = MakeWorld(world_seed);
  QueryOptions on;
  on.today = kToday;
  QueryOptions off;
  off.today = kToday;
  off.rewrites = {.flatten = false,
                  .remove_double_negation = false,
                  .fold_constants = false,
                  .remove_duplicates = false};
  const int queries = QueryCount();
  int failures = 0;
  for (int i = 0; i < queries && failures < 5; ++i) {
    const uint64_t seed = 1000 + static_cast<uint64_t>(i);
    Generator gen(w, seed);
    Set expected;
    const int max_depth = 1 + static_cast<int>(seed % 8);
    const std::string text = gen.Gen(0, max_depth, &expected);
    const std::vector<RowId> want(expected.begin(), expected.end());
    auto on_result = w.index->Query(text, on);
    auto& on_ = on_result;
    auto plain = w.index->Query(text, off);
    auto count_on = w.index->Count(text, on);
    auto count_off = w.index->Count(text, off);
    const bool ok = on_.ok() && plain.ok() && count_on.ok() && count_off.ok() &&
                    on_->Rows().value() == want && plain->Rows().value() == want &&
                    *count_on == want.size() && *count_off == want.size();
    if (!ok) {
      ++failures;
      auto describe = [](const auto& r) {
        std::ostringstream o;
        if (r.ok()) {
          if constexpr (std::is_same_v<std::decay_t<decltype(*r)>, uint64_t>) {
            o << *r;
          } else {
            o << r->Count() << " rows";
          }
        } else {
          o << r.status();
        }
        return o.str();
      };
      INFO("world seed " << world_seed << ", query seed " << seed << ", query: " << text);
      INFO("expected " << want.size() << " rows; rules on: " << describe(on_)
                       << "; rules off: " << describe(plain) << "; count on: " << describe(count_on)
                       << "; count off: " << describe(count_off));
      CHECK(ok);
    }
  }
  CHECK(failures == 0);
}
