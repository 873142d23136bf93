// Index::Open: create or open an index directory, load its snapshot
// (snapshot_sections.cc) and replay its log through the commit pipeline
// (recovery). The rules: docs/file_format.md, docs/wal_format.md.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "index/durability.h"
#include "index/index_state.h"
#include "index/mutation.h"
#include "index/storage_internal.h"
#include "storage/snapshot_file.h"
#include "storage/wal.h"
#include "tagindex/index.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex {
namespace internal {
namespace {

// A log record is replayed through the same pipeline as the write that
// logged it (validated, then applied; never logged again), so it assigns
// the same row ids and tag ids.
absl::Status ApplyRecord(IndexState& s, std::span<const char> payload) {
  DecodeArena arena;
  std::vector<Mutation> items;
  TI_RETURN_IF_ERROR(DecodeRecord(payload, &arena, &items));
  return Commit(s, items, {.replay = true}, nullptr);
}

}  // namespace

// A directory without a snapshot is an index only to be created if nothing
// in it says otherwise (issue #13: an emptied path must not silently become
// a new, empty index). What an interrupted creation leaves (generation 0's
// snapshot temporary, its log holding only the header, the LOCK after them)
// carries no acknowledged change and may be created over; anything else of
// ours — a log with records or of a later generation, a LOCK alone (the
// generation files removed) — is DataLoss; files not ours refuse creation
// (an index owns its directory).
absl::Status CheckNoFormerIndex(FileSystem& fs, const std::string& path, bool had_lock) {
  TI_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir(path));
  std::vector<std::string> evidence;
  std::vector<std::string> foreign;
  bool creation_temp = false;
  for (const std::string& name : names) {
    uint64_t gen = 0;
    if (name == "LOCK") continue;
    if (name == SnapshotName(0) + ".tmp") {
      creation_temp = true;
    } else if (ParseGen(name, "wal-", ".log", &gen)) {
      bool header_only = false;
      if (gen == 0) {
        absl::StatusOr<std::unique_ptr<ReadableRegion>> log = fs.ReadFile(Join(path, name));
        header_only = log.ok() && (*log)->data().size() <= storage::kWalHeaderBytes;
      }
      if (!header_only) evidence.push_back(name);
    } else if (name.starts_with("snapshot-")) {
      evidence.push_back(name);
    } else {
      foreign.push_back(name);
    }
  }
  if (had_lock && !creation_temp && evidence.empty() && foreign.empty()) {
    evidence.push_back("LOCK");
  }
  auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (size_t i = 0; i < v.size() && i < 5; ++i) absl::StrAppend(&out, i ? ", " : "", v[i]);
    if (v.size() > 5) absl::StrAppend(&out, ", … (", v.size(), " files)");
    return out;
  };
  if (!evidence.empty()) {
    return util::CorruptFile(
        path, std::nullopt,
        absl::StrCat("storage: ", path, " held a tagindex index (", list(evidence),
                     ") but its snapshot is gone; refusing to create a new index over it "
                     "(restore the files, or remove the directory to start a new index)"));
  }
  if (!foreign.empty()) {
    return util::Error(
        absl::StatusCode::kFailedPrecondition, ErrorKind::kPrecondition, path,
        absl::StrCat("storage: ", path, " is not empty and holds no tagindex index (",
                     list(foreign), "); an index needs a directory of its own"));
  }
  return absl::OkStatus();
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<Index>> Index::Open(const std::string& path,
                                                   const OpenOptions& options) {
  using internal::Durability;
  if (const size_t nul = path.find('\0'); nul != std::string::npos) {
    // The OS would see only the prefix and create or open that instead.
    return absl::InvalidArgumentError(absl::StrCat("storage: index path \"", absl::CEscape(path),
                                                   "\" contains a NUL byte at ", "position ", nul,
                                                   "; a path cannot hold one"));
  }
  if (path.empty()) return absl::InvalidArgumentError("storage: index path is empty");
  auto d = std::make_unique<Durability>();
  d->fs = options.file_system != nullptr ? options.file_system : FileSystem::Default();
  d->dir = path;
  d->options = options;
  FileSystem& fs = *d->fs;

  TI_ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  if (!exists) {
    if (!options.create_if_missing || options.read_only) {
      return util::Error(
          absl::StatusCode::kNotFound, ErrorKind::kNotFound, path,
          absl::StrCat("storage: no index directory ", path,
                       options.read_only ? "" : " (OpenOptions::create_if_missing creates one)"));
    }
    TI_RETURN_IF_ERROR(fs.CreateDir(path));
  }
  const std::string lock_path = internal::Join(path, "LOCK");
  TI_ASSIGN_OR_RETURN(const bool had_lock, fs.Exists(lock_path));
  if (!options.read_only && options.create_if_missing && !had_lock) {
    // Creating in an empty directory: mark the creation before the LOCK
    // exists. Locking creates the LOCK, so a crash between the lock and the
    // first snapshot temporary would otherwise leave a LOCK alone, which
    // CheckNoFormerIndex must read as "generation files removed" (DataLoss).
    // With the marker every state a crashed creation leaves holds the
    // creation temporary and is created over. (RemoveStale drops a stray
    // marker, e.g. of a creator that lost the race for the lock.)
    TI_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir(path));
    if (names.empty()) {
      TI_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> marker,
                          fs.OpenWritable(internal::Join(path, internal::SnapshotName(0) + ".tmp"),
                                          /*truncate=*/true));
      TI_RETURN_IF_ERROR(marker->Close());
      TI_RETURN_IF_ERROR(fs.SyncDir(path));
    }
  }
  if (!options.read_only) {
    TI_ASSIGN_OR_RETURN(d->lock, fs.LockFile(lock_path));
  }
  // The newest generation with a snapshot, if any.
  auto newest = [&](bool* have, uint64_t* gen) -> absl::Status {
    TI_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir(path));
    *have = false;
    for (const std::string& name : names) {
      uint64_t g = 0;
      if (internal::ParseGen(name, "snapshot-", ".tix", &g) && (!*have || g > *gen)) {
        *have = true;
        *gen = g;
      }
    }
    return absl::OkStatus();
  };
  bool have = false;
  uint64_t gen = 0;
  TI_RETURN_IF_ERROR(newest(&have, &gen));

  std::unique_ptr<Index> index;
  std::unique_ptr<WritableFile> wal_file;
  uint64_t wal_size = storage::kWalHeaderBytes;
  bool rewrite_header = false;
  // Loads generation `gen` (snapshot, then log replay) into `index`.
  auto load = [&](uint64_t gen) -> absl::Status {
    d->report = RecoveryReport{};
    rewrite_header = false;
    wal_size = storage::kWalHeaderBytes;
    const std::string snap_path = internal::Join(path, internal::SnapshotName(gen));
    {
      // Read, not mapped (docs/hardening.md): a host truncating the file
      // while Open validates it must get a clean error, not SIGBUS.
      TI_ASSIGN_OR_RETURN(std::unique_ptr<ReadableRegion> read, fs.ReadFileCopy(snap_path));
      std::shared_ptr<const ReadableRegion> region = std::move(read);
      TI_ASSIGN_OR_RETURN(storage::ParsedSnapshot parsed,
                          storage::ParseSnapshot(region->data(), snap_path));
      if (parsed.generation != gen) {
        return util::CorruptFile(
            snap_path, std::nullopt,
            absl::StrCat("storage: snapshot ", snap_path, " holds generation ", parsed.generation));
      }
      TI_ASSIGN_OR_RETURN(std::unique_ptr<internal::IndexState> state,
                          internal::LoadSnapshot(parsed, region, snap_path, options));
      index = std::unique_ptr<Index>(new Index(std::move(state)));
      d->report.snapshot_bytes = region->data().size();
    }
    const std::string wal_path = internal::Join(path, internal::WalName(gen));
    TI_ASSIGN_OR_RETURN(bool wal_exists, fs.Exists(wal_path));
    if (!wal_exists) {
      if (!options.salvage_log) {
        return util::CorruptFile(wal_path, std::nullopt,
                                 absl::StrCat("storage: log ", wal_path,
                                              " is missing; open with salvage_log to start "
                                              "a new one from the snapshot"));
      }
      d->report.salvage_message = absl::StrCat("storage: log ", wal_path, " was missing");
      rewrite_header = true;
      return absl::OkStatus();
    }
    // A copy: a writer may cut the log back while a read-only opener reads it.
    TI_ASSIGN_OR_RETURN(std::unique_ptr<ReadableRegion> region, fs.ReadFileCopy(wal_path));
    absl::StatusOr<storage::ParsedLog> parsed = storage::ParseLog(
        region->data(), wal_path, options.max_log_record_bytes, options.salvage_log);
    if (!parsed.ok() && parsed.status().code() == absl::StatusCode::kDataLoss &&
        options.salvage_log && region->data().size() < storage::kWalHeaderBytes + 1) {
      rewrite_header = true;  // salvage of a damaged header: start the log anew
      d->report.salvage_message = std::string(parsed.status().message());
      return absl::OkStatus();
    }
    if (!parsed.ok()) return parsed.status();
    if (parsed->generation != gen) {
      return util::CorruptFile(
          wal_path, std::nullopt,
          absl::StrCat("storage: log ", wal_path, " belongs to generation ", parsed->generation));
    }
    uint64_t applied = 0;
    uint64_t valid_bytes = parsed->valid_bytes;
    for (const storage::LogRecord& rec : parsed->records) {
      absl::Status st = internal::ApplyRecord(*index->state_, rec.payload);
      if (!st.ok()) {
        const std::string what = absl::StrCat("storage: log ", wal_path, " record at byte ",
                                              rec.offset, " does not apply: ", st.message());
        if (!options.salvage_log) {
          return util::CorruptFile(
              wal_path, rec.offset,
              absl::StrCat(what, "; open with salvage_log to keep the records before it"));
        }
        // Salvage: keep the records before it (a record applies entirely
        // or not at all: Commit validates before it changes anything).
        valid_bytes = rec.offset;
        d->report.salvage_message = what;
        break;
      }
      ++applied;
    }
    d->report.log_records_replayed = applied;
    d->report.torn_tail_truncated = parsed->torn_tail;
    d->report.log_bytes_dropped = region->data().size() - valid_bytes;
    if (d->report.salvage_message.empty()) d->report.salvage_message = parsed->salvage_message;
    wal_size = valid_bytes;
    return absl::OkStatus();
  };

  if (!have) {
    absl::Status refused = internal::CheckNoFormerIndex(fs, path, had_lock);
    if (refused.ok() && (!options.create_if_missing || options.read_only)) {
      refused = util::Error(
          absl::StatusCode::kNotFound, ErrorKind::kNotFound, path,
          absl::StrCat("storage: ", path, " holds no tagindex index",
                       options.read_only ? "" : " (OpenOptions::create_if_missing creates one)"));
    }
    if (!refused.ok()) {
      if (!had_lock && d->lock != nullptr) {
        d->lock.reset();  // leave the directory as it was
        (void)fs.Remove(lock_path);
      }
      return refused;
    }
    TI_ASSIGN_OR_RETURN(index, Create(options.index));
    bool renamed = false;
    uint64_t bytes = 0;
    TI_RETURN_IF_ERROR(
        internal::WriteGeneration(*index->state_->Pin(), fs, path, 0, &wal_file, &bytes, &renamed));
    d->report.snapshot_bytes = bytes;
  } else {
    absl::Status loaded = load(gen);
    // A read-only opener holds no lock, so a writer's checkpoint may remove
    // the generation it started reading (its snapshot or log vanishes, or
    // the log is cut at the new generation's switch). Follow the newest
    // generation instead of reporting a healthy index as corrupt; never go
    // back to an older one.
    for (int attempt = 0; options.read_only && attempt < 64; ++attempt) {
      // A failure, or a salvage of a missing log (the checkpoint removed it
      // after this opener listed the directory): is there a newer one?
      if (loaded.ok() && !rewrite_header) break;
      bool again = false;
      uint64_t next = 0;
      TI_RETURN_IF_ERROR(newest(&again, &next));
      if (!again || next <= gen) break;  // nothing newer: the result stands
      gen = next;
      loaded = load(gen);
    }
    TI_RETURN_IF_ERROR(loaded);
    const std::string wal_path = internal::Join(path, internal::WalName(gen));
    if (!options.read_only) {
      if (rewrite_header) {
        TI_ASSIGN_OR_RETURN(wal_file, fs.OpenWritable(wal_path, true));
        TI_RETURN_IF_ERROR(wal_file->Append(storage::EncodeWalHeader(gen)));
        TI_RETURN_IF_ERROR(wal_file->Sync());
        TI_RETURN_IF_ERROR(fs.SyncDir(path));
        wal_size = storage::kWalHeaderBytes;
      } else {
        TI_ASSIGN_OR_RETURN(wal_file, fs.OpenWritable(wal_path, false));
        if (d->report.log_bytes_dropped > 0) {
          TI_RETURN_IF_ERROR(wal_file->Truncate(wal_size));
          TI_RETURN_IF_ERROR(wal_file->Sync());
        }
      }
    }
  }
  d->generation = gen;
  d->report.generation = gen;
  if (!options.read_only) {
    internal::RemoveStale(fs, path, gen);
    d->wal = std::make_shared<storage::WalWriter>(
        std::move(wal_file), internal::Join(path, internal::WalName(gen)), wal_size, options.sync,
        options.group_commit_interval_ms);
  }
  index->state_->durability = std::move(d);
  return index;
}

bool Index::persistent() const { return state_->durability != nullptr; }

RecoveryReport Index::LastRecovery() const {
  internal::Durability* d = state_->durability.get();
  if (d == nullptr) return RecoveryReport{};
  // Checkpoint updates the report under checkpoint_mu.
  std::lock_guard<std::mutex> lock(d->checkpoint_mu);
  return d->report;
}

}  // namespace tagindex
