// ShardedIndex against an unsharded Index and a naive std::set model: the
// differential world and generator of tests/query (random data, random
// queries, attribute aggregates) for N = 1, 2, 7 shards with hashed int64
// keys and with identity keys by row range; catalog changes reaching every
// shard; a damaged manifest and a shard that disagrees with it; catalog
// changes racing queries. Seeds are printed on failure.
#include "tagindex/sharded_index.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "query/random_query.h"
#include "shard/shard_dump.h"
#include "storage/storage_test_util.h"
#include "util/hash.h"

using tagindex::CustomerKey;
using tagindex::Index;
using tagindex::KeyKind;
using tagindex::QueryOptions;
using tagindex::RowId;
using tagindex::ShardedIndex;
using tagindex::ShardedOpenOptions;
using tagindex::ShardedRow;
using tagindex::ShardedSegment;
using tagindex::TagId;
using tagindex::testing::Generator;
using tagindex::testing::kToday;
using tagindex::testing::MakeWorld;
using tagindex::testing::Set;
using tagindex::testing::World;

namespace {

std::string TempDir(const char* name) {
  std::string tmpl = std::string("/tmp/tagindex-") + name + "-XXXXXX";
  return ::mkdtemp(tmpl.data());
}

// The same data as the world's index, loaded through the sharded API with
// keys = row ids (hashed int64 keys, or identity keys by range).
// In memory, or on disk in `path` when given.
std::unique_ptr<ShardedIndex> ShardedCopy(const World& w, uint32_t shards, KeyKind kind,
                                          uint64_t rows_per_shard, uint32_t threads,
                                          const std::string& path = "") {
  ShardedOpenOptions o;
  o.shard.create_if_missing = true;
  o.create.shards = shards;
  o.create.index.key_kind = kind;
  o.create.rows_per_shard = rows_per_shard;
  o.threads = threads;
  o.shard.sync = tagindex::SyncPolicy::kNone;
  auto s =
      path.empty() ? ShardedIndex::CreateInMemory(o).value() : ShardedIndex::Open(path, o).value();
  std::vector<int64_t> all;
  for (RowId r = 0; r < w.index->RowIdLimit(); ++r) all.push_back(r);
  REQUIRE(s->AddCustomers(all).ok());
  REQUIRE(s->CreateCategory("购买频率", {.exclusive = true}).ok());
  for (const auto& t : w.tags) {
    TagId id = s->CreateTag({.name = t.name, .category = t.category}).value();
    std::vector<int64_t> keys(t.rows.begin(), t.rows.end());
    REQUIRE(s->TagMany(id, keys).ok());
  }
  for (size_t i = 0; i < w.freq_values.size(); ++i) {
    TagId id = s->CreateTag({.name = w.freq_values[i], .category = "购买频率"}).value();
    std::vector<int64_t> keys(w.freq_rows[i].begin(), w.freq_rows[i].end());
    REQUIRE(s->TagMany(id, keys).ok());
  }
  for (const auto& a : w.attrs) {
    REQUIRE(s->CreateAttribute({.name = a.name, .type = a.type, .scale = a.scale}).ok());
    std::vector<int64_t> keys, vals;
    for (RowId r = 0; r < a.values.size(); ++r) {
      if (a.values[r]) {
        keys.push_back(r);
        vals.push_back(*a.values[r]);
      }
    }
    REQUIRE(s->SetAttributeMany(a.name, keys, vals).ok());
  }
  std::vector<int64_t> removed;
  for (int64_t k : all) {
    if (!w.universe.count(static_cast<RowId>(k))) removed.push_back(k);
  }
  REQUIRE(s->RemoveCustomers(removed).ok());
  return s;
}

int64_t KeyInt(const CustomerKey& k) { return std::get<int64_t>(k); }

// Naive aggregates of one attribute over a set of rows.
void CheckAggregates(const ShardedIndex& s, const ShardedSegment& seg, const World& w,
                     const Set& rows) {
  for (const auto& a : w.attrs) {
    INFO("attribute " << a.name);
    std::vector<int64_t> vals;
    absl::int128 sum = 0;
    for (RowId r : rows) {
      if (a.values[r]) {
        vals.push_back(*a.values[r]);
        sum += *a.values[r];
      }
    }
    std::sort(vals.begin(), vals.end());
    auto summary = s.SummarizeAttribute(a.name, &seg);
    REQUIRE(summary.ok());
    CHECK(summary->count == vals.size());
    CHECK(summary->sum == sum);
    if (!vals.empty()) {
      CHECK(summary->min == vals.front());
      CHECK(summary->max == vals.back());
    } else {
      CHECK(!summary->min);
    }
    for (double q : {0.0, 0.1, 0.5, 0.77, 1.0}) {
      auto got = s.AttributeQuantile(a.name, q, &seg);
      REQUIRE(got.ok());
      if (vals.empty()) {
        CHECK(!*got);
        continue;
      }
      uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(vals.size())));
      rank = std::clamp<uint64_t>(rank, 1, vals.size());
      INFO("q " << q);
      CHECK(**got == vals[rank - 1]);
    }
    for (bool largest : {true, false}) {
      auto top = s.TopAttribute(a.name, 5, largest, &seg);
      REQUIRE(top.ok());
      std::vector<int64_t> want = vals;
      if (largest) std::reverse(want.begin(), want.end());
      want.resize(std::min<size_t>(5, want.size()));
      std::vector<int64_t> got;
      for (const auto& e : *top) got.push_back(e.value);
      CHECK(got == want);
      for (const auto& e : *top) {  // the entry's row holds that value
        auto key = s.KeyOf(e.at);
        REQUIRE(key.ok());
        CHECK(a.values[static_cast<size_t>(KeyInt(*key))] == e.value);
      }
    }
    if (vals.size() >= 2) {
      const int64_t bounds[3] = {vals.front(), vals[vals.size() / 2],
                                 vals.back() == INT64_MAX ? INT64_MAX : vals.back() + 1};
      if (bounds[0] < bounds[1] && bounds[1] < bounds[2]) {
        auto h = s.AttributeHistogram(a.name, bounds, &seg);
        REQUIRE(h.ok());
        uint64_t c0 = 0, c1 = 0;
        for (int64_t v : vals) {
          if (v >= bounds[0] && v < bounds[1]) ++c0;
          if (v >= bounds[1] && v < bounds[2]) ++c1;
        }
        CHECK((*h)[0] == c0);
        CHECK((*h)[1] == c1);
      }
    }
  }
}

}  // namespace

TEST_CASE("sharded: random queries equal the unsharded index and the naive model", "[shard]") {
  const uint64_t world_seed = GENERATE(20261201ull, 77ull);
  World w = MakeWorld(world_seed);
  struct Config {
    uint32_t shards;
    KeyKind kind;
    uint64_t rows_per_shard;
    uint32_t threads;
  };
  const Config configs[] = {{1, KeyKind::kInt64, 0, 1},
                            {2, KeyKind::kInt64, 0, 2},
                            {7, KeyKind::kInt64, 0, 3},
                            {2, KeyKind::kIdentity, 300, 2},
                            {7, KeyKind::kIdentity, 90, 2}};
  const int queries = tagindex::testing::Full() ? 3000 : 150;
  for (const Config& c : configs) {
    INFO("world seed " << world_seed << ", " << c.shards << " shards, key kind "
                       << static_cast<int>(c.kind) << ", threads " << c.threads);
    // Int64 keys are loaded through the routed calls; identity keys (the
    // world's own kind) through LoadFrom, the bulk copy of `shard split`.
    std::unique_ptr<ShardedIndex> s;
    if (c.kind == KeyKind::kIdentity) {
      ShardedOpenOptions o;
      o.shard.create_if_missing = true;
      o.create.shards = c.shards;
      o.create.index.key_kind = c.kind;
      o.create.rows_per_shard = c.rows_per_shard;
      o.threads = c.threads;
      s = ShardedIndex::CreateInMemory(o).value();
      REQUIRE(s->LoadFrom(*w.index).ok());
      CHECK(s->LoadFrom(*w.index).code() == absl::StatusCode::kFailedPrecondition);
    } else {
      s = ShardedCopy(w, c.shards, c.kind, c.rows_per_shard, c.threads);
    }
    REQUIRE(s->CustomerCount() == w.universe.size());
    REQUIRE(s->TagCount() == w.index->TagCount());
    // Customers really are spread (every shard holds some when N > 1).
    if (c.shards > 1) {
      const ShardedSegment all = s->AllCustomers();
      for (uint64_t n : all.ShardCounts()) CHECK(n > 0);
    }
    QueryOptions qo;
    qo.today = kToday;
    Generator gen(w, world_seed * 31 + c.shards);
    for (int i = 0; i < queries; ++i) {
      Set want;
      const std::string text = gen.Gen(0, 1 + i % 8, &want);
      INFO("query " << i << ": " << text);
      auto count = s->Count(text, qo);
      REQUIRE(count.ok());
      REQUIRE(*count == want.size());
      REQUIRE(*count == w.index->Count(text, qo).value());
      if (i % 8 != 0) continue;
      auto seg = s->Query(text, qo);
      REQUIRE(seg.ok());
      REQUIRE(seg->Count() == want.size());
      auto keys = seg->Keys(0, seg->Count());
      REQUIRE(keys.ok());
      std::vector<int64_t> got;
      for (const auto& k : *keys) got.push_back(KeyInt(k));
      if (c.kind == KeyKind::kIdentity) {
        // Range routing: (shard, row) order is key order.
        CHECK(std::is_sorted(got.begin(), got.end()));
      }
      std::sort(got.begin(), got.end());
      CHECK(got == std::vector<int64_t>(want.begin(), want.end()));
      // Pages and cursors walk the same (shard, row) order.
      std::vector<ShardedRow> rows = seg->Rows().value();
      CHECK(std::is_sorted(rows.begin(), rows.end()));
      std::vector<ShardedRow> walked;
      std::optional<ShardedRow> cursor;
      for (;;) {
        auto page = seg->PageAfter(cursor, 37).value();
        if (page.empty()) break;
        walked.insert(walked.end(), page.begin(), page.end());
        cursor = page.back();
      }
      CHECK(walked == rows);
      if (rows.size() > 50)
        CHECK(seg->Page(40, 10).value() == std::vector(rows.begin() + 40, rows.begin() + 50));
      if (i % 24 == 0) CheckAggregates(*s, *seg, w, want);
      if (i % 64 == 0) {
        auto ex = s->Explain(text, qo);
        REQUIRE(ex.ok());
        CHECK(ex->count == want.size());
        CHECK(ex->shards.size() == c.shards);
        CHECK(ex->ToString().find("slowest") != std::string::npos);
      }
    }
    // Aggregates over every customer (no segment).
    const ShardedSegment all = s->AllCustomers();
    CheckAggregates(*s, all, w, w.universe);
    auto direct = s->SummarizeAttribute("年龄");
    REQUIRE(direct.ok());
    CHECK(direct->sum == w.index->SummarizeAttribute("年龄").value().sum);
  }
}

TEST_CASE("sharded: routing is the documented hash, and identity keys go by range", "[shard]") {
  ShardedOpenOptions o;
  o.shard.create_if_missing = true;
  o.create.shards = 7;
  auto s = ShardedIndex::CreateInMemory(o).value();
  std::mt19937_64 rng(5);
  for (int i = 0; i < 1000; ++i) {
    const int64_t key = static_cast<int64_t>(rng());
    unsigned char b[8];
    for (int j = 0; j < 8; ++j)
      b[j] = static_cast<unsigned char>(static_cast<uint64_t>(key) >> (8 * j));
    const uint64_t h = tagindex::util::Xxh3Seeded(b, 8, tagindex::kShardRoutingSeed);
    REQUIRE(s->ShardOf(key).value() == h % 7);
  }
  // The seed is part of the format (docs/sharding.md): changing it would
  // route existing customers to other shards.
  CHECK(tagindex::kShardRoutingSeed == 0x7461676964783137ull);
  CHECK(s->ShardOf(std::string_view("x")).status().code() == absl::StatusCode::kInvalidArgument);
  o.create.index.key_kind = KeyKind::kIdentity;
  o.create.rows_per_shard = 1000;
  auto id = ShardedIndex::CreateInMemory(o).value();
  CHECK(id->ShardOf(int64_t{0}).value() == 0);
  CHECK(id->ShardOf(int64_t{999}).value() == 0);
  CHECK(id->ShardOf(int64_t{1000}).value() == 1);
  CHECK(id->ShardOf(int64_t{6999}).value() == 6);
  auto out = id->ShardOf(int64_t{7000});
  CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(out.status().message()).find("7000") != std::string::npos);
  REQUIRE(id->AddCustomers(std::vector<int64_t>{5, 1005, 6500}).ok());
  CHECK(id->FindCustomer(int64_t{1005}).value() == ShardedRow{1, 5});
  CHECK(std::get<int64_t>(id->KeyOf({6, 500}).value()) == 6500);
  o.create.shards = 0;
  CHECK(ShardedIndex::CreateInMemory(o).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("sharded: catalog changes reach every shard with the same ids, and persist", "[shard]") {
  const std::string dir = TempDir("sharded-cat");
  ShardedOpenOptions o;
  o.shard.create_if_missing = true;
  o.create.shards = 3;
  o.create.index.key_kind = KeyKind::kString;
  o.threads = 2;
  {
    auto s = ShardedIndex::Open(dir, o).value();
    REQUIRE(s->CreateCategory("购买频率", {.exclusive = true}).ok());
    TagId hi = s->CreateTag({.name = "高频", .category = "购买频率"}).value();
    TagId lo = s->CreateTag({.name = "低频", .category = "购买频率"}).value();
    TagId vip = s->CreateTag({.name = "高价值客户", .description = "消费前 5%"}).value();
    const uint64_t gen = s->generation();
    auto dup = s->CreateTag({.name = "高价值客户"});
    CHECK(dup.status().code() == absl::StatusCode::kAlreadyExists);
    CHECK(s->generation() == gen + 2);  // intent written, then withdrawn
    std::vector<std::string> owned;
    for (int i = 0; i < 300; ++i) owned.push_back("c" + std::to_string(i));
    std::vector<std::string_view> keys(owned.begin(), owned.end());
    REQUIRE(s->TagMany(vip, keys).ok());
    REQUIRE(s->TagMany(hi, keys).ok());
    REQUIRE(s->TagMany(lo, std::span(keys).first(100)).ok());  // exclusive, per shard
    CHECK(s->GetTag(vip).value().count == 300);
    CHECK(s->GetTag(hi).value().count == 200);
    CHECK(s->Count("高频 OR 低频").value() == 300);
    REQUIRE(s->RenameTag(vip, "VIP").ok());
    REQUIRE(s->DeleteTag(lo).ok());
    REQUIRE(s->CreateAttribute(
                 {.name = "消费金额", .type = tagindex::AttributeType::kDecimal, .scale = 2})
                .ok());
    for (uint32_t i = 0; i < 3; ++i) {
      INFO("shard " << i);
      CHECK(s->shard(i).FindTag("VIP").value() == vip);
      CHECK(s->shard(i).FindTag("低频").status().code() == absl::StatusCode::kNotFound);
      CHECK(s->shard(i).GetCategory("购买频率").value().exclusive);
      CHECK(s->shard(i).GetAttribute("消费金额").ok());
      CHECK(s->shard(i).CustomerCount() > 50);
    }
    CHECK(s->Count("VIP AND NOT 高频").value() == 100);
    REQUIRE(s->Checkpoint().ok());
  }
  {
    auto s = ShardedIndex::Open(dir, o).value();
    CHECK(s->repair_report().empty());
    CHECK(s->Count("VIP AND NOT 高频").value() == 100);
    CHECK(s->FindCustomer(std::string_view("c7")).ok());
    CHECK(s->ListTags().value().size() == 2);
    // A shard changed behind the manifest's back is detected on open.
    REQUIRE(s->shard(1).CreateTag({.name = "私自"}).ok());
  }
  auto bad = ShardedIndex::Open(dir, o);
  CHECK(bad.status().code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(bad.status().message()).find("shard 1") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("sharded: a damaged manifest is DataLoss naming the file", "[shard]") {
  const std::string dir = TempDir("sharded-bad");
  ShardedOpenOptions o;
  o.shard.create_if_missing = true;
  o.create.shards = 2;
  {
    auto s = ShardedIndex::Open(dir, o).value();
    REQUIRE(s->CreateTag({.name = "高价值客户"}).ok());
  }
  const std::string path = dir + "/MANIFEST";
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << b;
  };
  std::mt19937_64 rng(9);
  for (int i = 0; i < 200; ++i) {
    std::string b = bytes;
    const int mode = i % 3;
    if (mode == 0) {
      b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
    } else if (mode == 1) {
      b.resize(rng() % b.size());
    } else {
      b.insert(rng() % b.size(), "x");
    }
    write(b);
    INFO("variant " << i << " mode " << mode);
    auto s = ShardedIndex::Open(dir, o);
    REQUIRE(!s.ok());
    CHECK(s.status().code() == absl::StatusCode::kDataLoss);
    CHECK(std::string(s.status().message()).find(path) != std::string::npos);
  }
  write(bytes);
  CHECK(ShardedIndex::Open(dir, o).ok());
  // Valid checksum, hostile content: a shard count over the limit is refused
  // before any shard is opened (it sizes Open's work).
  {
    std::string b = bytes.substr(0, bytes.rfind("checksum "));
    const size_t at = b.find("shards 2\n");
    REQUIRE(at != std::string::npos);
    b.replace(at, 9, "shards 5000\n");
    char sum[32];
    std::snprintf(sum, sizeof sum, "%016llx",
                  static_cast<unsigned long long>(tagindex::util::Xxh3(b)));
    write(b + "checksum " + sum + "\n");
    auto s = ShardedIndex::Open(dir, o);
    REQUIRE(!s.ok());
    CHECK(s.status().code() == absl::StatusCode::kDataLoss);
    CHECK(std::string(s.status().message()).find("shards must be 1..4096, not 5000") !=
          std::string::npos);
  }
  write(bytes);
  // After a catalog change, a missing shard is lost data, never recreated empty.
  std::filesystem::remove_all(dir + "/shard-0001");
  auto missing = ShardedIndex::Open(dir, o);
  REQUIRE(!missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(missing.status().message()).find("shard-0001 is missing") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir + "/shard-0001"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("sharded: catalog changes racing queries are seen on all shards or none", "[shard]") {
  ShardedOpenOptions o;
  o.shard.create_if_missing = true;
  o.create.shards = 5;
  o.threads = 2;
  auto s = ShardedIndex::CreateInMemory(o).value();
  TagId base = s->CreateTag({.name = "base"}).value();
  std::vector<int64_t> keys;
  for (int64_t k = 0; k < 5000; ++k) keys.push_back(k * 7919);
  REQUIRE(s->TagMany(base, keys).ok());
  std::atomic<int> round{0};
  std::atomic<bool> stop{false};
  std::atomic<int> ok_queries{0}, not_found{0}, wrong{0}, queries{0};
  auto reader = [&] {
    while (!stop) {
      const int r = round.load();
      const std::string name = "t" + std::to_string(r);
      auto c = s->Count("base AND NOT " + name);
      if (c.ok()) {
        // The tag is empty, or holds some of the first 100 keys (a TagMany
        // is atomic per shard, not across shards).
        (*c >= 4900 && *c <= 5000 ? ok_queries : wrong)++;
      } else if (c.status().code() == absl::StatusCode::kNotFound) {
        not_found++;
      } else {
        wrong++;
      }
      auto info = s->ListTags().value();
      if (info.empty() || info[0].count != 5000) wrong++;
      queries++;
    }
  };
  // Each round waits (bounded) until a reader has finished a query during
  // it, so the readers really race the catalog changes even when the
  // scheduler starves them on a loaded machine.
  auto await_a_query = [&](int since) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (queries.load() <= since && std::chrono::steady_clock::now() < until) {
      std::this_thread::yield();
    }
  };
  std::thread r1(reader), r2(reader);
  const int rounds = tagindex::testing::Full() ? 300 : 40;
  for (int i = 0; i < rounds; ++i) {
    const std::string name = "t" + std::to_string(i);
    const int before = queries.load();
    TagId t = s->CreateTag({.name = name}).value();
    round = i;
    REQUIRE(s->TagMany(t, std::span(keys).first(100)).ok());
    await_a_query(before);
    REQUIRE(s->RenameTag(t, name + "x").ok());
    REQUIRE(s->RenameTag(t, name).ok());
    REQUIRE(s->DeleteTag(t).ok());
  }
  stop = true;
  r1.join();
  r2.join();
  INFO("ok " << ok_queries << " not found " << not_found);
  CHECK(wrong == 0);
  CHECK(ok_queries + not_found > 0);
}

namespace {

bool SameDouble(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

void CheckSameRows(const std::vector<tagindex::ProfileRow>& got,
                   const std::vector<tagindex::ProfileRow>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("row " << i << ": " << want[i].category << ":" << want[i].name);
    CHECK(got[i].name == want[i].name);
    CHECK(got[i].category == want[i].category);
    CHECK(got[i].count == want[i].count);
    CHECK(got[i].overall == want[i].overall);
    CHECK(SameDouble(got[i].share_in_segment, want[i].share_in_segment));
    CHECK(SameDouble(got[i].share_overall, want[i].share_overall));
    CHECK(SameDouble(got[i].tgi, want[i].tgi));
    CHECK(got[i].attribute_count == want[i].attribute_count);
    CHECK(got[i].attribute_sum == want[i].attribute_sum);
    CHECK(SameDouble(got[i].attribute_mean, want[i].attribute_mean));
  }
}

}  // namespace

TEST_CASE("sharded analytics: every result equals the unsharded index's", "[shard][analytics]") {
  const uint64_t world_seed = GENERATE(20261201ull, 5ull);
  World w = MakeWorld(world_seed);
  // A second exclusive category, for crosstabs: each row one city or none.
  REQUIRE(w.index->CreateCategory("城市", {.exclusive = true}).ok());
  std::mt19937_64 rng(world_seed + 1);
  std::vector<std::vector<int64_t>> city_rows(3);
  for (RowId r = 0; r < w.index->RowIdLimit(); ++r) {
    const uint64_t c = rng() % 4;
    if (c < 3) city_rows[c].push_back(r);
  }
  const char* const kCities[] = {"杭州", "上海", "北京"};
  for (int c = 0; c < 3; ++c) {
    TagId t = w.index->CreateTag({.name = kCities[c], .category = "城市"}).value();
    REQUIRE(w.index->TagMany(t, city_rows[c]).ok());
  }
  struct Config {
    uint32_t shards;
    KeyKind kind;
    uint64_t rows_per_shard;
  };
  const Config configs[] = {{1, KeyKind::kIdentity, 0},
                            {2, KeyKind::kIdentity, 300},
                            {7, KeyKind::kIdentity, 90},
                            {5, KeyKind::kInt64, 0}};
  for (const Config& c : configs) {
    INFO("world seed " << world_seed << ", " << c.shards << " shards, key kind "
                       << static_cast<int>(c.kind));
    std::unique_ptr<ShardedIndex> s;
    if (c.kind == KeyKind::kIdentity) {
      ShardedOpenOptions o;
      o.shard.create_if_missing = true;
      o.create.shards = c.shards;
      o.create.index.key_kind = c.kind;
      o.create.rows_per_shard = c.rows_per_shard;
      o.threads = 2;
      s = ShardedIndex::CreateInMemory(o).value();
      REQUIRE(s->LoadFrom(*w.index).ok());
    } else {
      s = ShardedCopy(w, c.shards, c.kind, c.rows_per_shard, 2);  // hash-routed int64 keys
      REQUIRE(s->CreateCategory("城市", {.exclusive = true}).ok());
      for (int k = 0; k < 3; ++k) {
        TagId t = s->CreateTag({.name = kCities[k], .category = "城市"}).value();
        REQUIRE(s->TagMany(t, city_rows[k]).ok());
      }
    }
    // Tag ids by name on each side (they need not be equal).
    auto ids = [](auto& index, const std::vector<std::pair<std::string, std::string>>& names) {
      std::vector<TagId> out;
      for (const auto& [cat, name] : names) out.push_back(index.FindTag(cat, name).value());
      return out;
    };
    std::vector<std::pair<std::string, std::string>> some;
    const auto listed11 = w.index->ListTags().value();
    for (const tagindex::TagInfo& t : listed11) {
      if (some.size() < 6) some.push_back({t.category, t.name});
    }
    QueryOptions qo;
    qo.today = kToday;
    Generator gen(w, world_seed * 13 + c.shards);
    for (int q = 0; q < 12; ++q) {
      Set unused;
      const std::string text = q == 0 ? "ALL" : gen.Gen(0, 1 + q % 4, &unused);
      INFO("segment query " << q << ": " << text);
      const ShardedSegment ss = s->Query(text, qo).value();
      const tagindex::Segment us = w.index->Query(text, qo).value();
      for (const std::optional<std::string>& category :
           {std::optional<std::string>(), std::optional<std::string>("购买频率")}) {
        tagindex::ProfileOptions po;
        po.category = category;
        po.attribute = w.attrs.empty() ? "" : w.attrs[0].name;
        auto got = s->Profile(ss, po);
        auto want = w.index->Profile(us, po);
        REQUIRE(got.ok());
        REQUIRE(want.ok());
        CHECK(got->segment_count == want->segment_count);
        CHECK(got->universe_count == want->universe_count);
        CheckSameRows(got->rows, want->rows);
      }
      for (auto by : {tagindex::TopTagsBy::kCount, tagindex::TopTagsBy::kTgi}) {
        tagindex::TopTagsOptions to{.n = 5, .by = by, .min_count = uint64_t(q % 3)};
        auto got = s->TopTags(ss, to);
        auto want = w.index->TopTags(us, to);
        REQUIRE(got.ok());
        REQUIRE(want.ok());
        CheckSameRows(*got, *want);
      }
      for (bool whole : {true, false}) {
        const std::vector<TagId> sid = ids(*s, some), uid = ids(*w.index, some);
        auto got = s->CoOccurrenceOf(sid, whole ? nullptr : &ss);
        auto want = w.index->CoOccurrenceOf(uid, whole ? nullptr : &us);
        REQUIRE(got.ok());
        REQUIRE(want.ok());
        CHECK(got->population == want->population);
        CHECK(got->counts == want->counts);
        CHECK(got->names == want->names);
        for (size_t i = 0; i < got->jaccard.size(); ++i) {
          CHECK(SameDouble(got->jaccard[i], want->jaccard[i]));
          CHECK(SameDouble(got->lift[i], want->lift[i]));
        }
        auto gx = s->CrosstabOf("购买频率", "城市", whole ? nullptr : &ss);
        auto wx = w.index->CrosstabOf("购买频率", "城市", whole ? nullptr : &us);
        REQUIRE(gx.ok());
        REQUIRE(wx.ok());
        CHECK(gx->row_names == wx->row_names);
        CHECK(gx->col_names == wx->col_names);
        CHECK(gx->counts == wx->counts);
        CHECK(gx->row_totals == wx->row_totals);
        CHECK(gx->col_totals == wx->col_totals);
        CHECK(gx->row_none_by_col == wx->row_none_by_col);
        CHECK(gx->col_none_by_row == wx->col_none_by_row);
        CHECK(gx->none_none == wx->none_none);
        CHECK(gx->total == wx->total);
        auto gc = s->Coverage(whole ? nullptr : &ss);
        auto wc = w.index->Coverage(whole ? nullptr : &us);
        REQUIRE(gc.ok());
        REQUIRE(wc.ok());
        CHECK(gc->population == wc->population);
        REQUIRE(gc->tags.size() == wc->tags.size());
        for (size_t i = 0; i < gc->tags.size(); ++i) {
          CHECK(gc->tags[i].name == wc->tags[i].name);
          CHECK(gc->tags[i].count == wc->tags[i].count);
          CHECK(gc->tags[i].share == wc->tags[i].share);
        }
        REQUIRE(gc->categories.size() == wc->categories.size());
        for (size_t i = 0; i < gc->categories.size(); ++i) {
          CHECK(gc->categories[i].category == wc->categories[i].category);
          CHECK(gc->categories[i].covered == wc->categories[i].covered);
          CHECK(gc->categories[i].uncovered == wc->categories[i].uncovered);
          CHECK(gc->categories[i].share == wc->categories[i].share);
        }
      }
    }
    // Errors as the Index's: a segment of another sharded index, n == 0,
    // an unknown category.
    auto other = ShardedIndex::CreateInMemory({}).value();
    CHECK(s->Profile(other->AllCustomers()).status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(s->TopTags(s->AllCustomers(), {.n = 0}).status().code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(s->CrosstabOf("购买频率", "没有").status().code() == absl::StatusCode::kNotFound);
  }
}

namespace {

// Every file under `dir` with its size and modification time.
std::map<std::string, std::pair<uintmax_t, std::filesystem::file_time_type>> Listing(
    const std::string& dir) {
  std::map<std::string, std::pair<uintmax_t, std::filesystem::file_time_type>> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[e.path().string()] = {e.file_size(), e.last_write_time()};
  }
  return out;
}

}  // namespace

TEST_CASE("sharded reshard: the new index holds the source's data and answers as it does",
          "[shard][reshard]") {
  const uint64_t world_seed = GENERATE(4711ull, 99ull);
  World w = MakeWorld(world_seed);
  // On tmpfs when there is one (the checkpoints' fsyncs cost nothing there).
  std::string tmpl = std::filesystem::is_directory("/dev/shm") ? "/dev/shm/tagindex-reshard-XXXXXX"
                                                               : "/tmp/tagindex-reshard-XXXXXX";
  const std::string root = ::mkdtemp(tmpl.data());
  struct Config {
    uint32_t from, to;
    KeyKind kind;
    uint64_t rows_per_shard;
  };
  const Config configs[] = {{3, 1, KeyKind::kInt64, 0},
                            {2, 7, KeyKind::kInt64, 0},
                            {7, 2, KeyKind::kIdentity, 90},
                            {1, 4, KeyKind::kIdentity, 0}};
  int n = 0;
  for (const Config& c : configs) {
    INFO("world seed " << world_seed << ": " << c.from << " -> " << c.to << " shards, key kind "
                       << static_cast<int>(c.kind));
    const std::string src = root + "/src" + std::to_string(n);
    const std::string dest = root + "/dest" + std::to_string(n++);
    {
      std::unique_ptr<ShardedIndex> s;
      if (c.kind == KeyKind::kIdentity) {
        ShardedOpenOptions o;
        o.shard.create_if_missing = true;
        o.create.shards = c.from;
        o.create.index.key_kind = c.kind;
        o.create.rows_per_shard = c.rows_per_shard;
        o.shard.sync = tagindex::SyncPolicy::kNone;
        s = ShardedIndex::Open(src, o).value();
        REQUIRE(s->LoadFrom(*w.index).ok());
      } else {
        s = ShardedCopy(w, c.from, c.kind, c.rows_per_shard, 2, src);
      }
      // Descriptions travel too.
      REQUIRE(s->CreateCategory("说明类", {.description = "类别说明"}).ok());
      REQUIRE(s->SetTagDescription(s->ListTags().value()[0].id, "标签说明").ok());
      REQUIRE(s->Checkpoint().ok());
    }
    const auto before = Listing(src);
    REQUIRE(ShardedIndex::Reshard(src, dest, c.to, 0, 2).ok());
    CHECK(Listing(src) == before);  // never written
    CHECK(!std::filesystem::exists(dest + ".reshard-tmp"));
    ShardedOpenOptions ro;
    ro.shard.create_if_missing = true;
    ro.shard.read_only = true;
    ro.shard.create_if_missing = false;
    ro.threads = 2;
    auto old_index = ShardedIndex::Open(src, ro).value();
    auto new_index = ShardedIndex::Open(dest, ro).value();
    CHECK(new_index->shard_count() == c.to);
    CHECK(new_index->key_kind() == c.kind);
    CHECK(tagindex::testing::DeepDump(*new_index) == tagindex::testing::DeepDump(*old_index));
    if (c.to > 1 && c.kind == KeyKind::kInt64) {  // hashed: spread (identity: by range)
      for (uint64_t k : new_index->AllCustomers().ShardCounts()) CHECK(k > 0);
    }
    QueryOptions qo;
    qo.today = kToday;
    Generator gen(w, world_seed * 7 + c.to);
    for (int i = 0; i < 60; ++i) {
      Set want;
      const std::string text = gen.Gen(0, 1 + i % 6, &want);
      INFO("query " << i << ": " << text);
      auto got = new_index->Count(text, qo);
      REQUIRE(got.ok());
      CHECK(*got == want.size());
      CHECK(*got == old_index->Count(text, qo).value());
      if (i % 10 == 0) {
        const ShardedSegment seg = new_index->Query(text, qo).value();
        CheckAggregates(*new_index, seg, w, want);
      }
    }
  }
  // Errors: nothing is written where it should not be.
  const std::string src = root + "/src0";
  CHECK(ShardedIndex::Reshard(src, root + "/dest0", 2).code() == absl::StatusCode::kAlreadyExists);
  std::filesystem::create_directory(root + "/busy.reshard-tmp");
  CHECK(ShardedIndex::Reshard(src, root + "/busy", 2).code() == absl::StatusCode::kAlreadyExists);
  CHECK(!std::filesystem::exists(root + "/busy"));
  CHECK(ShardedIndex::Reshard(src, root + "/zero", 0).code() == absl::StatusCode::kInvalidArgument);
  CHECK(!std::filesystem::exists(root + "/zero"));
  CHECK(!std::filesystem::exists(root + "/zero.reshard-tmp"));
  CHECK(ShardedIndex::Reshard(root + "/missing", root + "/m2", 2).code() ==
        absl::StatusCode::kNotFound);
  // Identity keys that do not fit the new ranges: InvalidArgument, nothing left.
  const absl::Status tight = ShardedIndex::Reshard(root + "/src2", root + "/tight", 2, 10);
  CHECK(tight.code() == absl::StatusCode::kInvalidArgument);
  CHECK(!std::filesystem::exists(root + "/tight"));
  CHECK(!std::filesystem::exists(root + "/tight.reshard-tmp"));
  std::filesystem::remove_all(root);
}
