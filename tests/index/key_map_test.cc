// KeyMap (memory and snapshot layers) and FrozenKeys against a std::map
// oracle: random inserts/removals, "checkpoints" that turn the map's own
// key list and lookup table into a new snapshot layer, and crafted
// inconsistent sections that Load must refuse.
#include "index/key_map.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "bitmap/bitmap.h"
#include "index/frozen_keys.h"
#include "index/names.h"
#include "storage/storage_test_util.h"
#include "tagindex/options.h"

namespace {

using tagindex::Bitmap;
using tagindex::CustomerKey;
using tagindex::IndexOptions;
using tagindex::KeyKind;
using tagindex::RowId;
using tagindex::internal::FrozenKeys;
using tagindex::internal::FrozenKeysError;
using tagindex::internal::KeyMap;

// The two sections of a snapshot, as Index::Checkpoint would write them.
struct Sections {
  std::string key_list;
  std::string table;
};

Sections Write(const KeyMap& m, const Bitmap& live) {
  Sections out;
  std::string scratch;
  uint64_t rows = 0;
  for (std::string_view part : m.KeyListParts(KeyMap::kNoLimit, &scratch, &rows))
    out.key_list.append(part);
  const std::vector<uint64_t> entries = m.LookupEntries(live);
  // The byte ranges a checkpoint writes (straight from the base mapping
  // when nothing changed) hold the same entries.
  std::vector<uint64_t> entry_scratch;
  std::string from_parts;
  for (std::string_view part : m.LookupEntryParts(live, &entry_scratch)) from_parts.append(part);
  REQUIRE(from_parts ==
          std::string(reinterpret_cast<const char*>(entries.data()), entries.size() * 8));
  auto put64 = [&](uint64_t v) { out.table.append(reinterpret_cast<const char*>(&v), 8); };
  put64(m.table_seed());
  put64(entries.size());
  for (uint64_t e : entries) put64(e);
  return out;
}

// Loads the sections from one region (key list first, then the table);
// returns the error text on failure.
std::variant<FrozenKeys, std::string> Load(KeyKind kind, const Sections& s, const Bitmap& live,
                                           uint64_t row_limit) {
  static const IndexOptions options;
  auto region = std::make_shared<tagindex::testing::MemRegion>(s.key_list + s.table);
  FrozenKeys::Input in;
  in.kind = kind;
  in.region = region;
  in.key_list = region->data().subspan(0, s.key_list.size());
  in.table = region->data().subspan(s.key_list.size());
  in.universe = &live;
  in.row_limit = row_limit;
  in.options = &options;
  FrozenKeys f;
  FrozenKeysError error;
  if (!FrozenKeys::Load(in, &f, &error)) {
    return std::string(error.in_table ? "table@" : "list@") + std::to_string(error.at) + ": " +
           error.what;
  }
  return f;
}

// Keys n of the key space: spread out, or (the run tests) consecutive
// auto-increment ids, so that batches of new keys arrive as runs.
bool consecutive_keys = false;

CustomerKey MakeKey(KeyKind kind, uint64_t n) {
  if (kind == KeyKind::kInt64 && consecutive_keys) return static_cast<int64_t>(n + 10000000000);
  if (kind == KeyKind::kInt64) return static_cast<int64_t>(n * 7919 + 13800000000);
  return "客户-" + std::to_string(n);
}

std::optional<RowId> FindKey(const KeyMap& m, const CustomerKey& k) {
  if (const int64_t* i = std::get_if<int64_t>(&k)) return m.Find(*i);
  return m.Find(std::string_view(std::get<std::string>(k)));
}

void InsertKey(KeyMap& m, const CustomerKey& k, RowId row) {
  if (const int64_t* i = std::get_if<int64_t>(&k)) {
    m.Insert(*i, row);
  } else {
    m.Insert(std::string_view(std::get<std::string>(k)), row);
  }
}

// The model: key -> live row; every assigned row's key; the live rows.
struct Model {
  std::map<CustomerKey, RowId> live_rows;
  std::vector<CustomerKey> key_of_row;
  Bitmap universe;
};

// The map agrees with the model: every live key finds its row (a removed
// row may be returned only if it is dead in the universe), every row's
// key, and absent keys are absent or dead.
void Check(const KeyMap& m, const Model& model, KeyKind kind, uint64_t key_space, uint64_t seed) {
  INFO("seed " << seed);
  REQUIRE(m.rows() == model.key_of_row.size());
  for (RowId r = 0; r < model.key_of_row.size(); ++r) REQUIRE(m.KeyOf(r) == model.key_of_row[r]);
  // The batch lookup agrees with one Find per key (keys in a shuffled
  // order, present and absent mixed).
  std::vector<CustomerKey> all;
  for (uint64_t n = 0; n < key_space; ++n) all.push_back(MakeKey(kind, n));
  std::shuffle(all.begin(), all.end(), std::mt19937_64(seed));
  std::vector<RowId> batch;
  if (kind == KeyKind::kInt64) {
    std::vector<int64_t> ks;
    for (const CustomerKey& k : all) ks.push_back(std::get<int64_t>(k));
    m.FindMany(ks, &batch);
  } else {
    std::vector<std::string_view> ks;
    for (const CustomerKey& k : all) ks.push_back(std::get<std::string>(k));
    m.FindMany(ks, &batch);
  }
  REQUIRE(batch.size() == all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    REQUIRE(batch[i] == FindKey(m, all[i]).value_or(FrozenKeys::kNoRow));
  }
  for (uint64_t n = 0; n < key_space; ++n) {
    const CustomerKey k = MakeKey(kind, n);
    const std::optional<RowId> got = FindKey(m, k);
    auto it = model.live_rows.find(k);
    if (it != model.live_rows.end()) {
      REQUIRE(got == it->second);
    } else if (got) {
      REQUIRE_FALSE(model.universe.Contains(*got));
      REQUIRE(model.key_of_row[*got] == k);
    }
  }
}

// Every version's view: Find(key, limit) is the newest row below `limit`
// assigned for the key (rows were assigned in order, so a plain scan of the
// model's row -> key list is the oracle). The snapshot layer's table holds
// only rows live when it was written (`base_live`, rows below `base_rows`):
// a row dead then is dead in every version that uses the map, so its
// absence is allowed.
void CheckBounded(const KeyMap& m, const Model& model, KeyKind kind, uint64_t seed,
                  const Bitmap& base_live, uint64_t base_rows) {
  INFO("seed " << seed << " (bounded lookups)");
  const uint64_t n = model.key_of_row.size();
  for (uint64_t limit : {uint64_t{0}, n / 3, n / 2, n - n / 5, n}) {
    std::map<CustomerKey, RowId> newest;
    for (uint64_t r = 0; r < limit; ++r) newest[model.key_of_row[r]] = static_cast<RowId>(r);
    for (uint64_t r = 0; r < n; r += 7) {
      const CustomerKey& k = model.key_of_row[r];
      std::optional<RowId> got = std::holds_alternative<int64_t>(k)
                                     ? m.Find(std::get<int64_t>(k), limit)
                                     : m.Find(std::string_view(std::get<std::string>(k)), limit);
      auto it = newest.find(k);
      INFO("row " << r << " limit " << limit);
      if (it != newest.end() && it->second < base_rows && !base_live.Contains(it->second) &&
          !got.has_value()) {
        continue;
      }
      if (it == newest.end()) {
        REQUIRE_FALSE(got.has_value());
      } else {
        REQUIRE(got.has_value());
        REQUIRE(*got == it->second);
      }
    }
  }
  (void)kind;
}

void RunRandom(KeyKind kind, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto mp = std::make_shared<KeyMap>(kind);
  Model model;
  Bitmap base_live;  // the universe when the snapshot layer was written
  uint64_t base_rows = 0;
  const uint64_t key_space = 1500;
  for (int round = 0; round < 6; ++round) {
    for (int op = 0; op < 2000; ++op) {
      const CustomerKey k = MakeKey(kind, rng() % key_space);
      auto it = model.live_rows.find(k);
      if (it == model.live_rows.end()) {
        const std::optional<RowId> got = FindKey(*mp, k);
        REQUIRE((!got || !model.universe.Contains(*got)));
        const RowId row = static_cast<RowId>(model.key_of_row.size());
        InsertKey(*mp, k, row);
        model.key_of_row.push_back(k);
        model.live_rows[k] = row;
        model.universe.Add(row);
      } else if (rng() % 3 == 0) {
        // The map keeps the entry (versions bound lookups by the universe
        // and their row limit); the model forgets the customer.
        model.universe.Remove(it->second);
        model.live_rows.erase(it);
      }
    }
    Check(*mp, model, kind, key_space, seed);
    CheckBounded(*mp, model, kind, seed, base_live, base_rows);
    // A checkpoint: the map's own sections become its snapshot layer (on
    // even rounds a fresh map, as Open does; on odd ones a rebase).
    const Sections s = Write(*mp, model.universe);
    base_live = model.universe.Copy();
    base_rows = model.key_of_row.size();
    auto loaded = Load(kind, s, model.universe, model.key_of_row.size());
    INFO("seed " << seed << " round " << round);
    REQUIRE(std::holds_alternative<FrozenKeys>(loaded));
    if (round % 2 == 0) {
      auto opened = std::make_shared<KeyMap>(kind);
      opened->SetBase(std::get<FrozenKeys>(std::move(loaded)));
      Check(*opened, model, kind, key_space, seed);
      mp = std::move(opened);
    } else {
      mp = mp->Rebased(std::get<FrozenKeys>(std::move(loaded)));
    }
    Check(*mp, model, kind, key_space, seed);
    CheckBounded(*mp, model, kind, seed, base_live, base_rows);
    // Nothing changed since: the next table comes straight from the base.
    const Sections again = Write(*mp, model.universe);
    REQUIRE(again.table.substr(16) == s.table.substr(16));
  }
}

TEST_CASE("KeyMap: memory and snapshot layers agree with a model") {
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    RunRandom(KeyKind::kInt64, seed);
    RunRandom(KeyKind::kString, seed + 100);
  }
}

// Int64 keys that arrive as runs (KeyMap::IntRun): batches of brand-new
// keys (InsertMany with all_new) drawn as stretches of consecutive ids with
// gaps, ascending or not, single new ids that extend a run, removals and
// re-additions of run keys (which supersede their run rows), checkpoints
// and rebases — every lookup (Find, bounded Find, FindMany) against the
// model, as for the hash-map layer.
void RunRandomRuns(uint64_t seed) {
  consecutive_keys = true;
  std::mt19937_64 rng(seed);
  auto mp = std::make_shared<KeyMap>(KeyKind::kInt64);
  Model model;
  Bitmap base_live;
  uint64_t base_rows = 0;
  const uint64_t key_space = 6000;
  std::vector<bool> seen(key_space, false);  // key ever assigned a row
  auto add = [&](const CustomerKey& k) {
    const RowId row = static_cast<RowId>(model.key_of_row.size());
    model.key_of_row.push_back(k);
    model.live_rows[k] = row;
    model.universe.Add(row);
    return row;
  };
  size_t runs_seen = 0;
  for (int round = 0; round < 6; ++round) {
    for (int op = 0; op < 60; ++op) {
      const uint64_t kind = rng() % 10;
      if (kind < 5) {
        // A batch of new keys: a stretch with a few holes (keys already
        // seen are left out, as KeyBatch leaves out found keys).
        const uint64_t start = rng() % key_space;
        const uint64_t len = 1 + rng() % 200;
        std::vector<int64_t> keys;
        for (uint64_t n = start; n < std::min(key_space, start + len); ++n) {
          if (seen[n] || rng() % 40 == 0) continue;
          keys.push_back(std::get<int64_t>(MakeKey(KeyKind::kInt64, n)));
        }
        if (rng() % 4 == 0) std::shuffle(keys.begin(), keys.end(), rng);
        const RowId first = static_cast<RowId>(model.key_of_row.size());
        for (int64_t k : keys) {
          seen[static_cast<uint64_t>(k - 10000000000)] = true;
          add(k);
        }
        mp->InsertMany(keys, first, /*all_new=*/true);
      } else if (kind < 7) {
        // Single new ids, one batch each (the next auto-increment ids).
        for (int i = 0; i < 20; ++i) {
          uint64_t n = rng() % key_space;
          while (n < key_space && seen[n]) ++n;
          if (n == key_space) break;
          seen[n] = true;
          const int64_t k = std::get<int64_t>(MakeKey(KeyKind::kInt64, n));
          const RowId row = add(k);
          mp->InsertMany(std::span<const int64_t>(&k, 1), row, /*all_new=*/true);
        }
      } else if (kind < 9) {
        // Remove some live customers.
        for (int i = 0; i < 30 && !model.live_rows.empty(); ++i) {
          auto it = model.live_rows.lower_bound(MakeKey(KeyKind::kInt64, rng() % key_space));
          if (it == model.live_rows.end()) continue;
          model.universe.Remove(it->second);
          model.live_rows.erase(it);
        }
      } else {
        // Re-add removed keys (not new: the map keeps their history).
        std::vector<int64_t> back;
        for (uint64_t n = rng() % key_space, i = 0; i < 300 && n < key_space; ++n, ++i) {
          const CustomerKey k = MakeKey(KeyKind::kInt64, n);
          if (seen[n] && model.live_rows.count(k) == 0) back.push_back(std::get<int64_t>(k));
        }
        const RowId first = static_cast<RowId>(model.key_of_row.size());
        for (int64_t k : back) add(k);
        mp->InsertMany(back, first, /*all_new=*/false);
      }
    }
    runs_seen = std::max(runs_seen, mp->run_count());
    Check(*mp, model, KeyKind::kInt64, key_space, seed);
    CheckBounded(*mp, model, KeyKind::kInt64, seed, base_live, base_rows);
    const Sections s = Write(*mp, model.universe);
    base_live = model.universe.Copy();
    base_rows = model.key_of_row.size();
    auto loaded = Load(KeyKind::kInt64, s, model.universe, model.key_of_row.size());
    INFO("seed " << seed << " round " << round);
    REQUIRE(std::holds_alternative<FrozenKeys>(loaded));
    if (round % 2 == 0) {
      auto opened = std::make_shared<KeyMap>(KeyKind::kInt64);
      opened->SetBase(std::get<FrozenKeys>(std::move(loaded)));
      mp = std::move(opened);
    } else {
      mp = mp->Rebased(std::get<FrozenKeys>(std::move(loaded)));
    }
    Check(*mp, model, KeyKind::kInt64, key_space, seed);
    CheckBounded(*mp, model, KeyKind::kInt64, seed, base_live, base_rows);
  }
  consecutive_keys = false;
  // The batches did make runs (else this test would test the hash map).
  REQUIRE(runs_seen > 0);
}

TEST_CASE("KeyMap: int64 keys held as runs agree with a model") {
  const int seeds = tagindex::testing::Full() ? 60 : 6;
  for (int seed = 1; seed <= seeds; ++seed) RunRandomRuns(static_cast<uint64_t>(seed));
}

TEST_CASE("KeyMap: ascending new keys are runs, not hash entries") {
  KeyMap m(KeyKind::kInt64);
  std::vector<int64_t> keys(100000);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = 5000000000 + static_cast<int64_t>(i);
  m.InsertMany(keys, 0, /*all_new=*/true);
  // One run (chunk boundaries of the insert extend it).
  CHECK(m.run_count() == 1);
  CHECK(m.run_keys() == keys.size());
  // The next ids one at a time extend it too.
  for (int64_t k = 5000100000; k < 5000100010; ++k) {
    m.InsertMany(std::span<const int64_t>(&k, 1), static_cast<RowId>(k - 5000000000), true);
  }
  CHECK(m.run_count() == 1);
  CHECK(m.run_keys() == keys.size() + 10);
  CHECK(m.Find(int64_t{5000100009}) == 100009u);
  CHECK(m.Find(int64_t{5000100009}, 100009) == std::nullopt);
  CHECK_FALSE(m.Find(int64_t{5000100010}).has_value());
  CHECK_FALSE(m.Find(int64_t{4999999999}).has_value());
  CHECK(std::get<int64_t>(m.KeyOf(77)) == 5000000077);
}

TEST_CASE("KeyMap: a rebase keeps rows added after the snapshot") {
  KeyMap m(KeyKind::kInt64);
  Bitmap live;
  for (RowId r = 0; r < 100; ++r) {
    m.Insert(int64_t{r} * 10, r);
    live.Add(r);
  }
  const Sections s = Write(m, live);
  // Rows 100..149 arrive between writing the snapshot and the rebase.
  for (RowId r = 100; r < 150; ++r) m.Insert(int64_t{r} * 10, r);
  auto loaded = Load(KeyKind::kInt64, s, live, 100);
  REQUIRE(std::holds_alternative<FrozenKeys>(loaded));
  std::shared_ptr<KeyMap> rebased = m.Rebased(std::get<FrozenKeys>(std::move(loaded)));
  REQUIRE(rebased->base().rows() == 100);
  REQUIRE(rebased->rows() == 150);
  for (RowId r = 0; r < 150; ++r) {
    REQUIRE(rebased->Find(int64_t{r} * 10) == r);
    REQUIRE(rebased->KeyOf(r) == CustomerKey(int64_t{r} * 10));
    // The map the older versions keep is unchanged.
    REQUIRE(m.Find(int64_t{r} * 10) == r);
  }
  REQUIRE_FALSE(rebased->Find(int64_t{5}).has_value());
}

TEST_CASE("FrozenKeys: large tables (directory of many buckets) find every key") {
  for (KeyKind kind : {KeyKind::kInt64, KeyKind::kString}) {
    KeyMap m(kind);
    Bitmap live;
    const RowId n = 300'000;
    for (RowId r = 0; r < n; ++r) {
      InsertKey(m, MakeKey(kind, r), r);
      if (r % 7 != 3) live.Add(r);
    }
    const Sections s = Write(m, live);
    auto loaded = Load(kind, s, live, n);
    REQUIRE(std::holds_alternative<FrozenKeys>(loaded));
    const FrozenKeys& f = std::get<FrozenKeys>(loaded);
    REQUIRE(f.entry_count() == live.Cardinality());
    // Batch lookups of every row's key and of absent keys.
    std::vector<RowId> batch(2 * n);
    if (kind == KeyKind::kInt64) {
      std::vector<int64_t> ks;
      for (RowId r = 0; r < 2 * n; ++r) ks.push_back(std::get<int64_t>(MakeKey(kind, r)));
      f.FindMany(ks, batch.data());
    } else {
      std::vector<std::string> text;
      for (RowId r = 0; r < 2 * n; ++r) text.push_back(std::get<std::string>(MakeKey(kind, r)));
      std::vector<std::string_view> ks(text.begin(), text.end());
      f.FindMany(ks, batch.data());
    }
    for (RowId r = 0; r < 2 * n; ++r) {
      REQUIRE(batch[r] == (r < n && r % 7 != 3 ? r : FrozenKeys::kNoRow));
    }
    for (RowId r = 0; r < n; r += 13) {
      const CustomerKey k = MakeKey(kind, r);
      const std::optional<RowId> got = kind == KeyKind::kInt64
                                           ? f.Find(std::get<int64_t>(k))
                                           : f.Find(std::string_view(std::get<std::string>(k)));
      if (r % 7 != 3) {
        REQUIRE(got == r);
      } else {
        REQUIRE_FALSE(got.has_value());  // dead rows have no entry
      }
      const CustomerKey absent = MakeKey(kind, n + r);
      REQUIRE_FALSE((kind == KeyKind::kInt64
                         ? f.Find(std::get<int64_t>(absent))
                         : f.Find(std::string_view(std::get<std::string>(absent))))
                        .has_value());
    }
  }
}

// ---- crafted sections ----------------------------------------------------------------

uint64_t Get64(const std::string& s, size_t at) {
  uint64_t v;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}
void Set64(std::string& s, size_t at, uint64_t v) { std::memcpy(s.data() + at, &v, 8); }

// Rewrites the table's entries with `fn(entries)` (keeping the header's
// count in step).
template <typename Fn>
Sections EditEntries(Sections s, Fn fn) {
  std::vector<uint64_t> e((s.table.size() - 16) / 8);
  std::memcpy(e.data(), s.table.data() + 16, e.size() * 8);
  fn(e);
  s.table.resize(16);
  Set64(s.table, 8, e.size());
  s.table.append(reinterpret_cast<const char*>(e.data()), e.size() * 8);
  return s;
}

std::string ErrorOf(KeyKind kind, const Sections& s, const Bitmap& live, uint64_t rows) {
  auto r = Load(kind, s, live, rows);
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
}

TEST_CASE("FrozenKeys: inconsistent sections are refused with their position") {
  KeyMap m(KeyKind::kInt64);
  Bitmap live;
  const RowId n = 2000;
  for (RowId r = 0; r < n; ++r) {
    m.Insert(int64_t{r} * 3 + 1, r);
    if (r != 17) live.Add(r);
  }
  const Sections good = Write(m, live);
  REQUIRE(ErrorOf(KeyKind::kInt64, good, live, n).empty());

  SECTION("row limit differs from the list") {
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, good, live, n + 1),
                 Catch::Contains("list@1") && Catch::Contains("row limit"));
  }
  SECTION("truncated list") {
    Sections s = good;
    s.key_list.pop_back();
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, s, live, n), Catch::Contains("list@9"));
  }
  SECTION("a key changed: the table no longer matches") {
    Sections s = good;
    Set64(s.key_list, 9 + 8 * 5, 999999);
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, s, live, n), Catch::Contains("does not match"));
  }
  SECTION("two live rows share a key (table recomputed to match)") {
    KeyMap dup(KeyKind::kInt64);
    for (RowId r = 0; r < n; ++r) dup.Insert(r == 40 ? int64_t{30} * 3 + 1 : int64_t{r} * 3 + 1, r);
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, Write(dup, live), live, n),
                 Catch::Contains("share a key"));
  }
  SECTION("an entry of a dead row") {
    Sections s =
        EditEntries(good, [](std::vector<uint64_t>& e) { e[0] = (e[0] & ~0xFFFFFFFFull) | 17; });
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, s, live, n), Catch::Contains("does not match"));
  }
  SECTION("an entry repeats another live row (its own row missing)") {
    Sections s = EditEntries(good, [](std::vector<uint64_t>& e) {
      e[5] = (e[5] & ~0xFFFFFFFFull) | (e[4] & 0xFFFFFFFF);
    });
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, s, live, n), Catch::Contains("does not match"));
  }
  SECTION("an entry of a row beyond the key list") {
    Sections s = EditEntries(
        good, [&](std::vector<uint64_t>& e) { e.back() = (e.back() & ~0xFFFFFFFFull) | (n + 5); });
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, s, live, n), Catch::Contains("beyond the key list"));
  }
  SECTION("an entry missing") {
    Sections s = EditEntries(good, [](std::vector<uint64_t>& e) { e.pop_back(); });
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, s, live, n), Catch::Contains("entries for"));
  }
  SECTION("entries out of order") {
    Sections s = EditEntries(good, [](std::vector<uint64_t>& e) { std::swap(e[3], e[4]); });
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, s, live, n),
                 Catch::Contains("table@48") && Catch::Contains("strictly increasing"));
  }
  SECTION("a tag changed but kept in order") {
    Sections s = EditEntries(good, [](std::vector<uint64_t>& e) {
      // Lower the first entry's tag that has room above its predecessor's
      // (2,000 hashed tags leave plenty): still sorted, now wrong.
      for (size_t i = 1; i < e.size(); ++i) {
        const uint64_t tag = (e[i - 1] >> 32) + 1;
        if (tag < (e[i] >> 32)) {
          e[i] = tag << 32 | (e[i] & 0xFFFFFFFF);
          return;
        }
      }
    });
    REQUIRE(s.table != good.table);
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, s, live, n), Catch::Contains("does not match"));
  }
  SECTION("a table whose count overflows the section") {
    Sections s = good;
    Set64(s.table, 8, UINT64_MAX / 4);
    REQUIRE_THAT(ErrorOf(KeyKind::kInt64, s, live, n), Catch::Contains("table@8"));
  }
}

TEST_CASE("FrozenKeys: bad string offsets and keys are refused") {
  KeyMap m(KeyKind::kString);
  Bitmap live;
  for (RowId r = 0; r < 50; ++r) {
    m.Insert(std::string_view("key" + std::to_string(r)), r);
    live.Add(r);
  }
  const Sections good = Write(m, live);
  REQUIRE(ErrorOf(KeyKind::kString, good, live, 50).empty());
  SECTION("decreasing offset") {
    Sections s = good;
    Set64(s.key_list, 9 + 8 * 3, Get64(s.key_list, 9 + 8 * 2) - 1);
    REQUIRE_THAT(ErrorOf(KeyKind::kString, s, live, 50), Catch::Contains("list@33"));
  }
  SECTION("first offset not zero") {
    Sections s = good;
    Set64(s.key_list, 9, 1);
    REQUIRE_THAT(ErrorOf(KeyKind::kString, s, live, 50), Catch::Contains("first offset"));
  }
  SECTION("offsets do not reach the end") {
    Sections s = good;
    s.key_list.push_back('x');
    REQUIRE_THAT(ErrorOf(KeyKind::kString, s, live, 50), Catch::Contains("do not end"));
  }
  SECTION("a live key that is not UTF-8") {
    Sections s = good;
    const size_t blob = 9 + 8 * 51;
    s.key_list[blob] = '\xff';
    REQUIRE_THAT(ErrorOf(KeyKind::kString, s, live, 50), Catch::Contains("invalid string key"));
  }
}

// The string key list of `keys` (row order) as Index::Checkpoint writes it,
// and the matching table for the rows of `live` (keys must be unique).
Sections StringSections(const std::vector<std::string>& keys, const Bitmap& live) {
  KeyMap m(KeyKind::kString);
  for (RowId r = 0; r < keys.size(); ++r) m.Insert(std::string_view(keys[r]), r);
  return Write(m, live);
}

// The oracle: the first live row (ascending) whose key ValidateStringKey
// refuses, as Load reports it.
std::string FirstInvalid(const std::vector<std::string>& keys, const Bitmap& live) {
  static const IndexOptions options;
  for (RowId r = 0; r < keys.size(); ++r) {
    if (live.Contains(r) && !tagindex::internal::ValidateStringKey(keys[r], options).ok()) {
      return "list@" + std::to_string(9 + 8 * uint64_t{r}) + ": invalid string key of row " +
             std::to_string(r);
    }
  }
  return "";
}

TEST_CASE("FrozenKeys: the string key pass agrees with ValidateStringKey") {
  // Keys of every length from 1 to 40 bytes, ASCII and not, and broken
  // ones (each kind of invalid UTF-8, at the start, middle and end of a
  // key, and the empty key), on live and dead rows: Load refuses exactly
  // the first live row the per-key check refuses, and nothing else.
  const std::vector<std::string> broken = {"\xff",
                                           "\x80",
                                           "\xc0\xaf",
                                           "\xe5\xae",
                                           "\xed\xa0\x80",
                                           "\xf4\x90\x80\x80",
                                           "\xf0\x8f\xbf\xbf",
                                           "\xc3"};
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    const RowId n = 3000;
    std::vector<std::string> keys(n);
    Bitmap live;
    for (RowId r = 0; r < n; ++r) {
      std::string k = (rng() % 3 == 0 ? "客户" : "C") + std::to_string(r);
      const size_t pad = rng() % 36;  // lengths up to 40 bytes
      for (size_t i = 0; i < pad; ++i) k.push_back(static_cast<char>('a' + rng() % 26));
      if (rng() % 4 == 0) k.insert(rng() % 2 == 0 ? 0 : k.size(), "é");
      keys[r] = k;
      if (rng() % 5 != 0) live.Add(r);
    }
    // Seeds 1-10 stay valid; the others break a few keys anywhere (dead
    // ones must not matter).
    const int breaks = seed <= 10 ? 0 : 1 + static_cast<int>(rng() % 4);
    for (int b = 0; b < breaks; ++b) {
      std::string& k = keys[rng() % n];
      if (rng() % 9 == 0) {
        k.clear();
      } else {
        k.insert(rng() % (k.size() + 1), broken[rng() % broken.size()]);
      }
    }
    std::vector<std::string> unique = keys;  // the empty key may repeat
    std::sort(unique.begin(), unique.end());
    if (std::adjacent_find(unique.begin(), unique.end()) != unique.end()) continue;
    const Sections s = StringSections(keys, live);
    const std::string want = FirstInvalid(keys, live);
    auto loaded = Load(KeyKind::kString, s, live, n);
    if (want.empty()) {
      REQUIRE(std::holds_alternative<FrozenKeys>(loaded));
      const FrozenKeys& f = std::get<FrozenKeys>(loaded);
      for (RowId r = 0; r < n; ++r) {
        REQUIRE(f.Find(std::string_view(keys[r])) ==
                (live.Contains(r) ? std::optional<RowId>(r) : std::nullopt));
      }
    } else {
      REQUIRE(std::holds_alternative<std::string>(loaded));
      REQUIRE(std::get<std::string>(loaded) == want);
    }
  }
}

TEST_CASE("FrozenKeys: a string key list checked on two threads reports the first bad key") {
  // Above kParallelKeys live rows the checking pass runs on two threads
  // (ranks split in half): the sums must still match, and the error named
  // must be the first invalid live key whichever half it is in.
  const RowId n = static_cast<RowId>(FrozenKeys::kParallelKeys + 4096);
  std::vector<std::string> keys(n);
  for (RowId r = 0; r < n; ++r) keys[r] = "C" + std::to_string(uint64_t{r} * 7919 + 13800000000);
  for (bool dense : {true, false}) {
    INFO((dense ? "dense universe" : "universe with holes"));
    Bitmap live;
    for (RowId r = 0; r < n; ++r) {
      if (dense || r % 5 != 2) live.Add(r);
    }
    if (!dense && live.Cardinality() < FrozenKeys::kParallelKeys) {
      // 4/5 of n is below the threshold: live rows added to reach it.
      const RowId extra = static_cast<RowId>(FrozenKeys::kParallelKeys - live.Cardinality() + 100);
      for (RowId i = 0; i < extra; ++i) {
        keys.push_back("D" + std::to_string(i));
        live.Add(static_cast<RowId>(keys.size() - 1));
      }
    }
    const RowId rows = static_cast<RowId>(keys.size());
    REQUIRE(live.Cardinality() >= FrozenKeys::kParallelKeys);
    const Sections good = StringSections(keys, live);
    {
      auto loaded = Load(KeyKind::kString, good, live, rows);
      REQUIRE(std::holds_alternative<FrozenKeys>(loaded));
      const FrozenKeys& f = std::get<FrozenKeys>(loaded);
      for (RowId r = 0; r < rows; r += 997) {
        REQUIRE(f.Find(std::string_view(keys[r])) ==
                (live.Contains(r) ? std::optional<RowId>(r) : std::nullopt));
      }
    }
    // Breaks a key in place (same length: the offsets stay right) and
    // checks the error against the oracle.
    auto broken = [&](std::vector<RowId> at) {
      Sections s = good;
      std::vector<std::string> edited = keys;
      for (RowId r : at) {
        const uint64_t offset = Get64(s.key_list, 9 + 8 * uint64_t{r});
        s.key_list[9 + 8 * (uint64_t{rows} + 1) + offset + 1] = '\xfe';
        edited[r][1] = '\xfe';
      }
      const std::string want = FirstInvalid(edited, live);
      REQUIRE_FALSE(want.empty());
      REQUIRE(ErrorOf(KeyKind::kString, s, live, rows) == want);
    };
    // The rank-th live row.
    auto live_row = [&](uint64_t rank) {
      std::vector<uint32_t> one;
      live.RangeToVector(rank, 1, &one);
      REQUIRE(one.size() == 1);
      return one[0];
    };
    const uint64_t count = live.Cardinality();
    broken({live_row(count - 1)});                           // the upper half only
    broken({live_row(count - 1), live_row(3)});              // both halves: the lower one is named
    broken({live_row(count / 2), live_row(count / 2 - 1)});  // either side of the split
    broken({live_row(0)});                                   // the very first row
  }
}

}  // namespace

// ---- bounded work on crafted tables ----------------------------------------------------

// The inverse of fmix64 (the int64 key hash), so a test can choose keys
// whose hashes collide the way a hostile file's author (who sees the seed)
// would.
uint64_t InverseOfOdd(uint64_t c) {
  uint64_t y = c;
  for (int i = 0; i < 6; ++i) y *= 2 - c * y;
  return y;
}
uint64_t InverseFmix64(uint64_t x) {
  x ^= x >> 33;
  x *= InverseOfOdd(0xc4ceb9fe1a85ec53ULL);
  x ^= x >> 33;
  x *= InverseOfOdd(0xff51afd7ed558ccdULL);
  x ^= x >> 33;
  return x;
}

struct Crafted {
  KeyMap map{KeyKind::kInt64};
  Bitmap live;
  std::vector<int64_t> keys;
};

// n keys whose hashes are hash_of(i): all in one tag, or all in one
// directory bucket with distinct tags.
template <typename HashOf>
std::unique_ptr<Crafted> CraftKeys(RowId n, HashOf hash_of) {
  auto owned = std::make_unique<Crafted>();  // KeyMap does not move
  Crafted& c = *owned;
  for (RowId r = 0; r < n; ++r) {
    const int64_t key = static_cast<int64_t>(InverseFmix64(hash_of(r)) ^ c.map.table_seed());
    REQUIRE(tagindex::internal::FrozenKeyHash(key, c.map.table_seed()) == hash_of(r));
    c.map.Insert(key, r);
    c.live.Add(r);
    c.keys.push_back(key);
  }
  return owned;
}

struct Work {
  uint64_t load = 0;
  uint64_t lookups = 0;
};

Work LoadAndFindAll(const std::unique_ptr<Crafted>& owned) {
  const Crafted& c = *owned;
  auto loaded = Load(KeyKind::kInt64, Write(c.map, c.live), c.live, c.keys.size());
  REQUIRE(std::holds_alternative<FrozenKeys>(loaded));
  const FrozenKeys& f = std::get<FrozenKeys>(loaded);
  Work w{f.load_probes(), 0};
  for (RowId r = 0; r < c.keys.size(); ++r) {
    REQUIRE(f.Find(c.keys[r], &w.lookups) == r);  // the oracle: key i is row i
  }
  // The batch path agrees; absent keys (with other tags) are not found.
  std::vector<RowId> batch(c.keys.size());
  f.FindMany(c.keys, batch.data());
  for (RowId r = 0; r < c.keys.size(); ++r) REQUIRE(batch[r] == r);
  for (RowId r = 0; r < c.keys.size(); r += 97) {
    REQUIRE_FALSE(f.Find(c.keys[r] ^ 0x5555, &w.lookups).has_value());
  }
  return w;
}

TEST_CASE("FrozenKeys: keys crafted to share one hash tag cost n log n, not n^2") {
  // The old duplicate check compared every pair of a run of equal tags and
  // every lookup scanned the run: n^2 / 2 key comparisons to open, n per
  // lookup. Work is counted (probes), never timed.
  const uint64_t tag = 0x9e3779b9ULL;
  Work small, large;
  const RowId n1 = 1000, n2 = 8000;
  small =
      LoadAndFindAll(CraftKeys(n1, [&](RowId r) { return tag << 32 | (uint64_t{r} * 77 + 5); }));
  large =
      LoadAndFindAll(CraftKeys(n2, [&](RowId r) { return tag << 32 | (uint64_t{r} * 77 + 5); }));
  INFO("load probes " << small.load << " / " << large.load << ", lookup probes " << small.lookups
                      << " / " << large.lookups);
  const auto log2 = [](double x) { return std::log2(x); };
  // std::sort makes at most ~2 n log2 n comparisons; plus the adjacent pass.
  REQUIRE(large.load <= 3 * n2 * log2(n2) + n2);
  REQUIRE(small.load <= 3 * n1 * log2(n1) + n1);
  REQUIRE(large.load < 0.01 * double(n2) * n2 / 2);  // far from quadratic
  // Per lookup: a bucket binary search, kShortRun entries, a run search.
  const double per_lookup = 2 * log2(n2) + FrozenKeys::kShortRun + FrozenKeys::kLinearScan + 4;
  REQUIRE(large.lookups <= n2 * per_lookup);
  // Growth: 8x the keys costs far less than the 64x of a quadratic path.
  REQUIRE(large.load < 12 * small.load);
  REQUIRE(large.lookups < 12 * small.lookups);
}

TEST_CASE("FrozenKeys: keys crafted into one directory bucket are binary-searched") {
  const RowId n = 8000;
  // Distinct tags, all with the same top bits (one bucket of the directory).
  Work w =
      LoadAndFindAll(CraftKeys(n, [](RowId r) { return (uint64_t{0xabcd0000} + r) << 32 | r; }));
  INFO("lookup probes " << w.lookups);
  REQUIRE(w.load == 0);  // no equal tags: nothing to compare
  REQUIRE(w.lookups <= n * (std::log2(double(n)) + 3));
}

TEST_CASE("FrozenKeys: a duplicate key inside a long run of one tag is found") {
  const uint64_t tag = 0x12345678ULL;
  // 500 keys of one tag, row 400 holding row 123's key.
  Crafted d;
  for (RowId r = 0; r < 500; ++r) {
    const uint64_t h = tag << 32 | (uint64_t{r == 400 ? 123u : r} * 3 + 1);
    const int64_t key = static_cast<int64_t>(InverseFmix64(h) ^ d.map.table_seed());
    d.map.Insert(key, r);
    d.live.Add(r);
  }
  REQUIRE_THAT(ErrorOf(KeyKind::kInt64, Write(d.map, d.live), d.live, 500),
               Catch::Contains("live rows 123 and 400 share a key"));
}
