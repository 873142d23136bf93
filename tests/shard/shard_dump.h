// A sharded index's whole content as text, independent of shard count, row
// ids and tag / attribute ids (Reshard assigns those afresh): the catalog (categories, tags with
// descriptions and counts, attributes), then one line per customer key (sorted): its tags by
// category:name and its attribute values. Two indexes hold the same data
// exactly when their dumps are equal (tests of Reshard).
#ifndef TAGINDEX_TESTS_SHARD_SHARD_DUMP_H_
#define TAGINDEX_TESTS_SHARD_SHARD_DUMP_H_

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tagindex/sharded_index.h"

namespace tagindex::testing {

inline std::string KeyText(const CustomerKey& k) {
  if (const int64_t* i = std::get_if<int64_t>(&k)) return absl::StrCat(*i);
  return std::get<std::string>(k);
}

inline std::string DeepDump(const ShardedIndex& s) {
  std::string out;
  const auto listed10 = s.ListCategories().value();
  for (const auto& c : listed10) {
    absl::StrAppend(&out, "category ", c.name, " ", c.exclusive, " '", c.description, "'\n");
  }
  std::vector<TagInfo> tags = s.ListTags().value();
  for (const auto& t : tags) {
    absl::StrAppend(&out, "tag ", t.category, ":", t.name, " '", t.description, "' ", t.count,
                    "\n");
  }
  std::vector<AttributeInfo> attrs = s.ListAttributes().value();
  for (const auto& a : attrs) {
    absl::StrAppend(&out, "attr ", a.name, " ", static_cast<int>(a.type), " ", a.scale, " '",
                    a.description, "' ", a.count, "\n");
  }
  std::vector<std::string> lines;
  for (uint32_t i = 0; i < s.shard_count(); ++i) {
    const Index& shard = s.shard(i);
    for (const auto rows_value = shard.AllCustomers().Rows().value(); RowId row : rows_value) {
      std::string line = KeyText(s.KeyOf({i, row}).value()) + ":";
      std::vector<std::string> names;
      const std::vector<TagId> held = shard.TagsOfRow(row).value();
      for (TagId t : held) {
        const TagInfo info = shard.GetTag(t).value();
        names.push_back(absl::StrCat(info.category, ":", info.name));
      }
      std::sort(names.begin(), names.end());
      for (const auto& n : names) absl::StrAppend(&line, " ", n);
      for (const auto& a : attrs) {
        auto v = shard.GetAttributeValue(a.name, row).value();
        absl::StrAppend(&line, " ", a.name, "=", v ? absl::StrCat(*v) : "NULL");
      }
      lines.push_back(std::move(line));
    }
  }
  std::sort(lines.begin(), lines.end());
  for (const auto& l : lines) absl::StrAppend(&out, l, "\n");
  return out;
}

}  // namespace tagindex::testing

#endif  // TAGINDEX_TESTS_SHARD_SHARD_DUMP_H_
