#include "storage/snapshot_file.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "storage/coding.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex::storage {
namespace {

constexpr size_t kFlushBytes = size_t{1} << 20;

absl::Status Corrupt(const std::string& path, uint64_t offset, std::string_view what) {
  return util::CorruptFile(path, offset,
                           absl::StrCat("storage: snapshot ", path, " is corrupt at byte ", offset,
                                        ": ", std::string(what)));
}

}  // namespace

SnapshotWriter::SnapshotWriter(WritableFile* file, uint64_t generation)
    : file_(file), generation_(generation) {}

absl::Status SnapshotWriter::Write(std::string_view data) {
  bytes_ += data.size();
  if (data.size() >= kFlushBytes) {
    TI_RETURN_IF_ERROR(Flush());
    return file_->Append(data);
  }
  buffer_.append(data);
  if (buffer_.size() >= kFlushBytes) return Flush();
  return absl::OkStatus();
}

absl::Status SnapshotWriter::Flush() {
  if (buffer_.empty()) return absl::OkStatus();
  absl::Status s = file_->Append(buffer_);
  buffer_.clear();
  return s;
}

absl::Status SnapshotWriter::Begin() {
  std::string header(kSnapshotMagic, sizeof(kSnapshotMagic));
  PutU32(&header, kSnapshotVersion);
  PutU32(&header, 0);  // header flags
  PutU64(&header, generation_);
  PutU64(&header, util::Xxh3(header));
  return Write(header);
}

absl::Status SnapshotWriter::AddSection(SectionKind kind, uint32_t flags,
                                        std::span<const std::string_view> parts) {
  uint64_t length = 0;
  for (std::string_view p : parts) length += p.size();
  std::string header;
  PutU32(&header, static_cast<uint32_t>(kind));
  PutU32(&header, flags);
  PutU64(&header, length);
  hash_.Reset();
  hash_.Update(header);
  TI_RETURN_IF_ERROR(Write(header));
  for (std::string_view p : parts) {
    hash_.Update(p);
    TI_RETURN_IF_ERROR(Write(p));
  }
  std::string trailer;
  PutU64(&trailer, hash_.Digest());
  if (kind != SectionKind::kEnd) ++sections_;
  return Write(trailer);
}

absl::Status SnapshotWriter::Finish() {
  std::string payload;
  PutU64(&payload, sections_);
  TI_RETURN_IF_ERROR(AddSection(SectionKind::kEnd, kSectionRequired, {payload}));
  return Flush();
}

absl::StatusOr<ParsedSnapshot> ParseSnapshot(std::span<const char> file, const std::string& path) {
  if (file.size() < kSnapshotHeaderBytes) {
    return Corrupt(
        path, 0,
        absl::StrCat("file of ", file.size(), " bytes is shorter than the 32-byte header"));
  }
  const char* p = file.data();
  if (std::memcmp(p, kSnapshotMagic, sizeof(kSnapshotMagic)) != 0) {
    return Corrupt(path, 0, "bad magic (not a tagindex snapshot)");
  }
  if (LoadU64(p + 24) != util::Xxh3(p, 24)) return Corrupt(path, 24, "header checksum mismatch");
  const uint32_t version = LoadU32(p + 8);
  if (version != kSnapshotVersion) {
    ErrorInfo info = util::Info(ErrorKind::kUnsupported, absl::StrCat("format version ", version));
    info.path = path;
    return util::Error(absl::StatusCode::kFailedPrecondition,
                       absl::StrCat("storage: snapshot ", path, " has format version ", version,
                                    "; this library reads version ", kSnapshotVersion,
                                    version < kSnapshotVersion
                                        ? " (version 1 was a pre-release layout: rebuild the index)"
                                        : " (upgrade tagindex)"),
                       info);
  }
  if (LoadU32(p + 12) != 0) return Corrupt(path, 12, "reserved header flags are not zero");
  ParsedSnapshot out;
  out.generation = LoadU64(p + 16);
  size_t pos = kSnapshotHeaderBytes;
  while (true) {
    if (file.size() - pos < kSectionHeaderBytes + kSectionTrailerBytes) {
      return Corrupt(path, pos, "truncated: section header or end section missing");
    }
    Section s;
    s.offset = pos;
    s.kind = LoadU32(p + pos);
    s.flags = LoadU32(p + pos + 4);
    const uint64_t length = LoadU64(p + pos + 8);
    const size_t room = file.size() - pos - kSectionHeaderBytes - kSectionTrailerBytes;
    if (length > room) {
      return Corrupt(path, pos, absl::StrCat("section of ", length, " bytes runs past the end"));
    }
    const size_t end = pos + kSectionHeaderBytes + static_cast<size_t>(length);
    if (LoadU64(p + end) != util::Xxh3(p + pos, end - pos)) {
      return Corrupt(path, pos, absl::StrCat("checksum mismatch in section of kind ", s.kind));
    }
    s.payload = file.subspan(pos + kSectionHeaderBytes, static_cast<size_t>(length));
    pos = end + kSectionTrailerBytes;
    if (s.kind == static_cast<uint32_t>(SectionKind::kEnd)) {
      if (length != 8 || LoadU64(s.payload.data()) != out.sections.size()) {
        return Corrupt(path, s.offset, "end section does not match the sections read");
      }
      if (pos != file.size()) {
        return Corrupt(path, pos,
                       absl::StrCat(file.size() - pos, " trailing bytes after the end section"));
      }
      return out;
    }
    out.sections.push_back(s);
  }
}

}  // namespace tagindex::storage
