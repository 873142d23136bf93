// The write-ahead log (docs/wal_format.md): a 32-byte header and a sequence
// of records, each [u32 length][u32 header check][u64 XXH3 of payload]
// [payload]. This layer frames opaque payloads; the index encodes them (the
// first payload byte is the record type, see index/wal_records.h).
#ifndef TAGINDEX_STORAGE_WAL_H_
#define TAGINDEX_STORAGE_WAL_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tagindex/file_system.h"
#include "tagindex/storage.h"

namespace tagindex::storage {

inline constexpr char kWalMagic[8] = {'T', 'A', 'G', 'I', 'X', 'L', 'O', 'G'};
// The version new logs are written with; logs of versions
// kWalOldestVersion..kWalVersion are read (docs/wal_format.md says what
// changed).
inline constexpr uint32_t kWalVersion = 5;
inline constexpr uint32_t kWalOldestVersion = 1;
inline constexpr size_t kWalHeaderBytes = 32;
inline constexpr size_t kRecordHeaderBytes = 16;

// The 32-bit check stored after a record's length (binds the length to a
// constant; see docs/wal_format.md).
uint32_t RecordHeaderCheck(uint32_t length);

// The WAL file header (what a new log starts with).
std::string EncodeWalHeader(uint64_t generation);

struct LogRecord {
  uint64_t offset = 0;  // of the record header in the file
  std::span<const char> payload;
};

struct ParsedLog {
  uint64_t generation = 0;
  std::vector<LogRecord> records;
  // Bytes of the file that hold the header and the good records; everything
  // after is dropped.
  uint64_t valid_bytes = 0;
  bool torn_tail = false;       // an incomplete final record (crash mid-write)
  std::string salvage_message;  // set when salvage dropped corrupt records
};

// Reads a log. A record cut short by the end of the file, a zero-filled tail
// or a final record whose payload checksum fails is a torn tail: it is
// dropped and reported. Any other damage is DataLoss naming `path` and the
// byte offset, unless `salvage`, in which case everything from the damage on
// is dropped and described in salvage_message. Records larger than
// `max_record_bytes` are damage.
absl::StatusOr<ParsedLog> ParseLog(std::span<const char> file, const std::string& path,
                                   uint64_t max_record_bytes, bool salvage);

// Appends framed records to an open log file and syncs them per policy.
// Thread-compatible for Append (the index serialises writers); WaitDurable
// may be called from any thread.
class WalWriter {
 public:
  // `size` is the file's current length (the end of its valid part).
  WalWriter(std::unique_ptr<WritableFile> file, std::string path, uint64_t size, SyncPolicy policy,
            uint32_t group_commit_interval_ms);
  ~WalWriter();
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Writes one record; under kEveryWrite also syncs it. Returns the offset
  // just past the record (the ticket for WaitDurable). On failure the record
  // is cut off again where possible and the writer is failed: every later
  // call returns the first error.
  absl::StatusOr<uint64_t> Append(std::string_view payload);
  // Under kGroupCommit, blocks until the background sync has covered
  // `ticket`. Returns at once under the other policies.
  absl::Status WaitDurable(uint64_t ticket);
  // Syncs everything written so far (used before a checkpoint and on close).
  absl::Status SyncNow();
  // The first error, or OK.
  absl::Status status() const;
  uint64_t size() const;
  // The length of the log known durable (under kGroupCommit, what the last
  // successful sync covered; the whole log under kEveryWrite).
  uint64_t synced() const;
  SyncPolicy policy() const { return policy_; }
  const std::string& path() const { return path_; }

 private:
  void SyncLoop();
  void Fail(const absl::Status& s);
  // `s` with the note that the writer is failed for good.
  absl::Status Failed(const absl::Status& s) const;

  std::unique_ptr<WritableFile> file_;
  const std::string path_;
  const SyncPolicy policy_;
  const uint32_t interval_ms_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t written_ = 0;
  uint64_t synced_ = 0;
  int waiters_ = 0;
  bool stop_ = false;
  absl::Status error_;
  std::thread syncer_;
};

}  // namespace tagindex::storage

#endif  // TAGINDEX_STORAGE_WAL_H_
