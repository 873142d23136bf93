#include "query/binder.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "query/attribute_value.h"
#include "query/habits.h"
#include "query/parser.h"
#include "query/query_error.h"
#include "util/edit_distance.h"
#include "util/error_info.h"
#include "util/status_macros.h"
#include "util/utf8.h"

namespace tagindex::query {
namespace {

using K = AstNode::Kind;

std::string Label(std::string_view category, std::string_view name) {
  if (category.empty()) return FormatName(std::string(name));
  return absl::StrCat(FormatName(std::string(category)), ":", FormatName(std::string(name)));
}

// The label of a tag as the user wrote it; a bare name needs no re-quoting
// (it lexed as a bare name), which keeps binding cheap.
std::string LabelAsWritten(const AstNode& n, const std::string& category, const std::string& name) {
  if (!n.quoted && !n.qualified) return name;
  return Label(n.qualified ? category : "", name);
}

std::string QuotedList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& s : items) quoted.push_back(QuoteForMessage(s));
  return absl::StrJoin(quoted, ", ");
}

class Binder {
 public:
  Binder(std::string_view text, const TagResolver& resolver, const QueryOptions& options,
         int depth = 0)
      : text_(text), resolver_(resolver), options_(options), depth_(depth) {}

  // Binds the whole query. Unknown names do not stop binding: every one is
  // collected and the error names them all (the first with its caret and
  // suggestions), so a user fixes a query in one round, not one per name.
  absl::StatusOr<Expr> BindQuery(const AstNode& root) {
    absl::StatusOr<Expr> e = Bind(root);
    if (!unknown_.empty()) return UnknownNames();
    return e;
  }

  absl::StatusOr<Expr> Bind(const AstNode& n) {
    switch (n.kind) {
      case K::kTag:
        return BindTag(n);
      case K::kAll:
        return Expr::All();
      case K::kNone:
        return Expr::None();
      case K::kNot: {
        TI_ASSIGN_OR_RETURN(Expr child, Bind(*n.children[0]));
        return Expr::Not(std::move(child));
      }
      case K::kAnd:
      case K::kOr:
      case K::kXor: {
        Expr e;
        e.kind = n.kind == K::kAnd  ? Expr::Kind::kAnd
                 : n.kind == K::kOr ? Expr::Kind::kOr
                                    : Expr::Kind::kXor;
        e.children.reserve(n.children.size());
        for (const auto& c : n.children) {
          TI_ASSIGN_OR_RETURN(Expr child, Bind(*c));
          e.children.push_back(std::move(child));
        }
        return e;
      }
      case K::kCompare:
      case K::kIn:
      case K::kBetween:
      case K::kIsNull:
        return BindPredicate(n);
    }
    return absl::InternalError("query: unknown AST node");
  }

 private:
  absl::Status Error(absl::StatusCode code, size_t offset, std::string_view message) const {
    return QueryError(code, text_, offset, message);
  }
  absl::Status Error(absl::StatusCode code, size_t offset, std::string_view message,
                     const ErrorInfo& info) const {
    return QueryError(code, text_, offset, message, info);
  }

  // An unknown tag, category, category value or attribute (NotFound).
  struct Unknown {
    size_t offset;
    std::string name;
    std::string message;
    std::vector<std::string> suggestions;
    ErrorKind kind;  // of the ErrorInfo (tagindex/errors.h)
  };
  Expr DeferUnknown(ErrorKind kind, size_t offset, std::string name, std::string message,
                    std::vector<std::string> suggestions = {}) {
    unknown_.push_back({offset, std::move(name), std::move(message), std::move(suggestions), kind});
    return Expr::None();
  }
  absl::Status UnknownNames() const {
    constexpr size_t kListed = 10;
    const Unknown& first = unknown_.front();
    std::string message = first.message;
    if (unknown_.size() > 1) {
      std::vector<std::string> others;
      for (size_t i = 1; i < unknown_.size() && i <= kListed; ++i) {
        others.push_back(absl::StrCat(QuoteForMessage(unknown_[i].name), " (column ",
                                      LocateInQuery(text_, unknown_[i].offset).column, ")"));
      }
      absl::StrAppend(&message, "; also unknown: ", absl::StrJoin(others, ", "));
      if (unknown_.size() > kListed + 1) {
        absl::StrAppend(&message, " and ", unknown_.size() - kListed - 1, " more");
      }
    }
    // The ErrorInfo names the first unknown name (the message lists the others).
    absl::Status status = Error(absl::StatusCode::kNotFound, first.offset, message,
                                util::Info(first.kind, first.name));
    AttachSuggestions(status, first.suggestions);
    return status;
  }

  // "; <habit hint>[; did you mean <name without the habit>?]" when `written`
  // shows a habit (habits.h), else "".
  template <typename Known>
  static std::string HabitHint(std::string_view written, Known known) {
    std::optional<Habit> h = FindHabit(written);
    if (!h) return "";
    std::string hint = absl::StrCat("; ", h->hint);
    const std::string meant = WithoutHabits(written);
    if (!meant.empty() && meant != written && known(meant)) {
      absl::StrAppend(&hint, "; did you mean ", QuoteForMessage(meant), "?");
    }
    return hint;
  }
  std::string TagHabitHint(std::string_view written) const {
    return HabitHint(written,
                     [&](const std::string& m) { return !resolver_.FindByName(m).empty(); });
  }

  absl::StatusOr<Expr> BindTag(const AstNode& n) {
    const std::string name(util::TrimUnicodeSpace(n.name));
    if (n.qualified) {
      const std::string category(util::TrimUnicodeSpace(n.category));
      if (std::optional<TagResolver::TagRef> t = resolver_.Find(category, name)) {
        return Expr::Tag(t->id, LabelAsWritten(n, category, name));
      }
      if (IsSegmentPrefix(category)) return BindSegment(n, category, name);
      if (options_.unknown_tags_are_empty) return Expr::None();
      std::optional<TagResolver::CategoryRef> c = resolver_.FindCategory(category);
      if (!c) return UnknownCategory(category, n.offset);
      return UnknownValue(category, *c, name, n.offset);
    }
    std::vector<TagResolver::TagRef> found = resolver_.FindByName(name);
    if (found.size() == 1) return Expr::Tag(found[0].id, LabelAsWritten(n, "", name));
    if (found.size() > 1) {
      std::vector<std::string> candidates;
      for (const auto& t : found) candidates.push_back(Label(t.category, t.name));
      ErrorInfo info = util::Info(ErrorKind::kAmbiguousName, name);
      info.candidates = candidates;
      return Error(absl::StatusCode::kInvalidArgument, n.offset,
                   absl::StrCat("tag name ", QuoteForMessage(name),
                                " is in several categories; qualify it as one of ",
                                absl::StrJoin(candidates, ", ")),
                   info);
    }
    if (options_.unknown_tags_are_empty) return Expr::None();
    std::vector<std::string> suggestions = resolver_.Suggest(name);
    std::string hint = TagHabitHint(name);
    if (hint.empty() && !n.quoted) hint = SplitHint(name);
    if (hint.empty() && !suggestions.empty()) {
      hint = absl::StrCat("; did you mean ", QuotedList(suggestions), "?");
    }
    return DeferUnknown(ErrorKind::kUnknownTag, n.offset, name,
                        absl::StrCat("unknown tag ", QuoteForMessage(name), hint),
                        std::move(suggestions));
  }

  absl::StatusOr<Expr> BindSegment(const AstNode& n, const std::string& prefix,
                                   const std::string& name) {
    std::optional<TagResolver::SegmentRef> seg = resolver_.FindSegment(name);
    if (!seg) {
      if (options_.unknown_tags_are_empty) return Expr::None();
      std::vector<std::string> suggestions = resolver_.SuggestSegment(name);
      std::string hint;
      if (!suggestions.empty()) {
        hint = absl::StrCat("; did you mean ", QuotedList(suggestions), "?");
      }
      return DeferUnknown(ErrorKind::kUnknownTag, n.offset, name,
                          absl::StrCat("unknown saved segment ", QuoteForMessage(name), hint),
                          std::move(suggestions));
    }
    if (seg->tag) return Expr::Tag(*seg->tag, LabelAsWritten(n, prefix, name));
    // Dynamic: its stored query, bound now (so it sees the index as it is).
    if (depth_ + 1 >= kMaxSegmentNesting) {
      return Error(absl::StatusCode::kInvalidArgument, n.offset,
                   absl::StrCat("saved segment ", QuoteForMessage(name),
                                ": dynamic segments refer to each other in a cycle (or nest "
                                "deeper than ",
                                kMaxSegmentNesting, ")"));
    }
    auto wrap = [&](const absl::Status& st) {
      // The inner query's own location would point into another text.
      return Error(st.code(), n.offset,
                   absl::StrCat("in saved segment ", QuoteForMessage(name), " (",
                                QuoteForMessage(seg->query), "): ", st.message()));
    };
    absl::StatusOr<std::unique_ptr<AstNode>> ast = ParseQuery(seg->query, options_);
    if (!ast.ok()) return wrap(ast.status());
    Binder inner(seg->query, resolver_, options_, depth_ + 1);
    absl::StatusOr<Expr> bound = inner.BindQuery(**ast);
    if (!bound.ok()) return wrap(bound.status());
    return bound;
  }

  // "高价值客户且电子产品": if cutting the word around the Chinese keywords
  // leaves only known tags, the user forgot the spaces.
  std::string SplitHint(const std::string& name) const {
    static constexpr std::string_view kKeywords[] = {"且", "或", "非"};
    std::string spaced;
    std::string piece;
    bool split = false;
    auto flush = [&]() -> bool {
      if (piece.empty()) return true;
      if (resolver_.FindByName(piece).empty()) return false;
      spaced += piece;
      piece.clear();
      return true;
    };
    for (size_t pos = 0; pos < name.size();) {
      size_t at = pos;
      util::DecodeUtf8(name, pos);
      std::string_view cp(name.data() + at, pos - at);
      bool keyword = false;
      for (std::string_view k : kKeywords) keyword |= cp == k;
      if (!keyword) {
        piece.append(cp);
        continue;
      }
      if (!flush()) return "";
      if (!spaced.empty() && spaced.back() != ' ') spaced += ' ';
      absl::StrAppend(&spaced, std::string(cp), " ");
      split = true;
    }
    if (!split || !flush()) return "";
    while (!spaced.empty() && spaced.back() == ' ') spaced.pop_back();
    return absl::StrCat("; did you mean ", QuoteForMessage(spaced),
                        " (keywords need spaces around them)?");
  }

  Expr UnknownCategory(const std::string& category, size_t offset) {
    std::vector<std::string> suggestions = resolver_.SuggestSubject(category);
    std::string hint = HabitHint(
        category, [&](const std::string& m) { return resolver_.FindCategory(m).has_value(); });
    if (hint.empty() && !suggestions.empty()) {
      hint = absl::StrCat("; did you mean ", QuotedList(suggestions), "?");
    }
    return DeferUnknown(ErrorKind::kUnknownCategory, offset, category,
                        absl::StrCat("unknown category ", QuoteForMessage(category), hint),
                        std::move(suggestions));
  }

  Expr UnknownValue(const std::string& category, const TagResolver::CategoryRef& c,
                    const std::string& name, size_t offset) {
    std::vector<std::string> names;
    for (const auto& t : c.tags) names.emplace_back(t.name);
    std::vector<std::string> suggestions = util::ClosestMatches(name, names);
    std::string hint = HabitHint(
        name, [&](const std::string& m) { return resolver_.Find(category, m).has_value(); });
    if (hint.empty() && !suggestions.empty()) {
      hint = absl::StrCat("; did you mean ", QuotedList(suggestions), "?");
    }
    return DeferUnknown(ErrorKind::kUnknownTag, offset, name,
                        absl::StrCat("unknown tag ", QuoteForMessage(name), " in category ",
                                     QuoteForMessage(category), hint),
                        std::move(suggestions));
  }

  absl::StatusOr<Expr> BindPredicate(const AstNode& n) {
    const std::string subject(util::TrimUnicodeSpace(n.name));
    std::optional<TagResolver::CategoryRef> category = resolver_.FindCategory(subject);
    if (!category) {
      if (std::optional<TagResolver::AttributeRef> a = resolver_.FindAttribute(subject)) {
        return BindAttribute(n, subject, *a);
      }
      if (!resolver_.FindByName(subject).empty()) {
        return DeferUnknown(ErrorKind::kUnknownAttribute, n.offset, subject,
                            absl::StrCat("unknown attribute ", QuoteForMessage(subject),
                                         " (it is a tag; predicates apply to categories and "
                                         "attributes)"));
      }
      std::vector<std::string> suggestions = resolver_.SuggestSubject(subject);
      std::string hint = HabitHint(subject, [&](const std::string& m) {
        return resolver_.FindCategory(m).has_value() || resolver_.FindAttribute(m).has_value();
      });
      if (hint.empty() && !suggestions.empty()) {
        hint = absl::StrCat("; did you mean ", QuotedList(suggestions), "?");
      }
      if (hint.empty()) hint = " (no attribute or category has this name)";
      return DeferUnknown(ErrorKind::kUnknownAttribute, n.offset, subject,
                          absl::StrCat("unknown attribute ", QuoteForMessage(subject), hint),
                          std::move(suggestions));
    }
    const bool not_applicable =
        n.kind == K::kBetween ||
        (n.kind == K::kCompare && n.op != CompareOp::kEq && n.op != CompareOp::kNe);
    if (not_applicable) {
      return Error(absl::StatusCode::kInvalidArgument, n.offset,
                   absl::StrCat("category ", QuoteForMessage(subject),
                                " supports =, !=, IN and IS NULL, not ",
                                n.kind == K::kBetween ? "BETWEEN" : CompareOpName(n.op)));
    }
    std::vector<Expr> all;
    for (const auto& t : category->tags) all.push_back(Expr::Tag(t.id, Label(subject, t.name)));
    if (n.kind == K::kIsNull) {
      Expr any = Expr::Nary(Expr::Kind::kOr, std::move(all));
      return n.negated ? std::move(any) : Expr::Not(std::move(any));
    }
    // =, !=, IN, NOT IN: the listed tags of the category.
    std::vector<Expr> listed;
    std::vector<TagId> listed_ids;
    for (const Value& v : n.values) {
      const std::string value(util::TrimUnicodeSpace(v.text));
      std::optional<TagResolver::TagRef> t = resolver_.Find(subject, value);
      if (!t) {
        if (options_.unknown_tags_are_empty) continue;
        UnknownValue(subject, *category, value, v.offset);  // reported with the others
        continue;
      }
      listed.push_back(Expr::Tag(t->id, Label(subject, value)));
      listed_ids.push_back(t->id);
    }
    const bool negative =
        (n.kind == K::kCompare && n.op == CompareOp::kNe) || (n.kind == K::kIn && n.negated);
    if (!negative) return Expr::Nary(Expr::Kind::kOr, std::move(listed));
    // Holds some tag of the category, none of the listed ones. In an
    // exclusive category the other tags already exclude the listed ones.
    std::vector<Expr> others;
    for (Expr& e : all) {
      bool is_listed = false;
      for (TagId id : listed_ids) is_listed |= id == e.tag;
      if (!is_listed) others.push_back(std::move(e));
    }
    Expr rest = Expr::Nary(Expr::Kind::kOr, std::move(others));
    if (category->exclusive || listed.empty()) return rest;
    std::vector<Expr> both;
    both.push_back(std::move(rest));
    both.push_back(Expr::Not(Expr::Nary(Expr::Kind::kOr, std::move(listed))));
    return Expr::Nary(Expr::Kind::kAnd, std::move(both));
  }

  // A literal in the column's storage unit, checked against its type.
  absl::StatusOr<int64_t> Literal(const Value& v, const std::string& subject,
                                  const TagResolver::AttributeRef& a) const {
    const std::string shown = QuoteForMessage(v.text);
    const std::string col = absl::StrCat("attribute ", QuoteForMessage(subject), " is ");
    auto bad = [&](const std::string& what) -> absl::Status {
      std::string hint;
      if (std::optional<Habit> h = FindHabit(v.text)) hint = absl::StrCat("; ", h->hint);
      return Error(absl::StatusCode::kInvalidArgument, v.offset, absl::StrCat(col, what, hint),
                   util::Info(ErrorKind::kBadValue, v.text));
    };
    switch (a.type) {
      case AttributeType::kInt64:
        if (v.kind == Value::Kind::kInteger) return v.integer;
        if (v.kind == Value::Kind::kDecimal) {
          return bad(absl::StrCat("an integer column; ", v.text, " is not an integer"));
        }
        if (v.kind == Value::Kind::kDate || v.kind == Value::Kind::kRelativeDate) {
          return bad(absl::StrCat("an integer column, not a date; found ", shown));
        }
        return bad(absl::StrCat("an integer column; expected an integer, found ", shown));
      case AttributeType::kDecimal: {
        if (v.kind == Value::Kind::kInteger || v.kind == Value::Kind::kDecimal) {
          absl::StatusOr<int64_t> x = ParseDecimal(v.text, a.scale);
          if (!x.ok()) {
            return bad(
                absl::StrCat("a decimal column of scale ", a.scale, "; ", x.status().message()));
          }
          return x;
        }
        if (v.kind == Value::Kind::kDate || v.kind == Value::Kind::kRelativeDate) {
          return bad(absl::StrCat("a decimal column, not a date; found ", shown));
        }
        return bad(absl::StrCat("a decimal column; expected a number, found ", shown));
      }
      case AttributeType::kDate:
        if (v.kind == Value::Kind::kDate) return v.integer;
        if (v.kind == Value::Kind::kRelativeDate) {
          const int64_t today = options_.today.value_or(TodayUtc());
          return ShiftDate(today, v.integer, v.unit);
        }
        return bad(
            absl::StrCat("a date column; write a date as 2026-08-01 or today - 90d, "
                         "found ",
                         shown));
    }
    return bad(std::string("of an unknown type"));
  }

  static std::vector<Bsi::Interval> Normalised(std::vector<Bsi::Interval> in) {
    std::vector<Bsi::Interval> ivs;
    for (const auto& iv : in) {
      if (iv.lo <= iv.hi) ivs.push_back(iv);
    }
    std::sort(ivs.begin(), ivs.end(),
              [](const Bsi::Interval& a, const Bsi::Interval& b) { return a.lo < b.lo; });
    std::vector<Bsi::Interval> out;
    for (const auto& iv : ivs) {
      if (!out.empty() && (out.back().hi == INT64_MAX || iv.lo <= out.back().hi + 1)) {
        out.back().hi = std::max(out.back().hi, iv.hi);
      } else {
        out.push_back(iv);
      }
    }
    return out;
  }

  // Every int64 not in `ivs` (sorted, disjoint).
  static std::vector<Bsi::Interval> Complement(const std::vector<Bsi::Interval>& ivs) {
    std::vector<Bsi::Interval> out;
    int64_t next = INT64_MIN;
    bool open = true;  // `next` is still a valid start
    for (const auto& iv : ivs) {
      if (open && iv.lo > next) out.push_back({next, iv.lo - 1});
      if (iv.hi == INT64_MAX) {
        open = false;
      } else {
        next = iv.hi + 1;
      }
    }
    if (open) out.push_back({next, INT64_MAX});
    return out;
  }

  absl::StatusOr<Expr> BindAttribute(const AstNode& n, const std::string& subject,
                                     const TagResolver::AttributeRef& a) {
    std::vector<int64_t> vals;
    for (const Value& v : n.values) {
      TI_ASSIGN_OR_RETURN(int64_t x, Literal(v, subject, a));
      vals.push_back(x);
    }
    std::vector<std::string> texts;
    for (const Value& v : n.values) texts.push_back(v.text);
    const std::string name = FormatName(subject);
    std::vector<Bsi::Interval> ivs;
    std::string label;
    bool negate_result = false;  // IS NULL
    switch (n.kind) {
      case K::kIsNull:
        ivs.push_back({INT64_MIN, INT64_MAX});
        negate_result = !n.negated;
        label = absl::StrCat(name, " IS NOT NULL");
        break;
      case K::kCompare: {
        const int64_t c = vals[0];
        label = absl::StrCat(name, " ", CompareOpName(n.op), " ", texts[0]);
        switch (n.op) {
          case CompareOp::kEq:
            ivs.push_back({c, c});
            break;
          case CompareOp::kNe:
            if (c > INT64_MIN) ivs.push_back({INT64_MIN, c - 1});
            if (c < INT64_MAX) ivs.push_back({c + 1, INT64_MAX});
            break;
          case CompareOp::kLt:
            if (c > INT64_MIN) ivs.push_back({INT64_MIN, c - 1});
            break;
          case CompareOp::kLe:
            ivs.push_back({INT64_MIN, c});
            break;
          case CompareOp::kGt:
            if (c < INT64_MAX) ivs.push_back({c + 1, INT64_MAX});
            break;
          case CompareOp::kGe:
            ivs.push_back({c, INT64_MAX});
            break;
        }
        break;
      }
      case K::kIn:
        for (int64_t v : vals) ivs.push_back({v, v});
        label =
            absl::StrCat(name, n.negated ? " NOT IN (" : " IN (", absl::StrJoin(texts, ", "), ")");
        break;
      case K::kBetween:
        ivs.push_back({vals[0], vals[1]});
        label = absl::StrCat(name, n.negated ? " NOT BETWEEN " : " BETWEEN ", texts[0], " AND ",
                             texts[1]);
        break;
      default:
        return absl::InternalError("query: not a predicate");
    }
    ivs = Normalised(std::move(ivs));
    // NOT IN / NOT BETWEEN: the other values; a row needs a value to match.
    if ((n.kind == K::kIn || n.kind == K::kBetween) && n.negated) ivs = Complement(ivs);
    Expr p = Expr::Predicate(a.id, std::move(ivs), std::move(label));
    return negate_result ? Expr::Not(std::move(p)) : std::move(p);
  }

  std::string_view text_;
  const TagResolver& resolver_;
  const QueryOptions& options_;
  int depth_ = 0;
  std::vector<Unknown> unknown_;  // in query order
};

}  // namespace

bool IsSegmentPrefix(std::string_view category) {
  return category == "人群" || category == "segment";
}

absl::StatusOr<Expr> Bind(std::string_view text, const AstNode& ast, const TagResolver& resolver,
                          const QueryOptions& options) {
  return Binder(text, resolver, options).BindQuery(ast);
}

}  // namespace tagindex::query
