// The lock-free side of the publication cell (version.h, "Reads that keep
// nothing"): hazard slots, the deferred list, and the in-place lock.
//
// The two handshakes, each a store followed by a load on both sides
// (sequentially consistent, so at least one side sees the other's store):
//
//   reader (BeginRead)                 writer
//   slot = p                           Swap:         current = q; look at slots
//   current == p ?  (else retry)                     (a slot names p: defer p)
//   in_place ?      (else fall back)   LockUnpinned: in_place = true; look at slots
//                                                    (a slot names current: copy)
//   EndRead: slot = null; deferred?    ReleaseDeferred: pending = true; look at slots
//
// So a reader never reads a version that a writer frees or changes in place:
// either the writer sees the slot and keeps its hands off, or the reader sees
// the writer and retries or falls back to the mutex (which waits for the
// in-place commit to finish).
#include "index/version.h"

#include <bit>

namespace tagindex::internal {

namespace {

WriteDomain::ReadSlot no_slot_sentinel;

// The first slot this thread tries in every domain: threads spread over the
// slots by the order in which they first read.
uint32_t ThreadSlotHint() {
  static std::atomic<uint32_t> next{0};
  thread_local const uint32_t hint = next.fetch_add(1, std::memory_order_relaxed);
  return hint;
}

// Slots tried before falling back to the mutex (more threads than slots, or
// a collision).
constexpr uint32_t kProbes = 4;

}  // namespace

WriteDomain::ReadSlot* const WriteDomain::kNoSlot = &no_slot_sentinel;

WriteDomain::Read WriteDomain::BeginRead() const {
  const Version* p = current_raw_.load(std::memory_order_acquire);
  if (p == nullptr) return {nullptr, nullptr};
  const uint32_t hint = ThreadSlotHint();
  for (uint32_t k = 0; k < kProbes; ++k) {
    const uint32_t i = (hint + k) % kReadSlots;
    std::atomic<const Version*>& slot = slots_[i].version;
    const Version* expected = nullptr;
    if (slot.load(std::memory_order_relaxed) != nullptr ||
        !slot.compare_exchange_strong(expected, p, std::memory_order_seq_cst)) {
      continue;
    }
    const uint32_t bit = 1u << i;
    if ((slots_used_.load(std::memory_order_relaxed) & bit) == 0) {
      // Once per slot and domain; the writers' scans start from here. The
      // seq_cst RMW orders it before the check below.
      slots_used_.fetch_or(bit, std::memory_order_seq_cst);
    }
    // Announced: now make sure it is still current (a Swap in between may
    // have missed the slot and freed p).
    for (;;) {
      const Version* q = current_raw_.load(std::memory_order_seq_cst);
      if (q == p) break;
      if (q == nullptr) {
        EndRead(&slots_[i]);
        return {nullptr, nullptr};
      }
      p = q;
      slot.store(p, std::memory_order_seq_cst);
    }
    if (in_place_.load(std::memory_order_seq_cst)) {
      // A commit is changing p in place: wait for it through the mutex.
      EndRead(&slots_[i]);
      return {nullptr, kNoSlot};
    }
    return {p, &slots_[i]};
  }
  return {nullptr, kNoSlot};
}

void WriteDomain::EndRead(ReadSlot* slot) const {
  slot->version.store(nullptr, std::memory_order_seq_cst);
  if (deferred_pending_.load(std::memory_order_seq_cst)) ReleaseDeferred();
}

bool WriteDomain::SlotsName(const Version* v) const {
  uint32_t used = slots_used_.load(std::memory_order_seq_cst);
  while (used != 0) {
    const int i = std::countr_zero(used);
    used &= used - 1;
    if (slots_[i].version.load(std::memory_order_seq_cst) == v) return true;
  }
  return false;
}

void WriteDomain::ReleaseDeferred() const {
  std::vector<std::shared_ptr<const Version>> free;
  {
    std::lock_guard<std::mutex> g(deferred_mu_);
    // Stored before the scan (the third handshake): a reader that clears
    // its slot after the scan sees it and comes here itself.
    deferred_pending_.store(true, std::memory_order_seq_cst);
    for (size_t i = 0; i < deferred_.size();) {
      if (SlotsName(deferred_[i].get())) {
        ++i;
        continue;
      }
      free.push_back(std::move(deferred_[i]));
      deferred_[i] = std::move(deferred_.back());
      deferred_.pop_back();
    }
    if (deferred_.empty()) deferred_pending_.store(false, std::memory_order_seq_cst);
  }
  // Outside deferred_mu_: the last reference retires the version (Retire).
  free.clear();
}

std::shared_ptr<const Version> WriteDomain::Swap(std::shared_ptr<const Version> v) {
  {
    std::lock_guard<std::mutex> g(current_mu_);
    current_.swap(v);
    current_raw_.store(current_.get(), std::memory_order_seq_cst);
    current_pinned_ = false;
  }
  if (v != nullptr && SlotsName(v.get())) {
    {
      std::lock_guard<std::mutex> g(deferred_mu_);
      deferred_.push_back(std::move(v));
    }
    ReleaseDeferred();  // the reader may have let go meanwhile
    return nullptr;
  }
  return v;
}

WriteDomain::InPlaceLock WriteDomain::LockUnpinned() {
  current_mu_.lock();
  if (current_pinned_ || current_ == nullptr || current_.use_count() != 1) {
    current_mu_.unlock();
    return InPlaceLock();
  }
  in_place_.store(true, std::memory_order_seq_cst);
  if (SlotsName(current_.get())) {
    in_place_.store(false, std::memory_order_relaxed);
    current_mu_.unlock();
    return InPlaceLock();
  }
  return InPlaceLock(this);
}

}  // namespace tagindex::internal
