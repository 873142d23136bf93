// The log record format of every mutation kind: each Encode sits beside its
// Decode. The framing around a record (length, checksums) is storage/wal.cc;
// the full format, with the history of each type, is docs/wal_format.md.
//
// A record payload is one type byte and a body. Integers are little-endian.
//   bytes = u32 length, raw bytes          (names are stored normalised)
//   keys  = u8 kind (0 int64, 1 string), u32 n, n x i64 | n x bytes
//   rows  = u32 n, n x u32
//
//   type  kind                   body
//      1  add customers          u32 0, keys
//      2  remove rows            u32 0, rows
//      3  create category        bytes name, bytes description, u8 exclusive
//      4  create tag             u32 id, bytes name, bytes category,
//                                bytes description, u8 kind
//      5  rename tag             u32 id, bytes new name
//      6  set tag description    u32 id, bytes description
//      7  delete tag             u32 id [, u32 0 in logs before WAL v2]
//      8  tag keys               u32 tag id, keys
//      9  untag keys             u32 tag id, keys
//     10  tag rows               u32 tag id, rows
//     11  untag rows             u32 tag id, rows
//     12  import tag (v1)        bytes name, bytes category, bytes description,
//                                u8 kind, bytes portable  (read only: no id)
//     13  import tag             u32 id, bytes name, bytes category,
//                                bytes description, u8 kind, bytes portable
//     14  remove customers       keys (replay resolves them as the write did)
//     15  batch                  u32 n (>= 2), n x bytes (a record of types
//                                1..14 each); all-or-nothing: one record
//     16  create attribute       u32 id, bytes name, u8 type (0 int64,
//                                1 decimal, 2 date), u8 scale, bytes description
//     17  rename attribute       u32 id, bytes new name
//     18  drop attribute         u32 id
//     19  set attribute keys     u32 id, keys, u32 n, n x i64 values
//     20  set attribute rows     u32 id, rows, u32 n, n x i64 values
//     21  clear attribute rows   u32 id, rows
//     22  clear attribute keys   u32 id, keys  (WAL v5)
//     40  save segment           u32 id, bytes name, u8 dynamic, bytes query,
//                                u64 created (Unix µs), bytes portable
//                                (static: the members; dynamic: empty)
//     41  rename segment         u32 id, bytes new name
//     42  drop segment           u32 id
//     43  define rule tag        u32 id, bytes name, bytes category,
//                                bytes description, bytes query, u8 policy,
//                                i64 as_of (days), bytes portable members
//     44  redefine rule tag      u32 id, bytes query, u8 policy, i64 as_of,
//                                bytes portable members
//     45  refresh rule tag       u32 id, i64 as_of, u8 incremental,
//                                bytes portable entered, bytes portable left
//   (23..39 belong to other kinds; 40..59 to saved segments and rule tags)
//
// Values are never changed or reused. A new kind takes the next value.
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "index/mutation.h"
#include "storage/coding.h"
#include "util/error_info.h"

namespace tagindex::internal {
namespace {

using storage::Decoder;
using storage::PutBytes;
using storage::PutU32;
using storage::PutU8;

enum RecordType : uint8_t {
  kAddCustomers = 1,
  kRemoveRows = 2,
  kCreateCategory = 3,
  kCreateTag = 4,
  kRenameTag = 5,
  kSetTagDescription = 6,
  kDeleteTag = 7,
  kTagKeys = 8,
  kUntagKeys = 9,
  kTagRows = 10,
  kUntagRows = 11,
  kImportTagV1 = 12,
  kImportTag = 13,
  kRemoveCustomers = 14,
  kBatch = 15,
  kCreateAttribute = 16,
  kRenameAttribute = 17,
  kDropAttribute = 18,
  kSetAttributeKeys = 19,
  kSetAttributeRows = 20,
  kClearAttributeRows = 21,
  kClearAttributeKeys = 22,
  kSaveSegment = 40,
  kRenameSegment = 41,
  kDropSegment = 42,
  kDefineRule = 43,
  kRedefineRule = 44,
  kRefreshRule = 45,
};

constexpr uint8_t kIntKeys = 0;     // never change
constexpr uint8_t kStringKeys = 1;  // never change

// ---- shared pieces ---------------------------------------------------------------

void PutKeys(std::string* out, const KeyList& keys) {
  PutU8(out, keys.is_string ? kStringKeys : kIntKeys);
  PutU32(out, static_cast<uint32_t>(keys.size()));
  if (keys.is_string) {
    for (std::string_view k : keys.strings) PutBytes(out, k);
  } else if (!keys.ints.empty()) {
    out->append(reinterpret_cast<const char*>(keys.ints.data()), keys.ints.size() * 8);
  }
}

bool GetKeys(Decoder& d, DecodeArena* arena, KeyList* keys) {
  const uint8_t kind = d.U8();
  const uint32_t n = d.U32();
  if (!d.ok()) return false;
  if (kind == kIntKeys) {
    if (!d.CanHold(n, 8)) return false;
    std::span<const char> raw = d.Raw(size_t{n} * 8);
    if (!d.ok()) return false;
    std::vector<int64_t>& v = arena->ints.emplace_back(n);
    if (n > 0) std::memcpy(v.data(), raw.data(), raw.size());
    *keys = KeyList::Of(std::span<const int64_t>(v));
    return true;
  }
  if (kind != kStringKeys || !d.CanHold(n, 4)) return false;
  std::vector<std::string_view>& v = arena->strings.emplace_back();
  v.reserve(n);
  for (uint32_t i = 0; i < n && d.ok(); ++i) v.push_back(d.Bytes());
  *keys = KeyList::Of(std::span<const std::string_view>(v));
  return d.ok();
}

void PutRows(std::string* out, std::span<const RowId> rows) {
  PutU32(out, static_cast<uint32_t>(rows.size()));
  if (!rows.empty()) out->append(reinterpret_cast<const char*>(rows.data()), rows.size() * 4);
}

bool GetRows(Decoder& d, DecodeArena* arena, std::span<const RowId>* rows) {
  const uint32_t n = d.U32();
  if (!d.CanHold(n, 4)) return false;
  std::span<const char> raw = d.Raw(size_t{n} * 4);
  if (!d.ok()) return false;
  std::vector<RowId>& v = arena->rows.emplace_back(n);
  if (n > 0) std::memcpy(v.data(), raw.data(), raw.size());
  *rows = v;
  return true;
}

bool GetKind(Decoder& d, TagKind* kind) {
  const uint8_t k = d.U8();
  if (k > static_cast<uint8_t>(TagKind::kRule)) return false;
  *kind = static_cast<TagKind>(k);
  return true;
}

// ---- one Encode and one Decode per kind ---------------------------------------------

void Encode(const AddCustomersMutation& m, std::string* out) {
  PutU8(out, kAddCustomers);
  PutU32(out, 0);
  PutKeys(out, m.keys);
}

void Encode(const RemoveCustomersMutation& m, std::string* out) {
  PutU8(out, kRemoveCustomers);
  PutKeys(out, m.keys);
}

void Encode(const RemoveRowsMutation& m, std::string* out) {
  PutU8(out, kRemoveRows);
  PutU32(out, 0);
  PutRows(out, m.rows);
}

void Encode(const CreateCategoryMutation& m, std::string* out) {
  PutU8(out, kCreateCategory);
  PutBytes(out, m.name);
  PutBytes(out, m.description);
  PutU8(out, m.exclusive ? 1 : 0);
}

void Encode(const CreateTagMutation& m, std::string* out) {
  PutU8(out, kCreateTag);
  PutU32(out, m.id);
  PutBytes(out, m.name);
  PutBytes(out, m.category);
  PutBytes(out, m.description);
  PutU8(out, static_cast<uint8_t>(m.kind));
}

void Encode(const RenameTagMutation& m, std::string* out) {
  PutU8(out, kRenameTag);
  PutU32(out, m.tag.value);
  PutBytes(out, m.name);
}

void Encode(const SetTagDescriptionMutation& m, std::string* out) {
  PutU8(out, kSetTagDescription);
  PutU32(out, m.tag.value);
  PutBytes(out, m.description);
}

void Encode(const DeleteTagMutation& m, std::string* out) {
  PutU8(out, kDeleteTag);
  PutU32(out, m.tag.value);
}

void Encode(const TagKeysMutation& m, std::string* out) {
  PutU8(out, m.add ? kTagKeys : kUntagKeys);
  PutU32(out, m.tag.value);
  PutKeys(out, m.keys);
}

void Encode(const TagRowsMutation& m, std::string* out) {
  PutU8(out, m.add ? kTagRows : kUntagRows);
  PutU32(out, m.tag.value);
  PutRows(out, m.rows);
}

void Encode(const ImportTagMutation& m, std::string* out) {
  // Without an id (a decoded version 1 record) it is written as it was read.
  if (m.id == kUnassignedTagId) {
    PutU8(out, kImportTagV1);
  } else {
    PutU8(out, kImportTag);
    PutU32(out, m.id);
  }
  PutBytes(out, m.name);
  PutBytes(out, m.category);
  PutBytes(out, m.description);
  PutU8(out, static_cast<uint8_t>(m.kind));
  PutBytes(out, m.portable);
}

void PutValues(std::string* out, std::span<const int64_t> values) {
  PutU32(out, static_cast<uint32_t>(values.size()));
  if (!values.empty()) out->append(reinterpret_cast<const char*>(values.data()), values.size() * 8);
}

bool GetValues(Decoder& d, DecodeArena* arena, std::span<const int64_t>* values) {
  const uint32_t n = d.U32();
  if (!d.CanHold(n, 8)) return false;
  std::span<const char> raw = d.Raw(size_t{n} * 8);
  if (!d.ok()) return false;
  std::vector<int64_t>& v = arena->ints.emplace_back(n);
  if (n > 0) std::memcpy(v.data(), raw.data(), raw.size());
  *values = v;
  return true;
}

void Encode(const CreateAttributeMutation& m, std::string* out) {
  PutU8(out, kCreateAttribute);
  PutU32(out, m.id);
  PutBytes(out, m.name);
  PutU8(out, static_cast<uint8_t>(m.type));
  PutU8(out, static_cast<uint8_t>(m.scale));
  PutBytes(out, m.description);
}
void Encode(const RenameAttributeMutation& m, std::string* out) {
  PutU8(out, kRenameAttribute);
  PutU32(out, m.attribute.value);
  PutBytes(out, m.name);
}
void Encode(const DropAttributeMutation& m, std::string* out) {
  PutU8(out, kDropAttribute);
  PutU32(out, m.attribute.value);
}
void Encode(const SetAttributeKeysMutation& m, std::string* out) {
  PutU8(out, m.clear ? kClearAttributeKeys : kSetAttributeKeys);
  PutU32(out, m.attribute.value);
  PutKeys(out, m.keys);
  if (!m.clear) PutValues(out, m.values);
}
void Encode(const SetAttributeRowsMutation& m, std::string* out) {
  PutU8(out, m.clear ? kClearAttributeRows : kSetAttributeRows);
  PutU32(out, m.attribute.value);
  PutRows(out, m.rows);
  if (!m.clear) PutValues(out, m.values);
}

void Encode(const SaveSegmentMutation& m, std::string* out) {
  PutU8(out, kSaveSegment);
  PutU32(out, m.id);
  PutBytes(out, m.name);
  PutU8(out, m.dynamic ? 1 : 0);
  PutBytes(out, m.query);
  storage::PutU64(out, static_cast<uint64_t>(m.created_micros));
  if (m.members != nullptr) {
    std::string blob;
    m.members->PortableSerialize(&blob);
    PutBytes(out, blob);
  } else {
    PutBytes(out, m.portable);
  }
}
void Encode(const RenameSegmentMutation& m, std::string* out) {
  PutU8(out, kRenameSegment);
  PutU32(out, m.id);
  PutBytes(out, m.name);
}
void Encode(const DropSegmentMutation& m, std::string* out) {
  PutU8(out, kDropSegment);
  PutU32(out, m.id);
}

void PutBitmap(std::string* out, const Bitmap* live, std::string_view logged) {
  if (live == nullptr) {
    PutBytes(out, logged);
    return;
  }
  std::string blob;
  live->PortableSerialize(&blob);
  PutBytes(out, blob);
}
void Encode(const DefineRuleMutation& m, std::string* out) {
  PutU8(out, m.redefine ? kRedefineRule : kDefineRule);
  PutU32(out, m.id);
  if (!m.redefine) {
    PutBytes(out, m.name);
    PutBytes(out, m.category);
    PutBytes(out, m.description);
  }
  PutBytes(out, m.query);
  PutU8(out, static_cast<uint8_t>(m.policy));
  storage::PutU64(out, static_cast<uint64_t>(m.as_of));
  PutBitmap(out, m.members, m.portable);
}
void Encode(const RefreshRuleMutation& m, std::string* out) {
  PutU8(out, kRefreshRule);
  PutU32(out, m.tag.value);
  storage::PutU64(out, static_cast<uint64_t>(m.as_of));
  PutU8(out, m.incremental ? 1 : 0);
  PutBitmap(out, m.entered, m.entered_portable);
  PutBitmap(out, m.left, m.left_portable);
}

// Decodes the body of a record of `type` (the type byte already read).
// Returns false on malformed bytes.
bool DecodeBody(uint8_t type, Decoder& d, DecodeArena* arena, Mutation* out) {
  switch (type) {
    case kAddCustomers: {
      AddCustomersMutation m;
      if (d.U32() != 0 || !GetKeys(d, arena, &m.keys)) return false;
      *out = m;
      return true;
    }
    case kRemoveCustomers: {
      RemoveCustomersMutation m;
      if (!GetKeys(d, arena, &m.keys)) return false;
      *out = m;
      return true;
    }
    case kRemoveRows: {
      RemoveRowsMutation m;
      if (d.U32() != 0 || !GetRows(d, arena, &m.rows)) return false;
      *out = m;
      return true;
    }
    case kCreateCategory: {
      CreateCategoryMutation m;
      m.name = d.Bytes();
      m.description = d.Bytes();
      const uint8_t exclusive = d.U8();
      if (exclusive > 1) return false;
      m.exclusive = exclusive == 1;
      *out = m;
      return true;
    }
    case kCreateTag: {
      CreateTagMutation m;
      m.id = d.U32();
      m.name = d.Bytes();
      m.category = d.Bytes();
      m.description = d.Bytes();
      if (!GetKind(d, &m.kind) || m.id == kUnassignedTagId) return false;
      *out = m;
      return true;
    }
    case kRenameTag: {
      RenameTagMutation m;
      m.tag = TagId{d.U32()};
      m.name = d.Bytes();
      *out = m;
      return true;
    }
    case kSetTagDescription: {
      SetTagDescriptionMutation m;
      m.tag = TagId{d.U32()};
      m.description = d.Bytes();
      *out = m;
      return true;
    }
    case kDeleteTag: {
      DeleteTagMutation m;
      m.tag = TagId{d.U32()};
      // Logs before WAL v2 wrote an empty row list after the id.
      if (d.remaining() == 4 && d.U32() != 0) return false;
      *out = m;
      return true;
    }
    case kTagKeys:
    case kUntagKeys: {
      TagKeysMutation m;
      m.add = type == kTagKeys;
      m.tag = TagId{d.U32()};
      if (!GetKeys(d, arena, &m.keys)) return false;
      *out = m;
      return true;
    }
    case kTagRows:
    case kUntagRows: {
      TagRowsMutation m;
      m.add = type == kTagRows;
      m.tag = TagId{d.U32()};
      if (!GetRows(d, arena, &m.rows)) return false;
      *out = m;
      return true;
    }
    case kImportTagV1:
    case kImportTag: {
      ImportTagMutation m;
      // v1 records carry no id: the tag took the next one, which Validate
      // assigns again (kUnassignedTagId).
      if (type == kImportTag) {
        m.id = d.U32();
        if (m.id == kUnassignedTagId) return false;
      }
      m.name = d.Bytes();
      m.category = d.Bytes();
      m.description = d.Bytes();
      if (!GetKind(d, &m.kind)) return false;
      m.portable = d.Bytes();
      *out = m;
      return true;
    }
    case kCreateAttribute: {
      CreateAttributeMutation m;
      m.id = d.U32();
      m.name = d.Bytes();
      const uint8_t type = d.U8();
      m.scale = d.U8();
      m.description = d.Bytes();
      if (type > static_cast<uint8_t>(AttributeType::kDate) || m.id == kUnassignedAttributeId) {
        return false;
      }
      m.type = static_cast<AttributeType>(type);
      *out = m;
      return true;
    }
    case kRenameAttribute: {
      RenameAttributeMutation m;
      m.attribute = AttributeId{d.U32()};
      m.name = d.Bytes();
      *out = m;
      return true;
    }
    case kDropAttribute: {
      DropAttributeMutation m;
      m.attribute = AttributeId{d.U32()};
      *out = m;
      return true;
    }
    case kSetAttributeKeys:
    case kClearAttributeKeys: {
      SetAttributeKeysMutation m;
      m.clear = type == kClearAttributeKeys;
      m.attribute = AttributeId{d.U32()};
      if (!GetKeys(d, arena, &m.keys)) return false;
      if (!m.clear && (!GetValues(d, arena, &m.values) || m.values.size() != m.keys.size())) {
        return false;
      }
      *out = m;
      return true;
    }
    case kSetAttributeRows:
    case kClearAttributeRows: {
      SetAttributeRowsMutation m;
      m.clear = type == kClearAttributeRows;
      m.attribute = AttributeId{d.U32()};
      if (!GetRows(d, arena, &m.rows)) return false;
      if (!m.clear && (!GetValues(d, arena, &m.values) || m.values.size() != m.rows.size())) {
        return false;
      }
      *out = m;
      return true;
    }
    case kSaveSegment: {
      SaveSegmentMutation m;
      m.id = d.U32();
      m.name = d.Bytes();
      const uint8_t dynamic = d.U8();
      m.query = d.Bytes();
      m.created_micros = static_cast<int64_t>(d.U64());
      m.portable = d.Bytes();
      if (dynamic > 1 || m.id == kUnassignedSegmentId) return false;
      m.dynamic = dynamic == 1;
      if (m.dynamic && !m.portable.empty()) return false;
      *out = m;
      return true;
    }
    case kRenameSegment: {
      RenameSegmentMutation m;
      m.id = d.U32();
      m.name = d.Bytes();
      *out = m;
      return true;
    }
    case kDropSegment: {
      DropSegmentMutation m;
      m.id = d.U32();
      *out = m;
      return true;
    }
    case kDefineRule:
    case kRedefineRule: {
      DefineRuleMutation m;
      m.redefine = type == kRedefineRule;
      m.id = d.U32();
      if (!m.redefine) {
        m.name = d.Bytes();
        m.category = d.Bytes();
        m.description = d.Bytes();
      }
      m.query = d.Bytes();
      const uint8_t policy = d.U8();
      m.as_of = static_cast<int64_t>(d.U64());
      m.portable = d.Bytes();
      if (policy > static_cast<uint8_t>(RefreshPolicy::kOnCommit) || m.id == kUnassignedTagId) {
        return false;
      }
      m.policy = static_cast<RefreshPolicy>(policy);
      *out = m;
      return true;
    }
    case kRefreshRule: {
      RefreshRuleMutation m;
      m.tag = TagId{d.U32()};
      m.as_of = static_cast<int64_t>(d.U64());
      const uint8_t incremental = d.U8();
      m.entered_portable = d.Bytes();
      m.left_portable = d.Bytes();
      if (incremental > 1) return false;
      m.incremental = incremental == 1;
      *out = m;
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

std::string EncodeRecord(std::span<const Mutation> items) {
  std::string out;
  if (items.size() == 1) {
    std::visit([&](const auto& m) { Encode(m, &out); }, items[0]);
    return out;
  }
  PutU8(&out, kBatch);
  PutU32(&out, static_cast<uint32_t>(items.size()));
  std::string item;
  for (const Mutation& m : items) {
    item.clear();
    std::visit([&](const auto& x) { Encode(x, &item); }, m);
    PutBytes(&out, item);
  }
  return out;
}

absl::Status DecodeRecord(std::span<const char> payload, DecodeArena* arena,
                          std::vector<Mutation>* out) {
  Decoder d(payload);
  const uint8_t type = d.U8();
  if (!d.ok()) return util::CorruptFile("log", std::nullopt, "empty record");
  if (type != kBatch) {
    Mutation m;
    if (!DecodeBody(type, d, arena, &m) || !d.ok() || d.remaining() != 0) {
      return util::CorruptFile("log", std::nullopt,
                               absl::StrCat("malformed record of type ", type));
    }
    out->push_back(m);
    return absl::OkStatus();
  }
  const uint32_t n = d.U32();
  if (!d.ok() || n < 2 || !d.CanHold(n, 5))
    return util::CorruptFile("log", std::nullopt, "malformed batch record");
  out->reserve(out->size() + n);
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view item = d.Bytes();
    if (!d.ok())
      return util::CorruptFile("log", std::nullopt,
                               absl::StrCat("batch record: item ", i, " is cut off"));
    Decoder id(std::span<const char>(item.data(), item.size()));
    const uint8_t item_type = id.U8();
    Mutation m;
    if (!id.ok() || item_type == kBatch || !DecodeBody(item_type, id, arena, &m) || !id.ok() ||
        id.remaining() != 0) {
      return util::CorruptFile(
          "log", std::nullopt,
          absl::StrCat("batch record: item ", i, " is a malformed record of type ", item_type));
    }
    out->push_back(m);
  }
  if (d.remaining() != 0)
    return util::CorruptFile("log", std::nullopt, "batch record: trailing bytes");
  return absl::OkStatus();
}

const char* KindName(const Mutation& m) {
  struct Names {
    const char* operator()(const AddCustomersMutation&) { return "add customers"; }
    const char* operator()(const RemoveCustomersMutation&) { return "remove customers"; }
    const char* operator()(const RemoveRowsMutation&) { return "remove rows"; }
    const char* operator()(const CreateCategoryMutation&) { return "create category"; }
    const char* operator()(const CreateTagMutation&) { return "create tag"; }
    const char* operator()(const RenameTagMutation&) { return "rename tag"; }
    const char* operator()(const SetTagDescriptionMutation&) { return "set tag description"; }
    const char* operator()(const DeleteTagMutation&) { return "delete tag"; }
    const char* operator()(const TagKeysMutation& x) { return x.add ? "tag keys" : "untag keys"; }
    const char* operator()(const TagRowsMutation& x) { return x.add ? "tag rows" : "untag rows"; }
    const char* operator()(const ImportTagMutation&) { return "import tag"; }
    const char* operator()(const CreateAttributeMutation&) { return "create attribute"; }
    const char* operator()(const RenameAttributeMutation&) { return "rename attribute"; }
    const char* operator()(const DropAttributeMutation&) { return "drop attribute"; }
    const char* operator()(const SetAttributeKeysMutation& x) {
      return x.clear ? "clear attribute keys" : "set attribute keys";
    }
    const char* operator()(const SetAttributeRowsMutation& x) {
      return x.clear ? "clear attribute rows" : "set attribute rows";
    }
    const char* operator()(const SaveSegmentMutation&) { return "save segment"; }
    const char* operator()(const RenameSegmentMutation&) { return "rename segment"; }
    const char* operator()(const DropSegmentMutation&) { return "drop segment"; }
    const char* operator()(const DefineRuleMutation& x) {
      return x.redefine ? "redefine rule tag" : "define rule tag";
    }
    const char* operator()(const RefreshRuleMutation&) { return "refresh rule tag"; }
  };
  return std::visit(Names{}, m);
}

}  // namespace tagindex::internal
