#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs a built statepack into a temporary prefix with `cmake --install`, then builds and
# runs the out-of-tree project beside this script against it (find_package, statepack::runtime,
# statepack_add_blob with the installed CLI, COMPONENTS zstd and sign) and C programs built from
# pkg-config's flags alone (the runtime, the zstd add-on decoding a compressed blob, the sign
# add-on checking a signature); finally
# moves the prefix and checks that the pkg-config files still point into it.
#
#   bash tests/consumer/consumer_test.sh SOURCE_DIR BUILD_DIR [FLAGS]
#
# FLAGS (one word, may be empty) goes to the consumers' compile and link lines, e.g.
# -fsanitize=address,undefined when the installed runtime was built with the sanitizers.
set -u
if [ $# -ne 2 ] && [ $# -ne 3 ]; then
  echo "usage: $0 SOURCE_DIR BUILD_DIR [FLAGS]" >&2
  exit 2
fi
SRC=$(realpath -- "$1") || exit 2
BUILD=$(realpath -- "$2") || exit 2
FLAGS=${3:-}
# Build logs end with the error: failures show their tail.
TEST_LOG_FROM=tail
TEST_LOG_LINES=25
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir consumer

PREFIX="$WORK/prefix"
echo "== cmake --install into a temporary prefix"
check "cmake --install" cmake --install "$BUILD" --prefix "$PREFIX"
for f in include/statepack/statepack.h include/statepack/statepack.hpp include/statepack/format.h \
  lib/libstatepack_runtime.a bin/statepack lib/cmake/statepack/statepackConfig.cmake \
  lib/cmake/statepack/statepackConfigVersion.cmake lib/cmake/statepack/statepackTargets.cmake \
  lib/cmake/statepack/StatepackBlob.cmake lib/pkgconfig/statepack-runtime.pc \
  include/statepack/statepack_zstd.h lib/libstatepack_runtime_zstd.a \
  lib/cmake/statepack/statepackZstdTargets.cmake lib/pkgconfig/statepack-runtime-zstd.pc \
  include/statepack/statepack_sign.h lib/libstatepack_runtime_sign.a lib/libstatepack_sign_crypto.a \
  lib/pkgconfig/statepack-runtime-sign.pc; do
  check "  installed $f" test -e "$PREFIX/$f"
done
run_expect "  the installed CLI runs" "statepack" "$PREFIX/bin/statepack" --version

# The Python package, when the build has it: PREFIX/lib/python3/dist-packages, which Debian's
# python3 searches for the default prefix /usr/local and PYTHONPATH names for any other.
if compgen -G "$BUILD/python/statepack/_core*.so" >/dev/null; then
  echo "== the Python package"
  SITE="$PREFIX/lib/python3/dist-packages"
  for f in statepack/__init__.py statepack/__init__.pyi statepack/py.typed statepack/torch/__init__.py; do
    check "  installed lib/python3/dist-packages/$f" test -e "$SITE/$f"
  done
  check "  installed the extension" compgen -G "$SITE/statepack/_core*.so"
  run_expect "  imported by /usr/bin/python3 from there, it saves and loads" "loaded 64.0" \
    env PYTHONPATH="$SITE" /usr/bin/python3 -c "
import numpy as np, statepack
assert statepack.__file__.startswith('$SITE'), statepack.__file__
statepack.save({'w': np.ones((8, 8), np.float32)}, '$WORK/py.spk')
print('loaded', statepack.load('$WORK/py.spk')['w'].sum())"
  # The default prefix: the directory Debian's python3 searches (through DESTDIR, not the system).
  if grep -q '^CMAKE_INSTALL_PREFIX:PATH=/usr/local$' "$BUILD/CMakeCache.txt"; then
    check "  cmake --install for the default prefix (DESTDIR)" \
      env DESTDIR="$WORK/destdir" cmake --install "$BUILD" --component python
    site=$(cd "$WORK/destdir" && ls -d usr/local/lib/python3*/dist-packages/statepack 2>&1)
    run_expect "  into a directory /usr/bin/python3 searches" "searched" /usr/bin/python3 -c "
import os, site
d = os.path.dirname('/$site')
print('searched' if d in site.getsitepackages() else f'{d} not in {site.getsitepackages()}')"
  fi
fi

echo "== an out-of-tree project: find_package(statepack) + statepack_add_blob"
extra=()
[ -n "$FLAGS" ] && extra=(-DCMAKE_C_FLAGS="$FLAGS" -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS")
check "configure" cmake -G "Unix Makefiles" -S "$SRC/tests/consumer" -B "$WORK/build" \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DSTATEPACK_MODEL="$SRC/examples/tiny_mlp/tiny_mlp.safetensors" "${extra[@]}"
check "build" cmake --build "$WORK/build"
run_expect "  consumer_c" "consumer_c: 6 tensors" "$WORK/build/consumer_c"
run_expect "  consumer_cpp" "alignment 128 (aligned)" "$WORK/build/consumer_cpp"
check "  pack a compressed and a raw blob with the installed CLI" sh -c "'$PREFIX/bin/statepack' pack \
  '$SRC/examples/tiny_mlp/tiny_mlp.safetensors' -o '$WORK/zstd.spk' --compress zstd >/dev/null && \
  '$PREFIX/bin/statepack' pack '$SRC/examples/tiny_mlp/tiny_mlp.safetensors' -o '$WORK/raw.spk' >/dev/null"
run_expect "  zstd_consumer (statepack::runtime_zstd) decodes them" "zstd_consumer: ok, 2 zstd tensors" \
  "$WORK/build/zstd_consumer" "$WORK/zstd.spk" "$WORK/raw.spk"
# Signed blobs: a key from the installed CLI, its raw 32 bytes (the DER's last 32), a signed
# and an unsigned blob.
check "  keygen, pack --sign and a plain pack with the installed CLI" sh -c "'$PREFIX/bin/statepack' \
  keygen -o '$WORK/ck' >/dev/null && sed -n 2p '$WORK/ck.pub' | base64 -d | tail -c 32 >'$WORK/ck.raw' && \
  '$PREFIX/bin/statepack' pack '$SRC/examples/tiny_mlp/tiny_mlp.safetensors' -o '$WORK/signed.spk' \
  --sign '$WORK/ck.key' >/dev/null"
run_expect "  sign_consumer (statepack::runtime_sign) accepts the signed blob" "sign_consumer: ok" \
  "$WORK/build/sign_consumer" "$WORK/signed.spk" "$WORK/ck.raw"
run_expect "  and refuses the unsigned one" "sign_consumer: status 500" \
  sh -c "! '$WORK/build/sign_consumer' '$WORK/raw.spk' '$WORK/ck.raw'"
mkdir -p "$WORK/bogus"
printf 'cmake_minimum_required(VERSION 3.25)\nproject(bogus C)\nfind_package(statepack REQUIRED COMPONENTS bogus)\n' \
  >"$WORK/bogus/CMakeLists.txt"
run_expect "  find_package(statepack COMPONENTS bogus) is refused" "statepack has no component 'bogus'" \
  sh -c "! cmake -S '$WORK/bogus' -B '$WORK/bogus/b' -DCMAKE_PREFIX_PATH='$PREFIX' 2>&1"
mkdir -p "$WORK/too_new"
printf 'cmake_minimum_required(VERSION 3.25)\nproject(too_new C)\nfind_package(statepack 9.0 REQUIRED)\n' \
  >"$WORK/too_new/CMakeLists.txt"
check "  find_package(statepack 9.0) is refused" sh -c "! cmake -S '$WORK/too_new' -B '$WORK/too_new/b' \
  -DCMAKE_PREFIX_PATH='$PREFIX' >/dev/null 2>&1"

echo "== pkg-config"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
run_expect "  --modversion" "$(sed -n 's/^project(statepack VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")" \
  pkg-config --modversion statepack-runtime
check "  pack a blob with the installed CLI" "$PREFIX/bin/statepack" pack \
  "$SRC/examples/tiny_mlp/tiny_mlp.safetensors" -o "$WORK/model.spk"
# shellcheck disable=SC2046
check "  a C program from pkg-config's flags alone" gcc -std=c99 -Wall -Wextra -Werror $FLAGS \
  $(pkg-config --cflags statepack-runtime) "$SRC/tests/consumer/pkgconfig_consumer.c" \
  $(pkg-config --libs statepack-runtime) -o "$WORK/pkgconfig_consumer"
run_expect "  which opens the blob" "pkgconfig_consumer: ok, 6 tensors" "$WORK/pkgconfig_consumer" "$WORK/model.spk"
# shellcheck disable=SC2046
check "  the zstd add-on from pkg-config's flags alone" gcc -std=c99 -Wall -Wextra -Werror $FLAGS \
  $(pkg-config --cflags statepack-runtime-zstd) "$SRC/tests/consumer/zstd_consumer.c" \
  $(pkg-config --libs statepack-runtime-zstd) -o "$WORK/zstd_consumer_pc"
run_expect "  which decodes the compressed tensors" "zstd_consumer: ok, 2 zstd tensors" \
  "$WORK/zstd_consumer_pc" "$WORK/zstd.spk" "$WORK/raw.spk"
check "  the sign add-on from pkg-config's flags alone" gcc -std=c99 -Wall -Wextra -Werror $FLAGS \
  $(pkg-config --cflags statepack-runtime-sign) "$SRC/tests/consumer/sign_consumer.c" \
  $(pkg-config --libs statepack-runtime-sign) -o "$WORK/sign_consumer_pc"
run_expect "  which checks the signature" "sign_consumer: ok" \
  "$WORK/sign_consumer_pc" "$WORK/signed.spk" "$WORK/ck.raw"
mv "$PREFIX" "$WORK/moved"
export PKG_CONFIG_PATH="$WORK/moved/lib/pkgconfig"
# shellcheck disable=SC2046
check "  after moving the prefix, its flags still build" gcc -std=c99 $FLAGS \
  $(pkg-config --cflags statepack-runtime) "$SRC/tests/consumer/pkgconfig_consumer.c" \
  $(pkg-config --libs statepack-runtime) -o "$WORK/pkgconfig_consumer_moved"
run_expect "  and run" "pkgconfig_consumer: ok" "$WORK/pkgconfig_consumer_moved" "$WORK/model.spk"
# shellcheck disable=SC2046
check "  and the zstd add-on's" gcc -std=c99 $FLAGS $(pkg-config --cflags statepack-runtime-zstd) \
  "$SRC/tests/consumer/zstd_consumer.c" $(pkg-config --libs statepack-runtime-zstd) \
  -o "$WORK/zstd_consumer_moved"

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
