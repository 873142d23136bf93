#include "convert.h"

#include <variant>

#include "absl/status/status.h"
#include "status.h"

namespace tagindex::python {

std::span<const char> BytesSpan(const py::bytes& b) {
  char* data = nullptr;
  Py_ssize_t size = 0;
  if (PyBytes_AsStringAndSize(b.ptr(), &data, &size) != 0) throw py::error_already_set();
  return {data, static_cast<size_t>(size)};
}

namespace {

std::string_view ViewOf(const py::handle& b) {
  std::span<const char> span = BytesSpan(py::reinterpret_borrow<py::bytes>(b));
  return {span.data(), span.size()};
}

// UTF-8 of a str, lone surrogates included ("surrogatepass", so the library
// reports where the text is invalid).
py::object EncodePass(PyObject* str) {
  PyObject* b = PyUnicode_AsEncodedString(str, "utf-8", "surrogatepass");
  if (b == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(b);
}

}  // namespace

QueryText::QueryText(const py::handle& text, size_t max_bytes) {
  PyObject* obj = text.ptr();
  if (!PyUnicode_Check(obj)) {
    throw py::type_error(std::string("query: expected a str, got ") + Py_TYPE(obj)->tp_name);
  }
  const Py_ssize_t n = PyUnicode_GET_LENGTH(obj);
  if (static_cast<size_t>(n) > max_bytes) {
    // Oversized whatever its encoding: encode a bounded prefix only.
    const size_t keep =
        static_cast<size_t>(n) - max_bytes > 256 ? max_bytes + 256 : static_cast<size_t>(n);
    PyObject* prefix = PyUnicode_Substring(obj, 0, static_cast<Py_ssize_t>(keep));
    if (prefix == nullptr) throw py::error_already_set();
    py::object owned = py::reinterpret_steal<py::object>(prefix);
    holder_ = EncodePass(owned.ptr());
    view_ = ViewOf(holder_);
    return;
  }
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(obj, &size);
  if (utf8 != nullptr) {
    view_ = std::string_view(utf8, static_cast<size_t>(size));
    return;
  }
  PyErr_Clear();  // lone surrogates: at most 3 * max_bytes bytes here
  holder_ = EncodePass(obj);
  view_ = ViewOf(holder_);
}

StringKeys ToStringKeys(const py::handle& seq) {
  StringKeys out;
  // PySequence_List copies the references, so our list owns every item.
  PyObject* list = PySequence_List(seq.ptr());
  if (list == nullptr) throw py::error_already_set();
  out.owner = py::reinterpret_steal<py::list>(list);
  const Py_ssize_t n = PyList_GET_SIZE(list);
  out.views.reserve(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PyList_GET_ITEM(list, i);
    if (!PyUnicode_Check(item)) {
      ThrowIfError(absl::InvalidArgumentError("string keys: mixed key types: item " +
                                              std::to_string(i) + " is a " +
                                              std::string(Py_TYPE(item)->tp_name) +
                                              ", not a str (every key of a batch must be a str)"));
    }
    Py_ssize_t size = 0;
    const char* utf8 = PyUnicode_AsUTF8AndSize(item, &size);
    if (utf8 == nullptr) {
      // Lone surrogates (e.g. from os.fsdecode) have no UTF-8 form.
      PyErr_Clear();
      ThrowIfError(absl::InvalidArgumentError(
          "string keys: item " + std::to_string(i) +
          " is not valid Unicode text (it holds a lone surrogate code point)"));
    }
    out.views.emplace_back(utf8, static_cast<size_t>(size));
  }
  return out;
}

py::list ToPyStrings(const std::vector<std::string>& strings) {
  py::list out(strings.size());
  for (size_t i = 0; i < strings.size(); ++i) {
    PyObject* s = PyUnicode_DecodeUTF8(strings[i].data(),
                                       static_cast<Py_ssize_t>(strings[i].size()), "replace");
    if (s == nullptr) throw py::error_already_set();
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), s);
  }
  return out;
}

py::object KeysToPy(std::vector<CustomerKey>&& keys, KeyKind kind) {
  if (kind == KeyKind::kString) {
    std::vector<std::string> strings;
    strings.reserve(keys.size());
    for (auto& k : keys) strings.push_back(std::move(std::get<std::string>(k)));
    return ToPyStrings(strings);
  }
  std::vector<int64_t> ints(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) ints[i] = std::get<int64_t>(keys[i]);
  return ToNumpy(std::move(ints));
}

py::object ToPy(const CustomerKey& key) {
  if (const auto* i = std::get_if<int64_t>(&key)) return py::int_(*i);
  const std::string& s = std::get<std::string>(key);
  return py::reinterpret_steal<py::object>(
      PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
}

py::object Int128ToPy(absl::int128 v) {
  std::string text;
  const bool negative = v < 0;
  absl::uint128 mag = negative ? -static_cast<absl::uint128>(v) : static_cast<absl::uint128>(v);
  if (mag == 0) text = "0";
  while (mag > 0) {
    text.insert(text.begin(), static_cast<char>('0' + static_cast<int>(mag % 10)));
    mag /= 10;
  }
  if (negative) text.insert(text.begin(), '-');
  return py::int_(py::str(text));
}

}  // namespace tagindex::python
