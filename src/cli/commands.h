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

}  // namespace tagindex::cli

#endif  // TAGINDEX_CLI_COMMANDS_H_
