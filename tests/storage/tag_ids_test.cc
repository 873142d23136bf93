// Tag and attribute ids are never reused and size nothing (issue #13): an
// index whose id counters passed 2^24 (the default
// OpenOptions::max_tag_id_on_load) checkpoints and reopens with default
// options, its memory follows the live tags, a stale id names nothing, and
// queries agree with a std::set model.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "index/access.h"
#include "index/index_state.h"
#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

using tagindex::AttributeType;
using tagindex::Index;
using tagindex::TagId;
using tagindex::TagSpec;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;

namespace {

constexpr char kDir[] = "/idx";

const tagindex::internal::Version& Current(Index& index) {
  return *tagindex::internal::Access::State(index).Current();
}

// Test hook: makes the tag and attribute id counters at least `next`, as
// 16 M creations and deletions would (published as a new version; a
// checkpoint must follow, since the log does not record the jump).
void AdvanceIdCounters(Index& index, uint32_t next) {
  tagindex::internal::IndexState& state = tagindex::internal::Access::State(index);
  tagindex::internal::WriterLock lock(state);
  tagindex::internal::Version v(*state.Current());
  v.catalog.ReserveTagIds(next);
  v.attributes.ReserveIds(next);
  state.Publish(v);
}

std::set<int64_t> Keys(Index& index, const std::string& query) {
  auto seg = index.Query(query);
  INFO(query << ": " << seg.status().ToString());
  REQUIRE(seg.ok());
  std::set<int64_t> out;
  for (const auto rows_value = seg->Rows().value(); tagindex::RowId row : rows_value)
    out.insert(std::get<int64_t>(index.KeyOf(row).value()));
  return out;
}

}  // namespace

TEST_CASE("tag ids: past 2^24 ids an index checkpoints and reopens with default options",
          "[storage][tag_ids]") {
  const uint32_t seed = 1313;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  auto fs = std::make_shared<MemFileSystem>();
  std::map<std::string, std::set<int64_t>> model;  // live tag -> keys
  std::map<std::string, TagId> ids;
  std::vector<int64_t> keys;
  for (int64_t k = 0; k < 200; ++k) keys.push_back(k * 3 + 1);
  const uint32_t start = (1u << 24) - 300;
  {
    auto index = Index::Open(kDir, MemOptions(fs)).value();
    REQUIRE(index->AddCustomers(keys).ok());
    const TagId first = index->CreateTag(TagSpec{.name = "Keep0"}).value();
    ids["Keep0"] = first;
    REQUIRE(index->CreateAttribute({.name = "Spend", .type = AttributeType::kInt64}).ok());
    REQUIRE(index->SetAttribute("Spend", 1, 5).ok());
    AdvanceIdCounters(*index, start);
    REQUIRE(index->Checkpoint().ok());
    // 600 real creations and deletions cross 2^24; a few tags stay live.
    for (int i = 0; i < 600; ++i) {
      const std::string name = "T" + std::to_string(i);
      auto id = index->CreateTag(TagSpec{.name = name});
      REQUIRE(id.ok());
      REQUIRE(id->value == start + static_cast<uint32_t>(i));  // never reused
      std::vector<int64_t> members;
      for (int64_t k : keys) {
        if (rng() % 3 == 0) members.push_back(k);
      }
      REQUIRE(index->TagMany(*id, members).ok());
      if (i % 100 == 99) {
        ids[name] = *id;
        model[name] = std::set<int64_t>(members.begin(), members.end());
      } else {
        REQUIRE(index->DeleteTag(*id).ok());
        // A stale id names nothing (the next tag takes a new id).
        REQUIRE(index->GetTag(*id).status().code() == absl::StatusCode::kNotFound);
      }
    }
    REQUIRE(index->TagMany(first, std::span<const int64_t>(keys).first(50)).ok());
    model["Keep0"] = std::set<int64_t>(keys.begin(), keys.begin() + 50);
    REQUIRE(index->DropAttribute("Spend").ok());
    REQUIRE(index->CreateAttribute({.name = "Spend2", .type = AttributeType::kInt64}).ok());
    REQUIRE(index->GetAttribute("Spend2")->id.value == start);
    REQUIRE(Current(*index).catalog.next_tag_id() == start + 600);
    REQUIRE(Current(*index).catalog.next_tag_id() > (1u << 24));
    REQUIRE(index->Checkpoint().ok());
    // More after the checkpoint: replayed from the log on reopen.
    const TagId late = index->CreateTag(TagSpec{.name = "Late"}).value();
    REQUIRE(late.value == start + 600);
    REQUIRE(index->TagMany(late, std::span<const int64_t>(keys).last(10)).ok());
    ids["Late"] = late;
    model["Late"] = std::set<int64_t>(keys.end() - 10, keys.end());
  }
  // Default options (max_tag_id_on_load = 2^24).
  auto reopened = Index::Open(kDir, MemOptions(fs));
  INFO(reopened.status().ToString());
  REQUIRE(reopened.ok());
  Index& index = **reopened;
  const auto& catalog = Current(index).catalog;
  REQUIRE(catalog.next_tag_id() == start + 601);
  REQUIRE(catalog.live_tag_count() == model.size());
  // Memory follows the live tags (8 here), not the 16.8 M ids issued.
  REQUIRE(catalog.tag_slot_capacity() <= 2 * model.size());
  REQUIRE(Current(index).attributes.size() == 1);
  REQUIRE(Current(index).attributes.next_id() == start + 1);
  for (const auto& [name, members] : model) {
    REQUIRE(index.FindTag(name).value() == ids[name]);
    REQUIRE(Keys(index, name) == members);
  }
  // A compound query against the model.
  std::set<int64_t> expected;
  for (int64_t k : model["T99"]) {
    if (model["Keep0"].count(k) == 0 || model["T599"].count(k) > 0) expected.insert(k);
  }
  REQUIRE(Keys(index, "T99 AND (NOT Keep0 OR T599)") == expected);
  // New tags keep counting from the counter: no id is ever handed out twice.
  const TagId next = index.CreateTag(TagSpec{.name = "AfterReopen"}).value();
  REQUIRE(next.value == start + 601);
  REQUIRE(index.GetTag(TagId{start + 1}).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("tag ids: lookups by id agree with a model while ids are deleted anywhere",
          "[storage][tag_ids]") {
  const uint32_t seed = 77;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  auto index = Index::Create().value();
  std::map<uint32_t, std::string> model;  // live id -> name
  uint32_t next = 0;
  for (int step = 0; step < 3000; ++step) {
    if (model.empty() || rng() % 3 != 0) {
      const std::string name = "N" + std::to_string(step);
      const TagId id = index->CreateTag(TagSpec{.name = name}).value();
      REQUIRE(id.value == next++);
      model[id.value] = name;
    } else {
      auto it = model.begin();
      std::advance(it, rng() % model.size());
      REQUIRE(index->DeleteTag(TagId{it->first}).ok());
      model.erase(it);
    }
    if (step % 97 == 0) {
      for (uint32_t id = 0; id < next; ++id) {
        auto info = index->GetTag(TagId{id});
        auto it = model.find(id);
        if (it == model.end()) {
          REQUIRE(info.status().code() == absl::StatusCode::kNotFound);
        } else {
          REQUIRE(info.ok());
          REQUIRE(info->name == it->second);
        }
      }
    }
  }
  REQUIRE(index->TagCount() == model.size());
  std::vector<uint32_t> listed;  // ListTags orders by (category, name)
  const auto listed2 = index->ListTags().value();
  for (const auto& t : listed2) listed.push_back(t.id.value);
  std::sort(listed.begin(), listed.end());
  std::vector<uint32_t> expected;
  for (const auto& [id, name] : model) expected.push_back(id);
  REQUIRE(listed == expected);
}

TEST_CASE("tag ids: the open-time limit bounds live tags and columns, not the counters",
          "[storage][tag_ids]") {
  auto fs = std::make_shared<MemFileSystem>();
  {
    auto index = Index::Open(kDir, MemOptions(fs)).value();
    REQUIRE(index->AddCustomers(std::vector<int64_t>{1, 2}).ok());
    REQUIRE(index->CreateTag(TagSpec{.name = "A"}).ok());
    REQUIRE(index->CreateAttribute({.name = "X", .type = AttributeType::kInt64}).ok());
    REQUIRE(index->CreateAttribute({.name = "Y", .type = AttributeType::kInt64}).ok());
    AdvanceIdCounters(*index, 0x7fffff00u);  // far beyond 2^24: fine
    REQUIRE(index->Checkpoint().ok());
  }
  REQUIRE(Index::Open(kDir, MemOptions(fs)).ok());
  tagindex::OpenOptions o = MemOptions(fs);
  o.max_tag_id_on_load = 1;  // one tag is allowed, two attribute columns are not
  absl::Status st = Index::Open(kDir, o).status();
  INFO(st.ToString());
  REQUIRE(st.code() == absl::StatusCode::kDataLoss);
  REQUIRE_THAT(std::string(st.message()),
               Catch::Contains("more than 1 attribute columns (OpenOptions::max_tag_id_on_load)") &&
                   Catch::Contains("section kind 11"));
  o.max_tag_id_on_load = 0;
  st = Index::Open(kDir, o).status();
  REQUIRE_THAT(std::string(st.message()),
               Catch::Contains("tag count 1 exceeds OpenOptions::max_tag_id_on_load"));
}
