#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package from a build tree with CPack (into a temporary directory) and checks
# it: its name, its control fields (Package, Version, Architecture, Depends) and its files (CLI,
# runtime and add-on libraries and headers, CMake package, pkg-config files, Python module, man
# page, examples, copyright). Then runs what it holds, unpacked: the CLI's and the Python
# module's versions and pkg-config's. Installing it on a fresh Debian 12 is
# scripts/test-deb-install.sh.
#
#   bash tests/packaging/deb_package_test.sh SOURCE_DIR BUILD_DIR VERSION
set -u
if [ $# -ne 3 ]; then
  echo "usage: $0 SOURCE_DIR BUILD_DIR VERSION" >&2
  exit 2
fi
SRC=$(realpath -- "$1") || exit 2
BUILD=$(realpath -- "$2") || exit 2
VERSION=$3
TEST_LOG_FROM=tail
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir deb_package

arch=$(dpkg --print-architecture)
deb="$WORK/statepack_${VERSION}_${arch}.deb"
check "cpack -G DEB" cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK"
check "  makes statepack_${VERSION}_${arch}.deb" test -f "$deb"
[ -f "$deb" ] || { echo "$PASSED passed, $FAILED failed"; exit 1; }

field() { dpkg-deb -f "$deb" "$1"; }
check "Package: statepack" test "$(field Package)" = statepack
check "Version: $VERSION" test "$(field Version)" = "$VERSION"
check "Architecture: $arch" test "$(field Architecture)" = "$arch"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./||' >"$WORK/files"
python_tag=$(grep -oE 'cpython-3[0-9]+' "$WORK/files" | head -1)
python_minor=${python_tag#cpython-3}
depends=$(field Depends)
# What the CLI and the extension link (computed by dpkg-shlibdeps), Debian's python3 of the
# extension's minor version, NumPy, and what the installed zstd add-on needs to link.
for dep in "libc6 (" "libstdc++6 (" "libzstd1 (" "libxxhash0 (" "zlib1g (" \
  "python3 (>= 3.$python_minor)" "python3 (<< 3.$((python_minor + 1)))" python3-numpy \
  libzstd-dev pkg-config; do
  check "Depends has $dep" grep -qF -- "$dep" <<<"$depends"
done
check "Depends has no -dev package but libzstd-dev" \
  test "$(tr ',' '\n' <<<"$depends" | grep -c -- '-dev')" -eq 1

has() { check "contains /$1" grep -qxE -- "$1" "$WORK/files"; }
has usr/bin/statepack
for h in statepack.h statepack.hpp format.h minifloat.h; do has "usr/include/statepack/$h"; done
has usr/lib/libstatepack_runtime.a
# Every runtime add-on of the source tree (runtime/NAME/ with a CMakeLists.txt): its library
# and its public headers.
for dir in "$SRC"/runtime/*/; do
  name=$(basename "$dir")
  [ -f "$dir/CMakeLists.txt" ] || continue
  has "usr/lib/libstatepack_runtime_$name.a"
  for h in "$dir"include/statepack/*.h; do
    [ -e "$h" ] && has "usr/include/statepack/$(basename "$h")"
  done
done
for f in statepackConfig.cmake statepackConfigVersion.cmake statepackTargets.cmake \
  statepackZstdTargets.cmake StatepackBlob.cmake; do
  has "usr/lib/cmake/statepack/$f"
done
has usr/lib/pkgconfig/statepack-runtime.pc
has usr/lib/pkgconfig/statepack-runtime-zstd.pc
has usr/lib/python3/dist-packages/statepack/__init__.py
has usr/lib/python3/dist-packages/statepack/torch/__init__.py
has "usr/lib/python3/dist-packages/statepack/_core\.cpython-3[0-9]+-[a-z0-9_]+-linux-gnu\.so"
has usr/share/man/man1/statepack.1
has usr/share/doc/statepack/copyright
has usr/share/doc/statepack/CHANGELOG.md
has usr/share/doc/statepack/examples/tiny_mlp/tiny_mlp.safetensors
has usr/share/doc/statepack/examples/linux_mmap/run_tiny_mlp.c
check "every file is under /usr" sh -c "! grep -vE '^(usr/.*)?$' '$WORK/files'"

echo "== unpacked"
ROOT="$WORK/root"
check "dpkg-deb -x" dpkg-deb -x "$deb" "$ROOT"
check "no file names the build or source directory" \
  sh -c "! grep -rlF -e '$BUILD' -e '$SRC/' '$ROOT/usr/lib/cmake' '$ROOT/usr/lib/pkgconfig' '$ROOT/usr/share'"
run_expect "its statepack --version" "statepack $VERSION" "$ROOT/usr/bin/statepack" --version
run_expect "its pkg-config files" "$VERSION $VERSION" sh -c "PKG_CONFIG_PATH='$ROOT/usr/lib/pkgconfig' \
  pkg-config --modversion statepack-runtime statepack-runtime-zstd | paste -sd' '"
run_expect "its Python module's __version__" "python $VERSION" env PYTHONPATH="$ROOT/usr/lib/python3/dist-packages" \
  "$PY" -c 'import statepack; print("python", statepack.__version__)'
check "its man page is for $VERSION" grep -q "\"statepack $VERSION\"" "$ROOT/usr/share/man/man1/statepack.1"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
