// Binding of rule tags (tagindex/rule_tags.h): plain tuples; the Python
// layer (_rules.py) turns them into dataclasses and DataFrames.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "convert.h"
#include "status.h"
#include "tagindex/tagindex.h"

namespace tagindex::python {
namespace {

using IndexPtr = std::shared_ptr<Index>;

RefreshPolicy PolicyOf(const std::string& policy) {
  if (policy == "on_demand") return RefreshPolicy::kOnDemand;
  if (policy == "on_commit") return RefreshPolicy::kOnCommit;
  throw StatusError(absl::InvalidArgumentError(
      "rules: policy must be \"on_demand\" or \"on_commit\", not \"" + policy + "\""));
}

const char* PolicyName(RefreshPolicy p) {
  return p == RefreshPolicy::kOnCommit ? "on_commit" : "on_demand";
}

py::tuple InfoTuple(const RuleTagInfo& r) {
  py::list deps;
  for (TagId t : r.depends_on_rules) deps.append(t.value);
  return py::make_tuple(r.tag.value, r.name, r.category, r.query, PolicyName(r.policy), r.as_of,
                        r.count, r.pending, r.full_needed, r.full_reason, r.uses_today, deps);
}

py::tuple ResultTuple(const RuleRefreshResult& r) {
  return py::make_tuple(r.tag.value, r.name, r.entered, r.left, r.count, r.as_of, r.incremental,
                        r.reason, r.evaluated_rows);
}

RuleTagOptions Options(const std::string& category, const std::string& description,
                       const std::string& policy, std::optional<int64_t> as_of) {
  RuleTagOptions o;
  o.category = category;
  o.description = description;
  o.policy = PolicyOf(policy);
  o.as_of = as_of;
  return o;
}

}  // namespace

void BindRules(py::module_& m, py::class_<Index, IndexPtr>& cls) {
  (void)m;
  cls.def("define_rule_tag", [](Index& index, const std::string& name, const std::string& query,
                                const std::string& category, const std::string& description,
                                const std::string& policy, std::optional<int64_t> as_of) {
    RuleTagOptions o = Options(category, description, policy, as_of);
    return ValueOrThrow(WithoutGil([&] { return index.DefineRuleTag(name, query, o); })).value;
  });
  cls.def("redefine_rule_tag", [](Index& index, uint32_t tag, const std::string& query,
                                  const std::string& policy, std::optional<int64_t> as_of) {
    RuleTagOptions o = Options("", "", policy, as_of);
    ThrowIfError(WithoutGil([&] { return index.RedefineRuleTag(TagId{tag}, query, o); }));
  });
  cls.def("drop_rule_tag", [](Index& index, uint32_t tag) {
    ThrowIfError(WithoutGil([&] { return index.DropRuleTag(TagId{tag}); }));
  });
  cls.def("get_rule_tag", [](const Index& index, uint32_t tag) {
    return InfoTuple(ValueOrThrow(WithoutGil([&] { return index.GetRuleTag(TagId{tag}); })));
  });
  cls.def("list_rule_tags", [](const Index& index) {
    py::list out;
    for (const RuleTagInfo& r : ValueOrThrow(WithoutGil([&] { return index.ListRuleTags(); }))) {
      out.append(InfoTuple(r));
    }
    return out;
  });
  cls.def("refresh_rules", [](Index& index, const std::vector<std::string>& rules,
                              std::optional<int64_t> as_of, bool full) {
    RefreshOptions o;
    o.rules = rules;
    o.as_of = as_of;
    o.mode = full ? RefreshOptions::Mode::kFull : RefreshOptions::Mode::kAuto;
    py::list out;
    for (const RuleRefreshResult& r :
         ValueOrThrow(WithoutGil([&] { return index.RefreshRules(o); }))) {
      out.append(ResultTuple(r));
    }
    return out;
  });
}

}  // namespace tagindex::python
