// Version: one immutable, point-in-time state of an index, and the
// machinery that publishes versions and reclaims them. Not part of the
// public API. (docs/design_notes.md "Versions" has the reasoning.)
//
//   reader:  std::shared_ptr<const Version> v = state.Pin();   // a pointer copy
//            ... read *v for as long as needed; no writer changes it ...
//   writer:  WriterLock lock(state);            // writers serialise here
//            Version next(*state.Current());     // shares everything
//            next.catalog.Mutable(tag)->bitmap.Add(row);  // copies what it touches
//            state.Publish(std::move(next));     // readers see it from now on
//
// What a copy shares and what a change copies:
//   catalog     tag entries and name tables shared; Catalog::Mutable clones
//               one entry, whose bitmap shares its containers
//               (Bitmap::ShareCopy): a Tag copies one 8 KB container at most
//   universe    shared; MutableUniverse() share-copies it the same way
//   attributes  columns shared; a changed column is copied whole per commit
//   segments    saved-segment entries shared; a change replaces the entry
//   keys        one KeyMap shared by all versions between checkpoints,
//               append-only; a version reads it bounded by its row_limit
//
// Memory: a version holds the bitmaps and columns as they were; containers
// changed since are kept alive by it. A snapshot held across many writes
// costs (at most) a copy of every container, column and KeyMap changed
// since, freed when the last holder lets go.
//
// In place: a version that was never handed out (no Pin since it was
// published) has no reader, so a one-row commit may change it instead of
// copying it (Commit in mutation_apply.cc, WriteDomain::LockUnpinned). The
// writer holds the publication cell's mutex meanwhile, so a Pin() arriving
// then waits for that one bit (and at most one 8 KB container copy) — the
// only time a reader waits for a writer, and never for I/O, a batch or a
// rule refresh. Once pinned, a version is never changed again.
//
// Freeing: containers shared between bitmaps are counted in one
// ContainerShares table per index, which is not thread-safe. So a version
// is never destroyed by a reader directly: the last holder hands it to the
// WriteDomain, which destroys it under the writer mutex (at once if the
// mutex is free, else the writer does before it releases it). No reader
// ever waits for a writer.
#ifndef TAGINDEX_INDEX_VERSION_H_
#define TAGINDEX_INDEX_VERSION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bitmap/bitmap.h"
#include "index/attributes.h"
#include "index/catalog.h"
#include "index/key_map.h"
#include "index/rules.h"
#include "index/saved_segments.h"
#include "tagindex/options.h"

namespace tagindex::internal {

struct Version {
  Version(std::shared_ptr<const IndexOptions> opts, std::shared_ptr<KeyMap> key_map)
      : options_holder(std::move(opts)),
        options(*options_holder),
        keys(std::move(key_map)),
        universe_(std::make_shared<Bitmap>()) {}
  Version(const Version&) = default;
  Version& operator=(const Version&) = delete;

  std::shared_ptr<const IndexOptions> options_holder;
  const IndexOptions& options;

  // Shared by the versions between two checkpoints (see KeyMap).
  std::shared_ptr<KeyMap> keys;
  Catalog catalog;
  AttributeTable attributes;
  SavedSegmentTable segments;  // saved segments (人群包)
  RuleTable rules;             // rule tags' rules (their members are catalog tags)
  uint64_t row_limit = 0;      // one past the largest row id ever assigned
  // Number of commits applied (0 for a new or just-opened index); tests
  // and diagnostics use it to order versions.
  uint64_t sequence = 0;
  // The index's container table (WriteDomain::shares), for copies made by
  // writers; null: deep copies.
  ContainerShares* shares = nullptr;

  // Live customers.
  const Bitmap& universe() const { return *universe_; }
  // The universe, private to this (unpublished) copy. Writer only.
  Bitmap& MutableUniverse() {
    if (universe_.use_count() > 1) {
      universe_ = std::make_shared<Bitmap>(shares != nullptr ? universe_->ShareCopy(shares)
                                                             : universe_->Copy());
    }
    return *universe_;
  }

 private:
  std::shared_ptr<Bitmap> universe_;
};

// The writer mutex, the container table it guards, and the reclamation of
// versions (see the file comment). Shared by the index and by every version
// (through its deleter), so it outlives both.
class WriteDomain {
 public:
  WriteDomain() = default;
  WriteDomain(const WriteDomain&) = delete;
  WriteDomain& operator=(const WriteDomain&) = delete;
  ~WriteDomain() { Drain(); }

  // Guarded by the writer mutex.
  ContainerShares shares;
  // Commits made in place (Commit, LockUnpinned); for tests and diagnostics.
  // Guarded by the writer mutex.
  uint64_t in_place_commits = 0;

  void Lock() {
    mu_.lock();
    holder_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    Drain();
  }
  void Unlock() {
    Drain();
    holder_.store(std::thread::id(), std::memory_order_relaxed);
    mu_.unlock();
    TryDrain();
  }

  // A version whose last holder let go: destroyed now if the writer mutex is
  // free (or held by this thread), else by its holder before it releases.
  void Retire(const Version* v) {
    if (holder_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
      delete v;
      return;
    }
    {
      std::lock_guard<std::mutex> g(garbage_mu_);
      garbage_.push_back(v);
      pending_.store(true);
    }
    TryDrain();
  }

  // Publication cell: the current version, swapped and copied under a
  // mutex held only for the pointer copy (a shared_ptr copy is two words
  // and an atomic increment).
  // Marks the version as pinned: it is never changed in place again (see
  // LockUnpinned).
  std::shared_ptr<const Version> Current() const {
    std::lock_guard<std::mutex> g(current_mu_);
    current_pinned_ = true;
    return current_;
  }
  // For a small in-place commit (mutation_apply.cc, Commit): the cell's
  // mutex, held, if the current version has never been handed out since it
  // was published (nobody but the cell holds it); else an unlocked lock.
  // While the caller holds it, Current() waits, so the caller may change
  // the current version in place: nobody else reads it until the lock is
  // released, and every later Pin() sees the change (the mutex orders it).
  // The caller keeps the change small and bounded (one row of one tag: at
  // most one container copied) and never does I/O under it.
  std::unique_lock<std::mutex> LockUnpinned() {
    std::unique_lock<std::mutex> g(current_mu_);
    if (current_pinned_ || current_ == nullptr || current_.use_count() != 1) g.unlock();
    return g;
  }
  // The current version for the writer (caller holds the writer mutex):
  // no copy of the pointer and no cell mutex. Only the writer ever
  // replaces the cell's pointer, and readers only copy it, so reading it
  // here races with nothing.
  const Version* CurrentForWriter() const { return current_.get(); }
  // Makes `v` current; returns the previous one (for the caller to drop
  // outside the cell's mutex).
  std::shared_ptr<const Version> Swap(std::shared_ptr<const Version> v) {
    std::lock_guard<std::mutex> g(current_mu_);
    current_.swap(v);
    current_pinned_ = false;
    return v;
  }

 private:
  // Destroys the retired versions; caller holds mu_.
  void Drain() {
    while (pending_.load()) {
      std::vector<const Version*> batch;
      {
        std::lock_guard<std::mutex> g(garbage_mu_);
        batch.swap(garbage_);
        pending_.store(false);
      }
      for (const Version* v : batch) delete v;
    }
  }
  // Drains if nobody holds the writer mutex. Whoever holds it drains before
  // and after releasing it, so a retired version never stays behind.
  void TryDrain() {
    while (pending_.load()) {
      if (!mu_.try_lock()) return;
      holder_.store(std::this_thread::get_id(), std::memory_order_relaxed);
      Drain();
      holder_.store(std::thread::id(), std::memory_order_relaxed);
      mu_.unlock();
    }
  }

  std::mutex mu_;  // the writer mutex
  std::atomic<std::thread::id> holder_{};
  std::mutex garbage_mu_;
  std::vector<const Version*> garbage_;
  std::atomic<bool> pending_{false};
  mutable std::mutex current_mu_;
  std::shared_ptr<const Version> current_;
  // Whether current_ was handed out by Current() since it was published.
  // Guarded by current_mu_.
  mutable bool current_pinned_ = false;
};

// Wraps `v` for publication: its deleter retires it to `domain`.
inline std::shared_ptr<const Version> MakeShared(std::shared_ptr<WriteDomain> domain,
                                                 std::unique_ptr<Version> v) {
  // If the control block cannot be allocated, shared_ptr calls the deleter.
  return std::shared_ptr<const Version>(
      v.release(), [domain = std::move(domain)](const Version* p) { domain->Retire(p); });
}
inline std::shared_ptr<const Version> MakeShared(std::shared_ptr<WriteDomain> domain,
                                                 const Version& v) {
  return MakeShared(std::move(domain), std::make_unique<Version>(v));
}

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_VERSION_H_
