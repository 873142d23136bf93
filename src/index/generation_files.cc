// The files of an index directory: generation G is snapshot-<G>.tix and
// wal-<G>.log (docs/file_format.md); everything else of ours is stale.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "index/storage_internal.h"

namespace tagindex::internal {

namespace {
std::string GenName(const char* prefix, uint64_t gen, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s%020" PRIu64 "%s", prefix, gen, suffix);
  return buf;
}
}  // namespace

std::string SnapshotName(uint64_t gen) { return GenName("snapshot-", gen, ".tix"); }
std::string WalName(uint64_t gen) { return GenName("wal-", gen, ".log"); }
std::string Join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

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

}  // namespace tagindex::internal
