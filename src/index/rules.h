// Rule tags (tagindex/rule_tags.h): the rule table of an index and the rule
// core — binding a rule, evaluating it over all or some rows, noting which
// rows changed — as functions over plain data (catalog, attributes, saved
// segments, universe), so that they do not depend on how the index holds
// its state. Not part of the public API.
#ifndef TAGINDEX_INDEX_RULES_H_
#define TAGINDEX_INDEX_RULES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "bitmap/bitmap.h"
#include "index/attributes.h"
#include "index/catalog.h"
#include "index/saved_segments.h"
#include "query/expr.h"
#include "tagindex/rule_tags.h"
#include "tagindex/types.h"

namespace tagindex::internal {

struct Delta;
struct DefineRuleMutation;
struct RefreshRuleMutation;

// What a rule reads, from its bound expression.
struct RuleDeps {
  std::vector<TagId> tags;              // ascending; static saved segments as kSegmentTagBase + id
  std::vector<AttributeId> attributes;  // ascending by value
  std::vector<std::string> segments;    // saved segments it names (人群:NAME), sorted
  bool uses_today = false;              // has relative dates
};

struct RuleEntry {
  TagId tag;
  std::string query;  // as written
  RefreshPolicy policy = RefreshPolicy::kOnDemand;
  int64_t as_of = 0;  // the `today` the members were evaluated for
  // Identity of the bound expression the members were evaluated with
  // (query::Expr::Key, before normalisation).
  std::string key;
  RuleDeps deps;
  // Rows whose inputs changed since the last evaluation (may hold rows
  // removed since; they are dropped at refresh).
  Bitmap pending;
  bool full_needed = false;
  std::string full_reason;
};

// Copyable in O(rules) (index versions, version.h): entries are shared
// between copies and cloned by Mutable before a change, so a reader's
// version keeps the entry it saw.
class RuleTable {
 public:
  bool empty() const { return rules_.empty(); }
  size_t size() const { return rules_.size(); }
  const RuleEntry* Find(TagId tag) const {
    auto it = rules_.find(tag.value);
    return it == rules_.end() ? nullptr : it->second.get();
  }
  // The entry, private to this copy (cloned if shared); nullptr if absent.
  RuleEntry* Mutable(TagId tag);
  RuleEntry& Put(RuleEntry e);
  void Erase(TagId tag) { rules_.erase(tag.value); }
  // Ascending by tag id.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const auto& [id, e] : rules_) fn(static_cast<const RuleEntry&>(*e));
  }
  std::vector<TagId> Tags() const {
    std::vector<TagId> out;
    for (const auto& [id, e] : rules_) out.push_back(TagId{id});
    return out;
  }
  // The first rule (by tag id) that reads `tag` / `attribute` / the saved
  // segment `name`.
  const RuleEntry* UserOfTag(TagId tag) const;
  const RuleEntry* UserOfAttribute(AttributeId attribute) const;
  const RuleEntry* UserOfSegment(std::string_view name) const;

 private:
  std::map<uint32_t, std::shared_ptr<RuleEntry>> rules_;
};

// The plain data a rule reads.
struct RuleInputs {
  const Catalog& catalog;
  const AttributeTable& attributes;
  const SavedSegmentTable& segments;
  const Bitmap& universe;
};

struct BoundRule {
  query::Expr bound;       // as the binder returned it (for keys and date intervals)
  query::Expr normalized;  // what is planned
  std::string key;
  RuleDeps deps;
};

// Parses and binds `text` with `today`. Errors: those of Query.
absl::StatusOr<BoundRule> BindRule(const RuleInputs& in, std::string_view text, int64_t today);

// The rule's members over every live customer, or only over `rows` (a
// subset of the universe): eval(rule) ∩ rows, with NOT taken relative to
// `rows`, which for row-local predicates is the same thing.
Bitmap EvaluateRule(const RuleInputs& in, const BoundRule& rule, const Bitmap* rows);

// The rows whose result of some date predicate differs between `old_rule`
// and `new_rule` (bound from the same text at two dates). nullopt when the
// two differ in more than predicate intervals (then refresh in full).
std::optional<Bitmap> DateShiftRows(const RuleInputs& in, const BoundRule& old_rule,
                                    const BoundRule& new_rule);

// Rule tags `deps` names, ascending.
std::vector<TagId> RuleTagsIn(const RuleTable& rules, const RuleDeps& deps);

// Whether defining `tag` with `deps` makes a cycle; if so, the cycle as
// "a -> b -> a" (names from the catalog).
std::optional<std::string> FindCycle(const RuleTable& rules, const Catalog& catalog, TagId tag,
                                     const RuleDeps& deps);

// `tags` (or every rule when empty) and, for each, ordered after the rules
// it uses that are also in the list.
std::vector<TagId> DependencyOrder(const RuleTable& rules, std::vector<TagId> tags);

// Adds what `delta` changed to each rule's pending rows.
void NoteRuleChanges(RuleTable& rules, const Delta& delta);

// "name" or "category:name".
std::string RuleName(const TagEntry& t);

// ---- the pipeline's rule steps (mutation_apply.cc calls them) ----

// FailedPrecondition naming the tag when `tag` is a rule tag.
absl::Status RefuseManualWrite(const RuleTable& rules, const Catalog& catalog, TagId tag);

// Binds the rule (errors: the query's, an exclusive category, a cycle)
// and, for a live write (`m.members` null, no logged bytes), evaluates it
// into `members` and points `m.members` at it; on replay parses the
// logged members into `members`.
absl::Status ValidateDefineRule(const RuleInputs& in, const RuleTable& rules, DefineRuleMutation& m,
                                BoundRule* rule, Bitmap* members);
// Binds the rule at m.as_of and, live, decides full or incremental and
// evaluates: `entered` / `left` (pointed at by m) and m.report; on replay
// parses the logged rows.
absl::Status ValidateRefreshRule(const RuleInputs& in, const RuleTable& rules,
                                 RefreshRuleMutation& m, BoundRule* rule, Bitmap* entered,
                                 Bitmap* left);
void ApplyDefineRule(RuleTable& rules, TagEntry& tag, const DefineRuleMutation& m, BoundRule rule,
                     Bitmap members, const Bitmap& universe, Delta* delta, bool deltas);
void ApplyRefreshRule(RuleTable& rules, TagEntry& tag, const RefreshRuleMutation& m, BoundRule rule,
                      const Bitmap& entered, const Bitmap& left, Delta* delta, bool deltas);
// After a commit's items are applied: notes the changed rows in every
// rule and refreshes the on-commit rules (dependency order) at their
// evaluation date, adding their changes to `delta`.
void RunRuleHooks(Catalog& catalog, const AttributeTable& attributes,
                  const SavedSegmentTable& segments, const Bitmap& universe, RuleTable& rules,
                  Delta* delta);

}  // namespace tagindex::internal

#endif  // TAGINDEX_INDEX_RULES_H_
