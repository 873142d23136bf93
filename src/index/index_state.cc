#include "index/index_state.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

#include "absl/strings/str_cat.h"

namespace tagindex::internal {

namespace {

std::atomic<pid_t> cached_pid{0};

void RefreshPidInChild() { cached_pid.store(getpid(), std::memory_order_relaxed); }

}  // namespace

pid_t CachedPid() {
  static const bool registered = [] {
    cached_pid.store(getpid(), std::memory_order_relaxed);
    pthread_atfork(nullptr, nullptr, RefreshPidInChild);
    return true;
  }();
  (void)registered;
  return cached_pid.load(std::memory_order_relaxed);
}

IndexState::IndexState(IndexOptions opts)
    : options_holder(std::make_shared<const IndexOptions>(std::move(opts))),
      options(*options_holder),
      domain(std::make_shared<WriteDomain>()),
      owner_pid(CachedPid()) {
  Version first(options_holder, std::make_shared<KeyMap>(options.key_kind));
  first.catalog.set_shares(&domain->shares);
  first.shares = &domain->shares;
  WriterLock lock(*this);
  domain->Swap(MakeShared(domain, first));
}

IndexState::~IndexState() {
  // The cell's version holds the domain (its deleter): break the cycle.
  // Versions pinned elsewhere (segments, snapshots) stay valid.
  durability.reset();
  std::shared_ptr<const Version> last = domain->Swap(nullptr);
  last.reset();
}

void IndexState::Publish(const Version& next) { Publish(std::make_unique<Version>(next)); }

void IndexState::Publish(std::unique_ptr<Version> next) {
  std::shared_ptr<const Version> old = domain->Swap(MakeShared(domain, std::move(next)));
  old.reset();  // outside the cell's mutex (may destroy the old version)
}

Version& IndexState::Unpublished() {
  // Only before the index is shared: nobody else can hold this version.
  return const_cast<Version&>(*domain->Current());
}

absl::Status CheckOwner(const IndexState& s) {
  if (CachedPid() == s.owner_pid) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("index: this Index was opened by process ", s.owner_pid,
                   " and inherited by process ", getpid(),
                   " through fork(); open the index again in this process (the parent keeps "
                   "its log and directory lock)"));
}

}  // namespace tagindex::internal
