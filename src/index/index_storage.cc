// Persistence of an Index: snapshot encoding and loading, log records and
// replay, Open and Checkpoint. Formats: docs/file_format.md, docs/wal_format.md.
#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bitmap/bitmap.h"
#include "index/durability.h"
#include "index/index_state.h"
#include "index/mutation.h"
#include "index/names.h"
#include "storage/coding.h"
#include "storage/snapshot_file.h"
#include "storage/wal.h"
#include "tagindex/index.h"
#include "util/status_macros.h"

namespace tagindex {

static_assert(std::endian::native == std::endian::little,
              "the snapshot writes integer arrays in host order, which must be little-endian");

namespace internal {

using storage::Decoder;
using storage::PutBytes;
using storage::PutU32;
using storage::PutU64;
using storage::PutU8;

// ---- logging a commit -----------------------------------------------------------

absl::Status LogMutation(IndexState& s, const std::string& payload, LogTicket* ticket) {
  Durability* d = s.durability.get();
  if (d == nullptr) return absl::OkStatus();  // in memory
  if (d->options.read_only || d->wal == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("storage: index ", d->dir, " is open read-only"));
  }
  if (!d->failed.ok()) return d->failed;
  if (payload.size() > std::min<uint64_t>(d->options.max_log_record_bytes, UINT32_MAX)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "storage: change of ", payload.size(), " bytes exceeds OpenOptions::max_log_record_bytes (",
        d->options.max_log_record_bytes, "); split the batch"));
  }
  TI_ASSIGN_OR_RETURN(uint64_t end, d->wal->Append(payload));
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

namespace {

// ---- file names -------------------------------------------------------------------

std::string GenName(const char* prefix, uint64_t gen, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s%020" PRIu64 "%s", prefix, gen, suffix);
  return buf;
}
std::string SnapshotName(uint64_t gen) { return GenName("snapshot-", gen, ".tix"); }
std::string WalName(uint64_t gen) { return GenName("wal-", gen, ".log"); }
std::string Join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

// Parses "<prefix><20 digits><suffix>".
bool ParseGen(const std::string& name, std::string_view prefix, std::string_view suffix,
              uint64_t* gen) {
  if (name.size() != prefix.size() + 20 + suffix.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  if (name.compare(prefix.size() + 20, suffix.size(), suffix) != 0) return false;
  uint64_t v = 0;
  for (size_t i = prefix.size(); i < prefix.size() + 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(name[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *gen = v;
  return true;
}

// ---- snapshot encoding -------------------------------------------------------------

absl::Status WriteSnapshot(const IndexState& s, WritableFile* file, uint64_t gen, uint64_t* bytes) {
  using storage::SectionKind;
  storage::SnapshotWriter w(file, gen);
  TI_RETURN_IF_ERROR(w.Begin());
  const IndexOptions& o = s.options;
  std::string buf;
  PutU8(&buf, static_cast<uint8_t>(o.key_kind));
  PutU8(&buf, o.create_missing_customers ? 1 : 0);
  PutU64(&buf, o.max_name_bytes);
  PutU64(&buf, o.max_name_code_points);
  PutU64(&buf, o.max_description_bytes);
  PutU64(&buf, o.max_string_key_bytes);
  PutU32(&buf, o.max_tags);
  PutU64(&buf, s.row_limit);
  PutU32(&buf, s.catalog.next_tag_id());
  TI_RETURN_IF_ERROR(w.AddSection(SectionKind::kOptions, storage::kSectionRequired, {buf}));

  buf.clear();
  PutU32(&buf, static_cast<uint32_t>(s.catalog.categories().size()));
  for (const auto& [name, c] : s.catalog.categories()) {
    PutBytes(&buf, c.name);
    PutBytes(&buf, c.description);
    PutU8(&buf, c.exclusive ? 1 : 0);
  }
  TI_RETURN_IF_ERROR(w.AddSection(SectionKind::kCategories, storage::kSectionRequired, {buf}));

  buf.clear();
  PutU32(&buf, s.catalog.live_tag_count());
  s.catalog.ForEachTag([&](const TagEntry& t) {
    PutU32(&buf, t.id.value);
    PutBytes(&buf, t.name);
    PutBytes(&buf, t.category);
    PutBytes(&buf, t.description);
    PutU8(&buf, static_cast<uint8_t>(t.kind));
  });
  TI_RETURN_IF_ERROR(w.AddSection(SectionKind::kTags, storage::kSectionRequired, {buf}));

  // Key list (kind 4) and, for int64/string keys, the lookup table
  // (kind 10): written from the base mapping and memory without assembling
  // them in one buffer.
  if (s.row_limit != s.keys.rows() && o.key_kind != KeyKind::kIdentity) {
    return absl::InternalError("index: key table size mismatch");
  }
  {
    std::string scratch;
    const std::vector<std::string_view> parts = s.keys.KeyListParts(&scratch);
    TI_RETURN_IF_ERROR(w.AddSection(SectionKind::kCustomerKeys, storage::kSectionRequired, parts));
  }
  if (o.key_kind != KeyKind::kIdentity) {
    std::vector<uint64_t> scratch;
    std::vector<std::string_view> parts = s.keys.LookupEntryParts(s.universe, &scratch);
    uint64_t count = 0;
    for (std::string_view p : parts) count += p.size() / 8;
    buf.clear();
    PutU64(&buf, s.keys.table_seed());
    PutU64(&buf, count);
    parts.insert(parts.begin(), buf);
    TI_RETURN_IF_ERROR(w.AddSection(SectionKind::kKeyTable, storage::kSectionRequired, parts));
  }

  buf.clear();
  s.universe.PortableSerialize(&buf);
  TI_RETURN_IF_ERROR(w.AddSection(SectionKind::kUniverse, storage::kSectionRequired, {buf}));

  absl::Status status;
  std::string id;
  s.catalog.ForEachTag([&](const TagEntry& t) {
    if (!status.ok()) return;
    id.clear();
    PutU32(&id, t.id.value);
    buf.clear();
    t.bitmap.PortableSerialize(&buf);
    status = w.AddSection(SectionKind::kTagBitmap, storage::kSectionRequired, {id, buf});
  });
  TI_RETURN_IF_ERROR(status);

  // One section per attribute column (docs/file_format.md, kind 11).
  for (const internal::AttributeEntry* a : s.attributes.List()) {
    buf.clear();
    PutU32(&buf, a->id.value);
    PutU32(&buf, s.attributes.next_id());
    PutBytes(&buf, a->name);
    PutU8(&buf, static_cast<uint8_t>(a->type));
    PutU8(&buf, static_cast<uint8_t>(a->scale));
    PutBytes(&buf, a->description);
    a->column.Serialize(&buf);
    TI_RETURN_IF_ERROR(w.AddSection(SectionKind::kAttribute, storage::kSectionRequired, {buf}));
  }
  TI_RETURN_IF_ERROR(w.Finish());
  *bytes = w.bytes_written();
  return absl::OkStatus();
}

// ---- snapshot loading ------------------------------------------------------------------

// What FrozenKeys::Load needs to check a snapshot's key sections against
// the state `s` loaded (or written) with them.
static FrozenKeys::Input FrozenKeysInput(const IndexState& s,
                                         std::shared_ptr<const ReadableRegion> region,
                                         std::span<const char> key_list,
                                         std::span<const char> table) {
  FrozenKeys::Input in;
  in.kind = s.options.key_kind;
  in.region = std::move(region);
  in.key_list = key_list;
  in.table = table;
  in.universe = &s.universe;
  in.row_limit = s.row_limit;
  in.options = &s.options;
  return in;
}

class SnapshotLoader {
 public:
  SnapshotLoader(const std::string& path, const OpenOptions& options)
      : path_(path), options_(options) {}

  absl::Status Bad(const storage::Section& sec, size_t at, const std::string& what) const {
    return absl::DataLossError(absl::StrCat("storage: snapshot ", path_, " is corrupt at byte ",
                                            sec.offset + storage::kSectionHeaderBytes + at,
                                            " (section kind ", sec.kind, "): ", what));
  }

  absl::StatusOr<IndexOptions> ReadOptions(const storage::Section& sec, uint64_t* row_limit,
                                           uint32_t* next_tag) const {
    Decoder d(sec.payload);
    IndexOptions o;
    const uint8_t kind = d.U8();
    const uint8_t create = d.U8();
    o.max_name_bytes = d.U64();
    o.max_name_code_points = d.U64();
    o.max_description_bytes = d.U64();
    o.max_string_key_bytes = d.U64();
    o.max_tags = d.U32();
    *row_limit = d.U64();
    *next_tag = d.U32();
    if (!d.ok() || d.remaining() != 0) return Bad(sec, d.position(), "bad options section size");
    if (kind > static_cast<uint8_t>(KeyKind::kIdentity) || create > 1) {
      return Bad(sec, 0, "unknown key kind or flag");
    }
    o.key_kind = static_cast<KeyKind>(kind);
    o.create_missing_customers = create == 1;
    if (o.max_name_bytes == 0 || o.max_name_code_points == 0 || o.max_string_key_bytes == 0 ||
        o.max_tags == 0) {
      return Bad(sec, 2, "a limit is zero");
    }
    if (*row_limit > uint64_t{kMaxRowId} + 1) return Bad(sec, 42, "row limit out of range");
    if (*next_tag > options_.max_tag_id_on_load) {
      return Bad(
          sec, 50,
          absl::StrCat("tag id counter ", *next_tag, " exceeds OpenOptions::max_tag_id_on_load"));
    }
    return o;
  }

  absl::Status Load(const storage::ParsedSnapshot& parsed, IndexState& s) {
    using storage::SectionKind;
    constexpr uint32_t kTable = static_cast<uint32_t>(SectionKind::kKeyTable);
    const storage::Section* sections[kTable + 1] = {};
    std::vector<const storage::Section*> bitmaps;
    std::vector<const storage::Section*> attributes;
    for (const storage::Section& sec : parsed.sections) {
      if (sec.kind == static_cast<uint32_t>(SectionKind::kTagBitmap)) {
        bitmaps.push_back(&sec);
      } else if (sec.kind == static_cast<uint32_t>(SectionKind::kAttribute)) {
        attributes.push_back(&sec);
      } else if ((sec.kind >= 1 && sec.kind <= 5) || sec.kind == kTable) {
        if (sections[sec.kind] != nullptr) return Bad(sec, 0, "section appears twice");
        sections[sec.kind] = &sec;
      } else if (sec.flags & storage::kSectionRequired) {
        return absl::FailedPreconditionError(absl::StrCat(
            "storage: snapshot ", path_, " needs section kind ", sec.kind, " (at byte ", sec.offset,
            "), which this library version does not know; upgrade tagindex"));
      }  // else: an optional section of a later version, skipped
    }
    for (int k = 1; k <= 5; ++k) {
      if (sections[k] == nullptr) {
        return absl::DataLossError(
            absl::StrCat("storage: snapshot ", path_, " lacks required section kind ", k));
      }
    }
    // Options were read by the caller to construct `s`; here the rest.
    TI_RETURN_IF_ERROR(LoadCategories(*sections[2], s));
    TI_RETURN_IF_ERROR(LoadTags(*sections[3], s));
    TI_RETURN_IF_ERROR(LoadUniverse(*sections[5], s));
    const bool keyed = s.options.key_kind != KeyKind::kIdentity;
    if (keyed != (sections[kTable] != nullptr)) {
      return absl::DataLossError(absl::StrCat("storage: snapshot ", path_,
                                              keyed
                                                  ? " lacks its key lookup table (section kind 10)"
                                                  : " has a key lookup table but identity keys"));
    }
    TI_RETURN_IF_ERROR(LoadKeys(*sections[4], sections[kTable], s));
    TI_RETURN_IF_ERROR(LoadTagBitmaps(bitmaps, s));
    if (bitmaps.size() != s.catalog.live_tag_count()) {
      return absl::DataLossError(absl::StrCat("storage: snapshot ", path_, " holds ",
                                              bitmaps.size(), " tag bitmaps for ",
                                              s.catalog.live_tag_count(), " tags"));
    }
    for (const storage::Section* sec : attributes) TI_RETURN_IF_ERROR(LoadAttribute(*sec, s));
    return absl::OkStatus();
  }

 private:
  absl::Status LoadAttribute(const storage::Section& sec, IndexState& s) {
    Decoder d(sec.payload);
    const uint32_t id = d.U32();
    const uint32_t next = d.U32();
    const std::string name(d.Bytes(s.options.max_name_bytes));
    const uint8_t type = d.U8();
    const uint8_t scale = d.U8();
    const std::string description(d.Bytes(s.options.max_description_bytes));
    if (!d.ok()) return Bad(sec, d.position(), "truncated attribute section");
    if (type > static_cast<uint8_t>(AttributeType::kDate) ||
        (type == static_cast<uint8_t>(AttributeType::kDecimal) ? (scale < 1 || scale > 18)
                                                               : scale != 0)) {
      return Bad(sec, 8,
                 absl::StrCat("attribute ", internal::Quote(name), ": bad type ", type, " / scale ",
                              scale));
    }
    if (id >= next || s.attributes.Get(AttributeId{id}) != nullptr || next >= UINT32_MAX - 1) {
      return Bad(sec, 0,
                 absl::StrCat("attribute ", internal::Quote(name), ": id ", id, " out of order"));
    }
    if (name.empty() || s.attributes.Find(name) != nullptr ||
        s.catalog.FindCategory(name) != nullptr) {
      return Bad(sec, 8,
                 absl::StrCat("attribute name ", internal::Quote(name), " is empty or taken"));
    }
    absl::StatusOr<Bsi> column = Bsi::Deserialize(sec.payload.subspan(d.position()));
    if (!column.ok()) return Bad(sec, d.position(), std::string(column.status().message()));
    if (!column->existence().IsSubsetOf(s.universe)) {
      return Bad(sec, d.position(),
                 absl::StrCat("attribute ", internal::Quote(name),
                              " has values for rows that are not live"));
    }
    internal::AttributeEntry& e = s.attributes.AddWithId(
        AttributeId{id}, name, static_cast<AttributeType>(type), scale, description);
    e.column = *std::move(column);
    s.attributes.ReserveIds(next);
    return absl::OkStatus();
  }

  absl::Status LoadCategories(const storage::Section& sec, IndexState& s) {
    Decoder d(sec.payload);
    const uint32_t n = d.U32();
    if (!d.CanHold(n, 9)) return Bad(sec, 0, "category count exceeds the section");
    for (uint32_t i = 0; i < n; ++i) {
      const size_t at = d.position();
      std::string_view name = d.Bytes(s.options.max_name_bytes);
      std::string_view desc = d.Bytes(s.options.max_description_bytes);
      const uint8_t exclusive = d.U8();
      if (!d.ok() || exclusive > 1) return Bad(sec, at, "bad category entry");
      if (name.empty() || s.catalog.FindCategory(name) != nullptr) {
        return Bad(sec, at, "empty or repeated category name");
      }
      s.catalog.AddCategory(std::string(name), std::string(desc), exclusive == 1);
    }
    if (d.remaining() != 0) return Bad(sec, d.position(), "trailing bytes");
    return absl::OkStatus();
  }

  absl::Status LoadTags(const storage::Section& sec, IndexState& s) {
    Decoder d(sec.payload);
    const uint32_t n = d.U32();
    if (!d.CanHold(n, 17)) return Bad(sec, 0, "tag count exceeds the section");
    for (uint32_t i = 0; i < n; ++i) {
      const size_t at = d.position();
      const uint32_t id = d.U32();
      std::string_view name = d.Bytes(s.options.max_name_bytes);
      std::string_view category = d.Bytes(s.options.max_name_bytes);
      std::string_view desc = d.Bytes(s.options.max_description_bytes);
      const uint8_t kind = d.U8();
      if (!d.ok() || kind > static_cast<uint8_t>(TagKind::kRule)) {
        return Bad(sec, at, "bad tag entry");
      }
      if (id >= next_tag_ || s.catalog.Get(TagId{id}) != nullptr) {
        return Bad(sec, at, absl::StrCat("tag id ", id, " is repeated or beyond the counter"));
      }
      if (name.empty() || s.catalog.Find(category, name) != nullptr) {
        return Bad(sec, at, "empty or repeated tag name");
      }
      if (!category.empty() && s.catalog.FindCategory(category) == nullptr) {
        return Bad(sec, at, "tag of an unknown category");
      }
      s.catalog.AddTagWithId(TagId{id}, std::string(name), std::string(category), std::string(desc),
                             static_cast<TagKind>(kind));
    }
    if (d.remaining() != 0) return Bad(sec, d.position(), "trailing bytes");
    if (s.catalog.live_tag_count() > s.options.max_tags) {
      return Bad(sec, 0, "more tags than the index's max_tags");
    }
    return absl::OkStatus();
  }

  absl::Status LoadUniverse(const storage::Section& sec, IndexState& s) {
    absl::StatusOr<Bitmap> b = Bitmap::PortableDeserialize(sec.payload);
    if (!b.ok()) return Bad(sec, 0, std::string(b.status().message()));
    if (!b->IsEmpty() && uint64_t{b->Maximum()} >= s.row_limit) {
      return Bad(sec, 0, "a live customer is beyond the row limit");
    }
    s.universe = std::move(b).value();
    universe_size_ = s.universe.Cardinality();
    universe_is_prefix_ =
        universe_size_ == 0 || uint64_t{s.universe.Maximum()} + 1 == universe_size_;
    return absl::OkStatus();
  }

  // The key list and lookup table stay in the mapped file (FrozenKeys),
  // checked in place: nothing is copied or rebuilt but a small directory.
  absl::Status LoadKeys(const storage::Section& sec, const storage::Section* table, IndexState& s) {
    if (s.options.key_kind == KeyKind::kIdentity) {
      Decoder d(sec.payload);
      const uint8_t kind = d.U8();
      const uint64_t n = d.U64();
      if (!d.ok() || kind != static_cast<uint8_t>(KeyKind::kIdentity)) {
        return Bad(sec, 0, "key list of the wrong key kind");
      }
      if (n != 0 || d.remaining() != 0) return Bad(sec, 1, "identity index with a key list");
      return absl::OkStatus();
    }
    const FrozenKeys::Input in = FrozenKeysInput(s, region_, sec.payload, table->payload);
    FrozenKeys frozen;
    FrozenKeysError error;
    if (!FrozenKeys::Load(in, &frozen, &error)) {
      return Bad(error.in_table ? *table : sec, error.at, error.what);
    }
    s.keys.SetBase(std::move(frozen));
    return absl::OkStatus();
  }

  // Tag bitmaps are most of a snapshot: they are validated and decoded on
  // up to four threads (each blob is independent), the rest is sequential.
  absl::Status LoadTagBitmaps(const std::vector<const storage::Section*>& sections, IndexState& s) {
    std::vector<TagEntry*> targets(sections.size());
    uint64_t total_bytes = 0;
    for (size_t i = 0; i < sections.size(); ++i) {
      const storage::Section& sec = *sections[i];
      if (sec.payload.size() < 4) return Bad(sec, 0, "tag bitmap section too short");
      const uint32_t id = storage::LoadU32(sec.payload.data());
      TagEntry* tag = s.catalog.Get(TagId{id});
      if (tag == nullptr) return Bad(sec, 0, absl::StrCat("bitmap of unknown tag id ", id));
      if (seen_.size() <= id) seen_.resize(size_t{id} + 1);
      if (seen_[id]) return Bad(sec, 0, absl::StrCat("second bitmap of tag id ", id));
      seen_[id] = true;
      targets[i] = tag;
      total_bytes += sec.payload.size();
    }
    std::vector<absl::Status> results(sections.size());
    auto work = [&](size_t first, size_t step) {
      for (size_t i = first; i < sections.size(); i += step) {
        try {
          results[i] = DecodeTagBitmap(*sections[i], s, *targets[i]);
        } catch (const std::bad_alloc&) {
          results[i] = absl::ResourceExhaustedError("storage: out of memory loading a tag");
        }
      }
    };
    const size_t threads = total_bytes < (size_t{4} << 20)
                               ? 1
                               : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t, threads);
    work(0, threads);
    for (std::thread& t : pool) t.join();
    for (absl::Status& st : results) TI_RETURN_IF_ERROR(st);
    return absl::OkStatus();
  }

  // Thread-safe: reads `s.universe` and writes only `tag.bitmap`.
  absl::Status DecodeTagBitmap(const storage::Section& sec, const IndexState& s,
                               TagEntry& tag) const {
    absl::StatusOr<Bitmap> b = Bitmap::PortableDeserialize(sec.payload.subspan(4));
    if (!b.ok()) return Bad(sec, 4, std::string(b.status().message()));
    // When the universe is the full range [0, k) (the usual dense-id case),
    // containment is a bound check; otherwise a real subset test.
    const bool contained = universe_is_prefix_
                               ? (b->IsEmpty() || uint64_t{b->Maximum()} < universe_size_)
                               : b->IsSubsetOf(s.universe);
    if (!contained) {
      return Bad(sec, 4,
                 absl::StrCat("tag id ", tag.id.value, " holds customers that are not live"));
    }
    tag.bitmap = std::move(b).value();
    return absl::OkStatus();
  }

 public:
  uint32_t next_tag_ = 0;
  // The mapped snapshot; the key sections are used in place from it.
  std::shared_ptr<const ReadableRegion> region_;

 private:
  const std::string& path_;
  const OpenOptions& options_;
  std::vector<bool> seen_;
  uint64_t universe_size_ = 0;
  bool universe_is_prefix_ = false;
};

// ---- replay ------------------------------------------------------------------------------

// A log record is replayed through the same pipeline as the write that
// logged it (validated, then applied; never logged again), so it assigns
// the same row ids and tag ids.
absl::Status ApplyRecord(IndexState& s, std::span<const char> payload) {
  DecodeArena arena;
  std::vector<Mutation> items;
  TI_RETURN_IF_ERROR(DecodeRecord(payload, &arena, &items));
  return Commit(s, items, {.replay = true}, nullptr);
}

// Writes generation `gen`: the snapshot under a temporary name (synced), a
// fresh empty log (synced), then renames the snapshot into place and syncs
// the directory. The snapshot's appearance is the commit point; a stale
// log of a generation without a snapshot is removed by the next Open.
// `renamed` tells the caller whether the commit point may have been passed.
absl::Status WriteGeneration(const IndexState& s, FileSystem& fs, const std::string& dir,
                             uint64_t gen, std::unique_ptr<WritableFile>* wal,
                             uint64_t* snapshot_bytes, bool* renamed) {
  *renamed = false;
  const std::string tmp = Join(dir, SnapshotName(gen) + ".tmp");
  {
    TI_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, fs.OpenWritable(tmp, true));
    TI_RETURN_IF_ERROR(WriteSnapshot(s, f.get(), gen, snapshot_bytes));
    TI_RETURN_IF_ERROR(f->Sync());
    TI_RETURN_IF_ERROR(f->Close());
  }
  TI_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> log,
                      fs.OpenWritable(Join(dir, WalName(gen)), true));
  TI_RETURN_IF_ERROR(log->Append(storage::EncodeWalHeader(gen)));
  TI_RETURN_IF_ERROR(log->Sync());
  TI_RETURN_IF_ERROR(fs.Rename(tmp, Join(dir, SnapshotName(gen))));
  *renamed = true;
  TI_RETURN_IF_ERROR(fs.SyncDir(dir));
  *wal = std::move(log);
  return absl::OkStatus();
}

}  // namespace

// Maps the key sections of the snapshot at `path` that was just written
// from `s` (see Index::Checkpoint); nullopt if anything fails.
std::optional<FrozenKeys> MapSnapshotKeys(const IndexState& s, FileSystem& fs,
                                          const std::string& path) {
  absl::StatusOr<std::unique_ptr<ReadableRegion>> read = fs.ReadFile(path);
  if (!read.ok()) return std::nullopt;
  std::shared_ptr<const ReadableRegion> region = std::move(read).value();
  absl::StatusOr<storage::ParsedSnapshot> parsed = storage::ParseSnapshot(region->data(), path);
  if (!parsed.ok()) return std::nullopt;
  std::span<const char> key_list, table;
  for (const storage::Section& sec : parsed->sections) {
    if (sec.kind == static_cast<uint32_t>(storage::SectionKind::kCustomerKeys)) {
      key_list = sec.payload;
    } else if (sec.kind == static_cast<uint32_t>(storage::SectionKind::kKeyTable)) {
      table = sec.payload;
    }
  }
  FrozenKeys::Input in = FrozenKeysInput(s, region, key_list, table);
  in.trusted = true;  // written by this process from `s` a moment ago
  FrozenKeys frozen;
  FrozenKeysError error;
  try {
    if (!FrozenKeys::Load(in, &frozen, &error)) return std::nullopt;
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
  return frozen;
}

namespace {

// Removes files of other generations and temporaries (best effort: a file
// left behind is ignored and removed by a later Open).
void RemoveStale(FileSystem& fs, const std::string& dir, uint64_t keep) {
  absl::StatusOr<std::vector<std::string>> names = fs.ListDir(dir);
  if (!names.ok()) return;
  bool removed = false;
  for (const std::string& name : *names) {
    uint64_t gen = 0;
    const bool ours =
        ParseGen(name, "snapshot-", ".tix", &gen) || ParseGen(name, "wal-", ".log", &gen);
    const bool tmp = name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0 &&
                     name.compare(0, 9, "snapshot-") == 0;
    if ((ours && gen != keep) || tmp) removed |= fs.Remove(Join(dir, name)).ok();
  }
  if (removed) (void)fs.SyncDir(dir);
}

}  // namespace
}  // namespace internal

// ---- Index storage API ---------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Index>> Index::Open(const std::string& path,
                                                   const OpenOptions& options) {
  using internal::Durability;
  auto d = std::make_unique<Durability>();
  d->fs = options.file_system != nullptr ? options.file_system : FileSystem::Default();
  d->dir = path;
  d->options = options;
  FileSystem& fs = *d->fs;

  TI_ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  if (!exists) {
    if (!options.create_if_missing || options.read_only) {
      return absl::NotFoundError(absl::StrCat("storage: no index directory ", path));
    }
    TI_RETURN_IF_ERROR(fs.CreateDir(path));
  }
  if (!options.read_only) {
    TI_ASSIGN_OR_RETURN(d->lock, fs.LockFile(internal::Join(path, "LOCK")));
  }
  TI_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir(path));
  bool have = false;
  uint64_t gen = 0;
  for (const std::string& name : names) {
    uint64_t g = 0;
    if (internal::ParseGen(name, "snapshot-", ".tix", &g) && (!have || g > gen)) {
      have = true;
      gen = g;
    }
  }

  std::unique_ptr<Index> index;
  std::unique_ptr<WritableFile> wal_file;
  uint64_t wal_size = storage::kWalHeaderBytes;
  if (!have) {
    if (!options.create_if_missing || options.read_only) {
      return absl::NotFoundError(absl::StrCat("storage: ", path, " holds no tagindex snapshot"));
    }
    TI_ASSIGN_OR_RETURN(index, Create(options.index));
    bool renamed = false;
    uint64_t bytes = 0;
    TI_RETURN_IF_ERROR(internal::WriteGeneration(index->state_for_internal_use(), fs, path, 0,
                                                 &wal_file, &bytes, &renamed));
    d->report.snapshot_bytes = bytes;
  } else {
    const std::string snap_path = internal::Join(path, internal::SnapshotName(gen));
    {
      TI_ASSIGN_OR_RETURN(std::unique_ptr<ReadableRegion> read, fs.ReadFile(snap_path));
      std::shared_ptr<const ReadableRegion> region = std::move(read);
      TI_ASSIGN_OR_RETURN(storage::ParsedSnapshot parsed,
                          storage::ParseSnapshot(region->data(), snap_path));
      if (parsed.generation != gen) {
        return absl::DataLossError(
            absl::StrCat("storage: snapshot ", snap_path, " holds generation ", parsed.generation));
      }
      internal::SnapshotLoader loader(snap_path, options);
      loader.region_ = region;
      const storage::Section* opts = nullptr;
      for (const auto& sec : parsed.sections) {
        if (sec.kind == static_cast<uint32_t>(storage::SectionKind::kOptions)) opts = &sec;
      }
      if (opts == nullptr) {
        return absl::DataLossError(
            absl::StrCat("storage: snapshot ", snap_path, " has no options section"));
      }
      uint64_t row_limit = 0;
      TI_ASSIGN_OR_RETURN(IndexOptions stored,
                          loader.ReadOptions(*opts, &row_limit, &loader.next_tag_));
      TI_ASSIGN_OR_RETURN(index, Create(stored));
      internal::IndexState& s = index->state_for_internal_use();
      s.row_limit = row_limit;
      s.catalog.ReserveTagIds(loader.next_tag_);
      absl::Status loaded = [&] {
        try {
          return loader.Load(parsed, s);
        } catch (const std::bad_alloc&) {
          return absl::ResourceExhaustedError(
              absl::StrCat("storage: out of memory loading ", snap_path));
        }
      }();
      TI_RETURN_IF_ERROR(loaded);
      d->report.snapshot_bytes = region->data().size();
    }
    const std::string wal_path = internal::Join(path, internal::WalName(gen));
    TI_ASSIGN_OR_RETURN(bool wal_exists, fs.Exists(wal_path));
    bool rewrite_header = false;
    if (!wal_exists) {
      if (!options.salvage_log) {
        return absl::DataLossError(absl::StrCat("storage: log ", wal_path,
                                                " is missing; open with salvage_log to start "
                                                "a new one from the snapshot"));
      }
      d->report.salvage_message = absl::StrCat("storage: log ", wal_path, " was missing");
      rewrite_header = true;
    } else {
      // A copy: a writer may cut the log back while a read-only opener reads it.
      TI_ASSIGN_OR_RETURN(std::unique_ptr<ReadableRegion> region, fs.ReadFileCopy(wal_path));
      absl::StatusOr<storage::ParsedLog> parsed = storage::ParseLog(
          region->data(), wal_path, options.max_log_record_bytes, options.salvage_log);
      if (!parsed.ok() && parsed.status().code() == absl::StatusCode::kDataLoss &&
          options.salvage_log && region->data().size() < storage::kWalHeaderBytes + 1) {
        rewrite_header = true;  // salvage of a damaged header: start the log anew
        d->report.salvage_message = std::string(parsed.status().message());
      } else {
        if (!parsed.ok()) return parsed.status();
        if (parsed->generation != gen) {
          return absl::DataLossError(absl::StrCat("storage: log ", wal_path,
                                                  " belongs to generation ", parsed->generation));
        }
        for (const storage::LogRecord& rec : parsed->records) {
          absl::Status st = internal::ApplyRecord(*index->state_, rec.payload);
          if (!st.ok()) {
            return absl::DataLossError(absl::StrCat("storage: log ", wal_path, " record at byte ",
                                                    rec.offset, " does not apply: ", st.message()));
          }
        }
        d->report.log_records_replayed = parsed->records.size();
        d->report.torn_tail_truncated = parsed->torn_tail;
        d->report.log_bytes_dropped = region->data().size() - parsed->valid_bytes;
        d->report.salvage_message = parsed->salvage_message;
        wal_size = parsed->valid_bytes;
      }
    }
    if (!options.read_only) {
      if (rewrite_header) {
        TI_ASSIGN_OR_RETURN(wal_file, fs.OpenWritable(wal_path, true));
        TI_RETURN_IF_ERROR(wal_file->Append(storage::EncodeWalHeader(gen)));
        TI_RETURN_IF_ERROR(wal_file->Sync());
        TI_RETURN_IF_ERROR(fs.SyncDir(path));
        wal_size = storage::kWalHeaderBytes;
      } else {
        TI_ASSIGN_OR_RETURN(wal_file, fs.OpenWritable(wal_path, false));
        if (d->report.log_bytes_dropped > 0) {
          TI_RETURN_IF_ERROR(wal_file->Truncate(wal_size));
          TI_RETURN_IF_ERROR(wal_file->Sync());
        }
      }
    }
  }
  d->generation = gen;
  d->report.generation = gen;
  if (!options.read_only) {
    internal::RemoveStale(fs, path, gen);
    d->wal = std::make_shared<storage::WalWriter>(
        std::move(wal_file), internal::Join(path, internal::WalName(gen)), wal_size, options.sync,
        options.group_commit_interval_ms);
  }
  index->state_->durability = std::move(d);
  return index;
}

absl::Status Index::Checkpoint() {
  internal::Durability* d = state_->durability.get();
  if (d == nullptr) {
    return absl::FailedPreconditionError(
        "storage: Checkpoint needs an index opened with Index::Open (this one is in memory)");
  }
  if (d->options.read_only || d->wal == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("storage: index ", d->dir, " is open read-only"));
  }
  std::lock_guard<std::mutex> checkpoint(d->checkpoint_mu);
  // Shared: queries go on; writers (exclusive) wait, so the snapshot is
  // exactly the state the current log leads to.
  std::shared_lock<std::shared_mutex> lock(state_->mu);
  if (!d->failed.ok()) return d->failed;
  TI_RETURN_IF_ERROR(d->wal->status());
  // Resolves group-commit waiters of the old log before it is retired.
  TI_RETURN_IF_ERROR(d->wal->SyncNow());
  const uint64_t next = d->generation + 1;
  std::unique_ptr<WritableFile> wal_file;
  bool renamed = false;
  uint64_t bytes = 0;
  absl::Status s = [&] {
    try {
      return internal::WriteGeneration(*state_, *d->fs, d->dir, next, &wal_file, &bytes, &renamed);
    } catch (const std::bad_alloc&) {
      return absl::ResourceExhaustedError("storage: out of memory writing a checkpoint");
    }
  }();
  if (!s.ok()) {
    if (renamed) {
      // The new snapshot may or may not be durable: appending to either log
      // could now be lost, so refuse writes until the index is reopened.
      d->failed = absl::Status(
          s.code(), absl::StrCat(s.message(), " (checkpoint incomplete; reopen the index)"));
    } else {
      (void)d->fs->Remove(internal::Join(d->dir, internal::SnapshotName(next) + ".tmp"));
      (void)d->fs->Remove(internal::Join(d->dir, internal::WalName(next)));
    }
    return s;
  }
  d->wal = std::make_shared<storage::WalWriter>(
      std::move(wal_file), internal::Join(d->dir, internal::WalName(next)),
      storage::kWalHeaderBytes, d->options.sync, d->options.group_commit_interval_ms);
  d->generation = next;
  d->report.generation = next;
  d->report.snapshot_bytes = bytes;
  // The keys now read from the new snapshot's mapping, so memory holds only
  // rows added after it (and the old file can go). Checked like on Open,
  // against the universe it was written from; on any failure the old base
  // and memory rows stay, which is equally correct.
  std::optional<internal::FrozenKeys> rebased;
  if (state_->options.key_kind != KeyKind::kIdentity) {
    rebased = internal::MapSnapshotKeys(*state_, *d->fs,
                                        internal::Join(d->dir, internal::SnapshotName(next)));
  }
  lock.unlock();
  if (rebased) {
    std::unique_lock<std::shared_mutex> exclusive(state_->mu);
    state_->keys.SetBase(*std::move(rebased));
  }
  internal::RemoveStale(*d->fs, d->dir, next);
  return absl::OkStatus();
}

bool Index::persistent() const { return state_->durability != nullptr; }

RecoveryReport Index::LastRecovery() const {
  internal::Durability* d = state_->durability.get();
  if (d == nullptr) return RecoveryReport{};
  // Checkpoint updates the report under checkpoint_mu.
  std::lock_guard<std::mutex> lock(d->checkpoint_mu);
  return d->report;
}

std::string Index::ExportRows(std::span<const RowId> rows) {
  Bitmap b = Bitmap::FromIds(rows);
  b.RunOptimize();
  std::string out;
  b.PortableSerialize(&out);
  return out;
}

absl::StatusOr<std::vector<RowId>> Index::ParsePortableRows(std::span<const char> blob,
                                                            uint64_t max_ids) {
  try {
    TI_ASSIGN_OR_RETURN(Bitmap b, Bitmap::PortableDeserialize(blob));
    if (b.Cardinality() > max_ids) {
      return absl::ResourceExhaustedError(absl::StrCat("storage: blob holds ", b.Cardinality(),
                                                       " ids, more than the limit ", max_ids));
    }
    return b.ToVector();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError("storage: out of memory parsing a Roaring blob");
  }
}

}  // namespace tagindex
