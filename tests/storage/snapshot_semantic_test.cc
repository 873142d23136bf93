// Snapshots whose checksums are right but whose content breaks an invariant
// the index relies on (a tool that rewrote a section and recomputed XXH3, an
// older writer's bug, a hostile file). Each case starts from a valid
// snapshot written by the library, changes one thing, recomputes every
// checksum, and asserts that Open refuses it with DataLoss naming the file,
// the section and the exact byte offset of the problem.
#include <catch2/catch.hpp>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "bitmap/bitmap.h"
#include "storage/coding.h"
#include "storage/snapshot_file.h"
#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"
#include "util/hash.h"

using tagindex::AttributeType;
using tagindex::CategoryOptions;
using tagindex::Index;
using tagindex::TagId;
using tagindex::TagSpec;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;
namespace storage = tagindex::storage;

namespace {

constexpr char kDir[] = "/idx";

// A section of a snapshot, as bytes we can edit.
struct EditableSection {
  uint32_t kind = 0;
  uint32_t flags = 0;
  std::string payload;
};

struct EditableSnapshot {
  std::string header;  // 32 bytes
  std::vector<EditableSection> sections;

  // The index in `sections` of the n-th section of `kind`.
  size_t Find(storage::SectionKind kind, int n = 0) const {
    for (size_t i = 0; i < sections.size(); ++i) {
      if (sections[i].kind == static_cast<uint32_t>(kind) && n-- == 0) return i;
    }
    FAIL("no section of kind " << static_cast<uint32_t>(kind));
    return 0;
  }
  std::string& Payload(storage::SectionKind kind, int n = 0) {
    return sections[Find(kind, n)].payload;
  }

  // The file offset of byte `at` of section i's payload, in the file
  // Serialize() writes.
  uint64_t OffsetOf(size_t i, uint64_t at) const {
    uint64_t pos = storage::kSnapshotHeaderBytes;
    for (size_t j = 0; j < i; ++j) pos += 24 + sections[j].payload.size();
    return pos + storage::kSectionHeaderBytes + at;
  }

  // The file, with every checksum and the end section recomputed.
  std::string Serialize() const {
    std::string out = header;
    std::string sum;
    out.resize(24);
    storage::PutU64(&out, tagindex::util::Xxh3(out.data(), 24));
    auto put = [&](uint32_t kind, uint32_t flags, const std::string& payload) {
      std::string h;
      storage::PutU32(&h, kind);
      storage::PutU32(&h, flags);
      storage::PutU64(&h, payload.size());
      const std::string body = h + payload;
      out += body;
      storage::PutU64(&out, tagindex::util::Xxh3(body.data(), body.size()));
    };
    for (const EditableSection& s : sections) put(s.kind, s.flags, s.payload);
    std::string end;
    storage::PutU64(&end, sections.size());
    put(static_cast<uint32_t>(storage::SectionKind::kEnd), storage::kSectionRequired, end);
    return out;
  }
};

EditableSnapshot Parse(const std::string& file) {
  absl::StatusOr<storage::ParsedSnapshot> parsed =
      storage::ParseSnapshot(std::span<const char>(file.data(), file.size()), "test");
  REQUIRE(parsed.ok());
  EditableSnapshot out;
  out.header = file.substr(0, storage::kSnapshotHeaderBytes);
  for (const storage::Section& s : parsed->sections) {
    out.sections.push_back({s.kind, s.flags, std::string(s.payload.data(), s.payload.size())});
  }
  return out;
}

// Replaces the only occurrence of `from` in `s` by `to` (same length, so the
// layout stays) and returns its position.
size_t ReplaceSame(std::string& s, std::string_view from, std::string_view to) {
  REQUIRE(from.size() == to.size());
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(s.find(from, at + 1) == std::string::npos);
  s.replace(at, from.size(), to);
  return at;
}

void SetU32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

void SetU64(std::string& s, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}

std::string Serialized(const tagindex::Bitmap& b) {
  std::string out;
  b.PortableSerialize(&out);
  return out;
}

// A valid index: an exclusive category with two tags, a plain tag, 100
// customers, two attributes; checkpointed, so everything is in the snapshot.
struct Fixture {
  std::shared_ptr<MemFileSystem> fs = std::make_shared<MemFileSystem>();
  std::string snapshot_path;
  std::string wal_path;

  Fixture() {
    auto index = Index::Open(kDir, MemOptions(fs)).value();
    REQUIRE(index->CreateCategory("LevelCat", CategoryOptions{.exclusive = true}).ok());
    const TagId gold = index->CreateTag(TagSpec{.name = "GoldTag", .category = "LevelCat"}).value();
    const TagId silver =
        index->CreateTag(TagSpec{.name = "SilverTag", .category = "LevelCat"}).value();
    const TagId plain =
        index->CreateTag(TagSpec{.name = "PlainTag", .description = "PlainDesc"}).value();
    std::vector<int64_t> keys;
    for (int64_t k = 0; k < 100; ++k) keys.push_back(k * 7);
    REQUIRE(index->AddCustomers(keys).ok());
    REQUIRE(index->TagMany(gold, std::span<const int64_t>(keys).first(30)).ok());
    REQUIRE(index->TagMany(silver, std::span<const int64_t>(keys).subspan(30, 30)).ok());
    REQUIRE(index->TagMany(plain, keys).ok());
    REQUIRE(index->CreateAttribute({.name = "SpendAttr", .type = AttributeType::kInt64}).ok());
    REQUIRE(index->CreateAttribute({.name = "AgeAttr", .type = AttributeType::kInt64}).ok());
    REQUIRE(index->SetAttribute("SpendAttr", 7, 1234).ok());
    REQUIRE(index->SetAttribute("AgeAttr", 14, 33).ok());
    REQUIRE(index->Checkpoint().ok());
    index.reset();
    for (const std::string& name : fs->Names()) {
      if (name.find("snapshot-") != std::string::npos) snapshot_path = name;
      if (name.find("wal-") != std::string::npos) wal_path = name;
    }
    REQUIRE(!snapshot_path.empty());
  }

  EditableSnapshot Snapshot() { return Parse(fs->Get(snapshot_path)); }

  // Opens the edited snapshot; returns the status.
  absl::Status OpenWith(const EditableSnapshot& s) {
    fs->Put(snapshot_path, s.Serialize());
    return Index::Open(kDir, MemOptions(fs)).status();
  }
};

// Asserts DataLoss naming the file, the section kind and the byte offset.
void RequireRefused(const absl::Status& st, uint64_t offset, storage::SectionKind kind,
                    const std::string& what, const std::string& path) {
  INFO(st.ToString());
  REQUIRE(st.code() == absl::StatusCode::kDataLoss);
  const std::string m(st.message());
  REQUIRE_THAT(m, Catch::Contains(path));
  REQUIRE_THAT(m, Catch::Contains("at byte " + std::to_string(offset) + " "));
  REQUIRE_THAT(m, Catch::Contains("section kind " + std::to_string(static_cast<uint32_t>(kind))));
  REQUIRE_THAT(m, Catch::Contains(what));
}

}  // namespace

TEST_CASE("snapshot semantics: the unedited rewrite opens (the harness itself is sound)",
          "[storage][semantic]") {
  Fixture f;
  const std::string before = f.fs->Get(f.snapshot_path);
  REQUIRE(f.Snapshot().Serialize() == before);
  REQUIRE(f.OpenWith(f.Snapshot()).ok());
}

TEST_CASE("snapshot semantics: each broken invariant is DataLoss at its byte",
          "[storage][semantic]") {
  using K = storage::SectionKind;
  Fixture f;
  EditableSnapshot s = f.Snapshot();
  const std::string& path = f.snapshot_path;

  SECTION("two tags of an exclusive category share a customer") {
    // SilverTag (the later id) gets GoldTag's members plus its own.
    const size_t gold = s.Find(K::kTagBitmap, 0);
    const size_t silver = s.Find(K::kTagBitmap, 1);
    auto members = [&](size_t i) {
      const std::string& p = s.sections[i].payload;
      return tagindex::Bitmap::PortableDeserialize(std::span<const char>(p).subspan(4)).value();
    };
    tagindex::Bitmap both = members(silver);
    both.OrInPlace(members(gold));
    s.sections[silver].payload.resize(4);
    s.sections[silver].payload += Serialized(both);
    RequireRefused(f.OpenWith(s), s.OffsetOf(silver, 4), K::kTagBitmap,
                   "of exclusive category \"LevelCat\" shares customer row 0", path);
  }
  SECTION("a tag name that is not UTF-8") {
    const size_t at = ReplaceSame(s.Payload(K::kTags), "GoldTag", "G\xffldTag");
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kTags), at), K::kTags,
                   "invalid UTF-8 at byte 1", path);
  }
  SECTION("a tag name holding a NUL") {
    const size_t at = ReplaceSame(s.Payload(K::kTags), "GoldTag", std::string("Go\0dTag", 7));
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kTags), at), K::kTags,
                   "control character at byte 2", path);
  }
  SECTION("an untrimmed tag name (could never be looked up)") {
    const size_t at = ReplaceSame(s.Payload(K::kTags), "GoldTag", " oldTag");
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kTags), at), K::kTags, "is not trimmed",
                   path);
  }
  SECTION("a tag's category name with a control character") {
    // The tags section repeats the category name; the categories section is
    // left as it was, so only the tag's copy is wrong.
    std::string& tags = s.Payload(K::kTags);
    const size_t at = tags.find("LevelCat");
    tags[at + 3] = '\x07';
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kTags), at), K::kTags,
                   "control character at byte 3", path);
  }
  SECTION("a tag description that is not UTF-8") {
    const size_t at = ReplaceSame(s.Payload(K::kTags), "PlainDesc", "Plain\xc3\x28sc");
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kTags), at), K::kTags,
                   "description: invalid UTF-8 at byte 5", path);
  }
  SECTION("a category name that is not UTF-8") {
    const size_t at = ReplaceSame(s.Payload(K::kCategories), "LevelCat", "Level\xe4\xb8t");
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kCategories), at), K::kCategories,
                   "category name", path);
  }
  SECTION("names over the length limit of the stored options") {
    // max_name_bytes (options byte 2) lowered to 5: "LevelCat" is the first
    // name read, at byte 4 of the categories section.
    SetU64(s.Payload(K::kOptions), 2, 5);
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kCategories), 8), K::kCategories,
                   "is 8 bytes; the limit is 5", path);
  }
  SECTION("an exclusive flag that is neither 0 nor 1") {
    std::string& c = s.Payload(K::kCategories);
    c.back() = 2;  // the only category's exclusive byte
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kCategories), 4), K::kCategories,
                   "bad category entry", path);
  }
  SECTION("nonzero reserved header flags") {
    s.header[12] = 1;
    const absl::Status st = f.OpenWith(s);
    REQUIRE(st.code() == absl::StatusCode::kDataLoss);
    REQUIRE_THAT(std::string(st.message()), Catch::Contains(path) &&
                                                Catch::Contains("at byte 12:") &&
                                                Catch::Contains("reserved header flags"));
  }
  SECTION("nonzero reserved section flag bits") {
    const size_t i = s.Find(K::kUniverse);
    s.sections[i].flags |= 1u << 5;
    RequireRefused(f.OpenWith(s), s.OffsetOf(i, 0) - 16 + 4, K::kUniverse,
                   "reserved section flag bits", path);
  }
  SECTION("a tag bitmap holding a customer that is not live") {
    const size_t i = s.Find(K::kTagBitmap, 2);
    tagindex::Bitmap b;
    b.Add(5000);
    s.sections[i].payload.resize(4);
    s.sections[i].payload += Serialized(b);
    RequireRefused(f.OpenWith(s), s.OffsetOf(i, 4), K::kTagBitmap, "not live", path);
  }
  SECTION("a live customer beyond the row limit") {
    SetU64(s.Payload(K::kOptions), 38, 50);  // row limit 100 -> 50
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kUniverse), 0), K::kUniverse,
                   "beyond the row limit", path);
  }
  SECTION("the catalog and the tag bitmaps disagree in count") {
    s.sections.erase(s.sections.begin() + static_cast<ptrdiff_t>(s.Find(K::kTagBitmap, 2)));
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kTags), 0), K::kTags,
                   "lists 3 tags but the file holds 2 tag bitmaps", path);
  }
  SECTION("attribute sections disagree on the id counter") {
    // Sections are written by name (AgeAttr id 1, then SpendAttr id 0) and
    // read by id: AgeAttr's is the second counter read.
    const size_t i = s.Find(K::kAttribute, 0);
    s.sections[i].payload[4] = 7;  // next_attribute_id 2 -> 7
    RequireRefused(f.OpenWith(s), s.OffsetOf(i, 4), K::kAttribute,
                   "attribute id counter 7 differs from the first section's 2", path);
  }
  SECTION("more tags than max_tag_id_on_load") {
    f.fs->Put(f.snapshot_path, s.Serialize());
    tagindex::OpenOptions o = MemOptions(f.fs);
    o.max_tag_id_on_load = 2;
    RequireRefused(Index::Open(kDir, o).status(), s.OffsetOf(s.Find(K::kTags), 0), K::kTags,
                   "tag count 3 exceeds OpenOptions::max_tag_id_on_load", path);
  }
  SECTION("tag ids out of order") {
    // The catalog lists GoldTag (id 0) first: give it id 1, SilverTag's.
    std::string& tags = s.Payload(K::kTags);
    SetU32(tags, 4, 1);
    // GoldTag's entry: id, "GoldTag", "LevelCat", "", kind = 32 bytes after
    // the count; SilverTag's (id 1) starts at 36 and repeats the id.
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kTags), 36), K::kTags,
                   "tag id 1 is repeated, out of order", path);
  }
  SECTION("an attribute name with a control character") {
    size_t i = s.Find(K::kAttribute, 0);
    if (s.sections[i].payload.find("SpendAttr") == std::string::npos) i = s.Find(K::kAttribute, 1);
    const size_t at = ReplaceSame(s.sections[i].payload, "SpendAttr", "Spend\nttr");
    REQUIRE(at == 12);
    RequireRefused(f.OpenWith(s), s.OffsetOf(i, 12), K::kAttribute, "control character", path);
  }
  SECTION("two tags of one category with the same name") {
    // SilverTag renamed GoldTag (its length prefix rewritten): the second
    // entry, at byte 36, repeats a name a lookup could only ever find once.
    std::string& tags = s.Payload(K::kTags);
    const size_t name = tags.find("SilverTag");
    REQUIRE(name == 44);
    SetU32(tags, name - 4, 7);
    tags.replace(name, 9, "GoldTag");
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kTags), 36), K::kTags,
                   "tag name \"GoldTag\" is repeated", path);
  }
  SECTION("a category listed twice") {
    // The only entry (name, empty description, exclusive: 17 bytes from
    // byte 4) appended again, the count raised to 2.
    std::string& c = s.Payload(K::kCategories);
    REQUIRE(c.size() == 21);
    c += c.substr(4);
    SetU32(c, 0, 2);
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kCategories), 21), K::kCategories,
                   "category name \"LevelCat\" is repeated", path);
  }
  SECTION("a tag of a category that does not exist") {
    // GoldTag's copy of its category name (the first entry, at byte 4).
    std::string& tags = s.Payload(K::kTags);
    tags[tags.find("LevelCat") + 7] = 'X';
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kTags), 4), K::kTags,
                   "tag of an unknown category", path);
  }
}

namespace {

// A valid int64 index whose snapshot has key runs (section kind 30): rows
// 0..39 keys 1000..1039, rows 40..79 keys 100..139 (two runs), rows 80..99
// keys 7 apart (the hashed rest), row 95 removed.
struct RunsFixture {
  std::shared_ptr<MemFileSystem> fs = std::make_shared<MemFileSystem>();
  std::string snapshot_path;

  RunsFixture() {
    auto index = Index::Open(kDir, MemOptions(fs)).value();
    std::vector<int64_t> keys;
    for (int64_t k = 0; k < 40; ++k) keys.push_back(1000 + k);
    for (int64_t k = 0; k < 40; ++k) keys.push_back(100 + k);
    for (int64_t k = 0; k < 20; ++k) keys.push_back(1'000'000 + 7 * k);
    REQUIRE(index->AddCustomers(keys).ok());
    REQUIRE(index->RemoveCustomer(keys[95]).ok());
    REQUIRE(index->Checkpoint().ok());
    index.reset();
    for (const std::string& name : fs->Names()) {
      if (name.find("snapshot-") != std::string::npos) snapshot_path = name;
    }
    REQUIRE(!snapshot_path.empty());
  }
  EditableSnapshot Snapshot() { return Parse(fs->Get(snapshot_path)); }
  absl::Status OpenWith(const EditableSnapshot& s) {
    fs->Put(snapshot_path, s.Serialize());
    return Index::Open(kDir, MemOptions(fs)).status();
  }
};

}  // namespace

TEST_CASE("snapshot semantics: each broken key-run invariant is DataLoss at its byte",
          "[storage][semantic][key_runs]") {
  using K = storage::SectionKind;
  RunsFixture f;
  EditableSnapshot s = f.Snapshot();
  const std::string& path = f.snapshot_path;
  const size_t ri = s.Find(K::kIntKeyRuns);
  std::string& runs = s.sections[ri].payload;
  REQUIRE(runs.size() == 8 + 2 * 16);  // the harness: two runs as built
  REQUIRE(storage::LoadU64(runs.data()) == 2);
  REQUIRE(f.OpenWith(s).ok());
  constexpr size_t kRun1 = 8 + 16;  // the second run's bytes

  SECTION("a run count that does not match the section size") {
    SetU64(runs, 0, 3);
    RequireRefused(f.OpenWith(s), s.OffsetOf(ri, 0), K::kIntKeyRuns, "does not match its run count",
                   path);
  }
  SECTION("an empty run") {
    SetU32(runs, kRun1 + 12, 0);
    RequireRefused(f.OpenWith(s), s.OffsetOf(ri, kRun1 + 12), K::kIntKeyRuns, "key run 1 is empty",
                   path);
  }
  SECTION("runs overlapping in rows") {
    SetU32(runs, kRun1 + 8, 30);  // rows 30..69 overlap run 0's 0..39
    RequireRefused(f.OpenWith(s), s.OffsetOf(ri, kRun1 + 8), K::kIntKeyRuns,
                   "overlaps the rows of run 0", path);
  }
  SECTION("a run beyond the row limit") {
    SetU32(runs, kRun1 + 8, 70);  // rows 70..109 of 100
    RequireRefused(f.OpenWith(s), s.OffsetOf(ri, kRun1 + 8), K::kIntKeyRuns,
                   "beyond the row limit 100", path);
  }
  SECTION("a run whose last key overflows int64") {
    SetU64(runs, 8, static_cast<uint64_t>(std::numeric_limits<int64_t>::max() - 10));
    RequireRefused(f.OpenWith(s), s.OffsetOf(ri, 8), K::kIntKeyRuns, "overflows int64", path);
  }
  SECTION("a run holding a removed customer") {
    SetU32(runs, kRun1 + 8, 81);  // rows 81..99 hold removed row 95
    SetU32(runs, kRun1 + 12, 19);
    RequireRefused(f.OpenWith(s), s.OffsetOf(ri, kRun1 + 8), K::kIntKeyRuns, "not live customers",
                   path);
  }
  SECTION("runs overlapping in keys") {
    SetU64(runs, kRun1, 1020);  // keys 1020..1059 overlap run 0's 1000..1039
    RequireRefused(f.OpenWith(s), s.OffsetOf(ri, kRun1), K::kIntKeyRuns,
                   "key runs 0 and 1 overlap in keys", path);
  }
  SECTION("a key list count inconsistent with the runs (a row in neither)") {
    SetU32(runs, kRun1 + 12, 39);  // row 79 is now in no run and not in the key list
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kCustomerKeys), 1), K::kCustomerKeys,
                   "key list of 20 rows for a row limit of 100 of which 79 are in key runs", path);
  }
  SECTION("a lookup table count inconsistent with the runs") {
    // Run 1 moved into the key list (rows 40..79 first, in row order): the
    // list is consistent, the table lacks the 40 entries.
    runs.resize(8 + 16);
    SetU64(runs, 0, 1);
    std::string& list = s.Payload(K::kCustomerKeys);
    std::string moved;
    for (int64_t k = 0; k < 40; ++k) storage::PutU64(&moved, static_cast<uint64_t>(100 + k));
    list.insert(9, moved);
    SetU64(list, 1, 60);
    RequireRefused(
        f.OpenWith(s), s.OffsetOf(s.Find(K::kKeyTable), 8), K::kKeyTable,
        "key lookup table of 19 entries for 99 live customers of which 40 are in key runs", path);
  }
  SECTION("a live key both in a run and in the hashed rest") {
    std::string& list = s.Payload(K::kCustomerKeys);
    SetU64(list, 9 + 8 * 2, 1005);  // row 82's key, which run 0 holds at row 5
    RequireRefused(f.OpenWith(s), s.OffsetOf(s.Find(K::kCustomerKeys), 9 + 8 * 2), K::kCustomerKeys,
                   "live row 82 has key 1005, which a key run also holds", path);
  }
  SECTION("key runs twice") {
    s.sections.insert(s.sections.begin() + static_cast<ptrdiff_t>(ri) + 1, s.sections[ri]);
    RequireRefused(f.OpenWith(s), s.OffsetOf(ri + 1, 0), K::kIntKeyRuns, "section appears twice",
                   path);
  }
}
