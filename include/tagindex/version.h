// The version of the tagindex headers, as macros for the preprocessor.
//
//   #if TAGINDEX_VERSION >= TAGINDEX_MAKE_VERSION(0, 2, 0) ... #endif
//
// Kept equal to `project(tagindex VERSION ...)` in the top CMakeLists.txt:
// configuring fails when they differ, and the version test compares both.
// The Python package reports the same string as `tagindex.__version__`.
// Header only; nothing to link, safe from any thread.
#ifndef TAGINDEX_VERSION_H_
#define TAGINDEX_VERSION_H_

#define TAGINDEX_VERSION_MAJOR 0
#define TAGINDEX_VERSION_MINOR 1
#define TAGINDEX_VERSION_PATCH 0
#define TAGINDEX_VERSION_STRING "0.1.0"

// One comparable number: major * 10000 + minor * 100 + patch.
#define TAGINDEX_MAKE_VERSION(major, minor, patch) ((major)*10000 + (minor)*100 + (patch))
#define TAGINDEX_VERSION \
  TAGINDEX_MAKE_VERSION(TAGINDEX_VERSION_MAJOR, TAGINDEX_VERSION_MINOR, TAGINDEX_VERSION_PATCH)

#endif  // TAGINDEX_VERSION_H_
