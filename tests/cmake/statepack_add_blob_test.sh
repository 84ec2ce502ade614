#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# statepack_add_blob (cmake/StatepackBlob.cmake) in a real project: the blob is packed at build
# time and linked in; a rebuild with nothing changed packs nothing; changing ARGS, or touching
# the input, packs again; FORMAT incbin (an assembler file that .incbin's the blob) links the
# same blob, and a re-packed blob is assembled again. Uses the Makefile generator (the one every machine here has).
#
#   bash tests/cmake/statepack_add_blob_test.sh SOURCE_DIR /path/to/statepack
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 SOURCE_DIR STATEPACK" >&2
  exit 2
fi
SRC=$(realpath -- "$1") || exit 2
SP=$(realpath -- "$2") || exit 2
# Build logs end with the error: failures show their tail.
TEST_LOG_FROM=tail
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir add-blob
B="$WORK/build"
cp "$SRC/examples/tiny_mlp/tiny_mlp.safetensors" "$WORK/model.safetensors"

configure() {
  if log=$(cmake -G "Unix Makefiles" -S "$SRC/tests/cmake/statepack_add_blob" -B "$B" \
    -DSTATEPACK_SOURCE_DIR="$SRC" -DSTATEPACK_EXECUTABLE="$SP" \
    -DBLOB_INPUT="$WORK/model.safetensors" "$@" 2>&1); then
    pass "configure $*"
  else
    fail "configure $*" "$log"
  fi
}
# build EXPECT_PACK: builds; EXPECT_PACK is yes or no (whether the blob must be packed again).
build() {
  local log
  if ! log=$(cmake --build "$B" 2>&1); then
    fail "build" "$log"
    return
  fi
  if grep -q "statepack: packing model" <<<"$log"; then packed=yes; else packed=no; fi
  if [ "$packed" = "$1" ]; then pass "  build (packed: $packed)"; else fail "  build packed: $packed, expected $1" "$log"; fi
}
expect_run() {
  local out
  out=$("$B/blob_app" 2>&1)
  if [ $? -eq 0 ] && grep -qF -- "$1" <<<"$out"; then pass "  blob_app: $1"; else fail "  blob_app: $1" "$out"; fi
}

echo "== first build packs the checkpoint and links it"
configure -DBLOB_ARGS="--checksum;xxh32"
build yes
expect_run "checksum=xxh32 alignment=64 aligned=yes tensors=6"

echo "== nothing changed: nothing packed"
build no
configure -DBLOB_ARGS="--checksum;xxh32"
build no

echo "== ARGS changed: packed again with them"
configure -DBLOB_ARGS="--checksum;xxh64;--align;256"
build yes
expect_run "checksum=xxh64 alignment=256 aligned=yes tensors=6"
build no

echo "== input changed: packed again"
sleep 1
touch "$WORK/model.safetensors"
build yes
expect_run "checksum=xxh64 alignment=256"

echo "== FORMAT incbin: the assembler includes the blob"
configure -DBLOB_FORMAT=incbin
build yes
expect_run "checksum=xxh64 alignment=256 aligned=yes tensors=6"
if [ -f "$B/statepack_blobs/model.S" ] && grep -q '\.incbin' "$B/statepack_blobs/model.S"; then
  pass "  model.S includes the blob"
else
  fail "  model.S includes the blob"
fi
build no
configure -DBLOB_FORMAT=incbin -DBLOB_ARGS="--checksum;xxh32;--align;128"
build yes
expect_run "checksum=xxh32 alignment=128 aligned=yes tensors=6"
sleep 1
touch "$WORK/model.safetensors"
build yes
expect_run "checksum=xxh32 alignment=128"

echo "== FORMAT must be c or incbin"
if log=$(cmake -G "Unix Makefiles" -S "$SRC/tests/cmake/statepack_add_blob" -B "$WORK/bad" \
  -DSTATEPACK_SOURCE_DIR="$SRC" -DSTATEPACK_EXECUTABLE="$SP" \
  -DBLOB_INPUT="$WORK/model.safetensors" -DBLOB_FORMAT=hex 2>&1); then
  fail "configure with FORMAT hex fails"
elif grep -q "FORMAT must be c or incbin" <<<"$log"; then
  pass "configure with FORMAT hex fails and says why"
else
  fail "configure with FORMAT hex fails and says why" "$log"
fi

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
