// Persistence costs (workload 9 of PERFORMANCE.md): Checkpoint and Open of
// N customers x 1,000 Zipf tags, against the time to merely read the
// snapshot's bytes (baseline, same run); snapshot size against the sum of
// the tags' portable Roaring sizes; mutation throughput per sync policy on
// the local disk (a directory under /tmp).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "tagindex/tagindex.h"
#include "workload.h"

namespace tagindex::bench {
namespace {

std::string MakeTempDir() {
  char tmpl[] = "/tmp/tagindex-bench-XXXXXX";
  return ::mkdtemp(tmpl);
}

// One saved index per customer count, built once and shared by the
// checkpoint and open benchmarks; removed at exit.
struct Saved {
  std::string dir;
  std::unique_ptr<Index> index;
  uint64_t portable_sum = 0;  // sum of the tags' portable sizes
  uint64_t ids = 0;
};

std::map<uint64_t, std::unique_ptr<Saved>>& Cache() {
  static auto* cache = new std::map<uint64_t, std::unique_ptr<Saved>>();
  return *cache;
}

struct CleanUp {
  ~CleanUp() {
    for (auto& [n, saved] : Cache()) {
      saved->index.reset();
      std::filesystem::remove_all(saved->dir);
    }
  }
} clean_up;

// `kind`: identity keys (row id = key, no map), int64 keys (phone-number-like
// ids) or string keys (the same ids as text, "C13800007919").
Saved& Get(uint32_t customers, KeyKind kind = KeyKind::kIdentity) {
  auto& slot = Cache()[uint64_t{customers} * 4 + static_cast<uint64_t>(kind)];
  if (slot) return *slot;
  slot = std::make_unique<Saved>();
  Saved& s = *slot;
  s.dir = MakeTempDir();
  OpenOptions o;
  o.create_if_missing = true;
  o.index.key_kind = kind;
  o.sync = SyncPolicy::kNone;
  s.index = Index::Open(s.dir, o).value();
  std::vector<int64_t> all(customers);
  std::iota(all.begin(), all.end(), 0);
  if (kind != KeyKind::kIdentity) {
    for (int64_t& k : all) k = k * 7919 + 13800000000;  // phone-number-like ids
  }
  if (kind == KeyKind::kString) {
    std::vector<std::string> text;
    text.reserve(all.size());
    for (int64_t k : all) text.push_back("C" + std::to_string(k));
    std::vector<std::string_view> views(text.begin(), text.end());
    (void)s.index->AddCustomers(std::span<const std::string_view>(views));
  } else {
    (void)s.index->AddCustomers(all);
  }
  WorkloadOptions w{.customers = customers, .tags = SmokeRun() ? 50u : 1000u};
  for (uint32_t r = 0; r < w.tags; ++r) {
    const TagId t = s.index->CreateTag({.name = "tag" + std::to_string(r)}).value();
    const std::vector<uint32_t> rows = TagRows(w, r);
    (void)s.index->TagRows(t, rows);
    s.portable_sum += s.index->ExportTag(t).value().size();
    s.ids += rows.size();
  }
  // An exclusive category (a membership level) partitioning the customers
  // into 8 tags, so Open's disjointness check has real work to do.
  (void)s.index->CreateCategory("level", {.exclusive = true});
  for (uint32_t l = 0; l < 8; ++l) {
    const TagId t =
        s.index->CreateTag({.name = "L" + std::to_string(l), .category = "level"}).value();
    std::vector<uint32_t> rows;
    for (uint32_t r = l; r < customers; r += 8) rows.push_back(r);
    (void)s.index->TagRows(t, rows);
  }
  (void)s.index->Checkpoint();
  return s;
}

std::string SnapshotPath(const std::string& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("snapshot-", 0) == 0) return e.path();
  }
  return "";
}

// Baseline: read(2) the whole snapshot (page cache warm). With `buffer`
// null the bytes go to a freshly mapped buffer (what a reader that allocates
// pays, page faults included); otherwise into `buffer`, already touched (a
// bare copy out of the page cache: the floor).
double ReadBytesSeconds(const std::string& path, char* buffer, uint64_t* bytes) {
  const auto start = std::chrono::steady_clock::now();
  const uint64_t size = std::filesystem::file_size(path);
  char* buf = buffer;
  if (buf == nullptr) {
    buf = static_cast<char*>(
        ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  }
  int fd = ::open(path.c_str(), O_RDONLY);
  uint64_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd, buf + got, size - got);
    if (n <= 0) break;
    got += static_cast<uint64_t>(n);
  }
  ::close(fd);
  benchmark::DoNotOptimize(buf);
  if (buffer == nullptr) ::munmap(buf, size);
  *bytes = got;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Second argument: KeyKind (2 identity, 0 int64, 1 string). The index was
// checkpointed once when built, so its keys are in the snapshot layer: each
// checkpoint rewrites the key list from the mapping, merges the lookup
// table and maps the new file (the steady state of a long-running host).
void BM_Storage_Checkpoint(benchmark::State& state) {
  const auto kind = static_cast<KeyKind>(state.range(1));
  Saved& s = Get(Customers(static_cast<uint32_t>(state.range(0))), kind);
  state.SetLabel(kind == KeyKind::kInt64    ? "int64 keys"
                 : kind == KeyKind::kString ? "string keys"
                                            : "identity keys");
  for (auto _ : state) {
    if (!s.index->Checkpoint().ok()) state.SkipWithError("Checkpoint failed");
  }
  const uint64_t file = std::filesystem::file_size(SnapshotPath(s.dir));
  state.counters["file_bytes"] = static_cast<double>(file);
  state.counters["portable_sum"] = static_cast<double>(s.portable_sum);
  state.counters["size_ratio"] = static_cast<double>(file) / static_cast<double>(s.portable_sum);
  state.counters["ids"] = static_cast<double>(s.ids);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(file));
}

// Open (read-only: no lock, same load path) vs reading the bytes, both
// measured in every iteration so the ratio compares like with like. Wall
// time: Open decodes tag bitmaps on several threads, and a CPU-time clock
// would count only the calling thread's share.
void BM_Storage_Open(benchmark::State& state) {
  const auto kind = static_cast<KeyKind>(state.range(1));
  Saved& s = Get(Customers(static_cast<uint32_t>(state.range(0))), kind);
  state.SetLabel(kind == KeyKind::kInt64    ? "int64 keys"
                 : kind == KeyKind::kString ? "string keys"
                                            : "identity keys");
  const std::string path = SnapshotPath(s.dir);
  OpenOptions o;
  o.create_if_missing = true;
  o.read_only = true;
  std::vector<double> fresh, warm;
  uint64_t bytes = 0;
  std::string buffer(std::filesystem::file_size(path), '\1');
  for (auto _ : state) {
    state.PauseTiming();
    fresh.push_back(ReadBytesSeconds(path, nullptr, &bytes));
    warm.push_back(ReadBytesSeconds(path, buffer.data(), &bytes));
    state.ResumeTiming();
    auto index = Index::Open(s.dir, o);
    if (!index.ok()) state.SkipWithError("Open failed");
    benchmark::DoNotOptimize(index);
    state.PauseTiming();
    index = absl::UnknownError("");  // destruction is not part of Open
    state.ResumeTiming();
  }
  std::sort(fresh.begin(), fresh.end());
  std::sort(warm.begin(), warm.end());
  state.counters["read_fresh_ms"] = fresh[fresh.size() / 2] * 1e3;
  state.counters["read_warm_ms"] = warm[warm.size() / 2] * 1e3;
  state.counters["file_bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}

// Key lookups after Open (the keys are read in place from the mapped
// snapshot: directory, entries, key list) against the same keys in an
// in-memory index (hash tables built by AddCustomers), same run. Arguments:
// customers, KeyKind, 1 = opened from the snapshot / 0 = in memory.
void BM_Storage_FindCustomer(benchmark::State& state) {
  const uint32_t customers = Customers(static_cast<uint32_t>(state.range(0)));
  const auto kind = static_cast<KeyKind>(state.range(1));
  const bool opened = state.range(2) != 0;
  Saved& s = Get(customers, kind);
  std::unique_ptr<Index> local;
  if (opened) {
    OpenOptions o;
    o.create_if_missing = true;
    o.read_only = true;
    local = Index::Open(s.dir, o).value();
  } else {
    local = Index::Create({.key_kind = kind}).value();
  }
  std::vector<int64_t> keys(customers);
  for (uint32_t i = 0; i < customers; ++i) keys[i] = int64_t{i} * 7919 + 13800000000;
  std::vector<std::string> text;
  if (kind == KeyKind::kString) {
    text.reserve(keys.size());
    for (int64_t k : keys) text.push_back("C" + std::to_string(k));
  }
  if (!opened) {
    if (kind == KeyKind::kString) {
      std::vector<std::string_view> views(text.begin(), text.end());
      (void)local->AddCustomers(std::span<const std::string_view>(views));
    } else {
      (void)local->AddCustomers(keys);
    }
  }
  std::mt19937_64 rng(7);
  uint64_t found = 0;
  for (auto _ : state) {
    const size_t i = rng() % customers;
    const bool ok = kind == KeyKind::kString ? local->FindCustomer(text[i]).ok()
                                             : local->FindCustomer(keys[i]).ok();
    found += ok ? 1 : 0;
  }
  if (found != static_cast<uint64_t>(state.iterations()))
    state.SkipWithError("a key was not found");
  state.SetLabel(absl::StrCat(kind == KeyKind::kString ? "string" : "int64",
                              opened ? " keys, opened from the snapshot" : " keys, in memory"));
  state.SetItemsProcessed(state.iterations());
}

// Mutation throughput: single-customer Tag calls, durable per the policy.
// Several threads show group commit sharing fsyncs.
std::mutex mutate_mu;
std::map<int64_t, std::pair<std::string, std::unique_ptr<Index>>> mutate_indexes;
struct MutateCleanUp {
  ~MutateCleanUp() {
    for (auto& [key, slot] : mutate_indexes) {
      slot.second.reset();
      std::filesystem::remove_all(slot.first);
    }
  }
} mutate_clean_up;

void BM_Storage_Mutate(benchmark::State& state) {
  std::mutex& mu = mutate_mu;
  auto& indexes = mutate_indexes;
  const int64_t policy = state.range(0);
  Index* index = nullptr;
  TagId tag;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto& slot = indexes[policy * 100 + state.threads()];
    if (slot.second == nullptr) {
      slot.first = MakeTempDir();
      OpenOptions o;
      o.create_if_missing = true;
      // Policy 4: group commit with no pause between syncs.
      o.sync = policy == 4 ? SyncPolicy::kGroupCommit
                           : static_cast<SyncPolicy>(std::min<int64_t>(policy, 2));
      o.group_commit_interval_ms = policy == 4 ? 0 : 1;
      // Policy 3: an in-memory index, the baseline without any logging.
      slot.second = policy == 3 ? Index::Create().value() : Index::Open(slot.first, o).value();
      (void)slot.second->CreateTag({.name = "t"});
    }
    index = slot.second.get();
    tag = index->FindTag("t").value();
  }
  std::mt19937_64 rng(static_cast<uint64_t>(state.thread_index()) + 1);
  for (auto _ : state) {
    const int64_t key = static_cast<int64_t>(rng() % 1'000'000);
    if (!index->Tag(tag, key).ok()) state.SkipWithError("Tag failed");
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(policy == 0   ? "every-write"
                 : policy == 1 ? "group-commit"
                 : policy == 2 ? "none"
                 : policy == 3 ? "in-memory baseline"
                               : "group-commit, no pause");
  if (state.thread_index() == 0) {
    std::lock_guard<std::mutex> lock(mu);
    // Free the directory once this (policy, threads) run is over.
    auto it = indexes.find(policy * 100 + state.threads());
    if (it != indexes.end() && state.threads() == 1) {
      it->second.second.reset();
      std::filesystem::remove_all(it->second.first);
      indexes.erase(it);
    }
  }
}

BENCHMARK(BM_Storage_Checkpoint)
    ->ArgsProduct({{1'000'000, 10'000'000}, {2, 0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_Storage_Open)
    // Second argument: KeyKind (2 identity, 0 int64, 1 string).
    ->Args({1'000'000, 2})
    ->Args({10'000'000, 2})
    ->Args({1'000'000, 0})
    ->Args({10'000'000, 0})
    ->Args({1'000'000, 1})
    ->Args({10'000'000, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5)
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_Storage_FindCustomer)
    ->ArgsProduct({{1'000'000, 10'000'000}, {0, 1}, {0, 1}})
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);
BENCHMARK(BM_Storage_Mutate)->Arg(0)->Arg(1)->Arg(4)->Arg(2)->Arg(3)->Threads(1)->UseRealTime();
BENCHMARK(BM_Storage_Mutate)->Arg(0)->Arg(1)->Arg(4)->Threads(4)->UseRealTime();

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
