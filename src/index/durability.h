// Durability: what a persistent Index keeps beside its IndexState (the
// directory, lock, current log) and the hooks Commit calls to log a change
// before it applies it. Not part of the public API.
#ifndef TAGINDEX_INDEX_DURABILITY_H_
#define TAGINDEX_INDEX_DURABILITY_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "storage/wal.h"
#include "tagindex/file_system.h"
#include "tagindex/storage.h"
#include "tagindex/types.h"

namespace tagindex::internal {

struct IndexState;
struct Version;

// A commit published before its record was synced (group commit): the
// version before it, to go back to if that sync fails.
struct UnsyncedCommit {
  std::shared_ptr<storage::WalWriter> wal;
  uint64_t ticket = 0;  // the log offset just past its record
  std::shared_ptr<const Version> before;
};

struct Durability {
  ~Durability();

  std::shared_ptr<FileSystem> fs;
  std::string dir;
  OpenOptions options;
  std::unique_ptr<FileLock> lock;  // null when read-only
  uint64_t generation = 0;
  // The current log; null when read-only. Replaced by Checkpoint under the
  // writer lock (so no writer is appending).
  std::shared_ptr<storage::WalWriter> wal;
  // Set when a checkpoint failed half-way; every later write returns it.
  absl::Status failed;
  // Serialises Checkpoint calls.
  std::mutex checkpoint_mu;
  // While a checkpoint writes its snapshot outside the writer lock, the
  // payloads logged meanwhile (to the old log) are kept here too: they are
  // the start of the new log (checkpoint.cc). Guarded by the writer lock.
  bool capturing = false;
  std::vector<std::string> captured;
  RecoveryReport report;
  // Under kGroupCommit a change is published before its sync is awaited.
  // Each such commit leaves its entry here (in log order) until its sync
  // succeeds; when a sync fails, the version before the first change not
  // synced — the last acknowledged state — is published again, so reads
  // never keep a change that was not acknowledged (AwaitDurable). A
  // checkpoint's switch makes every logged record durable and clears it.
  // Guarded by unsynced_mu (taken inside the writer lock when both are).
  std::mutex unsynced_mu;
  std::deque<UnsyncedCommit> unsynced;
};

// What a mutation waits on (outside the index lock) before it returns.
struct LogTicket {
  std::shared_ptr<storage::WalWriter> wal;
  uint64_t offset = 0;
};

// Called by Commit (mutation_apply.cc) with the index lock held exclusively,
// after the mutations have been validated and before they are applied:
// appends `payload` to the log (a no-op for an in-memory index; replay does
// not call it). Errors: FailedPrecondition for a
// read-only or failed index; the file system's error if the write fails (the
// mutation must then not be applied).
absl::Status LogMutation(IndexState& s, const std::string& payload, LogTicket* ticket);
// Called by Commit under the writer lock just before it publishes a logged
// change: under group commit, notes the current version (the one before the
// change) with the change's ticket (see Durability::unsynced).
void NoteUnsynced(IndexState& s, const LogTicket& ticket);
// Called after the lock is released: waits until the change is durable
// (group commit) and returns the sync error if it is not. On that error the
// index goes back to its last acknowledged state (the log refuses every
// later write with the first error, until the index is reopened).
absl::Status AwaitDurable(IndexState& s, const LogTicket& ticket);

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_DURABILITY_H_
