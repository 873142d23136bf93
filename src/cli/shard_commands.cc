// `tagindex shard ...` and the sharded forms of query / count / explain /
// tags (used when the directory holds a sharded index's MANIFEST).
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "tagindex/sharded_index.h"

namespace tagindex::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string KeyText(const CustomerKey& key) {
  if (const int64_t* i = std::get_if<int64_t>(&key)) return absl::StrCat(*i);
  return std::get<std::string>(key);
}

std::string KeyJson(const CustomerKey& key) {
  if (const int64_t* i = std::get_if<int64_t>(&key)) return absl::StrCat(*i);
  return JsonString(std::get<std::string>(key));
}

absl::StatusOr<std::unique_ptr<ShardedIndex>> OpenShardedForReading(const std::string& dir,
                                                                    uint32_t threads) {
  ShardedOpenOptions o;
  o.shard.read_only = true;
  o.shard.create_if_missing = false;
  o.threads = threads;
  return ShardedIndex::Open(dir, o);
}

const char* KindName(KeyKind k) {
  return k == KeyKind::kInt64 ? "int64" : k == KeyKind::kString ? "string" : "identity";
}

// The one-line result of `shard split` and `shard reshard`: the new sharded
// index's size, per-shard customers and the time taken.
void PrintShardSummary(const std::string& dir, const ShardedIndex& index, double seconds,
                       bool json) {
  if (json) {
    std::string per;
    const std::vector<uint64_t> counts = index.AllCustomers().ShardCounts();
    for (size_t i = 0; i < counts.size(); ++i) absl::StrAppend(&per, i ? "," : "", counts[i]);
    std::printf(
        "{\"dir\":%s,\"shards\":%u,\"customers\":%llu,\"tags\":%u,\"seconds\":%.6f,"
        "\"shard_customers\":[%s]}\n",
        JsonString(dir).c_str(), index.shard_count(),
        static_cast<unsigned long long>(index.CustomerCount()), index.TagCount(), seconds,
        per.c_str());
  } else {
    std::printf("%s: %s customers, %u tags in %u shards (%s)\n", dir.c_str(),
                Thousands(index.CustomerCount()).c_str(), index.TagCount(), index.shard_count(),
                Duration(seconds).c_str());
  }
}

}  // namespace

bool IsShardedDir(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / "MANIFEST", ec);
}

int RunShardedQuery(const std::string& dir, const std::string& text, uint64_t limit, bool json,
                    uint32_t threads) {
  auto index = OpenShardedForReading(dir, threads);
  if (!index.ok()) return ReportError(index.status());
  const auto start = Clock::now();
  absl::StatusOr<ShardedSegment> segment = (*index)->Query(text);
  const double seconds = Since(start);
  if (!segment.ok()) return ReportError(segment.status());
  const uint64_t count = segment->Count();
  const uint64_t shown = limit == 0 ? count : std::min(limit, count);
  if (json) {
    std::printf("{\"query\":%s,\"count\":%llu,\"seconds\":%.6f,\"keys\":[",
                JsonString(text).c_str(), static_cast<unsigned long long>(count), seconds);
  }
  std::optional<ShardedRow> after;
  uint64_t printed = 0;
  while (printed < shown) {
    absl::StatusOr<std::vector<ShardedRow>> paged =
        segment->PageAfter(after, std::min<uint64_t>(65536, shown - printed));
    if (!paged.ok()) return ReportError(paged.status());
    const std::vector<ShardedRow>& page = *paged;
    if (page.empty()) break;
    after = page.back();
    absl::StatusOr<std::vector<CustomerKey>> keys = segment->KeysOf(page);
    if (!keys.ok()) return ReportError(keys.status());
    std::string out;
    for (const CustomerKey& k : *keys) {
      if (json) {
        absl::StrAppend(&out, printed++ ? "," : "", KeyJson(k));
      } else {
        absl::StrAppend(&out, KeyText(k), "\n");
        ++printed;
      }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  if (json) {
    std::printf("]}\n");
  } else {
    std::fprintf(stderr, "%s customers over %u shards (%s)%s\n", Thousands(count).c_str(),
                 (*index)->shard_count(), Duration(seconds).c_str(),
                 shown < count
                     ? absl::StrCat("; first ", Thousands(shown), " shown (--limit)").c_str()
                     : "");
  }
  return kExitOk;
}

int RunShardedCount(const std::string& dir, const std::string& text, bool json, uint32_t threads) {
  auto index = OpenShardedForReading(dir, threads);
  if (!index.ok()) return ReportError(index.status());
  const auto start = Clock::now();
  absl::StatusOr<std::vector<uint64_t>> counts = (*index)->ShardCounts(text);
  const double seconds = Since(start);
  if (!counts.ok()) return ReportError(counts.status());
  uint64_t total = 0;
  for (uint64_t c : *counts) total += c;
  if (json) {
    std::string per;
    for (size_t i = 0; i < counts->size(); ++i) absl::StrAppend(&per, i ? "," : "", (*counts)[i]);
    std::printf("{\"query\":%s,\"count\":%llu,\"seconds\":%.6f,\"shard_counts\":[%s]}\n",
                JsonString(text).c_str(), static_cast<unsigned long long>(total), seconds,
                per.c_str());
  } else {
    std::printf("%llu\n", static_cast<unsigned long long>(total));
    std::fprintf(stderr, "(%s, %zu shards, %u threads)\n", Duration(seconds).c_str(),
                 counts->size(), (*index)->threads());
  }
  return kExitOk;
}

int RunShardedExplain(const std::string& dir, const std::string& text, bool json,
                      uint32_t threads) {
  auto index = OpenShardedForReading(dir, threads);
  if (!index.ok()) return ReportError(index.status());
  absl::StatusOr<ShardedExplanation> e = (*index)->Explain(text);
  if (!e.ok()) return ReportError(e.status());
  if (json) {
    std::string shards;
    for (size_t i = 0; i < e->shards.size(); ++i) {
      absl::StrAppend(&shards, i ? "," : "", "{\"shard\":", i, ",\"count\":", e->shards[i].count,
                      ",\"nanos\":", e->shard_nanos[i], "}");
    }
    std::printf(
        "{\"query\":%s,\"count\":%llu,\"total_nanos\":%lld,\"threads\":%u,"
        "\"slowest_shard\":%u,\"shards\":[%s]}\n",
        JsonString(text).c_str(), static_cast<unsigned long long>(e->count),
        static_cast<long long>(e->total_nanos), e->threads, e->slowest_shard, shards.c_str());
  } else {
    const std::string s = e->ToString();
    std::printf("%s%s", s.c_str(), !s.empty() && s.back() != '\n' ? "\n" : "");
  }
  return kExitOk;
}

int RunShardedTags(const std::string& dir, bool json) {
  auto index = OpenShardedForReading(dir, 0);
  if (!index.ok()) return ReportError(index.status());
  absl::StatusOr<std::vector<TagInfo>> tags_or = (*index)->ListTags();
  if (!tags_or.ok()) return ReportError(tags_or.status());
  std::vector<TagInfo> tags = *std::move(tags_or);
  absl::StatusOr<std::vector<CategoryInfo>> categories = (*index)->ListCategories();
  if (!categories.ok()) return ReportError(categories.status());
  return PrintTagList(tags, *categories, json);
}

int RunShardSplit(const ShardSplitArgs& a) {
  OpenOptions so;
  so.read_only = true;
  so.create_if_missing = false;
  auto source = Index::Open(a.source, so);
  if (!source.ok()) return ReportError(source.status());
  if (IsShardedDir(a.dir)) {
    return ReportError(absl::AlreadyExistsError(
        absl::StrCat("shard split: ", a.dir, " already holds a sharded index")));
  }
  ShardedOpenOptions o;
  o.create.shards = a.shards;
  o.create.index = (*source)->options();
  o.create.rows_per_shard = a.rows_per_shard;
  o.threads = a.threads;
  o.shard.sync = SyncPolicy::kNone;  // one checkpoint at the end makes it durable
  o.shard.create_if_missing = true;  // split makes the sharded index
  const auto start = Clock::now();
  auto sharded = ShardedIndex::Open(a.dir, o);
  if (!sharded.ok()) return ReportError(sharded.status());
  absl::Status s = (*sharded)->LoadFrom(**source);
  if (s.ok()) s = (*sharded)->Checkpoint();
  if (!s.ok()) return ReportError(s);
  const double seconds = Since(start);
  PrintShardSummary(a.dir, **sharded, seconds, a.json);
  return kExitOk;
}

int RunShardReshard(const ShardReshardArgs& a) {
  const auto start = Clock::now();
  absl::Status s = ShardedIndex::Reshard(a.source, a.dest, a.shards, a.rows_per_shard, a.threads);
  if (!s.ok()) return ReportError(s);
  const double seconds = Since(start);
  auto index = OpenShardedForReading(a.dest, a.threads);
  if (!index.ok()) return ReportError(index.status());
  PrintShardSummary(a.dest, **index, seconds, a.json);
  return kExitOk;
}

int RunShardInfo(const std::string& dir, bool json) {
  auto info = ShardedIndex::ReadManifest(dir);
  if (!info.ok()) return ReportError(info.status());
  auto index = OpenShardedForReading(dir, 0);
  if (!index.ok()) return ReportError(index.status());
  std::vector<uint64_t> counts = (*index)->AllCustomers().ShardCounts();
  if (json) {
    std::string per;
    for (size_t i = 0; i < counts.size(); ++i) absl::StrAppend(&per, i ? "," : "", counts[i]);
    std::printf(
        "{\"shards\":%u,\"key_kind\":\"%s\",\"generation\":%llu,\"rows_per_shard\":%llu,"
        "\"tags\":%u,\"customers\":%llu,\"shard_customers\":[%s]}\n",
        info->shards, KindName(info->key_kind), static_cast<unsigned long long>(info->generation),
        static_cast<unsigned long long>(info->rows_per_shard), (*index)->TagCount(),
        static_cast<unsigned long long>((*index)->CustomerCount()), per.c_str());
    return kExitOk;
  }
  std::printf("sharded index %s: %u shards, %s keys (%s), manifest generation %llu\n", dir.c_str(),
              info->shards, KindName(info->key_kind),
              info->key_kind == KeyKind::kIdentity
                  ? absl::StrCat("row ranges of ", info->rows_per_shard).c_str()
                  : "XXH3 routing",
              static_cast<unsigned long long>(info->generation));
  std::printf("%s customers, %u tags\n", Thousands((*index)->CustomerCount()).c_str(),
              (*index)->TagCount());
  for (size_t i = 0; i < counts.size(); ++i) {
    std::printf("  shard %zu: %s customers  %s\n", i, Thousands(counts[i]).c_str(),
                ShardedIndex::ShardPath(dir, static_cast<uint32_t>(i)).c_str());
  }
  return kExitOk;
}

}  // namespace tagindex::cli
