// Index::Checkpoint: a new generation (snapshot + empty log) written
// atomically, then the keys re-read from the new snapshot's mapping.
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "index/durability.h"
#include "index/index_state.h"
#include "index/storage_internal.h"
#include "storage/wal.h"
#include "tagindex/index.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex {
namespace internal {

// Writes generation `gen`: the snapshot under a temporary name (synced), a
// fresh empty log (synced), then renames the snapshot into place and syncs
// the directory. The snapshot's appearance is the commit point; a stale
// log of a generation without a snapshot is removed by the next Open.
// `renamed` tells the caller whether the commit point may have been passed.
absl::Status WriteGeneration(const Version& s, FileSystem& fs, const std::string& dir, uint64_t gen,
                             std::unique_ptr<WritableFile>* wal, uint64_t* snapshot_bytes,
                             bool* renamed) {
  *renamed = false;
  const std::string tmp = Join(dir, SnapshotName(gen) + ".tmp");
  {
    TI_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, fs.OpenWritable(tmp, true));
    TI_RETURN_IF_ERROR(WriteSnapshot(s, f.get(), gen, snapshot_bytes));
    TI_RETURN_IF_ERROR(f->Sync());
    TI_RETURN_IF_ERROR(f->Close());
  }
  TI_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> log,
                      fs.OpenWritable(Join(dir, WalName(gen)), true));
  TI_RETURN_IF_ERROR(log->Append(storage::EncodeWalHeader(gen)));
  TI_RETURN_IF_ERROR(log->Sync());
  TI_RETURN_IF_ERROR(fs.Rename(tmp, Join(dir, SnapshotName(gen))));
  *renamed = true;
  TI_RETURN_IF_ERROR(fs.SyncDir(dir));
  *wal = std::move(log);
  return absl::OkStatus();
}

}  // namespace internal

// A checkpoint never holds the writer lock while it writes the snapshot:
//
//   1. Under the writer lock (a moment): pin the current version V and start
//      capturing what writers log from now on (Durability::captured).
//   2. Without it: write snapshot-<next>.tix.tmp from V and sync it, create
//      wal-<next>.log with its header and sync it. Writers go on logging to
//      the old log, which alone still recovers everything.
//   3. Under the writer lock again: append the captured records (those
//      logged since V) to the new log and sync it, rename the snapshot into
//      place (the commit point) and sync the directory; then writers log to
//      the new log. Writers wait only for this step: two fsyncs and the
//      records written during step 2. (The old log is synced after, outside
//      the lock, for its group-commit waiters.)
//
// A crash before the rename recovers from the old generation (its log holds
// every acknowledged change); after it, from the new one (V plus the
// captured records, which are exactly the changes after V, in order).
absl::Status Index::Checkpoint() {
  internal::Durability* d = state_->durability.get();
  if (d == nullptr) {
    return util::Error(absl::StatusCode::kFailedPrecondition, ErrorKind::kPrecondition,
                       "directory index",
                       "storage: Checkpoint needs an index opened with Index::Open (this one is in "
                       "memory; Index::SaveTo / Python index.save(dir) writes it to a directory)");
  }
  if (d->options.read_only || d->wal == nullptr) {
    return util::Error(absl::StatusCode::kFailedPrecondition, ErrorKind::kPrecondition, d->dir,
                       absl::StrCat("storage: index ", d->dir, " is open read-only"));
  }
  TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
  std::lock_guard<std::mutex> checkpoint(d->checkpoint_mu);
  std::shared_ptr<const internal::Version> version;
  {
    internal::WriterLock lock(*state_);
    if (!d->failed.ok()) return d->failed;
    TI_RETURN_IF_ERROR(d->wal->status());
    version = state_->Current();
    d->capturing = true;
    d->captured.clear();
  }
  const uint64_t next = d->generation + 1;  // changes only under checkpoint_mu
  const std::string tmp = internal::Join(d->dir, internal::SnapshotName(next) + ".tmp");
  const std::string snapshot = internal::Join(d->dir, internal::SnapshotName(next));
  const std::string wal_path = internal::Join(d->dir, internal::WalName(next));
  auto stop_capturing = [&] {
    d->capturing = false;
    std::vector<std::string>().swap(d->captured);
  };
  auto discard = [&] {
    (void)d->fs->Remove(tmp);
    (void)d->fs->Remove(wal_path);
  };
  auto out_of_memory = [] {
    return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory, "checkpoint",
                       "storage: out of memory writing a checkpoint");
  };

  // Step 2: the files, from the pinned version, while writers go on.
  uint64_t bytes = 0;
  std::unique_ptr<WritableFile> wal_file;
  absl::Status s = [&]() -> absl::Status {
    try {
      {
        TI_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, d->fs->OpenWritable(tmp, true));
        TI_RETURN_IF_ERROR(internal::WriteSnapshot(*version, f.get(), next, &bytes));
        TI_RETURN_IF_ERROR(f->Sync());
        TI_RETURN_IF_ERROR(f->Close());
      }
      TI_ASSIGN_OR_RETURN(wal_file, d->fs->OpenWritable(wal_path, true));
      TI_RETURN_IF_ERROR(wal_file->Append(storage::EncodeWalHeader(next)));
      return wal_file->Sync();
    } catch (const std::bad_alloc&) {
      return out_of_memory();
    }
  }();
  // The keys of the new snapshot, read back and checked like on Open (the
  // loader copies the sections it keeps, so the rename below is harmless).
  std::optional<internal::FrozenKeys> rebased;
  if (s.ok() && state_->options.key_kind != KeyKind::kIdentity) {
    rebased = internal::MapSnapshotKeys(*version, *d->fs, tmp);
  }
  if (!s.ok()) {
    internal::WriterLock lock(*state_);
    stop_capturing();
    wal_file.reset();
    discard();
    return s;
  }

  // Step 3: the switch, under the writer lock.
  std::optional<internal::WriterLock> lock;
  lock.emplace(*state_);
  std::shared_ptr<storage::WalWriter> wal =
      std::make_shared<storage::WalWriter>(std::move(wal_file), wal_path, storage::kWalHeaderBytes,
                                           d->options.sync, d->options.group_commit_interval_ms);
  bool renamed = false;
  s = [&]() -> absl::Status {
    try {
      if (!d->failed.ok()) return d->failed;
      // The old log is not synced here: a record in it that is not durable
      // yet has not been acknowledged either (its writer waits for that
      // log's sync, which goes on after the switch), and the new log holds
      // it durably before the commit point.
      for (const std::string& payload : d->captured)
        TI_RETURN_IF_ERROR(wal->Append(payload).status());
      TI_RETURN_IF_ERROR(wal->SyncNow());
      TI_RETURN_IF_ERROR(d->fs->Rename(tmp, snapshot));
      renamed = true;
      return d->fs->SyncDir(d->dir);
    } catch (const std::bad_alloc&) {
      return out_of_memory();
    }
  }();
  stop_capturing();
  if (!s.ok()) {
    if (renamed) {
      // The new snapshot may or may not be durable: appending to either log
      // could now be lost, so refuse writes until the index is reopened.
      d->failed = util::WithMessage(
          s, absl::StrCat(s.message(), " (checkpoint incomplete; reopen the index)"));
    } else {
      wal.reset();
      discard();
    }
    return s;
  }
  std::shared_ptr<storage::WalWriter> retired = std::move(d->wal);
  d->wal = std::move(wal);
  {
    // Every record logged so far is durable in the new log: no change
    // published before now can be rolled back by a failed sync of the old one.
    std::lock_guard<std::mutex> g(d->unsynced_mu);
    d->unsynced.clear();
  }
  d->generation = next;
  d->report.generation = next;
  d->report.snapshot_bytes = bytes;
  // The keys now read from the new snapshot, so memory holds only rows
  // added after it (and the old file can go once no version uses it); rows
  // added while it was written stay in memory (KeyMap::Rebased). On any
  // failure the old KeyMap stays, which is equally correct. Versions pinned
  // before keep the old KeyMap until they are let go.
  if (rebased) {
    internal::Version with_keys(*state_->Current());
    with_keys.keys = with_keys.keys->Rebased(*std::move(rebased));
    state_->Publish(with_keys);
  }
  lock.reset();
  // Resolves the old log's group-commit waiters now rather than at its
  // next interval (its records are in the new generation either way).
  (void)retired->SyncNow();
  retired.reset();
  internal::RemoveStale(*d->fs, d->dir, next);
  return absl::OkStatus();
}

}  // namespace tagindex
