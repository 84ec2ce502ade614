#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The project's one version number (runtime/include/statepack/statepack.h, read into CMake's
# project(VERSION)) reported the same everywhere it reaches in a build tree: the CLI's
# --version, spk_version() of the linked runtime, the CMake package version file (and the
# versions it accepts), both pkg-config files, the Python module's __version__, the man page and
# the newest CHANGELOG entry.
#
#   bash tests/packaging/versions_test.sh SOURCE_DIR BUILD_DIR VERSION STATEPACK LIBRARY_VERSION PYTHON
#
# PYTHON is ON when the build has the Python module (STATEPACK_BUILD_PYTHON).
set -u
if [ $# -ne 6 ]; then
  echo "usage: $0 SOURCE_DIR BUILD_DIR VERSION STATEPACK LIBRARY_VERSION ON|OFF" >&2
  exit 2
fi
SRC=$1 BUILD=$2 VERSION=$3 SP=$4 LIBVERSION=$5 PYTHON_BUILT=$6
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir versions
IFS=. read -r major minor patch <<<"$VERSION"

check "VERSION $VERSION is MAJOR.MINOR.PATCH" grep -qE '^[0-9]+\.[0-9]+\.[0-9]+$' <<<"$VERSION"
header_version=$(sed -nE 's/^#define SPK_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+)$/\2/p' \
  "$SRC/runtime/include/statepack/statepack.h" | paste -sd.)
check "statepack.h's SPK_VERSION_* ($header_version)" test "$header_version" = "$VERSION"
run_expect "statepack --version" "statepack $VERSION" "$SP" --version
check "  and nothing else" test "$("$SP" --version)" = "statepack $VERSION"
run_expect "spk_version() of the linked runtime" "library $VERSION, blob format" "$LIBVERSION"

# The CMake package version file, as find_package(statepack X) would ask it.
version_file="$BUILD/statepackConfigVersion.cmake"
ask() {
  printf 'set(PACKAGE_FIND_VERSION %s)\nstring(REPLACE . ";" v %s)\nlist(GET v 0 PACKAGE_FIND_VERSION_MAJOR)\nlist(GET v 1 PACKAGE_FIND_VERSION_MINOR)\nset(PACKAGE_FIND_VERSION_PATCH 0)\nset(PACKAGE_FIND_VERSION_COUNT 2)\ninclude(%s)\nmessage("version=${PACKAGE_VERSION} compatible=${PACKAGE_VERSION_COMPATIBLE}")\n' \
    "$1" "$1" "$version_file" >"$WORK/ask.cmake"
  cmake -P "$WORK/ask.cmake" 2>&1
}
run_expect "statepackConfigVersion.cmake: find_package(statepack $major.$minor)" \
  "version=$VERSION compatible=TRUE" ask "$major.$minor"
if [ "$major" -eq 0 ]; then
  # 0.x: a new minor version may break the API (docs/compatibility.md).
  run_expect "  refuses find_package(statepack 0.$((minor + 1)))" "compatible=FALSE" ask "0.$((minor + 1))"
  [ "$minor" -gt 0 ] && run_expect "  refuses find_package(statepack 0.$((minor - 1)))" \
    "compatible=FALSE" ask "0.$((minor - 1))"
else
  run_expect "  accepts find_package(statepack $major.0)" "compatible=TRUE" ask "$major.0"
  run_expect "  refuses find_package(statepack $((major + 1)).0)" "compatible=FALSE" ask "$((major + 1)).0"
fi

for pc in statepack-runtime statepack-runtime-zstd; do
  check "$pc.pc: Version: $VERSION" grep -qx "Version: $VERSION" "$BUILD/$pc.pc"
done

if [ "$PYTHON_BUILT" = ON ]; then
  run_expect "statepack.__version__ (Python)" "python $VERSION" \
    env PYTHONPATH="$BUILD/python" "$PY" -c 'import statepack; print("python", statepack.__version__)'
fi

check "man page statepack(1): .TH names statepack $VERSION" \
  grep -q "^\.TH STATEPACK 1 .*\"statepack $VERSION\"" "$BUILD/statepack.1"
newest=$(grep -m1 -E '^## ' "$SRC/CHANGELOG.md")
check "CHANGELOG.md's newest entry is $VERSION ($newest)" test "$newest" = "## $VERSION"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
