// Int64 customer keys stored as runs in a snapshot (section kind 30): the
// reader (FrozenKeys: load checks, lookups by key and by row) and the
// writer (KeyMap::IntKeySectionsWithRuns) of the same bytes, side by side.
// The hashed form of the rows outside the runs (key list kind 4, lookup
// table kind 10) is frozen_keys.cc's; this file only adds the runs, so the
// int64 run path and the hashed / string paths can change independently.
//
// Byte format (docs/file_format.md, kind 30): u64 m, then m x (i64
// first_key, u32 first_row, u32 length), ascending by first_row. Keys
// [first_key, first_key + length) are rows [first_row, first_row + length)
// in that order. A file with runs has, in kind 4, the keys of the rows
// outside the runs (in row order) and, in kind 10, the entries of the live
// rows outside the runs.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "index/frozen_keys.h"
#include "index/key_map.h"
#include "storage/coding.h"

namespace tagindex::internal {
namespace {

constexpr uint64_t kRunsHeader = 8;     // u64 run count
constexpr uint64_t kRunBytes = 16;      // i64 first key, u32 first row, u32 length
constexpr uint64_t kKeyListHeader = 9;  // u8 key kind, u64 row count (frozen_keys.cc)

std::atomic<uint64_t> min_disk_run{KeyMap::kMinDiskRun};

uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

bool RunHolds(const FrozenKeys::IntRun& r, int64_t key) {
  return key >= r.key && static_cast<uint64_t>(key) - static_cast<uint64_t>(r.key) < r.length;
}

}  // namespace

void KeyMap::SetMinDiskRunForTesting(uint64_t length) {
  min_disk_run.store(length == 0 ? kMinDiskRun : length);
}

// ---- reader -----------------------------------------------------------------------

bool FrozenKeys::LoadRuns(const Input& in, FrozenKeys* f, FrozenKeysError* error) {
  auto fail = [&](uint64_t at, std::string what) {
    error->in_runs = true;
    error->in_table = false;
    error->at = at;
    error->what = std::move(what);
    return false;
  };
  const std::span<const char> p = in.runs;
  if (p.size() < kRunsHeader) return fail(0, "key runs section too short");
  const uint64_t m = Load64(p.data());
  if ((p.size() - kRunsHeader) % kRunBytes != 0 || (p.size() - kRunsHeader) / kRunBytes != m) {
    return fail(0, "key runs section size does not match its run count");
  }
  if (m == 0) return fail(0, "key runs section without runs");
  const Bitmap& universe = *in.universe;
  f->runs_.reserve(m);
  f->run_rows_through_.reserve(m);
  uint64_t prev_end = 0;
  uint64_t total = 0;
  for (uint64_t i = 0; i < m; ++i) {
    const uint64_t at = kRunsHeader + kRunBytes * i;
    const auto key = static_cast<int64_t>(Load64(p.data() + at));
    const uint32_t row = Load32(p.data() + at + 8);
    const uint32_t length = Load32(p.data() + at + 12);
    if (length == 0) return fail(at + 12, absl::StrCat("key run ", i, " is empty"));
    if (i > 0 && row < prev_end) {
      return fail(at + 8,
                  absl::StrCat("key run ", i, " (from row ", row, ") overlaps the rows of run ",
                               i - 1, " or is out of row order"));
    }
    const uint64_t end = uint64_t{row} + length;
    if (end > in.row_limit) {
      return fail(at + 8, absl::StrCat("key run ", i, " (rows ", row, "..", end - 1,
                                       ") goes beyond the row limit ", in.row_limit));
    }
    if (key > std::numeric_limits<int64_t>::max() - static_cast<int64_t>(length - 1)) {
      return fail(at, absl::StrCat("key run ", i, " overflows int64 (first key ", key, ", length ",
                                   length, ")"));
    }
    if (universe.RangeCardinality(row, end) != length) {
      return fail(at + 8, absl::StrCat("key run ", i, " (rows ", row, "..", end - 1,
                                       ") holds rows that are not live customers"));
    }
    prev_end = end;
    total += length;
    f->runs_.push_back({key, row, length});
    f->run_rows_through_.push_back(total);
  }
  // Key ranges must not overlap: sorted by first key, each run ends before
  // the next begins.
  std::vector<uint32_t> order(m);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return f->runs_[a].key < f->runs_[b].key; });
  for (uint64_t i = 1; i < m; ++i) {
    const IntRun& a = f->runs_[order[i - 1]];
    const IntRun& b = f->runs_[order[i]];
    if (static_cast<uint64_t>(b.key) - static_cast<uint64_t>(a.key) < a.length) {
      const uint32_t later = std::max(order[i - 1], order[i]);
      return fail(kRunsHeader + kRunBytes * later,
                  absl::StrCat("key runs ", std::min(order[i - 1], order[i]), " and ", later,
                               " overlap in keys"));
    }
  }
  f->runs_by_key_.reserve(m);
  for (uint32_t i : order) f->runs_by_key_.push_back(f->runs_[i]);
  f->run_rows_ = total;
  return true;
}

bool FrozenKeys::CheckLiveOutsideRuns(const Bitmap& universe, uint64_t mix_key, uint64_t* sum,
                                      FrozenKeysError* error) const {
  size_t j = 0;  // the first run (by row) that ends after the current row
  size_t hint = 0;
  uint64_t total = 0;
  bool ok = true;
  auto visit = [&](RowId r) {
    while (j < runs_.size() && uint64_t{runs_[j].row} + runs_[j].length <= r) ++j;
    if (j < runs_.size() && r >= runs_[j].row) return true;  // in run j: no key to hash
    const uint64_t at = r - (j == 0 ? 0 : run_rows_through_[j - 1]);
    const auto key = static_cast<int64_t>(Load64(keys_ + 8 * at));
    if (const RowId in_run = RunFind(key, &hint); in_run != kNoRow) {
      error->in_runs = false;
      error->in_table = false;
      error->at = kKeyListHeader + 8 * at;
      error->what = absl::StrCat("live row ", r, " has key ", key,
                                 ", which a key run also holds (at row ", in_run, ")");
      ok = false;
      return false;
    }
    total +=
        FrozenKeyHash(static_cast<int64_t>(FrozenEntry(FrozenKeyHash(key, seed_), r)), mix_key);
    return true;
  };
  const uint64_t n = universe.Cardinality();
  if (n != 0 && uint64_t{universe.Maximum()} + 1 == n) {
    // Every row below n is live: visit only the gaps between runs.
    uint64_t r = 0;
    for (size_t i = 0; i <= runs_.size() && ok; ++i) {
      const uint64_t stop = i < runs_.size() ? runs_[i].row : n;
      for (; r < stop && ok; ++r) visit(static_cast<RowId>(r));
      if (i < runs_.size()) r = uint64_t{runs_[i].row} + runs_[i].length;
    }
  } else {
    ForEachLiveRow(universe, visit);
  }
  *sum = total;
  return ok;
}

int64_t FrozenKeys::IntKeyWithRuns(RowId row) const {
  const auto it = std::upper_bound(runs_.begin(), runs_.end(), row,
                                   [](RowId r, const IntRun& run) { return r < run.row; });
  const size_t j = static_cast<size_t>(it - runs_.begin());
  if (j > 0) {
    const IntRun& run = runs_[j - 1];
    if (row - run.row < run.length) return run.key + static_cast<int64_t>(row - run.row);
  }
  const uint64_t at = row - (j == 0 ? 0 : run_rows_through_[j - 1]);
  return static_cast<int64_t>(Load64(keys_ + 8 * at));
}

void FrozenKeys::CopyIntKeys(uint64_t begin, uint64_t end, int64_t* out) const {
  if (begin >= end) return;
  if (runs_.empty()) {
    std::memcpy(out, keys_ + 8 * begin, 8 * (end - begin));
    return;
  }
  size_t j = static_cast<size_t>(
      std::partition_point(runs_.begin(), runs_.end(),
                           [&](const IntRun& r) { return uint64_t{r.row} + r.length <= begin; }) -
      runs_.begin());
  uint64_t r = begin;
  while (r < end) {
    if (j < runs_.size() && r >= runs_[j].row) {
      const IntRun& run = runs_[j];
      const uint64_t stop = std::min<uint64_t>(end, uint64_t{run.row} + run.length);
      for (; r < stop; ++r) out[r - begin] = run.key + static_cast<int64_t>(r - run.row);
      if (r == uint64_t{run.row} + run.length) ++j;
    } else {
      const uint64_t stop = j < runs_.size() ? std::min<uint64_t>(end, runs_[j].row) : end;
      const uint64_t at = r - (j == 0 ? 0 : run_rows_through_[j - 1]);
      std::memcpy(out + (r - begin), keys_ + 8 * at, 8 * (stop - r));
      r = stop;
    }
  }
}

RowId FrozenKeys::RunFind(int64_t key, size_t* hint) const {
  const size_t m = runs_by_key_.size();
  if (m == 0) return kNoRow;
  auto row_in = [&](const IntRun& r) {
    return static_cast<RowId>(r.row + (static_cast<uint64_t>(key) - static_cast<uint64_t>(r.key)));
  };
  // Ascending batches: the hinted run or the next one.
  if (*hint < m && RunHolds(runs_by_key_[*hint], key)) return row_in(runs_by_key_[*hint]);
  if (*hint + 1 < m && RunHolds(runs_by_key_[*hint + 1], key)) {
    ++*hint;
    return row_in(runs_by_key_[*hint]);
  }
  const auto it = std::upper_bound(runs_by_key_.begin(), runs_by_key_.end(), key,
                                   [](int64_t k, const IntRun& r) { return k < r.key; });
  if (it == runs_by_key_.begin()) return kNoRow;
  const size_t i = static_cast<size_t>(it - runs_by_key_.begin()) - 1;
  if (!RunHolds(runs_by_key_[i], key)) return kNoRow;
  *hint = i;
  return row_in(runs_by_key_[i]);
}

void FrozenKeys::FindManyWithRuns(std::span<const int64_t> keys, RowId* rows) const {
  std::vector<int64_t> rest;
  std::vector<size_t> rest_at;
  size_t hint = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    rows[i] = RunFind(keys[i], &hint);
    if (rows[i] == kNoRow && entries_ != 0) {
      rest.push_back(keys[i]);
      rest_at.push_back(i);
    }
  }
  if (rest.empty()) return;
  std::vector<RowId> found(rest.size());
  FindManyHashed(rest, found.data());
  for (size_t j = 0; j < rest.size(); ++j) rows[rest_at[j]] = found[j];
}

// ---- writer -----------------------------------------------------------------------

bool KeyMap::IntKeySectionsWithRuns(const Bitmap& live, uint64_t limit, IntKeySections* out,
                                    uint64_t* written) const {
  const uint64_t base_rows = base_.rows();
  uint64_t rows;
  {
    std::shared_lock lock(mu_);
    rows = std::min<uint64_t>(limit, base_rows + memory_rows());
  }
  *written = rows;
  const uint64_t min_run = min_disk_run.load();
  // The test hook's writer of files without runs: not even the scan.
  if (min_run == std::numeric_limits<uint64_t>::max() && base_.run_count() == 0) return false;
  // Keys of rows [begin, end) from the base (runs expanded) and memory.
  auto fill = [&](uint64_t begin, uint64_t end, int64_t* buf) {
    const uint64_t split = std::min(end, std::max(begin, base_rows));
    base_.CopyIntKeys(begin, split, buf);
    if (split < end) {
      std::shared_lock lock(mu_);  // the writer may append meanwhile
      std::memcpy(buf + (split - begin), int_keys_.data() + (split - base_rows), 8 * (end - split));
    }
  };
  std::vector<uint64_t> live_bits((rows + 63) / 64, 0);
  ForEachLiveRow(live, [&](RowId r) {
    if (r >= rows) return false;
    live_bits[r >> 6] |= uint64_t{1} << (r & 63);
    return true;
  });
  auto is_live = [&](uint64_t r) { return (live_bits[r >> 6] >> (r & 63) & 1) != 0; };

  // Pass 1: maximal stretches of live rows whose keys ascend by one.
  constexpr uint64_t kChunk = uint64_t{1} << 16;
  std::vector<int64_t> buf(std::min(rows, kChunk));
  std::vector<FrozenKeys::IntRun> runs;
  uint64_t run_row = 0, run_len = 0;
  int64_t run_key = 0;
  auto close = [&] {
    if (run_len >= min_run) {
      runs.push_back({run_key, static_cast<RowId>(run_row), static_cast<uint32_t>(run_len)});
    }
    run_len = 0;
  };
  for (uint64_t c = 0; c < rows; c += kChunk) {
    const uint64_t n = std::min(kChunk, rows - c);
    fill(c, c + n, buf.data());
    for (uint64_t t = 0; t < n; ++t) {
      const uint64_t r = c + t;
      if (!is_live(r)) {
        close();
        continue;
      }
      const int64_t k = buf[t];
      const bool extends = run_len != 0 && k != std::numeric_limits<int64_t>::min() &&
                           k - 1 == run_key + static_cast<int64_t>(run_len - 1);
      if (!extends) close();
      if (run_len == 0) {
        run_row = r;
        run_key = k;
      }
      ++run_len;
    }
  }
  close();
  if (runs.empty() && base_.run_count() == 0) return false;  // the hashed form as before

  // Pass 2: the rows outside the runs, their keys and (live ones) entries.
  out->runs.clear();
  out->key_list.clear();
  out->entries.clear();
  if (!runs.empty()) {
    storage::PutU64(&out->runs, runs.size());
    for (const FrozenKeys::IntRun& r : runs) {
      storage::PutU64(&out->runs, static_cast<uint64_t>(r.key));
      storage::PutU32(&out->runs, r.row);
      storage::PutU32(&out->runs, r.length);
    }
  }
  uint64_t in_runs = 0;
  for (const FrozenKeys::IntRun& r : runs) in_runs += r.length;
  storage::PutU8(&out->key_list, static_cast<uint8_t>(KeyKind::kInt64));
  storage::PutU64(&out->key_list, rows - in_runs);
  out->key_list.reserve(kKeyListHeader + 8 * (rows - in_runs));
  size_t j = 0;
  for (uint64_t c = 0; c < rows; c += kChunk) {
    const uint64_t n = std::min(kChunk, rows - c);
    fill(c, c + n, buf.data());
    for (uint64_t t = 0; t < n; ++t) {
      const uint64_t r = c + t;
      while (j < runs.size() && uint64_t{runs[j].row} + runs[j].length <= r) ++j;
      if (j < runs.size() && r >= runs[j].row) {  // skip the rest of run j in this chunk
        t = std::min(n, uint64_t{runs[j].row} + runs[j].length - c) - 1;
        continue;
      }
      out->key_list.append(reinterpret_cast<const char*>(&buf[t]), 8);
      if (is_live(r)) {
        out->entries.push_back(FrozenEntry(FrozenKeyHash(buf[t], table_seed_), r));
      }
    }
  }
  SortFrozenEntries(&out->entries);
  return true;
}

}  // namespace tagindex::internal
