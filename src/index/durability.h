// Durability: what a persistent Index keeps beside its IndexState (the
// directory, lock, current log) and the hooks the mutation paths call to
// log a change before they apply it. Not part of the public API.
#ifndef TAGINDEX_INDEX_DURABILITY_H_
#define TAGINDEX_INDEX_DURABILITY_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "storage/wal.h"
#include "tagindex/file_system.h"
#include "tagindex/storage.h"
#include "tagindex/types.h"

namespace tagindex::internal {

struct IndexState;

struct Durability {
  ~Durability();

  std::shared_ptr<FileSystem> fs;
  std::string dir;
  OpenOptions options;
  std::unique_ptr<FileLock> lock;  // null when read-only
  uint64_t generation = 0;
  // The current log; null when read-only. Replaced by Checkpoint while it
  // holds the index lock shared (so no writer is appending).
  std::shared_ptr<storage::WalWriter> wal;
  // True while Open replays the log: mutations are applied, not logged.
  bool replaying = false;
  // Set when a checkpoint failed half-way; every later write returns it.
  absl::Status failed;
  // Serialises Checkpoint calls (they hold the index lock only shared).
  std::mutex checkpoint_mu;
  RecoveryReport report;
};

// What a mutation waits on (outside the index lock) before it returns.
struct LogTicket {
  std::shared_ptr<storage::WalWriter> wal;
  uint64_t offset = 0;
};

// Frozen WAL record types (first payload byte). Never change or reuse a
// value; add new types at new values.
enum class RecordType : uint8_t {
  kAddCustomers = 1,       // keys
  kRemoveRows = 2,         // rows (RemoveCustomer logs the row it resolved)
  kCreateCategory = 3,     // name, description, exclusive
  kCreateTag = 4,          // id, name, category, description, kind
  kRenameTag = 5,          // id, new name
  kSetTagDescription = 6,  // id, description
  kDeleteTag = 7,          // id
  kTagKeys = 8,            // id, keys
  kUntagKeys = 9,          // id, keys
  kTagRows = 10,           // id, rows
  kUntagRows = 11,         // id, rows
  kImportTag = 12,         // name, category, description, kind, portable Roaring
};

// Key lists: a kind byte (never change: 0 = int64, 1 = string), a count,
// then the keys.
std::string EncodeKeysRecord(RecordType type, TagId tag, std::span<const int64_t> keys);
std::string EncodeKeysRecord(RecordType type, TagId tag, std::span<const std::string_view> keys);
std::string EncodeRowsRecord(RecordType type, TagId tag, std::span<const RowId> rows);
std::string EncodeCreateCategory(std::string_view name, std::string_view description,
                                 bool exclusive);
std::string EncodeCreateTag(TagId id, std::string_view name, std::string_view category,
                            std::string_view description, TagKind kind);
std::string EncodeTagText(RecordType type, TagId id, std::string_view text);
std::string EncodeImportTag(std::string_view name, std::string_view category,
                            std::string_view description, TagKind kind, std::string_view portable);

// Called with the index lock held exclusively, after the mutation has been
// validated and before it is applied: appends `payload` to the log (a no-op
// for an in-memory index or during replay). Errors: FailedPrecondition for a
// read-only or failed index; the file system's error if the write fails (the
// mutation must then not be applied).
absl::Status LogMutation(IndexState& s, const std::string& payload, LogTicket* ticket);
// Called after the lock is released: waits until the change is durable
// (group commit) and returns the sync error if it is not.
absl::Status AwaitDurable(const LogTicket& ticket);

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_DURABILITY_H_
