// Int64 keys stored as runs in snapshots (section kind 30, issue #16): the
// run form is written where keys ascend, files without it (the older
// writer) still open, and every key <-> row of a random mix of run and
// non-run keys, with removals (holes in runs) and re-adds, survives
// checkpoint and reopen, compared with a std::map model.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bitmap/bitmap.h"
#include "index/key_map.h"
#include "storage/coding.h"
#include "storage/snapshot_file.h"
#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::RowId;
using tagindex::internal::KeyMap;
using tagindex::testing::Full;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;
namespace storage = tagindex::storage;

namespace {

constexpr char kDir[] = "/idx";

// Restores the writer's default minimum run on scope exit.
struct MinRun {
  explicit MinRun(uint64_t n) { KeyMap::SetMinDiskRunForTesting(n); }
  ~MinRun() { KeyMap::SetMinDiskRunForTesting(0); }
};

std::string SnapshotOf(MemFileSystem& fs) {
  std::string path;
  for (const std::string& name : fs.Names()) {
    if (name.find("snapshot-") != std::string::npos && name.find(".tmp") == std::string::npos) {
      path = name;
    }
  }
  REQUIRE(!path.empty());
  return fs.Get(path);
}

// Payload sizes by section kind (-1: absent).
std::map<uint32_t, int64_t> SectionSizes(const std::string& file) {
  auto parsed = storage::ParseSnapshot(std::span<const char>(file.data(), file.size()), "t");
  REQUIRE(parsed.ok());
  std::map<uint32_t, int64_t> out;
  for (const storage::Section& s : parsed->sections) {
    out[s.kind] += static_cast<int64_t>(s.payload.size());
  }
  return out;
}

constexpr uint32_t kRuns = static_cast<uint32_t>(storage::SectionKind::kIntKeyRuns);
constexpr uint32_t kList = static_cast<uint32_t>(storage::SectionKind::kCustomerKeys);
constexpr uint32_t kTable = static_cast<uint32_t>(storage::SectionKind::kKeyTable);

// The model: live key -> row, and the key of every row ever assigned.
struct Model {
  std::map<int64_t, RowId> live;
  std::vector<int64_t> row_key;
  std::vector<bool> row_live;
  std::set<int64_t> removed;  // removed and not added again
};

// Compares every key <-> row of the index with the model: FindCustomer of
// every live key and of absent keys (removed ones, neighbours of live ones,
// random ones), KeyOf of every row, and the batch path (TagMany of every
// live key, whose rows are then exported and compared).
void Compare(Index& index, const Model& m, std::mt19937_64& rng, uint64_t seed) {
  INFO("seed " << seed);
  REQUIRE(index.CustomerCount() == m.live.size());
  REQUIRE(index.RowIdLimit() == m.row_key.size());
  for (const auto& [key, row] : m.live) {
    auto found = index.FindCustomer(key);
    INFO("key " << key);
    REQUIRE(found.ok());
    REQUIRE(*found == row);
  }
  auto absent = [&](int64_t key) {
    if (m.live.count(key) != 0) return;
    INFO("absent key " << key);
    REQUIRE(index.FindCustomer(key).status().code() == absl::StatusCode::kNotFound);
  };
  for (int64_t key : m.removed) absent(key);
  for (const auto& [key, row] : m.live) {
    if (key != std::numeric_limits<int64_t>::max()) absent(key + 1);
    if (key != std::numeric_limits<int64_t>::min()) absent(key - 1);
  }
  for (int i = 0; i < 200; ++i) absent(static_cast<int64_t>(rng()));
  for (RowId r = 0; r < m.row_key.size(); ++r) {
    auto key = index.KeyOf(r);
    INFO("row " << r);
    if (m.row_live[r]) {
      REQUIRE(key.ok());
      REQUIRE(std::get<int64_t>(*key) == m.row_key[r]);
    } else {
      REQUIRE(key.status().code() == absl::StatusCode::kNotFound);
    }
  }
  // Batch lookups (KeyMap::FindMany): tag every live key in a shuffled
  // order, export, compare with the model's rows.
  std::vector<int64_t> keys;
  std::vector<RowId> rows;
  for (const auto& [key, row] : m.live) {
    keys.push_back(key);
    rows.push_back(row);
  }
  if (keys.empty()) return;
  std::shuffle(keys.begin(), keys.end(), rng);
  auto tag = index.FindTag("probe");
  const tagindex::TagId probe =
      tag.ok() ? *tag : index.CreateTag(tagindex::TagSpec{.name = "probe"}).value();
  REQUIRE(index.TagMany(probe, keys).ok());
  auto bytes = index.ExportTag(probe);
  REQUIRE(bytes.ok());
  auto bitmap = tagindex::Bitmap::PortableDeserialize(std::span<const char>(*bytes));
  REQUIRE(bitmap.ok());
  std::sort(rows.begin(), rows.end());
  REQUIRE(bitmap->ToVector() == rows);
  REQUIRE(index.UntagMany(probe, keys).ok());
}

// A batch of fresh keys: ascending runs (some continuing the last key,
// some from random bases, some near the int64 limits), shuffled dense
// blocks and random singletons.
std::vector<int64_t> Batch(std::mt19937_64& rng, int64_t* next, const Model& m) {
  std::vector<int64_t> out;
  std::set<int64_t> seen;
  auto push = [&](int64_t k) {
    if (m.live.count(k) == 0 && seen.insert(k).second) out.push_back(k);
  };
  const int pieces = 1 + static_cast<int>(rng() % 8);
  for (int p = 0; p < pieces; ++p) {
    const uint64_t len = 1 + rng() % 300;
    switch (rng() % 6) {
      case 0:
      case 1:  // continues the auto-increment sequence
        for (uint64_t i = 0; i < len; ++i) push((*next)++);
        break;
      case 2: {  // a run from a random base
        const int64_t base = static_cast<int64_t>(rng() >> 2);
        for (uint64_t i = 0; i < len; ++i) push(base + static_cast<int64_t>(i));
        break;
      }
      case 3: {  // a run ending at INT64_MAX or starting at INT64_MIN
        const bool top = rng() % 2 == 0;
        for (uint64_t i = 0; i < len % 40; ++i) {
          push(top ? std::numeric_limits<int64_t>::max() - static_cast<int64_t>(i)
                   : std::numeric_limits<int64_t>::min() + static_cast<int64_t>(i));
        }
        break;
      }
      case 4: {  // shuffled dense block
        std::vector<int64_t> block;
        const int64_t base = static_cast<int64_t>(rng() >> 3);
        for (uint64_t i = 0; i < len; ++i) block.push_back(base + static_cast<int64_t>(i));
        std::shuffle(block.begin(), block.end(), rng);
        for (int64_t k : block) push(k);
        break;
      }
      default:
        for (uint64_t i = 0; i < len % 30; ++i) push(static_cast<int64_t>(rng()));
    }
  }
  return out;
}

void Add(Index& index, Model& m, const std::vector<int64_t>& keys) {
  std::vector<RowId> rows;
  REQUIRE(index.AddCustomers(keys, &rows).ok());
  REQUIRE(rows.size() == keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    REQUIRE(rows[i] == m.row_key.size());  // fresh keys get the next rows in order
    m.row_key.push_back(keys[i]);
    m.row_live.push_back(true);
    m.live[keys[i]] = rows[i];
    m.removed.erase(keys[i]);
  }
}

void Remove(Index& index, Model& m, int64_t key) {
  auto it = m.live.find(key);
  if (it == m.live.end()) return;
  REQUIRE(index.RemoveCustomer(key).ok());
  m.row_live[it->second] = false;
  m.live.erase(it);
  m.removed.insert(key);
}

}  // namespace

TEST_CASE("key runs: ascending int64 keys are stored as one run", "[storage][key_runs]") {
  auto fs = std::make_shared<MemFileSystem>();
  const uint64_t n = 100'000;
  {
    auto index = Index::Open(kDir, MemOptions(fs)).value();
    std::vector<int64_t> keys(n);
    for (uint64_t i = 0; i < n; ++i) keys[i] = 1'000'000 + static_cast<int64_t>(i);
    REQUIRE(index->AddCustomers(keys).ok());
    REQUIRE(index->Checkpoint().ok());
  }
  std::map<uint32_t, int64_t> sizes = SectionSizes(SnapshotOf(*fs));
  CHECK(sizes[kRuns] == 8 + 16);  // one run
  CHECK(sizes[kList] == 9);       // no row outside it
  CHECK(sizes[kTable] == 16);     // no entry
  auto index = Index::Open(kDir, MemOptions(fs)).value();
  for (uint64_t i = 0; i < n; i += 997) {
    REQUIRE(index->FindCustomer(1'000'000 + static_cast<int64_t>(i)).value() == i);
    REQUIRE(std::get<int64_t>(index->KeyOf(static_cast<RowId>(i)).value()) ==
            1'000'000 + static_cast<int64_t>(i));
  }
  CHECK(index->FindCustomer(999'999).status().code() == absl::StatusCode::kNotFound);
  CHECK(index->FindCustomer(1'000'000 + n).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("key runs: random keys keep the hashed form, byte for byte", "[storage][key_runs]") {
  // With no stretch of ascending keys the writer must write what the writer
  // of files without runs writes (the same bytes, hence as compact).
  std::string with_runs, without;
  for (int pass = 0; pass < 2; ++pass) {
    MinRun hook(pass == 0 ? 0 : std::numeric_limits<uint64_t>::max());
    auto fs = std::make_shared<MemFileSystem>();
    auto index = Index::Open(kDir, MemOptions(fs)).value();
    std::mt19937_64 rng(7);
    std::vector<int64_t> keys;
    std::set<int64_t> seen;
    while (keys.size() < 20'000) {
      const auto k = static_cast<int64_t>(rng());
      if (seen.insert(k).second) keys.push_back(k);
    }
    REQUIRE(index->AddCustomers(keys).ok());
    REQUIRE(index->Checkpoint().ok());
    (pass == 0 ? with_runs : without) = SnapshotOf(*fs);
  }
  std::map<uint32_t, int64_t> sizes = SectionSizes(with_runs);
  CHECK(sizes.count(kRuns) == 0);
  CHECK(sizes[kList] == 9 + 8 * 20'000);
  CHECK(sizes[kTable] == 16 + 8 * 20'000);
  // The table seed is random per index: compare the layout, not the bytes.
  CHECK(with_runs.size() == without.size());
  CHECK(SectionSizes(without) == sizes);
}

TEST_CASE("key runs: a snapshot of the writer without runs opens and converts",
          "[storage][key_runs]") {
  auto fs = std::make_shared<MemFileSystem>();
  Model m;
  std::mt19937_64 rng(11);
  int64_t next = 500;
  {
    MinRun old_writer(std::numeric_limits<uint64_t>::max());
    auto index = Index::Open(kDir, MemOptions(fs)).value();
    std::vector<int64_t> keys;
    for (int i = 0; i < 5000; ++i) keys.push_back(next++);
    for (int i = 0; i < 100; ++i) keys.push_back(static_cast<int64_t>(rng()));
    Add(*index, m, keys);
    for (int i = 0; i < 50; ++i) Remove(*index, m, 500 + static_cast<int64_t>(rng() % 5000));
    REQUIRE(index->Checkpoint().ok());
    std::map<uint32_t, int64_t> sizes = SectionSizes(SnapshotOf(*fs));
    REQUIRE(sizes.count(kRuns) == 0);  // the old form: 8 bytes per row + 8 per live row
    REQUIRE(sizes[kList] == static_cast<int64_t>(9 + 8 * m.row_key.size()));
    REQUIRE(sizes[kTable] == static_cast<int64_t>(16 + 8 * m.live.size()));
  }
  {
    auto index = Index::Open(kDir, MemOptions(fs)).value();  // the new reader
    Compare(*index, m, rng, 11);
    Add(*index, m, Batch(rng, &next, m));
    REQUIRE(index->Checkpoint().ok());  // the new writer: runs now
    std::map<uint32_t, int64_t> sizes = SectionSizes(SnapshotOf(*fs));
    REQUIRE(sizes.count(kRuns) == 1);
    REQUIRE(sizes[kList] < static_cast<int64_t>(8 * 1000));
    Compare(*index, m, rng, 11);
  }
  auto index = Index::Open(kDir, MemOptions(fs)).value();
  Compare(*index, m, rng, 11);
}

TEST_CASE("key runs: random mixes, holes, re-adds, checkpoint and reopen match a model",
          "[storage][key_runs]") {
  const int seeds = Full() ? 40 : 6;
  const int rounds = Full() ? 14 : 7;
  int snapshots_with_runs = 0;  // the harness must reach the run form
  auto count_runs = [&](MemFileSystem& fs) {
    snapshots_with_runs += SectionSizes(SnapshotOf(fs)).count(kRuns) != 0 ? 1 : 0;
  };
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    // Minimum runs vary by seed so that bases with and without runs, and
    // short runs, meet memory rows.
    const uint64_t min_runs[] = {0, 2, 5, std::numeric_limits<uint64_t>::max()};
    auto fs = std::make_shared<MemFileSystem>();
    Model m;
    int64_t next = static_cast<int64_t>(rng() % 1000);
    auto index = Index::Open(kDir, MemOptions(fs)).value();
    for (int round = 0; round < rounds; ++round) {
      INFO("round " << round);
      MinRun hook(min_runs[rng() % 4]);
      Add(*index, m, Batch(rng, &next, m));
      // Holes: single customers and short stretches of rows.
      const int removals = static_cast<int>(rng() % 20);
      for (int i = 0; i < removals && !m.row_key.empty(); ++i) {
        const size_t at = rng() % m.row_key.size();
        const size_t len = 1 + rng() % 4;
        for (size_t j = at; j < std::min(m.row_key.size(), at + len); ++j) {
          if (m.row_live[j]) Remove(*index, m, m.row_key[j]);
        }
      }
      // Re-adds of removed keys (fresh rows), sometimes as an ascending run.
      std::vector<int64_t> again;
      for (int64_t k : m.removed) {
        if (rng() % 3 == 0) again.push_back(k);
      }
      Add(*index, m, again);
      switch (rng() % 3) {
        case 0:
          break;
        case 1:
          REQUIRE(index->Checkpoint().ok());
          count_runs(*fs);
          break;
        default:
          REQUIRE(index->Checkpoint().ok());
          count_runs(*fs);
          index.reset();
          index = Index::Open(kDir, MemOptions(fs)).value();
      }
      Compare(*index, m, rng, static_cast<uint64_t>(seed));
    }
    REQUIRE(index->Checkpoint().ok());
    index.reset();
    index = Index::Open(kDir, MemOptions(fs)).value();
    Compare(*index, m, rng, static_cast<uint64_t>(seed));
    // Replay of an unflushed log over a snapshot with runs.
    Add(*index, m, Batch(rng, &next, m));
    index.reset();
    index = Index::Open(kDir, MemOptions(fs)).value();
    Compare(*index, m, rng, static_cast<uint64_t>(seed));
  }
  INFO("snapshots with key runs: " << snapshots_with_runs);
  REQUIRE(snapshots_with_runs >= seeds);
}
