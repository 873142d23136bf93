// The larger subcommands of `tagindex` (check, demo, shell), kept out of
// main.cc's argument table.
#ifndef TAGINDEX_CLI_COMMANDS_H_
#define TAGINDEX_CLI_COMMANDS_H_

#include <cstdint>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace tagindex::cli {

int RunCheck(const std::string& dir, bool json);
// Opens `dir` read-only (it may be in use by a writer in another process)
// and writes a consistent copy of what it holds to the new directory `dest`.
int RunBackup(const std::string& dir, const std::string& dest, bool json);

struct DemoArgs {
  uint64_t customers = 1000000;
  std::string dir;
  uint64_t seed = 20261201;
  int repeat = 5;
  bool json = false;
};
int RunDemo(const DemoArgs& args);

struct ShellArgs {
  std::string dir;
  uint64_t demo_customers = 0;
  std::string history;
};
int RunShell(const ShellArgs& args);

// profile, top, cooccur, crosstab, coverage (analytics_commands.cc); each
// callback stores its exit code in `result`.
void AddAnalyticsCommands(CLI::App& app, int& result);
// segment save | list | rename | drop | diff | export (analytics_commands.cc).
void AddSegmentCommands(CLI::App& app, int& result);
// rule define | list | refresh | drop (rule_commands.cc).
void AddRuleCommands(CLI::App& app, int& result);
// ---- sharded indexes (shard_commands.cc) ----
// Whether `dir` holds a sharded index (a MANIFEST file): query, count,
// explain and tags then use the sharded forms.
bool IsShardedDir(const std::string& dir);
int RunShardedQuery(const std::string& dir, const std::string& text, uint64_t limit, bool json,
                    uint32_t threads);
int RunShardedCount(const std::string& dir, const std::string& text, bool json, uint32_t threads);
int RunShardedExplain(const std::string& dir, const std::string& text, bool json, uint32_t threads);
int RunShardedTags(const std::string& dir, bool json);

struct ShardSplitArgs {
  std::string source;
  std::string dir;
  uint32_t shards = 8;
  uint64_t rows_per_shard = 0;
  uint32_t threads = 0;
  bool json = false;
};

struct ShardReshardArgs {
  std::string source;
  std::string dest;
  uint32_t shards = 0;
  uint64_t rows_per_shard = 0;
  uint32_t threads = 0;
  bool json = false;
};
int RunShardReshard(const ShardReshardArgs& args);
int RunShardSplit(const ShardSplitArgs& args);
int RunShardInfo(const std::string& dir, bool json);

}  // namespace tagindex::cli

#endif  // TAGINDEX_CLI_COMMANDS_H_
