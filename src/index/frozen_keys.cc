#include "index/frozen_keys.h"

#include <algorithm>
#include <bit>
#include <random>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "index/key_map.h"
#include "index/names.h"
#include "storage/coding.h"
#include "util/hash.h"

namespace tagindex::internal {
namespace {

constexpr uint64_t kKeyListHeader = 9;  // u8 key kind, u64 row count
constexpr uint64_t kTableHeader = 16;   // u64 seed, u64 entry count

uint64_t Fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// The summand of the multiset hash: a keyed mix of one entry (fmix64 of
// the entry XOR a secret drawn per load; the file's author cannot see it).
// The sum over a multiset of entries is order-independent, so the table
// (tag order) and the live rows' keys (row order) can each be summed in one
// sequential pass.
struct MultisetHash {
  uint64_t key;
  uint64_t operator()(uint64_t entry) const { return Fmix64(entry ^ key); }
};

MultisetHash FreshMultisetHash() {
  std::random_device rd;
  return MultisetHash{(uint64_t{rd()} << 32) ^ rd()};
}

bool Fail(FrozenKeysError* error, bool in_table, uint64_t at, std::string what) {
  error->in_table = in_table;
  error->at = at;
  error->what = std::move(what);
  return false;
}

}  // namespace

uint64_t FrozenKeyHash(int64_t key, uint64_t seed) {
  return Fmix64(static_cast<uint64_t>(key) ^ seed);
}

uint64_t FrozenKeyHash(std::string_view key, uint64_t seed) {
  return util::Xxh3Seeded(key.data(), key.size(), seed);
}

void SortFrozenEntries(std::vector<uint64_t>* entries) {
  // LSD radix sort on the 32-bit tag, 3 passes of 11 bits; stable, so
  // entries of equal tag keep their (row) order.
  std::vector<uint64_t> buffer(entries->size());
  std::vector<uint64_t>* from = entries;
  std::vector<uint64_t>* to = &buffer;
  for (int shift = 32; shift < 64; shift += 11) {
    size_t count[2049] = {};
    for (uint64_t e : *from) ++count[((e >> shift) & 2047) + 1];
    for (int b = 1; b <= 2048; ++b) count[b] += count[b - 1];
    for (uint64_t e : *from) (*to)[count[(e >> shift) & 2047]++] = e;
    std::swap(from, to);
  }
  if (from != entries) entries->swap(*from);
}

bool FrozenKeys::Load(const Input& in, FrozenKeys* out, FrozenKeysError* error) {
  FrozenKeys f;
  f.kind_ = in.kind;
  f.region_ = in.region;
  const Bitmap& universe = *in.universe;
  const uint64_t live_count = universe.Cardinality();

  // ---- int64 key runs (kind 30), if any: checked first (frozen_int_runs.cc) -------
  if (in.kind == KeyKind::kInt64 && !in.runs.empty() && !LoadRuns(in, &f, error)) return false;

  // ---- key list (kind 4): sizes first -------------------------------------------
  // (With runs it holds the rows outside them: row_limit - run rows.)
  std::span<const char> list = in.key_list;
  if (list.size() < kKeyListHeader) return Fail(error, false, 0, "key list too short");
  if (static_cast<uint8_t>(list[0]) != static_cast<uint8_t>(in.kind)) {
    return Fail(error, false, 0, "key list of the wrong key kind");
  }
  f.list_rows_ = Load64(list.data() + 1);
  if (f.list_rows_ != in.row_limit - f.run_rows_) {
    return Fail(
        error, false, 1,
        f.runs_.empty()
            ? absl::StrCat("key list of ", f.list_rows_, " rows for a row limit of ", in.row_limit)
            : absl::StrCat("key list of ", f.list_rows_, " rows for a row limit of ", in.row_limit,
                           " of which ", f.run_rows_, " are in key runs"));
  }
  f.rows_ = in.row_limit;
  const uint64_t list_body = list.size() - kKeyListHeader;
  f.keys_ = list.data() + kKeyListHeader;
  if (in.kind == KeyKind::kInt64) {
    if (list_body / 8 != f.list_rows_ || list_body % 8 != 0) {
      return Fail(error, false, kKeyListHeader, "key list size does not match its row count");
    }
  } else {
    if (list_body / 8 < f.rows_ + 1) {
      return Fail(error, false, kKeyListHeader, "string key offsets exceed the section");
    }
    f.blob_ = f.keys_ + 8 * (f.rows_ + 1);
    f.blob_size_ = list_body - 8 * (f.rows_ + 1);
    if (Load64(f.keys_) != 0) return Fail(error, false, kKeyListHeader, "first offset is not 0");
    uint64_t prev = 0;
    for (uint64_t r = 1; r <= f.rows_; ++r) {
      const uint64_t o = Load64(f.keys_ + 8 * r);
      if (o < prev || o - prev > in.options->max_string_key_bytes) {
        return Fail(error, false, kKeyListHeader + 8 * r,
                    absl::StrCat("string key of row ", r - 1, " has a bad length"));
      }
      prev = o;
    }
    if (prev != f.blob_size_) {
      return Fail(error, false, kKeyListHeader + 8 * f.rows_,
                  "string key bytes do not end with the section");
    }
  }

  // ---- lookup table (kind 10): sizes -----------------------------------------------
  std::span<const char> table = in.table;
  if (table.size() < kTableHeader) return Fail(error, true, 0, "key lookup table too short");
  f.seed_ = Load64(table.data());
  f.entries_ = Load64(table.data() + 8);
  if ((table.size() - kTableHeader) / 8 != f.entries_ || (table.size() - kTableHeader) % 8 != 0) {
    return Fail(error, true, 8, "key lookup table size does not match its entry count");
  }
  if (f.entries_ != live_count - f.run_rows_) {  // run rows are live (LoadRuns)
    return Fail(error, true, 8,
                f.runs_.empty()
                    ? absl::StrCat("key lookup table of ", f.entries_, " entries for ", live_count,
                                   " live customers")
                    : absl::StrCat("key lookup table of ", f.entries_, " entries for ", live_count,
                                   " live customers of which ", f.run_rows_, " are in key runs"));
  }
  if (!universe.IsEmpty() && uint64_t{universe.Maximum()} >= f.rows_) {
    return Fail(error, false, 1, "a live customer has no key");
  }
  f.table_ = table.data() + kTableHeader;
  f.directory_bits_ = f.entries_ < 16 ? 0 : static_cast<int>(std::bit_width(f.entries_)) - 3;
  f.directory_.assign((size_t{1} << f.directory_bits_) + 1, 0);

  const MultisetHash mix = FreshMultisetHash();

  // ---- pass A, over the table: order, directory, sum ------------------------------
  // (Liveness and uniqueness of the rows need no pass of their own: the sums
  // below match only if the entries are exactly one per live row.)
  uint64_t table_sum = 0;
  std::vector<uint64_t> tie_starts;  // first index of each run of equal tags
  {
    const int shift = f.directory_bits_ == 0 ? 64 : 64 - f.directory_bits_;
    uint64_t next_bucket = 0;
    uint64_t prev = 0;
    for (uint64_t i = 0; i < f.entries_; ++i) {
      const uint64_t e = f.Entry(i);
      if (i > 0 && e <= prev) {
        return Fail(error, true, kTableHeader + 8 * i, "entries are not strictly increasing");
      }
      if (static_cast<RowId>(e) >= f.rows_) {
        return Fail(error, true, kTableHeader + 8 * i, "entry of a row beyond the key list");
      }
      table_sum += mix(e);
      if (i > 0 && (e >> 32) == (prev >> 32) &&
          (tie_starts.empty() || f.Entry(tie_starts.back()) >> 32 != e >> 32)) {
        tie_starts.push_back(i - 1);
      }
      const uint64_t bucket = shift == 64 ? 0 : e >> shift;
      while (next_bucket <= bucket) f.directory_[next_bucket++] = static_cast<uint32_t>(i);
      prev = e;
    }
    while (next_bucket < f.directory_.size()) {
      f.directory_[next_bucket++] = static_cast<uint32_t>(f.entries_);
    }
  }

  // ---- pass B, over the live rows' keys: string validity, sum -------------------
  if (!in.trusted) {
    uint64_t key_sum = 0;
    if (!f.runs_.empty()) {
      if (!f.CheckLiveOutsideRuns(universe, mix.key, &key_sum, error)) return false;
    } else if (in.kind == KeyKind::kInt64) {
      ForEachLiveRow(universe, [&](RowId r) {
        key_sum += mix(FrozenEntry(FrozenKeyHash(f.IntKey(r), f.seed_), r));
        return true;
      });
    } else {
      bool bad = false;
      ForEachLiveRow(universe, [&](RowId r) {
        const std::string_view key = f.StringKey(r);
        if (!ValidateStringKey(key, *in.options).ok()) {
          bad = !Fail(error, false, kKeyListHeader + 8 * uint64_t{r},
                      absl::StrCat("invalid string key of row ", r));
          return false;
        }
        key_sum += mix(FrozenEntry(FrozenKeyHash(key, f.seed_), r));
        return true;
      });
      if (bad) return false;
    }
    if (table_sum != key_sum) {
      return Fail(error, true, kTableHeader,
                  "the lookup table does not match the key list and the live customers (an "
                  "entry's hash or row is wrong, or a live customer's entry is missing)");
    }
  }
  // Every tag is now the hash of its row's key, so equal keys have equal
  // tags and sit in one run of equal tags: compare within those runs.
  // A short run pairwise (at most kShortRun^2 / 2 comparisons); a longer
  // one (only a table whose keys were chosen to collide has one) is sorted
  // by key, which also gives Find its side index: O(k log k) for a run of
  // k, never quadratic.
  uint64_t probes = 0;
  std::vector<std::pair<RowId, uint32_t>> run;  // (row, entry index)
  for (uint64_t start : tie_starts) {
    const uint64_t tag = f.Entry(start) >> 32;
    uint64_t end = start + 1;
    while (end < f.entries_ && f.Entry(end) >> 32 == tag) ++end;
    if (end - start <= kShortRun) {
      if (in.trusted) continue;
      for (uint64_t i = start; i < end; ++i) {
        for (uint64_t j = i + 1; j < end; ++j) {
          const RowId a = static_cast<RowId>(f.Entry(i));
          const RowId b = static_cast<RowId>(f.Entry(j));
          ++probes;
          if (f.CompareKeys(a, b) == 0) {
            return Fail(error, true, kTableHeader + 8 * j,
                        absl::StrCat("live rows ", a, " and ", b, " share a key"));
          }
        }
      }
      continue;
    }
    run.clear();
    for (uint64_t i = start; i < end; ++i) {
      run.emplace_back(static_cast<RowId>(f.Entry(i)), static_cast<uint32_t>(i));
    }
    std::sort(run.begin(), run.end(), [&](const auto& x, const auto& y) {
      ++probes;
      const int c = f.CompareKeys(x.first, y.first);
      return c != 0 ? c < 0 : x.second < y.second;
    });
    for (size_t i = 1; i < run.size(); ++i) {
      ++probes;
      if (f.CompareKeys(run[i - 1].first, run[i].first) == 0) {
        const auto [a, b] = std::minmax(
            run[i - 1], run[i], [](const auto& x, const auto& y) { return x.second < y.second; });
        return Fail(error, true, kTableHeader + 8 * uint64_t{b.second},
                    absl::StrCat("live rows ", a.first, " and ", b.first, " share a key"));
      }
    }
    f.long_runs_.push_back({static_cast<uint32_t>(tag),
                            static_cast<uint32_t>(f.long_run_rows_.size()),
                            static_cast<uint32_t>(run.size())});
    for (const auto& [row, index] : run) f.long_run_rows_.push_back(row);
  }
  f.load_probes_ = probes;
  *out = std::move(f);
  return true;
}

int FrozenKeys::CompareKeys(RowId a, RowId b) const {
  if (kind_ == KeyKind::kInt64) {
    const int64_t x = IntKey(a), y = IntKey(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  const int c = StringKey(a).compare(StringKey(b));
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

uint64_t FrozenKeys::FirstAtLeast(uint64_t bucket, uint64_t tag, uint64_t* work) const {
  uint64_t lo = directory_[bucket];
  uint64_t hi = directory_[bucket + 1];
  if (hi - lo <= kLinearScan) {
    for (; lo < hi; ++lo) {
      ++*work;
      if (Entry(lo) >> 32 >= tag) break;
    }
    return lo;
  }
  while (lo < hi) {  // a crafted bucket: binary search
    ++*work;
    const uint64_t mid = lo + (hi - lo) / 2;
    if (Entry(mid) >> 32 < tag) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

template <typename Compare>
std::optional<RowId> FrozenKeys::FindHashed(uint64_t hash, Compare cmp, uint64_t* probes) const {
  if (entries_ == 0) return std::nullopt;
  const uint64_t tag = hash >> 32;
  const uint64_t bucket = BucketOf(hash);
  const uint64_t end = directory_[bucket + 1];
  uint64_t work = 0;
  std::optional<RowId> found;
  uint64_t scanned = 0;
  for (uint64_t i = FirstAtLeast(bucket, tag, &work); i < end; ++i) {
    const uint64_t e = Entry(i);
    if (e >> 32 != tag) break;
    ++work;
    if (++scanned > kShortRun) {
      // A long run of one tag: its rows sorted by key, binary-searched.
      auto run = std::lower_bound(long_runs_.begin(), long_runs_.end(), tag,
                                  [](const LongRun& r, uint64_t t) { return r.tag < t; });
      if (run != long_runs_.end() && run->tag == tag) {
        uint64_t lo = run->begin, hi = uint64_t{run->begin} + run->size;
        while (lo < hi) {
          ++work;
          const uint64_t mid = lo + (hi - lo) / 2;
          const int c = cmp(long_run_rows_[mid]);
          if (c == 0) {
            found = long_run_rows_[mid];
            break;
          }
          if (c < 0) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
      }
      break;
    }
    const RowId row = static_cast<RowId>(e);
    if (cmp(row) == 0) {
      found = row;
      break;
    }
  }
  if (probes != nullptr) *probes += work;
  return found;
}

std::optional<RowId> FrozenKeys::Find(int64_t key, uint64_t* probes) const {
  if (!runs_.empty()) {  // a key in a run is nowhere else (Load checks)
    size_t hint = 0;
    if (const RowId row = RunFind(key, &hint); row != kNoRow) return row;
  }
  return FindHashed(
      FrozenKeyHash(key, seed_),
      [&](RowId row) {
        const int64_t k = IntKey(row);
        return k < key ? -1 : (k > key ? 1 : 0);
      },
      probes);
}

std::optional<RowId> FrozenKeys::Find(std::string_view key, uint64_t* probes) const {
  return FindHashed(
      FrozenKeyHash(key, seed_),
      [&](RowId row) {
        const int c = StringKey(row).compare(key);
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
      },
      probes);
}

template <typename Key>
void FrozenKeys::FindManyImpl(std::span<const Key> keys, RowId* rows) const {
  if (entries_ == 0) {
    std::fill(rows, rows + keys.size(), kNoRow);
    return;
  }
  constexpr size_t kGroup = 16;
  uint64_t hash[kGroup];
  uint64_t bucket[kGroup];
  RowId candidate[kGroup];
  for (size_t g = 0; g < keys.size(); g += kGroup) {
    const size_t m = std::min(kGroup, keys.size() - g);
    const Key* k = keys.data() + g;
    for (size_t j = 0; j < m; ++j) {
      hash[j] = FrozenKeyHash(k[j], seed_);
      bucket[j] = BucketOf(hash[j]);
      __builtin_prefetch(&directory_[bucket[j]]);
    }
    for (size_t j = 0; j < m; ++j) __builtin_prefetch(table_ + 8 * uint64_t{directory_[bucket[j]]});
    // The first entry with the key's tag; its key is fetched next.
    for (size_t j = 0; j < m; ++j) {
      candidate[j] = kNoRow;
      const uint64_t tag = hash[j] >> 32;
      uint64_t work = 0;
      const uint64_t i = FirstAtLeast(bucket[j], tag, &work);
      if (i < directory_[bucket[j] + 1] && Entry(i) >> 32 == tag) {
        candidate[j] = static_cast<RowId>(Entry(i));
      }
      if (candidate[j] != kNoRow) __builtin_prefetch(keys_ + 8 * uint64_t{candidate[j]});
    }
    if constexpr (std::is_same_v<Key, std::string_view>) {
      for (size_t j = 0; j < m; ++j) {
        if (candidate[j] != kNoRow) {
          __builtin_prefetch(blob_ + Load64(keys_ + 8 * uint64_t{candidate[j]}));
        }
      }
    }
    for (size_t j = 0; j < m; ++j) {
      RowId& out = rows[g + j];
      if (candidate[j] == kNoRow) {
        out = kNoRow;
      } else if constexpr (std::is_same_v<Key, std::string_view>) {
        out = StringKey(candidate[j]) == k[j] ? candidate[j] : Find(k[j]).value_or(kNoRow);
      } else {
        out = IntKey(candidate[j]) == k[j] ? candidate[j] : Find(k[j]).value_or(kNoRow);
      }
    }
  }
}

void FrozenKeys::FindMany(std::span<const int64_t> keys, RowId* rows) const {
  if (!runs_.empty()) return FindManyWithRuns(keys, rows);
  FindManyImpl(keys, rows);
}

void FrozenKeys::FindManyHashed(std::span<const int64_t> keys, RowId* rows) const {
  FindManyImpl(keys, rows);
}

void FrozenKeys::FindMany(std::span<const std::string_view> keys, RowId* rows) const {
  FindManyImpl(keys, rows);
}

// ---- the writer of the same two sections ------------------------------------------
// KeyMap writes the key list (kind 4) and the lookup table (kind 10) that
// FrozenKeys::Load above reads; snapshot_sections.cc frames them.

std::vector<std::string_view> KeyMap::KeyListParts(uint64_t limit, std::string* scratch,
                                                   uint64_t* written) const {
  scratch->clear();
  const uint64_t base_rows = base_.rows();
  std::shared_lock lock(mu_);
  const uint64_t rows = std::min<uint64_t>(limit, base_rows + memory_rows());
  // Memory rows below the limit (a limit inside the base is a caller bug:
  // versions never lose rows the base has).
  const uint64_t mem = rows > base_rows ? rows - base_rows : 0;
  *written = base_rows + mem;
  storage::PutU8(scratch, static_cast<uint8_t>(kind_));
  storage::PutU64(scratch, kind_ == KeyKind::kIdentity ? 0 : base_rows + mem);
  const size_t header = scratch->size();
  if (kind_ == KeyKind::kIdentity) return {*scratch};
  if (kind_ == KeyKind::kInt64) {
    // Copied: the writer's appends may move the vector once the lock is
    // released.
    scratch->append(reinterpret_cast<const char*>(int_keys_.data()), mem * 8);
    const std::string_view all(*scratch);
    return {all.substr(0, header), base_.IntKeyBytes(), all.substr(header)};
  }
  // Strings: offsets of the base rows as they are, then those of the
  // memory rows shifted past the base bytes (and the final one), then the
  // base bytes and the memory bytes.
  uint64_t offset = base_.StringBlob().size();
  for (uint64_t i = 0; i < mem; ++i) {
    storage::PutU64(scratch, offset);
    offset += string_keys_[i].size();
  }
  storage::PutU64(scratch, offset);
  const size_t blob_start = scratch->size();
  for (uint64_t i = 0; i < mem; ++i) scratch->append(string_keys_[i]);
  const std::string_view all(*scratch);
  return {all.substr(0, header), base_.StringOffsetBytes(), all.substr(header, blob_start - header),
          base_.StringBlob(), all.substr(blob_start)};
}

std::vector<std::string_view> KeyMap::LookupEntryParts(const Bitmap& live,
                                                       std::vector<uint64_t>* scratch) const {
  // Rows never come back to life (a re-added key gets a new row), so if
  // every live row is a base row and as many rows are live as the base has
  // entries, the live rows are exactly the base's entries.
  const uint64_t live_count = live.Cardinality();
  if (base_.entry_count() != 0 && live_count == base_.entry_count() &&
      live.Maximum() < base_.rows()) {
    return {base_.EntryBytes()};
  }
  *scratch = LookupEntries(live);
  return {std::string_view(reinterpret_cast<const char*>(scratch->data()), scratch->size() * 8)};
}

std::vector<uint64_t> KeyMap::LookupEntries(const Bitmap& live) const {
  const uint64_t base_rows = base_.rows();
  // One pass over the live rows: base rows into a bitset (to filter the
  // base's entries with one probe each), memory rows into fresh entries.
  std::vector<uint64_t> live_bits((base_rows + 63) / 64, 0);
  std::vector<uint64_t> fresh;
  std::shared_lock lock(mu_);  // the writer may append meanwhile
  ForEachLiveRow(live, [&](RowId r) {
    if (r < base_rows) {
      live_bits[r >> 6] |= uint64_t{1} << (r & 63);
    } else if (kind_ == KeyKind::kInt64) {
      fresh.push_back(FrozenEntry(FrozenKeyHash(int_keys_[r - base_rows], table_seed_), r));
    } else {
      fresh.push_back(FrozenEntry(
          FrozenKeyHash(std::string_view(string_keys_[r - base_rows]), table_seed_), r));
    }
    return true;
  });
  SortFrozenEntries(&fresh);
  if (base_.entry_count() == 0) return fresh;
  std::vector<uint64_t> out;
  out.reserve(live.Cardinality());
  size_t j = 0;
  for (uint64_t i = 0; i < base_.entry_count(); ++i) {
    const uint64_t e = base_.Entry(i);
    const RowId r = static_cast<RowId>(e);
    if ((live_bits[r >> 6] >> (r & 63) & 1) == 0) continue;
    while (j < fresh.size() && fresh[j] < e) out.push_back(fresh[j++]);
    out.push_back(e);
  }
  out.insert(out.end(), fresh.begin() + static_cast<ptrdiff_t>(j), fresh.end());
  return out;
}

}  // namespace tagindex::internal
