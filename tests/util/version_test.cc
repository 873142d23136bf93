// include/tagindex/version.h against project(VERSION) of the CMakeLists.txt
// (passed in as TAGINDEX_PROJECT_VERSION) and against itself.
#include "tagindex/version.h"

#include <catch2/catch.hpp>
#include <string>

TEST_CASE("version: the header says what project(VERSION) says", "[version]") {
  CHECK(std::string(TAGINDEX_VERSION_STRING) == TAGINDEX_PROJECT_VERSION);
  CHECK(std::to_string(TAGINDEX_VERSION_MAJOR) + "." + std::to_string(TAGINDEX_VERSION_MINOR) +
            "." + std::to_string(TAGINDEX_VERSION_PATCH) ==
        TAGINDEX_VERSION_STRING);
}

TEST_CASE("version: TAGINDEX_VERSION orders versions", "[version]") {
  CHECK(TAGINDEX_VERSION ==
        TAGINDEX_VERSION_MAJOR * 10000 + TAGINDEX_VERSION_MINOR * 100 + TAGINDEX_VERSION_PATCH);
  CHECK(TAGINDEX_MAKE_VERSION(0, 9, 99) < TAGINDEX_MAKE_VERSION(1, 0, 0));
  CHECK(TAGINDEX_MAKE_VERSION(1, 2, 3) < TAGINDEX_MAKE_VERSION(1, 3, 0));
  STATIC_REQUIRE(TAGINDEX_VERSION_MINOR < 100);
  STATIC_REQUIRE(TAGINDEX_VERSION_PATCH < 100);
}
