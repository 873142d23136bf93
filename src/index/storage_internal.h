// What the persistence files of src/index share (not part of the public
// API). Where things are:
//   open.cc              Index::Open: snapshot load, log replay (recovery)
//   checkpoint.cc        Index::Checkpoint and writing a generation
//   generation_files.cc  file names of a generation, removal of stale ones
//   snapshot_sections.cc the snapshot's sections: one table of codecs
//   durability.cc        appending a commit to the log, waiting for sync
//   mutation_codec.cc    the log record format (one codec per mutation kind)
#ifndef TAGINDEX_INDEX_STORAGE_INTERNAL_H_
#define TAGINDEX_INDEX_STORAGE_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "index/frozen_keys.h"
#include "storage/snapshot_file.h"
#include "tagindex/file_system.h"
#include "tagindex/storage.h"

namespace tagindex::internal {

struct IndexState;
struct Version;

// ---- generation_files.cc ----
// "snapshot-<20 digits>.tix" and "wal-<20 digits>.log".
std::string SnapshotName(uint64_t gen);
std::string WalName(uint64_t gen);
std::string Join(const std::string& dir, const std::string& name);
// Parses "<prefix><20 digits><suffix>".
bool ParseGen(const std::string& name, std::string_view prefix, std::string_view suffix,
              uint64_t* gen);
// Removes files of other generations and temporaries (best effort).
void RemoveStale(FileSystem& fs, const std::string& dir, uint64_t keep);

// ---- snapshot_sections.cc ----
// Writes every section of `s` as snapshot generation `gen`.
absl::Status WriteSnapshot(const Version& s, WritableFile* file, uint64_t gen, uint64_t* bytes);
// Builds an index state from a parsed (checksummed) snapshot, validating
// every section; keys stay in `region`. Errors: DataLoss naming `path` and
// the byte; FailedPrecondition for an unknown required section.
absl::StatusOr<std::unique_ptr<IndexState>> LoadSnapshot(
    const storage::ParsedSnapshot& parsed, std::shared_ptr<const ReadableRegion> region,
    const std::string& path, const OpenOptions& options);
// What FrozenKeys::Load needs to check key sections against `s`.
FrozenKeys::Input FrozenKeysInput(const Version& s, std::shared_ptr<const ReadableRegion> region,
                                  std::span<const char> key_list, std::span<const char> table);
// Maps the key sections of the snapshot at `path` just written from `s`
// (see Index::Checkpoint); nullopt if anything fails.
std::optional<FrozenKeys> MapSnapshotKeys(const Version& s, FileSystem& fs,
                                          const std::string& path);

// ---- checkpoint.cc ----
// Writes generation `gen` (snapshot under a temporary name, synced; a
// fresh log, synced; rename; directory sync). `renamed` says whether the
// commit point may have been passed.
absl::Status WriteGeneration(const Version& s, FileSystem& fs, const std::string& dir, uint64_t gen,
                             std::unique_ptr<WritableFile>* wal, uint64_t* snapshot_bytes,
                             bool* renamed);

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_STORAGE_INTERNAL_H_
