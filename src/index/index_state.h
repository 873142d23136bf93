// IndexState: everything an Index holds, shared with the library's own
// layers (query binding, storage). Not part of the public API.
//
// Reading: `std::shared_ptr<const Version> v = state.Pin();` and read *v
// (index/version.h): an immutable, point-in-time state that no writer
// changes and that stays valid for as long as it is held, even after the
// Index is gone. Pin() takes a mutex only for the pointer copy; a writer
// holds it only to swap the pointer or to make a one-row change in place on
// a version nobody has pinned (index/version.h), never across I/O. Read
// code should pin once per call and use that one version from start to end
// (so one call sees one state).
//
// Writing goes through Commit (mutation_apply.cc) or, for the few writers
// outside it (checkpoint, open), WriterLock + Current() + Publish().
#ifndef TAGINDEX_INDEX_INDEX_STATE_H_
#define TAGINDEX_INDEX_INDEX_STATE_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "bitmap/bitmap.h"
#include "index/durability.h"
#include "index/version.h"
#include "tagindex/options.h"
#include "util/error_info.h"

namespace tagindex::internal {

struct IndexState {
  explicit IndexState(IndexOptions opts);
  ~IndexState();
  IndexState(const IndexState&) = delete;
  IndexState& operator=(const IndexState&) = delete;

  std::shared_ptr<const IndexOptions> options_holder;
  const IndexOptions& options;

  // The writer mutex, container table and publication cell; shared with
  // every version.
  std::shared_ptr<WriteDomain> domain;

  // The current version, for reading (see the file comment).
  std::shared_ptr<const Version> Pin() const { return domain->Current(); }

  // Writer side (caller holds a WriterLock):
  // The current version (the base of the next one).
  std::shared_ptr<const Version> Current() const { return domain->Current(); }
  // The current version without a pointer copy (caller holds a WriterLock;
  // valid until it publishes).
  const Version& CurrentLocked() const { return *domain->CurrentForWriter(); }
  // Makes `next` the current version (the second form takes the version
  // built on the heap: no copy).
  void Publish(const Version& next);
  void Publish(std::unique_ptr<Version> next);
  ContainerShares* shares() { return &domain->shares; }

  // Before the index is shared (Create, Open's load and replay run on one
  // thread): the current version, changed in place.
  Version& Unpublished();

  // Set for an index opened with Index::Open; null for an in-memory one.
  std::unique_ptr<Durability> durability;

  // The process that created or opened the index (fork safety: a child
  // that inherited it must not use it).
  pid_t owner_pid;
};

// This process's id without a system call per check (glibc's getpid() is
// one): cached, and refreshed in a fork child by a pthread_atfork handler.
// (A child made by a raw clone() that skips the handlers is not seen; fork(),
// Python's os.fork and multiprocessing all run them.)
pid_t CachedPid();

// Serialises writers (RAII). Readers never take it.
class WriterLock {
 public:
  explicit WriterLock(IndexState& s) : d_(*s.domain) { d_.Lock(); }
  ~WriterLock() { d_.Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  WriteDomain& d_;
};

// CRoaring reports allocation failure as NULL, which Bitmap turns into
// std::bad_alloc; this is where it becomes a status, so no exception
// crosses the public API. (Commit, in mutation_apply.cc, guards every write
// with it; reads that allocate call it directly.)
// `subject` names the layer in the error ("index", "query", "segment").
template <typename Fn>
auto Guarded(Fn&& fn, std::string_view subject = "index") -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory,
                       std::string(subject), std::string(subject) + ": out of memory");
  }
}

// Whether `key` fits the index's KeyKind (and, for strings, the key rules).
absl::Status CheckKey(const IndexOptions& o, int64_t key);
absl::Status CheckKey(const IndexOptions& o, std::string_view key);

// FailedPrecondition when called in a process other than the one that
// opened the index (a fork child): its log, lock and threads are the
// parent's.
absl::Status CheckOwner(const IndexState& s);

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_INDEX_STATE_H_
