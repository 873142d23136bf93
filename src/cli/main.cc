// The `tagindex` command: argument parsing (CLI11) and printing only. What
// the commands do lives in the library (import.h, demo.h, index.h).
//
// Conventions: data on stdout, messages on stderr; --json for scripts;
// exit 0 / 1 (user error) / 2 (internal or I/O error), see cli/output.h.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "tagindex/tagindex.h"

namespace tagindex::cli {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string KeyText(const CustomerKey& key) {
  if (const int64_t* i = std::get_if<int64_t>(&key)) return absl::StrCat(*i);
  return std::get<std::string>(key);
}

std::string KeyJson(const CustomerKey& key) {
  if (const int64_t* i = std::get_if<int64_t>(&key)) return absl::StrCat(*i);
  return JsonString(std::get<std::string>(key));
}

absl::StatusOr<std::unique_ptr<Index>> OpenForReading(const std::string& dir) {
  OpenOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  return Index::Open(dir, options);
}

// "COL" or "COL=VALUE".
std::pair<std::string, std::string> SplitAssign(const std::string& spec) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos) return {spec, ""};
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

absl::StatusOr<KeyKind> ParseKeyKind(const std::string& text) {
  if (text == "int64") return KeyKind::kInt64;
  if (text == "string") return KeyKind::kString;
  if (text == "identity") return KeyKind::kIdentity;
  return absl::InvalidArgumentError(
      absl::StrCat("--key-kind must be int64, string or identity, not \"", text, "\""));
}

// "int64", "decimal(2)" or "date".
absl::StatusOr<std::pair<AttributeType, int>> ParseAttributeType(const std::string& text) {
  if (text == "int64" || text == "int") return std::pair{AttributeType::kInt64, 0};
  if (text == "date") return std::pair{AttributeType::kDate, 0};
  int scale = 0;
  char close = 0;
  if (std::sscanf(text.c_str(), "decimal(%d%c", &scale, &close) == 2 && close == ')' &&
      text == absl::StrCat("decimal(", scale, ")")) {
    return std::pair{AttributeType::kDecimal, scale};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("attribute type must be int64, decimal(SCALE) or date, not \"", text, "\""));
}

std::string AttributeTypeText(AttributeType type, int scale) {
  if (type == AttributeType::kDecimal) return absl::StrCat("decimal(", scale, ")");
  return type == AttributeType::kDate ? "date" : "int64";
}

// "COL", "COL=NAME", "COL:TYPE" or "COL=NAME:TYPE" (the type after the last
// ':' when it is one; a name may hold other colons).
absl::StatusOr<ImportAttributeColumn> ParseAttributeColumn(const std::string& spec) {
  ImportAttributeColumn col;
  std::string rest = spec;
  const size_t colon = spec.rfind(':');
  col.declared = false;
  if (colon != std::string::npos) {
    absl::StatusOr<std::pair<AttributeType, int>> type = ParseAttributeType(spec.substr(colon + 1));
    if (type.ok()) {
      col.type = type->first;
      col.scale = type->second;
      col.declared = true;
      rest = spec.substr(0, colon);
    }
  }
  auto [column, name] = SplitAssign(rest);
  if (column.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("import: --attribute \"", spec, "\": no column (COL[=NAME][:TYPE])"));
  }
  col.column = column;
  col.attribute = name;
  return col;
}

// A tag by "name" or "category:name".
absl::StatusOr<TagId> FindTagByText(const Index& index, const std::string& text) {
  absl::StatusOr<TagId> tag = index.FindTag(text);
  if (tag.ok() || !absl::IsNotFound(tag.status())) return tag;
  size_t colon = text.find(':');
  if (colon == std::string::npos) return tag;
  absl::StatusOr<TagId> qualified = index.FindTag(text.substr(0, colon), text.substr(colon + 1));
  if (qualified.ok()) return qualified;
  return tag;
}

std::string RejectCsvLine(const RejectedRow& r) {
  return absl::StrCat(CsvField(r.file), ",", r.line, ",", CsvField(r.column), ",",
                      CsvField(r.reason), ",", CsvField(r.raw), "\n");
}

std::string ReportJson(const ImportReport& r, bool include_rejects) {
  std::string out = absl::StrCat(
      "{\"file\":", JsonString(r.file), ",\"rows_read\":", r.rows_read,
      ",\"rows_imported\":", r.rows_imported, ",\"rows_rejected\":", r.rows_rejected,
      ",\"customers_added\":", r.customers_added, ",\"tag_assignments\":", r.tag_assignments,
      ",\"tag_removals\":", r.tag_removals, ",\"tags_created\":", r.tags_created,
      ",\"attribute_values\":", r.attribute_values, ",\"attribute_clears\":", r.attribute_clears,
      ",\"bytes\":", r.bytes, absl::StrFormat(",\"seconds\":%.6f", r.seconds));
  if (include_rejects) {
    out += ",\"rejects\":[";
    for (size_t i = 0; i < r.rejects.size(); ++i) {
      const RejectedRow& j = r.rejects[i];
      absl::StrAppend(&out, i ? "," : "", "{\"line\":", j.line, ",\"record\":", j.record,
                      ",\"column\":", JsonString(j.column), ",\"reason\":", JsonString(j.reason),
                      ",\"kind\":", JsonString(ErrorKindName(j.kind)),
                      ",\"subject\":", JsonString(j.subject), "}");
    }
    out += "]";
  }
  out += "}";
  return out;
}

// ---- import -------------------------------------------------------------------

struct ImportArgs {
  std::string dir;
  std::string file;
  std::string key;
  std::string key_kind;
  std::vector<std::string> tags;
  std::string tag_category;
  std::vector<std::string> multi;
  std::string separator = ",";
  std::vector<std::string> categories;
  std::vector<std::string> attributes;
  std::string delimiter = ",";
  bool strict = false;
  bool replace = false;
  std::string rejects;
  bool json = false;
  bool no_progress = false;
  size_t batch_rows = 1 << 14;
  unsigned threads = 0;
  std::string mapping;
  bool separator_given = false;
  bool delimiter_given = false;
};

// Fills what the command line left unset from a TOML mapping file (CLI11's
// own TOML reader). Unknown keys are errors, so a typo is not ignored.
absl::Status ApplyMappingFile(ImportArgs& a) {
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_file(a.mapping);
  } catch (const CLI::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("import: mapping file ", a.mapping, ": ", e.what()));
  }
  for (const CLI::ConfigItem& item : items) {
    const std::string name = item.fullname();
    auto one = [&](std::string& field) -> absl::Status {
      if (item.inputs.size() != 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("import: mapping file ", a.mapping, ": ", name, " takes one value"));
      }
      if (field.empty()) field = item.inputs[0];
      return absl::OkStatus();
    };
    auto many = [&](std::vector<std::string>& field) {
      if (field.empty()) field = item.inputs;
    };
    auto flag = [&](bool& field) {
      if (!item.inputs.empty() && (item.inputs[0] == "true" || item.inputs[0] == "1")) {
        field = true;
      }
    };
    absl::Status s;
    if (name == "key") {
      s = one(a.key);
    } else if (name == "key-kind" || name == "key_kind") {
      s = one(a.key_kind);
    } else if (name == "tag") {
      many(a.tags);
    } else if (name == "tag-category" || name == "tag_category") {
      s = one(a.tag_category);
    } else if (name == "multi") {
      many(a.multi);
    } else if (name == "separator") {
      if (!a.separator_given) a.separator = item.inputs.empty() ? "" : item.inputs[0];
    } else if (name == "category") {
      many(a.categories);
    } else if (name == "attribute") {
      many(a.attributes);
    } else if (name == "delimiter") {
      if (!a.delimiter_given) a.delimiter = item.inputs.empty() ? "" : item.inputs[0];
    } else if (name == "strict") {
      flag(a.strict);
    } else if (name == "replace") {
      flag(a.replace);
    } else {
      s = absl::InvalidArgumentError(
          absl::StrCat("import: mapping file ", a.mapping, ": unknown key \"", name,
                       "\" (known: key, key-kind, tag, tag-category, multi, separator, "
                       "category, attribute, delimiter, strict, replace)"));
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Whether `dir` is missing or an empty directory (an import there builds a
// new index).
bool IsNewIndexDir(const std::string& dir) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(dir, ec);
  if (ec) return ec == std::errc::no_such_file_or_directory;
  if (!std::filesystem::is_directory(st)) return false;
  return std::filesystem::is_empty(dir, ec) && !ec;
}

int RunImport(ImportArgs a) {
  if (!a.mapping.empty()) {
    absl::Status s = ApplyMappingFile(a);
    if (!s.ok()) return ReportError(s);
  }
  if (a.key.empty()) return ReportError(absl::InvalidArgumentError("import: --key is required"));
  if (a.key_kind.empty()) {
    return ReportError(absl::InvalidArgumentError(
        "import: --key-kind is required (int64, string or identity): key kinds are declared, "
        "never guessed from the data"));
  }
  absl::StatusOr<KeyKind> kind = ParseKeyKind(a.key_kind);
  if (!kind.ok()) return ReportError(kind.status());
  if (a.delimiter.size() != 1) {
    return ReportError(absl::InvalidArgumentError("import: --delimiter must be one byte"));
  }
  ImportMapping mapping;
  mapping.key_column = a.key;
  mapping.key_kind = *kind;
  for (const std::string& t : a.tags) {
    auto [column, name] = SplitAssign(t);
    mapping.tags.push_back({.column = column, .tag = name, .category = a.tag_category});
  }
  for (const std::string& m : a.multi) {
    auto [column, category] = SplitAssign(m);
    mapping.multi_tags.push_back(
        {.column = column, .separator = a.separator, .category = category});
  }
  for (const std::string& c : a.categories) {
    auto [column, category] = SplitAssign(c);
    mapping.categories.push_back({.column = column, .category = category});
  }
  for (const std::string& spec : a.attributes) {
    absl::StatusOr<ImportAttributeColumn> col = ParseAttributeColumn(spec);
    if (!col.ok()) return ReportError(col.status());
    mapping.attributes.push_back(*std::move(col));
  }

  std::ofstream rejects;
  if (!a.rejects.empty()) {
    rejects.open(a.rejects, std::ios::binary | std::ios::trunc);
    if (!rejects) {
      return ReportError(
          absl::InvalidArgumentError(absl::StrCat("import: cannot write ", a.rejects)));
    }
    rejects << "file,line,column,reason,row\n";
  }

  OpenOptions open_options;
  open_options.index.key_kind = *kind;
  // import makes the index if there is none (over what an interrupted
  // import left, too); never over a former index or foreign files (Open).
  open_options.create_if_missing = true;
  // The import is made durable by the checkpoint at its end; the log records
  // of its batches need not be synced one by one.
  open_options.sync = SyncPolicy::kNone;
  // Into a new index (no directory, or an empty one) the import builds the
  // index in memory and writes it once, as a snapshot (Index::SaveTo: temp
  // file, fsync, rename, fsync of the directory): the batches are not
  // written to a log first and then again by a checkpoint. A crash before
  // the rename leaves no index (run the import again, as after any crash
  // mid-import); once the command returns 0 the whole import is durable, as
  // on the logged path. Into an existing index the batches go through its
  // log (other writers may follow it) and a checkpoint ends the import.
  const bool fresh = IsNewIndexDir(a.dir);
  if (fresh) {
    // Made now, so that a directory that cannot be made fails before the work.
    std::error_code ec;
    std::filesystem::create_directories(a.dir, ec);
    if (ec) {
      return ReportError(absl::UnavailableError(
          absl::StrCat("import: cannot create directory ", a.dir, ": ", ec.message())));
    }
  }
  absl::StatusOr<std::unique_ptr<Index>> index =
      fresh ? Index::Create(open_options.index) : Index::Open(a.dir, open_options);
  if (!index.ok()) return ReportError(index.status());

  ProgressBar bar("import", !a.no_progress);
  ImportOptions options;
  options.csv.separator = a.delimiter[0];
  options.strict = a.strict;
  options.replace = a.replace;
  options.batch_rows = a.batch_rows;
  options.threads = a.threads;
  options.max_rejects_kept = 20;
  uint64_t rejects_printed = 0;
  options.on_reject = [&](const RejectedRow& r) {
    if (rejects.is_open()) rejects << RejectCsvLine(r);
    if (!a.json && rejects_printed < 10 && !a.strict) {
      bar.Finish();
      std::fprintf(stderr, "tagindex: rejected: %s\n", r.ToString().c_str());
    }
    ++rejects_printed;
  };
  options.on_progress = [&](const ImportProgress& p) {
    bar.Update(p.bytes_done, p.bytes_total, p.rows_done, p.seconds);
  };
  absl::StatusOr<ImportReport> report = ImportCsvFile(**index, a.file, mapping, options);
  bar.Finish();
  // Whatever was committed becomes one durable snapshot, also after a
  // strict stop.
  const auto checkpoint_start = Clock::now();
  absl::Status checkpoint = fresh ? (*index)->SaveTo(a.dir) : (*index)->Checkpoint();
  const double checkpoint_seconds = Since(checkpoint_start);
  if (rejects.is_open()) {
    rejects.flush();
    if (!rejects) {
      return ReportError(
          absl::InternalError(absl::StrCat("import: writing ", a.rejects, " failed")));
    }
  }
  if (!report.ok()) {
    if (!checkpoint.ok()) ReportError(checkpoint);
    return ReportError(report.status());
  }
  if (!checkpoint.ok()) return ReportError(checkpoint);
  ImportReport& r = *report;
  const double total = r.seconds + checkpoint_seconds;
  if (a.json) {
    std::string json = ReportJson(r, true);
    json.pop_back();
    absl::StrAppend(&json, absl::StrFormat(",\"checkpoint_seconds\":%.6f", checkpoint_seconds),
                    ",\"customers\":", (*index)->CustomerCount(),
                    ",\"tags\":", (*index)->TagCount(), "}");
    std::printf("%s\n", json.c_str());
  } else {
    std::fprintf(
        stderr,
        "imported %s of %s rows from %s in %s (%s rows/s, %s tag assignments/s); "
        "%s rejected; %s new customers, %s new tags; index: %s customers, %u tags\n",
        Thousands(r.rows_imported).c_str(), Thousands(r.rows_read).c_str(), r.file.c_str(),
        Duration(total).c_str(),
        Thousands(static_cast<uint64_t>(r.rows_read / std::max(total, 1e-9))).c_str(),
        Thousands(static_cast<uint64_t>(r.tag_assignments / std::max(total, 1e-9))).c_str(),
        Thousands(r.rows_rejected).c_str(), Thousands(r.customers_added).c_str(),
        Thousands(r.tags_created).c_str(), Thousands((*index)->CustomerCount()).c_str(),
        (*index)->TagCount());
    if (r.rows_rejected > 10) {
      std::fprintf(stderr, "tagindex: %s more rejected rows not shown%s\n",
                   Thousands(r.rows_rejected - 10).c_str(),
                   a.rejects.empty() ? " (write them all with --rejects FILE)" : "");
    }
  }
  return kExitOk;
}

// ---- query / count / explain ----------------------------------------------------

int RunQuery(const std::string& dir, const std::string& text, uint64_t limit, bool json,
             uint32_t threads) {
  if (IsShardedDir(dir)) return RunShardedQuery(dir, text, limit, json, threads);
  auto index = OpenForReading(dir);
  if (!index.ok()) return ReportError(index.status());
  const auto start = Clock::now();
  absl::StatusOr<Segment> segment = (*index)->Query(text);
  const double seconds = Since(start);
  if (!segment.ok()) return ReportError(segment.status());
  const uint64_t count = segment->Count();
  const uint64_t shown = limit == 0 ? count : std::min(limit, count);
  if (json)
    std::printf("{\"query\":%s,\"count\":%llu,\"seconds\":%.6f,\"keys\":[",
                JsonString(text).c_str(), static_cast<unsigned long long>(count), seconds);
  std::optional<RowId> after;
  uint64_t printed = 0;
  while (printed < shown) {
    absl::StatusOr<std::vector<RowId>> paged =
        segment->PageAfter(after, std::min<uint64_t>(65536, shown - printed));
    if (!paged.ok()) return ReportError(paged.status());
    const std::vector<RowId>& page = *paged;
    if (page.empty()) break;
    after = page.back();
    absl::StatusOr<std::vector<CustomerKey>> keys = segment->KeysOf(page);
    if (!keys.ok()) return ReportError(keys.status());
    std::string out;
    for (const CustomerKey& k : *keys) {
      if (json) {
        absl::StrAppend(&out, printed++ ? "," : "", KeyJson(k));
      } else {
        absl::StrAppend(&out, KeyText(k), "\n");
        ++printed;
      }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  if (json) {
    std::printf("]}\n");
  } else {
    std::fprintf(
        stderr, "%s customers (%s)%s\n", Thousands(count).c_str(), Duration(seconds).c_str(),
        shown < count ? absl::StrCat("; first ", Thousands(shown), " shown (--limit)").c_str()
                      : "");
  }
  return kExitOk;
}

int RunCount(const std::string& dir, const std::string& text, bool json, uint32_t threads) {
  if (IsShardedDir(dir)) return RunShardedCount(dir, text, json, threads);
  auto index = OpenForReading(dir);
  if (!index.ok()) return ReportError(index.status());
  const auto start = Clock::now();
  absl::StatusOr<uint64_t> count = (*index)->Count(text);
  const double seconds = Since(start);
  if (!count.ok()) return ReportError(count.status());
  if (json) {
    std::printf("{\"query\":%s,\"count\":%llu,\"seconds\":%.6f}\n", JsonString(text).c_str(),
                static_cast<unsigned long long>(*count), seconds);
  } else {
    std::printf("%llu\n", static_cast<unsigned long long>(*count));
    std::fprintf(stderr, "(%s)\n", Duration(seconds).c_str());
  }
  return kExitOk;
}

std::string ExplainNodeJson(const ExplainNode& n) {
  std::string out =
      absl::StrCat("{\"operation\":", JsonString(n.operation), ",\"detail\":", JsonString(n.detail),
                   ",\"subtracted\":", n.subtracted ? "true" : "false",
                   ",\"estimated\":", n.estimated, ",\"executed\":", n.executed ? "true" : "false",
                   ",\"actual\":", n.actual, ",\"nanos\":", n.nanos, ",\"children\":[");
  for (size_t i = 0; i < n.children.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", ExplainNodeJson(n.children[i]));
  }
  return out + "]}";
}

std::string ExplanationJson(const Explanation& e) {
  return absl::StrCat("{\"query\":", JsonString(e.query),
                      ",\"normal_form\":", JsonString(e.normal_form), ",\"count\":", e.count,
                      ",\"compile_nanos\":", e.compile_nanos, ",\"plan_nanos\":", e.plan_nanos,
                      ",\"execute_nanos\":", e.execute_nanos, ",\"plan\":", ExplainNodeJson(e.root),
                      "}");
}

int RunExplain(const std::string& dir, const std::string& text, bool json, uint32_t threads) {
  if (IsShardedDir(dir)) return RunShardedExplain(dir, text, json, threads);
  auto index = OpenForReading(dir);
  if (!index.ok()) return ReportError(index.status());
  absl::StatusOr<Explanation> e = (*index)->Explain(text);
  if (!e.ok()) return ReportError(e.status());
  if (json) {
    std::printf("%s\n", ExplanationJson(*e).c_str());
  } else {
    std::printf("%s", e->ToString().c_str());
    if (!e->ToString().empty() && e->ToString().back() != '\n') std::printf("\n");
  }
  return kExitOk;
}

// ---- stats / tags -------------------------------------------------------------------

std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0.00%";
  return absl::StrFormat("%.2f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

int RunStats(const std::string& dir, bool json) {
  auto index = OpenForReading(dir);
  if (!index.ok()) return ReportError(index.status());
  const Index& ix = **index;
  const uint64_t customers = ix.CustomerCount();
  absl::StatusOr<std::vector<TagInfo>> tags_or = ix.ListTags();
  if (!tags_or.ok()) return ReportError(tags_or.status());
  std::vector<TagInfo> tags = *std::move(tags_or);
  absl::StatusOr<std::vector<CategoryInfo>> categories_or = ix.ListCategories();
  if (!categories_or.ok()) return ReportError(categories_or.status());
  std::vector<CategoryInfo> categories = *std::move(categories_or);
  auto exclusive = [&](const std::string& name) {
    for (const CategoryInfo& c : categories) {
      if (c.name == name) return c.exclusive;
    }
    return false;
  };
  if (json) {
    std::string out =
        absl::StrCat("{\"customers\":", customers, ",\"tags\":", tags.size(), ",\"categories\":[");
    std::string current;
    bool open = false;
    uint64_t sum = 0;
    auto close = [&]() {
      if (open) absl::StrAppend(&out, "],\"assigned\":", sum, "}");
    };
    for (size_t i = 0; i < tags.size(); ++i) {
      const TagInfo& t = tags[i];
      if (!open || t.category != current) {
        close();
        absl::StrAppend(&out, open ? "," : "", "{\"name\":", JsonString(t.category),
                        ",\"exclusive\":", exclusive(t.category) ? "true" : "false", ",\"tags\":[");
        open = true;
        current = t.category;
        sum = 0;
      } else {
        out += ",";
      }
      sum += t.count;
      absl::StrAppend(&out, "{\"name\":", JsonString(t.name), ",\"count\":", t.count,
                      absl::StrFormat(",\"coverage\":%.6f",
                                      customers ? static_cast<double>(t.count) / customers : 0.0),
                      "}");
    }
    close();
    out += "]}";
    std::printf("%s\n", out.c_str());
    return kExitOk;
  }
  std::printf("customers: %s   tags: %s   categories: %s\n\n", Thousands(customers).c_str(),
              Thousands(tags.size()).c_str(), Thousands(categories.size()).c_str());
  Table table({"category", "tag", "customers", "coverage"}, {false, false, true, true});
  std::string current = "\x01";
  uint64_t sum = 0;
  auto subtotal = [&]() {
    if (current != "\x01" && exclusive(current)) {
      table.Add({"", "(any value)", Thousands(sum), Percent(sum, customers)});
    }
  };
  for (const TagInfo& t : tags) {
    if (t.category != current) {
      subtotal();
      current = t.category;
      sum = 0;
    }
    sum += t.count;
    std::string category = t.category.empty() ? "(none)" : t.category;
    if (exclusive(t.category)) category += " (exclusive)";
    table.Add({category, t.name, Thousands(t.count), Percent(t.count, customers)});
  }
  subtotal();
  table.Print(stdout);
  return kExitOk;
}

// The attribute columns with their summary over all customers or a segment.
int RunAttributes(const std::string& dir, const std::string& where, bool json) {
  auto index = OpenForReading(dir);
  if (!index.ok()) return ReportError(index.status());
  const Index& ix = **index;
  std::optional<Segment> segment;
  if (!where.empty()) {
    absl::StatusOr<Segment> s = ix.Query(where);
    if (!s.ok()) return ReportError(s.status());
    segment = *std::move(s);
  }
  std::string out = json ? "[" : "";
  Table table({"attribute", "type", "values", "min", "max", "mean"},
              {false, false, true, true, true, true});
  absl::StatusOr<std::vector<AttributeInfo>> attrs_or = ix.ListAttributes();
  if (!attrs_or.ok()) return ReportError(attrs_or.status());
  const std::vector<AttributeInfo> attrs = *std::move(attrs_or);
  for (size_t i = 0; i < attrs.size(); ++i) {
    const AttributeInfo& a = attrs[i];
    absl::StatusOr<AttributeSummary> sum =
        ix.SummarizeAttribute(a.name, segment ? &*segment : nullptr);
    if (!sum.ok()) return ReportError(sum.status());
    auto format = [&](std::optional<int64_t> v) -> std::string {
      if (!v) return "";
      absl::StatusOr<std::string> text = ix.FormatAttributeValue(a.name, *v);
      return text.ok() ? *text : absl::StrCat(*v);
    };
    // The mean in the column's unit: a decimal's scaled integers and a
    // date's days are shown as values (a date's mean rounds to a day).
    std::string mean;
    if (sum->count > 0) {
      if (a.type == AttributeType::kInt64) {
        mean = absl::StrFormat("%.4f", sum->mean);
      } else if (a.type == AttributeType::kDecimal) {
        double unit = 1;
        for (int k = 0; k < a.scale; ++k) unit *= 10;
        mean = absl::StrFormat("%.*f", a.scale + 2, sum->mean / unit);
      } else {
        mean = format(static_cast<int64_t>(std::llround(sum->mean)));
      }
    }
    const std::string type = AttributeTypeText(a.type, a.scale);
    if (json) {
      absl::StrAppend(&out, i ? "," : "", "{\"name\":", JsonString(a.name),
                      ",\"type\":", JsonString(type), ",\"count\":", sum->count,
                      ",\"min\":", sum->min ? JsonString(format(sum->min)) : "null",
                      ",\"max\":", sum->max ? JsonString(format(sum->max)) : "null",
                      ",\"mean\":", sum->count ? JsonString(mean) : "null", "}");
    } else {
      table.Add({a.name, type, Thousands(sum->count), format(sum->min), format(sum->max), mean});
    }
  }
  if (json) {
    std::printf("%s]\n", out.c_str());
    return kExitOk;
  }
  if (attrs.empty()) {
    std::printf("no attribute columns\n");
    return kExitOk;
  }
  table.Print(stdout);
  return kExitOk;
}

int RunTags(const std::string& dir, bool json) {
  if (IsShardedDir(dir)) return RunShardedTags(dir, json);
  auto index = OpenForReading(dir);
  if (!index.ok()) return ReportError(index.status());
  absl::StatusOr<std::vector<TagInfo>> tags_or = (*index)->ListTags();
  if (!tags_or.ok()) return ReportError(tags_or.status());
  std::vector<TagInfo> tags = *std::move(tags_or);
  absl::StatusOr<std::vector<CategoryInfo>> categories_or = (*index)->ListCategories();
  if (!categories_or.ok()) return ReportError(categories_or.status());
  std::vector<CategoryInfo> categories = *std::move(categories_or);
  return PrintTagList(tags, categories, json);
}

// ---- export -------------------------------------------------------------------------

int RunExport(const std::string& dir, const std::string& text, const std::string& columns_arg,
              const std::string& output, bool header) {
  auto index = OpenForReading(dir);
  if (!index.ok()) return ReportError(index.status());
  std::vector<std::string> columns;
  if (!columns_arg.empty()) columns = absl::StrSplit(columns_arg, ',');
  std::vector<std::vector<RowId>> members;
  for (std::string& c : columns) {
    c = std::string(absl::StripAsciiWhitespace(c));
    absl::StatusOr<TagId> tag = FindTagByText(**index, c);
    if (!tag.ok()) return ReportError(tag.status());
    absl::StatusOr<std::vector<RowId>> rows = (*index)->RowsWithTag(*tag);
    if (!rows.ok()) return ReportError(rows.status());
    members.push_back(std::move(*rows));
  }
  absl::StatusOr<Segment> segment = (*index)->Query(text);
  if (!segment.ok()) return ReportError(segment.status());
  std::FILE* out = stdout;
  std::FILE* file = nullptr;
  if (!output.empty() && output != "-") {
    file = std::fopen(output.c_str(), "wb");
    if (file == nullptr) {
      return ReportError(absl::InvalidArgumentError(absl::StrCat("export: cannot write ", output)));
    }
    out = file;
  }
  std::string buffer;
  if (header) {
    buffer = "key";
    for (const std::string& c : columns) absl::StrAppend(&buffer, ",", CsvField(c));
    buffer += "\n";
  }
  std::vector<size_t> cursor(members.size(), 0);
  std::optional<RowId> after;
  uint64_t written = 0;
  bool io_error = false;
  while (true) {
    absl::StatusOr<std::vector<RowId>> paged = segment->PageAfter(after, 65536);
    if (!paged.ok()) {
      if (file) std::fclose(file);
      return ReportError(paged.status());
    }
    const std::vector<RowId>& page = *paged;
    if (page.empty()) break;
    after = page.back();
    absl::StatusOr<std::vector<CustomerKey>> keys = segment->KeysOf(page);
    if (!keys.ok()) {
      if (file) std::fclose(file);
      return ReportError(keys.status());
    }
    for (size_t i = 0; i < page.size(); ++i) {
      buffer += CsvField(KeyText((*keys)[i]));
      for (size_t c = 0; c < members.size(); ++c) {
        const std::vector<RowId>& m = members[c];
        size_t& k = cursor[c];
        while (k < m.size() && m[k] < page[i]) ++k;
        buffer += (k < m.size() && m[k] == page[i]) ? ",1" : ",0";
      }
      buffer += "\n";
    }
    written += page.size();
    if (std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) io_error = true;
    buffer.clear();
  }
  if (!buffer.empty() && std::fwrite(buffer.data(), 1, buffer.size(), out) != buffer.size()) {
    io_error = true;
  }
  if (std::fflush(out) != 0) io_error = true;
  if (file && std::fclose(file) != 0) io_error = true;
  if (io_error) {
    return ReportError(absl::InternalError(
        absl::StrCat("export: writing ", output.empty() ? "stdout" : output, " failed")));
  }
  std::fprintf(stderr, "exported %s customers\n", Thousands(written).c_str());
  return kExitOk;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"tagindex — a columnar tag index for CRM customer tagging and segment selection."};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  tagindex demo                                  # a 1 M-customer shop in memory, 12 "
      "segment queries\n"
      "  tagindex import ./idx customers.csv --key 客户ID --key-kind int64 \\\n"
      "      --tag 高价值客户 --multi 兴趣=兴趣爱好类 --category 城市\n"
      "  tagindex count ./idx '高价值客户 AND 电子产品 AND NOT 流失风险'\n"
      "  tagindex export ./idx '城市 = 上海' --columns 高价值客户 -o shanghai.csv\n"
      "  tagindex shell ./idx\n"
      "Exit codes: 0 ok, 1 user error (arguments, query, input), 2 internal or I/O error."
      "\n");

  int result = kExitOk;

  // import
  ImportArgs ia;
  CLI::App* import = app.add_subcommand("import", "Import customers and tags from a CSV file");
  import->add_option("dir", ia.dir, "index directory (created if missing)")->required();
  import->add_option("file", ia.file, "CSV file (RFC 4180, UTF-8, header required)")->required();
  import->add_option("--key", ia.key, "the customer key column");
  import->add_option("--key-kind", ia.key_kind, "int64 | string | identity (required)");
  import->add_option("--tag", ia.tags, "boolean tag column: COL or COL=TAGNAME (repeatable)");
  import->add_option("--tag-category", ia.tag_category, "category of the --tag tags");
  import->add_option("--multi", ia.multi,
                     "multi-value tag column: COL or COL=CATEGORY (repeatable)");
  import->add_option("--separator", ia.separator, "separator inside --multi cells")
      ->capture_default_str();
  import->add_option("--category", ia.categories,
                     "categorical column as an exclusive category: COL or COL=CATEGORY");
  import->add_option("--attribute", ia.attributes,
                     "numeric/decimal/date column: COL[=NAME][:TYPE], TYPE int64 | "
                     "decimal(SCALE) | date (created when missing; repeatable)");
  import->add_option("--delimiter", ia.delimiter, "CSV field separator (one byte)")
      ->capture_default_str();
  import->add_flag("--strict", ia.strict, "stop at the first bad row (exit 1)");
  import->add_flag("--replace", ia.replace,
                   "rows state the whole truth for the mapped columns (see import.h): false "
                   "cells untag, empty category cells clear, unlisted multi tags are removed");
  import->add_option("--rejects", ia.rejects, "write every rejected row here, as CSV with reason");
  import->add_option("--batch-rows", ia.batch_rows, "rows per committed batch")
      ->capture_default_str();
  import
      ->add_option("--threads", ia.threads,
                   "1: read and commit on one thread; 2: commit each batch while the next "
                   "is read; 0: 2 on a machine with two or more cores (same result either way)")
      ->capture_default_str()
      ->check(CLI::Range(0, 2));
  import->add_flag("--json", ia.json, "print the report as JSON on stdout");
  import->add_flag("--no-progress", ia.no_progress, "no progress bar (none without a terminal)");
  import->add_option("--mapping", ia.mapping,
                     "TOML file with the mapping: key = \"客户ID\", key-kind = \"int64\", "
                     "tag = [\"a\", \"b=B\"], multi, category, attribute, separator, tag-category, "
                     "delimiter, strict, replace (command-line flags win)");
  import->footer(
      "Examples:\n"
      "  tagindex import ./idx customers.csv --key 客户ID --key-kind int64 \\\n"
      "      --tag 高价值客户 --tag vip=VIP客户 --multi 标签 --separator '|' \\\n"
      "      --category 城市 --category 等级=会员等级 --rejects bad.csv \\\n"
      "      --attribute '消费金额:decimal(2)' --attribute 最近购买:date\n"
      "  tagindex import ./idx customers.csv --mapping mapping.toml --strict\n"
      "Merge (default): rows only add tags; a category value replaces the previous value.\n"
      "Re-importing the same file is idempotent. Rejected rows are listed with file:line: "
      "reason.\n");
  import->callback([&]() { result = RunImport(ia);
});

// query / count / explain
std::string dir, text;
uint64_t limit = 0;
bool json = false;
uint32_t threads = 0;
const char* kThreadsHelp = "sharded index: threads of the query pool (0 = all cores)";
CLI::App* query = app.add_subcommand("query", "Print the customer keys of a segment");
query->add_option("dir", dir, "index directory")->required();
query->add_option("query", text, "segment query (docs/query_language.md)")->required();
query->add_option("--limit", limit, "print at most this many keys (0 = all)");
query->add_flag("--json", json, "JSON: {query, count, seconds, keys}");
query->footer(
    "Examples:\n  tagindex query ./idx '高价值客户 AND NOT 流失风险' --limit 10\n"
    "  tagindex query ./idx '城市 IN (上海, 杭州)' --json"
    "\n");
query->add_option("--threads", threads, kThreadsHelp);
query->callback([&]() { result = RunQuery(dir, text, limit, json, threads); });

CLI::App* count = app.add_subcommand("count", "Print the number of customers in a segment");
count->add_option("dir", dir, "index directory")->required();
count->add_option("query", text, "segment query")->required();
count->add_flag("--json", json, "JSON: {query, count, seconds}");
count->footer(
    "Example:\n  tagindex count ./idx '高价值客户 且 电子产品 且 非 流失风险'"
    "\n");
count->add_option("--threads", threads, kThreadsHelp);
count->callback([&]() { result = RunCount(dir, text, json, threads); });

CLI::App* explain = app.add_subcommand("explain", "Show a query's plan, estimated vs actual");
explain->add_option("dir", dir, "index directory")->required();
explain->add_option("query", text, "segment query")->required();
explain->add_flag("--json", json, "the plan as JSON");
explain->footer(
    "Example:\n  tagindex explain ./idx '(电子产品 OR 图书音像) AND 城市 = 北京'"
    "\n");
explain->add_option("--threads", threads, kThreadsHelp);
explain->callback([&]() { result = RunExplain(dir, text, json, threads); });

CLI::App* stats = app.add_subcommand("stats", "Customers per category and tag, with coverage");
stats->add_option("dir", dir, "index directory")->required();
stats->add_flag("--json", json, "JSON: {customers, tags, categories: [...]}");
stats->footer(
    "Example:\n  tagindex stats ./idx"
    "\n");
stats->callback([&]() { result = RunStats(dir, json); });

CLI::App* tags = app.add_subcommand("tags", "The tag catalog");
tags->add_option("dir", dir, "index directory")->required();
tags->add_flag("--json", json, "JSON array of tags");
tags->footer(
    "Example:\n  tagindex tags ./idx --json"
    "\n");
tags->callback([&]() { result = RunTags(dir, json); });

std::string where;
CLI::App* attributes =
    app.add_subcommand("attributes", "Attribute columns: type, values, min, max, mean");
attributes->add_option("dir", dir, "index directory")->required();
attributes->add_option("--where", where, "summarise over this segment instead of everyone");
attributes->add_flag("--json", json, "JSON array of columns");
attributes->footer(
    "Examples:\n  tagindex attributes ./idx\n"
    "  tagindex attributes ./idx --where '高价值客户 AND 城市 = 杭州'"
    "\n");
attributes->callback([&]() { result = RunAttributes(dir, where, json); });

std::string columns, output;
bool no_header = false;
CLI::App* exp = app.add_subcommand("export", "Write a segment's customer keys as CSV");
exp->add_option("dir", dir, "index directory")->required();
exp->add_option("query", text, "segment query")->required();
exp->add_option("--columns", columns, "tags to add as 0/1 columns: a,b,category:c");
exp->add_option("-o,--output", output, "output file (default stdout)");
exp->add_flag("--no-header", no_header, "omit the header line");
exp->footer(
    "Examples:\n  tagindex export ./idx '流失风险 AND 高价值客户' -o winback.csv\n"
    "  tagindex export ./idx ALL --columns 高价值客户,电子产品 | head"
    "\n");
exp->callback([&]() { result = RunExport(dir, text, columns, output, !no_header); });

CLI::App* check = app.add_subcommand("check", "Open an index, validate everything, report");
check->add_option("dir", dir, "index directory")->required();
check->add_flag("--json", json, "JSON report");
check->footer(
    "Example:\n  tagindex check ./idx && echo healthy"
    "\n");
check->callback([&]() { result = RunCheck(dir, json); });

std::string backup_dest;
CLI::App* backup = app.add_subcommand("backup", "Write a consistent copy of an index, even in use");
backup->add_option("dir", dir, "index directory (opened read-only; a writer may be using it)")
    ->required();
backup->add_option("dest", backup_dest, "new directory for the copy (must not hold an index)")
    ->required();
backup->add_flag("--json", json, "JSON report");
backup->footer(
    "Example:\n  tagindex backup /var/lib/crm/tags /backup/tags-$(date +%F) && "
    "tagindex check /backup/tags-$(date +%F)"
    "\n");
backup->callback([&]() { result = RunBackup(dir, backup_dest, json); });

DemoArgs da;
CLI::App* demo = app.add_subcommand("demo", "Build a synthetic shop and run segment queries");
demo->add_option("--customers", da.customers, "number of customers")->capture_default_str();
demo->add_option("--dir", da.dir, "build it in this (new) index directory, not in memory");
demo->add_option("--seed", da.seed, "random seed")->capture_default_str();
demo->add_option("--repeat", da.repeat, "runs per query; the median is shown")
    ->capture_default_str();
demo->add_flag("--json", da.json, "JSON report");
demo->footer(
    "Examples:\n  tagindex demo\n  tagindex demo --customers 10000000 --dir ./shop\n"
    "  tagindex shell ./shop"
    "\n");
demo->callback([&]() { result = RunDemo(da); });

ShellArgs sa;
CLI::App* shell = app.add_subcommand("shell", "Interactive query prompt (\\help inside)");
shell->add_option("dir", sa.dir, "index directory (omit with --demo)");
shell->add_option("--demo", sa.demo_customers, "use an in-memory demo shop of N customers");
shell->add_option("--history", sa.history, "history file (default ~/.tagindex_history)");
shell->footer(
    "Examples:\n  tagindex shell ./idx\n  echo '高价值客户 AND 电子产品' | tagindex "
    "shell ./idx\n  tagindex shell --demo 100000\nInside: a query prints its count; "
    "\\explain Q, \\keys Q, \\tags, \\timing, \\help, \\q."
    "\n");
shell->callback([&]() { result = RunShell(sa); });

AddAnalyticsCommands(app, result);
AddSegmentCommands(app, result);
AddRuleCommands(app, result);
// shard: sharded indexes (include/tagindex/sharded_index.h, docs/sharding.md).
// query / count / explain / tags accept a sharded directory as it is.
CLI::App* shard =
    app.add_subcommand("shard", "Sharded indexes: split an index, reshard, show shards");
shard->require_subcommand(1);
ShardSplitArgs ssa;
CLI::App* split = shard->add_subcommand("split", "Copy an index into a new sharded index");
split->add_option("source", ssa.source, "index directory to copy")->required();
split->add_option("dir", ssa.dir, "new sharded index directory")->required();
split->add_option("--shards", ssa.shards, "number of shards (1..4096)")->capture_default_str();
split->add_option("--rows-per-shard", ssa.rows_per_shard,
                  "identity keys: keys per shard range (0 = the row space split evenly)");
split->add_option("--threads", ssa.threads, "threads writing shards (0 = all cores)");
split->add_flag("--json", ssa.json, "JSON report");
split->footer(
    "Example:\n  tagindex shard split ./idx ./idx8 --shards 8\n"
    "  tagindex count ./idx8 '高价值客户 AND 电子产品 AND NOT 流失风险'\n"
    "Customers are routed by XXH3 of the key (identity keys by row range); the catalog\n"
    "is the same in every shard (docs/sharding.md).\n");
split->callback([&]() { result = RunShardSplit(ssa); });
ShardReshardArgs sra;
CLI::App* reshard = shard->add_subcommand(
    "reshard", "Copy a sharded index into a new one with another shard count");
reshard->add_option("source", sra.source, "sharded index directory (only read)")->required();
reshard->add_option("dest", sra.dest, "new sharded index directory")->required();
reshard->add_option("--shards", sra.shards, "number of shards of the new index (1..4096)")
    ->required();
reshard->add_option("--rows-per-shard", sra.rows_per_shard,
                    "identity keys: keys per shard range (0 = the source's key space split "
                    "evenly)");
reshard->add_option("--threads", sra.threads, "threads (0 = all cores)");
reshard->add_flag("--json", sra.json, "JSON report");
reshard->footer(
    "Example:\n  tagindex shard reshard ./idx8 ./idx16 --shards 16\n"
    "Every customer, category, tag and attribute value is copied; SOURCE is never\n"
    "written. DEST is built in DEST.reshard-tmp and renamed when durable, so it is\n"
    "complete or absent after a crash.\n");
reshard->callback([&]() { result = RunShardReshard(sra); });
std::string shard_dir;
CLI::App* info = shard->add_subcommand("info", "The manifest and the customers of each shard");
info->add_option("dir", shard_dir, "sharded index directory")->required();
info->add_flag("--json", json, "JSON report");
info->footer("Example:\n  tagindex shard info ./idx8\n");
info->callback([&]() { result = RunShardInfo(shard_dir, json); });

// --json asks for errors as JSON too (every subcommand's flag has that
// name; the callbacks report errors while CLI11 parses).
for (int i = 1; i < argc; ++i) {
  const std::string_view arg(argv[i]);
  if (arg == "--") break;
  if (arg == "--json") SetJsonErrors(true);
}
try {
  app.parse(argc, argv);
} catch (const CLI::CallForHelp& e) {
  return app.exit(e);
} catch (const CLI::CallForAllHelp& e) {
  return app.exit(e);
} catch (const CLI::ParseError& e) {
  app.exit(e);
  return kExitUser;
}
return result;
}  // namespace tagindex::cli

}  // namespace tagindex::cli

int main(int argc, char** argv) {
  try {
    return tagindex::cli::Main(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tagindex: error: out of memory\n");
    return tagindex::cli::kExitInternal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tagindex: internal error: %s\n", e.what());
    return tagindex::cli::kExitInternal;
  }
}
