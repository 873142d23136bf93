// The rule core (rules.h): binding, evaluation over all or some rows, the
// rows a moved `today` changes, dependency order and change notes.
#include "index/rules.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <set>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "index/mutation.h"
#include "index/names.h"
#include "index/query_bridge.h"
#include "query/ast.h"
#include "query/binder.h"
#include "query/executor.h"
#include "query/normalizer.h"
#include "query/parser.h"
#include "query/planner.h"
#include "util/error_info.h"
#include "util/status_macros.h"
#include "util/utf8.h"

namespace tagindex::internal {
namespace {

// The planner's operand for "the rows being re-evaluated": an id below the
// saved-segment range and far above IndexOptions::max_tags.
constexpr uint32_t kChangedRowsTag = kSegmentTagBase - 1;

// Notes every saved segment the binder looks up.
class RecordingResolver : public CatalogResolver {
 public:
  RecordingResolver(const RuleInputs& in, std::set<std::string>* names)
      : CatalogResolver(in.catalog, in.attributes, &in.segments), names_(names) {}
  std::optional<SegmentRef> FindSegment(std::string_view name) const override {
    names_->insert(std::string(util::TrimUnicodeSpace(name)));
    return CatalogResolver::FindSegment(name);
  }

 private:
  std::set<std::string>* names_;
};

class RuleSource : public query::BitmapSource {
 public:
  RuleSource(const RuleInputs& in, const Bitmap* changed) : in_(in), changed_(changed) {}
  const Bitmap* TagBitmap(TagId tag) const override {
    if (tag.value == kChangedRowsTag) return changed_;
    if (tag.value >= kSegmentTagBase) {
      const SavedSegmentEntry* e = in_.segments.Get(tag.value - kSegmentTagBase);
      return e == nullptr || e->dynamic ? nullptr : &e->members;
    }
    const TagEntry* t = in_.catalog.Get(tag);
    return t == nullptr ? nullptr : &t->bitmap;
  }
  const Bitmap& Universe() const override { return changed_ != nullptr ? *changed_ : in_.universe; }
  const Bsi* AttributeColumn(AttributeId attribute) const override {
    const AttributeEntry* a = in_.attributes.Get(attribute);
    return a == nullptr ? nullptr : &a->column;
  }

 private:
  const RuleInputs& in_;
  const Bitmap* changed_;
};

bool HasRelativeDate(const query::AstNode& n) {
  for (const query::Value& v : n.values) {
    if (v.kind == query::Value::Kind::kRelativeDate) return true;
  }
  for (const auto& c : n.children) {
    if (HasRelativeDate(*c)) return true;
  }
  return false;
}

void CollectDeps(const query::Expr& e, std::set<uint32_t>* tags, std::set<uint32_t>* attrs) {
  if (e.kind == query::Expr::Kind::kTag) tags->insert(e.tag.value);
  if (e.kind == query::Expr::Kind::kPredicate) attrs->insert(e.attribute.value);
  for (const query::Expr& c : e.children) CollectDeps(c, tags, attrs);
}

Bitmap Run(const RuleInputs& in, const query::Expr& e, const Bitmap* rows) {
  RuleSource source(in, rows);
  absl::StatusOr<query::PlanNode> plan = query::Plan(e, source);
  // Planning fails only for an operand that vanished; the binder saw it
  // under the same lock, so this does not happen.
  if (!plan.ok()) return Bitmap();
  return query::Execute(*plan, source.Universe());
}

// Pairs the predicates of two expressions of the same shape; false when the
// shapes differ in anything but predicate intervals.
bool PairPredicates(const query::Expr& a, const query::Expr& b,
                    std::vector<std::pair<const query::Expr*, const query::Expr*>>* out) {
  if (a.kind != b.kind || a.children.size() != b.children.size()) return false;
  switch (a.kind) {
    case query::Expr::Kind::kTag:
      return a.tag == b.tag;
    case query::Expr::Kind::kPredicate:
      if (a.attribute != b.attribute) return false;
      if (a.Key() != b.Key()) out->push_back({&a, &b});
      return true;
    default:
      break;
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!PairPredicates(a.children[i], b.children[i], out)) return false;
  }
  return true;
}

// The values in exactly one of two sorted, disjoint lists of inclusive
// intervals. Each list's indicator toggles at its interval starts and one
// past its ends; the XOR toggles where an odd number of those points meet.
std::vector<Bsi::Interval> SymmetricDifference(const std::vector<Bsi::Interval>& x,
                                               const std::vector<Bsi::Interval>& y) {
  std::vector<absl::int128> points;
  for (const auto* list : {&x, &y}) {
    for (const Bsi::Interval& i : *list) {
      points.push_back(i.lo);
      points.push_back(absl::int128(i.hi) + 1);
    }
  }
  std::sort(points.begin(), points.end());
  std::vector<absl::int128> toggles;
  for (size_t i = 0; i < points.size();) {
    size_t j = i;
    while (j < points.size() && points[j] == points[i]) ++j;
    if ((j - i) % 2 == 1) toggles.push_back(points[i]);
    i = j;
  }
  std::vector<Bsi::Interval> out;
  for (size_t i = 0; i + 1 < toggles.size(); i += 2) {
    out.push_back({static_cast<int64_t>(toggles[i]), static_cast<int64_t>(toggles[i + 1] - 1)});
  }
  return out;
}

}  // namespace

RuleEntry* RuleTable::Mutable(TagId tag) {
  auto it = rules_.find(tag.value);
  if (it == rules_.end()) return nullptr;
  if (it->second.use_count() > 1) {
    const RuleEntry& old = *it->second;
    auto e = std::make_shared<RuleEntry>();
    e->tag = old.tag;
    e->query = old.query;
    e->policy = old.policy;
    e->as_of = old.as_of;
    e->key = old.key;
    e->deps = old.deps;
    e->pending = old.pending.Copy();
    e->full_needed = old.full_needed;
    e->full_reason = old.full_reason;
    it->second = std::move(e);
  }
  return it->second.get();
}

RuleEntry& RuleTable::Put(RuleEntry e) {
  const uint32_t id = e.tag.value;
  auto entry = std::make_shared<RuleEntry>(std::move(e));
  RuleEntry& ref = *entry;
  rules_[id] = std::move(entry);
  return ref;
}

const RuleEntry* RuleTable::UserOfTag(TagId tag) const {
  for (const auto& [id, e] : rules_) {
    if (std::binary_search(e->deps.tags.begin(), e->deps.tags.end(), tag)) return e.get();
  }
  return nullptr;
}

const RuleEntry* RuleTable::UserOfAttribute(AttributeId attribute) const {
  for (const auto& [id, e] : rules_) {
    for (AttributeId a : e->deps.attributes) {
      if (a == attribute) return e.get();
    }
  }
  return nullptr;
}

const RuleEntry* RuleTable::UserOfSegment(std::string_view name) const {
  for (const auto& [id, e] : rules_) {
    for (const std::string& n : e->deps.segments) {
      if (n == name) return e.get();
    }
  }
  return nullptr;
}

absl::StatusOr<BoundRule> BindRule(const RuleInputs& in, std::string_view text, int64_t today) {
  QueryOptions options;
  options.today = today;
  TI_ASSIGN_OR_RETURN(std::unique_ptr<query::AstNode> ast, query::ParseQuery(text, options));
  BoundRule r;
  std::set<std::string> segment_names;
  RecordingResolver resolver(in, &segment_names);
  TI_ASSIGN_OR_RETURN(r.bound, query::Bind(text, *ast, resolver, options));
  r.deps.segments.assign(segment_names.begin(), segment_names.end());
  r.deps.uses_today = HasRelativeDate(*ast);
  r.key = r.bound.Key();
  std::set<uint32_t> tags, attrs;
  CollectDeps(r.bound, &tags, &attrs);
  for (uint32_t t : tags) r.deps.tags.push_back(TagId{t});
  for (uint32_t a : attrs) r.deps.attributes.push_back(AttributeId{a});
  r.normalized = query::Normalize(r.bound, options.rewrites);
  return r;
}

Bitmap EvaluateRule(const RuleInputs& in, const BoundRule& rule, const Bitmap* rows) {
  if (rows == nullptr) return Run(in, rule.normalized, nullptr);
  if (rows->IsEmpty()) return Bitmap();
  // AND(rows, rule) over the universe `rows`: the planner starts from the
  // smallest operand and restricts predicates to the running intersection,
  // so the cost follows |rows|, and NOT x is rows − x.
  // One flat AND (the rule's own AND operands beside `rows`), so every
  // predicate operand is walked only within the running intersection.
  std::vector<query::Expr> both;
  both.push_back(query::Expr::Tag(TagId{kChangedRowsTag}, "changed rows"));
  if (rule.normalized.kind == query::Expr::Kind::kAnd) {
    for (const query::Expr& c : rule.normalized.children) both.push_back(c);
  } else {
    both.push_back(rule.normalized);
  }
  return Run(in, query::Expr::Nary(query::Expr::Kind::kAnd, std::move(both)), rows);
}

std::optional<Bitmap> DateShiftRows(const RuleInputs& in, const BoundRule& old_rule,
                                    const BoundRule& new_rule) {
  std::vector<std::pair<const query::Expr*, const query::Expr*>> pairs;
  if (!PairPredicates(old_rule.bound, new_rule.bound, &pairs)) return std::nullopt;
  // Per moved predicate, the rows whose result differs: those whose value
  // lies in the symmetric difference of the two interval lists (one walk
  // of the slices, not two).
  Bitmap out;
  for (const auto& [a, b] : pairs) {
    std::vector<Bsi::Interval> moved = SymmetricDifference(a->intervals, b->intervals);
    if (moved.empty()) continue;
    out.OrInPlace(
        Run(in, query::Expr::Predicate(a->attribute, std::move(moved), "moved dates"), nullptr));
  }
  return out;
}

std::vector<TagId> RuleTagsIn(const RuleTable& rules, const RuleDeps& deps) {
  std::vector<TagId> out;
  for (TagId t : deps.tags) {
    if (rules.Find(t) != nullptr) out.push_back(t);
  }
  return out;
}

std::string RuleName(const TagEntry& t) {
  return t.category.empty() ? t.name : absl::StrCat(t.category, ":", t.name);
}

std::optional<std::string> FindCycle(const RuleTable& rules, const Catalog& catalog, TagId tag,
                                     const RuleDeps& deps) {
  // Depth-first from the new definition's rule dependencies; a path back to
  // `tag` is the cycle.
  std::vector<TagId> path = {tag};
  std::set<uint32_t> done;
  std::function<bool(const std::vector<TagId>&)> visit = [&](const std::vector<TagId>& next) {
    for (TagId t : next) {
      if (t == tag) {
        path.push_back(t);
        return true;
      }
      if (done.count(t.value) > 0) continue;
      done.insert(t.value);
      const RuleEntry* e = rules.Find(t);
      if (e == nullptr) continue;
      path.push_back(t);
      if (visit(RuleTagsIn(rules, e->deps))) return true;
      path.pop_back();
    }
    return false;
  };
  std::vector<TagId> first = RuleTagsIn(rules, deps);
  for (TagId t : deps.tags) {
    if (t == tag) first.push_back(t);  // names itself
  }
  if (!visit(first)) return std::nullopt;
  std::vector<std::string> names;
  for (TagId t : path) {
    const TagEntry* e = catalog.Get(t);
    names.push_back(e != nullptr ? RuleName(*e) : absl::StrCat("tag id ", t.value));
  }
  return absl::StrJoin(names, " -> ");
}

std::vector<TagId> DependencyOrder(const RuleTable& rules, std::vector<TagId> tags) {
  if (tags.empty()) rules.ForEach([&](const RuleEntry& e) { tags.push_back(e.tag); });
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  std::set<uint32_t> wanted;
  for (TagId t : tags) wanted.insert(t.value);
  std::vector<TagId> out;
  std::set<uint32_t> placed;
  // Definitions are acyclic (checked when defined), so this terminates.
  std::function<void(TagId, int)> place = [&](TagId t, int depth) {
    if (placed.count(t.value) > 0 || depth > 100000) return;
    placed.insert(t.value);
    if (const RuleEntry* e = rules.Find(t)) {
      for (TagId d : RuleTagsIn(rules, e->deps)) {
        if (wanted.count(d.value) > 0) place(d, depth + 1);
      }
    }
    out.push_back(t);
  };
  for (TagId t : tags) place(t, 0);
  return out;
}

void NoteRuleChanges(RuleTable& rules, const Delta& delta) {
  if (rules.empty()) return;
  Bitmap added, removed;
  if (!delta.customers_added.empty()) added = Bitmap::FromIds(delta.customers_added);
  if (!delta.customers_removed.empty()) removed = Bitmap::FromIds(delta.customers_removed);
  for (TagId id : rules.Tags()) {
    const RuleEntry& e = *rules.Find(id);
    // What changed for this rule (a copy-on-write clone only if anything).
    std::vector<const Bitmap*> more;
    if (!added.IsEmpty()) more.push_back(&added);
    for (const TagRowsDelta& d : delta.rows) {
      if (d.tag == e.tag) continue;  // its own refresh
      if (!std::binary_search(e.deps.tags.begin(), e.deps.tags.end(), d.tag)) continue;
      more.push_back(&d.added);
      more.push_back(&d.removed);
    }
    for (const AttributeRowsDelta& d : delta.attributes) {
      for (AttributeId a : e.deps.attributes) {
        if (a == d.attribute) more.push_back(&d.rows);
      }
    }
    // A removed customer left every tag already; nothing to re-evaluate.
    const bool drop = !removed.IsEmpty() && Bitmap::Intersects(e.pending, removed);
    if (more.empty() && !drop) continue;
    RuleEntry& m = *rules.Mutable(id);
    for (const Bitmap* b : more) m.pending.OrInPlace(*b);
    if (drop) m.pending.AndNotInPlace(removed);
  }
}

namespace {

absl::Status RuleError(absl::Status st, std::string_view name) {
  return util::WithMessage(st, absl::StrCat("index: rule tag ", Quote(name), ": ", st.message()));
}

absl::StatusOr<Bitmap> ParseLogged(std::string_view blob, const char* what) {
  absl::StatusOr<Bitmap> b =
      Bitmap::PortableDeserialize(std::span<const char>(blob.data(), blob.size()));
  if (!b.ok()) {
    return util::CorruptFile("log", std::nullopt,
                             absl::StrCat("rule tag record: ", what, ": ", b.status().message()));
  }
  return b;
}

// Full or incremental, and the rows to re-evaluate (incremental only).
struct RefreshPlan {
  bool incremental = false;
  std::string reason;
  Bitmap rows;
};

RefreshPlan PlanRefresh(const RuleInputs& in, const RuleEntry& e, const BoundRule& now,
                        int64_t as_of, bool full_requested) {
  RefreshPlan p;
  if (full_requested) {
    p.reason = "full: requested";
    return p;
  }
  if (e.full_needed) {
    p.reason = absl::StrCat("full: ", e.full_reason);
    return p;
  }
  Bitmap rows = Bitmap::And(e.pending, in.universe);
  std::string extra;
  if (now.key != e.key) {
    if (as_of == e.as_of) {
      p.reason = "full: the query binds differently now (the catalog or a saved segment changed)";
      return p;
    }
    absl::StatusOr<BoundRule> before = BindRule(in, e.query, e.as_of);
    if (!before.ok() || before->key != e.key) {
      p.reason = "full: the query binds differently now (the catalog or a saved segment changed)";
      return p;
    }
    std::optional<Bitmap> shifted = DateShiftRows(in, *before, now);
    if (!shifted) {
      p.reason = "full: moving today changed more than the date bounds";
      return p;
    }
    shifted->AndInPlace(in.universe);
    extra = absl::StrCat("; today moved from ", e.as_of, " to ", as_of, ": ",
                         shifted->Cardinality(), " rows between the old and new date bounds");
    rows.OrInPlace(*shifted);
  }
  p.incremental = true;
  p.reason = absl::StrCat("incremental: ", rows.Cardinality(), " changed rows", extra);
  p.rows = std::move(rows);
  return p;
}

// entered / left of `members` when `rule` is evaluated per `plan`.
void Evaluate(const RuleInputs& in, const BoundRule& rule, const Bitmap& members,
              const RefreshPlan& plan, Bitmap* entered, Bitmap* left) {
  if (plan.incremental) {
    Bitmap now = EvaluateRule(in, rule, &plan.rows);
    Bitmap before = Bitmap::And(members, plan.rows);
    *entered = Bitmap::AndNot(now, before);
    *left = Bitmap::AndNot(before, now);
  } else {
    Bitmap now = EvaluateRule(in, rule, nullptr);
    *entered = Bitmap::AndNot(now, members);
    *left = Bitmap::AndNot(members, now);
  }
}

void UpdateEntry(RuleEntry& e, BoundRule rule, int64_t as_of) {
  e.as_of = as_of;
  e.key = std::move(rule.key);
  e.deps = std::move(rule.deps);
  e.pending = Bitmap();
  e.full_needed = false;
  e.full_reason.clear();
}

void ChangeTag(TagEntry& tag, const Bitmap& entered, const Bitmap& left, Delta* delta,
               bool deltas) {
  if (entered.IsEmpty() && left.IsEmpty()) return;
  tag.bitmap.AndNotInPlace(left);
  tag.bitmap.OrInPlace(entered);
  if (deltas) delta->rows.push_back({tag.id, entered.Copy(), left.Copy()});
}

}  // namespace

absl::Status RefuseManualWrite(const RuleTable& rules, const Catalog& catalog, TagId tag) {
  const RuleEntry* e = rules.Find(tag);
  if (e == nullptr) return absl::OkStatus();
  const TagEntry* t = catalog.Get(tag);
  const std::string name = t != nullptr ? RuleName(*t) : absl::StrCat("tag id ", tag.value);
  return util::Error(absl::StatusCode::kFailedPrecondition, ErrorKind::kUnsupported, name,
                     absl::StrCat("index: tag ", Quote(name),
                                  " is a rule tag (its members are the result of ", Quote(e->query),
                                  "); it cannot be tagged or untagged by hand: redefine or "
                                  "refresh the rule"));
}

absl::Status ValidateDefineRule(const RuleInputs& in, const RuleTable& rules, DefineRuleMutation& m,
                                BoundRule* rule, Bitmap* members) {
  std::string name(m.name);
  if (m.redefine) {
    const TagEntry* t = in.catalog.Get(TagId{m.id});
    if (rules.Find(TagId{m.id}) == nullptr) {
      return util::Error(absl::StatusCode::kFailedPrecondition, ErrorKind::kUnsupported,
                         RuleName(*t),
                         absl::StrCat("index: tag ", Quote(RuleName(*t)),
                                      " is not a rule tag; only a rule tag can be redefined"));
    }
    name = RuleName(*t);
  } else if (!m.category.empty()) {
    const CategoryEntry* c = in.catalog.FindCategory(m.category);
    if (c != nullptr && c->exclusive) {
      return util::Error(
          absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, m.category,
          absl::StrCat("index: rule tag ", Quote(m.name), ": category ", Quote(m.category),
                       " is exclusive; a rule tag cannot be in an exclusive category"));
    }
  }
  if (m.query.empty()) {
    return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, name,
                       absl::StrCat("index: rule tag ", Quote(name), " has no query"));
  }
  absl::StatusOr<BoundRule> bound = BindRule(in, m.query, m.as_of);
  if (!bound.ok()) return RuleError(bound.status(), name);
  *rule = *std::move(bound);
  if (m.redefine) {
    if (std::optional<std::string> cycle = FindCycle(rules, in.catalog, TagId{m.id}, rule->deps)) {
      return util::Error(
          absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, name,
          absl::StrCat("index: rule tag ", Quote(name), " would depend on itself: ", *cycle));
    }
  }
  if (m.members == nullptr && m.portable.empty()) {  // live
    *members = EvaluateRule(in, *rule, nullptr);
    m.members = members;
    return absl::OkStatus();
  }
  TI_ASSIGN_OR_RETURN(*members, ParseLogged(m.portable, "members"));
  return absl::OkStatus();
}

absl::Status ValidateRefreshRule(const RuleInputs& in, const RuleTable& rules,
                                 RefreshRuleMutation& m, BoundRule* rule, Bitmap* entered,
                                 Bitmap* left) {
  const TagEntry* t = in.catalog.Get(m.tag);
  const RuleEntry* e = rules.Find(m.tag);
  if (e == nullptr) {
    return util::Error(absl::StatusCode::kFailedPrecondition, ErrorKind::kUnsupported, RuleName(*t),
                       absl::StrCat("index: tag ", Quote(RuleName(*t)), " is not a rule tag"));
  }
  absl::StatusOr<BoundRule> bound = BindRule(in, e->query, m.as_of);
  if (!bound.ok()) return RuleError(bound.status(), RuleName(*t));
  *rule = *std::move(bound);
  if (m.entered == nullptr && m.entered_portable.empty()) {  // live
    RefreshPlan plan = PlanRefresh(in, *e, *rule, m.as_of, m.full);
    Evaluate(in, *rule, t->bitmap, plan, entered, left);
    m.entered = entered;
    m.left = left;
    m.incremental = plan.incremental;
    if (m.report != nullptr) {
      RuleRefreshResult& r = *m.report;
      r.tag = m.tag;
      r.name = RuleName(*t);
      r.entered = entered->Cardinality();
      r.left = left->Cardinality();
      r.count = t->bitmap.Cardinality() + r.entered - r.left;
      r.as_of = m.as_of;
      r.incremental = plan.incremental;
      r.reason = plan.reason;
      r.evaluated_rows = plan.incremental ? plan.rows.Cardinality() : in.universe.Cardinality();
    }
    return absl::OkStatus();
  }
  TI_ASSIGN_OR_RETURN(*entered, ParseLogged(m.entered_portable, "entered rows"));
  TI_ASSIGN_OR_RETURN(*left, ParseLogged(m.left_portable, "left rows"));
  return absl::OkStatus();
}

void ApplyDefineRule(RuleTable& rules, TagEntry& tag, const DefineRuleMutation& m, BoundRule rule,
                     Bitmap members, const Bitmap& universe, Delta* delta, bool deltas) {
  members.AndInPlace(universe);
  Bitmap entered = Bitmap::AndNot(members, tag.bitmap);
  Bitmap left = Bitmap::AndNot(tag.bitmap, members);
  ChangeTag(tag, entered, left, delta, deltas);
  RuleEntry e;
  e.tag = tag.id;
  e.query = std::string(m.query);
  e.policy = m.policy;
  UpdateEntry(e, std::move(rule), m.as_of);
  rules.Put(std::move(e));
}

void ApplyRefreshRule(RuleTable& rules, TagEntry& tag, const RefreshRuleMutation& m, BoundRule rule,
                      const Bitmap& entered, const Bitmap& left, Delta* delta, bool deltas) {
  ChangeTag(tag, entered, left, delta, deltas);
  UpdateEntry(*rules.Mutable(tag.id), std::move(rule), m.as_of);
}

void RunRuleHooks(Catalog& catalog, const AttributeTable& attributes,
                  const SavedSegmentTable& segments, const Bitmap& universe, RuleTable& rules,
                  Delta* delta) {
  NoteRuleChanges(rules, *delta);
  std::vector<TagId> on_commit;
  rules.ForEach([&](const RuleEntry& e) {
    if (e.policy == RefreshPolicy::kOnCommit) on_commit.push_back(e.tag);
  });
  if (on_commit.empty()) return;
  const RuleInputs in{catalog, attributes, segments, universe};
  for (TagId id : DependencyOrder(rules, on_commit)) {
    if (rules.Find(id)->pending.IsEmpty() && !rules.Find(id)->full_needed) continue;
    RuleEntry& e = *rules.Mutable(id);
    absl::StatusOr<BoundRule> bound = BindRule(in, e.query, e.as_of);
    if (!bound.ok()) {
      // Left for RefreshRules, which reports why.
      e.full_needed = true;
      e.full_reason =
          absl::StrCat("the query did not bind at a commit: ", bound.status().message());
      continue;
    }
    RefreshPlan plan;
    if (!e.full_needed && bound->key == e.key) {
      plan.incremental = true;
      plan.rows = Bitmap::And(e.pending, universe);
    }
    TagEntry& tag = *catalog.Mutable(id);
    Bitmap entered, left;
    Evaluate(in, *bound, tag.bitmap, plan, &entered, &left);
    Delta d;
    d.tags.push_back(id);
    ChangeTag(tag, entered, left, &d, /*deltas=*/true);
    UpdateEntry(e, *std::move(bound), e.as_of);
    NoteRuleChanges(rules, d);
    delta->Merge(std::move(d));
  }
}

}  // namespace tagindex::internal
