// Index::SaveTo / SerializeSnapshot / FromSnapshot: one format (the
// snapshot) for saving an in-memory index and for pickling. Oracle: the
// canonical Dump of the source index (every tag, member, key, row id),
// plus the keys of removed rows and the id counters, which Dump does not
// show.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::OpenOptions;
using tagindex::RowId;
using tagindex::TagSpec;
using tagindex::testing::Dump;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;

namespace {

// What Dump leaves out: the key of every row ever assigned (removed ones
// too) and the next tag id (a tag created next gets the same id).
std::string Hidden(Index& index) {
  std::string out;
  for (RowId r = 0; r < index.RowIdLimit(); ++r) {
    auto k = index.KeyOf(r);
    out += k.ok() ? std::to_string(std::get<int64_t>(*k)) : std::string(k.status().message());
    out += ";";
  }
  const auto listed6 = index.ListAttributes().value();
  for (const tagindex::AttributeInfo& a : listed6) {
    out += a.name + "#" + std::to_string(a.id.value) + "/" + std::to_string(a.count) + ";";
    const std::vector<RowId> live_rows = index.LiveRows().value();
    for (RowId r : live_rows) {
      auto v = index.GetAttributeValue(a.name, r);
      out += v.ok() && v->has_value() ? std::to_string(**v) : "-";
      out += ",";
    }
  }
  auto next = index.CreateTag(TagSpec{.name = "probe-next-id"});
  out += next.ok() ? std::to_string(next->value) : std::string(next.status().message());
  return out;
}

}  // namespace

TEST_CASE("save: random in-memory indexes round-trip through SaveTo and SerializeSnapshot",
          "[storage][save]") {
  const int seeds = tagindex::testing::Full() ? 200 : 25;
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    auto index = Index::Create().value();
    for (int i = 0; i < 150; ++i) (void)tagindex::testing::RandomOp(rng, *index, false);
    // An attribute column with a value per live row (rows * 3 - 7).
    REQUIRE(
        index->CreateAttribute({.name = "spend", .type = tagindex::AttributeType::kInt64}).ok());
    const std::vector<RowId> live = index->LiveRows().value();
    std::vector<int64_t> values;
    for (RowId r : live) values.push_back(int64_t{r} * 3 - 7);
    REQUIRE(index->SetAttributeRows("spend", live, values).ok());
    const std::string want = Dump(*index);

    auto fs = std::make_shared<MemFileSystem>();
    REQUIRE(index->SaveTo("/saved", MemOptions(fs)).ok());
    auto opened = Index::Open("/saved", MemOptions(fs)).value();
    REQUIRE(Dump(*opened) == want);

    const std::string bytes = index->SerializeSnapshot().value();
    auto restored = Index::FromSnapshot(std::span<const char>(bytes.data(), bytes.size())).value();
    REQUIRE_FALSE(restored->persistent());
    REQUIRE(Dump(*restored) == want);
    const std::string hidden = Hidden(*index);
    REQUIRE(Hidden(*opened) == hidden);
    REQUIRE(Hidden(*restored) == hidden);
  }
}

TEST_CASE("save: SaveTo refuses a directory that holds an index, and a NUL in the path",
          "[storage][save]") {
  auto fs = std::make_shared<MemFileSystem>();
  auto existing = Index::Open("/idx", MemOptions(fs)).value();
  existing.reset();
  auto index = Index::Create().value();
  REQUIRE(index->AddCustomer(int64_t{1}).ok());
  const absl::Status st = index->SaveTo("/idx", MemOptions(fs));
  REQUIRE(st.code() == absl::StatusCode::kAlreadyExists);
  REQUIRE_THAT(std::string(st.message()), Catch::Contains("already holds an index"));
  REQUIRE(index->SaveTo(std::string("/a\0b", 4), MemOptions(fs)).code() ==
          absl::StatusCode::kInvalidArgument);
  // A checkpoint of an in-memory index names the way to save it.
  REQUIRE_THAT(std::string(index->Checkpoint().message()), Catch::Contains("SaveTo"));
}

TEST_CASE("save: FromSnapshot checks the bytes as Open checks a file", "[storage][save]") {
  auto index = Index::Create().value();
  REQUIRE(index->AddCustomer(int64_t{1}).ok());
  std::string bytes = index->SerializeSnapshot().value();
  bytes[bytes.size() / 2] ^= 1;
  auto r = Index::FromSnapshot(std::span<const char>(bytes.data(), bytes.size()));
  REQUIRE(r.status().code() == absl::StatusCode::kDataLoss);
  REQUIRE_THAT(std::string(r.status().message()), Catch::Contains("at byte"));
}
