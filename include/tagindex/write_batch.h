// tagindex::WriteBatch — many mutations committed all-or-nothing.
//
// A WriteBatch collects any mix of mutations (the same ones the Index's
// single calls make) and Index::Write commits them atomically: every item is
// validated, in order, against the index as the items before it leave it
// (so a batch may create a category, then a tag in it, or add a customer
// and then remove it), then the whole batch is written to the log as ONE
// record with one sync, then applied. Readers see either none or all of it;
// after a crash, Open recovers either none or all of it.
//
//   tagindex::WriteBatch batch;
//   batch.CreateCategory("购买频率", {.exclusive = true});
//   std::vector<int64_t> keys = {1001, 1002};
//   batch.AddCustomers(keys);
//   batch.Tag(vip, keys);
//   batch.Untag(churn, std::span<const int64_t>(keys).first(1));
//   tagindex::WriteResult result;
//   absl::Status s = index->Write(batch, &result);
//   if (auto e = tagindex::GetBatchError(s)) {
//     // e->item, e->kind ("tag keys"), e->subject (the key, row or name),
//     // e->reason
//   }
//
// The batch copies what it is given (keys, rows, names, blobs); the
// arguments need not outlive the call that adds them. A batch can be
// written more than once (to several indexes, or again after a failure).
// Tags are referred to by TagId, so a tag created by a batch can be used
// by a later batch, not by the same one.
//
// Errors of Index::Write: those of the single calls, for the first item
// that fails, with the message prefixed "batch item <i> of <n> (<kind>): ",
// a BatchError payload (GetBatchError) and the item's ErrorInfo
// (tagindex/errors.h: GetErrorInfo); nothing is changed then. Also
// ResourceExhausted if the encoded batch exceeds
// OpenOptions::max_log_record_bytes (split it), and the log's errors.
//
// Thread safety: a WriteBatch is a plain value (not synchronised); Write
// may run concurrently with any other Index call.
#ifndef TAGINDEX_WRITE_BATCH_H_
#define TAGINDEX_WRITE_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tagindex/options.h"
#include "tagindex/types.h"

namespace tagindex {

namespace internal {
struct WriteBatchAccess;
}  // namespace internal

class WriteBatch {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  // Each call appends one item and returns its index (the `item` of a
  // BatchError and of WriteResult). The semantics are those of the Index
  // method of the same name.
  size_t AddCustomers(std::span<const int64_t> keys);
  size_t AddCustomers(std::span<const std::string_view> keys);
  size_t RemoveCustomers(std::span<const int64_t> keys);
  size_t RemoveCustomers(std::span<const std::string_view> keys);
  size_t RemoveRows(std::span<const RowId> rows);
  size_t CreateCategory(std::string_view name, const CategoryOptions& options = {});
  size_t CreateTag(const TagSpec& spec);
  size_t RenameTag(TagId tag, std::string_view new_name);
  size_t SetTagDescription(TagId tag, std::string_view description);
  size_t DeleteTag(TagId tag);
  size_t Tag(TagId tag, std::span<const int64_t> keys);
  size_t Tag(TagId tag, std::span<const std::string_view> keys);
  size_t TagRows(TagId tag, std::span<const RowId> rows);
  size_t Untag(TagId tag, std::span<const int64_t> keys);
  size_t Untag(TagId tag, std::span<const std::string_view> keys);
  size_t UntagRows(TagId tag, std::span<const RowId> rows);
  size_t ImportTag(const TagSpec& spec, std::span<const char> portable_roaring);
  // Attribute values, with the semantics of Index::SetAttributeMany,
  // SetAttributeRows, ClearAttributeMany and ClearAttributeRows (values in the column's storage
  // unit; keys and rows must be live customers when the item is validated,
  // so a batch may add a customer and then set its value; `values` must be
  // as long as `keys` / `rows`). The attribute is given by id
  // (Index::GetAttribute(name)->id); creating, renaming or dropping an
  // attribute is not a batch item (use the Index calls).
  size_t SetAttribute(AttributeId attribute, std::span<const int64_t> keys,
                      std::span<const int64_t> values);
  size_t SetAttribute(AttributeId attribute, std::span<const std::string_view> keys,
                      std::span<const int64_t> values);
  size_t SetAttributeRows(AttributeId attribute, std::span<const RowId> rows,
                          std::span<const int64_t> values);
  size_t ClearAttributeRows(AttributeId attribute, std::span<const RowId> rows);
  size_t ClearAttribute(AttributeId attribute, std::span<const int64_t> keys);
  size_t ClearAttribute(AttributeId attribute, std::span<const std::string_view> keys);

  size_t size() const;
  bool empty() const { return size() == 0; }
  void Clear();

 private:
  friend struct internal::WriteBatchAccess;
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

// What a successful Index::Write returns, per item (indexed like the batch).
struct WriteResult {
  // CreateTag / ImportTag items: the new tag's id; TagId{} otherwise.
  std::vector<TagId> tags;
  // AddCustomers items: the row id of each key, in input order; empty
  // otherwise.
  std::vector<std::vector<RowId>> rows;
};

// Why a batch was rejected.
struct BatchError {
  size_t item = 0;      // index of the failing item in the batch
  std::string kind;     // the item's kind: "add customers", "tag keys", ...
  std::string subject;  // the key (as text; string keys quoted), "row <id>",
                        // "tag id <id>", or the name that failed
  std::string reason;   // the item's own error message
};

// The BatchError of a status returned by Index::Write; nullopt for any
// other status (including OK).
std::optional<BatchError> GetBatchError(const absl::Status& status);

}  // namespace tagindex

#endif  // TAGINDEX_WRITE_BATCH_H_
