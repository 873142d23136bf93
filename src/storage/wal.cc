#include "storage/wal.h"

#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "storage/coding.h"
#include "util/error_info.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace tagindex::storage {
namespace {

bool AllZero(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

// The header check binds the length to a constant so that a zeroed or
// shifted header is never mistaken for a record.
uint32_t RecordHeaderCheck(uint32_t length) {
  char b[8];
  std::memcpy(b, "TIXR", 4);
  for (int i = 0; i < 4; ++i) b[4 + i] = static_cast<char>(length >> (8 * i));
  return static_cast<uint32_t>(util::Xxh3(b, 8));
}

std::string EncodeWalHeader(uint64_t generation) {
  std::string header(kWalMagic, sizeof(kWalMagic));
  PutU32(&header, kWalVersion);
  PutU32(&header, 0);
  PutU64(&header, generation);
  PutU64(&header, util::Xxh3(header));
  return header;
}

absl::StatusOr<ParsedLog> ParseLog(std::span<const char> file, const std::string& path,
                                   uint64_t max_record_bytes, bool salvage) {
  const char* p = file.data();
  auto damage = [&](uint64_t offset, const std::string& what) {
    return util::CorruptFile(
        path, offset,
        absl::StrCat("storage: log ", path, " is corrupt at byte ", offset, ": ", what));
  };
  if (file.size() < kWalHeaderBytes || std::memcmp(p, kWalMagic, sizeof(kWalMagic)) != 0 ||
      LoadU64(p + 24) != util::Xxh3(p, 24)) {
    return damage(0, "bad or truncated log header");
  }
  const uint32_t version = LoadU32(p + 8);
  if (version < kWalOldestVersion || version > kWalVersion) {
    ErrorInfo info = util::Info(ErrorKind::kUnsupported, absl::StrCat("format version ", version));
    info.path = path;
    return util::Error(
        absl::StatusCode::kFailedPrecondition,
        absl::StrCat("storage: log ", path, " has format version ", version,
                     "; this library reads versions ", kWalOldestVersion, " to ", kWalVersion),
        info);
  }
  ParsedLog out;
  out.generation = LoadU64(p + 16);
  size_t pos = kWalHeaderBytes;
  const size_t n = file.size();
  while (pos < n) {
    const size_t left = n - pos;
    if (left < kRecordHeaderBytes || AllZero(p + pos, left)) {
      out.torn_tail = true;  // a header cut short, or a zero-filled tail
      break;
    }
    const uint32_t length = LoadU32(p + pos);
    std::string problem;
    if (LoadU32(p + pos + 4) != RecordHeaderCheck(length)) {
      problem = "record header checksum mismatch";
    } else if (length == 0 || length > max_record_bytes) {
      problem = absl::StrCat("record length ", length, " is out of range");
    } else if (length > left - kRecordHeaderBytes) {
      out.torn_tail = true;  // a record cut short by the end of the file
      break;
    } else {
      const char* payload = p + pos + kRecordHeaderBytes;
      if (LoadU64(p + pos + 8) != util::Xxh3(payload, length)) {
        if (pos + kRecordHeaderBytes + length == n) {
          out.torn_tail = true;  // the last record, partly written
          break;
        }
        problem = "record checksum mismatch";
      } else {
        out.records.push_back({pos, std::span<const char>(payload, length)});
        pos += kRecordHeaderBytes + length;
        continue;
      }
    }
    if (!salvage) {
      return damage(pos, absl::StrCat(problem, " (", out.records.size(),
                                      " good records before it; open with salvage_log to "
                                      "keep them and drop the rest)"));
    }
    out.salvage_message =
        absl::StrCat("storage: log ", path, " is corrupt at byte ", pos, ": ", problem, "; kept ",
                     out.records.size(), " records, dropped ", n - pos, " bytes");
    break;
  }
  out.valid_bytes = pos;
  return out;
}

WalWriter::WalWriter(std::unique_ptr<WritableFile> file, std::string path, uint64_t size,
                     SyncPolicy policy, uint32_t group_commit_interval_ms)
    : file_(std::move(file)),
      path_(std::move(path)),
      policy_(policy),
      interval_ms_(group_commit_interval_ms),
      written_(size),
      synced_(size) {
  if (policy_ == SyncPolicy::kGroupCommit) syncer_ = std::thread([this] { SyncLoop(); });
}

WalWriter::~WalWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  (void)file_->Close();
}

absl::Status WalWriter::Failed(const absl::Status& s) const {
  // WithMessage keeps the status's payloads (its ErrorInfo: io, the path).
  return util::WithMessage(
      s, absl::StrCat(s.message(), " (log ", path_, " is now read-only; reopen the index)"));
}

void WalWriter::Fail(const absl::Status& s) {
  if (error_.ok()) error_ = s;
  cv_.notify_all();
}

absl::StatusOr<uint64_t> WalWriter::Append(std::string_view payload) {
  std::string record;
  record.reserve(kRecordHeaderBytes + payload.size());
  const uint32_t length = static_cast<uint32_t>(payload.size());
  PutU32(&record, length);
  PutU32(&record, RecordHeaderCheck(length));
  PutU64(&record, util::Xxh3(payload));
  record.append(payload);

  std::unique_lock<std::mutex> lock(mu_);
  if (!error_.ok()) return error_;
  const uint64_t before = written_;
  // File writes happen under mu_ so the syncer never sees a half-counted
  // record; the index serialises writers anyway, so this costs no overlap.
  absl::Status s = file_->Append(record);
  if (s.ok() && policy_ == SyncPolicy::kEveryWrite) s = file_->Sync();
  // Before acknowledging: the log must still be the file its path names
  // (a host that removed the directory or replaced the log would otherwise
  // see acknowledged writes vanish). Under kGroupCommit the sync loop
  // checks before it releases the waiters.
  if (s.ok() && policy_ != SyncPolicy::kGroupCommit) s = file_->CheckLinked();
  if (!s.ok()) {
    // Cut the unacknowledged record off so a later reopen without a crash
    // does not resurrect it; if even that fails, the writer stays failed and
    // the record is at worst a torn or unacknowledged tail.
    (void)file_->Truncate(before);
    Fail(Failed(s));
    return error_;
  }
  written_ = before + record.size();
  if (policy_ == SyncPolicy::kEveryWrite) synced_ = written_;
  return written_;
}

absl::Status WalWriter::WaitDurable(uint64_t ticket) {
  if (policy_ != SyncPolicy::kGroupCommit) return absl::OkStatus();
  std::unique_lock<std::mutex> lock(mu_);
  ++waiters_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return synced_ >= ticket || !error_.ok() || stop_; });
  --waiters_;
  if (synced_ >= ticket) return absl::OkStatus();
  if (!error_.ok()) return error_;
  return util::Error(
      absl::StatusCode::kFailedPrecondition, ErrorKind::kPrecondition, path_,
      absl::StrCat("storage: log ", path_, " was closed before the change was synced"));
}

absl::Status WalWriter::SyncNow() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!error_.ok()) return error_;
  if (synced_ == written_) return absl::OkStatus();
  const uint64_t target = written_;
  absl::Status s = file_->Sync();
  if (s.ok()) s = file_->CheckLinked();
  if (!s.ok()) {
    Fail(Failed(s));
    // Under group commit nothing past synced_ was acknowledged (as in
    // SyncLoop); under kNone everything written was, so it stays.
    // The cut is synced too (see SyncLoop).
    if (policy_ == SyncPolicy::kGroupCommit && file_->Truncate(synced_).ok()) {
      (void)file_->Sync();
    }
    return error_;
  }
  synced_ = target;
  cv_.notify_all();
  return absl::OkStatus();
}

void WalWriter::SyncLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // Every group-commit mutation waits for its sync, so syncing only when
    // someone waits loses nothing; whatever was appended while the previous
    // fsync ran forms the next group.
    cv_.wait(lock, [&] { return stop_ || (waiters_ > 0 && written_ > synced_); });
    if (stop_ || !error_.ok()) break;
    const uint64_t target = written_;
    // Sync outside the lock so writers keep appending into the next group.
    lock.unlock();
    absl::Status s = file_->Sync();
    if (s.ok()) s = file_->CheckLinked();
    lock.lock();
    if (!s.ok()) {
      Fail(Failed(s));
      // What the failed sync covered was not acknowledged (the index goes
      // back to its last acknowledged state, durability.cc): cut it off, so
      // that a reopen without a crash does not bring it back either (best
      // effort: after a failed fsync the file's state is the kernel's).
      // The last good fsync may have made bytes past synced_ durable too
      // (records appended while it ran), so the cut is synced as well, or a
      // power loss would bring those unacknowledged records back.
      if (file_->Truncate(synced_).ok()) (void)file_->Sync();
      break;
    }
    synced_ = std::max(synced_, target);
    cv_.notify_all();
    // At most one sync per interval: a longer pause gathers bigger groups.
    if (interval_ms_ > 0) {
      cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stop_; });
    }
  }
  cv_.notify_all();
}

absl::Status WalWriter::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

uint64_t WalWriter::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

uint64_t WalWriter::synced() const {
  std::lock_guard<std::mutex> lock(mu_);
  return synced_;
}

}  // namespace tagindex::storage
