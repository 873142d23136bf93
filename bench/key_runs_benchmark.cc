// Int64 keys as runs on disk (issue #16, section kind 30): snapshot size,
// Open time and key lookups of N customers x 200 Zipf tags (29 M postings
// at 10 M), with the snapshot written by the writer of files without runs
// (writer 0: the hashed form, 16 bytes per customer, which is what every
// earlier version wrote) and by the run writer (writer 1), same binary,
// same run. Key layouts: 0 sequential (auto-increment ids, row order), 1
// shuffled but dense (a permutation of 1..N), 2 random int64 (the control).
// Arguments: customers, layout, writer.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>

#include "absl/strings/str_cat.h"
#include "bitmap/bitmap.h"
#include "index/frozen_keys.h"
#include "index/key_map.h"
#include "storage/snapshot_file.h"
#include "tagindex/tagindex.h"
#include "workload.h"

namespace tagindex::bench {
namespace {

struct Built {
  std::string dir;
  std::vector<int64_t> keys;  // key of row r
  uint64_t file_bytes = 0;
  uint64_t key_bytes = 0;    // payloads of sections 4, 10 and 30
  double checkpoint_ms = 0;  // the one checkpoint that wrote it (a single sample)
};

std::map<int64_t, std::unique_ptr<Built>>& Cache() {
  static auto* cache = new std::map<int64_t, std::unique_ptr<Built>>();
  return *cache;
}

struct CleanUp {
  ~CleanUp() {
    for (auto& [n, b] : Cache()) std::filesystem::remove_all(b->dir);
  }
} clean_up;

// The snapshot's bytes (a short read leaves the rest zero, which the parser
// then refuses).
std::string ReadWholeFile(const std::string& path) {
  std::string file(std::filesystem::file_size(path), '\0');
  int fd = ::open(path.c_str(), O_RDONLY);
  uint64_t got = 0;
  while (fd >= 0 && got < file.size()) {
    const ssize_t n = ::read(fd, file.data() + got, file.size() - got);
    if (n <= 0) break;
    got += static_cast<uint64_t>(n);
  }
  if (fd >= 0) ::close(fd);
  return file;
}

constexpr uint32_t Kind(storage::SectionKind k) { return static_cast<uint32_t>(k); }

std::string SnapshotPath(const std::string& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().rfind("snapshot-", 0) == 0) return e.path();
  }
  return "";
}

std::vector<int64_t> Keys(uint32_t n, int layout) {
  std::vector<int64_t> keys(n);
  std::iota(keys.begin(), keys.end(), int64_t{1});
  std::mt19937_64 rng(42);
  if (layout == 1) std::shuffle(keys.begin(), keys.end(), rng);
  if (layout == 2) {
    for (int64_t& k : keys) k = static_cast<int64_t>(rng() >> 1);  // duplicates: ~0 at 2^63
  }
  return keys;
}

// Built once per (customers, layout, writer); only the directory and the
// keys are kept (the index is closed: an 10 M index per cell would not fit).
Built& Get(uint32_t customers, int layout, int writer) {
  auto& slot = Cache()[(int64_t{customers} * 4 + layout) * 2 + writer];
  if (slot) return *slot;
  slot = std::make_unique<Built>();
  Built& b = *slot;
  char tmpl[] = "/tmp/tagindex-keyruns-XXXXXX";
  b.dir = ::mkdtemp(tmpl);
  internal::KeyMap::SetMinDiskRunForTesting(writer == 0 ? std::numeric_limits<uint64_t>::max() : 0);
  {
    OpenOptions o;
    o.create_if_missing = true;
    o.sync = SyncPolicy::kNone;
    auto index = Index::Open(b.dir, o).value();
    b.keys = Keys(customers, layout);
    (void)index->AddCustomers(b.keys);
    WorkloadOptions w{.customers = customers, .tags = 200};
    for (uint32_t r = 0; r < w.tags; ++r) {
      const TagId t = index->CreateTag({.name = "tag" + std::to_string(r)}).value();
      (void)index->TagRows(t, TagRows(w, r));
    }
    const auto start = std::chrono::steady_clock::now();
    (void)index->Checkpoint();
    b.checkpoint_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  internal::KeyMap::SetMinDiskRunForTesting(0);
  const std::string path = SnapshotPath(b.dir);
  const std::string file = ReadWholeFile(path);
  b.file_bytes = file.size();
  auto parsed = storage::ParseSnapshot(std::span<const char>(file.data(), file.size()), path);
  if (parsed.ok()) {
    for (const storage::Section& s : parsed->sections) {
      if (s.kind == Kind(storage::SectionKind::kCustomerKeys) ||
          s.kind == Kind(storage::SectionKind::kKeyTable) ||
          s.kind == Kind(storage::SectionKind::kIntKeyRuns))
        b.key_bytes += s.payload.size();
    }
  }
  return b;
}

void Label(benchmark::State& state) {
  static const char* kLayouts[] = {"sequential", "shuffled dense", "random"};
  state.SetLabel(absl::StrCat(kLayouts[state.range(1)], ", ",
                              state.range(2) == 0 ? "hashed (old writer)" : "runs"));
}

std::unique_ptr<Index> OpenReadOnly(const std::string& dir) {
  OpenOptions o;
  o.read_only = true;
  return Index::Open(dir, o).value();
}

void BM_KeyRuns_Open(benchmark::State& state) {
  Built& b = Get(Customers(static_cast<uint32_t>(state.range(0))), static_cast<int>(state.range(1)),
                 static_cast<int>(state.range(2)));
  Label(state);
  OpenOptions o;
  o.read_only = true;
  for (auto _ : state) {
    auto index = Index::Open(b.dir, o);
    if (!index.ok()) state.SkipWithError("Open failed");
    benchmark::DoNotOptimize(index);
    state.PauseTiming();
    index = absl::UnknownError("");  // destruction is not part of Open
    state.ResumeTiming();
  }
  state.counters["file_MB"] = static_cast<double>(b.file_bytes) / 1e6;
  state.counters["key_MB"] = static_cast<double>(b.key_bytes) / 1e6;
  state.counters["checkpoint_ms"] = b.checkpoint_ms;
}

// FindCustomer of live keys in random order (single lookups, the CLI and
// Index::FindCustomer path), per key.
void BM_KeyRuns_FindCustomer(benchmark::State& state) {
  Built& b = Get(Customers(static_cast<uint32_t>(state.range(0))), static_cast<int>(state.range(1)),
                 static_cast<int>(state.range(2)));
  Label(state);
  auto index = OpenReadOnly(b.dir);
  std::vector<int64_t> probe(b.keys.begin(),
                             b.keys.begin() + std::min<size_t>(b.keys.size(), 1 << 20));
  std::shuffle(probe.begin(), probe.end(), std::mt19937_64(7));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(index->FindCustomer(probe[i]));
    if (++i == probe.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// KeyOf of every row in order (a key export: Segment.keys_of, CSV export),
// per key.
void BM_KeyRuns_KeyOf(benchmark::State& state) {
  Built& b = Get(Customers(static_cast<uint32_t>(state.range(0))), static_cast<int>(state.range(1)),
                 static_cast<int>(state.range(2)));
  Label(state);
  auto index = OpenReadOnly(b.dir);
  const RowId n = static_cast<RowId>(b.keys.size());
  RowId r = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(index->KeyOf(r));
    if (++r == n) r = 0;
  }
  state.SetItemsProcessed(state.iterations());
}

// A batch of up to 1 M live keys in random order through the snapshot
// layer's batch lookup (FrozenKeys::FindMany: what KeyMap::FindMany, hence
// TagMany and Python tag(keys), call for an index opened from disk), per
// key. The sections are loaded from the file as Open loads them.
void BM_KeyRuns_FindMany(benchmark::State& state) {
  Built& b = Get(Customers(static_cast<uint32_t>(state.range(0))), static_cast<int>(state.range(1)),
                 static_cast<int>(state.range(2)));
  Label(state);
  const std::string path = SnapshotPath(b.dir);
  const std::string file = ReadWholeFile(path);
  auto parsed = storage::ParseSnapshot(std::span<const char>(file.data(), file.size()), path);
  if (!parsed.ok()) return state.SkipWithError("parse failed");
  internal::FrozenKeys::Input in;
  Bitmap universe;
  IndexOptions options;
  for (const storage::Section& s : parsed->sections) {
    if (s.kind == Kind(storage::SectionKind::kCustomerKeys)) in.key_list = s.payload;
    if (s.kind == Kind(storage::SectionKind::kKeyTable)) in.table = s.payload;
    if (s.kind == Kind(storage::SectionKind::kIntKeyRuns)) in.runs = s.payload;
    if (s.kind == Kind(storage::SectionKind::kUniverse))
      universe = Bitmap::PortableDeserialize(s.payload).value();
  }
  in.universe = &universe;
  in.row_limit = b.keys.size();
  in.options = &options;
  internal::FrozenKeys frozen;
  internal::FrozenKeysError error;
  if (!internal::FrozenKeys::Load(in, &frozen, &error))
    return state.SkipWithError(error.what.c_str());
  std::vector<int64_t> batch(b.keys.begin(),
                             b.keys.begin() + std::min<size_t>(b.keys.size(), 1'000'000));
  std::shuffle(batch.begin(), batch.end(), std::mt19937_64(9));
  std::vector<RowId> rows(batch.size());
  for (auto _ : state) {
    frozen.FindMany(batch, rows.data());
    benchmark::DoNotOptimize(rows.data());
  }
  for (size_t i = 0; i < batch.size(); i += 4099) {
    if (rows[i] == internal::FrozenKeys::kNoRow) state.SkipWithError("a key was not found");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch.size()));
}

// Checkpoint of the opened index (no change since: the whole snapshot is
// written again, keys included), with the cell's writer. Writer 1 on keys
// without runs pays the scan for runs and then writes the hashed form.
void BM_KeyRuns_Checkpoint(benchmark::State& state) {
  Built& b = Get(Customers(static_cast<uint32_t>(state.range(0))), static_cast<int>(state.range(1)),
                 static_cast<int>(state.range(2)));
  Label(state);
  OpenOptions o;
  o.sync = SyncPolicy::kNone;
  auto index = Index::Open(b.dir, o).value();
  internal::KeyMap::SetMinDiskRunForTesting(
      state.range(2) == 0 ? std::numeric_limits<uint64_t>::max() : 0);
  for (auto _ : state) {
    if (!index->Checkpoint().ok()) state.SkipWithError("Checkpoint failed");
  }
  internal::KeyMap::SetMinDiskRunForTesting(0);
}

void Cells(benchmark::internal::Benchmark* b) {
  for (int64_t n : {1'000'000, 10'000'000}) {
    for (int64_t layout : {0, 1, 2}) {
      for (int64_t writer : {0, 1}) b->Args({n, layout, writer});
    }
  }
}

BENCHMARK(BM_KeyRuns_Open)->Apply(Cells)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_KeyRuns_FindCustomer)->Apply(Cells);
BENCHMARK(BM_KeyRuns_KeyOf)->Apply(Cells);
BENCHMARK(BM_KeyRuns_FindMany)->Apply(Cells)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KeyRuns_Checkpoint)->Apply(Cells)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tagindex::bench

BENCHMARK_MAIN();
