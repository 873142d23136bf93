// tagindex::Segment — the result of a segment query (人群圈选): a set of
// customer row ids plus the index it came from.
//
// Example:
//
//   tagindex::Segment s = index->Query("高价值客户 AND NOT 流失风险").value();
//   uint64_t n = s.Count();
//   std::vector<tagindex::RowId> first = s.Page(0, 100).value();        // offset + limit
//   std::vector<tagindex::RowId> next = s.PageAfter(first.back(), 100).value();  // cursor
//   std::vector<tagindex::CustomerKey> keys = s.KeysOf(first).value();
//   tagindex::Segment both = s.Intersect(index->Query("电子产品").value()).value();
//   std::string blob = s.ToPortable().value();  // standard portable Roaring format
//
// A Segment is a snapshot: it holds its own copy of the row ids, taken when
// the query ran, and does not change when the index changes afterwards.
//
// Lifetime: a Segment keeps the index version it came from alive (see
// tagindex/snapshot.h), so every method, KeysOf included, works after the
// Index is closed or destroyed, and a leftover Segment never holds the
// directory lock. KeysOf answers with the keys as of the query: a customer
// removed since still reports the key it had. Memory: while a Segment
// lives, so does its version's key table (and whatever writers replaced
// since in that version).
//
// Copying a Segment is cheap (the rows are shared, immutable). Thread safety:
// all methods are const and safe to call from many threads at once, and
// concurrently with writes to the index.
//
// Out of memory: every method that materialises rows (Rows, Page, PageAfter,
// Slice, KeysOf, ToPortable, the set operations) returns a StatusOr and gives
// ResourceExhausted with ErrorKind::kOutOfMemory (tagindex/errors.h) when the
// result cannot be allocated; no std::bad_alloc leaves the API. A segment of
// 2^32 rows is 16 GiB as a vector: to visit a large segment without
// allocating it whole, use ForEach, Iterator or pages.
#ifndef TAGINDEX_SEGMENT_H_
#define TAGINDEX_SEGMENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tagindex/types.h"

namespace tagindex {

class Index;
namespace internal {
struct Access;
struct SegmentData;
}  // namespace internal

class Segment {
 public:
  // An empty segment that belongs to no index.
  Segment();
  ~Segment();
  Segment(const Segment&);
  Segment& operator=(const Segment&);
  Segment(Segment&&) noexcept;
  Segment& operator=(Segment&&) noexcept;

  // Number of customers in the segment.
  uint64_t Count() const;
  bool IsEmpty() const { return Count() == 0; }
  // Whether `row` is in the segment.
  bool Contains(RowId row) const;

  // All row ids, ascending (4 bytes per row). Errors: ResourceExhausted
  // (kOutOfMemory) when the vector cannot be allocated.
  absl::StatusOr<std::vector<RowId>> Rows() const;
  // Calls `fn(row)` in ascending row order until it returns false.
  void ForEach(const std::function<bool(RowId)>& fn) const;

  // Forward iteration in ascending row order, with a seek. The iterator
  // shares the rows, so it stays valid after the Segment is gone. Rows are
  // decoded a block at a time into a buffer the iterator owns, so Valid,
  // Value and Next are inline pointer steps. A moved-from iterator is
  // exhausted (Valid() is false). Not thread-safe: one iterator per thread
  // (any number of iterators may share one Segment).
  //
  //   for (Segment::Iterator it(segment); it.Valid(); it.Next()) Use(it.Value());
  class Iterator {
   public:
    explicit Iterator(const Segment& segment);  // positioned at the first row
    ~Iterator();
    Iterator(Iterator&& other) noexcept;
    Iterator& operator=(Iterator&& other) noexcept;
    Iterator(const Iterator&) = delete;
    Iterator& operator=(const Iterator&) = delete;

    bool Valid() const { return at_ != end_; }
    RowId Value() const { return *at_; }  // requires Valid()
    void Next() {                         // requires Valid()
      if (++at_ == end_) Refill();
    }
    // Moves to the first row >= `row` (forwards or backwards).
    void SeekGreaterOrEqual(RowId row);

   private:
    struct State;
    void Refill();  // decodes the next block into the buffer
    std::unique_ptr<State> state_;
    const RowId* at_ = nullptr;  // [at_, end_): the buffered rows not yet visited
    const RowId* end_ = nullptr;
  };

  // Up to `limit` row ids starting at rank `offset` (0-based), ascending.
  // An offset past the end gives an empty page. Errors: ResourceExhausted
  // (kOutOfMemory) when the page cannot be allocated.
  absl::StatusOr<std::vector<RowId>> Page(uint64_t offset, uint64_t limit) const;
  // Up to `limit` row ids strictly greater than `after` (all from the start
  // when `after` is nullopt), ascending: a cursor that stays correct however
  // deep the page, at O(log n) per page. Errors: as Page.
  absl::StatusOr<std::vector<RowId>> PageAfter(std::optional<RowId> after, uint64_t limit) const;
  // The rows at ranks [offset, offset + limit) as a Segment of the same
  // index: a page that can itself be counted, exported or combined. Like the
  // segment it comes from, it may hold customers removed from the index since
  // the query ran. An offset past the end gives an empty segment. Errors:
  // as Page.
  absl::StatusOr<Segment> Slice(uint64_t offset, uint64_t limit) const;

  // The customer keys of `rows` (e.g. a page), in the same order. A row that
  // was removed from the index after the query ran still reports the key it
  // had. Errors: FailedPrecondition if the segment has no index; NotFound if
  // a row id was never assigned by the index.
  absl::StatusOr<std::vector<CustomerKey>> KeysOf(std::span<const RowId> rows) const;

  // Set operations with a segment of the same index (the `& | - ^` of the
  // Python binding). Errors: InvalidArgument if the segments come from
  // different indexes.
  absl::StatusOr<Segment> Intersect(const Segment& other) const;            // &
  absl::StatusOr<Segment> Union(const Segment& other) const;                // |
  absl::StatusOr<Segment> Difference(const Segment& other) const;           // -
  absl::StatusOr<Segment> SymmetricDifference(const Segment& other) const;  // ^

  // Whether both hold exactly the same rows (the index is not compared).
  bool SameRows(const Segment& other) const;

  // The rows in the standard portable Roaring serialisation, readable by
  // CRoaring, pyroaring, Java/Go Roaring, pg_roaringbitmap, ClickHouse, ...
  // Index::SegmentFromPortable reads it back. Errors: ResourceExhausted
  // (kOutOfMemory) when the blob cannot be allocated.
  absl::StatusOr<std::string> ToPortable() const;

  // The index the segment came from (nullptr for a default Segment), for
  // identity comparisons only: after the Index is destroyed the pointer
  // dangles and must not be used to call it.
  const Index* index() const;

 private:
  friend struct internal::Access;  // the library itself (src/index/access.h)
  explicit Segment(std::shared_ptr<const internal::SegmentData> data);
  std::shared_ptr<const internal::SegmentData> data_;
};

}  // namespace tagindex

#endif  // TAGINDEX_SEGMENT_H_
