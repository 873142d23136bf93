#include "cli/commands.h"

#include <editline/readline.h>
#include <langinfo.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/output.h"
#include "tagindex/tagindex.h"

namespace tagindex::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

absl::StatusOr<std::unique_ptr<Index>> OpenForReading(const std::string& dir) {
  OpenOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  return Index::Open(dir, options);
}

std::string KeyText(const CustomerKey& key) {
  if (const int64_t* i = std::get_if<int64_t>(&key)) return absl::StrCat(*i);
  return std::get<std::string>(key);
}

absl::Status PrintTags(const Index& index) {
  absl::StatusOr<std::vector<CategoryInfo>> categories = index.ListCategories();
  if (!categories.ok()) return categories.status();
  absl::StatusOr<std::vector<TagInfo>> tags = index.ListTags();
  if (!tags.ok()) return tags.status();
  Table table({"category", "tag", "exclusive", "customers"}, {false, false, false, true});
  for (const TagInfo& t : *tags) {
    bool exclusive = false;
    for (const CategoryInfo& c : *categories) {
      if (c.name == t.category) exclusive = c.exclusive;
    }
    table.Add({t.category, t.name, exclusive ? "yes" : "", Thousands(t.count)});
  }
  table.Print(stdout);
  return absl::OkStatus();
}

}  // namespace

// ---- check -------------------------------------------------------------------------

int RunBackup(const std::string& dir, const std::string& dest, bool json) {
  const auto start = Clock::now();
  // Read-only: no lock is taken, so a writer in another process goes on;
  // the opener recovers one committed state (following a checkpoint that
  // races it), and Backup writes exactly that state.
  auto opened = OpenForReading(dir);
  if (!opened.ok()) return ReportError(opened.status());
  const Index& index = **opened;
  absl::Status s = index.Backup(dest);
  if (!s.ok()) return ReportError(s);
  const double seconds = Since(start);
  const RecoveryReport recovery = index.LastRecovery();
  if (json) {
    std::printf(
        "%s\n",
        absl::StrCat("{\"source\":", JsonString(dir), ",\"backup\":", JsonString(dest),
                     ",\"customers\":", index.CustomerCount(), ",\"tags\":", index.TagCount(),
                     ",\"source_generation\":", recovery.generation, ",\"log_records_replayed\":",
                     recovery.log_records_replayed, absl::StrFormat(",\"seconds\":%.6f}", seconds))
            .c_str());
    return kExitOk;
  }
  std::printf(
      "backup of %s written to %s: %s customers, %s tags (generation %llu + %llu log "
      "records), %s\n",
      dir.c_str(), dest.c_str(), Thousands(index.CustomerCount()).c_str(),
      Thousands(index.TagCount()).c_str(), static_cast<unsigned long long>(recovery.generation),
      static_cast<unsigned long long>(recovery.log_records_replayed), Duration(seconds).c_str());
  return kExitOk;
}

int RunCheck(const std::string& dir, bool json) {
  const auto start = Clock::now();
  auto opened = OpenForReading(dir);
  if (!opened.ok()) return ReportError(opened.status());
  const Index& index = **opened;
  std::vector<std::string> problems;
  auto problem = [&](std::string p) {
    if (problems.size() < 100) problems.push_back(std::move(p));
  };
  RecoveryReport recovery = index.LastRecovery();

  // Customers: the universe, and key <-> row both ways.
  absl::StatusOr<std::vector<RowId>> live_or = index.LiveRows();
  if (!live_or.ok()) return ReportError(live_or.status());
  std::vector<RowId> live = *std::move(live_or);
  if (live.size() != index.CustomerCount()) {
    problem(
        absl::StrCat("customer count ", index.CustomerCount(), " but ", live.size(), " live rows"));
  }
  uint64_t keys_checked = 0;
  for (RowId row : live) {
    absl::StatusOr<CustomerKey> key = index.KeyOf(row);
    if (!key.ok()) {
      problem(absl::StrCat("row ", row, ": no key: ", key.status().message()));
      continue;
    }
    absl::StatusOr<RowId> back = std::holds_alternative<int64_t>(*key)
                                     ? index.FindCustomer(std::get<int64_t>(*key))
                                     : index.FindCustomer(std::get<std::string>(*key));
    if (!back.ok() || *back != row) {
      problem(absl::StrCat("row ", row, ": key ", KeyText(*key), " does not map back to it"));
    }
    ++keys_checked;
  }
  // Tags: ascending rows, all live, counts as reported; exclusive categories
  // disjoint.
  absl::StatusOr<std::vector<CategoryInfo>> categories_or = index.ListCategories();
  if (!categories_or.ok()) return ReportError(categories_or.status());
  std::vector<CategoryInfo> categories = *std::move(categories_or);
  absl::flat_hash_map<std::string, std::vector<uint8_t>> seen;
  for (const CategoryInfo& c : categories) {
    if (c.exclusive) seen[c.name].assign(index.RowIdLimit(), 0);
  }
  absl::StatusOr<std::vector<TagInfo>> tags_or = index.ListTags();
  if (!tags_or.ok()) return ReportError(tags_or.status());
  std::vector<TagInfo> tags = *std::move(tags_or);
  uint64_t memberships = 0;
  for (const TagInfo& t : tags) {
    absl::StatusOr<std::vector<RowId>> rows = index.RowsWithTag(t.id);
    if (!rows.ok()) {
      problem(absl::StrCat("tag ", t.category, ":", t.name, ": ", rows.status().message()));
      continue;
    }
    memberships += rows->size();
    if (rows->size() != t.count) {
      problem(absl::StrCat("tag ", t.category, ":", t.name, ": listed with ", t.count,
                           " customers but holds ", rows->size()));
    }
    size_t k = 0;
    uint64_t not_live = 0;
    for (size_t i = 0; i < rows->size(); ++i) {
      RowId r = (*rows)[i];
      if (i > 0 && (*rows)[i - 1] >= r) {
        problem(absl::StrCat("tag ", t.category, ":", t.name, ": rows out of order"));
        break;
      }
      while (k < live.size() && live[k] < r) ++k;
      if (k >= live.size() || live[k] != r) ++not_live;
    }
    if (not_live) {
      problem(absl::StrCat("tag ", t.category, ":", t.name, ": ", not_live,
                           " rows that are not live customers"));
    }
    auto it = seen.find(t.category);
    if (it != seen.end()) {
      uint64_t twice = 0;
      for (RowId r : *rows) {
        if (r < it->second.size() && it->second[r]++) ++twice;
      }
      if (twice) {
        problem(absl::StrCat("exclusive category ", t.category, ": ", twice,
                             " customers hold two of its tags (one is ", t.name, ")"));
      }
    }
  }
  const double seconds = Since(start);
  if (json) {
    std::string out = absl::StrCat(
        "{\"ok\":", problems.empty() ? "true" : "false", ",\"customers\":", live.size(),
        ",\"keys_checked\":", keys_checked, ",\"tags\":", tags.size(),
        ",\"categories\":", categories.size(), ",\"memberships\":", memberships,
        ",\"generation\":", recovery.generation, ",\"snapshot_bytes\":", recovery.snapshot_bytes,
        ",\"log_records_replayed\":", recovery.log_records_replayed,
        ",\"torn_tail_truncated\":", recovery.torn_tail_truncated ? "true" : "false",
        absl::StrFormat(",\"seconds\":%.6f", seconds), ",\"problems\":[");
    for (size_t i = 0; i < problems.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", JsonString(problems[i]));
    }
    std::printf("%s]}\n", out.c_str());
  } else {
    std::printf("snapshot     generation %llu, %s bytes; %s log records replayed%s\n",
                static_cast<unsigned long long>(recovery.generation),
                Thousands(recovery.snapshot_bytes).c_str(),
                Thousands(recovery.log_records_replayed).c_str(),
                recovery.torn_tail_truncated ? " (a torn last record was dropped)" : "");
    std::printf("customers    %s live, %s keys checked both ways\n", Thousands(live.size()).c_str(),
                Thousands(keys_checked).c_str());
    std::printf("tags         %s in %s categories, %s memberships checked\n",
                Thousands(tags.size()).c_str(), Thousands(categories.size()).c_str(),
                Thousands(memberships).c_str());
    for (const std::string& p : problems) std::printf("PROBLEM      %s\n", p.c_str());
    std::printf("%s (%s)\n", problems.empty() ? "ok" : "FAILED", Duration(seconds).c_str());
  }
  return problems.empty() ? kExitOk : kExitInternal;
}

// ---- demo --------------------------------------------------------------------------

int RunDemo(const DemoArgs& args) {
  std::unique_ptr<Index> index;
  if (args.dir.empty()) {
    absl::StatusOr<std::unique_ptr<Index>> created = Index::Create();
    if (!created.ok()) return ReportError(created.status());
    index = std::move(*created);
  } else {
    OpenOptions options;
    options.create_if_missing = true;  // demo --dir makes the index
    options.sync = SyncPolicy::kNone;  // made durable by the checkpoint below
    absl::StatusOr<std::unique_ptr<Index>> opened = Index::Open(args.dir, options);
    if (!opened.ok()) return ReportError(opened.status());
    index = std::move(*opened);
  }
  if (args.repeat < 1)
    return ReportError(absl::InvalidArgumentError("demo: --repeat must be >= 1"));
  std::fprintf(stderr, "building a demo shop of %s customers%s ...\n",
               Thousands(args.customers).c_str(),
               args.dir.empty() ? " in memory" : absl::StrCat(" in ", args.dir).c_str());
  DemoOptions options;
  options.customers = args.customers;
  options.seed = args.seed;
  absl::StatusOr<DemoReport> built = BuildDemoShop(*index, options);
  if (!built.ok()) return ReportError(built.status());
  double checkpoint_seconds = 0;
  if (!args.dir.empty()) {
    const auto start = Clock::now();
    absl::Status s = index->Checkpoint();
    if (!s.ok()) return ReportError(s);
    checkpoint_seconds = Since(start);
  }
  struct Row {
    DemoQuery query;
    uint64_t count;
    double seconds;
  };
  std::vector<Row> rows;
  for (const DemoQuery& q : DemoQueries()) {
    std::vector<double> times;
    uint64_t count = 0;
    for (int r = 0; r < args.repeat; ++r) {
      const auto start = Clock::now();
      absl::StatusOr<uint64_t> n = index->Count(q.text);
      times.push_back(Since(start));
      if (!n.ok()) return ReportError(n.status());
      count = *n;
    }
    std::sort(times.begin(), times.end());
    rows.push_back({q, count, times[times.size() / 2]});
  }
  if (args.json) {
    std::string out = absl::StrCat(
        "{\"customers\":", built->customers, ",\"tags\":", built->tags,
        ",\"tag_assignments\":", built->tag_assignments,
        absl::StrFormat(",\"build_seconds\":%.6f,\"checkpoint_seconds\":%.6f", built->seconds,
                        checkpoint_seconds),
        ",\"dir\":", JsonString(args.dir), ",\"repeat\":", args.repeat, ",\"queries\":[");
    for (size_t i = 0; i < rows.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", "{\"query\":", JsonString(rows[i].query.text),
                      ",\"description\":", JsonString(rows[i].query.description),
                      ",\"count\":", rows[i].count,
                      absl::StrFormat(",\"seconds\":%.9f", rows[i].seconds), "}");
    }
    std::printf("%s]}\n", out.c_str());
    return kExitOk;
  }
  std::printf("demo shop: %s customers, %s tags, %s tag assignments, built in %s%s\n\n",
              Thousands(built->customers).c_str(), Thousands(built->tags).c_str(),
              Thousands(built->tag_assignments).c_str(), Duration(built->seconds).c_str(),
              args.dir.empty()
                  ? " (in memory)"
                  : absl::StrCat("; checkpoint ", Duration(checkpoint_seconds)).c_str());
  Table table({"#", "segment query", "customers", "share", "time", "purpose"},
              {true, false, true, true, true, false});
  for (size_t i = 0; i < rows.size(); ++i) {
    table.Add({absl::StrCat(i + 1), rows[i].query.text, Thousands(rows[i].count),
               absl::StrFormat("%.1f%%", 100.0 * rows[i].count / built->customers),
               Duration(rows[i].seconds), rows[i].query.description});
  }
  table.Print(stdout);
  std::printf("\ntime: Index::Count(text) including parsing and planning, median of %d runs.\n",
              args.repeat);
  if (!args.dir.empty()) {
    std::printf("next: tagindex shell %s   |   tagindex stats %s\n", args.dir.c_str(),
                args.dir.c_str());
  }
  return kExitOk;
}

// ---- shell -------------------------------------------------------------------------

namespace {

const char kShellHelp[] =
    "Type a segment query to count it, e.g.  高价值客户 AND 电子产品 AND NOT 流失风险\n"
    "  \\explain QUERY   the plan, estimated vs actual cardinalities\n"
    "  \\keys QUERY      the first 20 customer keys\n"
    "  \\tags            the tag catalog\n"
    "  \\timing          toggle printing each command's time\n"
    "  \\help            this text\n"
    "  \\q               quit (or Ctrl-D)\n";

// Returns false to quit.
bool ShellLine(const Index& index, const std::string& raw, bool& timing) {
  std::string line(absl::StripAsciiWhitespace(raw));
  if (line.empty() || line[0] == '#') return true;
  const auto start = Clock::now();
  auto arg_of = [&](std::string_view command) {
    return std::string(absl::StripAsciiWhitespace(absl::string_view(line).substr(command.size())));
  };
  if (line == "\\q" || line == "\\quit" || line == "exit" || line == "quit") return false;
  if (line == "\\help" || line == "\\?" || line == "help") {
    std::printf("%s", kShellHelp);
    return true;
  }
  if (line == "\\timing") {
    timing = !timing;
    std::printf("Timing is %s.\n", timing ? "on" : "off");
    return true;
  }
  if (line == "\\tags") {
    if (absl::Status st = PrintTags(index); !st.ok()) ReportError(st);
  } else if (absl::StartsWith(line, "\\explain")) {
    absl::StatusOr<Explanation> e = index.Explain(arg_of("\\explain"));
    if (!e.ok()) {
      ReportError(e.status());
      return true;
    }
    std::string text = e->ToString();
    if (!text.empty() && text.back() != '\n') text += "\n";
    std::printf("%s", text.c_str());
  } else if (absl::StartsWith(line, "\\keys")) {
    absl::StatusOr<Segment> s = index.Query(arg_of("\\keys"));
    if (!s.ok()) {
      ReportError(s.status());
      return true;
    }
    absl::StatusOr<std::vector<RowId>> page = s->Page(0, 20);
    if (!page.ok()) {
      ReportError(page.status());
      return true;
    }
    absl::StatusOr<std::vector<CustomerKey>> keys = s->KeysOf(*page);
    if (!keys.ok()) {
      ReportError(keys.status());
      return true;
    }
    for (const CustomerKey& k : *keys) std::printf("%s\n", KeyText(k).c_str());
    std::printf("(%s of %s customers)\n", Thousands(keys->size()).c_str(),
                Thousands(s->Count()).c_str());
  } else if (line[0] == '\\') {
    std::fprintf(stderr, "tagindex: error: unknown command %s (try \\help)\n", line.c_str());
    return true;
  } else {
    absl::StatusOr<uint64_t> n = index.Count(line);
    if (!n.ok()) {
      ReportError(n.status());
      return true;
    }
    std::printf("%s customers\n", Thousands(*n).c_str());
  }
  if (timing) std::printf("Time: %s\n", Duration(Since(start)).c_str());
  std::fflush(stdout);
  return true;
}

}  // namespace

int RunShell(const ShellArgs& args) {
  std::unique_ptr<Index> index;
  if (args.demo_customers > 0) {
    absl::StatusOr<std::unique_ptr<Index>> created = Index::Create();
    if (!created.ok()) return ReportError(created.status());
    index = std::move(*created);
    absl::StatusOr<DemoReport> built = BuildDemoShop(*index, {.customers = args.demo_customers});
    if (!built.ok()) return ReportError(built.status());
  } else if (!args.dir.empty()) {
    auto opened = OpenForReading(args.dir);
    if (!opened.ok()) return ReportError(opened.status());
    index = std::move(*opened);
  } else {
    return ReportError(absl::InvalidArgumentError("shell: give an index directory or --demo N"));
  }
  bool timing = false;
  const bool interactive = isatty(STDIN_FILENO) == 1;
  if (!interactive) {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!ShellLine(*index, line, timing)) break;
      std::fflush(stdout);
    }
    return kExitOk;
  }
  std::string history = args.history;
  if (history.empty()) {
    if (const char* home = std::getenv("HOME")) history = absl::StrCat(home, "/.tagindex_history");
  }
  // libedit edits multibyte text only in a UTF-8 LC_CTYPE; names and keys
  // are UTF-8 whatever the environment says.
  if (std::setlocale(LC_CTYPE, "") == nullptr || std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0) {
    std::setlocale(LC_CTYPE, "C.UTF-8");
  }
  using_history();
  if (!history.empty()) read_history(history.c_str());
  std::printf("tagindex shell: %s customers, %u tags. \\help for help, \\q to quit.\n",
              Thousands(index->CustomerCount()).c_str(), index->TagCount());
  while (true) {
    char* raw = readline("tagindex> ");
    if (raw == nullptr) {
      std::printf("\n");
      break;
    }
    std::string line(raw);
    std::free(raw);
    if (!absl::StripAsciiWhitespace(line).empty()) add_history(line.c_str());
    if (!ShellLine(*index, line, timing)) break;
  }
  if (!history.empty()) write_history(history.c_str());
  return kExitOk;
}

}  // namespace tagindex::cli
