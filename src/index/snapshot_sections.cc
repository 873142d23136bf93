// The snapshot's sections (docs/file_format.md): one table, kSections, of
// section codecs, each with its writer beside its reader. WriteSnapshot
// writes the sections in table order; LoadSnapshot checks which are present
// (required, repeated, known) and reads them in the same order. The key
// list and key table (kinds 4 and 10) are written by KeyMap and read in
// place by FrozenKeys; both halves of their format are in frozen_keys.cc.
//
// Adding a section kind: a value in storage::SectionKind (never reuse one),
// a Write/Read pair here, its row in kSections (where its order relative
// to the others matters: a reader sees what the rows above it loaded), and
// its row in docs/file_format.md.
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bitmap/bitmap.h"
#include "index/index_state.h"
#include "index/names.h"
#include "index/storage_internal.h"
#include "storage/coding.h"
#include "storage/private_region.h"
#include "storage/snapshot_file.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex::internal {

static_assert(std::endian::native == std::endian::little,
              "the snapshot writes integer arrays in host order, which must be little-endian");

namespace {

using storage::Decoder;
using storage::PutBytes;
using storage::PutU32;
using storage::PutU64;
using storage::PutU8;
using storage::Section;
using storage::SectionKind;
using storage::SnapshotWriter;

// What the readers share while one snapshot loads.
class Loader {
 public:
  Loader(const std::string& path, const OpenOptions& options,
         std::shared_ptr<const ReadableRegion> region)
      : path_(path), options_(options), region_(std::move(region)) {}

  absl::Status Bad(const Section& sec, size_t at, const std::string& what) const {
    return util::CorruptFile(path_, sec.offset + storage::kSectionHeaderBytes + at,
                             absl::StrCat("storage: snapshot ", path_, " is corrupt at byte ",
                                          sec.offset + storage::kSectionHeaderBytes + at,
                                          " (section kind ", sec.kind, "): ", what));
  }
  absl::Status Missing(const std::string& what) const {
    return util::CorruptFile(path_, std::nullopt,
                             absl::StrCat("storage: snapshot ", path_, " ", what));
  }
  // A stored name must be exactly what NormalizeName (the rule of
  // CreateTag / CreateCategory) makes of it: valid UTF-8, trimmed, no
  // control characters, within the limits. An untrimmed name could never
  // be looked up and would let a second, trimmed one in.
  absl::Status CheckName(const Section& sec, size_t at, std::string_view name, const char* what,
                         const IndexOptions& options, bool allow_empty = false) const {
    absl::StatusOr<std::string> n = NormalizeName(name, what, options, allow_empty);
    if (!n.ok()) {
      absl::string_view m = n.status().message();
      if (absl::StartsWith(m, "index: ")) m.remove_prefix(7);
      return Bad(sec, at, std::string(m));
    }
    if (*n != name) {
      return Bad(sec, at, absl::StrCat(what, " ", Quote(name), " is not trimmed"));
    }
    return absl::OkStatus();
  }
  absl::Status CheckDescription(const Section& sec, size_t at, std::string_view desc,
                                const IndexOptions& options) const {
    absl::Status st = ValidateDescription(desc, options);
    if (!st.ok()) {
      absl::string_view m = st.message();
      if (absl::StartsWith(m, "index: ")) m.remove_prefix(7);
      return Bad(sec, at, std::string(m));
    }
    return absl::OkStatus();
  }
  const std::string& path() const { return path_; }
  const OpenOptions& options() const { return options_; }
  const std::shared_ptr<const ReadableRegion>& region() const { return region_; }

  // Sections by kind (filled before any reader runs).
  std::map<uint32_t, std::vector<const Section*>> by_kind;
  const Section* One(SectionKind kind) const {
    auto it = by_kind.find(static_cast<uint32_t>(kind));
    return it == by_kind.end() ? nullptr : it->second[0];
  }

  uint32_t next_tag = 0;
  uint64_t universe_size = 0;
  bool universe_is_prefix = false;
  std::optional<uint32_t> attribute_next;  // the first attribute section's id counter
  // The key sections are read in place from region() (a PrivateRegion).
  bool keys_in_place = false;
  std::span<const char> kept_list, kept_table;

 private:
  const std::string& path_;
  const OpenOptions& options_;
  std::shared_ptr<const ReadableRegion> region_;
};

using Sections = std::span<const Section* const>;

// The key list and the lookup table, copied out of the snapshot into memory
// the index owns. They are the only part of a snapshot an open index reads
// after Open, and they are read in place (FrozenKeys): a mapping would
// fault (SIGBUS) if a host truncated or rewrote the file underneath, and a
// rewrite would change bytes that were validated. A copy costs one memcpy
// of the two sections at Open (16 bytes per customer for int64 keys) and
// anonymous memory instead of page cache; see docs/file_format.md.
// Anonymous pages asked to be huge (2 MiB) where the kernel allows it: a
// copy of 160 MB would otherwise pay ~40,000 page faults, more than the
// memcpy itself.
class OwnedBytes : public ReadableRegion {
 public:
  explicit OwnedBytes(size_t size) : size_(size) {
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();  // LoadSnapshot's boundary catches it
    if (size_ >= (size_t{2} << 20)) (void)::madvise(p, size_, MADV_HUGEPAGE);
    data_ = static_cast<char*>(p);
  }
  ~OwnedBytes() override {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  OwnedBytes(const OwnedBytes&) = delete;
  OwnedBytes& operator=(const OwnedBytes&) = delete;
  std::span<const char> data() const override { return {data_, size_}; }
  char* mutable_data() { return data_; }

 private:
  char* data_ = nullptr;
  size_t size_;
};

std::shared_ptr<const ReadableRegion> CopyKeySections(std::span<const char>* key_list,
                                                      std::span<const char>* table) {
  auto owned = std::make_shared<OwnedBytes>(key_list->size() + table->size());
  char* p = owned->mutable_data();
  if (!key_list->empty()) std::memcpy(p, key_list->data(), key_list->size());
  if (!table->empty()) std::memcpy(p + key_list->size(), table->data(), table->size());
  *key_list = std::span<const char>(p, key_list->size());
  *table = std::span<const char>(p + key_list->size(), table->size());
  return owned;
}

// ---- kind 1: options, row limit, tag id counter ---------------------------------------
// Read first, on its own (ReadSnapshotOptions): the state is built from it.

absl::Status WriteOptions(const Version& s, SnapshotWriter& w) {
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
  return w.AddSection(SectionKind::kOptions, storage::kSectionRequired, {buf});
}

struct StoredOptions {
  IndexOptions options;
  uint64_t row_limit = 0;
  uint32_t next_tag = 0;
};

absl::StatusOr<StoredOptions> ReadOptions(const Loader& l, const Section& sec) {
  Decoder d(sec.payload);
  StoredOptions out;
  IndexOptions& o = out.options;
  const uint8_t kind = d.U8();
  const uint8_t create = d.U8();
  o.max_name_bytes = d.U64();
  o.max_name_code_points = d.U64();
  o.max_description_bytes = d.U64();
  o.max_string_key_bytes = d.U64();
  o.max_tags = d.U32();
  out.row_limit = d.U64();
  out.next_tag = d.U32();
  if (!d.ok() || d.remaining() != 0) return l.Bad(sec, d.position(), "bad options section size");
  if (kind > static_cast<uint8_t>(KeyKind::kIdentity) || create > 1) {
    return l.Bad(sec, 0, "unknown key kind or flag");
  }
  o.key_kind = static_cast<KeyKind>(kind);
  o.create_missing_customers = create == 1;
  if (o.max_name_bytes == 0 || o.max_name_code_points == 0 || o.max_string_key_bytes == 0 ||
      o.max_tags == 0) {
    return l.Bad(sec, 2, "a limit is zero");
  }
  if (out.row_limit > uint64_t{kMaxRowId} + 1) return l.Bad(sec, 38, "row limit out of range");
  // The tag id counter sizes nothing (ids are never reused; the catalog
  // holds only live tags), so any value is accepted; the live tag count is
  // bounded where the tags are read.
  return out;
}

// ---- kind 2: categories ------------------------------------------------------------------

absl::Status WriteCategories(const Version& s, SnapshotWriter& w) {
  std::string buf;
  PutU32(&buf, static_cast<uint32_t>(s.catalog.categories().size()));
  for (const auto& [name, c] : s.catalog.categories()) {
    PutBytes(&buf, c.name);
    PutBytes(&buf, c.description);
    PutU8(&buf, c.exclusive ? 1 : 0);
  }
  return w.AddSection(SectionKind::kCategories, storage::kSectionRequired, {buf});
}

absl::Status ReadCategories(Loader& l, Sections secs, Version& s) {
  const Section& sec = *secs[0];
  Decoder d(sec.payload);
  const uint32_t n = d.U32();
  if (!d.CanHold(n, 9)) return l.Bad(sec, 0, "category count exceeds the section");
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = d.position();
    // Lengths are bounded by the section; the limits are checked below
    // with the rule's own message.
    std::string_view name = d.Bytes();
    std::string_view desc = d.Bytes();
    const uint8_t exclusive = d.U8();
    if (!d.ok() || exclusive > 1) return l.Bad(sec, at, "bad category entry");
    TI_RETURN_IF_ERROR(l.CheckName(sec, at + 4, name, "category name", s.options));
    TI_RETURN_IF_ERROR(l.CheckDescription(sec, at + 8 + name.size(), desc, s.options));
    if (s.catalog.FindCategory(name) != nullptr) {
      return l.Bad(sec, at, absl::StrCat("category name ", Quote(name), " is repeated"));
    }
    s.catalog.AddCategory(std::string(name), std::string(desc), exclusive == 1);
  }
  if (d.remaining() != 0) return l.Bad(sec, d.position(), "trailing bytes");
  return absl::OkStatus();
}

// ---- kind 3: tag catalog -------------------------------------------------------------------

absl::Status WriteTags(const Version& s, SnapshotWriter& w) {
  std::string buf;
  PutU32(&buf, s.catalog.live_tag_count());
  s.catalog.ForEachTag([&](const TagEntry& t) {
    PutU32(&buf, t.id.value);
    PutBytes(&buf, t.name);
    PutBytes(&buf, t.category);
    PutBytes(&buf, t.description);
    PutU8(&buf, static_cast<uint8_t>(t.kind));
  });
  return w.AddSection(SectionKind::kTags, storage::kSectionRequired, {buf});
}

absl::Status ReadTags(Loader& l, Sections secs, Version& s) {
  const Section& sec = *secs[0];
  Decoder d(sec.payload);
  const uint32_t n = d.U32();
  if (!d.CanHold(n, 17)) return l.Bad(sec, 0, "tag count exceeds the section");
  if (n > l.options().max_tag_id_on_load) {
    return l.Bad(sec, 0, absl::StrCat("tag count ", n, " exceeds OpenOptions::max_tag_id_on_load"));
  }
  uint32_t previous_id = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const size_t at = d.position();
    const uint32_t id = d.U32();
    std::string_view name = d.Bytes();
    std::string_view category = d.Bytes();
    std::string_view desc = d.Bytes();
    const uint8_t kind = d.U8();
    if (!d.ok() || kind > static_cast<uint8_t>(TagKind::kRule)) {
      return l.Bad(sec, at, "bad tag entry");
    }
    // Written in id order: ascending ids make the repeat check one
    // comparison and every insertion an append (no crafted order can make
    // loading quadratic).
    if (id >= l.next_tag || (i > 0 && id <= previous_id)) {
      return l.Bad(sec, at,
                   absl::StrCat("tag id ", id, " is repeated, out of order or beyond the counter"));
    }
    previous_id = id;
    TI_RETURN_IF_ERROR(l.CheckName(sec, at + 8, name, "tag name", s.options));
    TI_RETURN_IF_ERROR(
        l.CheckName(sec, at + 12 + name.size(), category, "category name", s.options, true));
    TI_RETURN_IF_ERROR(
        l.CheckDescription(sec, at + 16 + name.size() + category.size(), desc, s.options));
    if (s.catalog.Find(category, name) != nullptr) {
      return l.Bad(sec, at, absl::StrCat("tag name ", Quote(name), " is repeated"));
    }
    if (!category.empty() && s.catalog.FindCategory(category) == nullptr) {
      return l.Bad(sec, at, "tag of an unknown category");
    }
    s.catalog.AddTagWithId(TagId{id}, std::string(name), std::string(category), std::string(desc),
                           static_cast<TagKind>(kind));
  }
  if (d.remaining() != 0) return l.Bad(sec, d.position(), "trailing bytes");
  if (s.catalog.live_tag_count() > s.options.max_tags) {
    return l.Bad(sec, 0, "more tags than the index's max_tags");
  }
  return absl::OkStatus();
}

// ---- kind 5: universe (live customers) ------------------------------------------------------

absl::Status WriteUniverse(const Version& s, SnapshotWriter& w) {
  std::string buf;
  s.universe().PortableSerialize(&buf);
  return w.AddSection(SectionKind::kUniverse, storage::kSectionRequired, {buf});
}

absl::Status ReadUniverse(Loader& l, Sections secs, Version& s) {
  const Section& sec = *secs[0];
  absl::StatusOr<Bitmap> b = Bitmap::PortableDeserialize(sec.payload);
  if (!b.ok()) return l.Bad(sec, 0, std::string(b.status().message()));
  if (!b->IsEmpty() && uint64_t{b->Maximum()} >= s.row_limit) {
    return l.Bad(sec, 0, "a live customer is beyond the row limit");
  }
  s.MutableUniverse() = std::move(b).value();
  l.universe_size = s.universe().Cardinality();
  l.universe_is_prefix =
      l.universe_size == 0 || uint64_t{s.universe().Maximum()} + 1 == l.universe_size;
  return absl::OkStatus();
}

// ---- kinds 4 and 10: key list and key lookup table --------------------------------------------
// The bytes are KeyMap's (KeyListParts, LookupEntryParts) and FrozenKeys's
// (Load), side by side in frozen_keys.cc; here they are framed as sections.

absl::Status WriteKeyTable(const Version& s, SnapshotWriter& w);

// Int64 keys with stretches worth storing as runs: kinds 30, 4 and 10 in the
// run form (frozen_int_runs.cc). Sets *done = false, writing nothing, when
// the keys have no runs: the hashed form below is then written, byte for
// byte what files without runs always held.
absl::Status WriteIntKeyRuns(const Version& s, SnapshotWriter& w, bool* done) {
  *done = false;
  if (s.options.key_kind != KeyKind::kInt64) return absl::OkStatus();
  KeyMap::IntKeySections sections;
  uint64_t rows = 0;
  if (!s.keys->IntKeySectionsWithRuns(s.universe(), s.row_limit, &sections, &rows)) {
    return absl::OkStatus();
  }
  if (rows != s.row_limit) {
    return util::Error(absl::StatusCode::kInternal, ErrorKind::kInternal, "key table",
                       "index: key table size mismatch");
  }
  if (!sections.runs.empty()) {
    TI_RETURN_IF_ERROR(
        w.AddSection(SectionKind::kIntKeyRuns, storage::kSectionRequired, {sections.runs}));
  }
  TI_RETURN_IF_ERROR(
      w.AddSection(SectionKind::kCustomerKeys, storage::kSectionRequired, {sections.key_list}));
  std::string head;
  PutU64(&head, s.keys->table_seed());
  PutU64(&head, sections.entries.size());
  *done = true;
  return w.AddSection(
      SectionKind::kKeyTable, storage::kSectionRequired,
      {head, std::string_view(reinterpret_cast<const char*>(sections.entries.data()),
                              sections.entries.size() * 8)});
}

// Writes every key section: the run form (kinds 30, 4, 10) or the key list
// and the lookup table.
absl::Status WriteKeyList(const Version& s, SnapshotWriter& w) {
  bool done = false;
  TI_RETURN_IF_ERROR(WriteIntKeyRuns(s, w, &done));
  if (done) return absl::OkStatus();
  // The KeyMap is shared with later versions and may have grown past this
  // one (a checkpoint or backup writing a pinned version): the version's
  // rows are those below its row limit. Written from the base mapping and
  // memory without assembling one buffer.
  std::string scratch;
  uint64_t rows = 0;
  const std::vector<std::string_view> parts = s.keys->KeyListParts(s.row_limit, &scratch, &rows);
  if (rows != s.row_limit && s.options.key_kind != KeyKind::kIdentity) {
    return util::Error(absl::StatusCode::kInternal, ErrorKind::kInternal, "key table",
                       "index: key table size mismatch");
  }
  TI_RETURN_IF_ERROR(w.AddSection(SectionKind::kCustomerKeys, storage::kSectionRequired, parts));
  return WriteKeyTable(s, w);
}

// Written by WriteKeyList (kinds 10 and 30 depend on the same pass).
absl::Status WriteNothing(const Version&, SnapshotWriter&) { return absl::OkStatus(); }

absl::Status WriteKeyTable(const Version& s, SnapshotWriter& w) {
  if (s.options.key_kind == KeyKind::kIdentity) return absl::OkStatus();  // no table
  std::vector<uint64_t> scratch;
  std::vector<std::string_view> parts = s.keys->LookupEntryParts(s.universe(), &scratch);
  uint64_t count = 0;
  for (std::string_view p : parts) count += p.size() / 8;
  std::string buf;
  PutU64(&buf, s.keys->table_seed());
  PutU64(&buf, count);
  parts.insert(parts.begin(), buf);
  return w.AddSection(SectionKind::kKeyTable, storage::kSectionRequired, parts);
}

// Reads both sections (after the universe, which they are checked against):
// they stay in the mapped file (FrozenKeys), checked in place.
absl::Status ReadKeys(Loader& l, Sections secs, Version& s) {
  const Section& sec = *secs[0];
  const Section* table = l.One(SectionKind::kKeyTable);
  const Section* runs = l.One(SectionKind::kIntKeyRuns);
  if (runs != nullptr && s.options.key_kind != KeyKind::kInt64) {
    return l.Bad(*runs, 0, "key runs in an index whose keys are not int64");
  }
  const bool keyed = s.options.key_kind != KeyKind::kIdentity;
  if (keyed != (table != nullptr)) {
    return l.Missing(keyed ? "lacks its key lookup table (section kind 10)"
                           : "has a key lookup table but identity keys");
  }
  if (!keyed) {
    Decoder d(sec.payload);
    const uint8_t kind = d.U8();
    const uint64_t n = d.U64();
    if (!d.ok() || kind != static_cast<uint8_t>(KeyKind::kIdentity)) {
      return l.Bad(sec, 0, "key list of the wrong key kind");
    }
    if (n != 0 || d.remaining() != 0) return l.Bad(sec, 1, "identity index with a key list");
    return absl::OkStatus();
  }
  std::span<const char> list_bytes = sec.payload, table_bytes = table->payload;
  // Bytes read into this process's own memory (Open reads the snapshot with
  // read(2), storage/private_region.h) are used in place: no host action can
  // change or fault them. Anything else (a mapping, a caller's buffer) is
  // copied first.
  std::shared_ptr<const ReadableRegion> owned;
  if (dynamic_cast<const storage::PrivateRegion*>(l.region().get()) != nullptr) {
    owned = l.region();
    l.keys_in_place = true;
    l.kept_list = list_bytes;
    l.kept_table = table_bytes;
  } else {
    owned = CopyKeySections(&list_bytes, &table_bytes);
  }
  FrozenKeys::Input in = FrozenKeysInput(s, std::move(owned), list_bytes, table_bytes);
  // The runs are copied out by Load: read where they are.
  if (runs != nullptr) in.runs = runs->payload;
  FrozenKeys frozen;
  FrozenKeysError error;
  if (!FrozenKeys::Load(in, &frozen, &error)) {
    return l.Bad(error.in_runs ? *runs : (error.in_table ? *table : sec), error.at, error.what);
  }
  s.keys->SetBase(std::move(frozen));
  return absl::OkStatus();
}

// ---- kind 6: tag bitmaps, one section per live tag ---------------------------------------------

absl::Status WriteTagBitmaps(const Version& s, SnapshotWriter& w) {
  absl::Status status;
  std::string id, buf;
  s.catalog.ForEachTag([&](const TagEntry& t) {
    if (!status.ok()) return;
    id.clear();
    PutU32(&id, t.id.value);
    buf.clear();
    t.bitmap.PortableSerialize(&buf);
    status = w.AddSection(SectionKind::kTagBitmap, storage::kSectionRequired, {id, buf});
  });
  return status;
}

// Thread-safe: reads `s.universe()` and writes only `tag.bitmap`.
absl::Status DecodeTagBitmap(const Loader& l, const Section& sec, const Version& s, TagEntry& tag) {
  absl::StatusOr<Bitmap> b = Bitmap::PortableDeserialize(sec.payload.subspan(4));
  if (!b.ok()) return l.Bad(sec, 4, std::string(b.status().message()));
  // When the universe is the full range [0, k) (the usual dense-id case),
  // containment is a bound check; otherwise a real subset test.
  const bool contained = l.universe_is_prefix
                             ? (b->IsEmpty() || uint64_t{b->Maximum()} < l.universe_size)
                             : b->IsSubsetOf(s.universe());
  if (!contained) {
    return l.Bad(sec, 4,
                 absl::StrCat("tag id ", tag.id.value, " holds customers that are not live"));
  }
  tag.bitmap = std::move(b).value();
  return absl::OkStatus();
}

// Tag bitmaps are most of a snapshot: they are validated and decoded on up
// to four threads (each blob is independent), the rest is sequential.
absl::Status ReadTagBitmaps(Loader& l, Sections sections, Version& s) {
  std::vector<TagEntry*> targets(sections.size());
  std::vector<bool> seen;
  uint64_t total_bytes = 0;
  for (size_t i = 0; i < sections.size(); ++i) {
    const Section& sec = *sections[i];
    if (sec.payload.size() < 4) return l.Bad(sec, 0, "tag bitmap section too short");
    const uint32_t id = storage::LoadU32(sec.payload.data());
    TagEntry* tag = s.catalog.Mutable(TagId{id});
    if (tag == nullptr) return l.Bad(sec, 0, absl::StrCat("bitmap of unknown tag id ", id));
    if (seen.size() <= id) seen.resize(size_t{id} + 1);
    if (seen[id]) return l.Bad(sec, 0, absl::StrCat("second bitmap of tag id ", id));
    seen[id] = true;
    targets[i] = tag;
    total_bytes += sec.payload.size();
  }
  std::vector<absl::Status> results(sections.size());
  auto work = [&](size_t first, size_t step) {
    for (size_t i = first; i < sections.size(); i += step) {
      try {
        results[i] = DecodeTagBitmap(l, *sections[i], s, *targets[i]);
      } catch (const std::bad_alloc&) {
        results[i] = util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory,
                                 "snapshot", "storage: out of memory loading a tag");
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
  if (sections.size() != s.catalog.live_tag_count()) {
    return l.Bad(*l.One(SectionKind::kTags), 0,
                 absl::StrCat("the catalog lists ", s.catalog.live_tag_count(),
                              " tags but the file holds ", sections.size(), " tag bitmaps"));
  }
  // An exclusive category keeps at most one of its tags per customer (the
  // queries rely on it): its tags must be pairwise disjoint. One union per
  // category, each tag tested against the tags before it: linear in the
  // category's bitmaps.
  std::vector<uint32_t> section_of(seen.size(), 0);
  for (size_t i = 0; i < sections.size(); ++i) section_of[targets[i]->id.value] = i;
  for (const auto& [name, category] : s.catalog.categories()) {
    if (!category.exclusive || category.tags.size() < 2) continue;
    Bitmap seen_rows;
    for (TagId id : category.tags) {
      const TagEntry& tag = *s.catalog.Get(id);
      if (Bitmap::Intersects(seen_rows, tag.bitmap)) {
        const uint32_t row = Bitmap::And(seen_rows, tag.bitmap).Minimum();
        return l.Bad(
            *sections[section_of[id.value]], 4,
            absl::StrCat("tag ", Quote(tag.name), " (id ", id.value, ") of exclusive category ",
                         Quote(name), " shares customer row ", row, " with another tag of it"));
      }
      seen_rows.OrInPlace(tag.bitmap);
    }
  }
  return absl::OkStatus();
}

// ---- kind 11: attribute columns, one section each
// ------------------------------------------------ Written after the tag bitmaps; read after the
// universe (values only for live rows).

absl::Status WriteAttributes(const Version& s, SnapshotWriter& w) {
  std::string buf;
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
  return absl::OkStatus();
}

absl::Status ReadAttribute(Loader& l, const Section& sec, Version& s) {
  Decoder d(sec.payload);
  const uint32_t id = d.U32();
  const uint32_t next = d.U32();
  const std::string name(d.Bytes());
  const uint8_t type = d.U8();
  const uint8_t scale = d.U8();
  const size_t description_at = d.position();
  const std::string description(d.Bytes());
  if (!d.ok()) return l.Bad(sec, d.position(), "truncated attribute section");
  TI_RETURN_IF_ERROR(l.CheckName(sec, 12, name, "attribute name", s.options));
  TI_RETURN_IF_ERROR(l.CheckDescription(sec, description_at + 4, description, s.options));
  // Every section carries the counter; the writer writes the same value in
  // each. It sizes nothing (ids are never reused; the table holds only live
  // columns): the number of columns is what is bounded.
  if (s.attributes.size() >= l.options().max_tag_id_on_load) {
    return l.Bad(sec, 0,
                 absl::StrCat("more than ", l.options().max_tag_id_on_load,
                              " attribute columns (OpenOptions::max_tag_id_on_load)"));
  }
  if (l.attribute_next.has_value() && *l.attribute_next != next) {
    return l.Bad(sec, 4,
                 absl::StrCat("attribute id counter ", next, " differs from the first section's ",
                              *l.attribute_next));
  }
  l.attribute_next = next;
  if (type > static_cast<uint8_t>(AttributeType::kDate) ||
      (type == static_cast<uint8_t>(AttributeType::kDecimal) ? (scale < 1 || scale > 18)
                                                             : scale != 0)) {
    return l.Bad(
        sec, 8,
        absl::StrCat("attribute ", internal::Quote(name), ": bad type ", type, " / scale ", scale));
  }
  if (id >= next || s.attributes.Get(AttributeId{id}) != nullptr || next >= UINT32_MAX - 1) {
    return l.Bad(sec, 0,
                 absl::StrCat("attribute ", internal::Quote(name), ": id ", id, " out of order"));
  }
  if (name.empty() || s.attributes.Find(name) != nullptr ||
      s.catalog.FindCategory(name) != nullptr) {
    return l.Bad(sec, 8,
                 absl::StrCat("attribute name ", internal::Quote(name), " is empty or taken"));
  }
  absl::StatusOr<Bsi> column = Bsi::Deserialize(sec.payload.subspan(d.position()));
  if (!column.ok()) return l.Bad(sec, d.position(), std::string(column.status().message()));
  if (!column->existence().IsSubsetOf(s.universe())) {
    return l.Bad(sec, d.position(),
                 absl::StrCat("attribute ", internal::Quote(name),
                              " has values for rows that are not live"));
  }
  internal::AttributeEntry& e = s.attributes.AddWithId(
      AttributeId{id}, name, static_cast<AttributeType>(type), scale, description);
  e.column = *std::move(column);
  s.attributes.ReserveIds(next);
  return absl::OkStatus();
}

absl::Status ReadAttributes(Loader& l, Sections sections, Version& s) {
  // Written by name; read by id, so every insertion is an append (O(n log n)
  // whatever order a crafted file uses). A section too short for an id sorts
  // first and is reported by ReadAttribute.
  std::vector<std::pair<uint32_t, const Section*>> by_id;
  by_id.reserve(sections.size());
  for (const Section* sec : sections) {
    Decoder d(sec->payload);
    const uint32_t id = d.U32();
    by_id.emplace_back(d.ok() ? id : 0, sec);
  }
  std::stable_sort(by_id.begin(), by_id.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [id, sec] : by_id) TI_RETURN_IF_ERROR(ReadAttribute(l, *sec, s));
  return absl::OkStatus();
}

// ---- kind 20: saved segments, one section each -------------------------------------------------
// Read after the universe: a static segment's members must be live rows.

absl::Status WriteSavedSegments(const Version& s, SnapshotWriter& w) {
  std::string buf;
  for (const internal::SavedSegmentEntry* e : s.segments.List()) {
    buf.clear();
    PutU32(&buf, e->id);
    PutU32(&buf, s.segments.next_id());
    PutBytes(&buf, e->name);
    PutU8(&buf, e->dynamic ? 1 : 0);
    PutBytes(&buf, e->query);
    PutU64(&buf, static_cast<uint64_t>(e->created_micros));
    if (!e->dynamic) e->members.PortableSerialize(&buf);
    TI_RETURN_IF_ERROR(w.AddSection(SectionKind::kSavedSegment, storage::kSectionRequired, {buf}));
  }
  return absl::OkStatus();
}

absl::Status ReadSavedSegment(const Loader& l, const Section& sec, Version& s) {
  Decoder d(sec.payload);
  auto e = std::make_unique<internal::SavedSegmentEntry>();
  e->id = d.U32();
  const uint32_t next = d.U32();
  e->name = std::string(d.Bytes(s.options.max_name_bytes));
  const uint8_t dynamic = d.U8();
  e->query = std::string(d.Bytes());
  e->created_micros = static_cast<int64_t>(d.U64());
  if (!d.ok()) return l.Bad(sec, d.position(), "truncated saved-segment section");
  if (dynamic > 1 || e->query.empty()) {
    return l.Bad(
        sec, 8,
        absl::StrCat("saved segment ", internal::Quote(e->name), ": bad kind or empty query"));
  }
  e->dynamic = dynamic == 1;
  if (e->id >= next || next >= UINT32_MAX - kSegmentTagBase || s.segments.Get(e->id) != nullptr) {
    return l.Bad(
        sec, 0,
        absl::StrCat("saved segment ", internal::Quote(e->name), ": id ", e->id, " out of order"));
  }
  if (e->name.empty() || s.segments.Find(e->name) != nullptr) {
    return l.Bad(
        sec, 8,
        absl::StrCat("saved segment name ", internal::Quote(e->name), " is empty or taken"));
  }
  const std::span<const char> rest = sec.payload.subspan(d.position());
  if (e->dynamic) {
    if (!rest.empty()) return l.Bad(sec, d.position(), "a dynamic segment with members");
  } else {
    absl::StatusOr<Bitmap> members = Bitmap::PortableDeserialize(rest);
    if (!members.ok()) return l.Bad(sec, d.position(), std::string(members.status().message()));
    if (!members->IsSubsetOf(s.universe())) {
      return l.Bad(sec, d.position(),
                   absl::StrCat("saved segment ", internal::Quote(e->name),
                                " holds rows that are not live"));
    }
    e->members = *std::move(members);
  }
  s.segments.Add(std::move(e));
  s.segments.ReserveIds(next);
  return absl::OkStatus();
}

absl::Status ReadSavedSegments(Loader& l, Sections sections, Version& s) {
  for (const Section* sec : sections) TI_RETURN_IF_ERROR(ReadSavedSegment(l, *sec, s));
  return absl::OkStatus();
}

// ---- kind 8: rule tags, one section each
// ---------------------------------------------------------- Read after the tag bitmaps (the rule's
// tag must exist, of kind kRule).
//   u32 tag id, bytes query, u8 policy, i64 as_of, bytes key, u8 flags
//   (bit 0 full refresh needed, bit 1 uses today), bytes full reason,
//   u32 n, n x u32 tag ids read, u32 n, n x u32 attribute ids read,
//   u32 n, n x bytes saved-segment names, then the pending rows (portable).

absl::Status WriteRules(const Version& s, SnapshotWriter& w) {
  std::string buf;
  absl::Status st;
  s.rules.ForEach([&](const internal::RuleEntry& e) {
    if (!st.ok()) return;
    buf.clear();
    PutU32(&buf, e.tag.value);
    PutBytes(&buf, e.query);
    PutU8(&buf, static_cast<uint8_t>(e.policy));
    PutU64(&buf, static_cast<uint64_t>(e.as_of));
    PutBytes(&buf, e.key);
    PutU8(&buf, (e.full_needed ? 1 : 0) | (e.deps.uses_today ? 2 : 0));
    PutBytes(&buf, e.full_reason);
    PutU32(&buf, static_cast<uint32_t>(e.deps.tags.size()));
    for (TagId t : e.deps.tags) PutU32(&buf, t.value);
    PutU32(&buf, static_cast<uint32_t>(e.deps.attributes.size()));
    for (AttributeId a : e.deps.attributes) PutU32(&buf, a.value);
    PutU32(&buf, static_cast<uint32_t>(e.deps.segments.size()));
    for (const std::string& n : e.deps.segments) PutBytes(&buf, n);
    e.pending.PortableSerialize(&buf);
    st = w.AddSection(SectionKind::kRuleDefinition, storage::kSectionRequired, {buf});
  });
  return st;
}

absl::Status ReadRule(const Loader& l, const Section& sec, Version& s) {
  Decoder d(sec.payload);
  internal::RuleEntry e;
  e.tag = TagId{d.U32()};
  e.query = std::string(d.Bytes());
  const uint8_t policy = d.U8();
  e.as_of = static_cast<int64_t>(d.U64());
  e.key = std::string(d.Bytes());
  const uint8_t flags = d.U8();
  e.full_reason = std::string(d.Bytes());
  uint32_t n = d.U32();
  if (!d.CanHold(n, 4)) return l.Bad(sec, d.position(), "rule: tag count exceeds the section");
  for (uint32_t i = 0; i < n; ++i) e.deps.tags.push_back(TagId{d.U32()});
  n = d.U32();
  if (!d.CanHold(n, 4))
    return l.Bad(sec, d.position(), "rule: attribute count exceeds the section");
  for (uint32_t i = 0; i < n; ++i) e.deps.attributes.push_back(AttributeId{d.U32()});
  n = d.U32();
  if (!d.CanHold(n, 4)) return l.Bad(sec, d.position(), "rule: segment count exceeds the section");
  for (uint32_t i = 0; i < n; ++i) e.deps.segments.emplace_back(d.Bytes());
  if (!d.ok()) return l.Bad(sec, d.position(), "truncated rule section");
  if (policy > static_cast<uint8_t>(RefreshPolicy::kOnCommit) || flags > 3 || e.query.empty()) {
    return l.Bad(sec, 4, "rule: bad policy, flags or empty query");
  }
  e.policy = static_cast<RefreshPolicy>(policy);
  e.full_needed = (flags & 1) != 0;
  e.deps.uses_today = (flags & 2) != 0;
  if (!std::is_sorted(e.deps.tags.begin(), e.deps.tags.end())) {
    return l.Bad(sec, 4, "rule: tag ids out of order");
  }
  const TagEntry* t = s.catalog.Get(e.tag);
  if (t == nullptr || t->kind != TagKind::kRule || s.rules.Find(e.tag) != nullptr) {
    return l.Bad(sec, 0,
                 absl::StrCat("rule for tag id ", e.tag.value,
                              ": no such rule tag, or a second rule for it"));
  }
  absl::StatusOr<Bitmap> pending = Bitmap::PortableDeserialize(sec.payload.subspan(d.position()));
  if (!pending.ok()) return l.Bad(sec, d.position(), std::string(pending.status().message()));
  e.pending = *std::move(pending);
  s.rules.Put(std::move(e));
  return absl::OkStatus();
}

absl::Status ReadRules(Loader& l, Sections sections, Version& s) {
  for (const Section* sec : sections) TI_RETURN_IF_ERROR(ReadRule(l, *sec, s));
  return absl::OkStatus();
}

// ---- the table ----------------------------------------------------------------------------------

struct SectionCodec {
  SectionKind kind;
  const char* name;
  // A snapshot without it is DataLoss (the writer sets kSectionRequired on
  // every section it writes; see docs/file_format.md for optional ones).
  bool required;
  // Several sections of this kind (else a second one is DataLoss).
  bool repeated;
  absl::Status (*write)(const Version&, SnapshotWriter&);
  // Null: read elsewhere (options before the state exists; the key table
  // with the key list).
  absl::Status (*read)(Loader&, Sections, Version&);
};

// In write and read order: a reader sees what the rows above it loaded.
constexpr SectionCodec kSections[] = {
    {SectionKind::kOptions, "options", true, false, WriteOptions, nullptr},
    {SectionKind::kCategories, "categories", true, false, WriteCategories, ReadCategories},
    {SectionKind::kTags, "tags", true, false, WriteTags, ReadTags},
    {SectionKind::kUniverse, "universe", true, false, WriteUniverse, ReadUniverse},
    {SectionKind::kCustomerKeys, "customer keys", true, false, WriteKeyList, ReadKeys},
    // Present exactly when the keys are int64 or string (ReadKeys checks).
    {SectionKind::kKeyTable, "key lookup table", false, false, WriteNothing, nullptr},
    // Int64 keys only, when they have runs (ReadKeys checks; written and read
    // with the key list).
    {SectionKind::kIntKeyRuns, "int64 key runs", false, false, WriteNothing, nullptr},
    {SectionKind::kTagBitmap, "tag bitmap", false, true, WriteTagBitmaps, ReadTagBitmaps},
    {SectionKind::kAttribute, "attribute column", false, true, WriteAttributes, ReadAttributes},
    {SectionKind::kSavedSegment, "saved segment", false, true, WriteSavedSegments,
     ReadSavedSegments},
    {SectionKind::kRuleDefinition, "rule tag", false, true, WriteRules, ReadRules},
};

const SectionCodec* CodecOf(uint32_t kind) {
  for (const SectionCodec& c : kSections) {
    if (static_cast<uint32_t>(c.kind) == kind) return &c;
  }
  return nullptr;
}

}  // namespace

FrozenKeys::Input FrozenKeysInput(const Version& s, std::shared_ptr<const ReadableRegion> region,
                                  std::span<const char> key_list, std::span<const char> table) {
  FrozenKeys::Input in;
  in.kind = s.options.key_kind;
  in.region = std::move(region);
  in.key_list = key_list;
  in.table = table;
  in.universe = &s.universe();
  in.row_limit = s.row_limit;
  in.options = &s.options;
  return in;
}

absl::Status WriteSnapshot(const Version& s, WritableFile* file, uint64_t gen, uint64_t* bytes) {
  SnapshotWriter w(file, gen);
  TI_RETURN_IF_ERROR(w.Begin());
  for (const SectionCodec& c : kSections) TI_RETURN_IF_ERROR(c.write(s, w));
  TI_RETURN_IF_ERROR(w.Finish());
  *bytes = w.bytes_written();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<IndexState>> LoadSnapshot(
    const storage::ParsedSnapshot& parsed, std::shared_ptr<const ReadableRegion> region,
    const std::string& path, const OpenOptions& options) {
  Loader l(path, options, std::move(region));
  for (const Section& sec : parsed.sections) {
    const SectionCodec* codec = CodecOf(sec.kind);
    if (codec == nullptr) {
      if (sec.flags & storage::kSectionRequired) {
        return util::Error(
            absl::StatusCode::kFailedPrecondition, ErrorKind::kUnsupported,
            absl::StrCat("section kind ", sec.kind),
            absl::StrCat("storage: snapshot ", path, " needs section kind ", sec.kind, " (at byte ",
                         sec.offset,
                         "), which this library version does not know; upgrade tagindex"));
      }
      continue;  // an optional section of a later version, skipped
    }
    if ((sec.flags & ~storage::kSectionRequired) != 0) {
      return absl::DataLossError(absl::StrCat(
          "storage: snapshot ", path, " is corrupt at byte ", sec.offset + 4, " (section kind ",
          sec.kind, "): reserved section flag bits are set (flags ", sec.flags, ")"));
    }
    std::vector<const Section*>& list = l.by_kind[sec.kind];
    if (!list.empty() && !codec->repeated) return l.Bad(sec, 0, "section appears twice");
    list.push_back(&sec);
  }
  for (const SectionCodec& c : kSections) {
    if (c.required && l.One(c.kind) == nullptr) {
      return l.Missing(absl::StrCat("lacks required section kind ", static_cast<uint32_t>(c.kind),
                                    " (", c.name, ")"));
    }
  }
  TI_ASSIGN_OR_RETURN(StoredOptions stored, ReadOptions(l, *l.One(SectionKind::kOptions)));
  auto state = std::make_unique<IndexState>(stored.options);
  // Not shared yet: the sections are read into the first version in place.
  Version& s = state->Unpublished();
  s.row_limit = stored.row_limit;
  s.catalog.ReserveTagIds(stored.next_tag);
  l.next_tag = stored.next_tag;
  try {
    for (const SectionCodec& c : kSections) {
      if (c.read == nullptr) continue;
      auto it = l.by_kind.find(static_cast<uint32_t>(c.kind));
      static const std::vector<const Section*> kNone;
      TI_RETURN_IF_ERROR(c.read(l, it == l.by_kind.end() ? kNone : it->second, s));
    }
  } catch (const std::bad_alloc&) {
    return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory, "snapshot",
                       absl::StrCat("storage: out of memory loading ", path));
  }
  if (l.keys_in_place) {
    // Everything else was decoded into memory of its own (the decoding
    // threads are joined): only the key sections stay resident.
    static_cast<const storage::PrivateRegion&>(*l.region())
        .ReleaseOutside({l.kept_list, l.kept_table});
  }
  return state;
}

std::optional<FrozenKeys> MapSnapshotKeys(const Version& s, FileSystem& fs,
                                          const std::string& path) {
  absl::StatusOr<std::unique_ptr<ReadableRegion>> read = fs.ReadFile(path);
  if (!read.ok()) return std::nullopt;
  std::shared_ptr<const ReadableRegion> region = std::move(read).value();
  absl::StatusOr<storage::ParsedSnapshot> parsed = storage::ParseSnapshot(region->data(), path);
  if (!parsed.ok()) return std::nullopt;
  std::span<const char> key_list, table, runs;
  for (const Section& sec : parsed->sections) {
    if (sec.kind == static_cast<uint32_t>(SectionKind::kCustomerKeys)) {
      key_list = sec.payload;
    } else if (sec.kind == static_cast<uint32_t>(SectionKind::kKeyTable)) {
      table = sec.payload;
    } else if (sec.kind == static_cast<uint32_t>(SectionKind::kIntKeyRuns)) {
      runs = sec.payload;
    }
  }
  FrozenKeys frozen;
  FrozenKeysError error;
  try {
    std::shared_ptr<const ReadableRegion> owned = CopyKeySections(&key_list, &table);
    FrozenKeys::Input in = FrozenKeysInput(s, std::move(owned), key_list, table);
    in.trusted = true;  // written by this process from `s` a moment ago
    in.runs = runs;     // copied out by Load while `region` lives
    if (!FrozenKeys::Load(in, &frozen, &error)) return std::nullopt;
  } catch (const std::bad_alloc&) {
    return std::nullopt;
  }
  return frozen;
}

}  // namespace tagindex::internal
