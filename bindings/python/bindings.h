// Entry points of the _tagindex extension's parts (one per area).
#ifndef TAGINDEX_BINDINGS_PYTHON_BINDINGS_H_
#define TAGINDEX_BINDINGS_PYTHON_BINDINGS_H_

#include <pybind11/pybind11.h>

#include <utility>

namespace tagindex::python {

void BindIndex(pybind11::module_& m);

// Runs `fn` with the GIL released: every call into the index may wait for
// its reader/writer lock or do real work, and other Python threads must keep
// running meanwhile. Statuses are checked after the GIL is back.
template <typename Fn>
auto WithoutGil(Fn&& fn) -> decltype(fn()) {
  pybind11::gil_scoped_release release;
  return std::forward<Fn>(fn)();
}

}  // namespace tagindex::python

#endif  // TAGINDEX_BINDINGS_PYTHON_BINDINGS_H_
