// tagindex::ErrorInfo — what a failed status is about, for programs.
//
// Every error tagindex returns is an absl::Status whose code is the
// canonical family (NotFound, InvalidArgument, ...) and whose message reads
// "component: context: problem" for people. The errors a program would act
// on also carry one payload, under the type URL kErrorInfoTypeUrl, naming
// the error's *kind* (a stable, documented name: "unknown_tag", "limit",
// "io", ...) and its *subject* (the name, key, row, path or option that the
// error is about), plus optional fields. Read it with GetErrorInfo; never
// parse the message text, which may change between versions.
//
//   absl::StatusOr<tagindex::TagId> tag = index->FindTag("高价值");
//   if (auto e = tagindex::GetErrorInfo(tag.status())) {
//     if (e->kind == tagindex::ErrorKind::kUnknownTag) {
//       // e->subject == "高价值", e->suggestions == {"高价值客户", ...}
//     }
//   }
//
// Kinds, their status codes, and what `subject` names:
//
//   kind               code                subject
//   unknown_tag        NotFound            the tag name (normalised), or "tag id <n>"
//   unknown_attribute  NotFound            the attribute name, or "attribute id <n>"
//   unknown_category   NotFound            the category name
//   unknown_customer   NotFound            the key (int64 as decimal; strings as
//                                          given), or "row <n>"
//   not_found          NotFound            a path: no such index directory or file
//   ambiguous_name     InvalidArgument     the tag name; `candidates` lists the
//                                          qualified names "category:name"
//   already_exists     AlreadyExists       the name that is taken
//   limit              ResourceExhausted   the limit's option ("IndexOptions::max_tags",
//                                          "QueryOptions::max_query_bytes", ...) or the id
//                                          space ("row ids", "tag ids")
//   out_of_memory      ResourceExhausted   what was being done ("query", "checkpoint")
//   bad_key            InvalidArgument     the customer key
//   bad_name           InvalidArgument     the name as given
//   bad_value          InvalidArgument     the value, argument or option at fault
//   query_syntax       InvalidArgument     the token at fault (GetQueryErrorLocation has
//                                          the place; a query naming an unknown tag or
//                                          attribute gets unknown_tag / unknown_attribute
//                                          and the location too)
//   corrupt_file       DataLoss            the file's path; `offset` the byte, when known
//   io                 Unavailable,        the path; `detail` the OS error text. Disk I/O
//                      PermissionDenied,   failures are never Internal (which means "a bug
//                      ResourceExhausted   in tagindex"): see FileSystem in file_system.h
//                                          for the errno -> code mapping
//   busy               FailedPrecondition  the directory (locked by another process)
//   precondition       FailedPrecondition  what the call needs ("directory index",
//                                          "string keys", ...)
//   unsupported        FailedPrecondition, the feature or version ("format version 3")
//                      Unimplemented
//   internal           Internal            a broken invariant: a bug in tagindex
//
// An error without an ErrorInfo payload (GetErrorInfo returns nullopt) is
// still a valid status; its code tells the family. The other payload
// accessors keep working alongside: GetQueryErrorLocation (query.h),
// GetUnknownTagSuggestions (query.h), GetBatchError (write_batch.h; a rejected
// batch's status carries the failing item's ErrorInfo).
//
// The payload's encoding (stable; documented so that non-C++ readers can
// decode it): ASCII "field=value" pairs joined by '&', fields in this order:
// kind, subject, then any of path, offset (decimal), limit, detail, id
// (decimal), and one
// "suggestion" / "candidate" pair per list element. In names and values the
// bytes '%', '&', '=', 0x00-0x1F and 0x7F are written as %XX (two upper-case
// hex digits); every other byte (UTF-8 included) is itself. Unknown fields
// are ignored by GetErrorInfo, so fields may be added. absl's
// Status::ToString() prints it on one line, e.g.
//   NOT_FOUND: index: unknown tag "VIPP"; did you mean "VIP"?
//   [tagindex.dev/ErrorDetail='kind=unknown_tag&subject=VIPP&suggestion=VIP']
//
// Thread safety: free functions on values; safe from any thread.
#ifndef TAGINDEX_ERRORS_H_
#define TAGINDEX_ERRORS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace tagindex {

// The type URL of the ErrorInfo payload.
inline constexpr char kErrorInfoTypeUrl[] = "tagindex.dev/ErrorDetail";

enum class ErrorKind {
  kOther,  // a kind this version does not know (see ErrorInfo::kind_name)
  kUnknownTag,
  kUnknownAttribute,
  kUnknownCategory,
  kUnknownCustomer,
  kNotFound,
  kAmbiguousName,
  kAlreadyExists,
  kLimit,
  kOutOfMemory,
  kBadKey,
  kBadName,
  kBadValue,
  kQuerySyntax,
  kCorruptFile,
  kIo,
  kBusy,
  kPrecondition,
  kUnsupported,
  kInternal,
};

// "unknown_tag", ... (the payload's name of `kind`); "other" for kOther.
std::string_view ErrorKindName(ErrorKind kind);
// The kind named `name`; kOther for a name this version does not know.
ErrorKind ErrorKindFromName(std::string_view name);

struct ErrorInfo {
  ErrorKind kind = ErrorKind::kOther;
  std::string kind_name;  // as in the payload (kept for kinds unknown here)
  std::string subject;
  std::string path;                // the file or directory, for storage errors
  std::optional<uint64_t> offset;  // byte offset into `path` (corrupt_file)
  std::string limit;               // the option or id space of a `limit` error
  std::string detail;              // e.g. the OS error text of an `io` error
  // The tag or attribute id of an error about an id rather than a name
  // (subject then reads "tag id <n>" / "attribute id <n>").
  std::optional<uint64_t> id;
  std::vector<std::string> suggestions;  // unknown_tag / unknown_attribute: "did you mean"
  std::vector<std::string> candidates;   // ambiguous_name: qualified names
};

// The ErrorInfo of `status`; nullopt if it carries none (OK included) or
// the payload does not decode.
std::optional<ErrorInfo> GetErrorInfo(const absl::Status& status);

// Encodes `info` as the payload (kind from `info.kind`, or `kind_name` when
// kind is kOther) and sets it on `status` (replacing any ErrorInfo there).
// For hosts that wrap tagindex errors and want to keep them readable by
// GetErrorInfo; tagindex uses it for its own errors.
void SetErrorInfo(absl::Status& status, const ErrorInfo& info);

}  // namespace tagindex

#endif  // TAGINDEX_ERRORS_H_
