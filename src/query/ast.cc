#include "query/ast.h"

#include "absl/strings/str_cat.h"
#include "query/lexer.h"
#include "util/utf8.h"

namespace tagindex::query {

const char* CompareOpName(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "=";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

std::string FormatName(const std::string& name) {
  bool bare = !name.empty() && !IsReservedWord(name);
  for (size_t pos = 0; bare && pos < name.size();) {
    if (IsBareBreak(util::DecodeUtf8(name, pos))) bare = false;
  }
  if (bare) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

namespace {

std::string FormatValue(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kName:
      return FormatName(v.text);
    case Value::Kind::kInteger:
      return absl::StrCat(v.integer);
    case Value::Kind::kDecimal:
      return absl::StrCat("decimal:", v.text);
    case Value::Kind::kDate:
      return absl::StrCat("date:", v.text);
    case Value::Kind::kRelativeDate:
      return absl::StrCat("date:", FormatName(v.text));
  }
  return "?";
}

void Append(const AstNode& n, std::string* out) {
  using K = AstNode::Kind;
  switch (n.kind) {
    case K::kTag:
      if (n.qualified) absl::StrAppend(out, FormatName(n.category), ":");
      absl::StrAppend(out, FormatName(n.name));
      return;
    case K::kAll:
      *out += "ALL";
      return;
    case K::kNone:
      *out += "NONE";
      return;
    case K::kNot:
    case K::kAnd:
    case K::kOr:
    case K::kXor: {
      *out += n.kind == K::kNot   ? "(NOT"
              : n.kind == K::kAnd ? "(AND"
              : n.kind == K::kOr  ? "(OR"
                                  : "(XOR";
      for (const auto& c : n.children) {
        *out += ' ';
        Append(*c, out);
      }
      *out += ')';
      return;
    }
    case K::kCompare:
      absl::StrAppend(out, "(", CompareOpName(n.op), " ", FormatName(n.name), " ",
                      FormatValue(n.values[0]), ")");
      return;
    case K::kIn:
      absl::StrAppend(out, n.negated ? "(NOT-IN " : "(IN ", FormatName(n.name));
      for (const Value& v : n.values) absl::StrAppend(out, " ", FormatValue(v));
      *out += ')';
      return;
    case K::kBetween:
      absl::StrAppend(out, n.negated ? "(NOT-BETWEEN " : "(BETWEEN ", FormatName(n.name), " ",
                      FormatValue(n.values[0]), " ", FormatValue(n.values[1]), ")");
      return;
    case K::kIsNull:
      absl::StrAppend(out, n.negated ? "(IS-NOT-NULL " : "(IS-NULL ", FormatName(n.name), ")");
      return;
  }
}

}  // namespace

std::string DebugString(const AstNode& node) {
  std::string out;
  Append(node, &out);
  return out;
}

}  // namespace tagindex::query
