// The private extension module `tagindex._tagindex`. Users import the
// pure-Python package `tagindex`, which wraps these low-level classes.
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "status.h"
#include "tagindex/version.h"

PYBIND11_MODULE(_tagindex, m) {
  m.doc() = "Private C++ core of the tagindex package; use `import tagindex` instead.";
  m.attr("__version__") = TAGINDEX_VERSION_STRING;
  tagindex::python::RegisterStatusTranslator(m);
  tagindex::python::BindOptions(m);
  auto index = tagindex::python::BindIndex(m);
  auto snapshot = tagindex::python::BindQuery(m, index);
  tagindex::python::BindStorage(m, index);
  tagindex::python::BindWriteBatch(m, index);
  tagindex::python::BindImport(m, index);
  tagindex::python::BindAttributes(m, index);
  tagindex::python::BindAnalytics(m, index);
  tagindex::python::BindRules(m, index);
  tagindex::python::BindSharded(m);
  // `_Snapshot` answers the same read calls (written once over both).
  tagindex::python::BindIndexReads(snapshot);
  tagindex::python::BindAttributeReads(snapshot);
  tagindex::python::BindAnalyticsReads(snapshot);
}
