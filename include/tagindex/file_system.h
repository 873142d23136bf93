// tagindex::FileSystem — the seam through which a persistent Index touches
// the disk. The library uses FileSystem::Default() (POSIX: open/write/fsync/
// rename/mmap/flock) unless OpenOptions::file_system names another one; tests
// pass an implementation that fails chosen operations or forgets everything
// that was not synced, to prove that recovery loses no acknowledged change.
//
// Every call returns a status; an implementation must not throw. Errors of
// the default implementation (the mapping of errno, the same for every
// call): NotFound for ENOENT; ResourceExhausted for ENOSPC, EDQUOT, ENOMEM;
// PermissionDenied for EACCES, EPERM, EROFS; Unavailable for every other
// errno (EIO, ...) and a directory that cannot be created; never Internal.
// Each carries an ErrorInfo (tagindex/errors.h) of kind "io" ("not_found"
// for ENOENT) with the path and the OS error text (`detail`); LockFile's
// FailedPrecondition has kind "busy". The Index passes these statuses on
// (prefixing the message); an implementation of its own should use the same
// codes, and may attach ErrorInfo with SetErrorInfo. Paths are
// plain strings ("dir/name"); the Index only uses names inside its directory.
//
// Thread safety: an Index calls its FileSystem from its writer thread and,
// under SyncPolicy::kGroupCommit, from one background sync thread, never on
// the same WritableFile concurrently except Sync() beside Append() (which a
// POSIX file allows). Implementations must tolerate that.
#ifndef TAGINDEX_FILE_SYSTEM_H_
#define TAGINDEX_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tagindex {

// A file open for appending.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends `data` at the end. Not durable until Sync() returns OK.
  virtual absl::Status Append(std::string_view data) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual absl::Status Sync() = 0;
  // Cuts the file back to `size` bytes (used to drop a record whose write
  // or sync failed).
  virtual absl::Status Truncate(uint64_t size) = 0;
  // Closes the file; further calls are errors. The destructor closes too.
  virtual absl::Status Close() = 0;
  // Whether the file is still the one its path names: OK, or
  // FailedPrecondition when it was removed (no link left), or its path now
  // names another file or nothing (the file or its directory was removed,
  // renamed or replaced). The log writer calls it after every sync (and
  // after every append under SyncPolicy::kNone), so a change written to a
  // file nobody can find again is never acknowledged. Defaults to OK (an
  // implementation that cannot tell).
  virtual absl::Status CheckLinked() { return absl::OkStatus(); }
};

// The whole content of a file, read-only (memory-mapped by the default
// implementation). The bytes stay valid while the object lives.
class ReadableRegion {
 public:
  virtual ~ReadableRegion() = default;
  virtual std::span<const char> data() const = 0;
};

// An advisory lock held on a file; released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The operating system's file system (POSIX).
  static std::shared_ptr<FileSystem> Default();

  // Creates `dir` (and missing parents). OK if it exists.
  virtual absl::Status CreateDir(const std::string& dir) = 0;
  // Names (not paths) of the entries of `dir`, without "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Whether `path` exists.
  virtual absl::StatusOr<bool> Exists(const std::string& path) = 0;
  // Opens `path` for appending, creating it if absent; with `truncate` an
  // existing file is emptied first.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path,
                                                                     bool truncate) = 0;
  // Reads the whole file. The default implementation maps it: the bytes
  // must not shrink while the region lives (snapshots never do).
  virtual absl::StatusOr<std::unique_ptr<ReadableRegion>> ReadFile(const std::string& path) = 0;
  // Reads the whole file into memory the caller owns (a copy, not a
  // mapping), for a file another process may truncate meanwhile: the log,
  // which a writer cuts back after a failed append, and the snapshot Open
  // loads (a host may truncate or rewrite it while Open validates it).
  // Reading a mapping past a truncation would raise SIGBUS; a copy just
  // sees the shorter file. Defaults to ReadFile (right for implementations
  // that copy anyway; one that maps must override it).
  virtual absl::StatusOr<std::unique_ptr<ReadableRegion>> ReadFileCopy(const std::string& path) {
    return ReadFile(path);
  }
  // Atomically replaces `to` with `from` (POSIX rename). Durable after
  // SyncDir of the directory.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file. Durable after SyncDir.
  virtual absl::Status Remove(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  // Takes an exclusive lock on `path` (created if absent) that excludes
  // other processes and other opens in this process. Errors:
  // FailedPrecondition if someone holds it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

}  // namespace tagindex

#endif  // TAGINDEX_FILE_SYSTEM_H_
