#include "index/index_state.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace tagindex::internal {

IndexState::IndexState(IndexOptions opts)
    : options_holder(std::make_shared<const IndexOptions>(std::move(opts))),
      options(*options_holder),
      domain(std::make_shared<WriteDomain>()),
      owner_pid(getpid()) {
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

void IndexState::Publish(const Version& next) {
  std::shared_ptr<const Version> old = domain->Swap(MakeShared(domain, next));
  old.reset();  // outside the cell's mutex (may destroy the old version)
}

Version& IndexState::Unpublished() {
  // Only before the index is shared: nobody else can hold this version.
  return const_cast<Version&>(*domain->Current());
}

absl::Status CheckOwner(const IndexState& s) {
  if (getpid() == s.owner_pid) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("index: this Index was opened by process ", s.owner_pid,
                   " and inherited by process ", getpid(),
                   " through fork(); open the index again in this process (the parent keeps "
                   "its log and directory lock)"));
}

}  // namespace tagindex::internal
