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
// Reads that keep nothing (ReadGuard: CompiledQuery::Count, point lookups)
// take no mutex and no reference count: the reader announces the version it
// reads in a hazard slot of the domain (one compare-and-swap on a cache line
// of its own), checks that it is still current, and clears the slot when it
// returns. A writer that replaces a version some slot names keeps it alive
// (the deferred list) until that slot lets go; an in-place commit checks the
// slots and copies instead if one names the current version. Both sides
// store first and then look at the other's word (sequentially consistent),
// so at least one of them sees the other.
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
#include <utility>
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

  // ---- Lock-free reads (ReadGuard) ----
  // Announces the current version in a free hazard slot and returns it with
  // that slot (release it with EndRead), or {nullptr, nullptr} when the
  // index is closed. {nullptr, kNoSlot}: no slot was free among the few
  // this thread tries, or a commit is changing the version in place; the
  // caller falls back to Current().
  struct ReadSlot;
  struct Read {
    const Version* version;
    ReadSlot* slot;
  };
  static ReadSlot* const kNoSlot;
  Read BeginRead() const;
  void EndRead(ReadSlot* slot) const;

  // The in-place lock (LockUnpinned): the cell mutex, and the mark that
  // tells a lock-free reader to wait for it.
  class InPlaceLock {
   public:
    InPlaceLock() = default;
    InPlaceLock(InPlaceLock&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
    InPlaceLock& operator=(InPlaceLock&& o) noexcept {
      if (this != &o) {
        unlock();
        d_ = std::exchange(o.d_, nullptr);
      }
      return *this;
    }
    ~InPlaceLock() { unlock(); }
    bool owns_lock() const { return d_ != nullptr; }
    void unlock() {
      if (d_ == nullptr) return;
      d_->in_place_.store(false, std::memory_order_release);
      d_->current_mu_.unlock();
      d_ = nullptr;
    }

   private:
    friend class WriteDomain;
    explicit InPlaceLock(WriteDomain* d) : d_(d) {}
    WriteDomain* d_ = nullptr;
  };
  // For a small in-place commit (mutation_apply.cc, Commit): the cell's
  // mutex, held, if the current version has never been handed out since it
  // was published (nobody but the cell holds it); else an unlocked lock.
  // While the caller holds it, Current() waits, so the caller may change
  // the current version in place: nobody else reads it until the lock is
  // released, and every later Pin() sees the change (the mutex orders it).
  // The caller keeps the change small and bounded (one row of one tag: at
  // most one container copied) and never does I/O under it.
  // A lock-free reader (BeginRead) that names the current version in its
  // slot counts as a pin for as long as it reads.
  InPlaceLock LockUnpinned();
  // The current version for the writer (caller holds the writer mutex):
  // no copy of the pointer and no cell mutex. Only the writer ever
  // replaces the cell's pointer, and readers only copy it, so reading it
  // here races with nothing.
  const Version* CurrentForWriter() const { return current_.get(); }
  // Makes `v` current; returns the previous one (for the caller to drop
  // outside the cell's mutex).
  // A previous version that a lock-free reader still reads is kept (the
  // deferred list) and null is returned; the reader's EndRead lets it go.
  std::shared_ptr<const Version> Swap(std::shared_ptr<const Version> v);

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

 public:
  // One hazard slot per cache line: a reader writes only its own.
  static constexpr size_t kReadSlots = 32;
  struct alignas(64) ReadSlot {
    std::atomic<const Version*> version{nullptr};
  };

 private:
  // Whether some slot names `v` (caller has just stored what the reader
  // must see first: the new current pointer or in_place_).
  bool SlotsName(const Version* v) const;
  // Lets go of the deferred versions no slot names any more.
  void ReleaseDeferred() const;

  // current_.get(), stored by Swap under current_mu_; what BeginRead reads.
  std::atomic<const Version*> current_raw_{nullptr};
  // Set while an in-place commit may change current_ (LockUnpinned).
  std::atomic<bool> in_place_{false};
  mutable ReadSlot slots_[kReadSlots];
  // Bit i: slot i was ever used (so writers look at those only).
  mutable std::atomic<uint32_t> slots_used_{0};
  // Versions replaced while a slot named them; guarded by deferred_mu_.
  mutable std::mutex deferred_mu_;
  mutable std::vector<std::shared_ptr<const Version>> deferred_;
  mutable std::atomic<bool> deferred_pending_{false};
};

// The current version for the length of one call that keeps nothing
// derived from it (no Segment, no Snapshot): no mutex and no reference
// count in the common case (see the file comment). version() is null when
// the index is closed. Not movable; one per call, on the stack.
class ReadGuard {
 public:
  explicit ReadGuard(const WriteDomain& d) : d_(d) {
    const WriteDomain::Read r = d.BeginRead();
    if (r.slot == WriteDomain::kNoSlot) {
      pinned_ = d.Current();
      version_ = pinned_.get();
    } else {
      slot_ = r.slot;
      version_ = r.version;
    }
  }
  ~ReadGuard() {
    if (slot_ != nullptr) d_.EndRead(slot_);
  }
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;

  const Version* version() const { return version_; }

 private:
  const WriteDomain& d_;
  WriteDomain::ReadSlot* slot_ = nullptr;
  const Version* version_ = nullptr;
  std::shared_ptr<const Version> pinned_;  // the fallback's pin
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
