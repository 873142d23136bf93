// Options and reports of a persistent (on-disk) Index; see Index::Open.
//
// An index directory holds a snapshot ("snapshot-<generation>.tix", the state
// at the last Checkpoint) and a write-ahead log ("wal-<generation>.log", every
// mutation since), plus a LOCK file. docs/file_format.md and
// docs/wal_format.md describe the bytes.
//
// Example:
//
//   tagindex::OpenOptions options;
//   options.index.key_kind = tagindex::KeyKind::kInt64;   // used on creation
//   options.sync = tagindex::SyncPolicy::kEveryWrite;
//   auto index = tagindex::Index::Open("/var/lib/crm/tags", options).value();
//   tagindex::TagId vip = index->CreateTag({.name = "高价值客户"}).value();
//   absl::Status s = index->Tag(vip, int64_t{1001});  // durable when OK
//   s = index->Checkpoint();                           // new snapshot, log retired
#ifndef TAGINDEX_STORAGE_H_
#define TAGINDEX_STORAGE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "tagindex/file_system.h"
#include "tagindex/options.h"

namespace tagindex {

// When a mutation's log record reaches stable storage. Values are part of
// no file format; they may be renumbered.
enum class SyncPolicy : uint8_t {
  // fdatasync after every record, before the call returns: an acknowledged
  // change survives a process crash and a power loss.
  kEveryWrite,
  // Records are written (write(2)) at once; a background thread fdatasyncs
  // whenever a change is waiting, at most once every
  // OpenOptions::group_commit_interval_ms, and each mutation waits for the
  // sync that covers it before returning. Same guarantee as kEveryWrite;
  // concurrent writers share one fsync. The change is visible to readers as
  // soon as it is applied, slightly before it is acknowledged; if that sync
  // fails, the waiting calls return its error, the index goes back to its
  // last acknowledged state (reads no longer see the changes that were not
  // synced; the log is cut back to what was), and every later write fails
  // with the first error until the index is reopened.
  kGroupCommit,
  // Records are written (write(2)) before the call returns but never synced
  // by the index: an acknowledged change survives a crash of the process,
  // not of the machine (the kernel flushes when it likes).
  kNone,
};

struct OpenOptions {
  // Options of a new index; ignored when the directory already holds one
  // (the stored options win, so key kind and limits never change under data).
  IndexOptions index;
  // Create the directory and an empty index if there is none (the path is
  // missing, or an empty directory). False by default, as in leveldb: a path
  // that was removed (`rm -rf`), a mount that failed or a typo is NotFound
  // instead of silently starting afresh with an empty index; creating is
  // something the caller asks for. Independently of this flag, Open never
  // creates an index in a directory that held one whose generation files are
  // gone (a log with records, a LOCK alone: DataLoss) or that holds files
  // not of an index (FailedPrecondition); what an interrupted creation
  // leaves (the first snapshot's temporary, an empty log) is created over.
  bool create_if_missing = false;
  // Open without writing anything: no lock is taken, the log is replayed in
  // memory only, and every mutation and Checkpoint is FailedPrecondition.
  // A writer may checkpoint meanwhile: when the generation being read
  // vanishes (its snapshot or log removed), Open follows the newest one
  // instead of reporting corruption, and never returns an older state than
  // the generation it started with.
  bool read_only = false;
  SyncPolicy sync = SyncPolicy::kEveryWrite;
  // Under kGroupCommit, the pause after each background sync, in
  // milliseconds: changes arriving meanwhile share the next sync. 0 syncs
  // again as soon as the previous sync is done (lowest latency; groups then
  // form only from changes that arrive during an fsync).
  uint32_t group_commit_interval_ms = 2;
  // When the log is corrupt before its end, Open fails with DataLoss naming
  // the file and byte offset. With `salvage_log`, Open instead keeps every
  // record before the damage, drops the rest (the log is cut there unless
  // read_only) and reports it in Index::LastRecovery(). The same holds for a
  // record that checksums but does not apply (a hostile or buggy log):
  // DataLoss naming its offset, or with salvage_log the records before it.
  bool salvage_log = false;
  // Safety limits applied while loading (a crafted file cannot make the
  // library allocate more than the file justifies, and no more than these).
  // Most live tags, and most attribute columns, accepted from a snapshot
  // (the name is historical). Tag and attribute ids are never reused (a
  // host's stale TagId never names another tag) and size nothing — the
  // catalog holds only live entries — so the id counters are not limited:
  // an index whose counter passed 2^24 reopens with the defaults.
  uint32_t max_tag_id_on_load = 1u << 24;
  // Largest single log record accepted, in bytes.
  uint64_t max_log_record_bytes = uint64_t{1} << 30;
  // The file system to use; null means FileSystem::Default().
  std::shared_ptr<FileSystem> file_system;
};

// What Index::Open found and did, for logging by the host.
struct RecoveryReport {
  uint64_t generation = 0;  // of the snapshot loaded
  uint64_t snapshot_bytes = 0;
  uint64_t log_records_replayed = 0;
  // A record cut short at the end of the log (a crash during its write):
  // it was never acknowledged and is dropped.
  bool torn_tail_truncated = false;
  // Bytes dropped from the end of the log (torn tail or salvage).
  uint64_t log_bytes_dropped = 0;
  // Non-empty when salvage_log dropped corrupt records: what and where.
  std::string salvage_message;
};

}  // namespace tagindex

#endif  // TAGINDEX_STORAGE_H_
