// KeyMap: customer key <-> dense row id.
#ifndef TAGINDEX_INDEX_KEY_MAP_H_
#define TAGINDEX_INDEX_KEY_MAP_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "index/int_key_table.h"
#include "tagindex/types.h"
#include "util/hash.h"

namespace tagindex::internal {

// Maps live keys to row ids and every assigned row id back to the key it was
// assigned for. Liveness of a row is the universe bitmap's business, not the
// KeyMap's: the reverse table keeps the key of a removed row (so that
// recovery and diagnostics can name it) while the forward table forgets it.
//
// For KeyKind::kIdentity no table is kept: key k is row k.
//
// Not thread-safe; IndexState's lock guards it.
class KeyMap {
 public:
  explicit KeyMap(KeyKind kind);

  KeyKind kind() const { return kind_; }

  std::optional<RowId> Find(int64_t key) const;
  std::optional<RowId> Find(std::string_view key) const;

  // Records that `key` now lives at `row` (a fresh row id, never used).
  void Insert(int64_t key, RowId row);
  void Insert(std::string_view key, RowId row);

  // Forgets the forward entry of `row`'s key (the customer was removed).
  void EraseRow(RowId row);

  // The key `row` was assigned for. `row` must have been assigned.
  CustomerKey KeyOf(RowId row) const;

  // Recovery: installs the reverse table (row -> key, for every assigned
  // row) and the forward entries of `live_rows`. Returns false if two live
  // rows share a key (a corrupt snapshot).
  bool Restore(std::vector<int64_t> reverse, std::span<const RowId> live_rows);
  bool Restore(std::vector<std::string> reverse, std::span<const RowId> live_rows);

  // Number of live forward entries (not meaningful for kIdentity).
  size_t size() const;

  // Reverse tables, indexed by row id (for serialisation).
  const std::vector<int64_t>& int_keys() const { return int_keys_; }
  const std::vector<std::string>& string_keys() const { return string_keys_; }

 private:
  KeyKind kind_;
  IntKeyTable int_rows_;
  absl::flat_hash_map<std::string, RowId, util::StringHash, util::StringEq> string_rows_;
  std::vector<int64_t> int_keys_;         // row -> key (kInt64)
  std::vector<std::string> string_keys_;  // row -> key (kString)
};

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_KEY_MAP_H_
