// Out-of-memory boundaries under a real address-space limit: each case runs
// in a forked child with RLIMIT_AS set a little above what it already uses,
// so an allocation the input asks for fails, as it would on a smaller host.
// The child exits 0 only if the API returned the expected status (no
// exception escaped, no abort). Skipped under AddressSanitizer, whose shadow
// memory needs terabytes of address space.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bitmap/bitmap.h"
#include "storage/coding.h"
#include "storage/snapshot_file.h"
#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"
#include "util/hash.h"

#if defined(__SANITIZE_ADDRESS__)
#define TAGINDEX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAGINDEX_ASAN 1
#endif
#endif

using tagindex::Index;
using tagindex::KeyKind;
using tagindex::OpenOptions;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;
namespace storage = tagindex::storage;

namespace {

uint64_t VirtualBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0;
  statm >> pages;
  return pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

// Runs `body` in a child under an address-space limit of its current size
// plus `headroom`; returns the child's exit code (or 100 + signal).
int InChildUnderLimit(uint64_t headroom, const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const rlim_t limit = VirtualBytes() + headroom;
    struct rlimit rl = {limit, limit};
    if (::setrlimit(RLIMIT_AS, &rl) != 0) ::_exit(90);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return 100 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

// Runs `call` in a child limited to 256 KiB more address space, the free
// memory of its heap taken first (the heap may hold free memory from
// earlier tests, reused without new address space, so the limit would not
// bite): 0 if it returned ResourceExhausted with the out_of_memory kind,
// 20 for another status, 21 without the kind.
int OutOfMemoryInChild(const std::function<absl::Status()>& call) {
  return InChildUnderLimit(uint64_t{256} << 10, [&]() -> int {
    // Take the heap's free memory in 4 KiB blocks, then give 64 KiB back
    // for the error path itself.
    void* held = nullptr;
    while (void* p = std::malloc(4096)) {
      *static_cast<void**>(p) = held;
      held = p;
    }
    for (int i = 0; i < 16 && held != nullptr; ++i) {
      void* next = *static_cast<void**>(held);
      std::free(held);
      held = next;
    }
    const absl::Status st = call();
    if (st.code() != absl::StatusCode::kResourceExhausted) return 20;
    // The error is the API's out-of-memory error (kind out_of_memory).
    const std::optional<tagindex::ErrorInfo> info = tagindex::GetErrorInfo(st);
    if (!info || info->kind != tagindex::ErrorKind::kOutOfMemory) return 21;
    return 0;
  });
}

bool SkipUnderAsan() {
#ifdef TAGINDEX_ASAN
  WARN("TAGINDEX_TEST_SKIPPED: RLIMIT_AS cannot be used under AddressSanitizer");
  return true;
#else
  return false;
#endif
}

// An identity-keyed snapshot whose universe claims every row id there is
// (a run container per chunk: a few hundred KB), with valid checksums.
std::shared_ptr<MemFileSystem> HugeIdentityIndex() {
  auto fs = std::make_shared<MemFileSystem>();
  OpenOptions o = MemOptions(fs);
  o.index.key_kind = KeyKind::kIdentity;
  {
    auto index = Index::Open("/idx", o).value();
    REQUIRE(index->AddCustomer(int64_t{3}).ok());
    REQUIRE(index->Checkpoint().ok());
  }
  std::string path;
  for (const std::string& n : fs->Names()) {
    if (n.find("snapshot-") != std::string::npos) path = n;
  }
  const std::string file = fs->Get(path);
  auto parsed = storage::ParseSnapshot(std::span<const char>(file.data(), file.size()), path);
  REQUIRE(parsed.ok());
  tagindex::Bitmap all;
  all.AddRange(0, uint64_t{tagindex::kMaxRowId} + 1);
  std::string universe;
  all.PortableSerialize(&universe);
  std::string out = file.substr(0, storage::kSnapshotHeaderBytes);
  uint64_t count = 0;
  for (const storage::Section& s : parsed->sections) {
    std::string payload(s.payload.data(), s.payload.size());
    if (s.kind == static_cast<uint32_t>(storage::SectionKind::kOptions)) {
      const uint64_t rows = uint64_t{tagindex::kMaxRowId} + 1;
      for (int i = 0; i < 8; ++i) payload[38 + i] = static_cast<char>(rows >> (8 * i));
    }
    if (s.kind == static_cast<uint32_t>(storage::SectionKind::kUniverse)) payload = universe;
    std::string h;
    storage::PutU32(&h, s.kind);
    storage::PutU32(&h, s.flags);
    storage::PutU64(&h, payload.size());
    const std::string body = h + payload;
    out += body;
    storage::PutU64(&out, tagindex::util::Xxh3(body.data(), body.size()));
    ++count;
  }
  std::string end_payload;
  storage::PutU64(&end_payload, count);
  std::string h;
  storage::PutU32(&h, static_cast<uint32_t>(storage::SectionKind::kEnd));
  storage::PutU32(&h, storage::kSectionRequired);
  storage::PutU64(&h, 8);
  out += h + end_payload;
  storage::PutU64(&out, tagindex::util::Xxh3((h + end_payload).data(), 24));
  fs->Put(path, out);
  return fs;
}

}  // namespace

TEST_CASE("memory: an identity file claiming 2^32 customers opens; LiveRows is ResourceExhausted",
          "[storage][memory]") {
  if (SkipUnderAsan()) return;
  auto fs = HugeIdentityIndex();
  OpenOptions o = MemOptions(fs);
  o.index.key_kind = KeyKind::kIdentity;
  const int code = InChildUnderLimit(uint64_t{1} << 30, [&]() -> int {
    absl::StatusOr<std::unique_ptr<Index>> index = Index::Open("/idx", o);
    if (!index.ok()) return 10;
    if ((*index)->CustomerCount() != uint64_t{tagindex::kMaxRowId} + 1) return 11;
    // 16 GiB of row ids: refused as a status, not an abort.
    absl::StatusOr<std::vector<tagindex::RowId>> rows = (*index)->LiveRows();
    if (rows.status().code() != absl::StatusCode::kResourceExhausted) return 12;
    // Queries keep it compressed and still answer.
    absl::StatusOr<uint64_t> all = (*index)->Count("ALL");
    if (!all.ok() || *all != uint64_t{tagindex::kMaxRowId} + 1) return 13;
    return 0;
  });
  REQUIRE(code == 0);
}

TEST_CASE("memory: an oversized query is refused within bounded memory", "[storage][memory]") {
  if (SkipUnderAsan()) return;
  // 256 MiB of query text; the child may use 256 MiB more (the old error
  // path decoded the whole line into 16 bytes per byte: 4 GiB).
  std::string text(size_t{256} << 20, 'a');
  const int code = InChildUnderLimit(uint64_t{256} << 20, [&]() -> int {
    // Created in the child: an index inherited through fork refuses calls.
    auto index = Index::Create().value();
    absl::StatusOr<uint64_t> r = index->Count(text);
    if (r.status().code() != absl::StatusCode::kResourceExhausted) return 20;
    if (std::string(r.status().message()).find("max_query_bytes") == std::string::npos) return 21;
    return 0;
  });
  REQUIRE(code == 0);
}

TEST_CASE("memory: the catalog lists are ResourceExhausted when they cannot be allocated",
          "[storage][memory]") {
  // ListTags / ListCategories / ListAttributes (on the Index and on a
  // Snapshot) copy every name and description: here 3,000 tags and 2,000
  // categories with 4,000-byte descriptions (about 12 and 8 MB) and 300
  // attribute columns (1.2 MB). In a child limited to 256 KiB more address
  // space, its heap's free memory taken first, each must return
  // ResourceExhausted, not throw; with the memory to spare (checked first,
  // in the parent) each returns everything.
  if (SkipUnderAsan()) return;
  auto index = Index::Create().value();
  const std::string description(4000, 'd');
  tagindex::WriteBatch batch;
  for (int c = 0; c < 2000; ++c) {
    batch.CreateCategory("category" + std::to_string(c), {.description = description});
  }
  for (int t = 0; t < 3000; ++t) {
    batch.CreateTag({.name = "tag" + std::to_string(t),
                     .category = "category" + std::to_string(t % 2000),
                     .description = description});
  }
  REQUIRE(index->Write(batch).ok());
  for (int a = 0; a < 300; ++a) {
    REQUIRE(index->CreateAttribute({.name = "attr" + std::to_string(a), .description = description})
                .ok());
  }
  const tagindex::Snapshot snap = index->GetSnapshot();
  REQUIRE(index->ListTags().value().size() == 3000);
  REQUIRE(index->ListCategories().value().size() == 2000);
  REQUIRE(index->ListAttributes().value().size() == 300);
  REQUIRE(snap.ListTags().value().size() == 3000);
  // Each call in a child of its own (the first refusal must not make the
  // others pass only because memory ran out earlier).
  const std::vector<std::pair<const char*, std::function<absl::Status()>>> calls = {
      {"Index::ListTags", [&] { return index->ListTags().status(); }},
      {"Index::ListCategories", [&] { return index->ListCategories().status(); }},
      {"Index::ListAttributes", [&] { return index->ListAttributes().status(); }},
      {"Snapshot::ListTags", [&] { return snap.ListTags().status(); }},
      {"Snapshot::ListCategories", [&] { return snap.ListCategories().status(); }},
      {"Snapshot::ListAttributes", [&] { return snap.ListAttributes().status(); }},
  };
  for (const auto& [name, call] : calls) {
    INFO(name);
    REQUIRE(OutOfMemoryInChild(call) == 0);
  }
}

TEST_CASE(
    "memory: ListSavedSegments and ListRuleTags are ResourceExhausted when they cannot be "
    "allocated",
    "[storage][memory]") {
  // 150 dynamic saved segments and 150 rule tags, each with a 4,000-byte
  // query (about 600 KB per list): with the memory to spare each list
  // equals the model (names, queries), in a child limited to 256 KiB more
  // address space each call is ResourceExhausted (kind out_of_memory).
  if (SkipUnderAsan()) return;
  auto index = Index::Create().value();
  REQUIRE(index->CreateTag({.name = "t"}).ok());
  std::string query = "t";
  while (query.size() < 4000) query += " OR t";
  std::map<std::string, std::string> saved_model, rule_model;
  for (int i = 0; i < 150; ++i) {
    // Distinct texts (a trailing OR of another width), so a list that
    // mixed them up would not compare equal.
    const std::string q = query + std::string(static_cast<size_t>(i % 7), ' ');
    const std::string name = "saved" + std::to_string(i);
    REQUIRE(index->SaveSegment(name, q, tagindex::SegmentKind::kDynamic).ok());
    saved_model[name] = q;
    const std::string rule = "rule" + std::to_string(i);
    REQUIRE(index->DefineRuleTag(rule, q).ok());
    rule_model[rule] = q;
  }
  const tagindex::Snapshot snap = index->GetSnapshot();
  for (const auto& list : {index->ListSavedSegments(), snap.ListSavedSegments()}) {
    REQUIRE(list.ok());
    std::map<std::string, std::string> got;
    for (const tagindex::SavedSegmentInfo& s : *list) got[s.name] = s.query;
    CHECK(got == saved_model);
  }
  {
    auto rules = index->ListRuleTags();
    REQUIRE(rules.ok());
    std::map<std::string, std::string> got;
    for (const tagindex::RuleTagInfo& r : *rules) got[r.name] = r.query;
    CHECK(got == rule_model);
  }
  const std::vector<std::pair<const char*, std::function<absl::Status()>>> calls = {
      {"Index::ListSavedSegments", [&] { return index->ListSavedSegments().status(); }},
      {"Snapshot::ListSavedSegments", [&] { return snap.ListSavedSegments().status(); }},
      {"Index::ListRuleTags", [&] { return index->ListRuleTags().status(); }},
  };
  for (const auto& [name, call] : calls) {
    INFO(name);
    REQUIRE(OutOfMemoryInChild(call) == 0);
  }
}

TEST_CASE(
    "memory: Segment and ShardedSegment rows and pages are ResourceExhausted when they cannot "
    "be allocated",
    "[storage][memory]") {
  // A segment of about 1.5 M of 3 M customers (6 MB as a vector of row ids,
  // a few hundred KB as a bitmap), chosen with a fixed seed. With the
  // memory to spare, Rows, Page, PageAfter (and the sharded ones) equal a
  // std::vector model; in a child limited to 256 KiB more address space the
  // calls that must allocate MBs are ResourceExhausted (kind out_of_memory),
  // not an escaped std::bad_alloc, and a small page still succeeds.
  if (SkipUnderAsan()) return;
  const uint64_t seed = 20261202;
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  constexpr int64_t kCustomers = 3'000'000;
  std::vector<int64_t> keys(kCustomers);
  for (int64_t i = 0; i < kCustomers; ++i) keys[static_cast<size_t>(i)] = i;
  auto index = Index::Create().value();
  std::vector<tagindex::RowId> assigned;
  REQUIRE(index->AddCustomers(keys, &assigned).ok());
  std::set<tagindex::RowId> chosen;
  for (tagindex::RowId r : assigned) {
    if (rng() % 2 == 0) chosen.insert(r);
  }
  const std::vector<tagindex::RowId> model(chosen.begin(), chosen.end());
  const tagindex::Segment seg = index->SegmentOfRows(model).value();
  REQUIRE(seg.Count() == model.size());

  // Without the limit: against the model.
  CHECK(seg.Rows().value() == model);
  for (int trial = 0; trial < 20; ++trial) {
    const uint64_t offset = rng() % (model.size() + 10);
    const uint64_t limit = rng() % 5000;
    std::vector<tagindex::RowId> want;
    for (uint64_t i = offset; i < model.size() && i < offset + limit; ++i) want.push_back(model[i]);
    CHECK(seg.Page(offset, limit).value() == want);
    CHECK(seg.Slice(offset, limit).value().Rows().value() == want);
  }
  {
    std::vector<tagindex::RowId> walked;
    std::optional<tagindex::RowId> after;
    while (true) {
      const std::vector<tagindex::RowId> page = seg.PageAfter(after, 65536).value();
      if (page.empty()) break;
      walked.insert(walked.end(), page.begin(), page.end());
      after = page.back();
    }
    CHECK(walked == model);
  }
  CHECK(seg.Page(0, UINT64_MAX).value() == model);
  CHECK(seg.PageAfter(std::nullopt, UINT64_MAX).value() == model);

  // The same rows as a two-shard ShardedSegment (shard 1 holds the rows
  // above the middle), against the (shard, row) model.
  const tagindex::RowId middle = static_cast<tagindex::RowId>(kCustomers / 2);
  std::vector<tagindex::RowId> low, high;
  for (tagindex::RowId r : model) (r < middle ? low : high).push_back(r);
  std::vector<tagindex::ShardedRow> sharded_model;
  for (tagindex::RowId r : low) sharded_model.push_back({0, r});
  for (tagindex::RowId r : high) sharded_model.push_back({1, r});
  const tagindex::ShardedSegment sharded(
      nullptr, {index->SegmentOfRows(low).value(), index->SegmentOfRows(high).value()});
  CHECK(sharded.Rows().value() == sharded_model);
  CHECK(sharded.Page(low.size() - 3, 6).value() ==
        std::vector<tagindex::ShardedRow>(sharded_model.begin() + (low.size() - 3),
                                          sharded_model.begin() + (low.size() + 3)));
  {
    std::vector<tagindex::ShardedRow> walked;
    std::optional<tagindex::ShardedRow> after;
    while (true) {
      const std::vector<tagindex::ShardedRow> page = sharded.PageAfter(after, 100'000).value();
      if (page.empty()) break;
      walked.insert(walked.end(), page.begin(), page.end());
      after = page.back();
    }
    CHECK(walked == sharded_model);
  }

  // Under the limit.
  const std::vector<std::pair<const char*, std::function<absl::Status()>>> calls = {
      {"Segment::Rows", [&] { return seg.Rows().status(); }},
      {"Segment::Page", [&] { return seg.Page(0, UINT64_MAX).status(); }},
      {"Segment::Page (from the middle)", [&] { return seg.Page(1000, 1'000'000).status(); }},
      {"Segment::PageAfter", [&] { return seg.PageAfter(std::nullopt, UINT64_MAX).status(); }},
      {"Segment::PageAfter (a cursor)",
       [&] { return seg.PageAfter(model[5], 1'000'000).status(); }},
      {"Segment::Slice", [&] { return seg.Slice(0, UINT64_MAX).status(); }},
      {"ShardedSegment::Rows", [&] { return sharded.Rows().status(); }},
      {"ShardedSegment::Page", [&] { return sharded.Page(10, UINT64_MAX).status(); }},
      {"ShardedSegment::PageAfter",
       [&] { return sharded.PageAfter(std::nullopt, UINT64_MAX).status(); }},
  };
  for (const auto& [name, call] : calls) {
    INFO(name);
    REQUIRE(OutOfMemoryInChild(call) == 0);
  }
  // A small page needs no more than the limit allows: the boundary refuses
  // what cannot be allocated, not every call.
  const int small = InChildUnderLimit(uint64_t{256} << 10, [&]() -> int {
    absl::StatusOr<std::vector<tagindex::RowId>> page = seg.Page(1000, 100);
    if (!page.ok()) return 30;
    return *page == std::vector<tagindex::RowId>(model.begin() + 1000, model.begin() + 1100) ? 0
                                                                                             : 31;
  });
  CHECK(small == 0);
}
