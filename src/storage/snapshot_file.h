// The snapshot container format (docs/file_format.md): a 32-byte header and
// a sequence of length-prefixed, XXH3-checksummed sections ending with an
// end section. This layer knows nothing of tags or keys; the index encodes
// the section payloads.
#ifndef TAGINDEX_STORAGE_SNAPSHOT_FILE_H_
#define TAGINDEX_STORAGE_SNAPSHOT_FILE_H_

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tagindex/file_system.h"
#include "util/hash.h"

namespace tagindex::storage {

inline constexpr char kSnapshotMagic[8] = {'T', 'A', 'G', 'I', 'N', 'D', 'E', 'X'};
// Version 2 (pre-release) changed the string key list to an offset table
// and added the key lookup table; version 1 files are refused.
inline constexpr uint32_t kSnapshotVersion = 2;
inline constexpr size_t kSnapshotHeaderBytes = 32;
inline constexpr size_t kSectionHeaderBytes = 16;
inline constexpr size_t kSectionTrailerBytes = 8;

// Section kinds. These values are written to disk: never change or reuse
// one; add new kinds at new values.
enum class SectionKind : uint32_t {
  kOptions = 1,            // index options, row limit, tag id counter
  kCategories = 2,         // category table
  kTags = 3,               // tag catalog (ids, names, categories, kinds)
  kCustomerKeys = 4,       // row id -> customer key table
  kUniverse = 5,           // live customers, portable Roaring
  kTagBitmap = 6,          // one tag's members: tag id + portable Roaring
  kAttributeSlice = 7,     // reserved: one bit slice of a numeric attribute
  kRuleDefinition = 8,     // one rule tag's rule and refresh state
  kSegmentDefinition = 9,  // reserved: a saved segment
  kKeyTable = 10,          // customer key -> row lookup table (int64/string keys)
  kAttribute = 11,         // one attribute column: metadata + its bit-sliced index
  kSavedSegment = 20,      // one saved segment (人群包): definition + static members
  // 21..29: reserved for saved segments and rule tags.
  kIntKeyRuns = 30,  // int64 keys as runs (first key, first row, length)
  // 31..34: reserved for int64 key encodings.
  kEnd = 0xFFFF,  // last section: section count
};

// Section flags (a bit set). Never change a bit's meaning.
inline constexpr uint32_t kSectionRequired = 1u << 0;  // unknown + required => refuse

// Streams a snapshot to a file, buffering writes.
class SnapshotWriter {
 public:
  SnapshotWriter(WritableFile* file, uint64_t generation);
  absl::Status Begin();
  // Writes one section whose payload is the concatenation of `parts`.
  absl::Status AddSection(SectionKind kind, uint32_t flags,
                          std::initializer_list<std::string_view> parts) {
    return AddSection(kind, flags, std::span<const std::string_view>(parts.begin(), parts.size()));
  }
  absl::Status AddSection(SectionKind kind, uint32_t flags,
                          std::span<const std::string_view> parts);
  // Writes the end section and flushes (does not sync).
  absl::Status Finish();
  uint64_t bytes_written() const { return bytes_; }

 private:
  absl::Status Write(std::string_view data);
  absl::Status Flush();
  WritableFile* file_;
  uint64_t generation_;
  uint64_t bytes_ = 0;
  uint64_t sections_ = 0;
  std::string buffer_;
  util::Xxh3Stream hash_;
};

struct Section {
  uint32_t kind = 0;
  uint32_t flags = 0;
  uint64_t offset = 0;  // of the section header in the file
  std::span<const char> payload;
};

struct ParsedSnapshot {
  uint64_t generation = 0;
  std::vector<Section> sections;  // without the end section
};

// Checks the header, every section's bounds and checksum and the end
// section. `path` is only used in messages. Errors: DataLoss naming the file
// and byte offset; FailedPrecondition for a newer format version.
absl::StatusOr<ParsedSnapshot> ParseSnapshot(std::span<const char> file, const std::string& path);

}  // namespace tagindex::storage

#endif  // TAGINDEX_STORAGE_SNAPSHOT_FILE_H_
