// WriteBatch and the one mutation pipeline: batches against their items as
// single calls (the oracle), live writes against replay of their log (byte
// for byte), and a batch interrupted at every fault point of the file
// system is all or nothing after a power loss.
#include <catch2/catch.hpp>
#include <climits>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <random>

#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

using tagindex::GetBatchError;
using tagindex::Index;
using tagindex::OpenOptions;
using tagindex::RowId;
using tagindex::TagId;
using tagindex::WriteBatch;
using tagindex::WriteResult;
using tagindex::testing::Dump;
using tagindex::testing::Full;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;
using tagindex::testing::RandomBatch;
using tagindex::testing::RandomBatchOps;
using tagindex::testing::RandomOp;
using Code = absl::StatusCode;

namespace {

using Call = std::function<absl::Status(Index&)>;

// The state the accepted history leads to, built afresh by single calls.
std::unique_ptr<Index> Replay(const std::vector<Call>& history) {
  auto index = Index::Create().value();
  for (const Call& c : history) REQUIRE(c(*index).ok());
  return index;
}

// Copies every file of `from` (as written, durable or not) into a new
// file system.
std::shared_ptr<MemFileSystem> CopyFiles(MemFileSystem& from) {
  auto to = std::make_shared<MemFileSystem>();
  (void)to->CreateDir("db");
  for (const std::string& name : from.Names()) to->Put(name, from.Get(name));
  return to;
}

}  // namespace

// Oracle of a batch: its items as single calls on the same state. An
// accepted batch leaves the index as the calls do; a rejected one fails at
// the item where the first call fails, with the same code, and changes
// nothing. Then the log of the whole run is replayed by Open and the
// snapshot both write must be the same bytes.
TEST_CASE("write batch: items as single calls, and live writes equal replay byte for byte",
          "[storage][batch]") {
  const int seeds = Full() ? 60 : 12;
  const int steps = Full() ? 200 : 80;
  int with_values = 0;  // runs that end with attribute values (kinds 16-21 replayed)
  int total_accepted = 0, total_rejected = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(static_cast<uint64_t>(seed) * 7919);
    auto fs = std::make_shared<MemFileSystem>();
    auto index = Index::Open("db", MemOptions(fs)).value();
    std::vector<Call> history;  // every accepted single call, in order
    // Columns the batches' attribute items name (ids 0 and 1), so that
    // they are accepted often, not only after RandomOp created one.
    history.push_back([](Index& x) { return x.CreateAttribute({.name = "属性0"}).status(); });
    history.push_back([](Index& x) {
      return x
          .CreateAttribute({.name = "属性1", .type = tagindex::AttributeType::kDecimal, .scale = 2})
          .status();
    });
    for (const Call& c : history) REQUIRE(c(*index).ok());
    int accepted = 0, rejected = 0;
    for (int step = 0; step < steps; ++step) {
      INFO("step " << step);
      if (rng() % 3 == 0) {
        // A single call: recorded in the history by replaying its seed.
        const uint64_t op_seed = rng();
        std::mt19937_64 op_rng(op_seed);
        if (RandomOp(op_rng, *index, /*allow_checkpoint=*/false).ok()) {
          history.push_back([op_seed](Index& x) {
            std::mt19937_64 r(op_seed);
            return RandomOp(r, x, false);
          });
        }
        continue;
      }
      RandomBatchOps ops = RandomBatch(rng, 6);
      std::unique_ptr<Index> trial = Replay(history);
      size_t failed_at = ops.calls.size();
      absl::Status want;
      for (size_t i = 0; i < ops.calls.size(); ++i) {
        want = ops.calls[i](*trial);
        if (!want.ok()) {
          failed_at = i;
          break;
        }
      }
      const std::string before = Dump(*index);
      WriteResult result;
      absl::Status got = index->Write(ops.batch, &result);
      if (failed_at == ops.calls.size()) {
        ++accepted;
        INFO(got.ToString());
        REQUIRE(got.ok());
        REQUIRE(Dump(*index) == Dump(*trial));
        REQUIRE(result.tags.size() == ops.calls.size());
        for (Call& c : ops.calls) history.push_back(std::move(c));
      } else {
        ++rejected;
        INFO("expected failure at item " << failed_at << ": " << want.ToString());
        INFO("got " << got.ToString());
        REQUIRE(got.code() == want.code());
        std::optional<tagindex::BatchError> e = GetBatchError(got);
        REQUIRE(e.has_value());
        REQUIRE(e->item == failed_at);
        REQUIRE(e->reason == std::string(want.message()));
        REQUIRE(!e->subject.empty());
        REQUIRE(Dump(*index) == before);
      }
    }
    // Per run some batches are rejected; some runs accept none (random
    // batches of up to 6 items often name a tag not yet created).
    INFO("accepted " << accepted << ", rejected " << rejected);
    REQUIRE(rejected > 0);
    total_accepted += accepted;
    total_rejected += rejected;
    REQUIRE(Dump(*index) == Dump(*Replay(history)));

    // Replay: a copy of the files opened afresh replays the whole log.
    auto copy = CopyFiles(*fs);
    REQUIRE(index->Checkpoint().ok());
    const std::string live_snapshot = fs->Get("db/snapshot-00000000000000000001.tix");
    const std::string live_dump = Dump(*index);
    with_values += live_dump.find("\nvalue ") != std::string::npos;
    index.reset();
    auto replayed = Index::Open("db", MemOptions(copy)).value();
    REQUIRE(replayed->LastRecovery().log_records_replayed > 0);
    REQUIRE(Dump(*replayed) == live_dump);
    REQUIRE(replayed->Checkpoint().ok());
    REQUIRE(copy->Get("db/snapshot-00000000000000000001.tix") == live_snapshot);
  }
  INFO("runs with attribute values: " << with_values << "; batches accepted " << total_accepted
                                      << ", rejected " << total_rejected);
  REQUIRE(with_values > 0);
  REQUIRE(total_accepted > seeds);
}

TEST_CASE("write batch: a rejected batch names the item, its subject and reason",
          "[storage][batch]") {
  auto index = Index::Create().value();
  const TagId vip = index->CreateTag({.name = "vip"}).value();
  std::vector<int64_t> keys = {1, 2, 3};
  REQUIRE(index->AddCustomers(keys).ok());
  const std::string before = Dump(*index);

  WriteBatch batch;
  std::vector<int64_t> more = {4, 5};
  batch.AddCustomers(more);
  batch.Tag(vip, more);
  std::vector<int64_t> unknown = {2, 77};
  batch.Untag(vip, unknown);
  absl::Status s = index->Write(batch);
  REQUIRE(s.code() == Code::kNotFound);
  auto e = GetBatchError(s);
  REQUIRE(e.has_value());
  CHECK(e->item == 2);
  CHECK(e->kind == "untag keys");
  CHECK(e->subject == "77");
  CHECK(e->reason == "index: customer key 77 not found (batch position 1)");
  CHECK(std::string(s.message()).find("batch item 2 of 3 (untag keys): ") == 0);
  CHECK(Dump(*index) == before);
  CHECK(!GetBatchError(absl::OkStatus()).has_value());
  CHECK(!GetBatchError(index->Tag(TagId{99}, int64_t{1})).has_value());

  WriteBatch bad_tag;
  bad_tag.TagRows(TagId{42}, std::vector<RowId>{0});
  e = GetBatchError(index->Write(bad_tag));
  REQUIRE(e.has_value());
  CHECK(e->item == 0);
  CHECK(e->subject == "tag id 42");

  auto strings = Index::Create({.key_kind = tagindex::KeyKind::kString}).value();
  WriteBatch bad_key;
  std::vector<std::string_view> skeys = {"ok", ""};
  bad_key.AddCustomers(skeys);
  absl::Status st = strings->Write(bad_key);
  REQUIRE(st.code() == Code::kInvalidArgument);
  e = GetBatchError(st);
  REQUIRE(e.has_value());
  CHECK(e->subject == "\"\"");
  CHECK(strings->CustomerCount() == 0);
}

TEST_CASE("write batch: later items see earlier ones; results per item", "[storage][batch]") {
  auto index = Index::Create().value();
  const TagId old_tag = index->CreateTag({.name = "旧", .category = "频率"}).value();
  WriteBatch batch;
  batch.CreateCategory("价值", {.exclusive = true});
  const size_t hi = batch.CreateTag({.name = "高", .category = "价值"});
  std::vector<int64_t> keys = {10, 11, 10};
  const size_t add = batch.AddCustomers(keys);
  batch.RemoveCustomers(std::vector<int64_t>{11});
  const size_t again = batch.AddCustomers(std::vector<int64_t>{11});
  batch.DeleteTag(old_tag);
  const size_t reborn = batch.CreateTag({.name = "旧", .category = "频率"});
  batch.Tag(TagId{old_tag.value + 1}, std::vector<int64_t>{11});  // the tag made at `hi`
  WriteResult result;
  absl::Status s = index->Write(batch, &result);
  INFO(s.ToString());
  REQUIRE(s.ok());
  CHECK(index->GetCategory("价值").value().exclusive);
  CHECK(result.tags[hi] == index->FindTag("价值", "高").value());
  CHECK(result.rows[add] == std::vector<RowId>{0, 1, 0});
  CHECK(result.rows[again] == std::vector<RowId>{2});  // row ids are never reused
  CHECK(index->FindCustomer(int64_t{11}).value() == 2);
  CHECK(result.tags[reborn] == index->FindTag("频率", "旧").value());
  CHECK(result.tags[reborn] != old_tag);
  CHECK(index->TagCardinality(old_tag).status().code() == Code::kNotFound);
  CHECK(index->TagsOf(int64_t{11}).value() == std::vector<TagId>{result.tags[hi]});

  // A name freed and taken again inside one batch; a rename onto a name a
  // previous item took is rejected.
  WriteBatch clash;
  clash.CreateTag({.name = "甲", .category = "频率"});
  clash.RenameTag(result.tags[reborn], "甲");
  s = index->Write(clash);
  REQUIRE(s.code() == Code::kAlreadyExists);
  CHECK(GetBatchError(s)->item == 1);
  CHECK(index->FindTag("频率", "甲").status().code() == Code::kNotFound);

  CHECK(index->Write(WriteBatch()).ok());
}

// A batch interrupted by the n-th write or sync of the log, then a power
// loss: after reopening, the index holds all of the batch or none of it,
// and all of it when Write said OK (kEveryWrite syncs before returning).
TEST_CASE("write batch: all or nothing at every fault point after power loss",
          "[storage][batch][fault]") {
  const uint64_t seed = 20261201;
  INFO("seed " << seed);
  auto build_prefix = [](Index& index) {
    REQUIRE(index.CreateCategory("购买频率", {.exclusive = true}).ok());
    const TagId hi = index.CreateTag({.name = "高频", .category = "购买频率"}).value();
    std::vector<int64_t> keys = {1, 2, 3, 4, 5, 6};
    REQUIRE(index.TagMany(hi, keys).ok());
    return hi;
  };
  auto fill = [](WriteBatch& batch, TagId hi) {
    batch.CreateCategory("兴趣");
    batch.CreateTag({.name = "低频", .category = "购买频率"});
    std::vector<int64_t> keys = {7, 8, 9, 1000};
    batch.AddCustomers(keys);
    batch.Tag(hi, keys);
    batch.TagRows(hi, std::vector<RowId>{0, 1});
    batch.Untag(hi, std::vector<int64_t>{2});
    batch.RemoveCustomers(std::vector<int64_t>{3});
    std::string blob = Index::ExportRows(std::vector<RowId>{0, 4, 6});
    batch.ImportTag({.name = "导入", .category = "兴趣"},
                    std::span<const char>(blob.data(), blob.size()));
    batch.SetTagDescription(hi, "每周");
  };
  // The expected states, from an in-memory index.
  auto oracle = Index::Create().value();
  const TagId hi = build_prefix(*oracle);
  const std::string none = Dump(*oracle);
  WriteBatch batch;
  fill(batch, hi);
  REQUIRE(oracle->Write(batch).ok());
  const std::string all = Dump(*oracle);
  REQUIRE(none != all);

  int fired_total = 0;
  for (auto kind : {MemFileSystem::Op::kWrite, MemFileSystem::Op::kSync}) {
    for (int n = 1;; ++n) {
      INFO("fault kind " << static_cast<int>(kind) << " at op " << n);
      auto fs = std::make_shared<MemFileSystem>();
      auto index = Index::Open("db", MemOptions(fs)).value();
      REQUIRE(build_prefix(*index) == hi);
      REQUIRE(Dump(*index) == none);
      fs->FailAt(kind, n);
      const absl::Status s = index->Write(batch);
      const bool fired = fs->faults_fired() > 0;
      fs->ClearFault();
      INFO(s.ToString());
      CHECK(Dump(*index) == (s.ok() ? all : none));
      fs->Crash();
      index.reset();
      auto reopened = Index::Open("db", MemOptions(fs));
      REQUIRE(reopened.ok());
      const std::string after = Dump(**reopened);
      if (s.ok()) {
        CHECK(after == all);
      } else {
        CHECK((after == none || after == all));
      }
      if (!fired) break;
      ++fired_total;
    }
  }
  REQUIRE(fired_total >= 2);
}

// Attribute values in a batch against the single calls' result (the
// oracle: the same calls on a second index), and all-or-nothing when one
// attribute item is bad.
TEST_CASE("write batch: attribute values by key and by row, all or nothing", "[storage][batch]") {
  auto index = Index::Create().value();
  auto oracle = Index::Create().value();
  for (Index* x : {index.get(), oracle.get()}) {
    REQUIRE(x->CreateAttribute(
                 {.name = "消费金额", .type = tagindex::AttributeType::kDecimal, .scale = 2})
                .ok());
  }
  const tagindex::AttributeId spend = index->GetAttribute("消费金额")->id;
  std::vector<int64_t> keys = {1001, 1002, 1003};
  std::vector<int64_t> values = {1250, -300, 99};
  std::vector<int64_t> again = {1002, 1002};  // the later value wins
  std::vector<int64_t> again_values = {1, 2};
  std::vector<RowId> rows = {2};
  std::vector<int64_t> row_values = {777};
  std::vector<RowId> cleared = {0};
  WriteBatch batch;
  batch.AddCustomers(keys);  // the customers are new: later items see them
  batch.SetAttribute(spend, keys, values);
  batch.SetAttribute(spend, again, again_values);
  batch.SetAttributeRows(spend, rows, row_values);
  batch.ClearAttributeRows(spend, cleared);
  REQUIRE(index->Write(batch).ok());
  REQUIRE(oracle->AddCustomers(keys).ok());
  REQUIRE(oracle->SetAttributeMany("消费金额", keys, values).ok());
  REQUIRE(oracle->SetAttributeMany("消费金额", again, again_values).ok());
  REQUIRE(oracle->SetAttributeRows("消费金额", rows, row_values).ok());
  REQUIRE(oracle->ClearAttributeRows("消费金额", cleared).ok());
  REQUIRE(Dump(*index) == Dump(*oracle));
  CHECK(index->GetAttributeValue("消费金额", 1).value() == std::optional<int64_t>(2));
  CHECK(!index->GetAttributeValue("消费金额", 0).value().has_value());

  // One bad item (an unknown key, a length mismatch, an unknown attribute)
  // rejects the whole batch, named in both payloads.
  const std::string before = Dump(*index);
  struct Bad {
    std::function<void(WriteBatch&)> add;
    Code code;
    tagindex::ErrorKind kind;
    std::string subject;
  };
  std::vector<int64_t> unknown = {1001, 99};
  std::vector<int64_t> two = {5, 6};
  std::vector<int64_t> one = {5};
  const std::vector<Bad> bad = {
      {[&](WriteBatch& b) { b.SetAttribute(spend, unknown, two); }, Code::kNotFound,
       tagindex::ErrorKind::kUnknownCustomer, "99"},
      {[&](WriteBatch& b) { b.SetAttribute(spend, unknown, one); }, Code::kInvalidArgument,
       tagindex::ErrorKind::kBadValue, "values"},
      {[&](WriteBatch& b) { b.SetAttributeRows(tagindex::AttributeId{9}, rows, one); },
       Code::kNotFound, tagindex::ErrorKind::kUnknownAttribute, "attribute id 9"},
      {[&](WriteBatch& b) {
         b.ClearAttributeRows(spend, std::vector<RowId>{1, 50});
       },
       Code::kNotFound, tagindex::ErrorKind::kUnknownCustomer, "row 50"},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    INFO("bad item " << i);
    WriteBatch b;
    std::vector<int64_t> fresh = {2001};
    b.AddCustomers(fresh);
    b.SetAttributeRows(spend, std::vector<RowId>{1}, one);
    bad[i].add(b);
    absl::Status st = index->Write(b);
    INFO(st);
    REQUIRE(st.code() == bad[i].code);
    std::optional<tagindex::BatchError> e = GetBatchError(st);
    REQUIRE(e.has_value());
    CHECK(e->item == 2);
    std::optional<tagindex::ErrorInfo> info = tagindex::GetErrorInfo(st);
    REQUIRE(info.has_value());
    CHECK(info->kind == bad[i].kind);
    CHECK(info->subject == bad[i].subject);
    CHECK(Dump(*index) == before);
  }
}

// Clearing by key (record type 22): single calls and batch items against a
// naive column (std::map key -> optional value), int64 and string keys, the
// log replayed by Open, and a batch whose last item fails changes nothing.
TEST_CASE("write batch: clear attribute by key against a naive column", "[storage][batch]") {
  for (uint64_t seed = 1; seed <= (Full() ? 60 : 12); ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
    const bool strings = seed % 2 == 0;
    auto fs = std::make_shared<MemFileSystem>();
    OpenOptions options = MemOptions(fs);
    options.index.key_kind = strings ? tagindex::KeyKind::kString : tagindex::KeyKind::kInt64;
    auto index = Index::Open("db", options).value();
    REQUIRE(index->CreateAttribute({.name = "订单数"}).ok());
    const tagindex::AttributeId id = index->GetAttribute("订单数")->id;
    std::map<std::string, std::optional<int64_t>> oracle;  // live customers
    auto text = [&](int64_t k) { return absl::StrCat("客户", k); };
    // Keys as the index takes them (int or string), one vector per call.
    struct Keys {
      std::vector<int64_t> ints;
      std::vector<std::string> owned;
      std::vector<std::string_view> views;
    };
    auto make = [&](const std::vector<int64_t>& ks) {
      Keys out;
      out.ints = ks;
      for (int64_t k : ks) out.owned.push_back(text(k));
      for (const std::string& s : out.owned) out.views.push_back(s);
      return out;
    };
    std::vector<int64_t> all;
    for (int64_t k = 0; k < 50; ++k) all.push_back(k);
    Keys everyone = make(all);
    REQUIRE(
        (strings ? index->AddCustomers(everyone.views) : index->AddCustomers(everyone.ints)).ok());
    for (int64_t k : all) oracle[text(k)] = std::nullopt;
    for (int step = 0; step < 60; ++step) {
      std::vector<int64_t> ks;
      for (uint64_t j = 0, n = 1 + pick(8); j < n; ++j)
        ks.push_back(static_cast<int64_t>(pick(50)));
      Keys keys = make(ks);
      std::vector<int64_t> values;
      for (size_t j = 0; j < ks.size(); ++j) {
        const uint64_t r = pick(5);
        values.push_back(r == 0   ? INT64_MIN
                         : r == 1 ? INT64_MAX
                                  : static_cast<int64_t>(pick(2000)) - 1000);
      }
      const uint64_t what = pick(4);
      if (what == 0) {  // set by key
        REQUIRE((strings ? index->SetAttributeMany("订单数", keys.views, values)
                         : index->SetAttributeMany("订单数", keys.ints, values))
                    .ok());
        for (size_t j = 0; j < ks.size(); ++j) oracle[text(ks[j])] = values[j];
      } else if (what == 1) {  // clear by key, one call
        REQUIRE((strings ? index->ClearAttributeMany("订单数", keys.views)
                         : index->ClearAttributeMany("订单数", keys.ints))
                    .ok());
        for (int64_t k : ks) oracle[text(k)] = std::nullopt;
      } else if (what == 2) {  // set then clear some, one batch
        WriteBatch b;
        strings ? b.SetAttribute(id, keys.views, values) : b.SetAttribute(id, keys.ints, values);
        std::span<const std::string_view> sv(keys.views);
        std::span<const int64_t> si(keys.ints);
        const size_t half = ks.size() / 2;
        strings ? b.ClearAttribute(id, sv.first(half)) : b.ClearAttribute(id, si.first(half));
        REQUIRE(index->Write(b).ok());
        for (size_t j = 0; j < ks.size(); ++j) oracle[text(ks[j])] = values[j];
        for (size_t j = 0; j < half; ++j) oracle[text(ks[j])] = std::nullopt;
      } else {  // a batch that fails at its last item: nothing changes
        const std::string before = Dump(*index);
        WriteBatch b;
        strings ? b.SetAttribute(id, keys.views, values) : b.SetAttribute(id, keys.ints, values);
        strings ? b.ClearAttribute(id, keys.views) : b.ClearAttribute(id, keys.ints);
        Keys unknown = make({ks[0], 1000 + static_cast<int64_t>(pick(10))});
        strings ? b.ClearAttribute(id, unknown.views) : b.ClearAttribute(id, unknown.ints);
        absl::Status st = index->Write(b);
        REQUIRE(st.code() == Code::kNotFound);
        std::optional<tagindex::BatchError> e = GetBatchError(st);
        REQUIRE(e.has_value());
        CHECK(e->item == 2);
        CHECK(e->kind == "clear attribute keys");
        REQUIRE(Dump(*index) == before);
      }
      // Every customer's value against the oracle.
      for (int64_t k : all) {
        const RowId row = strings ? index->FindCustomer(std::string_view(text(k))).value()
                                  : index->FindCustomer(k).value();
        REQUIRE(index->GetAttributeValue("订单数", row).value() == oracle[text(k)]);
      }
    }
    // An unknown key in a single call is NotFound and changes nothing.
    const std::string before = Dump(*index);
    Keys unknown = make({3, 777});
    absl::Status st = strings ? index->ClearAttributeMany("订单数", unknown.views)
                              : index->ClearAttributeMany("订单数", unknown.ints);
    CHECK(st.code() == Code::kNotFound);
    CHECK(Dump(*index) == before);
    // The log replays to the same state.
    index.reset();
    auto reopened = Index::Open("db", options).value();
    CHECK(reopened->LastRecovery().log_records_replayed > 0);
    CHECK(Dump(*reopened) == before);
  }
}
