// Index's rule tags (tagindex/rule_tags.h): define / redefine / drop / list
// / refresh. Every change is one commit of the mutation pipeline; the rule
// core is index/rules.h.
#include <memory>

#include "absl/strings/str_cat.h"
#include "index/index_state.h"
#include "index/mutation.h"
#include "index/names.h"
#include "index/rules.h"
#include "query/attribute_value.h"
#include "tagindex/index.h"
#include "util/error_info.h"
#include "util/status_macros.h"

namespace tagindex {
namespace {

using internal::IndexState;
using internal::Quote;
using internal::RuleEntry;
using internal::Version;

absl::Status CommitOne(IndexState& s, internal::Mutation m, internal::CommitResult* result) {
  return internal::Commit(s, std::span<internal::Mutation>(&m, 1), {}, result);
}

RuleTagInfo MakeRuleInfo(const Version& s, const RuleEntry& e) {
  RuleTagInfo info;
  info.tag = e.tag;
  const internal::TagEntry* t = s.catalog.Get(e.tag);
  info.name = t->name;
  info.category = t->category;
  info.query = e.query;
  info.policy = e.policy;
  info.as_of = e.as_of;
  info.count = t->bitmap.Cardinality();
  info.pending = Bitmap::AndCardinality(e.pending, s.universe());
  info.full_needed = e.full_needed;
  info.full_reason = e.full_reason;
  info.uses_today = e.deps.uses_today;
  info.depends_on_rules = internal::RuleTagsIn(s.rules, e.deps);
  return info;
}

absl::Status NotARule(const Version& s, TagId tag) {
  const internal::TagEntry* t = s.catalog.Get(tag);
  if (t == nullptr) {
    return util::Error(absl::StatusCode::kNotFound,
                       absl::StrCat("index: tag id ", tag.value, " not found"),
                       util::IdInfo(ErrorKind::kUnknownTag, "tag id", tag.value));
  }
  const std::string name = internal::RuleName(*t);
  return util::Error(absl::StatusCode::kFailedPrecondition, ErrorKind::kUnsupported, name,
                     absl::StrCat("index: tag ", Quote(name), " is not a rule tag"));
}

}  // namespace

absl::StatusOr<TagId> Index::DefineRuleTag(std::string_view name, std::string_view query,
                                           const RuleTagOptions& options) {
  return internal::Guarded([&]() -> absl::StatusOr<TagId> {
    if (options.policy != RefreshPolicy::kOnDemand && options.policy != RefreshPolicy::kOnCommit) {
      return absl::InvalidArgumentError("index: unknown RefreshPolicy");
    }
    internal::DefineRuleMutation m;
    m.name = name;
    m.category = options.category;
    m.description = options.description;
    m.query = query;
    m.policy = options.policy;
    m.as_of = options.as_of.value_or(query::TodayUtc());
    internal::CommitResult result;
    TI_RETURN_IF_ERROR(CommitOne(*state_, m, &result));
    return result.items[0].tag;
  });
}

absl::Status Index::RedefineRuleTag(TagId tag, std::string_view query,
                                    const RuleTagOptions& options) {
  return internal::Guarded([&]() -> absl::Status {
    if (options.policy != RefreshPolicy::kOnDemand && options.policy != RefreshPolicy::kOnCommit) {
      return absl::InvalidArgumentError("index: unknown RefreshPolicy");
    }
    internal::DefineRuleMutation m;
    m.redefine = true;
    m.id = tag.value;
    m.query = query;
    m.policy = options.policy;
    m.as_of = options.as_of.value_or(query::TodayUtc());
    return CommitOne(*state_, m, nullptr);
  });
}

absl::Status Index::DropRuleTag(TagId tag) {
  {
    std::shared_ptr<const Version> v = state_->Pin();
    if (v->rules.Find(tag) == nullptr) return NotARule(*v, tag);
  }
  // The pipeline checks again (and that no other rule uses it).
  return CommitOne(*state_, internal::DeleteTagMutation{tag}, nullptr);
}

absl::StatusOr<RuleTagInfo> Index::GetRuleTag(TagId tag) const {
  std::shared_ptr<const Version> v = state_->Pin();
  const RuleEntry* e = v->rules.Find(tag);
  if (e == nullptr) return NotARule(*v, tag);
  return MakeRuleInfo(*v, *e);
}

absl::StatusOr<std::vector<RuleTagInfo>> Index::ListRuleTags() const {
  return internal::Guarded([&]() -> absl::StatusOr<std::vector<RuleTagInfo>> {
    std::shared_ptr<const Version> v = state_->Pin();
    std::vector<RuleTagInfo> out;
    v->rules.ForEach([&](const RuleEntry& e) { out.push_back(MakeRuleInfo(*v, e)); });
    return out;
  });
}

absl::StatusOr<std::vector<RuleRefreshResult>> Index::RefreshRules(const RefreshOptions& options) {
  return internal::Guarded([&]() -> absl::StatusOr<std::vector<RuleRefreshResult>> {
    std::vector<TagId> tags;
    for (const std::string& name : options.rules) {
      absl::StatusOr<TagId> t = FindTag(name);
      if (!t.ok() && absl::IsNotFound(t.status())) {
        if (size_t colon = name.find(':'); colon != std::string::npos) {
          absl::StatusOr<TagId> q = FindTag(std::string_view(name).substr(0, colon),
                                            std::string_view(name).substr(colon + 1));
          if (q.ok()) t = q;
        }
      }
      TI_RETURN_IF_ERROR(t.status());
      tags.push_back(*t);
    }
    std::vector<TagId> order;
    {
      std::shared_ptr<const Version> v = state_->Pin();
      for (TagId t : tags) {
        if (v->rules.Find(t) == nullptr) return NotARule(*v, t);
      }
      if (tags.empty() && v->rules.empty()) return std::vector<RuleRefreshResult>();
      order = internal::DependencyOrder(v->rules, tags);
    }
    const int64_t as_of = options.as_of.value_or(query::TodayUtc());
    std::vector<RuleRefreshResult> out;
    for (TagId t : order) {
      RuleRefreshResult report;
      internal::RefreshRuleMutation m;
      m.tag = t;
      m.as_of = as_of;
      m.full = options.mode == RefreshOptions::Mode::kFull;
      m.report = &report;
      TI_RETURN_IF_ERROR(CommitOne(*state_, m, nullptr));
      out.push_back(std::move(report));
    }
    return out;
  });
}

}  // namespace tagindex
