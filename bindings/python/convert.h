// Conversions between numpy / Python containers and the spans the C++ API
// takes, without a Python-object-per-element loop where the data allows.
#ifndef TAGINDEX_BINDINGS_PYTHON_CONVERT_H_
#define TAGINDEX_BINDINGS_PYTHON_CONVERT_H_

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/numeric/int128.h"
#include "tagindex/types.h"

namespace tagindex::python {

namespace py = pybind11;

// Dense, C-ordered numpy inputs (pybind11 copies/casts only when needed; the
// Python layer has already checked dtype and range).
using RowArray = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;
using KeyArray = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

inline std::span<const uint32_t> AsSpan(const RowArray& a) {
  return {a.data(), static_cast<size_t>(a.size())};
}
inline std::span<const int64_t> AsSpan(const KeyArray& a) {
  return {a.data(), static_cast<size_t>(a.size())};
}

// The buffer of a bytes object. Bytes are immutable and the caller's
// argument holds the object for the whole call, so the span stays valid with
// the GIL released.
std::span<const char> BytesSpan(const py::bytes& b);

// The text of a query argument (a str; anything else is TypeError), with
// an oversized text refused before it is copied: a str of
// n code points is at least n UTF-8 bytes, so when n exceeds `max_bytes`
// only a bounded prefix (`max_bytes` plus 256 code points, enough for the
// error's position and snippet) is encoded, and the library refuses that
// prefix with the same error as the whole text. Otherwise the view is the
// str's own UTF-8 (no copy for ASCII; Python's cached UTF-8 form else).
// The argument object must outlive the view (it does for a call).
class QueryText {
 public:
  QueryText(const py::handle& text, size_t max_bytes);
  QueryText(const QueryText&) = delete;
  QueryText& operator=(const QueryText&) = delete;
  std::string_view view() const { return view_; }

 private:
  py::object holder_;  // an encoded prefix or the bytes form, when made here
  std::string_view view_;
};

// Hands a vector to numpy without copying: the array owns the vector.
template <typename T>
py::array_t<T> ToNumpy(std::vector<T>&& v) {
  auto* owned = new std::vector<T>(std::move(v));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(static_cast<py::ssize_t>(owned->size()), owned->data(), owner);
}

// UTF-8 views of a sequence of str. The views point into the str objects'
// cached UTF-8 buffers; `owner` (a private list) keeps those objects alive
// while the GIL is released, even if the caller's sequence changes.
struct StringKeys {
  py::list owner;
  std::vector<std::string_view> views;
};
StringKeys ToStringKeys(const py::handle& seq);

// A Python list of str from UTF-8 strings (keys are validated UTF-8).
py::list ToPyStrings(const std::vector<std::string>& strings);

// Keys in order: a numpy int64 array for integer-keyed indexes (kind
// kInt64 / kIdentity), a list of str for string-keyed ones.
py::object KeysToPy(std::vector<CustomerKey>&& keys, KeyKind kind);

// A CustomerKey as a Python int or str.
py::object ToPy(const CustomerKey& key);

// A 128-bit sum (attribute aggregates) as a Python int, exact (through text).
py::object Int128ToPy(absl::int128 v);

}  // namespace tagindex::python

#endif  // TAGINDEX_BINDINGS_PYTHON_CONVERT_H_
