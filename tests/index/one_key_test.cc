// The one-key fast path of Tag / Untag (issue #9: a single-item commit of
// one key is planned inline and skips copying a tag it does not change)
// against the general key-batch path and a std::set model. The general path
// is reached through a WriteBatch of two items (the second an empty Tag), so
// both run the same random operations: outcome (code, message, ErrorInfo
// kind), membership of every tag and the customer set must agree, for int64,
// string and identity keys, with and without create_missing_customers, with
// an exclusive category. Seeds are printed on failure.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tagindex/errors.h"
#include "tagindex/index.h"
#include "tagindex/write_batch.h"

namespace tagindex {
namespace {

bool FullRun() {
  const char* f = std::getenv("TAGINDEX_FULL");
  return f != nullptr && std::string(f) == "1";
}

struct Fixture {
  std::unique_ptr<Index> index;
  std::vector<TagId> tags;  // plain, exclusive A, exclusive B
};

Fixture Make(KeyKind kind, bool create) {
  IndexOptions o;
  o.key_kind = kind;
  o.create_missing_customers = create;
  Fixture f{Index::Create(o).value(), {}};
  REQUIRE(f.index->CreateCategory("freq", {.exclusive = true}).ok());
  f.tags.push_back(f.index->CreateTag({.name = "plain"}).value());
  f.tags.push_back(f.index->CreateTag({.name = "high", .category = "freq"}).value());
  f.tags.push_back(f.index->CreateTag({.name = "low", .category = "freq"}).value());
  return f;
}

// The model: customers and each tag's members, by key text.
struct Model {
  std::set<std::string> customers;
  std::vector<std::set<std::string>> members{3};
};

TEST_CASE("one-key Tag/Untag agrees with the batch path and a set model", "[index][one_key]") {
  const int seeds = FullRun() ? 60 : 8;
  const int ops = FullRun() ? 4000 : 600;
  for (KeyKind kind : {KeyKind::kInt64, KeyKind::kString, KeyKind::kIdentity}) {
    for (bool create : {true, false}) {
      for (int seed = 1; seed <= seeds; ++seed) {
        INFO("seed " << seed << " key kind " << static_cast<int>(kind) << " create " << create);
        std::mt19937_64 rng(static_cast<uint64_t>(seed) * 7919 + static_cast<uint64_t>(kind));
        Fixture fast = Make(kind, create);
        Fixture slow = Make(kind, create);
        Model model;
        // Keys: a small pool so that tags, untags and removals collide; for
        // identity keys one out of range, for string keys one invalid.
        std::vector<int64_t> ints;
        std::vector<std::string> strings;
        for (int i = 0; i < 40; ++i) {
          ints.push_back(kind == KeyKind::kIdentity ? i * 977 : 13800000000 + i * 31);
          strings.push_back("cust-" + std::to_string(i));
        }
        ints.push_back(-5);
        strings.push_back(std::string("bad\xff", 4));
        for (int op = 0; op < ops; ++op) {
          INFO("op " << op);
          const size_t k = rng() % ints.size();
          // Every int64 is a valid key of an int64 index.
          const bool valid = kind == KeyKind::kInt64 || k + 1 < ints.size();
          const std::string key_text =
              kind == KeyKind::kString ? strings[k] : std::to_string(ints[k]);
          const size_t t = rng() % 3;
          const int what = static_cast<int>(rng() % 10);  // 0-5 tag, 6-8 untag, 9 remove
          const bool add = what < 6;
          absl::Status a, b;
          if (what == 9) {
            // Removals only through the public single call on both.
            if (kind == KeyKind::kString) {
              a = fast.index->RemoveCustomer(strings[k]);
              b = slow.index->RemoveCustomer(strings[k]);
            } else {
              a = fast.index->RemoveCustomer(ints[k]);
              b = slow.index->RemoveCustomer(ints[k]);
            }
            REQUIRE(a.code() == b.code());
            if (a.ok()) {
              REQUIRE(model.customers.erase(key_text) == 1);
              for (auto& m : model.members) m.erase(key_text);
            }
            continue;
          }
          WriteBatch batch;
          if (kind == KeyKind::kString) {
            const std::string_view sv = strings[k];
            a = add ? fast.index->Tag(fast.tags[t], sv) : fast.index->Untag(fast.tags[t], sv);
            if (add) {
              batch.Tag(slow.tags[t], std::span<const std::string_view>(&sv, 1));
            } else {
              batch.Untag(slow.tags[t], std::span<const std::string_view>(&sv, 1));
            }
            batch.Tag(slow.tags[0], std::span<const std::string_view>());
          } else {
            const int64_t key = ints[k];
            a = add ? fast.index->Tag(fast.tags[t], key) : fast.index->Untag(fast.tags[t], key);
            if (add) {
              batch.Tag(slow.tags[t], std::span<const int64_t>(&key, 1));
            } else {
              batch.Untag(slow.tags[t], std::span<const int64_t>(&key, 1));
            }
            batch.Tag(slow.tags[0], std::span<const int64_t>());
          }
          b = slow.index->Write(batch);
          REQUIRE(a.code() == b.code());
          if (!a.ok()) {
            // The batch path names the item first; the reason is the same.
            const std::string am(a.message());
            const std::string bm(b.message());
            REQUIRE(bm.size() >= am.size());
            REQUIRE(bm.substr(bm.size() - am.size()) == am);
            const std::optional<ErrorInfo> ai = GetErrorInfo(a);
            const std::optional<ErrorInfo> bi = GetErrorInfo(b);
            REQUIRE(ai.has_value() == bi.has_value());
            if (ai) {
              REQUIRE(ai->kind == bi->kind);
              REQUIRE(ai->subject == bi->subject);
            }
          }
          // The model's outcome.
          const bool live = model.customers.count(key_text) > 0;
          bool expect_ok = valid && (live || (add && create));
          REQUIRE(a.ok() == expect_ok);
          if (!a.ok()) continue;
          if (add) {
            model.customers.insert(key_text);
            model.members[t].insert(key_text);
            if (t != 0) model.members[t == 1 ? 2 : 1].erase(key_text);
          } else {
            model.members[t].erase(key_text);
          }
        }
        // Final state: both indexes and the model.
        REQUIRE(fast.index->CustomerCount() == model.customers.size());
        REQUIRE(slow.index->CustomerCount() == model.customers.size());
        for (size_t t = 0; t < 3; ++t) {
          REQUIRE(fast.index->RowsWithTag(fast.tags[t]).value() ==
                  slow.index->RowsWithTag(slow.tags[t]).value());
          for (size_t k = 0; k < ints.size(); ++k) {
            const std::string key_text =
                kind == KeyKind::kString ? strings[k] : std::to_string(ints[k]);
            const bool expect = model.members[t].count(key_text) > 0;
            absl::StatusOr<bool> has = kind == KeyKind::kString
                                           ? fast.index->HasTag(fast.tags[t], strings[k])
                                           : fast.index->HasTag(fast.tags[t], ints[k]);
            if (model.customers.count(key_text) == 0) {
              REQUIRE((!has.ok() || !*has));
            } else {
              REQUIRE(has.ok());
              REQUIRE(*has == expect);
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace tagindex
