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
  // The writer lock: the snapshot is exactly the state the current log
  // leads to. Readers go on (they never take it); writers wait.
  internal::WriterLock lock(*state_);
  const std::shared_ptr<const internal::Version> version = state_->Current();
  if (!d->failed.ok()) return d->failed;
  TI_RETURN_IF_ERROR(d->wal->status());
  // Resolves group-commit waiters of the old log before it is retired.
  TI_RETURN_IF_ERROR(d->wal->SyncNow());
  const uint64_t next = d->generation + 1;
  std::unique_ptr<WritableFile> wal_file;
  bool renamed = false;
  uint64_t bytes = 0;
  absl::Status s = [&] {
    try {
      return internal::WriteGeneration(*version, *d->fs, d->dir, next, &wal_file, &bytes, &renamed);
    } catch (const std::bad_alloc&) {
      return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory,
                         "checkpoint", "storage: out of memory writing a checkpoint");
    }
  }();
  if (!s.ok()) {
    if (renamed) {
      // The new snapshot may or may not be durable: appending to either log
      // could now be lost, so refuse writes until the index is reopened.
      d->failed = util::WithMessage(
          s, absl::StrCat(s.message(), " (checkpoint incomplete; reopen the index)"));
    } else {
      (void)d->fs->Remove(internal::Join(d->dir, internal::SnapshotName(next) + ".tmp"));
      (void)d->fs->Remove(internal::Join(d->dir, internal::WalName(next)));
    }
    return s;
  }
  d->wal = std::make_shared<storage::WalWriter>(
      std::move(wal_file), internal::Join(d->dir, internal::WalName(next)),
      storage::kWalHeaderBytes, d->options.sync, d->options.group_commit_interval_ms);
  d->generation = next;
  d->report.generation = next;
  d->report.snapshot_bytes = bytes;
  // The keys now read from the new snapshot's mapping, so memory holds only
  // rows added after it (and the old file can go once no version uses it).
  // Checked like on Open, against the universe it was written from; on any
  // failure the old KeyMap stays, which is equally correct. Versions pinned
  // before keep the old KeyMap (and its mapping) until they are let go.
  if (state_->options.key_kind != KeyKind::kIdentity) {
    std::optional<internal::FrozenKeys> rebased = internal::MapSnapshotKeys(
        *version, *d->fs, internal::Join(d->dir, internal::SnapshotName(next)));
    if (rebased) {
      internal::Version with_keys(*version);
      with_keys.keys = version->keys->Rebased(*std::move(rebased));
      state_->Publish(with_keys);
    }
  }
  internal::RemoveStale(*d->fs, d->dir, next);
  return absl::OkStatus();
}

}  // namespace tagindex
