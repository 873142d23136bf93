// Readers never wait (issue #11): point-in-time snapshots, linearisable
// reads against an oracle of every committed prefix, writer progress under
// reader load, segments and snapshots outliving their Index, and a
// checkpoint concurrent with writes and reads. Built into its own binary
// (concurrency_test) so the tsan preset builds and runs only this.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bitmap/bsi.h"
#include "tagindex/tagindex.h"

using tagindex::CustomerKey;
using tagindex::Index;
using tagindex::IndexOptions;
using tagindex::KeyKind;
using tagindex::RowId;
using tagindex::Segment;
using tagindex::Snapshot;
using tagindex::TagId;

namespace {

// TAGINDEX_FULL=1: the long suite (more operations).
int Scale(int quick, int full) {
  const char* f = std::getenv("TAGINDEX_FULL");
  return f != nullptr && std::string(f) == "1" ? full : quick;
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/tagindex-snapshot-test-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  const std::string& path() const { return dir; }
  std::string dir;
};

// The oracle: tag -> keys, and the live keys.
struct Model {
  std::array<std::set<int64_t>, 3> tags;
  std::set<int64_t> live;
};

constexpr int kQueries = 4;
const char* const kQueryText[kQueries] = {"t0 AND t1", "t0 AND NOT t2", "t1 OR t2", "NOT t0"};

using Answers = std::array<uint64_t, kQueries + 1>;  // the queries, then CustomerCount

Answers Answer(const Model& m) {
  Answers a{};
  for (int64_t k : m.live) {
    const bool t0 = m.tags[0].count(k) > 0, t1 = m.tags[1].count(k) > 0,
               t2 = m.tags[2].count(k) > 0;
    a[0] += t0 && t1;
    a[1] += t0 && !t2;
    a[2] += t1 || t2;
    a[3] += !t0;
  }
  a[kQueries] = m.live.size();
  return a;
}

// One writer operation, decided up front from the model (so it always
// succeeds and is exactly one commit).
struct Op {
  enum Kind { kTag, kUntag, kAdd, kRemove, kBatch } kind;
  int tag = 0;
  int64_t key = 0;
  std::vector<int64_t> keys;  // kBatch: TagMany of tag 2 plus Untag of tag 0
};

std::vector<Op> MakeOps(uint64_t seed, int n, Model* model, std::vector<Answers>* answers) {
  std::mt19937_64 rng(seed);
  std::vector<Op> ops;
  answers->push_back(Answer(*model));
  for (int i = 0; i < n; ++i) {
    Op op;
    const int64_t key = static_cast<int64_t>(rng() % 300);
    switch (rng() % 10) {
      case 0:
        op.kind = model->live.count(key) ? Op::kRemove : Op::kAdd;
        break;
      case 1:
        op.kind = Op::kBatch;
        for (int k = 0; k < 20; ++k) {
          const int64_t x = static_cast<int64_t>(rng() % 300);
          if (model->live.count(x)) op.keys.push_back(x);
        }
        break;
      default:
        op.kind = rng() % 3 == 0 ? Op::kUntag : Op::kTag;
        break;
    }
    op.tag = static_cast<int>(rng() % 3);
    op.key = key;
    if ((op.kind == Op::kTag || op.kind == Op::kUntag) && !model->live.count(key)) {
      op.kind = Op::kAdd;
    }
    switch (op.kind) {
      case Op::kTag:
        model->tags[op.tag].insert(key);
        break;
      case Op::kUntag:
        model->tags[op.tag].erase(key);
        break;
      case Op::kAdd:
        model->live.insert(key);
        break;
      case Op::kRemove:
        model->live.erase(key);
        for (auto& t : model->tags) t.erase(key);
        break;
      case Op::kBatch:
        for (int64_t x : op.keys) {
          model->tags[2].insert(x);
          model->tags[0].erase(x);
        }
        break;
    }
    ops.push_back(std::move(op));
    answers->push_back(Answer(*model));
  }
  return ops;
}

void Apply(Index& index, const std::array<TagId, 3>& t, const Op& op) {
  absl::Status s;
  switch (op.kind) {
    case Op::kTag:
      s = index.Tag(t[op.tag], op.key);
      break;
    case Op::kUntag:
      s = index.Untag(t[op.tag], op.key);
      break;
    case Op::kAdd:
      s = index.AddCustomer(op.key).status();
      break;
    case Op::kRemove:
      s = index.RemoveCustomer(op.key);
      break;
    case Op::kBatch: {
      tagindex::WriteBatch batch;
      batch.Tag(t[2], std::span<const int64_t>(op.keys));
      batch.Untag(t[0], std::span<const int64_t>(op.keys));
      s = index.Write(batch);
      break;
    }
  }
  if (!s.ok()) {
    FAIL_CHECK("writer op failed: " << s);
  }
}

Answers Read(const Snapshot& snap) {
  Answers a{};
  for (int q = 0; q < kQueries; ++q) a[q] = snap.Count(kQueryText[q]).value();
  a[kQueries] = snap.CustomerCount();
  return a;
}

}  // namespace

TEST_CASE("snapshots: every read equals the oracle at a committed prefix that never goes back",
          "[concurrency][linearisable]") {
  for (uint64_t seed : {11u, 12u}) {
    INFO("seed " << seed);
    auto index = Index::Create({.key_kind = KeyKind::kInt64}).value();
    std::array<TagId, 3> t;
    for (int i = 0; i < 3; ++i) t[i] = index->CreateTag({.name = absl::StrCat("t", i)}).value();
    Model model;
    std::vector<Answers> answers;
    const int n = Scale(1500, 8000);
    const std::vector<Op> ops = MakeOps(seed, n, &model, &answers);
    const uint64_t base = index->GetSnapshot().sequence();

    // A commit is visible from its publication, a moment before its call
    // returns: a read may see any prefix in [committed before it, started
    // after it].
    std::atomic<int> committed{0};  // ops whose call has returned
    std::atomic<int> started{0};    // ops whose call has begun
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::atomic<long> checks{0};
    std::atomic<int> ready{0};  // readers that have completed one check
    std::vector<std::thread> readers;
    for (int r = 0; r < 3; ++r) {
      readers.emplace_back([&, r] {
        int last = 0;  // the newest prefix this reader has seen
        bool first = true;
        while (!stop.load()) {
          const int before = committed.load();
          if (r == 0) {
            // Index::Count directly: some prefix in [max(last, before), after].
            const uint64_t got = index->Count(kQueryText[1]).value();
            const int after = started.load();
            int p = std::max(last, before);
            while (p <= after && answers[static_cast<size_t>(p)][1] != got) ++p;
            if (p > after) {
              failures++;
            } else {
              last = p;
            }
          } else {
            // A snapshot: its sequence names the prefix exactly.
            const Snapshot snap = index->GetSnapshot();
            const int after = started.load();
            const int p = static_cast<int>(snap.sequence() - base);
            const bool in_range = p >= std::max(last, before) && p <= after;
            if (!in_range || Read(snap) != answers[static_cast<size_t>(p)]) {
              if (failures++ == 0) {
                const Answers got = Read(snap);
                UNSCOPED_INFO("first failure: prefix " << p << " in [" << std::max(last, before)
                                                       << ", " << after << "]: " << in_range
                                                       << "; got " << got[0] << " " << got[1] << " "
                                                       << got[2] << " " << got[3] << " " << got[4]);
              }
            }
            last = std::max(last, p);
          }
          checks++;
          if (first) ready++;
          first = false;
        }
      });
    }
    // Readers run from the first commit on (no timing assumption: wait
    // until each has checked once).
    while (ready.load() < 3) std::this_thread::yield();
    for (const Op& op : ops) {
      started++;
      Apply(*index, t, op);
      committed++;
    }
    stop = true;
    for (auto& th : readers) th.join();
    CHECK(failures.load() == 0);
    CHECK(checks.load() > 0);
    CHECK(Read(index->GetSnapshot()) == answers.back());
  }
}

TEST_CASE("snapshots: a writer completes its commits while readers run back to back",
          "[concurrency][progress]") {
  auto index = Index::Create({.key_kind = KeyKind::kIdentity}).value();
  const TagId a = index->CreateTag({.name = "a"}).value();
  const TagId b = index->CreateTag({.name = "b"}).value();
  std::vector<RowId> rows(200'000);
  for (RowId i = 0; i < rows.size(); ++i) rows[i] = i;
  REQUIRE(index->AddCustomers(std::vector<int64_t>(rows.begin(), rows.end())).ok());
  REQUIRE(index->TagRows(a, rows).ok());
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      bool first = true;
      while (!stop.load()) {
        if (index->Count("a AND NOT b").value() > rows.size()) std::abort();
        reads++;
        if (first) ready++;
        first = false;
      }
    });
  }
  while (ready.load() < 4) std::this_thread::yield();
  // A bounded number of commits must complete (the test would time out if
  // the writer starved); no timing is asserted.
  const int commits = Scale(2000, 20000);
  std::set<RowId> tagged;
  std::mt19937_64 rng(5);
  for (int i = 0; i < commits; ++i) {
    const RowId r = static_cast<RowId>(rng() % rows.size());
    REQUIRE(index->TagRow(b, r).ok());
    tagged.insert(r);
  }
  stop = true;
  for (auto& th : readers) th.join();
  CHECK(reads.load() > 0);
  CHECK(index->TagCardinality(b).value() == tagged.size());
  CHECK(index->Count("a AND NOT b").value() == rows.size() - tagged.size());
}

TEST_CASE("snapshots: a snapshot answers every read as of its moment", "[concurrency][snapshot]") {
  auto index = Index::Create({.key_kind = KeyKind::kString}).value();
  const TagId vip = index->CreateTag({.name = "高价值客户"}).value();
  const TagId churn = index->CreateTag({.name = "流失风险"}).value();
  REQUIRE(index->TagMany(vip, std::vector<std::string_view>{"c1", "c2", "c3"}).ok());
  REQUIRE(index->Tag(churn, std::string_view("c3")).ok());
  REQUIRE(index->CreateAttribute({.name = "消费金额"}).ok());
  REQUIRE(index->SetAttribute("消费金额", std::string_view("c1"), 100).ok());
  const RowId c2 = index->FindCustomer(std::string_view("c2")).value();

  const Snapshot snap = index->GetSnapshot();
  const Segment before = index->Query("高价值客户 AND NOT 流失风险").value();

  // Change everything the snapshot can see.
  REQUIRE(index->RemoveCustomer(std::string_view("c2")).ok());
  const RowId c2_again = index->AddCustomer(std::string_view("c2")).value();
  REQUIRE(c2_again != c2);
  REQUIRE(index->Untag(vip, std::string_view("c1")).ok());
  REQUIRE(index->RenameTag(churn, "流失").ok());
  REQUIRE(index->DeleteTag(vip).ok());
  REQUIRE(index->SetAttribute("消费金额", std::string_view("c1"), 999).ok());
  REQUIRE(index->CreateTag({.name = "new"}).ok());

  CHECK(snap.FindCustomer(std::string_view("c2")).value() == c2);
  CHECK(index->FindCustomer(std::string_view("c2")).value() == c2_again);
  CHECK(std::get<std::string>(snap.KeyOf(c2).value()) == "c2");
  CHECK_FALSE(index->KeyOf(c2).ok());
  CHECK(snap.CustomerCount() == 3);
  CHECK(snap.TagCount() == 2);
  CHECK(index->TagCount() == 2);  // 流失 and new
  CHECK(snap.FindTag("流失风险").value() == churn);
  CHECK_FALSE(index->FindTag("流失风险").ok());
  CHECK(snap.TagCardinality(vip).value() == 3);
  CHECK_FALSE(index->TagCardinality(vip).ok());
  CHECK(snap.HasTag(vip, std::string_view("c1")).value());
  CHECK(snap.Count("高价值客户 AND NOT 流失风险").value() == 2);
  CHECK(snap.GetAttributeValue("消费金额", snap.FindCustomer(std::string_view("c1")).value())
            .value() == std::optional<int64_t>(100));
  CHECK(snap.ListTags().value().size() == 2);
  // The segment from before keeps its version: its keys are those of then.
  const auto keys = before.KeysOf(before.Rows().value()).value();
  std::set<std::string> names;
  for (const CustomerKey& k : keys) names.insert(std::get<std::string>(k));
  CHECK(names == std::set<std::string>{"c1", "c2"});
  // A query compiled on the snapshot runs on the snapshot.
  auto compiled = snap.Compile("高价值客户").value();
  CHECK(compiled.Count().value() == 3);
  CHECK(snap.sequence() < index->GetSnapshot().sequence());
}

TEST_CASE("snapshots: segments, snapshots and queries outlive their Index",
          "[concurrency][lifetime]") {
  TempDir dir;
  Segment segment;
  std::optional<Snapshot> snap;
  std::optional<tagindex::CompiledQuery> live_query, snap_query;
  {
    auto index = Index::Open(dir.path(), {.create_if_missing = true}).value();
    const TagId t = index->CreateTag({.name = "t"}).value();
    REQUIRE(index->TagMany(t, std::vector<int64_t>{7, 8, 9}).ok());
    segment = index->Query("t").value();
    snap = index->GetSnapshot();
    live_query = index->Compile("t").value();
    snap_query = snap->Compile("t").value();
    REQUIRE(index->Checkpoint().ok());
    REQUIRE(index->Untag(t, int64_t{8}).ok());
  }
  // The directory lock is free although the segment and snapshot live on.
  {
    auto reopened = Index::Open(dir.path(), {.create_if_missing = true});
    REQUIRE(reopened.ok());
    CHECK((*reopened)->Count("t").value() == 2);
  }
  const auto keys = segment.KeysOf(segment.Rows().value()).value();
  REQUIRE(keys.size() == 3);
  CHECK(std::get<int64_t>(keys[1]) == 8);
  CHECK(snap->Count("t").value() == 3);
  CHECK(snap->FindCustomer(int64_t{9}).ok());
  CHECK(snap->Query("t").value().Count() == 3);
  CHECK(snap_query->Count().value() == 3);
  CHECK(live_query->Count().status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("snapshots: checkpoints concurrent with writes and reads, then reopen equals the oracle",
          "[concurrency][checkpoint]") {
  TempDir dir;
  std::array<std::set<int64_t>, 2> oracle;
  {
    tagindex::OpenOptions o;
    o.create_if_missing = true;
    o.index.key_kind = KeyKind::kInt64;
    o.sync = tagindex::SyncPolicy::kNone;
    auto index = Index::Open(dir.path(), o).value();
    const TagId t0 = index->CreateTag({.name = "t0"}).value();
    const TagId t1 = index->CreateTag({.name = "t1"}).value();
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0};
    std::thread reader([&] {
      while (!stop.load()) {
        const Snapshot s = index->GetSnapshot();
        // A customer is in t1 only if in t0 (the writer keeps this).
        if (s.Count("t1 AND NOT t0").value() != 0) bad++;
      }
    });
    std::thread checkpointer([&] {
      while (!stop.load()) {
        if (!index->Checkpoint().ok()) bad++;
      }
    });
    std::mt19937_64 rng(9);
    const int n = Scale(1500, 10000);
    for (int i = 0; i < n; ++i) {
      // New keys keep arriving, so checkpoints also race the key table's appends.
      const int64_t k = static_cast<int64_t>(rng() % 5000);
      if (rng() % 4 == 0 && oracle[0].count(k)) {
        tagindex::WriteBatch b;
        b.Untag(t1, std::span<const int64_t>(&k, 1));
        b.Untag(t0, std::span<const int64_t>(&k, 1));
        REQUIRE(index->Write(b).ok());
        oracle[1].erase(k);
        oracle[0].erase(k);
      } else {
        tagindex::WriteBatch b;
        b.Tag(t0, std::span<const int64_t>(&k, 1));
        b.Tag(t1, std::span<const int64_t>(&k, 1));
        REQUIRE(index->Write(b).ok());
        oracle[0].insert(k);
        oracle[1].insert(k);
      }
    }
    stop = true;
    reader.join();
    checkpointer.join();
    CHECK(bad.load() == 0);
    // The live index first, then (below) the reopened one.
    for (int i = 0; i < 2; ++i) {
      std::set<int64_t> got;
      const std::vector<CustomerKey> keys = index->KeysWithTag(i == 0 ? t0 : t1).value();
      for (const CustomerKey& k : keys) got.insert(std::get<int64_t>(k));
      INFO("live index, tag t" << i);
      CHECK(got == oracle[i]);
    }
  }
  auto index = Index::Open(dir.path(), {.create_if_missing = true}).value();
  for (int i = 0; i < 2; ++i) {
    const TagId t = index->FindTag(absl::StrCat("t", i)).value();
    std::set<int64_t> got;
    const std::vector<CustomerKey> keys = index->KeysWithTag(t).value();
    for (const CustomerKey& k : keys) got.insert(std::get<int64_t>(k));
    std::vector<int64_t> missing, extra;
    std::set_difference(oracle[i].begin(), oracle[i].end(), got.begin(), got.end(),
                        std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), oracle[i].begin(), oracle[i].end(),
                        std::back_inserter(extra));
    INFO("tag t" << i << ": " << missing.size() << " missing, " << extra.size() << " extra");
    CHECK(got == oracle[i]);
  }
}

TEST_CASE("snapshots: an online backup is one committed prefix of a running writer",
          "[concurrency][backup]") {
  TempDir dir;
  tagindex::OpenOptions o;
  o.create_if_missing = true;
  o.index.key_kind = KeyKind::kInt64;
  o.sync = tagindex::SyncPolicy::kNone;
  auto index = Index::Open(dir.path() + "/live", o).value();
  const TagId t = index->CreateTag({.name = "t"}).value();
  // The writer adds customer i and tags it, in order: a committed state is
  // "customers 0..k-1, all tagged" for some k.
  const int n = Scale(20000, 200000);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int64_t i = 0; i < n; ++i) {
      if (!index->Tag(t, i).ok()) std::abort();
      if (i % 5000 == 4999) (void)index->Checkpoint();
    }
    done = true;
  });
  int64_t last = -1;
  int backups = 0;
  while (!done.load() || backups < 2) {
    const std::string copy = absl::StrCat(dir.path(), "/backup-", backups++);
    REQUIRE(index->Backup(copy).ok());
    auto opened = Index::Open(copy, {.create_if_missing = true}).value();
    const int64_t k = static_cast<int64_t>(opened->CustomerCount());
    INFO("backup " << backups << " holds " << k << " customers");
    CHECK(opened->TagCardinality(t).value() == static_cast<uint64_t>(k));
    for (int64_t i : {int64_t{0}, k / 2, k - 1}) {
      if (i < 0 || i >= k) continue;
      CHECK(opened->HasTag(t, i).value());
    }
    CHECK_FALSE(opened->FindCustomer(k).ok());  // nothing past the prefix
    CHECK(k >= last);                           // and prefixes never go back
    last = k;
    std::filesystem::remove_all(copy);
  }
  writer.join();
  CHECK(backups >= 2);
}

// Attribute reads over a small segment go through the column's row cache
// (a row-major copy of each chunk the segment visits, built by whichever
// reader needs it first): readers racing to build the same chunks while a
// writer changes values must each see their snapshot's values exactly. The
// oracle is the same snapshot's GetAttributeValue per row (the slices).
TEST_CASE("snapshots: small-segment aggregates while values change", "[concurrency][snapshot]") {
  constexpr uint32_t kRows = 3 * 65536 + 500;
  // A chunk is built once the slice walk has paid ~3 visits' rent (the
  // default policy would build only after ~90 queries of this segment).
  tagindex::Bsi::SetRowCacheForTesting(tagindex::Bsi::RowCacheMode::kAuto,
                                       tagindex::Bsi::kRowCacheMaxRows,
                                       tagindex::Bsi::RowCacheRent(200) * 3);
  auto index = Index::Create({.key_kind = KeyKind::kIdentity}).value();
  std::vector<int64_t> keys(kRows);
  std::vector<RowId> rows(kRows);
  std::vector<int64_t> values(kRows);
  std::mt19937_64 rng(11);
  for (uint32_t i = 0; i < kRows; ++i) {
    keys[i] = i;
    rows[i] = i;
    values[i] = static_cast<int64_t>(rng() % 200000) - 100000;
  }
  REQUIRE(index->AddCustomers(keys).ok());
  REQUIRE(index->CreateAttribute({.name = "spend"}).ok());
  REQUIRE(index->SetAttributeRows("spend", rows, values).ok());
  const TagId small = index->CreateTag({.name = "small"}).value();
  std::vector<RowId> members;
  for (uint32_t i = 0; i < kRows; i += 331) members.push_back(i);  // ~200 per chunk
  REQUIRE(index->TagRows(small, members).ok());

  std::atomic<bool> stop{false};
  std::atomic<int> checked{0};
  std::atomic<int> failures{0};
  auto reader = [&](uint64_t seed) {
    std::mt19937_64 r(seed);
    while (!stop.load()) {
      const Snapshot snap = index->GetSnapshot();
      const Segment seg = snap.Query("small").value();
      const auto got = snap.SummarizeAttribute("spend", &seg).value();
      const int64_t bound = static_cast<int64_t>(r() % 200000) - 100000;
      const uint64_t count = snap.Count(absl::StrCat("spend >= ", bound, " AND small")).value();
      uint64_t n = 0, above = 0;
      absl::int128 sum = 0;
      std::optional<int64_t> lo, hi;
      for (const auto rows_value = seg.Rows().value(); RowId row : rows_value) {
        const std::optional<int64_t> v = snap.GetAttributeValue("spend", row).value();
        if (!v) continue;
        ++n;
        sum += *v;
        above += *v >= bound;
        lo = lo ? std::min(*lo, *v) : *v;
        hi = hi ? std::max(*hi, *v) : *v;
      }
      if (got.count != n || got.sum != sum || got.min != lo || got.max != hi || count != above) {
        failures.fetch_add(1);
      }
      checked.fetch_add(1);
    }
  };
  std::thread a(reader, 1), b(reader, 2);
  const int commits = Scale(60, 400);
  for (int c = 0; c < commits; ++c) {
    std::vector<RowId> some;
    std::vector<int64_t> vals;
    for (int k = 0; k < 50; ++k) {
      some.push_back(members[rng() % members.size()]);
      vals.push_back(static_cast<int64_t>(rng() % 200000) - 100000);
    }
    REQUIRE(index->SetAttributeRows("spend", some, vals).ok());
  }
  // Let the readers check the final version too.
  const int seen = checked.load();
  while (checked.load() < seen + 4) std::this_thread::yield();
  stop.store(true);
  a.join();
  b.join();
  INFO("snapshots checked " << checked.load());
  CHECK(failures.load() == 0);
  tagindex::Bsi::SetRowCacheForTesting(tagindex::Bsi::RowCacheMode::kAuto);
}
