// Rule tags: tags whose members are the result of a query, kept by the
// index (CRM: 消费金额 >= 1000 → 高价值客户; 最近购买 < today - 90d AND
// 订单数 >= 2 → 流失风险).
//
//   RuleTagOptions o;
//   o.category = "价值分层";
//   TagId vip = index->DefineRuleTag("高价值客户", "消费金额 >= 1000", o).value();
//   ... customers change ...
//   std::vector<RuleRefreshResult> r = index->RefreshRules().value();
//   // r[0].entered / left / count / as_of / incremental / reason
//   uint64_t n = index->Count("高价值客户 AND NOT 流失风险").value();
//
// Members are materialised as the tag's ordinary bitmap, so a rule tag costs
// what a manual tag costs in queries (and analytics, export, ...). A rule
// may name tags, categories, attributes (ranges, IS NULL, relative dates
// `today - 90d`), saved segments (人群:NAME) and other rule tags; a
// redefinition that would make a rule depend on itself is refused with the
// cycle named (a new rule cannot be named by anything yet).
//
// What the index refuses (FailedPrecondition, naming the tag):
//   - manual writes to a rule tag (Tag / Untag / TagMany / TagRows, the
//     same items of a WriteBatch, imports);
//   - deleting or renaming a tag, attribute or saved segment a rule uses
//     (redefine or drop the rule first); a rule tag in an exclusive
//     category (InvalidArgument at definition).
//
// Refresh (Index::RefreshRules). The members are those of the query at the
// rule's evaluation date (`as_of`, the `today` of relative dates) as of the
// last refresh. Between refreshes the index notes, per rule, the rows whose
// inputs changed: rows gaining or losing a tag the rule uses (rule tags
// included), rows whose value of an attribute it uses was set or cleared,
// and customers added. An incremental refresh re-evaluates only those rows
// R: members' = (members − R) ∪ (eval(rule) ∩ R). Every predicate of the
// language is row-local (a row's membership depends only on that row's
// tags and values), so this equals a full evaluation — NOT and IS NULL
// included, because the restricted evaluation takes NOT relative to R
// (NOT x over R is R − x), see docs/rule_tags.md. A refresh is full when:
//   - RefreshOptions::mode is kFull;
//   - an on-commit refresh could not bind the query (the reason is kept);
//   - the query binds differently now (a category it names gained a tag,
//     ...): compared by the bound expression's identity, never by text;
//   - `today` moved and the bound expression changed in more than the
//     intervals of its date predicates. When only those moved (the usual
//     case), the rows whose date lies between the old and the new bounds
//     are added to R (per predicate: old result XOR new result) and the
//     refresh stays incremental.
// Rules over rules refresh in dependency order within one call, and a
// rule's entered/left rows become changed rows of the rules that use it.
//
// Policy (RuleTagOptions::policy):
//   kOnDemand  (default) members change only in RefreshRules.
//   kOnCommit  every commit that changes one of the rule's inputs
//              re-evaluates its changed rows inside the same commit, at the
//              rule's evaluation date (which only RefreshRules moves), so
//              readers never see the rule stale. Meant for cheap rules: the
//              cost is paid by the writer (an incremental evaluation over
//              the commit's changed rows). A rule over an on-demand rule
//              sees that rule's members as of its last refresh.
//
// Persistence: definitions and refreshes are log records (WAL types 43-45,
// docs/wal_format.md) holding the members / entered / left rows, so replay
// never re-evaluates a query; rules, their evaluation date and the pending
// changed rows are a snapshot section (kind 8, docs/file_format.md). After
// a restart or a crash the pending rows are exactly what they were (the
// snapshot's, plus the changes replayed from the log).
//
// Thread safety: as Index. A refresh evaluates inside its commit (writers
// are serialised; one commit per rule), so no write can slip in between the
// evaluation and its result; readers never wait and see the version before
// or after a rule's refresh, never in between.
#ifndef TAGINDEX_RULE_TAGS_H_
#define TAGINDEX_RULE_TAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tagindex/types.h"

namespace tagindex {

enum class RefreshPolicy : uint8_t {
  kOnDemand = 0,  // refreshed by Index::RefreshRules
  kOnCommit = 1,  // refreshed inside every commit that changes its inputs
};

struct RuleTagOptions {
  std::string category;  // "" = none; must not be an exclusive category
  std::string description;
  RefreshPolicy policy = RefreshPolicy::kOnDemand;
  // The `today` of relative dates (days since 1970-01-01); default: the
  // current UTC date.
  std::optional<int64_t> as_of;
};

struct RuleTagInfo {
  TagId tag;
  std::string name;
  std::string category;
  std::string query;  // as written
  RefreshPolicy policy = RefreshPolicy::kOnDemand;
  int64_t as_of = 0;         // evaluation date of the members
  uint64_t count = 0;        // members now
  uint64_t pending = 0;      // rows noted as changed since the last refresh
  bool full_needed = false;  // the next refresh will be full (and why)
  std::string full_reason;
  bool uses_today = false;              // the query has relative dates
  std::vector<TagId> depends_on_rules;  // rule tags it names, ascending
};

struct RefreshOptions {
  // Rule tags to refresh ("name" or "category:name"); empty: every rule.
  // The rules they use are refreshed first when also named (or when all
  // are); a rule not named is used as it stands.
  std::vector<std::string> rules;
  // The evaluation date (days since 1970-01-01); default: today (UTC).
  std::optional<int64_t> as_of;
  enum class Mode : uint8_t {
    kAuto = 0,  // incremental where it is exact (see the file comment)
    kFull = 1,  // re-evaluate every customer
  };
  Mode mode = Mode::kAuto;
};

struct RuleRefreshResult {
  TagId tag;
  std::string name;  // "name" or "category:name"
  uint64_t entered = 0;
  uint64_t left = 0;
  uint64_t count = 0;  // members after
  int64_t as_of = 0;   // the date it was evaluated for
  bool incremental = false;
  // Why it ran as it did: "incremental: 1234 changed rows", "full:
  // requested", "full: the query binds differently now", ...
  std::string reason;
  uint64_t evaluated_rows = 0;  // rows re-evaluated (the universe when full)
};

}  // namespace tagindex

#endif  // TAGINDEX_RULE_TAGS_H_
