// The MANIFEST of a sharded index (docs/sharding.md): text lines, escaped
// fields, a checksum line. Encode / Decode here; ShardedIndex writes it
// atomically (temp file, fsync, rename, fsync of the directory).
#ifndef TAGINDEX_SHARD_MANIFEST_H_
#define TAGINDEX_SHARD_MANIFEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tagindex/index.h"
#include "tagindex/types.h"

namespace tagindex::shard {

inline constexpr std::string_view kManifestMagic = "tagindex-sharded-manifest";
inline constexpr int kManifestVersion = 1;
inline constexpr char kManifestName[] = "MANIFEST";

// The most shards an index may have (creation and the manifest reader).
inline constexpr uint32_t kMaxShards = 4096;

// A catalog change recorded before it is applied to the shards.
// kind: "create_category" name exclusive(0|1) description
//       "create_tag" category name description kind(0|1)
//       "rename_tag" id new_name
//       "describe_tag" id description
//       "delete_tag" id
//       "create_attribute" name type(0|1|2) scale description
//       "rename_attribute" name new_name
//       "drop_attribute" name
struct Intent {
  std::string kind;
  std::vector<std::string> args;
};

struct Manifest {
  uint64_t generation = 0;
  uint32_t shards = 0;  // 1..kMaxShards
  KeyKind key_kind = KeyKind::kInt64;
  uint64_t rows_per_shard = 0;  // kIdentity only
  // The catalog as CatalogOf() writes it (lines, each ending in '\n').
  std::string catalog;
  std::optional<Intent> intent;
};

// Percent-escapes bytes <= 0x20, '%', '~' and 0x7f; "~" is the empty string.
std::string EscapeField(std::string_view s);
std::optional<std::string> UnescapeField(std::string_view s);

std::string EncodeManifest(const Manifest& m);
// `where` names the file in errors ("<path>: line N: problem"). DataLoss for
// damage (bad checksum, bad line), FailedPrecondition for a newer version.
absl::StatusOr<Manifest> DecodeManifest(std::string_view bytes, std::string_view where);

std::string EncodeIntent(const Intent& intent);

// The catalog of an index as manifest lines (no counts): categories, tags
// and attributes, each in the index's listing order.
std::string CatalogOf(const Index& index);

// Applies an intent to one index. Returns the id it assigned (tag or
// attribute), 0 for other kinds.
absl::StatusOr<uint32_t> ApplyIntent(Index& index, const Intent& intent);

// The first line where two catalogs differ, for error messages.
std::string FirstDifference(std::string_view a, std::string_view b);

}  // namespace tagindex::shard

#endif  // TAGINDEX_SHARD_MANIFEST_H_
