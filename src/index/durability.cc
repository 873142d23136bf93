// Appending a commit's record to the log and waiting until it is durable
// (durability.h). The record format is mutation_codec.cc's.
#include "index/durability.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "index/index_state.h"
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

absl::Status AwaitDurable(const LogTicket& ticket) {
  if (ticket.wal == nullptr) return absl::OkStatus();
  return ticket.wal->WaitDurable(ticket.offset);
}

Durability::~Durability() {
  if (wal != nullptr) (void)wal->SyncNow();
}

}  // namespace tagindex::internal
