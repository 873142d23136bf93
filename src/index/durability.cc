// Appending a commit's record to the log and waiting until it is durable
// (durability.h). The record format is mutation_codec.cc's.
#include "index/durability.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "index/index_state.h"
#include "index/version.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex::internal {

absl::Status LogMutation(IndexState& s, const std::string& payload, LogTicket* ticket) {
  Durability* d = s.durability.get();
  if (d == nullptr) return absl::OkStatus();  // in memory
  if (d->options.read_only || d->wal == nullptr) {
    return util::Error(absl::StatusCode::kFailedPrecondition, ErrorKind::kPrecondition, d->dir,
                       absl::StrCat("storage: index ", d->dir, " is open read-only"));
  }
  if (!d->failed.ok()) return d->failed;
  if (payload.size() > std::min<uint64_t>(d->options.max_log_record_bytes, UINT32_MAX)) {
    return util::Error(absl::StatusCode::kResourceExhausted,
                       absl::StrCat("storage: change of ", payload.size(),
                                    " bytes exceeds OpenOptions::max_log_record_bytes (",
                                    d->options.max_log_record_bytes, "); split the batch"),
                       util::LimitInfo("OpenOptions::max_log_record_bytes"));
  }
  TI_ASSIGN_OR_RETURN(uint64_t end, d->wal->Append(payload));
  if (d->capturing) d->captured.push_back(payload);
  ticket->wal = d->wal;
  ticket->offset = end;
  return absl::OkStatus();
}

void NoteUnsynced(IndexState& s, const LogTicket& ticket) {
  Durability* d = s.durability.get();
  if (d == nullptr || ticket.wal == nullptr || ticket.wal->policy() != SyncPolicy::kGroupCommit) {
    return;
  }
  std::lock_guard<std::mutex> g(d->unsynced_mu);
  d->unsynced.push_back({ticket.wal, ticket.offset, s.Current()});
}

absl::Status AwaitDurable(IndexState& s, const LogTicket& ticket) {
  if (ticket.wal == nullptr) return absl::OkStatus();
  absl::Status st = ticket.wal->WaitDurable(ticket.offset);
  Durability* d = s.durability.get();
  if (d == nullptr || ticket.wal->policy() != SyncPolicy::kGroupCommit) return st;
  if (st.ok()) {
    std::lock_guard<std::mutex> g(d->unsynced_mu);
    while (!d->unsynced.empty() && d->unsynced.front().wal == ticket.wal &&
           d->unsynced.front().ticket <= ticket.offset) {
      d->unsynced.pop_front();
    }
    return st;
  }
  // The sync failed: the log is failed for good (no commit logs again), and
  // every change after the last synced byte was not acknowledged. Publish
  // the version before the first of them (the first waiter to get here
  // does; the others find nothing left).
  WriterLock lock(s);
  std::shared_ptr<const Version> acknowledged;
  {
    std::lock_guard<std::mutex> g(d->unsynced_mu);
    const uint64_t synced = ticket.wal->synced();
    for (const UnsyncedCommit& c : d->unsynced) {
      if (c.wal == ticket.wal && c.ticket > synced) {
        acknowledged = c.before;
        break;
      }
    }
    d->unsynced.clear();
  }
  if (acknowledged != nullptr) {
    Version back(*acknowledged);
    back.sequence = s.Current()->sequence + 1;  // sequences only grow
    s.Publish(back);
  }
  return st;
}

Durability::~Durability() {
  if (wal != nullptr) (void)wal->SyncNow();
}

}  // namespace tagindex::internal
