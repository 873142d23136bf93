// Saved segments (人群包): semantics against a std::set model, the query
// syntax (人群:NAME / segment:NAME), diffs, errors, and persistence: reopen
// after checkpoints and the log, and a forked writer SIGKILLed at a random
// moment (every acknowledged save / rename / drop survives).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <set>

#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

using tagindex::Index;
using tagindex::OpenOptions;
using tagindex::RowId;
using tagindex::SegmentKind;
using tagindex::SyncPolicy;
using tagindex::TagId;
using tagindex::testing::Dump;
using tagindex::testing::Full;
using tagindex::testing::RandomOp;
using Code = absl::StatusCode;

namespace {

std::set<RowId> RowsOf(const tagindex::Segment& s) {
  const std::vector<RowId> v = s.Rows().value();
  return {v.begin(), v.end()};
}

// Every saved segment: definition and members now (creation times differ
// between two indexes fed the same script, so they are left out).
std::string DumpSegments(const Index& index) {
  std::string out;
  const auto listed1 = index.ListSavedSegments().value();
  for (const tagindex::SavedSegmentInfo& s : listed1) {
    absl::StrAppend(&out, "segment ", s.name, " kind=", static_cast<int>(s.kind), " q=", s.query,
                    " n=", s.count, " [");
    auto members = index.LoadSavedSegment(s.name);
    if (members.ok()) {
      for (const auto rows_value = members->Rows().value(); RowId r : rows_value)
        absl::StrAppend(&out, r, ",");
    } else {
      absl::StrAppend(&out, members.status().message());
    }
    absl::StrAppend(&out, "]\n");
  }
  return out;
}

// A segment step of a deterministic script (chosen from `rng` alone), over
// the tags RandomOp creates (标签0..14).
absl::Status SegmentOp(std::mt19937_64& rng, Index& index) {
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  const std::string name = absl::StrCat("人群包", pick(5));
  const uint64_t kind = pick(10);
  std::string query;
  switch (pick(4)) {
    case 0:
      query = absl::StrCat("标签", pick(15), " OR 标签", pick(15));
      break;
    case 1:
      query = absl::StrCat("NOT 标签", pick(15));
      break;
    case 2:
      query = absl::StrCat("人群:人群包", pick(5), " AND NOT 标签", pick(15));
      break;
    default:
      query = "ALL";
  }
  if (kind < 4) return index.SaveSegment(name, query, SegmentKind::kStatic);
  if (kind < 6) return index.SaveSegment(name, query, SegmentKind::kDynamic);
  if (kind < 8) return index.RenameSavedSegment(name, absl::StrCat("人群包", pick(5)));
  return index.DropSavedSegment(name);
}

absl::Status MixedOp(std::mt19937_64& rng, Index& index, bool allow_checkpoint) {
  if (rng() % 3 == 0) return SegmentOp(rng, index);
  return RandomOp(rng, index, allow_checkpoint);
}

TEST_CASE("saved segments: static, dynamic, in queries, diffs", "[segments]") {
  auto index = Index::Create().value();
  Index& ix = *index;
  const TagId a = ix.CreateTag({.name = "复购客户"}).value();
  const TagId b = ix.CreateTag({.name = "大促敏感"}).value();
  const TagId churn = ix.CreateTag({.name = "流失风险"}).value();
  std::mt19937_64 rng(2024);
  std::set<RowId> sa, sb, sc;
  std::vector<int64_t> keys;
  for (int64_t k = 0; k < 5000; ++k) keys.push_back(k * 7);
  REQUIRE(ix.AddCustomers(keys).ok());
  auto tag_random = [&](TagId t, std::set<RowId>& model, int one_in) {
    std::vector<RowId> rows;
    for (RowId r = 0; r < 5000; ++r) {
      if (rng() % one_in == 0) {
        rows.push_back(r);
        model.insert(r);
      }
    }
    REQUIRE(ix.TagRows(t, rows).ok());
  };
  tag_random(a, sa, 3);
  tag_random(b, sb, 2);
  tag_random(churn, sc, 5);
  std::set<RowId> want;
  for (RowId r : sa) {
    if (sb.count(r)) want.insert(r);
  }
  REQUIRE(ix.SaveSegment("双十一老客", "复购客户 AND 大促敏感").ok());
  REQUIRE(ix.SaveSegment(" 高危 ", "流失风险", SegmentKind::kDynamic).ok());  // trimmed
  auto info = ix.GetSavedSegment("双十一老客").value();
  CHECK(info.kind == SegmentKind::kStatic);
  CHECK(info.query == "复购客户 AND 大促敏感");
  CHECK(info.count == want.size());
  CHECK(info.created_micros > 1700000000LL * 1000000);
  CHECK(ix.GetSavedSegment("高危").value().kind == SegmentKind::kDynamic);

  // In queries: a static segment is its frozen members, a dynamic one its
  // query now.
  std::set<RowId> want_q;
  for (RowId r : want) {
    if (!sc.count(r)) want_q.insert(r);
  }
  CHECK(RowsOf(ix.Query("人群:双十一老客 AND NOT 流失风险").value()) == want_q);
  CHECK(RowsOf(ix.Query("segment:双十一老客 AND NOT 人群:高危").value()) == want_q);

  // The index changes: the static segment stays, the dynamic one follows,
  // and the diff against the query now names who entered and left.
  std::vector<RowId> untag, retag;
  for (RowId r : want) {
    if (untag.size() < 100) untag.push_back(r);
  }
  for (RowId r = 0; r < 5000 && retag.size() < 70; ++r) {
    if (!sa.count(r) && sb.count(r)) retag.push_back(r);
  }
  REQUIRE(ix.UntagRows(a, untag).ok());
  REQUIRE(ix.TagRows(a, retag).ok());
  REQUIRE(ix.TagRows(churn, retag).ok());
  CHECK(RowsOf(ix.LoadSavedSegment("双十一老客").value()) == want);
  auto d = ix.DiffSavedSegment("双十一老客").value();
  CHECK(d.before == want.size());
  CHECK(d.left == untag.size());
  CHECK(d.entered == retag.size());
  CHECK(d.stayed == want.size() - untag.size());
  CHECK_FALSE(d.entered_rows.has_value());
  auto dr = ix.DiffSavedSegment("双十一老客", /*with_rows=*/true).value();
  CHECK(dr.entered_rows->Rows().value() == retag);
  CHECK(dr.left_rows->Rows().value() == untag);
  std::set<RowId> churn_now = sc;
  churn_now.insert(retag.begin(), retag.end());
  CHECK(RowsOf(ix.LoadSavedSegment("高危").value()) == churn_now);

  // A removed customer leaves a static segment.
  const RowId gone = *want.rbegin();
  REQUIRE(ix.RemoveRow(gone).ok());
  CHECK_FALSE(ix.LoadSavedSegment("双十一老客").value().Contains(gone));
  CHECK(ix.GetSavedSegment("双十一老客").value().count == want.size() - 1);

  // Two arbitrary segments.
  auto x = ix.Query("复购客户").value();
  auto y = ix.Query("大促敏感").value();
  auto dxy = ix.DiffSegments(x, y).value();
  CHECK(dxy.stayed == ix.Count("复购客户 AND 大促敏感").value());
  CHECK(dxy.entered == ix.Count("大促敏感 AND NOT 复购客户").value());

  // Rename, list, drop.
  REQUIRE(ix.RenameSavedSegment("双十一老客", "老客").ok());
  CHECK(ix.Count("人群:老客").value() == want.size() - 1);
  auto list = ix.ListSavedSegments().value();
  REQUIRE(list.size() == 2);
  CHECK(list[0].name == "老客");
  CHECK(list[1].name == "高危");

  // Errors.
  CHECK(ix.SaveSegment("老客", "复购客户").code() == Code::kAlreadyExists);
  CHECK(ix.SaveSegment("新", "没有这个标签").code() == Code::kNotFound);
  CHECK(ix.SaveSegment("新", "复购客户 AND (").code() == Code::kInvalidArgument);
  CHECK(ix.SaveSegment("", "复购客户").code() == Code::kInvalidArgument);
  auto unknown = ix.Query("人群:老客户");
  CHECK(unknown.status().code() == Code::kNotFound);
  CHECK(std::string(unknown.status().message()).find("老客") != std::string::npos);
  CHECK(ix.DiffSavedSegment("高危").status().code() == Code::kInvalidArgument);
  CHECK(ix.DropSavedSegment("无").code() == Code::kNotFound);
  CHECK(ix.RenameSavedSegment("老客", "高危").code() == Code::kAlreadyExists);

  // Dynamic segments over dynamic segments; a cycle is reported, not looped.
  REQUIRE(ix.SaveSegment("环A", "人群:高危 AND 复购客户", SegmentKind::kDynamic).ok());
  REQUIRE(ix.DropSavedSegment("高危").ok());
  // Saving compiles the query: 环A now names a segment that is gone.
  CHECK(ix.SaveSegment("高危", "人群:环A OR 大促敏感", SegmentKind::kDynamic).code() ==
        Code::kNotFound);
  REQUIRE(ix.SaveSegment("高危", "流失风险", SegmentKind::kDynamic).ok());
  CHECK(ix.Count("人群:环A").value() == ix.Count("流失风险 AND 复购客户").value());
  // A cycle can only be made by renaming: 环C -> 环A -> 高危, then 环C
  // takes the name 高危.
  REQUIRE(ix.SaveSegment("环C", "人群:环A", SegmentKind::kDynamic).ok());
  REQUIRE(ix.DropSavedSegment("高危").ok());
  REQUIRE(ix.RenameSavedSegment("环C", "高危").ok());
  auto cycle = ix.Count("人群:环A");
  CHECK(cycle.status().code() == Code::kInvalidArgument);
  CHECK(std::string(cycle.status().message()).find("cycle") != std::string::npos);
  REQUIRE(ix.DropSavedSegment("高危").ok());
  REQUIRE(ix.SaveSegment("高危", "流失风险", SegmentKind::kDynamic).ok());

  // A real tag of category 人群 takes precedence over a saved segment.
  const TagId real = ix.CreateTag({.name = "老客", .category = "人群"}).value();
  REQUIRE(ix.TagRows(real, std::vector<RowId>{1, 2, 3}).ok());
  CHECK(ix.Count("人群:老客").value() == 3);
  CHECK(ix.Count("segment:老客").value() == want.size() - 1);
  REQUIRE(ix.DropSavedSegment("老客").ok());
  CHECK(ix.Query("segment:老客").status().code() == Code::kNotFound);
}

TEST_CASE("saved segments: a compiled query sees a dropped segment as gone", "[segments]") {
  auto index = Index::Create().value();
  const TagId t = index->CreateTag({.name = "甲"}).value();
  REQUIRE(index->TagMany(t, std::vector<int64_t>{1, 2, 3}).ok());
  REQUIRE(index->SaveSegment("包", "甲").ok());
  auto q = index->Compile("人群:包").value();
  CHECK(q.Count().value() == 3);
  REQUIRE(index->DropSavedSegment("包").ok());
  CHECK(q.Count().status().code() == Code::kFailedPrecondition);
}

TEST_CASE("saved segments survive reopening (log and snapshots)", "[segments][storage]") {
  const int seeds = Full() ? 40 : 8;
  char tmpl[] = "/tmp/tagindex-segments-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  for (int seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    const std::string dir = root + "/db" + std::to_string(seed);
    auto oracle = Index::Create().value();
    std::mt19937_64 rng(static_cast<uint64_t>(seed)), rng_oracle(static_cast<uint64_t>(seed));
    {
      auto index = Index::Open(dir, {.create_if_missing = true}).value();
      for (int i = 0; i < 300; ++i) {
        const absl::Status got = MixedOp(rng, *index, /*allow_checkpoint=*/true);
        const absl::Status want = MixedOp(rng_oracle, *oracle, false);
        REQUIRE(got.code() == want.code());
      }
      REQUIRE(DumpSegments(*index) == DumpSegments(*oracle));
      if (seed % 2 == 0) REQUIRE(index->Checkpoint().ok());
    }
    auto reopened = Index::Open(dir, {.create_if_missing = true}).value();
    CHECK(Dump(*reopened) == Dump(*oracle));
    CHECK(DumpSegments(*reopened) == DumpSegments(*oracle));
  }
  std::filesystem::remove_all(root);
}

[[noreturn]] void RunChild(const std::string& dir, uint64_t seed, int fd) {
  OpenOptions o;
  o.create_if_missing = true;
  o.sync = SyncPolicy::kEveryWrite;
  auto index = Index::Open(dir, o);
  if (!index.ok()) ::_exit(3);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 150; ++i) {
    (void)MixedOp(rng, **index, /*allow_checkpoint=*/true);
    const char ack = 1;
    if (::write(fd, &ack, 1) != 1) ::_exit(4);
  }
  ::_exit(0);
}

TEST_CASE("saved segments: SIGKILL at a random moment loses no acknowledged change",
          "[segments][crash]") {
  const int iterations = Full() ? 200 : 30;
  std::mt19937_64 meta(777);
  char tmpl[] = "/tmp/tagindex-segcrash-XXXXXX";
  const std::string root = ::mkdtemp(tmpl);
  int with_segments = 0;
  for (int it = 0; it < iterations; ++it) {
    const uint64_t seed = meta();
    const std::string dir = root + "/db" + std::to_string(it);
    INFO("iteration " << it << " seed " << seed);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      RunChild(dir, seed, fds[1]);
    }
    ::close(fds[1]);
    const int kill_after = static_cast<int>(meta() % 150);
    int acked = 0;
    char buf[256];
    while (acked < kill_after) {
      if (::read(fds[0], buf, 1) <= 0) break;
      ++acked;
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) acked += static_cast<int>(n);
    ::close(fds[0]);
    auto oracle = Index::Create().value();
    std::mt19937_64 rng(seed);
    for (int i = 0; i < acked; ++i) (void)MixedOp(rng, *oracle, false);
    const std::string after_acked = Dump(*oracle) + DumpSegments(*oracle);
    (void)MixedOp(rng, *oracle, false);
    const std::string after_in_flight = Dump(*oracle) + DumpSegments(*oracle);
    auto reopened = Index::Open(dir, {.create_if_missing = true});
    if (!reopened.ok()) {
      REQUIRE(acked == 0);
      continue;
    }
    const std::string got = Dump(**reopened) + DumpSegments(**reopened);
    with_segments += (**reopened).ListSavedSegments().value().empty() ? 0 : 1;
    const bool match = got == after_acked || got == after_in_flight;
    if (!match) {
      INFO("got:\n" << got << "\nwant:\n" << after_acked);
      CHECK(match);
    }
  }
  std::filesystem::remove_all(root);
  CHECK(with_segments > iterations / 3);
}

}  // namespace
