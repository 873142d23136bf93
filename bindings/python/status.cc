#include "status.h"

#include <pybind11/stl.h>

#include <new>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "tagindex/errors.h"
#include "tagindex/query.h"
#include "tagindex/write_batch.h"

namespace py = pybind11;

namespace tagindex::python {
namespace {

// A payload field as str: subjects may be keys that are not valid UTF-8
// (the error may be about exactly that), so undecodable bytes become
// surrogates (os.fsencode-style) instead of failing the conversion.
py::object Text(const std::string& s) {
  PyObject* o =
      PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "surrogateescape");
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}

// Structured details a status carries (payloads), as a dict the Python
// constructor understands. Unknown payloads are passed on raw under their
// type URL so nothing is lost.
py::dict Details(const absl::Status& status) {
  py::dict details;
  py::dict raw;
  status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
    raw[py::str(std::string(type_url))] = py::bytes(std::string(payload));
  });
  details["payloads"] = raw;
  if (std::optional<QueryErrorLocation> at = GetQueryErrorLocation(status)) {
    py::dict location;
    location["offset"] = at->offset;
    location["line"] = at->line;
    location["column"] = at->column;
    location["snippet"] = at->snippet;
    details["location"] = location;
  }
  if (std::optional<BatchError> batch = GetBatchError(status)) {
    py::dict b;
    b["item"] = batch->item;
    b["kind"] = batch->kind;
    b["subject"] = batch->subject;
    b["reason"] = batch->reason;
    details["batch"] = b;
  }
  if (std::optional<ErrorInfo> info = GetErrorInfo(status)) {
    py::dict e;
    e["kind"] = Text(info->kind_name);
    e["subject"] = Text(info->subject);
    e["path"] = info->path.empty() ? py::object(py::none()) : Text(info->path);
    e["offset"] = info->offset ? py::object(py::int_(*info->offset)) : py::object(py::none());
    e["limit"] = info->limit.empty() ? py::object(py::none()) : Text(info->limit);
    e["detail"] = Text(info->detail);
    e["id"] = info->id ? py::object(py::int_(*info->id)) : py::object(py::none());
    py::list suggestions, candidates;
    for (const std::string& x : info->suggestions) suggestions.append(Text(x));
    for (const std::string& x : info->candidates) candidates.append(Text(x));
    e["suggestions"] = suggestions;
    e["candidates"] = candidates;
    details["error"] = e;
  }
  return details;
}

}  // namespace

py::object MakePythonError(const absl::Status& status) {
  const std::string message(status.message());
  try {
    py::module_ errors = py::module_::import("tagindex._errors");
    return errors.attr("_from_status")(static_cast<int>(status.code()), message, Details(status));
  } catch (py::error_already_set& e) {
    // The pure-Python package is missing (extension imported on its own):
    // still raise something that carries the message.
    return py::module_::import("builtins").attr("RuntimeError")(status.ToString());
  }
}

void RegisterStatusTranslator(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      py::object error = MakePythonError(e.status());
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
    } catch (const std::bad_alloc&) {
      // An allocation of the binding's own (a numpy array's buffer, the
      // (shard, row) arrays of a sharded page) that failed after the library
      // answered: the same error as the library's out-of-memory boundary
      // (ResourceExhaustedError, kind "out_of_memory"), not a bare
      // MemoryError.
      absl::Status status(absl::StatusCode::kResourceExhausted, "python binding: out of memory");
      ErrorInfo info;
      info.kind = ErrorKind::kOutOfMemory;
      info.subject = "python binding";
      SetErrorInfo(status, info);
      py::object error = MakePythonError(status);
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
    }
  });
  m.def(
      "_error_for_testing",
      [](int code, const std::string& message, std::optional<std::string> kind,
         const std::string& subject) {
        absl::Status status(static_cast<absl::StatusCode>(code), message);
        if (kind) {
          ErrorInfo info;
          info.kind = ErrorKindFromName(*kind);
          info.kind_name = *kind;
          info.subject = subject;
          SetErrorInfo(status, info);
        }
        return MakePythonError(status);
      },
      py::arg("code"), py::arg("message"), py::arg("kind") = py::none(), py::arg("subject") = "",
      "Builds the exception the translator would raise for (code, message) and, if given, an "
      "ErrorInfo payload of `kind` and `subject`.");
}

}  // namespace tagindex::python
