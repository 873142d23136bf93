// Importing customers and their tags from CSV (RFC 4180, see csv.h).
//
// A mapping says what each column means. Nothing is guessed from the data:
// the key column and its KeyKind are declared, and a key that does not fit
// the declaration is a rejected row, never a reason to change the index's
// key kind.
//
//   key column         the customer key: an int64 (kInt64, kIdentity, which
//                      must also be in [0, kMaxRowId]) or a UTF-8 string
//                      (kString; non-empty, within max_string_key_bytes)
//   tag columns        booleans: the customer holds the tag (named after the
//                      column unless given) when the cell is true. True:
//                      1 true yes y t 是 ✓ (ASCII case ignored); false: 0
//                      false no n f 否, or an empty cell. Anything else is a
//                      rejected row.
//   multi-tag columns  a list of tag names joined by a separator
//                      ("高价值客户,电子产品"); names are trimmed, empty
//                      items skipped; the tags go in the column's category
//                      ("" for none); with `qualified_names`, an item
//                      "category:name" names its own category instead.
//   category columns   one value per customer ("高频"): the value is a tag of
//                      an exclusive category (named after the column unless
//                      given), created exclusive if missing; an empty cell
//                      is no value.
//   attribute columns  a numeric, decimal or date value per customer
//                      (Index::CreateAttribute): "1299.50", "2026-08-01",
//                      "-3"; parsed as Index::ParseAttributeValue does (a
//                      decimal with more digits than the column's scale, a
//                      number for a date column or a bad date is a rejected
//                      row); an empty cell is no value. The column is
//                      created with the declared type when missing; when it
//                      exists, a declared type must match.
// Columns not named in the mapping are ignored. Every named column must be
// in the header (else InvalidArgument before anything is imported).
//
// Merge and replace. By default an import only adds: a row tags its
// customer with what it lists and takes nothing away, except that a
// category value replaces the customer's previous value in that (exclusive)
// category, and an attribute value replaces the previous value. Importing the same file twice
// therefore gives the same index as importing it once (idempotent). With ImportOptions::replace,
// each row states the whole truth for the columns of the mapping: a false boolean cell removes the
// tag, an empty category cell removes the customer's value in that category, an empty attribute
// cell makes the customer's value NULL, and a multi-tag cell removes the tags of the column's
// category that it does not list (replace needs a category on every multi-tag column, so that "the
// column's tags" is a closed set). Rows for the same key are applied in file order; the last one
// wins.
//
// Bad rows. A row is rejected, with the file, its line and a reason, when it
// has the wrong number of fields, is malformed CSV, holds invalid UTF-8, has
// an empty or malformed key, a bad boolean, a bad attribute value, or a tag
// name the index refuses (too long, control characters). Rejected rows are never dropped silently:
// each is passed to ImportOptions::on_reject and counted in the report (the
// first ImportOptions::max_rejects_kept are kept in it). With
// ImportOptions::strict, the first rejected row stops the import with an
// InvalidArgument error naming it; the batches committed before it stay.
//
// Batches. Rows are committed in batches of ImportOptions::batch_rows, each
// one tagindex::WriteBatch (write_batch.h): the batch's customers and all
// its tag changes are one atomic Index::Write — one log record and one sync
// on a persistent index, all or nothing across a crash. Tags and categories
// named for the first time are created just before (CreateTag /
// CreateCategory), so a crash can leave a new tag empty, never half a
// batch. With ImportOptions::threads 2 a worker thread commits each batch
// while the calling thread reads the next; batches still commit one at a
// time, in file order. `tagindex import` into an existing index opens it
// with SyncPolicy::kNone and ends with Index::Checkpoint(), which makes the
// whole import durable in one snapshot; into a new index (no directory or
// an empty one) it imports into an in-memory index and writes it once with
// Index::SaveTo (no log records: the rows are written once, not to the log
// and again by a checkpoint).
//
// Example:
//
//   tagindex::ImportMapping mapping;
//   mapping.key_column = "客户ID";
//   mapping.key_kind = tagindex::KeyKind::kInt64;
//   mapping.tags = {{.column = "高价值客户"}};
//   mapping.multi_tags = {{.column = "兴趣", .separator = ",", .category = "兴趣爱好类"}};
//   mapping.categories = {{.column = "城市"}};
//   mapping.attributes = {{.column = "消费金额", .type = tagindex::AttributeType::kDecimal,
//                          .scale = 2}};
//   tagindex::ImportReport report =
//       tagindex::ImportCsvFile(*index, "customers.csv", mapping).value();
//
// Errors (of the call, not of rows): InvalidArgument for a bad mapping
// (unknown column, key kind different from the index's, a column mapped
// twice), a missing or malformed header, or the first bad row under strict;
// the reader's and the index's errors otherwise (e.g. the log refusing a
// write). Rows committed before an error stay committed. Each carries an
// ErrorInfo (tagindex/errors.h; GetErrorInfo): a bad mapping or header is
// kind bad_value with the column, category, attribute or option as subject
// ("key_kind", "key_column", "ImportOptions::batch_rows"), or the index's
// own kind when an index call refused it (bad_name for a tag column's
// name); an empty file or a bad header is bad_value with the file as
// subject and path; the strict stop has the row's RejectedRow::kind and
// subject, the file as path and "line N" as detail; a file that cannot be
// read is not_found / io (tagindex/csv.h).
//
// Thread safety: an import is a sequence of ordinary Index writes; other
// threads may query the index meanwhile and see the batches arrive.
#ifndef TAGINDEX_IMPORT_H_
#define TAGINDEX_IMPORT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tagindex/csv.h"
#include "tagindex/errors.h"
#include "tagindex/types.h"

namespace tagindex {

class Index;

struct ImportTagColumn {
  std::string column;
  std::string tag;       // tag name; "" = the column's name
  std::string category;  // "" = no category
};

struct ImportMultiTagColumn {
  std::string column;
  std::string separator = ",";  // non-empty; may be several bytes ("、", "|")
  std::string category;         // the category of every tag in the column
  // When true (and `category` is empty), an item "category:name" puts the
  // tag `name` in `category`; an item without ':' has no category.
  bool qualified_names = false;
};

struct ImportCategoryColumn {
  std::string column;
  std::string category;  // "" = the column's name
};

struct ImportAttributeColumn {
  std::string column;
  std::string attribute;  // attribute name; "" = the column's name
  // The type to create the attribute with when it does not exist. When it
  // exists: if `declared`, the type (and scale) must match; else the
  // existing column's type is used.
  AttributeType type = AttributeType::kInt64;
  int scale = 0;  // kDecimal only
  bool declared = true;
};

struct ImportMapping {
  std::string key_column;
  // Must be the index's KeyKind (InvalidArgument otherwise).
  KeyKind key_kind = KeyKind::kInt64;
  std::vector<ImportTagColumn> tags;
  std::vector<ImportMultiTagColumn> multi_tags;
  std::vector<ImportCategoryColumn> categories;
  std::vector<ImportAttributeColumn> attributes;
};

// One rejected row.
struct RejectedRow {
  std::string file;
  uint64_t line = 0;    // the line the row starts on (the header is line 1)
  uint64_t record = 0;  // 0-based ordinal of the data row (header excluded)
  std::string column;   // the column at fault, if one
  std::string reason;
  // What is wrong, as an ErrorInfo kind (tagindex/errors.h): kBadKey for the
  // key cell (empty, not an integer, out of range, a bad string key),
  // kBadName for a tag name the index refuses (too long, control
  // characters), kBadValue for the rest (field count, CSV syntax, invalid
  // UTF-8, a bad boolean or attribute value). `subject` is the key, the
  // name or the cell; the column's name for invalid UTF-8; "line N" when no
  // column is at fault.
  ErrorKind kind = ErrorKind::kBadValue;
  std::string subject;
  std::string raw;  // the row's bytes as in the file (without the line end)
  // "FILE:LINE: reason" (and the column), for messages.
  std::string ToString() const;
};

struct ImportProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  uint64_t rows_done = 0;  // rows read, good or bad
  double seconds = 0;
};

struct ImportOptions {
  CsvOptions csv;
  bool strict = false;
  bool replace = false;
  // Rows per committed batch (one WriteBatch each). Smaller batches keep
  // the batch validator's maps of new keys in cache; larger ones mean fewer
  // log records.
  size_t batch_rows = 1 << 14;
  // Threads: with 2, one thread reads, checks and stages rows while a
  // second commits the previous batch (at most one batch in flight; batches
  // commit in file order, so the index, the report and the rejects are the
  // same whatever the count). 1: everything on the calling thread. 0: 2 if
  // the machine has at least two hardware threads, else 1. The callbacks
  // below always run on the calling thread.
  unsigned threads = 0;
  // How many rejected rows the report keeps (all are passed to on_reject).
  size_t max_rejects_kept = 100;
  // Called for every rejected row, in file order.
  std::function<void(const RejectedRow&)> on_reject;
  // Called about every `progress_every_rows` rows and once at the end.
  std::function<void(const ImportProgress&)> on_progress;
  uint64_t progress_every_rows = 1 << 16;
};

struct ImportReport {
  std::string file;
  uint64_t rows_read = 0;      // data rows (header excluded), good or bad
  uint64_t rows_imported = 0;  // rows that were applied
  uint64_t rows_rejected = 0;
  uint64_t customers_added = 0;   // keys new to the index
  uint64_t tag_assignments = 0;   // (row, tag) pairs applied, incl. no-ops
  uint64_t tag_removals = 0;      // (row, tag) pairs removed under replace
  uint64_t attribute_values = 0;  // (customer, attribute) values set
  uint64_t attribute_clears = 0;  // values made NULL under replace
  uint64_t tags_created = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  std::vector<RejectedRow> rejects;  // the first max_rejects_kept
};

// Imports a CSV file into `index` (see the file comment).
absl::StatusOr<ImportReport> ImportCsvFile(Index& index, const std::string& path,
                                           const ImportMapping& mapping,
                                           const ImportOptions& options = {});
// The same from an in-memory CSV text; `name` is the file name in reports.
absl::StatusOr<ImportReport> ImportCsvString(Index& index, std::string text,
                                             const ImportMapping& mapping,
                                             const ImportOptions& options = {},
                                             std::string name = "<string>");
// The same from a reader the caller opened.
absl::StatusOr<ImportReport> ImportCsv(Index& index, CsvReader& reader,
                                       const ImportMapping& mapping,
                                       const ImportOptions& options = {});

// Parses a boolean cell as the importer does; nullopt-like false in `ok`
// when the text is not a boolean.
bool ParseImportBool(std::string_view text, bool* ok);

}  // namespace tagindex

#endif  // TAGINDEX_IMPORT_H_
