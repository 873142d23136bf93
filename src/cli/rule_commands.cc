// The rule-tag subcommands of `tagindex` (rule define / list / refresh /
// drop). Printing only; the work is Index's rule-tag methods
// (include/tagindex/rule_tags.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "tagindex/tagindex.h"

namespace tagindex::cli {
namespace {

struct RuleArgs {
  std::string dir, name, query, category, description, policy = "on_demand", as_of;
  std::vector<std::string> rules;
  bool full = false, json = false, redefine = false;
};

absl::StatusOr<std::unique_ptr<Index>> Open(const std::string& dir, bool read_only) {
  OpenOptions options;
  options.read_only = read_only;
  options.create_if_missing = false;
  return Index::Open(dir, options);
}

// Days since 1970-01-01 <-> "2026-12-01".
std::string FormatDate(int64_t days) {
  const absl::CivilDay d = absl::CivilDay(1970, 1, 1) + days;
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

bool ParseDate(const std::string& text, int64_t* days) {
  int y = 0, m = 0, d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      !absl::SimpleAtoi(text.substr(0, 4), &y) || !absl::SimpleAtoi(text.substr(5, 2), &m) ||
      !absl::SimpleAtoi(text.substr(8, 2), &d)) {
    return false;
  }
  const absl::CivilDay day(y, m, d);
  if (day.year() != y || day.month() != m || day.day() != d) return false;  // normalised: invalid
  *days = day - absl::CivilDay(1970, 1, 1);
  return true;
}

absl::StatusOr<std::optional<int64_t>> AsOf(const std::string& text) {
  if (text.empty()) return std::optional<int64_t>();
  int64_t days = 0;
  if (!ParseDate(text, &days)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rule: --as-of ", text, " is not a date (write 2026-12-01)"));
  }
  return std::optional<int64_t>(days);
}

absl::StatusOr<RefreshPolicy> Policy(const std::string& text) {
  if (text == "on_demand" || text == "on-demand") return RefreshPolicy::kOnDemand;
  if (text == "on_commit" || text == "on-commit") return RefreshPolicy::kOnCommit;
  return absl::InvalidArgumentError(
      absl::StrCat("rule: --policy ", text, " is not on_demand or on_commit"));
}

const char* PolicyText(RefreshPolicy p) {
  return p == RefreshPolicy::kOnCommit ? "on_commit" : "on_demand";
}

absl::StatusOr<TagId> FindRule(const Index& index, const std::string& text) {
  absl::StatusOr<TagId> tag = index.FindTag(text);
  if (tag.ok() || !absl::IsNotFound(tag.status())) return tag;
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return tag;
  absl::StatusOr<TagId> q = index.FindTag(text.substr(0, colon), text.substr(colon + 1));
  return q.ok() ? q : tag;
}

std::string InfoJson(const RuleTagInfo& r) {
  return absl::StrCat("{\"id\":", r.tag.value, ",\"name\":", JsonString(r.name),
                      ",\"category\":", JsonString(r.category), ",\"query\":", JsonString(r.query),
                      ",\"policy\":\"", PolicyText(r.policy), "\",\"as_of\":\"",
                      FormatDate(r.as_of), "\",\"count\":", r.count, ",\"pending\":", r.pending,
                      ",\"full_needed\":", r.full_needed ? "true" : "false", "}");
}

int RunDefine(const RuleArgs& a) {
  auto as_of = AsOf(a.as_of);
  if (!as_of.ok()) return ReportError(as_of.status());
  auto policy = Policy(a.policy);
  if (!policy.ok()) return ReportError(policy.status());
  auto index = Open(a.dir, false);
  if (!index.ok()) return ReportError(index.status());
  RuleTagOptions o;
  o.category = a.category;
  o.description = a.description;
  o.policy = *policy;
  o.as_of = *as_of;
  absl::StatusOr<TagId> tag;
  if (a.redefine) {
    tag = FindRule(**index, a.name);
    if (!tag.ok()) return ReportError(tag.status());
    absl::Status s = (*index)->RedefineRuleTag(*tag, a.query, o);
    if (!s.ok()) return ReportError(s);
  } else {
    tag = (*index)->DefineRuleTag(a.name, a.query, o);
    if (!tag.ok()) return ReportError(tag.status());
  }
  auto info = (*index)->GetRuleTag(*tag);
  if (!info.ok()) return ReportError(info.status());
  if (a.json) {
    std::printf("%s\n", InfoJson(*info).c_str());
  } else {
    std::fprintf(stderr, "%s rule tag %s: %s customers\n", a.redefine ? "redefined" : "defined",
                 info->name.c_str(), Thousands(info->count).c_str());
  }
  return kExitOk;
}

int RunList(const RuleArgs& a) {
  auto index = Open(a.dir, true);
  if (!index.ok()) return ReportError(index.status());
  absl::StatusOr<std::vector<RuleTagInfo>> list_or = (*index)->ListRuleTags();
  if (!list_or.ok()) return ReportError(list_or.status());
  std::vector<RuleTagInfo> list = *std::move(list_or);
  if (a.json) {
    std::string out = "[";
    for (size_t i = 0; i < list.size(); ++i) absl::StrAppend(&out, i ? "," : "", InfoJson(list[i]));
    std::printf("%s]\n", out.c_str());
    return kExitOk;
  }
  Table table({"id", "category", "rule tag", "customers", "as of", "pending", "policy", "query"},
              {true, false, false, true, false, true, false, false});
  for (const RuleTagInfo& r : list) {
    table.Add({absl::StrCat(r.tag.value), r.category, r.name, Thousands(r.count),
               FormatDate(r.as_of), Thousands(r.pending), PolicyText(r.policy), r.query});
  }
  table.Print(stdout);
  return kExitOk;
}

int RunRefresh(const RuleArgs& a) {
  auto as_of = AsOf(a.as_of);
  if (!as_of.ok()) return ReportError(as_of.status());
  auto index = Open(a.dir, false);
  if (!index.ok()) return ReportError(index.status());
  RefreshOptions o;
  o.rules = a.rules;
  o.as_of = *as_of;
  o.mode = a.full ? RefreshOptions::Mode::kFull : RefreshOptions::Mode::kAuto;
  auto results = (*index)->RefreshRules(o);
  if (!results.ok()) return ReportError(results.status());
  if (a.json) {
    std::string out = "[";
    for (size_t i = 0; i < results->size(); ++i) {
      const RuleRefreshResult& r = (*results)[i];
      absl::StrAppend(
          &out, i ? "," : "", "{\"id\":", r.tag.value, ",\"name\":", JsonString(r.name),
          ",\"entered\":", r.entered, ",\"left\":", r.left, ",\"count\":", r.count, ",\"as_of\":\"",
          FormatDate(r.as_of), "\",\"incremental\":", r.incremental ? "true" : "false",
          ",\"evaluated_rows\":", r.evaluated_rows, ",\"reason\":", JsonString(r.reason), "}");
    }
    std::printf("%s]\n", out.c_str());
    return kExitOk;
  }
  Table table({"rule tag", "entered", "left", "customers", "as of", "evaluated", "reason"},
              {false, true, true, true, false, true, false});
  for (const RuleRefreshResult& r : *results) {
    table.Add({r.name, Thousands(r.entered), Thousands(r.left), Thousands(r.count),
               FormatDate(r.as_of), Thousands(r.evaluated_rows), r.reason});
  }
  table.Print(stdout);
  return kExitOk;
}

int RunDrop(const RuleArgs& a) {
  auto index = Open(a.dir, false);
  if (!index.ok()) return ReportError(index.status());
  auto tag = FindRule(**index, a.name);
  if (!tag.ok()) return ReportError(tag.status());
  absl::Status s = (*index)->DropRuleTag(*tag);
  return s.ok() ? kExitOk : ReportError(s);
}

}  // namespace

void AddRuleCommands(CLI::App& app, int& result) {
  auto a = std::make_shared<RuleArgs>();
  CLI::App* rule = app.add_subcommand("rule", "Rule tags: define, list, refresh, drop");
  rule->require_subcommand(1);
  rule->footer(
      "Examples:\n  tagindex rule define ./idx 高价值客户 '消费金额 >= 1000' --category 价值分层\n"
      "  tagindex rule define ./idx 流失风险 '最近购买 < today - 90d AND 订单数 >= 2'\n"
      "  tagindex rule refresh ./idx                    # every rule, incremental where exact\n"
      "  tagindex rule refresh ./idx 流失风险 --as-of 2026-12-01 --json\n"
      "  tagindex rule list ./idx\n"
      "See docs/rule_tags.md.\n");

  CLI::App* define = rule->add_subcommand("define", "Define (or --redefine) a rule tag");
  define->add_option("dir", a->dir, "index directory")->required();
  define->add_option("name", a->name, "tag name (\"category:name\" with --redefine)")->required();
  define->add_option("query", a->query, "the rule: a segment query")->required();
  define->add_option("--category", a->category, "category of the new tag");
  define->add_option("--description", a->description, "description of the new tag");
  define->add_option("--policy", a->policy, "on_demand (default) or on_commit");
  define->add_option("--as-of", a->as_of, "the date `today` means (default: today, UTC)");
  define->add_flag("--redefine", a->redefine, "replace the query of an existing rule tag");
  define->add_flag("--json", a->json, "JSON: {id, name, category, query, policy, as_of, ...}");
  define->callback([a, &result]() { result = RunDefine(*a); });

  CLI::App* list = rule->add_subcommand("list", "The rule tags and their refresh state");
  list->add_option("dir", a->dir, "index directory")->required();
  list->add_flag("--json", a->json, "JSON array");
  list->callback([a, &result]() { result = RunList(*a); });

  CLI::App* refresh = rule->add_subcommand("refresh", "Refresh rule tags (dependency order)");
  refresh->add_option("dir", a->dir, "index directory")->required();
  refresh->add_option("rules", a->rules, "rule tags to refresh (default: all)");
  refresh->add_option("--as-of", a->as_of, "evaluation date (default: today, UTC)");
  refresh->add_flag("--full", a->full, "re-evaluate every customer");
  refresh->add_flag("--json", a->json,
                    "JSON array: {id, name, entered, left, count, as_of, incremental, reason}");
  refresh->callback([a, &result]() { result = RunRefresh(*a); });

  CLI::App* drop = rule->add_subcommand("drop", "Drop a rule tag");
  drop->add_option("dir", a->dir, "index directory")->required();
  drop->add_option("name", a->name, "rule tag (\"name\" or \"category:name\")")->required();
  drop->callback([a, &result]() { result = RunDrop(*a); });
}

}  // namespace tagindex::cli
