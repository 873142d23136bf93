// libFuzzer target for the query pipeline: any bytes go through the lexer and
// parser, and through Index::Count / Query on a small index, and must come
// back as a value or a status — never a crash, hang, leak or stack overflow.
// Errors about a place in the text must carry a location inside the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "query/parser.h"
#include "tagindex/tagindex.h"

namespace {

tagindex::Index& FuzzIndex() {
  static tagindex::Index* index = [] {
    auto created = tagindex::Index::Create({.key_kind = tagindex::KeyKind::kIdentity});
    tagindex::Index* ix = created->release();
    std::vector<int64_t> keys(256);
    for (int i = 0; i < 256; ++i) keys[i] = i;
    (void)ix->AddCustomers(keys);
    (void)ix->CreateCategory("购买频率", {.exclusive = true});
    const char* names[][2] = {{"", "高价值客户"}, {"", "电子产品"},     {"", "a"},
                              {"", "b"},          {"", "AND"},          {"兴趣", "运动"},
                              {"爱好", "运动"},   {"购买频率", "高频"}, {"购买频率", "低频"}};
    int step = 1;
    for (auto& n : names) {
      auto t = ix->CreateTag({.name = n[1], .category = n[0]});
      if (!t.ok()) continue;
      std::vector<tagindex::RowId> rows;
      for (tagindex::RowId r = static_cast<tagindex::RowId>(step); r < 256; r += step + 1) {
        rows.push_back(r);
      }
      (void)ix->TagRows(*t, rows);
      ++step;
    }
    return ix;
  }();
  return *index;
}

void CheckLocation(const absl::Status& status, size_t size) {
  if (status.ok()) return;
  std::optional<tagindex::QueryErrorLocation> loc = tagindex::GetQueryErrorLocation(status);
  if (loc && (loc->offset > size || loc->line == 0 || loc->column == 0)) std::abort();
  // Every query error names its kind (tagindex/errors.h), and its message
  // is one line (the snippet is in the location payload only).
  if (!tagindex::GetErrorInfo(status).has_value()) std::abort();
  if (status.message().find('\n') != absl::string_view::npos) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  tagindex::QueryOptions options;
  options.max_query_bytes = 4096;
  options.max_depth = 32;
  options.max_operands = 256;
  auto ast = tagindex::query::ParseQuery(text, options);
  CheckLocation(ast.status(), size);
  if (ast.ok()) (void)tagindex::query::DebugString(**ast);
  tagindex::Index& index = FuzzIndex();
  auto count = index.Count(text, options);
  CheckLocation(count.status(), size);
  auto segment = index.Query(text, options);
  if (count.ok() != segment.ok()) std::abort();
  if (count.ok() && *count != segment->Count()) std::abort();
  options.rewrites = {false, false, false, false};
  auto plain = index.Count(text, options);
  if (plain.ok() != count.ok() || (plain.ok() && *plain != *count)) std::abort();
  return 0;
}
