# Install rules: the public headers, libtagindex.a, the CMake package
# (tagindexConfig.cmake, tagindexConfigVersion.cmake, tagindexTargets.cmake
# with tagindex::tagindex) and tagindex.pc. tests/consumer checks all of it.
include(CMakePackageConfigHelpers)

set(TAGINDEX_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tagindex)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tagindex
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS tagindex EXPORT tagindexTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT tagindexTargets NAMESPACE tagindex:: FILE tagindexTargets.cmake
        DESTINATION ${TAGINDEX_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tagindexConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tagindexConfig.cmake INSTALL_DESTINATION ${TAGINDEX_CMAKE_DIR})
# 0.x: a minor version may change the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tagindexConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tagindexConfig.cmake
              ${PROJECT_BINARY_DIR}/tagindexConfigVersion.cmake
        DESTINATION ${TAGINDEX_CMAKE_DIR})

# tagindex.pc: the library is static, so its dependencies go in Requires (and
# Libs for CRoaring, which ships no .pc) for a plain `pkg-config --libs`.
set(TAGINDEX_PC_REQUIRES)
set(TAGINDEX_PC_LIBS)
foreach(dep IN LISTS TAGINDEX_LINK_DEPS ITEMS absl::status absl::statusor)
  if(dep MATCHES "^absl::(.+)$")
    list(APPEND TAGINDEX_PC_REQUIRES absl_${CMAKE_MATCH_1})
  elseif(dep STREQUAL "PkgConfig::xxhash")
    list(APPEND TAGINDEX_PC_REQUIRES libxxhash)
  elseif(dep STREQUAL "roaring::roaring")
    list(APPEND TAGINDEX_PC_LIBS -lroaring)
  else()
    message(FATAL_ERROR "tagindex links ${dep}: say in cmake/install.cmake how tagindex.pc "
                        "names it and in cmake/tagindexConfig.cmake.in how it is found")
  endif()
endforeach()
list(REMOVE_DUPLICATES TAGINDEX_PC_REQUIRES)
list(JOIN TAGINDEX_PC_REQUIRES ", " TAGINDEX_PC_REQUIRES)
list(JOIN TAGINDEX_PC_LIBS " " TAGINDEX_PC_LIBS)
file(RELATIVE_PATH TAGINDEX_PC_PREFIX_FROM_PCDIR
     /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" TAGINDEX_PC_PREFIX_FROM_PCDIR "${TAGINDEX_PC_PREFIX_FROM_PCDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/tagindex.pc.in ${PROJECT_BINARY_DIR}/tagindex.pc
               @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tagindex.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
