// Status -> Python exception plumbing for the _tagindex extension.
//
// C++ calls return absl::Status; the binding code turns a non-OK status into
// a StatusError (a C++ exception that never leaves this extension), and the
// single translator registered by RegisterStatusTranslator turns that into
// an instance of the exception class defined in Python
// (tagindex/_errors.py: `_from_status(code, message, details)`). Keeping the
// class hierarchy in Python lets users subclass, pickle and document it like
// any Python exception.
#ifndef TAGINDEX_BINDINGS_PYTHON_STATUS_H_
#define TAGINDEX_BINDINGS_PYTHON_STATUS_H_

#include <pybind11/pybind11.h>

#include <exception>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace tagindex::python {

class StatusError : public std::exception {
 public:
  explicit StatusError(absl::Status status)
      : status_(std::move(status)), what_(status_.ToString()) {}
  const absl::Status& status() const { return status_; }
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  absl::Status status_;
  std::string what_;
};

inline void ThrowIfError(const absl::Status& status) {
  if (!status.ok()) throw StatusError(status);
}

template <typename T>
T ValueOrThrow(absl::StatusOr<T>&& value) {
  if (!value.ok()) throw StatusError(value.status());
  return *std::move(value);
}

// Registers the one translator from StatusError to tagindex's Python
// exception classes.
void RegisterStatusTranslator(pybind11::module_& m);

// Builds (does not raise) the Python exception for `status`; used by the
// translator and exposed as `_tagindex._error_for_testing`.
pybind11::object MakePythonError(const absl::Status& status);

}  // namespace tagindex::python

#endif  // TAGINDEX_BINDINGS_PYTHON_STATUS_H_
