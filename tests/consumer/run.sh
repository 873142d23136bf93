#!/usr/bin/env bash
# Builds and runs the consumer project (tests/consumer) against tagindex the
# way a host would. One step per ctest test:
#
#   run.sh install   BUILD SCRATCH          cmake --install BUILD into SCRATCH/prefix,
#                                           then check the installed tree
#   run.sh config    BUILD SCRATCH CXX      find_package(tagindex CONFIG) from the prefix
#   run.sh pkgconfig BUILD SCRATCH CXX      $CXX main.cc $(pkg-config --cflags --libs tagindex)
#   run.sh subdir    BUILD SCRATCH CXX SRC  add_subdirectory(SRC): builds the library
#                                           targets only, without optimisation
#
# TAGINDEX_EXPECTED_VERSION (the project's version) is what the installed
# package must say. Each step also proves that tagindex's src/ is not on the host's include path
# (internal_probe.cc must fail to compile).
set -euo pipefail
step="$1" build="$2" scratch="$3" cxx="${4:-c++}" source="${5:-}"
here="$(cd "$(dirname "$0")" && pwd)"
prefix="$scratch/prefix"
version="${TAGINDEX_EXPECTED_VERSION:?set TAGINDEX_EXPECTED_VERSION to project(VERSION)}"
mkdir -p "$scratch"

fail() { echo "consumer $step: FAILED: $*" >&2; exit 1; }

expect_probe_fails() {  # $1: log of the failed probe build
  if grep -q "bitmap/bitmap.h" "$1"; then
    echo "consumer $step: internal header not visible to the host (as intended)"
  else
    cat "$1" >&2
    fail "internal_probe.cc failed for another reason than the missing internal header"
  fi
}

libdir_of() {  # the prefix's lib dir holding tagindex (lib or lib/<multiarch>)
  local pc
  pc="$(find "$prefix" -name tagindex.pc -path '*/pkgconfig/*' | head -1)"
  [ -n "$pc" ] || fail "no tagindex.pc under $prefix"
  dirname "$(dirname "$pc")"
}

case "$step" in
  install)
    rm -rf "$prefix"
    "${CMAKE:-cmake}" --install "$build" --prefix "$prefix" > "$scratch/install.log" \
      || { cat "$scratch/install.log" >&2; fail "cmake --install"; }
    libdir="$(libdir_of)"
    for f in "$libdir/libtagindex.a" "$libdir/cmake/tagindex/tagindexConfig.cmake" \
             "$libdir/cmake/tagindex/tagindexConfigVersion.cmake" \
             "$libdir/cmake/tagindex/tagindexTargets.cmake" "$libdir/pkgconfig/tagindex.pc"; do
      [ -f "$f" ] || fail "not installed: ${f#"$prefix"/}"
    done
    # Exactly the public headers, nothing from src/.
    source_root="$(cd "$here/../.." && pwd)"
    expected="$(cd "$source_root/include" && find tagindex -name '*.h' | sort)"
    installed="$(cd "$prefix/include" && find . -type f | sed 's|^\./||' | sort)"
    [ "$expected" = "$installed" ] || fail "installed headers differ from include/:
$(diff <(echo "$expected") <(echo "$installed") || true)"
    # One archive holds every layer: no internal library is left to link.
    [ "$(ar t "$libdir/libtagindex.a" | grep -c '\.o$')" -gt 0 ] || fail "libtagindex.a is empty"
    [ -z "$(find "$prefix" -name 'libtagindex_*')" ] || fail "an internal library was installed"
    echo "consumer install: $(echo "$installed" | wc -l) headers, $(ar t "$libdir/libtagindex.a" | wc -l) objects in libtagindex.a, CMake package and tagindex.pc in ${libdir#"$prefix"/}"
    ;;
  config)
    rm -rf "$scratch/config"
    "${CMAKE:-cmake}" -S "$here" -B "$scratch/config" -G Ninja -DCONSUME=config \
      -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" \
      -DTAGINDEX_WANTED_VERSION="$version" > "$scratch/config.log" 2>&1 \
      || { cat "$scratch/config.log" >&2; fail "configure with find_package(tagindex CONFIG)"; }
    "${CMAKE:-cmake}" --build "$scratch/config" --parallel 2 --target consumer > "$scratch/config-build.log" 2>&1 \
      || { cat "$scratch/config-build.log" >&2; fail "build"; }
    "$scratch/config/consumer"
    if "${CMAKE:-cmake}" --build "$scratch/config" --parallel 2 --target internal_probe > "$scratch/probe.log" 2>&1; then
      fail "internal_probe.cc compiled: src/ is on the include path of tagindex::tagindex"
    fi
    expect_probe_fails "$scratch/probe.log"
    # The version file accepts the same minor version only.
    rm -rf "$scratch/config-version"
    if "${CMAKE:-cmake}" -S "$here" -B "$scratch/config-version" -G Ninja -DCONSUME=config \
         -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" \
         -DTAGINDEX_WANTED_VERSION=99.0 > "$scratch/config-version.log" 2>&1; then
      fail "find_package(tagindex 99.0) accepted version $(grep -o 'PACKAGE_VERSION "[^"]*"' \
        "$(libdir_of)/cmake/tagindex/tagindexConfigVersion.cmake" | head -1)"
    fi
    grep -q "compatible with requested version" "$scratch/config-version.log" \
      || { cat "$scratch/config-version.log" >&2; fail "99.0 rejected for another reason"; }
    echo "consumer config: find_package(tagindex 99.0) is refused, as it should be"
    ;;
  pkgconfig)
    export PKG_CONFIG_PATH="$(libdir_of)/pkgconfig"
    flags="$(pkg-config --cflags --libs tagindex)" || fail "pkg-config --cflags --libs tagindex"
    [ "$(pkg-config --modversion tagindex)" = "$version" ] \
      || fail "pkg-config --modversion says $(pkg-config --modversion tagindex), not $version"
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" -std=c++20 -o "$scratch/consumer-pc" "$here/main.cc" $flags \
      || fail "$cxx main.cc \$(pkg-config --cflags --libs tagindex)"
    "$scratch/consumer-pc"
    # shellcheck disable=SC2086
    if "$cxx" -std=c++20 -c -o /dev/null "$here/internal_probe.cc" \
         $(pkg-config --cflags tagindex) > "$scratch/probe-pc.log" 2>&1; then
      fail "internal_probe.cc compiled with pkg-config's flags"
    fi
    expect_probe_fails "$scratch/probe-pc.log"
    ;;
  subdir)
    # Incremental between runs: the nested build of the library is kept.
    "${CMAKE:-cmake}" -S "$here" -B "$scratch/subdir" -G Ninja -DCONSUME=subdir \
      -DTAGINDEX_SOURCE_DIR="$source" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE= \
      > "$scratch/subdir.log" 2>&1 \
      || { cat "$scratch/subdir.log" >&2; fail "configure with add_subdirectory"; }
    "${CMAKE:-cmake}" --build "$scratch/subdir" --parallel 2 --target consumer > "$scratch/subdir-build.log" 2>&1 \
      || { cat "$scratch/subdir-build.log" >&2; fail "build"; }
    "$scratch/subdir/consumer"
    if "${CMAKE:-cmake}" --build "$scratch/subdir" --parallel 2 --target internal_probe > "$scratch/probe-sub.log" 2>&1; then
      fail "internal_probe.cc compiled: src/ is on the include path of tagindex::tagindex"
    fi
    expect_probe_fails "$scratch/probe-sub.log"
    ;;
  *)
    fail "unknown step (install, config, pkgconfig, subdir)"
    ;;
esac
