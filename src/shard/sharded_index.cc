// ShardedIndex: N ordinary Index shards behind one manifest (see
// include/tagindex/sharded_index.h and docs/sharding.md). Built on the
// public Index API only.
#include "tagindex/sharded_index.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "shard/manifest.h"
#include "shard/thread_pool.h"
#include "util/error_info.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace tagindex {

using shard::Intent;
using shard::Manifest;

struct ShardedIndex::Rep {
  std::string path;  // "" for in-memory
  std::shared_ptr<FileSystem> fs;
  bool read_only = false;
  Manifest manifest;
  std::vector<std::unique_ptr<Index>> shards;
  std::unique_ptr<shard::ThreadPool> pool;
  // Catalog changes exclusive; queries and data writes shared.
  mutable std::shared_mutex catalog_mu;
  bool broken = false;  // a catalog change failed part way: reopen to repair
  std::string repair_report;
};

namespace {

// The sharded face's out-of-memory boundary, as internal::Guarded is the
// index's: std::bad_alloc in a merge, a page or a pool task (where it would
// otherwise terminate the process) becomes ResourceExhausted with the
// out_of_memory kind.
template <typename Fn>
auto Guarded(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory,
                       "sharded index", "sharded index: out of memory");
  }
}

absl::Status Prefixed(uint32_t shard, const absl::Status& s) {
  if (s.ok()) return s;
  absl::Status out(s.code(), absl::StrCat("shard ", shard, ": ", s.message()));
  s.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

// Runs fn(i) for every shard on the pool; the first error (lowest shard)
// wins. Query errors (syntax, unknown names) are the same in every shard, so
// they are returned as shard 0 reports them, without a prefix.
absl::Status ForEachShard(const ShardedIndex::Rep& rep,
                          const std::function<absl::Status(uint32_t)>& fn, bool prefix = true) {
  const size_t n = rep.shards.size();
  std::vector<absl::Status> st(n);
  rep.pool->ParallelFor(
      n, [&](size_t i) { st[i] = Guarded([&] { return fn(static_cast<uint32_t>(i)); }); });
  for (size_t i = 0; i < n; ++i) {
    if (!st[i].ok()) return prefix ? Prefixed(static_cast<uint32_t>(i), st[i]) : st[i];
  }
  return absl::OkStatus();
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Fixes `today` once for all shards (each would read the clock otherwise).
QueryOptions WithToday(const QueryOptions& options) {
  QueryOptions o = options;
  if (!o.today) {
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    o.today = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  }
  return o;
}

std::string ManifestPath(const std::string& dir) { return dir + "/" + shard::kManifestName; }

absl::Status WriteManifestFile(FileSystem& fs, const std::string& dir, const Manifest& m) {
  const std::string tmp = ManifestPath(dir) + ".tmp";
  TI_ASSIGN_OR_RETURN(auto file, fs.OpenWritable(tmp, /*truncate=*/true));
  TI_RETURN_IF_ERROR(file->Append(shard::EncodeManifest(m)));
  TI_RETURN_IF_ERROR(file->Sync());
  TI_RETURN_IF_ERROR(file->Close());
  TI_RETURN_IF_ERROR(fs.Rename(tmp, ManifestPath(dir)));
  return fs.SyncDir(dir);
}

const char* KeyKindName(KeyKind k) {
  return k == KeyKind::kInt64 ? "int64" : k == KeyKind::kString ? "string" : "identity";
}

}  // namespace

// ---- routing ------------------------------------------------------------------

namespace {

uint32_t HashShard(uint64_t h, uint32_t n) { return static_cast<uint32_t>(h % n); }

uint64_t HashInt(int64_t key) {
  unsigned char b[8];
  const auto u = static_cast<uint64_t>(key);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(u >> (8 * i));
  return util::Xxh3Seeded(b, 8, kShardRoutingSeed);
}

// Keys grouped by shard (local keys: identity keys minus the shard offset),
// with each key's position in the input.
template <typename K>
struct Routed {
  std::vector<std::vector<K>> keys;
  std::vector<std::vector<size_t>> pos;
};

}  // namespace

absl::StatusOr<uint32_t> ShardedIndex::ShardOf(int64_t key) const {
  const Manifest& m = rep_->manifest;
  if (m.key_kind == KeyKind::kString) {
    return absl::InvalidArgumentError(
        absl::StrCat("sharded index: int64 key ", key, " given to an index of string keys"));
  }
  if (m.key_kind == KeyKind::kIdentity) {
    if (key < 0 || static_cast<uint64_t>(key) / m.rows_per_shard >= m.shards) {
      return absl::InvalidArgumentError(
          absl::StrCat("sharded index: identity key ", key, " is outside [0, ",
                       static_cast<uint64_t>(m.shards) * m.rows_per_shard, ") (", m.shards,
                       " shards of ", m.rows_per_shard, " keys)"));
    }
    return static_cast<uint32_t>(static_cast<uint64_t>(key) / m.rows_per_shard);
  }
  return HashShard(HashInt(key), m.shards);
}

absl::StatusOr<uint32_t> ShardedIndex::ShardOf(std::string_view key) const {
  const Manifest& m = rep_->manifest;
  if (m.key_kind != KeyKind::kString) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sharded index: string key given to an index of ", KeyKindName(m.key_kind), " keys"));
  }
  return HashShard(util::Xxh3Seeded(key.data(), key.size(), kShardRoutingSeed), m.shards);
}

namespace {

template <typename K>
absl::StatusOr<Routed<K>> Route(const ShardedIndex& index, std::span<const K> keys) {
  Routed<K> r;
  const uint32_t n = index.shard_count();
  r.keys.resize(n);
  r.pos.resize(n);
  const uint64_t per = index.rows_per_shard();
  for (size_t i = 0; i < keys.size(); ++i) {
    TI_ASSIGN_OR_RETURN(uint32_t s, index.ShardOf(keys[i]));
    if constexpr (std::is_same_v<K, int64_t>) {
      r.keys[s].push_back(per > 0 ? static_cast<int64_t>(static_cast<uint64_t>(keys[i]) % per)
                                  : keys[i]);
    } else {
      r.keys[s].push_back(keys[i]);
    }
    r.pos[s].push_back(i);
  }
  return r;
}

}  // namespace

// ---- open / create --------------------------------------------------------------

ShardedIndex::ShardedIndex(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
ShardedIndex::~ShardedIndex() = default;

std::string ShardedIndex::ShardPath(const std::string& path, uint32_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "/shard-%04u", i);
  return path + buf;
}

absl::StatusOr<ShardedManifestInfo> ShardedIndex::ReadManifest(
    const std::string& path, std::shared_ptr<FileSystem> file_system) {
  if (!file_system) file_system = FileSystem::Default();
  TI_ASSIGN_OR_RETURN(bool exists, file_system->Exists(ManifestPath(path)));
  if (!exists) {
    return absl::NotFoundError(
        absl::StrCat("sharded index: no ", shard::kManifestName, " in ", path));
  }
  TI_ASSIGN_OR_RETURN(auto region, file_system->ReadFileCopy(ManifestPath(path)));
  std::span<const char> bytes = region->data();
  TI_ASSIGN_OR_RETURN(
      Manifest m,
      shard::DecodeManifest(std::string_view(bytes.data(), bytes.size()), ManifestPath(path)));
  return ShardedManifestInfo{.generation = m.generation,
                             .shards = m.shards,
                             .key_kind = m.key_kind,
                             .rows_per_shard = m.rows_per_shard,
                             .change_pending = m.intent.has_value()};
}

namespace {

absl::Status CheckCreateOptions(const ShardedCreateOptions& c) {
  if (c.shards == 0 || c.shards > shard::kMaxShards) {
    return absl::InvalidArgumentError(
        absl::StrCat("sharded index: shards must be 1..", shard::kMaxShards, ", not ", c.shards));
  }
  if (c.index.key_kind != KeyKind::kIdentity && c.rows_per_shard != 0) {
    return absl::InvalidArgumentError(
        "sharded index: rows_per_shard applies to identity keys only");
  }
  if (c.rows_per_shard > uint64_t{kMaxRowId} + 1) {
    return absl::InvalidArgumentError(absl::StrCat("sharded index: rows_per_shard ",
                                                   c.rows_per_shard, " exceeds one shard's ",
                                                   uint64_t{kMaxRowId} + 1, " row ids"));
  }
  return absl::OkStatus();
}

Manifest NewManifest(const ShardedCreateOptions& c) {
  Manifest m;
  m.generation = 1;
  m.shards = c.shards;
  m.key_kind = c.index.key_kind;
  if (m.key_kind == KeyKind::kIdentity) {
    const uint64_t space = uint64_t{kMaxRowId} + 1;
    m.rows_per_shard = c.rows_per_shard != 0 ? c.rows_per_shard : (space + c.shards - 1) / c.shards;
  }
  return m;
}

unsigned PoolThreads(uint32_t asked) {
  if (asked != 0) return asked;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

// Makes every shard's catalog agree with the manifest; repairs an
// interrupted change (the header comment says how).
absl::Status Reconcile(ShardedIndex::Rep& rep, bool writable) {
  Manifest& m = rep.manifest;
  const uint32_t n = m.shards;
  std::vector<std::string> cat(n);
  rep.pool->ParallelFor(n, [&](size_t i) { cat[i] = shard::CatalogOf(*rep.shards[i]); });
  if (!m.intent) {
    for (uint32_t i = 0; i < n; ++i) {
      if (cat[i] != m.catalog) {
        return absl::DataLossError(
            absl::StrCat("sharded index: ", rep.path, ": shard ", i,
                         "'s catalog differs from the manifest and no change was pending: ",
                         shard::FirstDifference(cat[i], m.catalog)));
      }
    }
    return absl::OkStatus();
  }
  if (!writable) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sharded index: ", rep.path, ": a catalog change ('", shard::EncodeIntent(*m.intent),
        "') was interrupted; open it once writable to repair it"));
  }
  const std::string what = shard::EncodeIntent(*m.intent);
  if (cat[0] == m.catalog) {
    // Shard 0 is changed first: it did not happen anywhere.
    for (uint32_t i = 1; i < n; ++i) {
      if (cat[i] != m.catalog) {
        return absl::DataLossError(absl::StrCat(
            "sharded index: ", rep.path, ": shard ", i,
            " differs from shard 0 and the manifest: ", shard::FirstDifference(cat[i], m.catalog)));
      }
    }
    rep.repair_report = absl::StrCat("rolled back '", what, "' (it had reached no shard)");
  } else {
    uint32_t applied = 0;
    for (uint32_t i = 1; i < n; ++i) {
      if (cat[i] == cat[0]) continue;
      if (cat[i] != m.catalog) {
        return absl::DataLossError(
            absl::StrCat("sharded index: ", rep.path, ": shard ", i,
                         " matches neither the manifest nor shard 0 after an interrupted '", what,
                         "': ", shard::FirstDifference(cat[i], cat[0])));
      }
      absl::StatusOr<uint32_t> id = shard::ApplyIntent(*rep.shards[i], *m.intent);
      if (!id.ok()) return Prefixed(i, id.status());
      const std::string now = shard::CatalogOf(*rep.shards[i]);
      if (now != cat[0]) {
        return absl::DataLossError(absl::StrCat(
            "sharded index: ", rep.path, ": shard ", i,
            " disagrees with shard 0 after repair: ", shard::FirstDifference(now, cat[0])));
      }
      ++applied;
    }
    rep.repair_report =
        absl::StrCat("rolled forward '", what, "' to ", applied, " of ", n, " shards");
  }
  Manifest next = m;
  next.generation++;
  next.catalog = cat[0];
  next.intent.reset();
  if (!rep.path.empty()) TI_RETURN_IF_ERROR(WriteManifestFile(*rep.fs, rep.path, next));
  m = next;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ShardedIndex>> ShardedIndex::CreateInMemory(
    const ShardedOpenOptions& options) {
  TI_RETURN_IF_ERROR(CheckCreateOptions(options.create));
  auto rep = std::make_unique<Rep>();
  rep->manifest = NewManifest(options.create);
  rep->pool = std::make_unique<shard::ThreadPool>(PoolThreads(options.threads));
  for (uint32_t i = 0; i < rep->manifest.shards; ++i) {
    TI_ASSIGN_OR_RETURN(auto idx, Index::Create(options.create.index));
    rep->shards.push_back(std::move(idx));
  }
  return std::unique_ptr<ShardedIndex>(new ShardedIndex(std::move(rep)));
}

absl::StatusOr<std::unique_ptr<ShardedIndex>> ShardedIndex::Open(
    const std::string& path, const ShardedOpenOptions& options) {
  auto rep = std::make_unique<Rep>();
  rep->path = path;
  rep->fs = options.shard.file_system ? options.shard.file_system : FileSystem::Default();
  rep->read_only = options.shard.read_only;
  FileSystem& fs = *rep->fs;
  TI_ASSIGN_OR_RETURN(bool exists, fs.Exists(ManifestPath(path)));
  if (!exists) {
    if (!options.shard.create_if_missing || options.shard.read_only) {
      return absl::NotFoundError(
          absl::StrCat("sharded index: no ", shard::kManifestName, " in ", path));
    }
    TI_RETURN_IF_ERROR(CheckCreateOptions(options.create));
    TI_RETURN_IF_ERROR(fs.CreateDir(path));
    TI_RETURN_IF_ERROR(WriteManifestFile(fs, path, NewManifest(options.create)));
  }
  {
    TI_ASSIGN_OR_RETURN(auto region, fs.ReadFileCopy(ManifestPath(path)));
    std::span<const char> bytes = region->data();
    TI_ASSIGN_OR_RETURN(
        rep->manifest,
        shard::DecodeManifest(std::string_view(bytes.data(), bytes.size()), ManifestPath(path)));
  }
  const Manifest& m = rep->manifest;
  rep->pool = std::make_unique<shard::ThreadPool>(PoolThreads(options.threads));
  rep->shards.resize(m.shards);
  OpenOptions so = options.shard;
  so.index = options.create.index;
  so.index.key_kind = m.key_kind;
  so.file_system = rep->fs;
  // A shard may be created here only while the index has never changed
  // (generation 1, no intent): creation writes the manifest first, so a
  // crash can leave it without its shards. Later, a missing shard is lost
  // data, not something to recreate empty (and a manifest's shard count
  // must not make Open create thousands of directories).
  so.create_if_missing = so.create_if_missing && m.generation == 1 && !m.intent.has_value();
  TI_RETURN_IF_ERROR(ForEachShard(*rep, [&](uint32_t i) -> absl::Status {
    absl::StatusOr<std::unique_ptr<Index>> opened = Index::Open(ShardPath(path, i), so);
    if (absl::IsNotFound(opened.status())) {
      return absl::DataLossError(absl::StrCat("shard ", ShardPath(path, i), " is missing (",
                                              opened.status().message(), ")"));
    }
    TI_ASSIGN_OR_RETURN(rep->shards[i], std::move(opened));
    if (rep->shards[i]->options().key_kind != m.key_kind) {
      return absl::DataLossError(
          absl::StrCat("its key kind is not the manifest's (", KeyKindName(m.key_kind), ")"));
    }
    return absl::OkStatus();
  }));
  TI_RETURN_IF_ERROR(Reconcile(*rep, !options.shard.read_only));
  return std::unique_ptr<ShardedIndex>(new ShardedIndex(std::move(rep)));
}

uint32_t ShardedIndex::shard_count() const { return rep_->manifest.shards; }
KeyKind ShardedIndex::key_kind() const { return rep_->manifest.key_kind; }
uint64_t ShardedIndex::rows_per_shard() const { return rep_->manifest.rows_per_shard; }
uint32_t ShardedIndex::threads() const { return rep_->pool->threads(); }
void ShardedIndex::SetThreads(uint32_t threads) {
  rep_->pool = std::make_unique<shard::ThreadPool>(PoolThreads(threads));
}
uint64_t ShardedIndex::generation() const {
  std::shared_lock l(rep_->catalog_mu);
  return rep_->manifest.generation;
}
Index& ShardedIndex::shard(uint32_t i) { return *rep_->shards[i]; }
const Index& ShardedIndex::shard(uint32_t i) const { return *rep_->shards[i]; }
const std::string& ShardedIndex::repair_report() const { return rep_->repair_report; }
bool ShardedIndex::persistent() const { return !rep_->path.empty(); }

// ---- catalog ----------------------------------------------------------------------

namespace {

absl::StatusOr<uint32_t> CatalogChange(ShardedIndex::Rep& rep, const Intent& intent) {
  std::unique_lock l(rep.catalog_mu);
  if (rep.broken) {
    return absl::FailedPreconditionError(
        "sharded index: an earlier catalog change failed part way; reopen the index to repair it");
  }
  if (rep.read_only) {
    return absl::FailedPreconditionError("sharded index: opened read-only");
  }
  const bool on_disk = !rep.path.empty();
  Manifest m = rep.manifest;
  m.generation++;
  m.intent = intent;
  if (on_disk) {
    absl::Status w = WriteManifestFile(*rep.fs, rep.path, m);
    if (!w.ok()) {
      rep.broken = true;  // the rename may or may not have happened
      return w;
    }
  }
  rep.manifest = m;
  absl::StatusOr<uint32_t> first = shard::ApplyIntent(*rep.shards[0], intent);
  if (!first.ok()) {
    // Rejected (bad name, exists, ...): nothing changed anywhere.
    m.generation++;
    m.intent.reset();
    if (on_disk) {
      absl::Status w = WriteManifestFile(*rep.fs, rep.path, m);
      if (!w.ok()) {
        rep.broken = true;
        return w;
      }
    }
    rep.manifest = m;
    return first.status();
  }
  const uint32_t n = static_cast<uint32_t>(rep.shards.size());
  for (uint32_t i = 1; i < n; ++i) {
    absl::StatusOr<uint32_t> id = shard::ApplyIntent(*rep.shards[i], intent);
    absl::Status s = id.status();
    if (s.ok() && *id != *first) {
      s = absl::DataLossError(
          absl::StrCat("assigned id ", *id, " where shard 0 assigned ", *first));
    }
    if (!s.ok()) {
      rep.broken = true;
      return absl::Status(s.code(), absl::StrCat("shard ", i, ": ", s.message(),
                                                 " (the change is recorded in the manifest and "
                                                 "is completed when the index is reopened)"));
    }
  }
  m.generation++;
  m.intent.reset();
  m.catalog = shard::CatalogOf(*rep.shards[0]);
  if (on_disk) {
    absl::Status w = WriteManifestFile(*rep.fs, rep.path, m);
    if (!w.ok()) {
      rep.broken = true;
      return w;
    }
  }
  rep.manifest = m;
  return *first;
}

}  // namespace

absl::Status ShardedIndex::CreateCategory(std::string_view name, const CategoryOptions& options) {
  return CatalogChange(*rep_,
                       {"create_category",
                        {std::string(name), options.exclusive ? "1" : "0", options.description}})
      .status();
}

absl::StatusOr<CategoryInfo> ShardedIndex::GetCategory(std::string_view name) const {
  std::shared_lock l(rep_->catalog_mu);
  return rep_->shards[0]->GetCategory(name);
}

absl::StatusOr<std::vector<CategoryInfo>> ShardedIndex::ListCategories() const {
  std::shared_lock l(rep_->catalog_mu);
  return rep_->shards[0]->ListCategories();
}

absl::StatusOr<TagId> ShardedIndex::CreateTag(const TagSpec& spec) {
  TI_ASSIGN_OR_RETURN(uint32_t id,
                      CatalogChange(*rep_, {"create_tag",
                                            {spec.category, spec.name, spec.description,
                                             spec.kind == TagKind::kRule ? "1" : "0"}}));
  return TagId{id};
}

absl::StatusOr<TagId> ShardedIndex::FindTag(std::string_view name) const {
  std::shared_lock l(rep_->catalog_mu);
  return rep_->shards[0]->FindTag(name);
}

absl::StatusOr<TagId> ShardedIndex::FindTag(std::string_view category,
                                            std::string_view name) const {
  std::shared_lock l(rep_->catalog_mu);
  return rep_->shards[0]->FindTag(category, name);
}

absl::Status ShardedIndex::RenameTag(TagId tag, std::string_view new_name) {
  return CatalogChange(*rep_, {"rename_tag", {std::to_string(tag.value), std::string(new_name)}})
      .status();
}

absl::Status ShardedIndex::SetTagDescription(TagId tag, std::string_view description) {
  return CatalogChange(*rep_,
                       {"describe_tag", {std::to_string(tag.value), std::string(description)}})
      .status();
}

absl::Status ShardedIndex::DeleteTag(TagId tag) {
  return CatalogChange(*rep_, {"delete_tag", {std::to_string(tag.value)}}).status();
}

absl::StatusOr<TagInfo> ShardedIndex::GetTag(TagId tag) const {
  std::shared_lock l(rep_->catalog_mu);
  TI_ASSIGN_OR_RETURN(TagInfo info, rep_->shards[0]->GetTag(tag));
  for (size_t i = 1; i < rep_->shards.size(); ++i) {
    TI_ASSIGN_OR_RETURN(uint64_t c, rep_->shards[i]->TagCardinality(tag));
    info.count += c;
  }
  return info;
}

absl::StatusOr<std::vector<TagInfo>> ShardedIndex::ListTags() const {
  return Guarded([&]() -> absl::StatusOr<std::vector<TagInfo>> {
    std::shared_lock l(rep_->catalog_mu);
    TI_ASSIGN_OR_RETURN(std::vector<TagInfo> tags, rep_->shards[0]->ListTags());
    for (size_t i = 1; i < rep_->shards.size(); ++i) {
      TI_ASSIGN_OR_RETURN(std::vector<TagInfo> more, rep_->shards[i]->ListTags());
      for (size_t j = 0; j < tags.size() && j < more.size(); ++j) tags[j].count += more[j].count;
    }
    return tags;
  });
}

uint32_t ShardedIndex::TagCount() const {
  std::shared_lock l(rep_->catalog_mu);
  return rep_->shards[0]->TagCount();
}

absl::StatusOr<AttributeId> ShardedIndex::CreateAttribute(const AttributeSpec& spec) {
  TI_ASSIGN_OR_RETURN(
      uint32_t id,
      CatalogChange(*rep_, {"create_attribute",
                            {spec.name, std::to_string(static_cast<int>(spec.type)),
                             std::to_string(std::max(0, spec.scale)), spec.description}}));
  return AttributeId{id};
}

absl::Status ShardedIndex::RenameAttribute(std::string_view name, std::string_view new_name) {
  return CatalogChange(*rep_, {"rename_attribute", {std::string(name), std::string(new_name)}})
      .status();
}

absl::Status ShardedIndex::DropAttribute(std::string_view name) {
  return CatalogChange(*rep_, {"drop_attribute", {std::string(name)}}).status();
}

absl::StatusOr<AttributeInfo> ShardedIndex::GetAttribute(std::string_view name) const {
  std::shared_lock l(rep_->catalog_mu);
  TI_ASSIGN_OR_RETURN(AttributeInfo info, rep_->shards[0]->GetAttribute(name));
  for (size_t i = 1; i < rep_->shards.size(); ++i) {
    TI_ASSIGN_OR_RETURN(AttributeInfo more, rep_->shards[i]->GetAttribute(name));
    info.count += more.count;
    info.bits = std::max(info.bits, more.bits);
  }
  return info;
}

absl::StatusOr<std::vector<AttributeInfo>> ShardedIndex::ListAttributes() const {
  std::shared_lock l(rep_->catalog_mu);
  TI_ASSIGN_OR_RETURN(std::vector<AttributeInfo> out, rep_->shards[0]->ListAttributes());
  for (size_t i = 1; i < rep_->shards.size(); ++i) {
    TI_ASSIGN_OR_RETURN(std::vector<AttributeInfo> more, rep_->shards[i]->ListAttributes());
    for (size_t j = 0; j < out.size() && j < more.size(); ++j) {
      out[j].count += more[j].count;
      out[j].bits = std::max(out[j].bits, more[j].bits);
    }
  }
  return out;
}

// ---- data writes ---------------------------------------------------------------------

namespace {

template <typename K, typename Fn>
absl::Status Routed1(const ShardedIndex& sharded, const ShardedIndex::Rep& rep,
                     std::span<const K> keys, Fn&& fn) {
  std::shared_lock l(rep.catalog_mu);
  TI_ASSIGN_OR_RETURN(Routed<K> r, Route<K>(sharded, keys));
  return ForEachShard(rep, [&](uint32_t i) -> absl::Status {
    if (r.keys[i].empty()) return absl::OkStatus();
    return fn(*rep.shards[i], std::span<const K>(r.keys[i]), r.pos[i]);
  });
}

}  // namespace

#define TI_SHARDED_KEYS(Method, Call)                                                            \
  absl::Status ShardedIndex::Method(std::span<const int64_t> keys) {                             \
    return Routed1<int64_t>(                                                                     \
        *this, *rep_, keys,                                                                      \
        [&](Index& x, std::span<const int64_t> k, const std::vector<size_t>&) { return Call; }); \
  }                                                                                              \
  absl::Status ShardedIndex::Method(std::span<const std::string_view> keys) {                    \
    return Routed1<std::string_view>(*this, *rep_, keys,                                         \
                                     [&](Index& x, std::span<const std::string_view> k,          \
                                         const std::vector<size_t>&) { return Call; });          \
  }

TI_SHARDED_KEYS(AddCustomers, x.AddCustomers(k))

#undef TI_SHARDED_KEYS

absl::Status ShardedIndex::RemoveCustomers(std::span<const int64_t> keys) {
  ShardedWriteBatch b;
  b.RemoveCustomers(keys);
  return Write(b);
}
absl::Status ShardedIndex::RemoveCustomers(std::span<const std::string_view> keys) {
  ShardedWriteBatch b;
  b.RemoveCustomers(keys);
  return Write(b);
}

absl::Status ShardedIndex::TagMany(TagId tag, std::span<const int64_t> keys) {
  return Routed1<int64_t>(*this, *rep_, keys,
                          [&](Index& x, std::span<const int64_t> k, const std::vector<size_t>&) {
                            return x.TagMany(tag, k);
                          });
}
absl::Status ShardedIndex::TagMany(TagId tag, std::span<const std::string_view> keys) {
  return Routed1<std::string_view>(*this, *rep_, keys,
                                   [&](Index& x, std::span<const std::string_view> k,
                                       const std::vector<size_t>&) { return x.TagMany(tag, k); });
}
absl::Status ShardedIndex::UntagMany(TagId tag, std::span<const int64_t> keys) {
  return Routed1<int64_t>(*this, *rep_, keys,
                          [&](Index& x, std::span<const int64_t> k, const std::vector<size_t>&) {
                            return x.UntagMany(tag, k);
                          });
}
absl::Status ShardedIndex::UntagMany(TagId tag, std::span<const std::string_view> keys) {
  return Routed1<std::string_view>(*this, *rep_, keys,
                                   [&](Index& x, std::span<const std::string_view> k,
                                       const std::vector<size_t>&) { return x.UntagMany(tag, k); });
}

namespace {

template <typename K>
absl::Status SetAttr(const ShardedIndex& sharded, const ShardedIndex::Rep& rep,
                     std::string_view attribute, std::span<const K> keys,
                     std::span<const int64_t> values) {
  if (keys.size() != values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("sharded index: SetAttributeMany: ", keys.size(),
                                                   " keys but ", values.size(), " values"));
  }
  return Routed1<K>(sharded, rep, keys,
                    [&](Index& x, std::span<const K> k, const std::vector<size_t>& pos) {
                      std::vector<int64_t> v(pos.size());
                      for (size_t j = 0; j < pos.size(); ++j) v[j] = values[pos[j]];
                      return x.SetAttributeMany(attribute, k, v);
                    });
}

}  // namespace

absl::Status ShardedIndex::SetAttributeMany(std::string_view attribute,
                                            std::span<const int64_t> keys,
                                            std::span<const int64_t> values) {
  return SetAttr<int64_t>(*this, *rep_, attribute, keys, values);
}
absl::Status ShardedIndex::SetAttributeMany(std::string_view attribute,
                                            std::span<const std::string_view> keys,
                                            std::span<const int64_t> values) {
  return SetAttr<std::string_view>(*this, *rep_, attribute, keys, values);
}

void ShardedWriteBatch::AddCustomers(std::span<const int64_t> keys) {
  items_.push_back({Kind::kAdd, TagId{}, {keys.begin(), keys.end()}, {}, false});
}
void ShardedWriteBatch::AddCustomers(std::span<const std::string_view> keys) {
  items_.push_back({Kind::kAdd, TagId{}, {}, {keys.begin(), keys.end()}, true});
}
void ShardedWriteBatch::RemoveCustomers(std::span<const int64_t> keys) {
  items_.push_back({Kind::kRemove, TagId{}, {keys.begin(), keys.end()}, {}, false});
}
void ShardedWriteBatch::RemoveCustomers(std::span<const std::string_view> keys) {
  items_.push_back({Kind::kRemove, TagId{}, {}, {keys.begin(), keys.end()}, true});
}
void ShardedWriteBatch::Tag(TagId tag, std::span<const int64_t> keys) {
  items_.push_back({Kind::kTag, tag, {keys.begin(), keys.end()}, {}, false});
}
void ShardedWriteBatch::Tag(TagId tag, std::span<const std::string_view> keys) {
  items_.push_back({Kind::kTag, tag, {}, {keys.begin(), keys.end()}, true});
}
void ShardedWriteBatch::Untag(TagId tag, std::span<const int64_t> keys) {
  items_.push_back({Kind::kUntag, tag, {keys.begin(), keys.end()}, {}, false});
}
void ShardedWriteBatch::Untag(TagId tag, std::span<const std::string_view> keys) {
  items_.push_back({Kind::kUntag, tag, {}, {keys.begin(), keys.end()}, true});
}

absl::Status ShardedIndex::Write(const ShardedWriteBatch& batch) {
  std::shared_lock l(rep_->catalog_mu);
  const uint32_t n = shard_count();
  std::vector<WriteBatch> per(n);
  for (const ShardedWriteBatch::Item& item : batch.items()) {
    auto add = [&](uint32_t s, auto span) {
      if (span.empty()) return;
      switch (item.kind) {
        case ShardedWriteBatch::Kind::kAdd:
          per[s].AddCustomers(span);
          break;
        case ShardedWriteBatch::Kind::kRemove:
          per[s].RemoveCustomers(span);
          break;
        case ShardedWriteBatch::Kind::kTag:
          per[s].Tag(item.tag, span);
          break;
        case ShardedWriteBatch::Kind::kUntag:
          per[s].Untag(item.tag, span);
          break;
      }
    };
    if (item.is_string) {
      std::vector<std::string_view> views(item.strings.begin(), item.strings.end());
      TI_ASSIGN_OR_RETURN(auto r, Route<std::string_view>(*this, views));
      for (uint32_t s = 0; s < n; ++s) add(s, std::span<const std::string_view>(r.keys[s]));
    } else {
      TI_ASSIGN_OR_RETURN(auto r, Route<int64_t>(*this, item.ints));
      for (uint32_t s = 0; s < n; ++s) add(s, std::span<const int64_t>(r.keys[s]));
    }
  }
  return ForEachShard(*rep_, [&](uint32_t i) -> absl::Status {
    if (per[i].empty()) return absl::OkStatus();
    return rep_->shards[i]->Write(per[i]);
  });
}

// ---- bulk load ------------------------------------------------------------------------

namespace {

// Source tag id -> this index's, and the attribute columns, of a load.
struct LoadMap {
  std::vector<std::pair<TagId, TagId>> tags;
  std::vector<AttributeInfo> attributes;
};

// Creates `source`'s catalog in `self` (empty), in the source's id order.
absl::StatusOr<LoadMap> LoadCatalog(ShardedIndex& self, const Index& source) {
  LoadMap map;
  // Catalog, in the source's id order.
  TI_ASSIGN_OR_RETURN(std::vector<CategoryInfo> categories, source.ListCategories());
  for (const CategoryInfo& c : categories) {
    TI_RETURN_IF_ERROR(
        self.CreateCategory(c.name, {.exclusive = c.exclusive, .description = c.description}));
  }
  TI_ASSIGN_OR_RETURN(std::vector<TagInfo> tags, source.ListTags());
  std::sort(tags.begin(), tags.end(),
            [](const TagInfo& a, const TagInfo& b) { return a.id.value < b.id.value; });
  for (const TagInfo& t : tags) {
    TI_ASSIGN_OR_RETURN(TagId id, self.CreateTag({.name = t.name,
                                                  .category = t.category,
                                                  .description = t.description,
                                                  .kind = t.kind}));
    map.tags.push_back({t.id, id});
  }
  std::vector<AttributeInfo>& attrs = map.attributes;
  TI_ASSIGN_OR_RETURN(attrs, source.ListAttributes());
  std::sort(attrs.begin(), attrs.end(),
            [](const AttributeInfo& a, const AttributeInfo& b) { return a.id.value < b.id.value; });
  for (const AttributeInfo& a : attrs) {
    TI_RETURN_IF_ERROR(
        self.CreateAttribute(
                {.name = a.name, .type = a.type, .scale = a.scale, .description = a.description})
            .status());
  }
  return map;
}

// Copies `source`'s live customers (identity keys shifted by
// `key_offset`: a shard's local keys become global), their memberships and
// attribute values into `self`, routed, each shard written by one call per
// step, the shards in parallel. The caller holds the catalog lock shared.
absl::Status LoadRows(ShardedIndex& self, ShardedIndex::Rep& rep, const Index& source,
                      int64_t key_offset, const LoadMap& map) {
  const uint32_t n = self.shard_count();
  // Customers, a chunk of source rows at a time, in ascending source row
  // order (so each shard's local rows ascend with the source's).
  const uint64_t limit = source.RowIdLimit();
  std::vector<uint16_t> where(limit, 0);  // shard of each source row
  std::vector<RowId> local(limit, 0);     // its row in that shard
  const Segment all = source.AllCustomers();
  TI_ASSIGN_OR_RETURN(std::vector<RowId> rows, all.Rows());
  constexpr size_t kChunk = 1 << 20;
  const uint64_t per = self.rows_per_shard();
  for (size_t start = 0; start < rows.size(); start += kChunk) {
    std::span<const RowId> chunk =
        std::span<const RowId>(rows).subspan(start, std::min(kChunk, rows.size() - start));
    TI_ASSIGN_OR_RETURN(std::vector<CustomerKey> keys, all.KeysOf(chunk));
    std::vector<std::vector<int64_t>> ints(n);
    std::vector<std::vector<std::string>> strs(n);
    std::vector<std::vector<RowId>> from(n);
    for (size_t j = 0; j < keys.size(); ++j) {
      uint32_t s = 0;
      if (const int64_t* local_key = std::get_if<int64_t>(&keys[j])) {
        const int64_t k = *local_key + key_offset;
        TI_ASSIGN_OR_RETURN(s, self.ShardOf(k));
        ints[s].push_back(per > 0 ? static_cast<int64_t>(static_cast<uint64_t>(k) % per) : k);
      } else {
        const std::string& text = std::get<std::string>(keys[j]);
        TI_ASSIGN_OR_RETURN(s, self.ShardOf(std::string_view(text)));
        strs[s].push_back(text);
      }
      from[s].push_back(chunk[j]);
    }
    TI_RETURN_IF_ERROR(ForEachShard(rep, [&](uint32_t i) -> absl::Status {
      std::vector<RowId> got;
      if (!ints[i].empty()) {
        TI_RETURN_IF_ERROR(rep.shards[i]->AddCustomers(ints[i], &got));
      } else if (!strs[i].empty()) {
        std::vector<std::string_view> views(strs[i].begin(), strs[i].end());
        TI_RETURN_IF_ERROR(rep.shards[i]->AddCustomers(views, &got));
      }
      for (size_t j = 0; j < got.size(); ++j) {
        where[from[i][j]] = static_cast<uint16_t>(i);
        local[from[i][j]] = got[j];
      }
      return absl::OkStatus();
    }));
  }
  // Memberships: one TagRows per tag and shard.
  for (const std::pair<TagId, TagId>& ids : map.tags) {
    // (no structured binding: clang 14 cannot capture one in the lambda)
    const TagId to_id = ids.second;
    TI_ASSIGN_OR_RETURN(std::vector<RowId> members, source.RowsWithTag(ids.first));
    std::vector<std::vector<RowId>> by(n);
    for (RowId r : members) by[where[r]].push_back(local[r]);
    TI_RETURN_IF_ERROR(ForEachShard(rep, [&](uint32_t i) -> absl::Status {
      if (by[i].empty()) return absl::OkStatus();
      return rep.shards[i]->TagRows(to_id, by[i]);
    }));
  }
  // Attribute values: every (row, value) of the column, through TopAttribute.
  for (const AttributeInfo& a : map.attributes) {
    TI_ASSIGN_OR_RETURN(AttributeInfo now, source.GetAttribute(a.name));
    TI_ASSIGN_OR_RETURN(std::vector<AttributeEntryValue> entries,
                        source.TopAttribute(a.name, now.count, false));
    std::vector<std::vector<RowId>> by(n);
    std::vector<std::vector<int64_t>> vals(n);
    for (const AttributeEntryValue& e : entries) {
      by[where[e.row]].push_back(local[e.row]);
      vals[where[e.row]].push_back(e.value);
    }
    TI_RETURN_IF_ERROR(ForEachShard(rep, [&](uint32_t i) -> absl::Status {
      if (by[i].empty()) return absl::OkStatus();
      return rep.shards[i]->SetAttributeRows(a.name, by[i], vals[i]);
    }));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ShardedIndex::LoadFrom(const Index& source) {
  return Guarded([&]() -> absl::Status {
    if (source.options().key_kind != key_kind()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sharded index: LoadFrom: the source has ", KeyKindName(source.options().key_kind),
          " keys, this index ", KeyKindName(key_kind()), " keys"));
    }
    TI_ASSIGN_OR_RETURN(std::vector<CategoryInfo> categories, ListCategories());
    TI_ASSIGN_OR_RETURN(std::vector<AttributeInfo> attributes, ListAttributes());
    if (CustomerCount() != 0 || TagCount() != 0 || !categories.empty() || !attributes.empty()) {
      return absl::FailedPreconditionError(
          "sharded index: LoadFrom needs an empty sharded index (no customers, tags, categories "
          "or attributes)");
    }
    TI_ASSIGN_OR_RETURN(LoadMap map, LoadCatalog(*this, source));
    std::shared_lock l(rep_->catalog_mu);
    return LoadRows(*this, *rep_, source, 0, map);
  });
}

absl::Status ShardedIndex::Reshard(const std::string& source, const std::string& dest,
                                   uint32_t shards, uint64_t rows_per_shard, uint32_t threads) {
  return Guarded([&]() -> absl::Status {
    std::shared_ptr<FileSystem> fs = FileSystem::Default();
    const std::string tmp = dest + ".reshard-tmp";
    for (const std::string& p : {dest, tmp}) {
      TI_ASSIGN_OR_RETURN(bool exists, fs->Exists(p));
      if (exists) {
        return absl::AlreadyExistsError(
            absl::StrCat("sharded index: reshard: ", p, " exists",
                         p == tmp ? " (left by an interrupted reshard: remove it)" : ""));
      }
    }
    ShardedOpenOptions so;
    so.shard.read_only = true;
    so.shard.create_if_missing = false;
    so.threads = threads;
    TI_ASSIGN_OR_RETURN(std::unique_ptr<ShardedIndex> src, Open(source, so));
    const uint64_t src_per = src->rows_per_shard();
    ShardedOpenOptions to;
    to.create.shards = shards;
    to.create.index = src->shard(0).options();
    if (src->key_kind() == KeyKind::kIdentity && rows_per_shard == 0) {
      const uint64_t space = src_per * src->shard_count();
      rows_per_shard = std::min<uint64_t>((space + shards - 1) / std::max<uint32_t>(shards, 1),
                                          uint64_t{kMaxRowId} + 1);
    }
    to.create.rows_per_shard = src->key_kind() == KeyKind::kIdentity ? rows_per_shard : 0;
    to.threads = threads;
    to.shard.sync = SyncPolicy::kNone;  // the checkpoint at the end makes it durable
    to.shard.create_if_missing = true;  // a new index in the temporary directory
    absl::Status built = [&]() -> absl::Status {
      TI_ASSIGN_OR_RETURN(std::unique_ptr<ShardedIndex> out, Open(tmp, to));
      TI_ASSIGN_OR_RETURN(LoadMap map, LoadCatalog(*out, src->shard(0)));
      std::shared_lock l(out->rep_->catalog_mu);
      for (uint32_t i = 0; i < src->shard_count(); ++i) {
        const int64_t offset = static_cast<int64_t>(src_per * i);
        TI_RETURN_IF_ERROR(LoadRows(*out, *out->rep_, src->shard(i), offset, map));
      }
      l.unlock();
      return out->Checkpoint();
    }();  // `out` is closed here: every shard's lock released before the rename
    if (!built.ok()) {
      // The temporary directory is this call's own: an error (not a crash)
      // leaves nothing behind.
      std::error_code ec;
      std::filesystem::remove_all(tmp, ec);
      return built;
    }
    TI_RETURN_IF_ERROR(fs->Rename(tmp, dest));
    std::string parent = std::filesystem::path(dest).parent_path().string();
    return fs->SyncDir(parent.empty() ? "." : parent);
  });
}

// ---- customers ------------------------------------------------------------------------

uint64_t ShardedIndex::CustomerCount() const {
  uint64_t n = 0;
  for (const auto& s : rep_->shards) n += s->CustomerCount();
  return n;
}

absl::StatusOr<ShardedRow> ShardedIndex::FindCustomer(int64_t key) const {
  TI_ASSIGN_OR_RETURN(uint32_t s, ShardOf(key));
  const uint64_t per = rows_per_shard();
  const int64_t local = per > 0 ? static_cast<int64_t>(static_cast<uint64_t>(key) % per) : key;
  absl::StatusOr<RowId> row = rep_->shards[s]->FindCustomer(local);
  if (!row.ok()) {
    return absl::Status(row.status().code(),
                        absl::StrCat("sharded index: customer ", key, " (shard ", s,
                                     "): ", row.status().message()));
  }
  return ShardedRow{s, *row};
}

absl::StatusOr<ShardedRow> ShardedIndex::FindCustomer(std::string_view key) const {
  TI_ASSIGN_OR_RETURN(uint32_t s, ShardOf(key));
  TI_ASSIGN_OR_RETURN(RowId row, rep_->shards[s]->FindCustomer(key));
  return ShardedRow{s, row};
}

absl::StatusOr<CustomerKey> ShardedIndex::KeyOf(ShardedRow at) const {
  if (at.shard >= shard_count()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sharded index: shard ", at.shard, " of ", shard_count()));
  }
  TI_ASSIGN_OR_RETURN(CustomerKey key, rep_->shards[at.shard]->KeyOf(at.row));
  if (rows_per_shard() > 0) {
    key = static_cast<int64_t>(std::get<int64_t>(key) +
                               static_cast<int64_t>(at.shard * rows_per_shard()));
  }
  return key;
}

absl::StatusOr<std::vector<TagId>> ShardedIndex::TagsOf(int64_t key) const {
  TI_ASSIGN_OR_RETURN(ShardedRow at, FindCustomer(key));
  return rep_->shards[at.shard]->TagsOfRow(at.row);
}

absl::StatusOr<std::vector<TagId>> ShardedIndex::TagsOf(std::string_view key) const {
  TI_ASSIGN_OR_RETURN(ShardedRow at, FindCustomer(key));
  return rep_->shards[at.shard]->TagsOfRow(at.row);
}

// ---- queries ------------------------------------------------------------------------------

absl::StatusOr<std::vector<uint64_t>> ShardedIndex::ShardCounts(std::string_view text,
                                                                const QueryOptions& options) const {
  std::shared_lock l(rep_->catalog_mu);
  const QueryOptions o = WithToday(options);
  std::vector<uint64_t> counts(shard_count());
  TI_RETURN_IF_ERROR(ForEachShard(
      *rep_,
      [&](uint32_t i) -> absl::Status {
        TI_ASSIGN_OR_RETURN(counts[i], rep_->shards[i]->Count(text, o));
        return absl::OkStatus();
      },
      /*prefix=*/false));
  return counts;
}

absl::StatusOr<uint64_t> ShardedIndex::Count(std::string_view text,
                                             const QueryOptions& options) const {
  TI_ASSIGN_OR_RETURN(std::vector<uint64_t> counts, ShardCounts(text, options));
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

absl::StatusOr<ShardedSegment> ShardedIndex::Query(std::string_view text,
                                                   const QueryOptions& options) const {
  std::shared_lock l(rep_->catalog_mu);
  const QueryOptions o = WithToday(options);
  std::vector<Segment> parts(shard_count());
  TI_RETURN_IF_ERROR(ForEachShard(
      *rep_,
      [&](uint32_t i) -> absl::Status {
        TI_ASSIGN_OR_RETURN(parts[i], rep_->shards[i]->Query(text, o));
        return absl::OkStatus();
      },
      /*prefix=*/false));
  return ShardedSegment(this, std::move(parts));
}

absl::StatusOr<ShardedExplanation> ShardedIndex::Explain(std::string_view text,
                                                         const QueryOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<ShardedExplanation> {
    std::shared_lock l(rep_->catalog_mu);
    const QueryOptions o = WithToday(options);
    ShardedExplanation ex;
    ex.query = std::string(text);
    ex.threads = threads();
    ex.shards.resize(shard_count());
    ex.shard_nanos.resize(shard_count());
    const int64_t start = NowNanos();
    TI_RETURN_IF_ERROR(ForEachShard(
        *rep_,
        [&](uint32_t i) -> absl::Status {
          const int64_t t0 = NowNanos();
          TI_ASSIGN_OR_RETURN(ex.shards[i], rep_->shards[i]->Explain(text, o));
          ex.shard_nanos[i] = NowNanos() - t0;
          return absl::OkStatus();
        },
        /*prefix=*/false));
    ex.total_nanos = NowNanos() - start;
    for (uint32_t i = 0; i < shard_count(); ++i) {
      ex.count += ex.shards[i].count;
      if (ex.shard_nanos[i] > ex.shard_nanos[ex.slowest_shard]) ex.slowest_shard = i;
    }
    return ex;
  });
}

std::string ShardedExplanation::ToString() const {
  auto us = [](int64_t ns) { return absl::StrCat(ns / 1000, ".", (ns / 100) % 10, "us"); };
  std::string out = absl::StrCat("sharded query over ", shards.size(), " shards on ", threads,
                                 " threads: count=", count, " time=", us(total_nanos), "\n");
  for (size_t i = 0; i < shards.size(); ++i) {
    absl::StrAppend(&out, "  shard ", i, ": count=", shards[i].count, " time=", us(shard_nanos[i]),
                    i == slowest_shard ? "  <- slowest" : "", "\n");
  }
  if (!shards.empty()) {
    absl::StrAppend(&out, "plan of the slowest shard (", slowest_shard, "):\n",
                    shards[slowest_shard].ToString());
  }
  return out;
}

ShardedSegment ShardedIndex::AllCustomers() const {
  std::vector<Segment> parts;
  for (const auto& s : rep_->shards) parts.push_back(s->AllCustomers());
  return ShardedSegment(this, std::move(parts));
}

// ---- attribute aggregates -------------------------------------------------------------------

namespace {

absl::Status CheckSegment(const ShardedIndex* self, const ShardedSegment* seg) {
  if (seg != nullptr && seg->index() != self) {
    return absl::InvalidArgumentError(
        "sharded index: the segment comes from another sharded index");
  }
  return absl::OkStatus();
}

const Segment* Part(const ShardedSegment* seg, uint32_t i) {
  return seg == nullptr ? nullptr : &seg->shard(i);
}

}  // namespace

absl::StatusOr<AttributeSummary> ShardedIndex::SummarizeAttribute(
    std::string_view attribute, const ShardedSegment* segment) const {
  TI_RETURN_IF_ERROR(CheckSegment(this, segment));
  std::shared_lock l(rep_->catalog_mu);
  std::vector<AttributeSummary> parts(shard_count());
  TI_RETURN_IF_ERROR(ForEachShard(
      *rep_,
      [&](uint32_t i) -> absl::Status {
        TI_ASSIGN_OR_RETURN(parts[i],
                            rep_->shards[i]->SummarizeAttribute(attribute, Part(segment, i)));
        return absl::OkStatus();
      },
      false));
  AttributeSummary out;
  for (const AttributeSummary& p : parts) {
    out.count += p.count;
    out.sum += p.sum;
    if (p.min && (!out.min || *p.min < *out.min)) out.min = p.min;
    if (p.max && (!out.max || *p.max > *out.max)) out.max = p.max;
  }
  out.mean = out.count == 0 ? 0.0 : static_cast<double>(out.sum) / static_cast<double>(out.count);
  return out;
}

absl::StatusOr<std::vector<ShardedAttributeEntry>> ShardedIndex::TopAttribute(
    std::string_view attribute, uint64_t k, bool largest, const ShardedSegment* segment) const {
  TI_RETURN_IF_ERROR(CheckSegment(this, segment));
  std::shared_lock l(rep_->catalog_mu);
  std::vector<std::vector<AttributeEntryValue>> parts(shard_count());
  TI_RETURN_IF_ERROR(ForEachShard(
      *rep_,
      [&](uint32_t i) -> absl::Status {
        TI_ASSIGN_OR_RETURN(parts[i],
                            rep_->shards[i]->TopAttribute(attribute, k, largest, Part(segment, i)));
        return absl::OkStatus();
      },
      false));
  // The global top k is among the shards' top k.
  std::vector<ShardedAttributeEntry> all;
  for (uint32_t i = 0; i < parts.size(); ++i) {
    for (const AttributeEntryValue& e : parts[i]) all.push_back({{i, e.row}, e.value});
  }
  std::sort(all.begin(), all.end(),
            [&](const ShardedAttributeEntry& a, const ShardedAttributeEntry& b) {
              if (a.value != b.value) return largest ? a.value > b.value : a.value < b.value;
              return a.at < b.at;
            });
  if (all.size() > k) all.resize(k);
  return all;
}

absl::StatusOr<std::vector<uint64_t>> ShardedIndex::AttributeHistogram(
    std::string_view attribute, std::span<const int64_t> bounds,
    const ShardedSegment* segment) const {
  TI_RETURN_IF_ERROR(CheckSegment(this, segment));
  std::shared_lock l(rep_->catalog_mu);
  std::vector<std::vector<uint64_t>> parts(shard_count());
  TI_RETURN_IF_ERROR(ForEachShard(
      *rep_,
      [&](uint32_t i) -> absl::Status {
        TI_ASSIGN_OR_RETURN(
            parts[i], rep_->shards[i]->AttributeHistogram(attribute, bounds, Part(segment, i)));
        return absl::OkStatus();
      },
      false));
  std::vector<uint64_t> out(parts[0].size(), 0);
  for (const auto& p : parts) {
    for (size_t j = 0; j < out.size() && j < p.size(); ++j) out[j] += p[j];
  }
  return out;
}

// ---- analytics: per-shard counts summed, derived fields computed again ----

namespace {

// The shards answer with the same rows in the same order (same catalog);
// anything else means the catalog changed between them, which the catalog
// lock excludes: Internal.
absl::Status Misaligned(const char* what) {
  return absl::InternalError(
      absl::StrCat("sharded index: the shards' ", what, " do not line up (catalog mismatch)"));
}

template <typename T>
absl::StatusOr<std::vector<T>> OnShards(const ShardedIndex::Rep& rep,
                                        const std::function<absl::StatusOr<T>(uint32_t)>& fn) {
  std::vector<T> parts(rep.shards.size());
  TI_RETURN_IF_ERROR(ForEachShard(
      rep,
      [&](uint32_t i) -> absl::Status {
        TI_ASSIGN_OR_RETURN(parts[i], fn(i));
        return absl::OkStatus();
      },
      false));
  return parts;
}

}  // namespace

absl::StatusOr<SegmentProfile> ShardedIndex::Profile(const ShardedSegment& segment,
                                                     const ProfileOptions& options) const {
  return Guarded([&]() -> absl::StatusOr<SegmentProfile> {
    TI_RETURN_IF_ERROR(CheckSegment(this, &segment));
    std::shared_lock l(rep_->catalog_mu);
    TI_ASSIGN_OR_RETURN(std::vector<SegmentProfile> parts,
                        OnShards<SegmentProfile>(*rep_, [&](uint32_t i) {
                          return rep_->shards[i]->Profile(segment.shard(i), options);
                        }));
    return MergeProfiles(std::move(parts));
  });
}

absl::StatusOr<std::vector<ProfileRow>> ShardedIndex::TopTags(const ShardedSegment& segment,
                                                              const TopTagsOptions& options) const {
  if (options.n == 0) return absl::InvalidArgumentError("analytics: top-N needs n >= 1");
  // Exact: the global best need not be any shard's best, so every tag's
  // merged counts are ranked (one profile per shard, no attribute).
  ProfileOptions po;
  po.category = options.category;
  TI_ASSIGN_OR_RETURN(SegmentProfile merged, Profile(segment, po));
  return RankTopTags(std::move(merged.rows), options);
}

absl::StatusOr<CoOccurrence> ShardedIndex::CoOccurrenceOf(std::span<const TagId> tags,
                                                          const ShardedSegment* segment) const {
  return Guarded([&]() -> absl::StatusOr<CoOccurrence> {
    TI_RETURN_IF_ERROR(CheckSegment(this, segment));
    std::shared_lock l(rep_->catalog_mu);
    TI_ASSIGN_OR_RETURN(std::vector<CoOccurrence> parts,
                        OnShards<CoOccurrence>(*rep_, [&](uint32_t i) {
                          return rep_->shards[i]->CoOccurrenceOf(tags, Part(segment, i));
                        }));
    return MergeCoOccurrences(std::move(parts));
  });
}

absl::StatusOr<Crosstab> ShardedIndex::CrosstabOf(std::string_view row_category,
                                                  std::string_view col_category,
                                                  const ShardedSegment* segment) const {
  return Guarded([&]() -> absl::StatusOr<Crosstab> {
    TI_RETURN_IF_ERROR(CheckSegment(this, segment));
    std::shared_lock l(rep_->catalog_mu);
    TI_ASSIGN_OR_RETURN(std::vector<Crosstab> parts, OnShards<Crosstab>(*rep_, [&](uint32_t i) {
                          return rep_->shards[i]->CrosstabOf(row_category, col_category,
                                                             Part(segment, i));
                        }));
    Crosstab out = std::move(parts[0]);
    auto add = [](std::vector<uint64_t>& to, const std::vector<uint64_t>& from) {
      if (to.size() != from.size()) return false;
      for (size_t i = 0; i < to.size(); ++i) to[i] += from[i];
      return true;
    };
    for (size_t p = 1; p < parts.size(); ++p) {
      const Crosstab& in = parts[p];
      if (in.rows != out.rows || in.cols != out.cols || !add(out.counts, in.counts) ||
          !add(out.row_totals, in.row_totals) || !add(out.col_totals, in.col_totals) ||
          !add(out.row_none_by_col, in.row_none_by_col) ||
          !add(out.col_none_by_row, in.col_none_by_row)) {
        return Misaligned("crosstabs");
      }
      out.none_none += in.none_none;
      out.total += in.total;
    }
    return out;
  });
}

absl::StatusOr<CoverageReport> ShardedIndex::Coverage(const ShardedSegment* segment) const {
  return Guarded([&]() -> absl::StatusOr<CoverageReport> {
    TI_RETURN_IF_ERROR(CheckSegment(this, segment));
    std::shared_lock l(rep_->catalog_mu);
    TI_ASSIGN_OR_RETURN(std::vector<CoverageReport> parts,
                        OnShards<CoverageReport>(*rep_, [&](uint32_t i) {
                          return rep_->shards[i]->Coverage(Part(segment, i));
                        }));
    CoverageReport out = std::move(parts[0]);
    for (size_t p = 1; p < parts.size(); ++p) {
      const CoverageReport& in = parts[p];
      if (in.tags.size() != out.tags.size() || in.categories.size() != out.categories.size()) {
        return Misaligned("coverage reports");
      }
      out.population += in.population;
      for (size_t i = 0; i < out.tags.size(); ++i) {
        if (in.tags[i].tag != out.tags[i].tag) return Misaligned("coverage reports");
        out.tags[i].count += in.tags[i].count;
      }
      for (size_t i = 0; i < out.categories.size(); ++i) {
        if (in.categories[i].category != out.categories[i].category) {
          return Misaligned("coverage reports");
        }
        out.categories[i].covered += in.categories[i].covered;
      }
    }
    FinishCoverage(out);
    return out;
  });
}

absl::StatusOr<ShardedSegment> ShardedIndex::CustomersWithoutCategory(
    std::string_view category, const ShardedSegment* segment) const {
  TI_RETURN_IF_ERROR(CheckSegment(this, segment));
  std::shared_lock l(rep_->catalog_mu);
  TI_ASSIGN_OR_RETURN(std::vector<Segment> parts, OnShards<Segment>(*rep_, [&](uint32_t i) {
                        return rep_->shards[i]->CustomersWithoutCategory(category,
                                                                         Part(segment, i));
                      }));
  return ShardedSegment(this, std::move(parts));
}

absl::StatusOr<std::string> ShardedIndex::FormatAttributeValue(std::string_view attribute,
                                                               int64_t value) const {
  std::shared_lock l(rep_->catalog_mu);
  return rep_->shards[0]->FormatAttributeValue(attribute, value);
}

absl::StatusOr<std::optional<int64_t>> ShardedIndex::AttributeQuantile(
    std::string_view attribute, double q, const ShardedSegment* segment) const {
  TI_RETURN_IF_ERROR(CheckSegment(this, segment));
  if (!(q >= 0.0 && q <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sharded index: quantile ", q, " is outside [0, 1]"));
  }
  std::shared_lock l(rep_->catalog_mu);
  const uint32_t n = shard_count();
  std::vector<uint64_t> counts(n);
  std::vector<std::optional<int64_t>> qs(n);
  TI_RETURN_IF_ERROR(ForEachShard(
      *rep_,
      [&](uint32_t i) -> absl::Status {
        TI_ASSIGN_OR_RETURN(AttributeSummary s,
                            rep_->shards[i]->SummarizeAttribute(attribute, Part(segment, i)));
        counts[i] = s.count;
        TI_ASSIGN_OR_RETURN(qs[i],
                            rep_->shards[i]->AttributeQuantile(attribute, q, Part(segment, i)));
        return absl::OkStatus();
      },
      false));
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return std::optional<int64_t>();
  // The index's nearest-rank rule, on the whole population.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::clamp<uint64_t>(rank, 1, total);
  // The answer lies between the smallest and the largest shard quantile
  // (docs/sharding.md); search it there by counting values <= v per shard.
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
  for (const auto& v : qs) {
    if (!v) continue;
    lo = std::min(lo, *v);
    hi = std::max(hi, *v);
  }
  auto count_le = [&](int64_t v) -> absl::StatusOr<uint64_t> {
    if (v == std::numeric_limits<int64_t>::max()) return total;
    const int64_t bounds[2] = {std::numeric_limits<int64_t>::min(), v + 1};
    std::vector<uint64_t> c(n);
    TI_RETURN_IF_ERROR(ForEachShard(
        *rep_,
        [&](uint32_t i) -> absl::Status {
          if (counts[i] == 0) return absl::OkStatus();
          TI_ASSIGN_OR_RETURN(
              auto h, rep_->shards[i]->AttributeHistogram(attribute, bounds, Part(segment, i)));
          c[i] = h[0];
          return absl::OkStatus();
        },
        false));
    uint64_t sum = 0;
    for (uint64_t x : c) sum += x;
    return sum;
  };
  // Smallest v in [lo, hi] with count_le(v) >= rank (hi always qualifies).
  while (lo < hi) {
    const int64_t mid =
        static_cast<int64_t>((static_cast<absl::int128>(lo) + static_cast<absl::int128>(hi)) >> 1);
    TI_ASSIGN_OR_RETURN(uint64_t c, count_le(mid));
    if (c >= rank) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return std::optional<int64_t>(lo);
}

// ---- storage -----------------------------------------------------------------------------

absl::Status ShardedIndex::Checkpoint() {
  std::shared_lock l(rep_->catalog_mu);
  return ForEachShard(*rep_, [&](uint32_t i) { return rep_->shards[i]->Checkpoint(); });
}

// ---- ShardedSegment -------------------------------------------------------------------------

uint64_t ShardedSegment::Count() const {
  uint64_t n = 0;
  for (const Segment& s : shards_) n += s.Count();
  return n;
}

std::vector<uint64_t> ShardedSegment::ShardCounts() const {
  std::vector<uint64_t> out;
  for (const Segment& s : shards_) out.push_back(s.Count());
  return out;
}

bool ShardedSegment::Contains(ShardedRow r) const {
  return r.shard < shards_.size() && shards_[r.shard].Contains(r.row);
}

absl::StatusOr<std::vector<ShardedRow>> ShardedSegment::Page(uint64_t offset,
                                                             uint64_t limit) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<ShardedRow>> {
    std::vector<ShardedRow> out;
    // Sized once (the shards' pages are each a vector of their own).
    const uint64_t total = Count();
    out.reserve(offset >= total ? 0 : std::min(limit, total - offset));
    for (uint32_t i = 0; i < shards_.size() && out.size() < limit; ++i) {
      const uint64_t c = shards_[i].Count();
      if (offset >= c) {
        offset -= c;
        continue;
      }
      TI_ASSIGN_OR_RETURN(std::vector<RowId> rows, shards_[i].Page(offset, limit - out.size()));
      for (RowId r : rows) out.push_back({i, r});
      offset = 0;
    }
    return out;
  });
}

absl::StatusOr<std::vector<ShardedRow>> ShardedSegment::PageAfter(std::optional<ShardedRow> after,
                                                                  uint64_t limit) const {
  return Guarded([&]() -> absl::StatusOr<std::vector<ShardedRow>> {
    std::vector<ShardedRow> out;
    uint32_t first = after ? after->shard : 0;
    for (uint32_t i = first; i < shards_.size() && out.size() < limit; ++i) {
      std::optional<RowId> cursor;
      if (after && i == after->shard) cursor = after->row;
      TI_ASSIGN_OR_RETURN(std::vector<RowId> rows,
                          shards_[i].PageAfter(cursor, limit - out.size()));
      for (RowId r : rows) out.push_back({i, r});
    }
    return out;
  });
}

absl::StatusOr<std::vector<ShardedRow>> ShardedSegment::Rows() const { return Page(0, Count()); }

void ShardedSegment::ForEach(const std::function<bool(ShardedRow)>& fn) const {
  bool go = true;
  for (uint32_t i = 0; i < shards_.size() && go; ++i) {
    shards_[i].ForEach([&](RowId r) { return go = fn({i, r}); });
  }
}

absl::StatusOr<std::vector<CustomerKey>> ShardedSegment::KeysOf(
    std::span<const ShardedRow> rows) const {
  return Guarded([&] { return KeysOfUnguarded(rows); });
}

absl::StatusOr<std::vector<CustomerKey>> ShardedSegment::KeysOfUnguarded(
    std::span<const ShardedRow> rows) const {
  if (index_ == nullptr) {
    return absl::FailedPreconditionError("sharded segment: it belongs to no index");
  }
  const uint32_t n = shard_count();
  std::vector<std::vector<RowId>> by(n);
  std::vector<std::vector<size_t>> pos(n);
  for (size_t j = 0; j < rows.size(); ++j) {
    if (rows[j].shard >= n) {
      return absl::InvalidArgumentError(
          absl::StrCat("sharded segment: shard ", rows[j].shard, " of ", n));
    }
    by[rows[j].shard].push_back(rows[j].row);
    pos[rows[j].shard].push_back(j);
  }
  std::vector<CustomerKey> out(rows.size());
  const uint64_t per = index_->rows_per_shard();
  for (uint32_t i = 0; i < n; ++i) {
    if (by[i].empty()) continue;
    absl::StatusOr<std::vector<CustomerKey>> keys = shards_[i].KeysOf(by[i]);
    if (!keys.ok()) return Prefixed(i, keys.status());
    for (size_t j = 0; j < keys->size(); ++j) {
      CustomerKey& k = (*keys)[j];
      if (per > 0) k = std::get<int64_t>(k) + static_cast<int64_t>(i * per);
      out[pos[i][j]] = std::move(k);
    }
  }
  return out;
}

absl::StatusOr<std::vector<CustomerKey>> ShardedSegment::Keys(uint64_t offset,
                                                              uint64_t limit) const {
  TI_ASSIGN_OR_RETURN(std::vector<ShardedRow> page, Page(offset, limit));
  return KeysOf(page);
}

namespace {

template <typename Op>
absl::StatusOr<ShardedSegment> Combine(const ShardedSegment& a, const ShardedSegment& b, Op op) {
  if (a.index() != b.index() || a.shard_count() != b.shard_count()) {
    return absl::InvalidArgumentError(
        "sharded segment: the segments come from different sharded indexes");
  }
  std::vector<Segment> parts;
  for (uint32_t i = 0; i < a.shard_count(); ++i) {
    absl::StatusOr<Segment> s = op(a.shard(i), b.shard(i));
    if (!s.ok()) return s.status();
    parts.push_back(*std::move(s));
  }
  return ShardedSegment(a.index(), std::move(parts));
}

}  // namespace

absl::StatusOr<ShardedSegment> ShardedSegment::Intersect(const ShardedSegment& other) const {
  return Combine(*this, other, [](const Segment& x, const Segment& y) { return x.Intersect(y); });
}
absl::StatusOr<ShardedSegment> ShardedSegment::Union(const ShardedSegment& other) const {
  return Combine(*this, other, [](const Segment& x, const Segment& y) { return x.Union(y); });
}
absl::StatusOr<ShardedSegment> ShardedSegment::Difference(const ShardedSegment& other) const {
  return Combine(*this, other, [](const Segment& x, const Segment& y) { return x.Difference(y); });
}

}  // namespace tagindex
