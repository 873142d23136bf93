#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "index/names.h"
#include "tagindex/import.h"
#include "tagindex/index.h"
#include "tagindex/write_batch.h"
#include "util/error_info.h"
#include "util/status_macros.h"
#include "util/utf8.h"

namespace tagindex {
namespace {
// absl::string_view is not std::string_view in Debian's Abseil.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }
std::string_view S(absl::string_view s) { return std::string_view(s.data(), s.size()); }
}  // namespace

std::string RejectedRow::ToString() const {
  std::string out = absl::StrCat(file, ":", line, ": ");
  if (!column.empty()) absl::StrAppend(&out, "column ", internal::Quote(column), ": ");
  absl::StrAppend(&out, reason);
  return out;
}

bool ParseImportBool(std::string_view text, bool* ok) {
  *ok = true;
  std::string_view t = S(absl::StripAsciiWhitespace(A(text)));
  if (t.empty()) return false;
  if (t == "是" || t == "✓" || t == "√") return true;
  if (t == "否") return false;
  if (t.size() <= 5) {
    char lower[6] = {};
    for (size_t i = 0; i < t.size(); ++i) lower[i] = absl::ascii_tolower(t[i]);
    std::string_view l(lower, t.size());
    if (l == "1" || l == "true" || l == "yes" || l == "y" || l == "t") return true;
    if (l == "0" || l == "false" || l == "no" || l == "n" || l == "f") return false;
  }
  *ok = false;
  return false;
}

namespace {

using Clock = std::chrono::steady_clock;

std::string AttributeTypeName(AttributeType type, int scale) {
  switch (type) {
    case AttributeType::kInt64:
      return "int64";
    case AttributeType::kDecimal:
      return absl::StrCat("decimal(", scale, ")");
    case AttributeType::kDate:
      return "date";
  }
  return "?";
}

// Sequence numbers order the operations of a batch: within a row, a
// multi-tag "clear" (replace) comes before the row's own cells.
inline uint64_t SeqOf(uint32_t batch_row, bool clear) {
  return (uint64_t{batch_row} << 1) | (clear ? 0 : 1);
}

struct TagOp {
  uint64_t seq;
  bool add;
};

struct CategoryState {
  std::string name;
  std::vector<TagId> tags;  // every tag of the category (for clears)
};

class Importer {
  static constexpr uint32_t kNoTag = 0xFFFFFFFFu;

  struct BoolCol {
    size_t index = 0;
    TagId tag;
  };
  struct MultiCol {
    size_t index = 0;
    std::string separator;
    std::string category;
    bool qualified_names = false;
    absl::flat_hash_map<std::string, TagId> cache;
    CategoryState* state = nullptr;  // replace only
  };
  struct CategoryCol {
    size_t index = 0;
    std::string category;
    absl::flat_hash_map<std::string, TagId> cache;
    CategoryState* state = nullptr;
  };
  struct AttrCol {
    size_t index = 0;
    std::string name;
    AttributeId id;
  };
  struct StagedTag {
    bool has_removes = false;
    std::vector<TagOp> ops;
  };
  // The rows staged for one WriteBatch.
  struct Batch {
    uint32_t rows = 0;
    std::vector<int64_t> int_keys;
    std::string string_keys;
    std::vector<size_t> string_key_bounds;
    absl::flat_hash_map<uint32_t, StagedTag> staged;
    std::vector<std::vector<uint32_t>> multi_clears;  // per multi column: batch rows (replace)
    std::vector<std::vector<TagId>> multi_tags;       // per multi column: its tags (replace)
    // Per category column: (batch row, tag value), and the category's tags.
    std::vector<std::vector<std::pair<uint32_t, uint32_t>>> cat_values;
    std::vector<std::vector<TagId>> cat_tags;
    // Per attribute column: (batch row, value).
    std::vector<std::vector<std::pair<uint32_t, std::optional<int64_t>>>> attr_values;
    // Commit scratch.
    std::vector<uint32_t> customer;  // batch row -> customer of the batch
    std::vector<int64_t> int_distinct;
    std::vector<std::string_view> string_distinct;

    void Clear() {
      rows = 0;
      int_keys.clear();
      string_keys.clear();
      string_key_bounds.clear();
      staged.clear();
      for (auto& v : multi_clears) v.clear();
      for (auto& v : cat_values) v.clear();
      for (auto& v : attr_values) v.clear();
    }
  };
  // What the committed batches did (written by the committer only).
  struct Committed {
    uint64_t rows_imported = 0;
    uint64_t customers_added = 0;
    uint64_t tag_assignments = 0;
    uint64_t tag_removals = 0;
    uint64_t attribute_values = 0;
    uint64_t attribute_clears = 0;
  };

 public:
  Importer(Index& index, CsvReader& reader, const ImportMapping& mapping,
           const ImportOptions& options)
      : index_(index), reader_(reader), mapping_(mapping), options_(options) {}

  ~Importer() {
    if (!worker_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;  // the worker commits what is queued, then ends
    }
    work_cv_.notify_all();
    worker_.join();
  }

  absl::StatusOr<ImportReport> Run() {
    start_ = Clock::now();
    threads_ = options_.threads != 0 ? options_.threads
                                     : (std::thread::hardware_concurrency() >= 2 ? 2u : 1u);
    report_.file = reader_.name();
    report_.bytes = reader_.total_bytes();
    TI_RETURN_IF_ERROR(ReadHeader());
    TI_RETURN_IF_ERROR(PrepareColumns());
    for (Batch& b : batches_) {
      b.multi_clears.resize(multi_cols_.size());
      b.multi_tags.resize(multi_cols_.size());
      b.cat_values.resize(category_cols_.size());
      b.cat_tags.resize(category_cols_.size());
      b.attr_values.resize(attr_cols_.size());
    }
    for (size_t i = 1; i < kBatches; ++i) free_.push_back(&batches_[i]);
    if (threads_ >= 2) {
      // (std::thread reports a failure to start by throwing; then this
      // thread commits.)
      try {
        worker_ = std::thread([this] { WorkerLoop(); });
      } catch (...) {
        threads_ = 1;
      }
    }
    CsvRecord record;
    uint64_t next_progress = options_.progress_every_rows;
    while (true) {
      absl::StatusOr<bool> more = reader_.Next(&record);
      if (!more.ok()) {
        ++report_.rows_read;
        TI_RETURN_IF_ERROR(
            Reject(record, "", std::string(StripPrefix(S(more.status().message())))));
        continue;
      }
      if (!*more) break;
      ++report_.rows_read;
      TI_RETURN_IF_ERROR(Row(record));
      if (cur_->rows >= options_.batch_rows) TI_RETURN_IF_ERROR(Commit());
      if (options_.on_progress && report_.rows_read >= next_progress) {
        next_progress = report_.rows_read + options_.progress_every_rows;
        Progress();
      }
    }
    TI_RETURN_IF_ERROR(Commit());
    TI_RETURN_IF_ERROR(Flush());
    report_.rows_imported = committed_.rows_imported;
    report_.customers_added = committed_.customers_added;
    report_.tag_assignments = committed_.tag_assignments;
    report_.tag_removals = committed_.tag_removals;
    report_.attribute_values = committed_.attribute_values;
    report_.attribute_clears = committed_.attribute_clears;
    report_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    if (options_.on_progress) Progress();
    return std::move(report_);
  }

 private:
  // The reader's messages begin "csv: FILE: line L, column C: "; a reject
  // already names the file and line, so keep "column C: problem".
  static std::string_view StripPrefix(std::string_view message) {
    size_t at = message.find(": line ");
    if (at == std::string_view::npos) return message;
    size_t comma = message.find(", ", at);
    if (comma == std::string_view::npos) return message;
    return message.substr(comma + 2);
  }

  void Progress() {
    ImportProgress p;
    p.bytes_done = reader_.bytes_consumed();
    p.bytes_total = reader_.total_bytes();
    p.rows_done = report_.rows_read;
    p.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    options_.on_progress(p);
  }

  // A mapping or header error: InvalidArgument, kind bad_value, `subject`
  // the column, category, attribute or option at fault.
  static absl::Status Bad(std::string_view subject, std::string_view message) {
    return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, subject, message);
  }
  // The same about the file itself (its path in `path`).
  absl::Status BadFile(std::string_view message) const {
    ErrorInfo info = util::Info(ErrorKind::kBadValue, reader_.name());
    info.path = reader_.name();
    return util::Error(absl::StatusCode::kInvalidArgument, message, info);
  }
  // A mapping error caused by an index call: the call's own ErrorInfo (a bad
  // name, a limit) when it has one, else bad_value about `subject`.
  static absl::Status BadWith(const absl::Status& cause, std::string_view subject,
                              std::string_view message) {
    absl::Status out = Bad(subject, message);
    if (std::optional<ErrorInfo> info = GetErrorInfo(cause)) {
      out = util::Error(absl::StatusCode::kInvalidArgument, message, *info);
    }
    return out;
  }

  absl::Status ReadHeader() {
    CsvRecord header;
    absl::StatusOr<bool> more = reader_.Next(&header);
    if (!more.ok()) {
      return util::WithMessage(more.status(),
                               absl::StrCat("import: malformed header: ", more.status().message()));
    }
    if (!*more) {
      return BadFile(
          absl::StrCat("import: ", reader_.name(), ": empty file (a header line is required)"));
    }
    if (auto bad = util::FindInvalidUtf8(header.raw)) {
      return BadFile(
          absl::StrCat("import: ", reader_.name(), ": header: invalid UTF-8 at byte ", *bad));
    }
    for (std::string_view f : header.fields) header_.emplace_back(f);
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Column(const std::string& name, const char* role) {
    size_t found = header_.size();
    for (size_t i = 0; i < header_.size(); ++i) {
      if (header_[i] == name) {
        if (found != header_.size()) {
          return Bad(name,
                     absl::StrCat("import: ", reader_.name(), ": column ", internal::Quote(name),
                                  " appears more than once in the header"));
        }
        found = i;
      }
    }
    if (found == header_.size()) {
      std::vector<std::string> quoted;
      for (size_t i = 0; i < header_.size() && i < 30; ++i) {
        quoted.push_back(internal::Quote(header_[i]));
      }
      return Bad(name, absl::StrCat("import: ", reader_.name(), ": ", role, " column ",
                                    internal::Quote(name), " is not in the header (columns: ",
                                    absl::StrJoin(quoted, ", "), ")"));
    }
    if (!used_.insert(found).second) {
      return Bad(name, absl::StrCat("import: column ", internal::Quote(name),
                                    " is mapped more than once"));
    }
    return found;
  }

  absl::StatusOr<TagId> FindOrCreateTag(const std::string& category, std::string_view name) {
    absl::StatusOr<TagId> tag = index_.FindTag(category, name);
    if (tag.ok()) return tag;
    if (!absl::IsNotFound(tag.status())) return tag.status();
    TagSpec spec;
    spec.name = std::string(name);
    spec.category = category;
    TI_ASSIGN_OR_RETURN(TagId created, index_.CreateTag(spec));
    ++report_.tags_created;
    if (auto it = categories_.find(category); it != categories_.end()) {
      it->second.tags.push_back(created);
    }
    return created;
  }

  absl::Status PrepareColumns() {
    const KeyKind kind = index_.options().key_kind;
    if (mapping_.key_kind != kind) {
      auto name = [](KeyKind k) {
        return k == KeyKind::kInt64 ? "int64" : k == KeyKind::kString ? "string" : "identity";
      };
      return Bad("key_kind", absl::StrCat("import: the mapping declares ", name(mapping_.key_kind),
                                          " keys but the index "
                                          "has ",
                                          name(kind), " keys"));
    }
    if (mapping_.key_column.empty()) {
      return Bad("key_column", "import: the mapping names no key column");
    }
    TI_ASSIGN_OR_RETURN(key_column_, Column(mapping_.key_column, "key"));
    // Categories known to the index, with their tags (for replace clears).
    absl::flat_hash_map<std::string, bool> exclusive;
    TI_ASSIGN_OR_RETURN(std::vector<CategoryInfo> known, index_.ListCategories());
    for (const CategoryInfo& c : known) exclusive[c.name] = c.exclusive;

    for (const ImportCategoryColumn& c : mapping_.categories) {
      CategoryCol col;
      TI_ASSIGN_OR_RETURN(col.index, Column(c.column, "category"));
      col.category = c.category.empty() ? c.column : c.category;
      absl::StatusOr<std::string> normal =
          internal::NormalizeName(col.category, "category name", index_.options());
      if (!normal.ok()) return normal.status();
      col.category = *normal;
      auto it = exclusive.find(col.category);
      if (it == exclusive.end()) {
        TI_RETURN_IF_ERROR(index_.CreateCategory(col.category, {.exclusive = true}));
        exclusive[col.category] = true;
      } else if (!it->second) {
        return Bad(c.column,
                   absl::StrCat("import: category column ", internal::Quote(c.column),
                                " maps to category ", internal::Quote(col.category),
                                ", which exists and is not exclusive (a category column needs an "
                                "exclusive category)"));
      }
      for (const CategoryCol& other : category_cols_) {
        if (other.category == col.category) {
          return Bad(col.category, absl::StrCat("import: two category columns map to category ",
                                                internal::Quote(col.category)));
        }
      }
      categories_.try_emplace(col.category, CategoryState{col.category, {}});
      category_cols_.push_back(std::move(col));
    }
    auto check_not_exclusive = [&](const std::string& category,
                                   const std::string& column) -> absl::Status {
      auto it = exclusive.find(category);
      if (it != exclusive.end() && it->second) {
        return Bad(column,
                   absl::StrCat("import: column ", internal::Quote(column),
                                " puts tags in the exclusive category ", internal::Quote(category),
                                "; map it as a category column instead"));
      }
      return absl::OkStatus();
    };
    for (const ImportTagColumn& t : mapping_.tags) {
      BoolCol col;
      TI_ASSIGN_OR_RETURN(col.index, Column(t.column, "tag"));
      TI_RETURN_IF_ERROR(check_not_exclusive(t.category, t.column));
      absl::StatusOr<TagId> tag = FindOrCreateTag(t.category, t.tag.empty() ? t.column : t.tag);
      if (!tag.ok()) {
        return BadWith(tag.status(), t.column,
                       absl::StrCat("import: tag column ", internal::Quote(t.column), ": ",
                                    tag.status().message()));
      }
      col.tag = *tag;
      bool_cols_.push_back(col);
    }
    for (const ImportMultiTagColumn& m : mapping_.multi_tags) {
      MultiCol col;
      TI_ASSIGN_OR_RETURN(col.index, Column(m.column, "multi-tag"));
      if (m.separator.empty()) {
        return Bad(m.column, absl::StrCat("import: multi-tag column ", internal::Quote(m.column),
                                          " has an empty separator"));
      }
      TI_RETURN_IF_ERROR(check_not_exclusive(m.category, m.column));
      if (options_.replace && m.category.empty()) {
        return Bad(m.column,
                   absl::StrCat("import: replace needs a category for multi-tag column ",
                                internal::Quote(m.column), " (its tags must be a closed set)"));
      }
      col.separator = m.separator;
      col.category = m.category;
      col.qualified_names = m.qualified_names && m.category.empty();
      if (options_.replace) {
        absl::StatusOr<std::string> normal =
            internal::NormalizeName(col.category, "category name", index_.options());
        if (!normal.ok()) return normal.status();
        col.category = *normal;
        categories_.try_emplace(col.category, CategoryState{col.category, {}});
      }
      multi_cols_.push_back(std::move(col));
    }
    for (const ImportAttributeColumn& a : mapping_.attributes) {
      AttrCol col;
      TI_ASSIGN_OR_RETURN(col.index, Column(a.column, "attribute"));
      col.name = a.attribute.empty() ? a.column : a.attribute;
      absl::StatusOr<AttributeInfo> info = index_.GetAttribute(col.name);
      if (absl::IsNotFound(info.status())) {
        AttributeSpec spec;
        spec.name = col.name;
        spec.type = a.type;
        spec.scale = a.type == AttributeType::kDecimal ? a.scale : 0;
        absl::StatusOr<AttributeId> id = index_.CreateAttribute(spec);
        if (!id.ok()) {
          return BadWith(id.status(), a.column,
                         absl::StrCat("import: attribute column ", internal::Quote(a.column), ": ",
                                      id.status().message()));
        }
        info = index_.GetAttribute(col.name);
      }
      if (!info.ok()) return info.status();
      if (a.declared &&
          (info->type != a.type || (a.type == AttributeType::kDecimal && info->scale != a.scale))) {
        return Bad(a.column,
                   absl::StrCat("import: attribute column ", internal::Quote(a.column),
                                " is declared ", AttributeTypeName(a.type, a.scale),
                                " but attribute ", internal::Quote(col.name), " exists as ",
                                AttributeTypeName(info->type, info->scale)));
      }
      col.name = info->name;
      col.id = info->id;
      for (const AttrCol& other : attr_cols_) {
        if (other.id == col.id) {
          return Bad(col.name, absl::StrCat("import: two attribute columns map to attribute ",
                                            internal::Quote(col.name)));
        }
      }
      attr_cols_.push_back(std::move(col));
    }
    // Existing tags of the categories that can be cleared.
    if (!categories_.empty()) {
      TI_ASSIGN_OR_RETURN(std::vector<TagInfo> tags, index_.ListTags());
      for (const TagInfo& t : tags) {
        auto it = categories_.find(t.category);
        if (it != categories_.end()) it->second.tags.push_back(t.id);
      }
    }
    for (CategoryCol& col : category_cols_) col.state = &categories_.at(col.category);
    for (MultiCol& col : multi_cols_) {
      if (options_.replace) col.state = &categories_.at(col.category);
    }
    return absl::OkStatus();
  }

  // `kind` and `subject` as in tagindex/errors.h: bad_key and the key,
  // bad_name and the name, bad_value and the cell (the column's name when
  // the cell is not valid UTF-8; "line N" when no column is at fault).
  absl::Status Reject(const CsvRecord& record, std::string column, std::string reason,
                      ErrorKind kind = ErrorKind::kBadValue,
                      std::optional<std::string_view> subject = std::nullopt) {
    ++report_.rows_rejected;
    RejectedRow r;
    r.file = reader_.name();
    r.line = record.line;
    r.record = report_.rows_read - 1;
    r.column = std::move(column);
    r.reason = std::move(reason);
    r.kind = kind;
    r.subject = subject.has_value() ? std::string(*subject)
                : !r.column.empty() ? r.column
                                    : absl::StrCat("line ", r.line);
    r.raw = std::string(record.raw);
    if (options_.on_reject) options_.on_reject(r);
    if (options_.strict) {
      TI_RETURN_IF_ERROR(Commit());
      TI_RETURN_IF_ERROR(Flush());
      ErrorInfo info = util::Info(r.kind, r.subject);
      info.path = r.file;
      info.detail = absl::StrCat("line ", r.line);
      return util::Error(absl::StatusCode::kInvalidArgument,
                         absl::StrCat("import: ", r.ToString(), " (strict)"), info);
    }
    if (report_.rejects.size() < options_.max_rejects_kept) report_.rejects.push_back(std::move(r));
    return absl::OkStatus();
  }

  // The kind of a rejected tag name: the index's own (bad_name for a name
  // too long or with control characters), else bad_name.
  static ErrorKind NameFault(const absl::Status& status) {
    std::optional<ErrorInfo> info = GetErrorInfo(status);
    return info.has_value() && info->kind != ErrorKind::kOther ? info->kind : ErrorKind::kBadName;
  }

  // Resolves a tag name of a cell; an error the index reports about the
  // name (InvalidArgument) is the row's fault.
  absl::StatusOr<TagId> Resolve(absl::flat_hash_map<std::string, TagId>& cache,
                                std::string_view text, std::string_view category,
                                std::string_view name) {
    auto it = cache.find(A(text));
    if (it != cache.end()) return it->second;
    if (!category.empty() && text != name) {  // a qualified name names its category
      absl::StatusOr<CategoryInfo> info = index_.GetCategory(category);
      if (info.ok() && info->exclusive) {
        return util::Error(
            absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, text,
            absl::StrCat("tag ", internal::Quote(text), " is in the exclusive category ",
                         internal::Quote(category), " (map a category column for it)"));
      }
    }
    TI_ASSIGN_OR_RETURN(TagId tag, FindOrCreateTag(std::string(category), name));
    cache.emplace(std::string(text), tag);
    return tag;
  }

  absl::Status Row(const CsvRecord& record) {
    if (record.fields.size() != header_.size()) {
      return Reject(record, "",
                    absl::StrCat("expected ", header_.size(), " fields (as in the header), found ",
                                 record.fields.size()));
    }
    if (auto bad = util::FindInvalidUtf8(record.raw)) {
      // Name the column holding the bad byte.
      size_t col = 0;
      for (; col < record.fields.size(); ++col) {
        std::string_view f = record.fields[col];
        if (util::FindInvalidUtf8(f)) break;
      }
      return Reject(record, col < header_.size() ? header_[col] : "",
                    absl::StrCat("invalid UTF-8 (byte ", *bad + 1, " of the row)"));
    }
    // The key.
    std::string_view key = record.fields[key_column_];
    int64_t int_key = 0;
    if (mapping_.key_kind == KeyKind::kString) {
      if (key.empty()) {
        return Reject(record, header_[key_column_], "empty key", ErrorKind::kBadKey, "");
      }
      absl::Status s = internal::ValidateStringKey(key, index_.options());
      if (!s.ok()) {
        return Reject(record, header_[key_column_], std::string(s.message()), ErrorKind::kBadKey,
                      key);
      }
    } else {
      if (key.empty()) {
        return Reject(record, header_[key_column_], "empty key", ErrorKind::kBadKey, "");
      }
      auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), int_key);
      if (ec != std::errc() || ptr != key.data() + key.size()) {
        return Reject(
            record, header_[key_column_],
            absl::StrCat("key ", internal::Quote(key), " is not an integer",
                         ec == std::errc::result_out_of_range ? " in the int64 range" : ""),
            ErrorKind::kBadKey, key);
      }
      if (mapping_.key_kind == KeyKind::kIdentity &&
          (int_key < 0 || int_key > static_cast<int64_t>(kMaxRowId))) {
        return Reject(record, header_[key_column_],
                      absl::StrCat("identity key ", int_key, " is outside [0, ", kMaxRowId, "]"),
                      ErrorKind::kBadKey, key);
      }
    }
    // Cells, checked before any tag is created for the row.
    bools_.clear();
    for (const BoolCol& col : bool_cols_) {
      bool ok = true;
      bool value = ParseImportBool(record.fields[col.index], &ok);
      if (!ok) {
        return Reject(record, header_[col.index],
                      absl::StrCat("not a boolean: ", internal::Quote(record.fields[col.index]),
                                   " (true: 1 true yes y t 是; false: 0 false no n f 否 or empty)"),
                      ErrorKind::kBadValue, record.fields[col.index]);
      }
      bools_.push_back(value);
    }
    attrs_.clear();
    for (const AttrCol& col : attr_cols_) {
      std::string_view cell = util::TrimUnicodeSpace(record.fields[col.index]);
      if (cell.empty()) {
        attrs_.push_back(std::nullopt);
        continue;
      }
      absl::StatusOr<int64_t> v = index_.ParseAttributeValue(col.name, cell);
      if (!v.ok()) {
        if (!absl::IsInvalidArgument(v.status()) && !absl::IsOutOfRange(v.status())) {
          return v.status();
        }
        return Reject(record, header_[col.index], std::string(v.status().message()),
                      ErrorKind::kBadValue, cell);
      }
      attrs_.push_back(*v);
    }
    // Names (may create tags).
    names_.clear();
    for (size_t c = 0; c < multi_cols_.size(); ++c) {
      MultiCol& col = multi_cols_[c];
      std::string_view cell = record.fields[col.index];
      size_t start = 0;
      while (start <= cell.size()) {
        size_t end = cell.find(col.separator, start);
        if (end == std::string_view::npos) end = cell.size();
        std::string_view name = util::TrimUnicodeSpace(cell.substr(start, end - start));
        if (!name.empty()) {
          std::string_view category = col.category;
          std::string_view bare = name;
          if (col.qualified_names) {
            size_t colon = name.find(':');
            if (colon != std::string_view::npos && colon > 0 && colon + 1 < name.size()) {
              category = name.substr(0, colon);
              bare = name.substr(colon + 1);
            }
          }
          absl::StatusOr<TagId> tag = Resolve(col.cache, name, category, bare);
          if (!tag.ok()) {
            if (!absl::IsInvalidArgument(tag.status())) return tag.status();
            return Reject(record, header_[col.index], std::string(tag.status().message()),
                          NameFault(tag.status()), name);
          }
          names_.push_back({c, *tag});
        }
        start = end + col.separator.size();
      }
    }
    cats_.clear();
    for (size_t c = 0; c < category_cols_.size(); ++c) {
      CategoryCol& col = category_cols_[c];
      std::string_view value = util::TrimUnicodeSpace(record.fields[col.index]);
      if (value.empty()) {
        cats_.push_back(std::nullopt);
        continue;
      }
      absl::StatusOr<TagId> tag = Resolve(col.cache, value, col.category, value);
      if (!tag.ok()) {
        if (!absl::IsInvalidArgument(tag.status())) return tag.status();
        return Reject(record, header_[col.index], std::string(tag.status().message()),
                      NameFault(tag.status()), value);
      }
      cats_.push_back(*tag);
    }
    // The row is good: stage it.
    Batch& b = *cur_;
    const uint32_t r = b.rows++;
    if (mapping_.key_kind == KeyKind::kString) {
      b.string_key_bounds.push_back(b.string_keys.size());
      b.string_keys.append(key);
    } else {
      b.int_keys.push_back(int_key);
    }
    const bool replace = options_.replace;
    for (size_t c = 0; c < bool_cols_.size(); ++c) {
      if (bools_[c]) {
        Stage(bool_cols_[c].tag, SeqOf(r, false), true);
      } else if (replace) {
        Stage(bool_cols_[c].tag, SeqOf(r, false), false);
      }
    }
    if (replace) {
      for (std::vector<uint32_t>& clears : b.multi_clears) clears.push_back(r);
    }
    for (const auto& [c, tag] : names_) Stage(tag, SeqOf(r, false), true);
    for (size_t c = 0; c < category_cols_.size(); ++c) {
      if (cats_[c].has_value()) {
        b.cat_values[c].push_back({r, cats_[c]->value});
      } else if (replace) {
        b.cat_values[c].push_back({r, kNoTag});
      }
    }
    for (size_t c = 0; c < attr_cols_.size(); ++c) {
      if (attrs_[c].has_value() || replace) b.attr_values[c].push_back({r, attrs_[c]});
    }
    return absl::OkStatus();
  }

  // Attribute values of the batch: the last row of a customer wins; NULL
  // (replace) clears the value of a customer that exists already (a new
  // customer has none).
  absl::Status StageAttributes(Batch& b, WriteBatch& batch, uint64_t* set, uint64_t* cleared) {
    for (size_t a = 0; a < attr_cols_.size(); ++a) {
      const AttrCol& col = attr_cols_[a];
      auto& values_of_rows = b.attr_values[a];
      if (values_of_rows.empty()) continue;
      std::vector<std::pair<uint32_t, std::optional<int64_t>>> last;  // (customer, value)
      last.reserve(values_of_rows.size());
      for (const auto& [r, v] : values_of_rows) last.push_back({b.customer[r], v});
      auto by_customer = [](const auto& x, const auto& y) { return x.first < y.first; };
      if (!std::is_sorted(last.begin(), last.end(), by_customer)) {
        std::stable_sort(last.begin(), last.end(), by_customer);
      }
      std::vector<int64_t> int_keys;
      std::vector<std::string_view> string_keys;
      std::vector<int64_t> values;
      std::vector<RowId> clears;
      for (size_t i = 0; i < last.size(); ++i) {
        if (i + 1 < last.size() && last[i + 1].first == last[i].first) continue;
        const uint32_t c = last[i].first;
        const bool strings = mapping_.key_kind == KeyKind::kString;
        if (!last[i].second.has_value()) {
          absl::StatusOr<RowId> row = strings ? index_.FindCustomer(b.string_distinct[c])
                                              : index_.FindCustomer(b.int_distinct[c]);
          if (row.ok()) {
            clears.push_back(*row);
          } else if (!absl::IsNotFound(row.status())) {
            return row.status();
          }
          continue;
        }
        if (strings) {
          string_keys.push_back(b.string_distinct[c]);
        } else {
          int_keys.push_back(b.int_distinct[c]);
        }
        values.push_back(*last[i].second);
      }
      if (!clears.empty()) batch.ClearAttributeRows(col.id, clears);
      if (!values.empty()) {
        if (mapping_.key_kind == KeyKind::kString) {
          batch.SetAttribute(col.id, string_keys, values);
        } else {
          batch.SetAttribute(col.id, int_keys, values);
        }
      }
      *set += values.size();
      *cleared += clears.size();
      values_of_rows.clear();
    }
    return absl::OkStatus();
  }

  void Stage(TagId tag, uint64_t seq, bool add) {
    StagedTag& s = cur_->staged[tag.value];
    if (!add) s.has_removes = true;
    s.ops.push_back({seq, add});
  }

  // Hands the staged rows to the committer: with two threads the batch is
  // queued for a worker that commits batches one at a time, in file order,
  // while this thread parses the next ones (up to kBatches - 1 ahead, so
  // that neither thread waits for the other to be scheduled at every
  // batch); the index is the same whatever the thread count. Tags,
  // categories and rejects stay on this thread; the worker only builds and
  // writes the WriteBatch.
  absl::Status Commit() {
    Batch& b = *cur_;
    if (b.rows == 0) return absl::OkStatus();
    // The tags a replace clears, as known now (tags created later belong to
    // later batches).
    for (size_t c = 0; c < multi_cols_.size(); ++c) {
      if (multi_cols_[c].state != nullptr) b.multi_tags[c] = multi_cols_[c].state->tags;
    }
    for (size_t c = 0; c < category_cols_.size(); ++c) {
      b.cat_tags[c] = category_cols_[c].state->tags;
    }
    if (!worker_.joinable()) return CommitBatch(b);
    std::unique_lock<std::mutex> lock(mu_);
    if (!worker_status_.ok()) return worker_status_;
    queue_.push_back(&b);
    work_cv_.notify_one();
    done_cv_.wait(lock, [&] { return !free_.empty() || !worker_status_.ok(); });
    if (!worker_status_.ok()) return worker_status_;
    cur_ = free_.back();
    free_.pop_back();
    return absl::OkStatus();
  }

  // Waits until every queued batch is committed; the first error of one.
  absl::Status Flush() {
    if (!worker_.joinable()) return absl::OkStatus();
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
    return worker_status_;
  }

  // The committer: batches in queue order; after a failure the rest are
  // dropped (the import returns that error).
  void WorkerLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_
      Batch* b = queue_.front();
      queue_.pop_front();
      busy_ = true;
      absl::Status s = worker_status_.ok() ? absl::OkStatus() : worker_status_;
      if (s.ok()) {
        lock.unlock();
        s = CommitBatch(*b);
        lock.lock();
      }
      busy_ = false;
      if (!s.ok()) {
        b->Clear();
        if (worker_status_.ok()) worker_status_ = s;
      }
      free_.push_back(b);
      done_cv_.notify_all();
    }
  }

  // Builds one WriteBatch of a staged batch and writes it (on the worker
  // thread when there is one: it reads the batch, the immutable column
  // setup and the index, and writes only the batch and committed_).
  absl::Status CommitBatch(Batch& b) {
    // Each distinct key of the batch gets a dense id ("customer of the
    // batch"), so that the last row of a key wins without knowing row ids,
    // which the index assigns only when the batch is written.
    b.customer.clear();
    b.customer.reserve(b.rows);
    b.int_distinct.clear();
    b.string_distinct.clear();
    if (mapping_.key_kind == KeyKind::kString) {
      b.string_key_bounds.push_back(b.string_keys.size());
      absl::flat_hash_map<absl::string_view, uint32_t> ids;
      ids.reserve(b.rows);
      for (size_t i = 0; i + 1 < b.string_key_bounds.size(); ++i) {
        std::string_view key = std::string_view(b.string_keys)
                                   .substr(b.string_key_bounds[i],
                                           b.string_key_bounds[i + 1] - b.string_key_bounds[i]);
        auto [it, inserted] =
            ids.try_emplace(A(key), static_cast<uint32_t>(b.string_distinct.size()));
        if (inserted) b.string_distinct.push_back(key);
        b.customer.push_back(it->second);
      }
    } else {
      absl::flat_hash_map<int64_t, uint32_t> ids;
      ids.reserve(b.rows);
      for (int64_t key : b.int_keys) {
        auto [it, inserted] = ids.try_emplace(key, static_cast<uint32_t>(b.int_distinct.size()));
        if (inserted) b.int_distinct.push_back(key);
        b.customer.push_back(it->second);
      }
    }
    WriteBatch batch;
    // Every good row's customer exists afterwards, tagged or not.
    if (mapping_.key_kind == KeyKind::kString) {
      batch.AddCustomers(b.string_distinct);
    } else {
      batch.AddCustomers(b.int_distinct);
    }
    uint64_t assignments = 0;
    uint64_t removals = 0;
    auto item = [&](TagId tag, const std::vector<uint32_t>& customers, bool add) {
      if (customers.empty()) return;
      if (mapping_.key_kind == KeyKind::kString) {
        std::vector<std::string_view> keys;
        keys.reserve(customers.size());
        for (uint32_t c : customers) keys.push_back(b.string_distinct[c]);
        add ? batch.Tag(tag, keys) : batch.Untag(tag, keys);
      } else {
        std::vector<int64_t> keys;
        keys.reserve(customers.size());
        for (uint32_t c : customers) keys.push_back(b.int_distinct[c]);
        add ? batch.Tag(tag, keys) : batch.Untag(tag, keys);
      }
      (add ? assignments : removals) += customers.size();
    };

    // Multi-tag clears (replace): every tag of the column's category gets a
    // remove at the start of each row.
    for (size_t c = 0; c < multi_cols_.size(); ++c) {
      if (b.multi_clears[c].empty()) continue;
      for (TagId t : b.multi_tags[c]) {
        StagedTag& s = b.staged[t.value];
        s.has_removes = true;
        for (uint32_t r : b.multi_clears[c]) s.ops.push_back({SeqOf(r, true), false});
      }
    }
    std::vector<uint32_t> adds;
    std::vector<uint32_t> removes;
    for (auto& [tag_value, staged] : b.staged) {
      adds.clear();
      removes.clear();
      if (!staged.has_removes) {
        adds.reserve(staged.ops.size());
        for (const TagOp& op : staged.ops) adds.push_back(b.customer[op.seq >> 1]);
      } else {
        // Last operation per customer wins.
        std::vector<std::pair<uint32_t, uint64_t>> order;  // (customer, index into ops)
        order.reserve(staged.ops.size());
        for (size_t i = 0; i < staged.ops.size(); ++i) {
          order.push_back({b.customer[staged.ops[i].seq >> 1], i});
        }
        // (clang 14 cannot capture a structured binding in a lambda.)
        const auto& ops = staged.ops;
        std::stable_sort(order.begin(), order.end(), [&ops](const auto& a, const auto& b) {
          if (a.first != b.first) return a.first < b.first;
          return ops[a.second].seq < ops[b.second].seq;
        });
        for (size_t i = 0; i < order.size(); ++i) {
          if (i + 1 < order.size() && order[i + 1].first == order[i].first) continue;
          (staged.ops[order[i].second].add ? adds : removes).push_back(order[i].first);
        }
      }
      item(TagId{tag_value}, removes, false);
      item(TagId{tag_value}, adds, true);
    }
    // Category values: last value per customer wins; kNoTag (replace) clears.
    for (size_t c = 0; c < category_cols_.size(); ++c) {
      auto& values = b.cat_values[c];
      if (values.empty()) continue;
      std::vector<std::pair<uint32_t, uint32_t>> last;  // (customer, tag value)
      last.reserve(values.size());
      for (const auto& [r, t] : values) last.push_back({b.customer[r], t});
      // (Already in order when the batch's keys are distinct: the common
      // import of new customers.)
      auto by_customer = [](const auto& x, const auto& y) { return x.first < y.first; };
      if (!std::is_sorted(last.begin(), last.end(), by_customer)) {
        std::stable_sort(last.begin(), last.end(), by_customer);
      }
      absl::flat_hash_map<uint32_t, std::vector<uint32_t>> by_tag;
      std::vector<uint32_t> clears;
      for (size_t i = 0; i < last.size(); ++i) {
        if (i + 1 < last.size() && last[i + 1].first == last[i].first) continue;
        if (last[i].second == kNoTag) {
          clears.push_back(last[i].first);
        } else {
          by_tag[last[i].second].push_back(last[i].first);
        }
      }
      if (!clears.empty()) {
        const uint64_t before = removals;
        for (TagId t : b.cat_tags[c]) item(t, clears, false);
        removals = before + clears.size();
      }
      for (auto& [t, customers] : by_tag) item(TagId{t}, customers, true);
      values.clear();
    }
    uint64_t attr_set = 0;
    uint64_t attr_cleared = 0;
    TI_RETURN_IF_ERROR(StageAttributes(b, batch, &attr_set, &attr_cleared));
    // One atomic commit: one log record, one sync.
    const uint64_t before = index_.CustomerCount();
    TI_RETURN_IF_ERROR(index_.Write(batch));
    committed_.attribute_values += attr_set;
    committed_.attribute_clears += attr_cleared;
    committed_.customers_added += index_.CustomerCount() - before;
    committed_.tag_assignments += assignments;
    committed_.tag_removals += removals;
    committed_.rows_imported += b.rows;
    b.Clear();
    return absl::OkStatus();
  }

  Index& index_;
  CsvReader& reader_;
  const ImportMapping& mapping_;
  const ImportOptions& options_;
  Clock::time_point start_;
  ImportReport report_;
  std::vector<std::string> header_;
  absl::flat_hash_set<size_t> used_;
  size_t key_column_ = 0;
  std::vector<BoolCol> bool_cols_;
  std::vector<MultiCol> multi_cols_;
  std::vector<CategoryCol> category_cols_;
  std::vector<AttrCol> attr_cols_;
  // Node-based: columns keep pointers to the states.
  absl::node_hash_map<std::string, CategoryState> categories_;

  // Per-row scratch.
  std::vector<bool> bools_;
  std::vector<std::pair<size_t, TagId>> names_;
  std::vector<std::optional<TagId>> cats_;
  std::vector<std::optional<int64_t>> attrs_;

  // The batch being staged and the one committing (two threads).
  static constexpr size_t kBatches = 4;
  Batch batches_[kBatches];
  Batch* cur_ = &batches_[0];
  unsigned threads_ = 1;
  // The committer thread (threads 2) and its queue, under mu_.
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable work_cv_;  // a batch is queued, or stop_
  std::condition_variable done_cv_;  // a batch is committed (or failed)
  std::deque<Batch*> queue_;
  std::vector<Batch*> free_;
  bool busy_ = false;
  bool stop_ = false;
  absl::Status worker_status_;
  Committed committed_;
};

}  // namespace

absl::StatusOr<ImportReport> ImportCsv(Index& index, CsvReader& reader,
                                       const ImportMapping& mapping, const ImportOptions& options) {
  if (options.batch_rows == 0) {
    return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue,
                       "ImportOptions::batch_rows", "import: batch_rows must be positive");
  }
  Importer importer(index, reader, mapping, options);
  return importer.Run();
}

absl::StatusOr<ImportReport> ImportCsvFile(Index& index, const std::string& path,
                                           const ImportMapping& mapping,
                                           const ImportOptions& options) {
  TI_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::OpenFile(path, options.csv));
  return ImportCsv(index, *reader, mapping, options);
}

absl::StatusOr<ImportReport> ImportCsvString(Index& index, std::string text,
                                             const ImportMapping& mapping,
                                             const ImportOptions& options, std::string name) {
  std::unique_ptr<CsvReader> reader =
      CsvReader::FromString(std::move(text), std::move(name), options.csv);
  return ImportCsv(index, *reader, mapping, options);
}

}  // namespace tagindex
