#include "query/expr.h"

#include "absl/strings/str_cat.h"
#include "query/ast.h"

namespace tagindex::query {

Expr Expr::Tag(TagId id, std::string label) {
  Expr e;
  e.kind = Kind::kTag;
  e.tag = id;
  e.label = std::move(label);
  return e;
}

Expr Expr::Predicate(AttributeId attribute, std::vector<Bsi::Interval> intervals,
                     std::string label) {
  Expr e;
  e.kind = Kind::kPredicate;
  e.attribute = attribute;
  e.intervals = std::move(intervals);
  e.label = std::move(label);
  return e;
}

Expr Expr::All() {
  Expr e;
  e.kind = Kind::kAll;
  return e;
}

Expr Expr::None() { return Expr(); }

Expr Expr::Not(Expr child) {
  Expr e;
  e.kind = Kind::kNot;
  e.children.push_back(std::move(child));
  return e;
}

Expr Expr::Nary(Kind kind, std::vector<Expr> children) {
  if (children.empty()) return kind == Kind::kAnd ? All() : None();
  if (children.size() == 1) return std::move(children[0]);
  Expr e;
  e.kind = kind;
  e.children = std::move(children);
  return e;
}

namespace {

const char* KindName(Expr::Kind k) {
  switch (k) {
    case Expr::Kind::kTag:
      return "TAG";
    case Expr::Kind::kAll:
      return "ALL";
    case Expr::Kind::kNone:
      return "NONE";
    case Expr::Kind::kNot:
      return "NOT";
    case Expr::Kind::kAnd:
      return "AND";
    case Expr::Kind::kOr:
      return "OR";
    case Expr::Kind::kXor:
      return "XOR";
    case Expr::Kind::kPredicate:
      return "PREDICATE";
  }
  return "?";
}

void AppendDebug(const Expr& e, std::string* out) {
  switch (e.kind) {
    case Expr::Kind::kTag:
      *out += e.label;  // already written the way a query spells it
      return;
    case Expr::Kind::kPredicate:
      absl::StrAppend(out, "[", e.label, "]");
      return;
    case Expr::Kind::kAll:
    case Expr::Kind::kNone:
      *out += KindName(e.kind);
      return;
    default:
      absl::StrAppend(out, "(", KindName(e.kind));
      for (const Expr& c : e.children) {
        *out += ' ';
        AppendDebug(c, out);
      }
      *out += ')';
  }
}

void AppendKey(const Expr& e, std::string* out) {
  switch (e.kind) {
    case Expr::Kind::kTag:
      absl::StrAppend(out, "t", e.tag.value);
      return;
    case Expr::Kind::kPredicate:
      absl::StrAppend(out, "p", e.attribute.value);
      for (const Bsi::Interval& iv : e.intervals) absl::StrAppend(out, "[", iv.lo, ",", iv.hi, "]");
      return;
    case Expr::Kind::kAll:
      *out += 'A';
      return;
    case Expr::Kind::kNone:
      *out += 'N';
      return;
    default:
      *out += e.kind == Expr::Kind::kNot   ? "(!"
              : e.kind == Expr::Kind::kAnd ? "(&"
              : e.kind == Expr::Kind::kOr  ? "(|"
                                           : "(^";
      for (const Expr& c : e.children) {
        *out += ' ';
        AppendKey(c, out);
      }
      *out += ')';
  }
}

}  // namespace

std::string Expr::DebugString() const {
  std::string out;
  AppendDebug(*this, &out);
  return out;
}

std::string Expr::Key() const {
  std::string out;
  AppendKey(*this, &out);
  return out;
}

uint64_t Expr::Hash() const {
  // splitmix64-style mixing of kind, tag id and the children's hashes.
  auto mix = [](uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  };
  uint64_t h = mix(static_cast<uint64_t>(kind) * 0x100000001ull + tag.value);
  if (kind == Kind::kPredicate) {
    h = mix(h ^ attribute.value);
    for (const Bsi::Interval& iv : intervals) {
      h = mix(h ^ static_cast<uint64_t>(iv.lo));
      h = mix(h ^ static_cast<uint64_t>(iv.hi));
    }
  }
  for (const Expr& c : children) h = mix(h ^ c.Hash());
  return h;
}

bool Expr::Same(const Expr& a, const Expr& b) {
  if (a.kind != b.kind || a.children.size() != b.children.size()) return false;
  if (a.kind == Kind::kTag) return a.tag == b.tag;
  if (a.kind == Kind::kPredicate) {
    if (a.attribute != b.attribute || a.intervals.size() != b.intervals.size()) return false;
    for (size_t i = 0; i < a.intervals.size(); ++i) {
      if (a.intervals[i].lo != b.intervals[i].lo || a.intervals[i].hi != b.intervals[i].hi) {
        return false;
      }
    }
    return true;
  }
  for (size_t i = 0; i < a.children.size(); ++i) {
    if (!Same(a.children[i], b.children[i])) return false;
  }
  return true;
}

size_t Expr::Size() const {
  size_t n = 1;
  for (const Expr& c : children) n += c.Size();
  return n;
}

}  // namespace tagindex::query
