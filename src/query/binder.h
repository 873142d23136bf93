// Binder: AST -> bound expression. Resolves tag names against the index
// (through TagResolver, so this layer does not depend on src/index) and
// rewrites category predicates into tag algebra. Stage 3 of the pipeline.
#ifndef TAGINDEX_QUERY_BINDER_H_
#define TAGINDEX_QUERY_BINDER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "query/ast.h"
#include "query/expr.h"
#include "tagindex/query.h"

namespace tagindex::query {

// What the binder needs to know about an index's names. Implemented in
// src/index over the catalog; the caller holds whatever lock that needs for
// the duration of Bind.
class TagResolver {
 public:
  // Views into the index's catalog, valid while the caller's lock is held.
  struct TagRef {
    TagId id;
    std::string_view category;  // "" = none
    std::string_view name;
  };
  struct CategoryRef {
    bool exclusive = false;
    std::vector<TagRef> tags;
  };

  virtual ~TagResolver() = default;
  // Every live tag called `name`, in any category.
  virtual std::vector<TagRef> FindByName(std::string_view name) const = 0;
  // The tag (category, name); category "" means no category.
  virtual std::optional<TagRef> Find(std::string_view category, std::string_view name) const = 0;
  // A category and its live tags, or nullopt if there is no such category.
  virtual std::optional<CategoryRef> FindCategory(std::string_view category) const = 0;
  // Up to three "did you mean" names (qualified where ambiguous), best first.
  virtual std::vector<std::string> Suggest(std::string_view name) const = 0;

  // An attribute column (numeric or date), if `name` is one.
  struct AttributeRef {
    AttributeId id;
    AttributeType type = AttributeType::kInt64;
    int scale = 0;
  };
  virtual std::optional<AttributeRef> FindAttribute(std::string_view /*name*/) const {
    return std::nullopt;
  }
  // Up to three categories or attributes named like `name`, best first.
  virtual std::vector<std::string> SuggestSubject(std::string_view /*name*/) const { return {}; }

  // A saved segment (written `人群:name` or `segment:name`): a static one
  // binds as a tag operand (`tag`, an id the planner's BitmapSource maps to
  // its members), a dynamic one as its stored query text.
  struct SegmentRef {
    std::optional<TagId> tag;
    std::string_view query;
  };
  virtual std::optional<SegmentRef> FindSegment(std::string_view /*name*/) const {
    return std::nullopt;
  }
  virtual std::vector<std::string> SuggestSegment(std::string_view /*name*/) const { return {}; }
};

// The prefixes that name a saved segment: `人群:双十一老客`, `segment:q4`.
// A real tag of that category and name takes precedence.
bool IsSegmentPrefix(std::string_view category);
// Dynamic segments inside dynamic segments nest at most this deep (a cycle
// is reported when it is reached).
inline constexpr int kMaxSegmentNesting = 8;

// Binds `ast` (parsed from `text`, used for error locations). Attribute
// predicates become Expr::kPredicate with the literal converted to the
// column's storage unit (relative dates against options.today). Errors:
// NotFound (unknown tag, category value or attribute; with suggestions
// payload), InvalidArgument (ambiguous name, operator not applicable to a
// category, literal of the wrong type or with too many decimals), all with a
// location payload.
absl::StatusOr<Expr> Bind(std::string_view text, const AstNode& ast, const TagResolver& resolver,
                          const QueryOptions& options);

}  // namespace tagindex::query

#endif  // TAGINDEX_QUERY_BINDER_H_
