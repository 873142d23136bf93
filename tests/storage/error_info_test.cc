// ErrorInfo payloads (tagindex/errors.h): each family of errors a program
// acts on carries its kind and subject, and the payload survives the
// layers (batch, log, file system) that wrap the error.
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "storage/storage_test_util.h"
#include "tagindex/tagindex.h"

using tagindex::ErrorInfo;
using tagindex::ErrorKind;
using tagindex::GetErrorInfo;
using tagindex::Index;
using tagindex::IndexOptions;
using tagindex::KeyKind;
using tagindex::OpenOptions;
using tagindex::TagId;
using tagindex::testing::MemFileSystem;
using tagindex::testing::MemOptions;
using Code = absl::StatusCode;

namespace {

// The status must fail with `code` and carry `kind` / `subject`; returns the info.
ErrorInfo Expect(const absl::Status& st, Code code, ErrorKind kind, const std::string& subject) {
  INFO(st);
  REQUIRE(st.code() == code);
  std::optional<ErrorInfo> info = GetErrorInfo(st);
  REQUIRE(info.has_value());
  CHECK(tagindex::ErrorKindName(info->kind) == tagindex::ErrorKindName(kind));
  CHECK(info->kind_name == tagindex::ErrorKindName(kind));
  CHECK(info->subject == subject);
  // One line when printed, payloads included.
  CHECK(st.ToString().find('\n') == std::string::npos);
  return *info;
}

std::unique_ptr<Index> Shop(IndexOptions o = {}) {
  auto index = Index::Create(o).value();
  REQUIRE(index->CreateTag({.name = "运动", .category = "兴趣"}).ok());
  REQUIRE(index->CreateTag({.name = "运动", .category = "品类"}).ok());
  REQUIRE(index->CreateTag({.name = "VIP"}).ok());
  return index;
}

}  // namespace

TEST_CASE("error info: the payload round-trips every byte and prints on one line", "[errors]") {
  const uint64_t seed = 20261201;
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto random_text = [&] {
    static const std::vector<std::string> kPieces = {"a",    "&",    "=",      "%", "%2", "\n",
                                                     "\x1f", "\x7f", "高价值", " ", "\"", "\0"};
    std::string s;
    for (int n = static_cast<int>(rng() % 8); n > 0; --n) s += kPieces[rng() % kPieces.size()];
    return s;
  };
  for (int i = 0; i < 500; ++i) {
    ErrorInfo in;
    in.kind = static_cast<ErrorKind>(rng() % (static_cast<int>(ErrorKind::kInternal) + 1));
    in.subject = random_text();
    in.path = random_text();
    if (rng() % 2) in.offset = rng();
    if (rng() % 2) in.id = rng() % 1000;
    in.limit = random_text();
    in.detail = random_text();
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) in.suggestions.push_back(random_text());
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) in.candidates.push_back(random_text());
    absl::Status st(Code::kNotFound, "x: one line");
    tagindex::SetErrorInfo(st, in);
    std::optional<ErrorInfo> out = GetErrorInfo(st);
    INFO("item " << i);
    REQUIRE(out.has_value());
    CHECK(out->kind == in.kind);
    CHECK(out->subject == in.subject);
    CHECK(out->path == in.path);
    CHECK(out->offset == in.offset);
    CHECK(out->id == in.id);
    CHECK(out->limit == in.limit);
    CHECK(out->detail == in.detail);
    CHECK(out->suggestions == in.suggestions);
    CHECK(out->candidates == in.candidates);
    CHECK(st.ToString().find('\n') == std::string::npos);
  }
  // Documented form, readable when printed.
  absl::Status st(Code::kNotFound, "m");
  ErrorInfo in;
  in.kind = ErrorKind::kUnknownTag;
  in.subject = "VIPP";
  in.suggestions = {"VIP"};
  tagindex::SetErrorInfo(st, in);
  CHECK(std::string(*st.GetPayload(tagindex::kErrorInfoTypeUrl)) ==
        "kind=unknown_tag&subject=VIPP&suggestion=VIP");
  // A kind of a later version is kept by name; malformed payloads are none.
  st.SetPayload(tagindex::kErrorInfoTypeUrl, absl::Cord("kind=frozen&subject=x&new=1"));
  CHECK(GetErrorInfo(st)->kind == ErrorKind::kOther);
  CHECK(GetErrorInfo(st)->kind_name == "frozen");
  st.SetPayload(tagindex::kErrorInfoTypeUrl, absl::Cord("subject=x"));
  CHECK_FALSE(GetErrorInfo(st).has_value());
  st.SetPayload(tagindex::kErrorInfoTypeUrl, absl::Cord("kind=io&subject=%4"));
  CHECK_FALSE(GetErrorInfo(st).has_value());
  CHECK_FALSE(GetErrorInfo(absl::OkStatus()).has_value());
  CHECK_FALSE(GetErrorInfo(absl::NotFoundError("plain")).has_value());
}

TEST_CASE("error info: tags, categories and customers", "[errors]") {
  auto index = Shop();
  ErrorInfo e =
      Expect(index->FindTag("VIPP").status(), Code::kNotFound, ErrorKind::kUnknownTag, "VIPP");
  CHECK(e.suggestions == std::vector<std::string>{"VIP"});
  e = Expect(index->FindTag("运动").status(), Code::kInvalidArgument, ErrorKind::kAmbiguousName,
             "运动");
  CHECK(e.candidates == std::vector<std::string>{"兴趣:运动", "品类:运动"});
  Expect(index->FindTag("兴趣", "跑步").status(), Code::kNotFound, ErrorKind::kUnknownTag, "跑步");
  e = Expect(index->TagCardinality(TagId{999}).status(), Code::kNotFound, ErrorKind::kUnknownTag,
             "tag id 999");
  CHECK(e.id == uint64_t{999});
  Expect(index->GetCategory("无").status(), Code::kNotFound, ErrorKind::kUnknownCategory, "无");
  Expect(index->FindCustomer(int64_t{42}).status(), Code::kNotFound, ErrorKind::kUnknownCustomer,
         "42");
  Expect(index->KeyOf(7).status(), Code::kNotFound, ErrorKind::kUnknownCustomer, "row 7");
  Expect(index->CreateTag({.name = "VIP"}).status(), Code::kAlreadyExists,
         ErrorKind::kAlreadyExists, "VIP");
  Expect(index->CreateCategory("兴趣"), Code::kAlreadyExists, ErrorKind::kAlreadyExists, "兴趣");
  Expect(index->CreateTag({.name = "  "}).status(), Code::kInvalidArgument, ErrorKind::kBadName,
         "  ");
  // Keys: the wrong kind, a limit (the option named), unknown on untag.
  Expect(index->FindCustomer(std::string_view("a")).status(), Code::kInvalidArgument,
         ErrorKind::kBadKey, "a");
  TagId vip = index->FindTag("VIP").value();
  std::vector<int64_t> keys = {1, 2};
  REQUIRE(index->TagMany(vip, keys).ok());
  std::vector<int64_t> untag = {2, 3};
  Expect(index->UntagMany(vip, untag), Code::kNotFound, ErrorKind::kUnknownCustomer, "3");
  std::vector<tagindex::RowId> rows = {0, 77};
  Expect(index->TagRows(vip, rows), Code::kNotFound, ErrorKind::kUnknownCustomer, "row 77");

  IndexOptions strings;
  strings.key_kind = KeyKind::kString;
  strings.max_string_key_bytes = 4;
  auto s = Index::Create(strings).value();
  e = Expect(s->AddCustomer(std::string_view("toolong")).status(), Code::kInvalidArgument,
             ErrorKind::kBadKey, "toolong");
  CHECK(e.limit == "IndexOptions::max_string_key_bytes");
  Expect(s->AddCustomer(int64_t{5}).status(), Code::kInvalidArgument, ErrorKind::kBadKey, "5");
}

TEST_CASE("error info: limits name their option", "[errors]") {
  IndexOptions o;
  o.max_tags = 1;
  auto index = Index::Create(o).value();
  REQUIRE(index->CreateTag({.name = "a"}).ok());
  ErrorInfo e = Expect(index->CreateTag({.name = "b"}).status(), Code::kResourceExhausted,
                       ErrorKind::kLimit, "IndexOptions::max_tags");
  CHECK(e.limit == "IndexOptions::max_tags");
  tagindex::QueryOptions q;
  q.max_query_bytes = 4;
  e = Expect(index->Count("a OR a", q).status(), Code::kResourceExhausted, ErrorKind::kLimit,
             "QueryOptions::max_query_bytes");
  CHECK(tagindex::GetQueryErrorLocation(index->Count("a OR a", q).status()).has_value());
}

TEST_CASE("error info: queries", "[errors][query]") {
  auto index = Shop();
  absl::Status st = index->Count("VIP AND )").status();
  Expect(st, Code::kInvalidArgument, ErrorKind::kQuerySyntax, ")");
  std::optional<tagindex::QueryErrorLocation> at = tagindex::GetQueryErrorLocation(st);
  REQUIRE(at.has_value());
  CHECK(at->offset == 8);
  CHECK(st.message().find('\n') == absl::string_view::npos);  // the snippet is in the payload
  CHECK(at->snippet.find('^') != std::string::npos);

  st = index->Count("VIPP").status();
  ErrorInfo e = Expect(st, Code::kNotFound, ErrorKind::kUnknownTag, "VIPP");
  CHECK(e.suggestions == std::vector<std::string>{"VIP"});
  CHECK(tagindex::GetUnknownTagSuggestions(st) == e.suggestions);
  e = Expect(index->Count("运动 OR VIP").status(), Code::kInvalidArgument,
             ErrorKind::kAmbiguousName, "运动");
  CHECK(e.candidates == std::vector<std::string>{"兴趣:运动", "品类:运动"});
  Expect(index->Count("颜色 = 红").status(), Code::kNotFound, ErrorKind::kUnknownAttribute, "颜色");
  Expect(index->Count("兴趣:跑步").status(), Code::kNotFound, ErrorKind::kUnknownTag, "跑步");
  Expect(index->Count("无:跑步").status(), Code::kNotFound, ErrorKind::kUnknownCategory, "无");

  REQUIRE(index->CreateAttribute({.name = "年龄"}).ok());
  Expect(index->Count("年龄 > 1.5").status(), Code::kInvalidArgument, ErrorKind::kBadValue, "1.5");
}

TEST_CASE("error info: a rejected batch carries its item's kind", "[errors][batch]") {
  auto index = Shop();
  tagindex::WriteBatch batch;
  std::vector<int64_t> keys = {1, 2};
  batch.AddCustomers(keys);
  batch.TagRows(TagId{404}, std::vector<tagindex::RowId>{0});
  absl::Status st = index->Write(batch);
  ErrorInfo e = Expect(st, Code::kNotFound, ErrorKind::kUnknownTag, "tag id 404");
  std::optional<tagindex::BatchError> b = tagindex::GetBatchError(st);
  REQUIRE(b.has_value());
  CHECK(b->item == 1);
  CHECK(index->CustomerCount() == 0);
}

TEST_CASE("error info: storage (io, corrupt file) through the file-system seam",
          "[errors][storage]") {
  auto fs = std::make_shared<MemFileSystem>();
  auto index = Index::Open("db", MemOptions(fs)).value();
  std::string wal;
  for (const std::string& n : fs->Names()) {
    if (n.find("/wal-") != std::string::npos) wal = n;
  }
  REQUIRE_FALSE(wal.empty());
  // The next write fails as EIO would: Unavailable (never Internal), kind
  // io, the log's path; the index passes the payload through its wrapping.
  fs->FailAt(MemFileSystem::Op::kWrite, 1);
  ErrorInfo e =
      Expect(index->CreateTag({.name = "x"}).status(), Code::kUnavailable, ErrorKind::kIo, wal);
  CHECK(e.path == wal);
  // The log is read-only now: the same io error again, not a new kind.
  fs->ClearFault();
  Expect(index->CreateTag({.name = "y"}).status(), Code::kUnavailable, ErrorKind::kIo, wal);
  index.reset();
  // A damaged byte in the log: corrupt_file with the log's path and offset.
  std::string bytes = fs->Get(wal);
  REQUIRE(bytes.size() >= 32);  // the header (the failed record was cut off)
  bytes[10] ^= 0x55;            // inside the header
  fs->Put(wal, bytes);
  e = Expect(Index::Open("db", MemOptions(fs)).status(), Code::kDataLoss, ErrorKind::kCorruptFile,
             wal);
  CHECK(e.path == wal);
  CHECK(e.offset == uint64_t{0});
}

TEST_CASE("error info: the POSIX file system's errno mapping", "[errors][storage]") {
  char tmpl[] = "/tmp/tagindex_errors_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  std::shared_ptr<tagindex::FileSystem> fs = tagindex::FileSystem::Default();
  // ENOENT -> NotFound, kind not_found.
  const std::string missing = dir + "/missing";
  ErrorInfo e =
      Expect(fs->ReadFile(missing).status(), Code::kNotFound, ErrorKind::kNotFound, missing);
  CHECK(e.path == missing);
  CHECK_FALSE(e.detail.empty());
  // ENOTDIR (not listed) -> Unavailable, kind io.
  const std::string under_file = "/dev/null/x";
  Expect(fs->OpenWritable(under_file, true).status(), Code::kUnavailable, ErrorKind::kIo,
         under_file);
  // ENOSPC -> ResourceExhausted, kind io (/dev/full is always full).
  {
    auto full = fs->OpenWritable("/dev/full", false);
    REQUIRE(full.ok());
    absl::Status st = (*full)->Append(std::string(1 << 16, 'x'));
    if (st.ok()) st = (*full)->Sync();
    Expect(st, Code::kResourceExhausted, ErrorKind::kIo, "/dev/full");
  }
  // Index::Open: no directory, and a directory another writer holds.
  OpenOptions no_create;
  no_create.create_if_missing = false;
  Expect(Index::Open(missing, no_create).status(), Code::kNotFound, ErrorKind::kNotFound, missing);
  {
    auto first = Index::Open(dir + "/idx", {.create_if_missing = true}).value();
    e = Expect(Index::Open(dir + "/idx", {.create_if_missing = true}).status(),
               Code::kFailedPrecondition, ErrorKind::kBusy, dir + "/idx/LOCK");
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("error info: every query error names a kind and is one line", "[errors][query]") {
  const uint64_t seed = 77;
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto index = Shop();
  REQUIRE(index->CreateAttribute({.name = "年龄"}).ok());
  static const std::vector<std::string> kPieces = {
      "VIP",      "运动",  "兴趣:运动", "AND",  "OR", "NOT", "(",       ")",  "\"",
      "\"a\nb\"", "\n",    "\t",        "年龄", ">",  "1.5", "BETWEEN", "IN", "=",
      ",",        "\xff",  "\x01",      "且",   "非", "'",   "\\",      " ",  "无:x",
      "颜色",     "today", "-",         "90d",  "IS", "NULL"};
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    for (int n = 1 + static_cast<int>(rng() % 7); n > 0; --n) {
      text += kPieces[rng() % kPieces.size()];
      if (rng() % 2) text += " ";
    }
    tagindex::QueryOptions q;
    q.max_operands = 4;
    absl::Status st = index->Count(text, q).status();
    if (st.ok()) continue;
    ++errors;
    INFO("query " << i << ": " << st);
    REQUIRE(GetErrorInfo(st).has_value());
    REQUIRE(st.message().find('\n') == absl::string_view::npos);
    REQUIRE(st.ToString().find('\n') == std::string::npos);
  }
  CHECK(errors > 1000);
}
