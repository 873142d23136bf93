#include "shard/manifest.h"

#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <new>

#include "absl/strings/str_cat.h"
#include "tagindex/sharded_index.h"
#include "util/hash.h"
#include "util/status_macros.h"

namespace tagindex::shard {
namespace {

bool NeedsEscape(unsigned char c) { return c <= 0x20 || c == '%' || c == '~' || c == 0x7f; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return buf;
}

}  // namespace

std::string EscapeField(std::string_view s) {
  if (s.empty()) return "~";
  std::string out;
  out.reserve(s.size());
  static const char kHex[] = "0123456789abcdef";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (NeedsEscape(c)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

std::optional<std::string> UnescapeField(std::string_view s) {
  if (s == "~") return std::string();
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '~') return std::nullopt;
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  if (out.empty()) return std::nullopt;  // the empty string is "~"
  return out;
}

std::string EncodeIntent(const Intent& intent) {
  std::string line = EscapeField(intent.kind);
  for (const std::string& a : intent.args) absl::StrAppend(&line, " ", EscapeField(a));
  return line;
}

std::string EncodeManifest(const Manifest& m) {
  std::string out = absl::StrCat(std::string(kManifestMagic), " ", kManifestVersion, "\n");
  absl::StrAppend(&out, "generation ", m.generation, "\n");
  absl::StrAppend(&out, "shards ", m.shards, "\n");
  const char* kind = m.key_kind == KeyKind::kInt64    ? "int64"
                     : m.key_kind == KeyKind::kString ? "string"
                                                      : "identity";
  absl::StrAppend(&out, "key_kind ", kind, "\n");
  if (m.key_kind == KeyKind::kIdentity) {
    absl::StrAppend(&out, "routing range ", m.rows_per_shard, "\n");
  } else {
    absl::StrAppend(&out, "routing xxh3 ", Hex64(kShardRoutingSeed), "\n");
  }
  out += m.catalog;
  if (m.intent) absl::StrAppend(&out, "intent ", EncodeIntent(*m.intent), "\n");
  absl::StrAppend(&out, "checksum ", Hex64(util::Xxh3(out)), "\n");
  return out;
}

absl::StatusOr<Manifest> DecodeManifest(std::string_view bytes, std::string_view where) {
  auto bad = [&](size_t line, std::string_view what) {
    return absl::DataLossError(absl::StrCat("sharded index: ", std::string(where), ": line ", line,
                                            ": ", std::string(what)));
  };
  // The checksum line covers every byte before it.
  const size_t tail = bytes.rfind("checksum ");
  if (tail == std::string_view::npos || (tail != 0 && bytes[tail - 1] != '\n')) {
    return bad(0, "no checksum line (the file is truncated or not a manifest)");
  }
  std::string_view sum = bytes.substr(tail + 9);
  if (sum.empty() || sum.back() != '\n') return bad(0, "the checksum line is cut short");
  sum.remove_suffix(1);
  const std::string body(bytes.substr(0, tail));
  if (sum != Hex64(util::Xxh3(body))) {
    return bad(0, absl::StrCat("checksum mismatch (stored ", std::string(sum), ", computed ",
                               Hex64(util::Xxh3(body)), "): the file is damaged"));
  }
  Manifest m;
  bool have_gen = false, have_shards = false, have_kind = false, have_routing = false;
  size_t number = 0;
  for (std::string_view line : Split(body, '\n')) {
    ++number;
    if (line.empty()) continue;
    const std::vector<std::string_view> f = Split(line, ' ');
    if (number == 1) {
      int version = 0;
      if (f.size() != 2 || f[0] != kManifestMagic || !ParseInt(f[1], &version)) {
        return bad(number, "not a sharded-index manifest (bad first line)");
      }
      if (version > kManifestVersion) {
        return absl::FailedPreconditionError(
            absl::StrCat("sharded index: ", std::string(where), ": manifest version ", version,
                         " is newer than this library's (", kManifestVersion, ")"));
      }
      continue;
    }
    const std::string_view key = f[0];
    if (key == "generation" && f.size() == 2 && ParseInt(f[1], &m.generation)) {
      have_gen = true;
    } else if (key == "shards" && f.size() == 2 && ParseInt(f[1], &m.shards)) {
      // The count sizes the work of Open (one shard directory each): bound
      // it before anything is opened, with the limit creation enforces.
      if (m.shards == 0 || m.shards > kMaxShards) {
        return bad(number, absl::StrCat("shards must be 1..", kMaxShards, ", not ", m.shards));
      }
      have_shards = true;
    } else if (key == "key_kind" && f.size() == 2) {
      if (f[1] == "int64") {
        m.key_kind = KeyKind::kInt64;
      } else if (f[1] == "string") {
        m.key_kind = KeyKind::kString;
      } else if (f[1] == "identity") {
        m.key_kind = KeyKind::kIdentity;
      } else {
        return bad(number, absl::StrCat("unknown key kind '", std::string(f[1]), "'"));
      }
      have_kind = true;
    } else if (key == "routing" && f.size() == 3 && f[1] == "range" &&
               ParseInt(f[2], &m.rows_per_shard) && m.rows_per_shard > 0) {
      have_routing = true;
    } else if (key == "routing" && f.size() == 3 && f[1] == "xxh3") {
      if (f[2] != Hex64(kShardRoutingSeed)) {
        return bad(number, "routing seed differs from this library's frozen seed");
      }
      have_routing = true;
    } else if (key == "category" || key == "tag" || key == "attribute") {
      for (size_t i = 1; i < f.size(); ++i) {
        if (!UnescapeField(f[i])) return bad(number, "badly escaped field");
      }
      const size_t want = key == "category" ? 4 : key == "tag" ? 6 : 6;
      if (f.size() != want)
        return bad(number,
                   absl::StrCat("a ", std::string(key), " line needs ", want - 1, " fields"));
      absl::StrAppend(&m.catalog, std::string(line), "\n");
    } else if (key == "intent" && f.size() >= 2 && !m.intent) {
      Intent in;
      for (size_t i = 1; i < f.size(); ++i) {
        auto v = UnescapeField(f[i]);
        if (!v) return bad(number, "badly escaped intent field");
        (i == 1 ? in.kind : in.args.emplace_back()) = *v;
      }
      m.intent = std::move(in);
    } else {
      return bad(number, absl::StrCat("unexpected line '", std::string(line.substr(0, 80)), "'"));
    }
  }
  if (!have_gen || !have_shards || !have_kind || !have_routing) {
    return bad(number, "missing generation, shards, key_kind or routing line");
  }
  if ((m.key_kind == KeyKind::kIdentity) != (m.rows_per_shard > 0)) {
    return bad(number, "identity keys need range routing, other keys xxh3 routing");
  }
  return m;
}

namespace {
// The lists' only error is out of memory: thrown again here, like the
// string CatalogOf builds would throw, for its callers' boundary.
template <typename T>
T OrBadAlloc(absl::StatusOr<T> list) {
  if (!list.ok()) throw std::bad_alloc();
  return *std::move(list);
}
}  // namespace

std::string CatalogOf(const Index& index) {
  std::string out;
  for (const CategoryInfo& c : OrBadAlloc(index.ListCategories())) {
    absl::StrAppend(&out, "category ", EscapeField(c.name), " ", c.exclusive ? 1 : 0, " ",
                    EscapeField(c.description), "\n");
  }
  for (const TagInfo& t : OrBadAlloc(index.ListTags())) {
    absl::StrAppend(&out, "tag ", t.id.value, " ", EscapeField(t.category), " ",
                    EscapeField(t.name), " ", EscapeField(t.description), " ",
                    static_cast<int>(t.kind), "\n");
  }
  for (const AttributeInfo& a : OrBadAlloc(index.ListAttributes())) {
    absl::StrAppend(&out, "attribute ", a.id.value, " ", EscapeField(a.name), " ",
                    static_cast<int>(a.type), " ", a.scale, " ", EscapeField(a.description), "\n");
  }
  return out;
}

absl::StatusOr<uint32_t> ApplyIntent(Index& index, const Intent& in) {
  auto need = [&](size_t n) -> absl::Status {
    if (in.args.size() != n) {
      return absl::DataLossError(absl::StrCat("sharded index: intent '", in.kind, "' has ",
                                              in.args.size(), " fields, expected ", n));
    }
    return absl::OkStatus();
  };
  auto id_arg = [&](size_t i, uint32_t* id) -> absl::Status {
    if (!ParseInt(std::string_view(in.args[i]), id)) {
      return absl::DataLossError(
          absl::StrCat("sharded index: intent '", in.kind, "': bad id '", in.args[i], "'"));
    }
    return absl::OkStatus();
  };
  if (in.kind == "create_category") {
    TI_RETURN_IF_ERROR(need(3));
    TI_RETURN_IF_ERROR(index.CreateCategory(
        in.args[0], {.exclusive = in.args[1] == "1", .description = in.args[2]}));
    return 0u;
  }
  if (in.kind == "create_tag") {
    TI_RETURN_IF_ERROR(need(4));
    TagSpec spec{.name = in.args[1],
                 .category = in.args[0],
                 .description = in.args[2],
                 .kind = in.args[3] == "1" ? TagKind::kRule : TagKind::kManual};
    TI_ASSIGN_OR_RETURN(TagId id, index.CreateTag(spec));
    return id.value;
  }
  if (in.kind == "rename_tag" || in.kind == "describe_tag") {
    TI_RETURN_IF_ERROR(need(2));
    uint32_t id = 0;
    TI_RETURN_IF_ERROR(id_arg(0, &id));
    TI_RETURN_IF_ERROR(in.kind == "rename_tag" ? index.RenameTag(TagId{id}, in.args[1])
                                               : index.SetTagDescription(TagId{id}, in.args[1]));
    return 0u;
  }
  if (in.kind == "delete_tag") {
    TI_RETURN_IF_ERROR(need(1));
    uint32_t id = 0;
    TI_RETURN_IF_ERROR(id_arg(0, &id));
    TI_RETURN_IF_ERROR(index.DeleteTag(TagId{id}));
    return 0u;
  }
  if (in.kind == "create_attribute") {
    TI_RETURN_IF_ERROR(need(4));
    uint32_t type = 0, scale = 0;
    TI_RETURN_IF_ERROR(id_arg(1, &type));
    TI_RETURN_IF_ERROR(id_arg(2, &scale));
    if (type > 2) return absl::DataLossError("sharded index: intent: bad attribute type");
    AttributeSpec spec{.name = in.args[0],
                       .type = static_cast<AttributeType>(type),
                       .scale = static_cast<int>(scale),
                       .description = in.args[3]};
    TI_ASSIGN_OR_RETURN(AttributeId id, index.CreateAttribute(spec));
    return id.value;
  }
  if (in.kind == "rename_attribute") {
    TI_RETURN_IF_ERROR(need(2));
    TI_RETURN_IF_ERROR(index.RenameAttribute(in.args[0], in.args[1]));
    return 0u;
  }
  if (in.kind == "drop_attribute") {
    TI_RETURN_IF_ERROR(need(1));
    TI_RETURN_IF_ERROR(index.DropAttribute(in.args[0]));
    return 0u;
  }
  return absl::DataLossError(absl::StrCat("sharded index: unknown intent kind '", in.kind, "'"));
}

std::string FirstDifference(std::string_view a, std::string_view b) {
  const std::vector<std::string_view> la = Split(a, '\n'), lb = Split(b, '\n');
  for (size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    std::string_view x = i < la.size() ? la[i] : "(nothing)";
    std::string_view y = i < lb.size() ? lb[i] : "(nothing)";
    if (x != y) return absl::StrCat("'", std::string(x), "' vs '", std::string(y), "'");
  }
  return "no difference";
}

}  // namespace tagindex::shard
