// Helpers shared by the storage fuzzers.
#ifndef TAGINDEX_TESTS_FUZZ_FUZZ_UTIL_H_
#define TAGINDEX_TESTS_FUZZ_FUZZ_UTIL_H_

#include <string>

#include "storage/coding.h"
#include "storage/snapshot_file.h"
#include "storage/wal.h"
#include "util/hash.h"

namespace tagindex::fuzz {

// Rewrites the checksums of a snapshot-shaped input wherever its lengths fit,
// so that the fuzzer reaches the section decoders behind the checksums.
inline void FixSnapshotChecksums(std::string& d) {
  if (d.size() < storage::kSnapshotHeaderBytes) return;
  auto put64 = [&](size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) d[at + i] = static_cast<char>(v >> (8 * i));
  };
  put64(24, util::Xxh3(d.data(), 24));
  size_t pos = storage::kSnapshotHeaderBytes;
  while (d.size() - pos >= 24) {
    const uint64_t length = storage::LoadU64(d.data() + pos + 8);
    if (length > d.size() - pos - 24) return;
    const size_t end = pos + 16 + static_cast<size_t>(length);
    put64(end, util::Xxh3(d.data() + pos, end - pos));
    pos = end + 8;
  }
}

// The same for a log: header checksum, record header checks and checksums.
inline void FixLogChecksums(std::string& d) {
  if (d.size() < storage::kWalHeaderBytes) return;
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) d[at + i] = static_cast<char>(v >> (8 * i));
  };
  auto put64 = [&](size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) d[at + i] = static_cast<char>(v >> (8 * i));
  };
  put64(24, util::Xxh3(d.data(), 24));
  size_t pos = storage::kWalHeaderBytes;
  while (d.size() - pos >= storage::kRecordHeaderBytes) {
    const uint32_t length = storage::LoadU32(d.data() + pos);
    if (length > d.size() - pos - storage::kRecordHeaderBytes) return;
    put32(pos + 4, storage::RecordHeaderCheck(length));
    put64(pos + 8, util::Xxh3(d.data() + pos + 16, length));
    pos += storage::kRecordHeaderBytes + length;
  }
}

}  // namespace tagindex::fuzz

#endif  // TAGINDEX_TESTS_FUZZ_FUZZ_UTIL_H_
