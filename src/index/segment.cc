#include "tagindex/segment.h"

#include "absl/strings/str_cat.h"
#include "index/access.h"
#include "index/index_state.h"
#include "index/segment_data.h"
#include "tagindex/index.h"
#include "util/error_info.h"

namespace tagindex {
namespace {

const std::shared_ptr<const internal::SegmentData>& EmptyData() {
  static const auto* empty =
      new std::shared_ptr<const internal::SegmentData>(std::make_shared<internal::SegmentData>());
  return *empty;
}

// Where a materialising read becomes a status: std::bad_alloc (a vector,
// a blob, or CRoaring's NULL turned into bad_alloc by Bitmap) is
// ResourceExhausted with the out_of_memory kind, as for the index's reads
// (internal::Guarded), so no exception crosses the API.
template <typename Fn>
auto SegmentGuarded(Fn&& fn) -> decltype(fn()) {
  return internal::Guarded(std::forward<Fn>(fn), "segment");
}

}  // namespace

Segment::Segment() : data_(EmptyData()) {}
Segment::Segment(std::shared_ptr<const internal::SegmentData> data) : data_(std::move(data)) {}
Segment::~Segment() = default;
Segment::Segment(const Segment&) = default;
Segment& Segment::operator=(const Segment&) = default;
// A moved-from Segment stays a valid empty segment.
Segment::Segment(Segment&& other) noexcept : data_(std::move(other.data_)) {
  other.data_ = EmptyData();
}
Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    data_ = std::move(other.data_);
    other.data_ = EmptyData();
  }
  return *this;
}

uint64_t Segment::Count() const { return data_->rows.Cardinality(); }
bool Segment::Contains(RowId row) const { return data_->rows.Contains(row); }
absl::StatusOr<std::vector<RowId>> Segment::Rows() const {
  return SegmentGuarded(
      [&]() -> absl::StatusOr<std::vector<RowId>> { return data_->rows.ToVector(); });
}

void Segment::ForEach(const std::function<bool(RowId)>& fn) const { data_->rows.ForEach(fn); }

// A block of 256 rows (1 KiB) amortises the decode call and stays in L1.
constexpr size_t kIteratorBlock = 256;

struct Segment::Iterator::State {
  explicit State(std::shared_ptr<const internal::SegmentData> d)
      : data(std::move(d)), it(data->rows) {}
  std::shared_ptr<const internal::SegmentData> data;  // keeps the rows alive
  Bitmap::Iterator it;                                // positioned after `buffer`
  RowId buffer[kIteratorBlock];
};

Segment::Iterator::Iterator(const Segment& segment)
    : state_(std::make_unique<State>(segment.data_)) {
  Refill();
}
Segment::Iterator::~Iterator() = default;
Segment::Iterator::Iterator(Iterator&& other) noexcept
    : state_(std::move(other.state_)), at_(other.at_), end_(other.end_) {
  other.at_ = other.end_ = nullptr;
}
Segment::Iterator& Segment::Iterator::operator=(Iterator&& other) noexcept {
  if (this != &other) {
    state_ = std::move(other.state_);
    at_ = other.at_;
    end_ = other.end_;
    other.at_ = other.end_ = nullptr;
  }
  return *this;
}
void Segment::Iterator::Refill() {
  const size_t n = state_->it.Read(state_->buffer, kIteratorBlock);
  at_ = state_->buffer;
  end_ = state_->buffer + n;
}
void Segment::Iterator::SeekGreaterOrEqual(RowId row) {
  if (state_ == nullptr) return;  // moved from: stays exhausted
  state_->it.SeekGreaterOrEqual(row);
  Refill();
}

absl::StatusOr<std::vector<RowId>> Segment::Page(uint64_t offset, uint64_t limit) const {
  return SegmentGuarded([&]() -> absl::StatusOr<std::vector<RowId>> {
    std::vector<RowId> out;
    if (offset >= Count() || limit == 0) return out;
    data_->rows.RangeToVector(offset, limit, &out);
    return out;
  });
}

absl::StatusOr<std::vector<RowId>> Segment::PageAfter(std::optional<RowId> after,
                                                      uint64_t limit) const {
  return SegmentGuarded([&]() -> absl::StatusOr<std::vector<RowId>> {
    std::vector<RowId> out;
    if (limit == 0) return out;
    if (after && *after == UINT32_MAX) return out;
    Bitmap::Iterator it(data_->rows);
    if (after) it.SeekGreaterOrEqual(*after + 1);
    const uint64_t n = std::min<uint64_t>(limit, Count());
    out.resize(n);
    out.resize(it.Read(out.data(), n));
    return out;
  });
}

absl::StatusOr<std::vector<CustomerKey>> Segment::KeysOf(std::span<const RowId> rows) const {
  return SegmentGuarded([&]() -> absl::StatusOr<std::vector<CustomerKey>> {
    if (data_->version == nullptr) {
      return util::Error(absl::StatusCode::kFailedPrecondition, ErrorKind::kPrecondition, "segment",
                         "segment: this segment belongs to no index");
    }
    // The segment's own version (alive as long as the segment): its keys are
    // those of the moment the query ran, even after the Index is gone.
    const internal::Version& s = *data_->version;
    std::vector<CustomerKey> keys;
    keys.reserve(rows.size());
    for (RowId r : rows) {
      if (r >= s.row_limit) {
        return util::Error(absl::StatusCode::kNotFound, ErrorKind::kUnknownCustomer,
                           absl::StrCat("row ", r),
                           absl::StrCat("segment: row ", r, " was never assigned by the index"));
      }
      keys.push_back(s.keys->KeyOf(r));
    }
    return keys;
  });
}

namespace {

template <typename Fn>
absl::StatusOr<Segment> Combine(const Segment& a, const Segment& b, const char* op, Fn&& fn) {
  if (a.index() != b.index()) {
    return util::Error(absl::StatusCode::kInvalidArgument, ErrorKind::kBadValue, "segment",
                       absl::StrCat("segment: cannot ", op, " segments of different indexes"));
  }
  auto data = std::make_shared<internal::SegmentData>();
  const internal::SegmentData& da = internal::Access::Data(a);
  const internal::SegmentData& db = internal::Access::Data(b);
  data->index = a.index();
  // The newer version (by commit count) of the two: KeysOf can name every
  // row of either (rows are never reused, and keys are never forgotten).
  data->version = da.version == nullptr ||
                          (db.version != nullptr && db.version->sequence > da.version->sequence)
                      ? db.version
                      : da.version;
  try {
    data->rows = fn(da.rows, db.rows);
  } catch (const std::bad_alloc&) {
    return util::Error(absl::StatusCode::kResourceExhausted, ErrorKind::kOutOfMemory, "segment",
                       "segment: out of memory");
  }
  return internal::Access::MakeSegment(std::move(data));
}

}  // namespace

absl::StatusOr<Segment> Segment::Intersect(const Segment& other) const {
  return Combine(*this, other, "intersect", Bitmap::And);
}
absl::StatusOr<Segment> Segment::Union(const Segment& other) const {
  return Combine(*this, other, "unite", Bitmap::Or);
}
absl::StatusOr<Segment> Segment::Difference(const Segment& other) const {
  return Combine(*this, other, "subtract", Bitmap::AndNot);
}
absl::StatusOr<Segment> Segment::SymmetricDifference(const Segment& other) const {
  return Combine(*this, other, "xor", Bitmap::Xor);
}

bool Segment::SameRows(const Segment& other) const { return data_->rows.Equals(other.data_->rows); }

absl::StatusOr<std::string> Segment::ToPortable() const {
  return SegmentGuarded([&]() -> absl::StatusOr<std::string> {
    std::string out;
    data_->rows.PortableSerialize(&out);
    return out;
  });
}

const Index* Segment::index() const { return data_->index; }

}  // namespace tagindex
