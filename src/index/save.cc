// Index::SaveTo, SerializeSnapshot and FromSnapshot: the snapshot format
// (docs/file_format.md) as the one format of a whole index, for saving an
// in-memory index to a directory and for pickling.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "index/index_state.h"
#include "index/storage_internal.h"
#include "storage/snapshot_file.h"
#include "tagindex/index.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

// A WritableFile that appends to a string.
class StringFile : public WritableFile {
 public:
  explicit StringFile(std::string* out) : out_(out) {}
  absl::Status Append(std::string_view data) override {
    out_->append(data);
    return absl::OkStatus();
  }
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::Status Truncate(uint64_t size) override {
    out_->resize(size);
    return absl::OkStatus();
  }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  std::string* out_;
};

// Bytes the caller owns, for the length of one load (the loader copies what
// the index keeps).
class BorrowedRegion : public ReadableRegion {
 public:
  explicit BorrowedRegion(std::span<const char> bytes) : bytes_(bytes) {}
  std::span<const char> data() const override { return bytes_; }

 private:
  std::span<const char> bytes_;
};

}  // namespace

absl::StatusOr<std::string> Index::SerializeSnapshot() const {
  return internal::Guarded([&]() -> absl::StatusOr<std::string> {
    TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
    // From a pinned version: writers go on meanwhile.
    const std::shared_ptr<const internal::Version> v = state_->Pin();
    std::string out;
    StringFile file(&out);
    uint64_t bytes = 0;
    TI_RETURN_IF_ERROR(internal::WriteSnapshot(*v, &file, 0, &bytes));
    return out;
  });
}

absl::StatusOr<std::unique_ptr<Index>> Index::FromSnapshot(std::span<const char> bytes,
                                                           const OpenOptions& options) {
  const std::string name = "(snapshot bytes)";
  TI_ASSIGN_OR_RETURN(storage::ParsedSnapshot parsed, storage::ParseSnapshot(bytes, name));
  auto region = std::make_shared<BorrowedRegion>(bytes);
  TI_ASSIGN_OR_RETURN(std::unique_ptr<internal::IndexState> state,
                      internal::LoadSnapshot(parsed, region, name, options));
  return std::unique_ptr<Index>(new Index(std::move(state)));
}

absl::Status Index::SaveTo(const std::string& dir, const OpenOptions& options) const {
  if (const size_t nul = dir.find('\0'); nul != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("storage: SaveTo path \"", absl::CEscape(dir),
                                                   "\" contains a NUL byte at position ", nul));
  }
  if (dir.empty()) return absl::InvalidArgumentError("storage: SaveTo path is empty");
  std::shared_ptr<FileSystem> fs =
      options.file_system != nullptr ? options.file_system : FileSystem::Default();
  TI_RETURN_IF_ERROR(fs->CreateDir(dir));
  // The lock keeps a writer from opening the directory while it fills.
  TI_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock, fs->LockFile(internal::Join(dir, "LOCK")));
  TI_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  for (const std::string& name : names) {
    uint64_t gen = 0;
    if (internal::ParseGen(name, "snapshot-", ".tix", &gen) ||
        internal::ParseGen(name, "wal-", ".log", &gen)) {
      return absl::AlreadyExistsError(absl::StrCat("storage: ", dir, " already holds an index (",
                                                   name, "); SaveTo writes a new one only"));
    }
  }
  std::unique_ptr<WritableFile> wal;
  uint64_t bytes = 0;
  bool renamed = false;
  absl::Status s = internal::Guarded([&]() -> absl::Status {
    TI_RETURN_IF_ERROR(internal::CheckOwner(*state_));
    // From a pinned version: writers go on meanwhile (an online backup).
    const std::shared_ptr<const internal::Version> v = state_->Pin();
    return internal::WriteGeneration(*v, *fs, dir, 0, &wal, &bytes, &renamed);
  });
  if (!s.ok() && !renamed) {
    (void)fs->Remove(internal::Join(dir, internal::SnapshotName(0) + ".tmp"));
    (void)fs->Remove(internal::Join(dir, internal::WalName(0)));
  }
  if (wal != nullptr) TI_RETURN_IF_ERROR(wal->Close());
  return s;
}

absl::Status Index::Backup(const std::string& dir, const OpenOptions& options) const {
  return SaveTo(dir, options);
}

}  // namespace tagindex
