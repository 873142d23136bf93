// Behaviour and error paths of the Index foundation API.
#include "tagindex/index.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using tagindex::CustomerKey;
using tagindex::Index;
using tagindex::IndexOptions;
using tagindex::KeyKind;
using tagindex::RowId;
using tagindex::TagId;
using Code = absl::StatusCode;

namespace {

std::unique_ptr<Index> NewIndex(IndexOptions options = {}) {
  auto r = Index::Create(options);
  REQUIRE(r.ok());
  return std::move(r).value();
}

// Asserts the status code and that the message mentions `needle`.
template <typename T>
void CheckError(const T& result, Code code, const std::string& needle) {
  absl::Status s;
  if constexpr (std::is_same_v<T, absl::Status>) {
    s = result;
  } else {
    s = result.status();
  }
  INFO(s.ToString());
  CHECK(s.code() == code);
  CHECK(std::string(s.message()).find(needle) != std::string::npos);
}

}  // namespace

TEST_CASE("index: int64 keys map to dense row ids, reverse lookup works", "[index]") {
  auto index = NewIndex();
  CHECK(index->AddCustomer(int64_t{900}).value() == 0);
  CHECK(index->AddCustomer(int64_t{-5}).value() == 1);
  CHECK(index->AddCustomer(int64_t{900}).value() == 0);  // idempotent
  CHECK(index->FindCustomer(int64_t{-5}).value() == 1);
  CHECK(std::get<int64_t>(index->KeyOf(1).value()) == -5);
  CHECK(index->CustomerCount() == 2);
  CHECK(index->RowIdLimit() == 2);
  CheckError(index->FindCustomer(int64_t{7}), Code::kNotFound, "customer key 7");
  CheckError(index->KeyOf(2), Code::kNotFound, "row 2");
  CheckError(index->AddCustomer("abc"), Code::kInvalidArgument, "string");
}

TEST_CASE("index: string keys are validated and mapped", "[index]") {
  auto index = NewIndex({.key_kind = KeyKind::kString, .max_string_key_bytes = 16});
  CHECK(index->AddCustomer("13800138000").value() == 0);
  CHECK(index->AddCustomer("union-高").value() == 1);
  CHECK(std::get<std::string>(index->KeyOf(1).value()) == "union-高");
  CheckError(index->AddCustomer(""), Code::kInvalidArgument, "empty");
  CheckError(index->AddCustomer(std::string(17, 'x')), Code::kInvalidArgument, "17 bytes");
  CheckError(index->AddCustomer(std::string_view("a\xFF", 2)), Code::kInvalidArgument,
             "invalid UTF-8 at byte 1");
  CheckError(index->AddCustomer(int64_t{1}), Code::kInvalidArgument, "string keys");
  std::vector<std::string_view> batch = {"a", "b", "", "c"};
  CheckError(index->AddCustomers(batch), Code::kInvalidArgument, "batch position 2");
  CHECK(index->CustomerCount() == 2);  // the failed batch changed nothing
}

TEST_CASE("index: identity keys are row ids", "[index]") {
  auto index = NewIndex({.key_kind = KeyKind::kIdentity});
  TagId t = index->CreateTag({.name = "t"}).value();
  std::vector<int64_t> keys = {5, 1000000, 5};
  REQUIRE(index->TagMany(t, keys).ok());
  CHECK(index->RowsWithTag(t).value() == std::vector<RowId>{5, 1000000});
  CHECK(index->RowIdLimit() == 1000001);
  CHECK(index->CustomerCount() == 2);
  CHECK(std::get<int64_t>(index->KeyOf(1000000).value()) == 1000000);
  CheckError(index->AddCustomer(int64_t{-1}), Code::kInvalidArgument, "outside");
  CheckError(index->AddCustomer(int64_t{1} << 32), Code::kInvalidArgument, "outside");
  CheckError(index->FindCustomer(int64_t{6}), Code::kNotFound, "6");
}

TEST_CASE("index: removing a customer clears every tag and never reuses the row", "[index]") {
  auto index = NewIndex();
  TagId a = index->CreateTag({.name = "a"}).value();
  TagId b = index->CreateTag({.name = "b", .category = "c"}).value();
  REQUIRE(index->Tag(a, int64_t{1}).ok());
  REQUIRE(index->Tag(b, int64_t{1}).ok());
  REQUIRE(index->Tag(a, int64_t{2}).ok());
  REQUIRE(index->RemoveCustomer(int64_t{1}).ok());
  CHECK(index->RowsWithTag(a).value() == std::vector<RowId>{1});
  CHECK(index->TagCardinality(b).value() == 0);
  CheckError(index->KeyOf(0), Code::kNotFound, "row 0");
  CheckError(index->RemoveCustomer(int64_t{1}), Code::kNotFound, "customer key 1");
  CheckError(index->HasTag(a, int64_t{1}), Code::kNotFound, "customer key 1");
  // Coming back gets a fresh row id.
  CHECK(index->AddCustomer(int64_t{1}).value() == 2);
  CHECK(index->HasTag(a, int64_t{1}).value() == false);
  CHECK(index->LiveRows().value() == std::vector<RowId>{1, 2});
  REQUIRE(index->RemoveRow(2).ok());
  CheckError(index->RemoveRow(2), Code::kNotFound, "row 2");
}

TEST_CASE("index: tag names are trimmed, validated and length-limited", "[index]") {
  auto index = NewIndex({.max_name_bytes = 32, .max_name_code_points = 6});
  TagId t = index->CreateTag({.name = "  高价值客户\xE3\x80\x80"}).value();
  CHECK(index->GetTag(t).value().name == "高价值客户");
  CHECK(index->FindTag(" 高价值客户 ").value() == t);
  CheckError(index->CreateTag({.name = "高价值客户"}), Code::kAlreadyExists, "高价值客户");
  CheckError(index->CreateTag({.name = "   "}), Code::kInvalidArgument, "empty");
  CheckError(index->CreateTag({.name = "一二三四五六七"}), Code::kInvalidArgument, "7 characters");
  CheckError(index->CreateTag({.name = std::string(33, 'x')}), Code::kInvalidArgument, "33 bytes");
  CheckError(index->CreateTag({.name = "a\tb"}), Code::kInvalidArgument, "control character");
  CheckError(index->CreateTag({.name = "bad\xC3"}), Code::kInvalidArgument, "invalid UTF-8");
  CheckError(index->CreateTag({.name = "ok", .category = "\xFF"}), Code::kInvalidArgument,
             "category name");
  CHECK(index->CreateTag({.name = "AND"}).ok());  // any text is a name
  auto roomy = NewIndex();
  CHECK(roomy->CreateTag({.name = "VIP-2024/#+.(x):y"}).ok());
}

TEST_CASE("index: same name in two categories needs qualification", "[index]") {
  auto index = NewIndex();
  TagId a = index->CreateTag({.name = "运动", .category = "兴趣"}).value();
  TagId b = index->CreateTag({.name = "运动", .category = "品类"}).value();
  CHECK(a != b);
  CheckError(index->FindTag("运动"), Code::kInvalidArgument, "\"兴趣:运动\"");
  CHECK(index->FindTag("兴趣", "运动").value() == a);
  CHECK(index->FindTag("品类", "运动").value() == b);
  CheckError(index->FindTag("品类", "户外"), Code::kNotFound, "户外");
}

TEST_CASE("index: unknown tag suggests close names", "[index]") {
  auto index = NewIndex();
  REQUIRE(index->CreateTag({.name = "高价值客户"}).ok());
  REQUIRE(index->CreateTag({.name = "电子产品"}).ok());
  CheckError(index->FindTag("高价值客"), Code::kNotFound, "did you mean \"高价值客户\"");
  auto far = index->FindTag("完全不同");
  CHECK(far.status().code() == Code::kNotFound);
  CHECK(std::string(far.status().message()).find("did you mean") == std::string::npos);
}

TEST_CASE("index: rename, describe, delete; ids are not reused", "[index]") {
  auto index = NewIndex();
  TagId a = index->CreateTag({.name = "a", .category = "cat"}).value();
  TagId b = index->CreateTag({.name = "b", .category = "cat"}).value();
  REQUIRE(index->Tag(a, int64_t{1}).ok());
  CheckError(index->RenameTag(a, "b"), Code::kAlreadyExists, "that tag exists");
  REQUIRE(index->RenameTag(a, "a2").ok());
  CHECK(index->FindTag("a2").value() == a);
  CHECK(index->FindTag("a").status().code() == Code::kNotFound);
  REQUIRE(index->SetTagDescription(a, "描述").ok());
  CHECK(index->GetTag(a).value().description == "描述");
  CHECK(index->GetTag(a).value().count == 1);
  CheckError(index->SetTagDescription(a, std::string(5000, 'x')), Code::kInvalidArgument,
             "description");
  REQUIRE(index->DeleteTag(a).ok());
  CheckError(index->DeleteTag(a), Code::kNotFound, "tag id 0");
  CheckError(index->Tag(a, int64_t{1}), Code::kNotFound, "tag id 0");
  CheckError(index->GetTag(TagId{99}), Code::kNotFound, "tag id 99");
  TagId c = index->CreateTag({.name = "a2", .category = "cat"}).value();
  CHECK(c.value == 2);
  CHECK(index->GetCategory("cat").value().tag_count == 2);
  CHECK(index->TagCount() == 2);
  (void)b;
}

TEST_CASE("index: exclusive category keeps at most one tag per customer", "[index]") {
  auto index = NewIndex();
  REQUIRE(index->CreateCategory("购买频率", {.exclusive = true, .description = "d"}).ok());
  CheckError(index->CreateCategory("购买频率"), Code::kAlreadyExists, "购买频率");
  TagId high = index->CreateTag({.name = "高频", .category = "购买频率"}).value();
  TagId mid = index->CreateTag({.name = "中频", .category = "购买频率"}).value();
  TagId low = index->CreateTag({.name = "低频", .category = "购买频率"}).value();
  TagId other = index->CreateTag({.name = "其他"}).value();
  std::vector<int64_t> keys = {1, 2, 3, 4};
  REQUIRE(index->TagMany(high, keys).ok());
  REQUIRE(index->TagMany(other, keys).ok());
  REQUIRE(index->Tag(mid, int64_t{2}).ok());
  std::vector<int64_t> some = {3, 4, 9};
  REQUIRE(index->TagMany(low, some).ok());
  CHECK(index->KeysWithTag(high).value() == std::vector<CustomerKey>{int64_t{1}});
  CHECK(index->KeysWithTag(mid).value() == std::vector<CustomerKey>{int64_t{2}});
  CHECK(index->KeysWithTag(low).value() ==
        std::vector<CustomerKey>{int64_t{3}, int64_t{4}, int64_t{9}});
  CHECK(index->TagCardinality(other).value() == 4);  // other categories untouched
  auto info = index->GetCategory("购买频率").value();
  CHECK(info.exclusive);
  CHECK(info.tag_count == 3);
  CHECK(info.description == "d");
  CHECK(index->TagsOf(int64_t{2}).value() == std::vector<TagId>{mid, other});
}

TEST_CASE("index: create_missing_customers=false requires registered keys", "[index]") {
  auto index = NewIndex({.create_missing_customers = false});
  TagId t = index->CreateTag({.name = "t"}).value();
  CheckError(index->Tag(t, int64_t{1}), Code::kNotFound, "customer key 1");
  REQUIRE(index->AddCustomer(int64_t{1}).ok());
  REQUIRE(index->Tag(t, int64_t{1}).ok());
  std::vector<int64_t> batch = {1, 2};
  CheckError(index->TagMany(t, batch), Code::kNotFound, "batch position 1");
  CHECK(index->TagCardinality(t).value() == 1);
}

TEST_CASE("index: row-id calls require live rows; batches are all-or-nothing", "[index]") {
  auto index = NewIndex();
  TagId t = index->CreateTag({.name = "t"}).value();
  std::vector<int64_t> keys = {10, 20, 30};
  std::vector<RowId> rows;
  REQUIRE(index->AddCustomers(keys, &rows).ok());
  CHECK(rows == std::vector<RowId>{0, 1, 2});
  std::vector<RowId> bad = {0, 1, 7};
  CheckError(index->TagRows(t, bad), Code::kNotFound, "row 7 is not a live customer");
  CHECK(index->TagCardinality(t).value() == 0);
  std::vector<RowId> good = {2, 0, 2};
  REQUIRE(index->TagRows(t, good).ok());
  CHECK(index->RowsWithTag(t).value() == std::vector<RowId>{0, 2});
  REQUIRE(index->UntagRow(t, 0).ok());
  REQUIRE(index->UntagRow(t, 1).ok());  // not held: a no-op
  CHECK(index->HasTagRow(t, 2).value());
  CheckError(index->UntagRow(t, 9), Code::kNotFound, "row 9");
  CheckError(index->Untag(t, int64_t{99}), Code::kNotFound, "customer key 99");
}

TEST_CASE("index: max_tags is enforced; deleting frees room", "[index]") {
  auto index = NewIndex({.max_tags = 2});
  TagId a = index->CreateTag({.name = "a"}).value();
  REQUIRE(index->CreateTag({.name = "b"}).ok());
  CheckError(index->CreateTag({.name = "c"}), Code::kResourceExhausted, "max_tags");
  REQUIRE(index->DeleteTag(a).ok());
  CHECK(index->CreateTag({.name = "c"}).ok());
}

TEST_CASE("index: bad options are rejected", "[index]") {
  CHECK(Index::Create({.max_name_bytes = 0}).status().code() == Code::kInvalidArgument);
  CHECK(Index::Create({.key_kind = static_cast<KeyKind>(9)}).status().code() ==
        Code::kInvalidArgument);
}

TEST_CASE("index: listings are ordered by category then name", "[index]") {
  auto index = NewIndex();
  REQUIRE(index->CreateTag({.name = "b", .category = "y"}).ok());
  REQUIRE(index->CreateTag({.name = "a", .category = "y"}).ok());
  REQUIRE(index->CreateTag({.name = "z"}).ok());
  auto tags = index->ListTags().value();
  REQUIRE(tags.size() == 3);
  CHECK(tags[0].name == "z");
  CHECK(tags[1].name == "a");
  CHECK(tags[2].name == "b");
  auto cats = index->ListCategories().value();
  REQUIRE(cats.size() == 1);
  CHECK(cats[0].name == "y");
}
