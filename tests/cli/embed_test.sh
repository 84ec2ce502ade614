#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end test of `statepack embed`: the generated OUT.c/OUT.h compile warning-free as C99
# and C++17, link with the runtime, and open in place at the blob's alignment; the symbol,
# section and determinism promises; every error path with its exit code, and that a failed run
# leaves existing outputs untouched.
#
#   bash tests/cli/embed_test.sh /path/to/statepack RUNTIME_INCLUDE_DIR /path/to/libstatepack_runtime.a [FLAGS]
#
# FLAGS (one word, may be empty) is added when compiling and linking the consumers, e.g.
# -fsanitize=address,undefined when the runtime library was built with the sanitizers.
# Prints one line per check and ends with "N passed, M failed"; exits 1 if anything failed.
set -u

if [ $# -ne 3 ] && [ $# -ne 4 ]; then
  echo "usage: $0 STATEPACK RUNTIME_INCLUDE_DIR RUNTIME_LIBRARY [FLAGS]" >&2
  exit 2
fi
SP=$(realpath -- "$1") || exit 2
INC=$(realpath -- "$2") || exit 2
LIB=$(realpath -- "$3") || exit 2
MODEL=$(realpath -- "$(dirname -- "$0")/../../examples/tiny_mlp/tiny_mlp.safetensors") || exit 2
EXTRA=()
[ -n "${4:-}" ] && EXTRA=("$4")
CC=$(command -v gcc || command -v cc)
CXX=$(command -v g++ || command -v c++)

. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir embed
cd "$WORK" || exit 2
mkdir out other

echo "== blobs to embed"
check "pack (xxh64, align 64)" "$SP" pack "$MODEL" -o model.spk
check "pack (xxh32, align 4096)" "$SP" pack "$MODEL" -o big-align.spk --checksum xxh32 --align 4096

echo "== embed writes OUT.c and OUT.h, symbol from the output name"
expect_exit 0 "$SP" embed model.spk -o out/tiny-mlp.c
if grep -qF "tiny_mlp" "$WORK/stdout"; then pass "  stdout names the symbol"; else fail "  stdout names the symbol" "$(cat "$WORK/stdout")"; fi
check "  out/tiny-mlp.h exists" test -s out/tiny-mlp.h
expect_file_contains out/tiny-mlp.h 'extern "C" {'
expect_file_contains out/tiny-mlp.h 'alignas(64) extern const unsigned char tiny_mlp['
expect_file_contains out/tiny-mlp.h 'extern const size_t tiny_mlp_size;'
expect_file_contains out/tiny-mlp.c '__attribute__((aligned(64)))'
expect_file_contains out/tiny-mlp.c '#include "tiny-mlp.h"'
expect_file_contains out/tiny-mlp.c "const size_t tiny_mlp_size = $(stat -c %s model.spk)u;"
expect_no_temp out

echo "== --symbol, --section, alignment from the blob"
expect_exit 0 "$SP" embed big-align.spk -o out/weights.c --symbol model_weights --section .rodata.model_blob
expect_file_contains out/weights.h 'alignas(4096) extern const unsigned char model_weights['
expect_file_contains out/weights.c '__attribute__((aligned(4096), section(".rodata.model_blob")))'

echo "== derived symbols are valid identifiers"
expect_exit 0 "$SP" embed model.spk -o out/3d-model.v2.c
expect_file_contains out/3d-model.v2.h 'blob_3d_model_v2['
expect_exit 0 "$SP" embed model.spk -o out/int.c
expect_file_contains out/int.h 'unsigned char blob_int['

echo "== the output compiles as C99 and C++17 without warnings, and opens in place"
cat >use.c <<'EOF'
#include <stdint.h>
#include <stdio.h>
#include "statepack/statepack.h"
#include "tiny-mlp.h"
#include "weights.h"
/* Opens and verifies both embedded blobs where they lie; checks their alignment. */
static int check(const unsigned char *data, size_t size, uintptr_t alignment) {
  spk_blob blob;
  spk_status s = spk_open(&blob, data, size, SPK_OPEN_VERIFY_SEGMENTS);
  if (s != SPK_OK || (uintptr_t)data % alignment != 0 || spk_alignment(&blob) != alignment) {
    printf("failed: %s\n", spk_status_str(s));
    return 1;
  }
  printf("%u tensors, aligned to %u\n", spk_tensor_count(&blob), spk_alignment(&blob));
  return 0;
}
int main(void) {
  return check(tiny_mlp, tiny_mlp_size, 64) | check(model_weights, model_weights_size, 4096) |
         (sizeof tiny_mlp != tiny_mlp_size);
}
EOF
cat >use.cpp <<'EOF'
#include <cstdint>
#include <cstdio>
#include "statepack/statepack.hpp"
#include "tiny-mlp.h"
#include "weights.h"
int main() {
  const auto blob = statepack::BlobView::open(model_weights, model_weights_size);
  if (!blob.ok() || !blob->verify().ok()) return 1;
  const auto t = blob->find("0.weight");
  std::printf("0.weight: %llu elements\n", static_cast<unsigned long long>(t->element_count()));
  return (reinterpret_cast<std::uintptr_t>(tiny_mlp) % 64 != 0 || !t.ok()) ? 1 : 0;
}
EOF
CFLAGS=(-Wall -Wextra -Wpedantic -Werror -I"$INC" -Iout "${EXTRA[@]}")
check "  gcc -std=c99 compiles tiny-mlp.c" "$CC" -std=c99 "${CFLAGS[@]}" -c out/tiny-mlp.c -o tiny-mlp.o
check "  gcc -std=c99 compiles weights.c" "$CC" -std=c99 "${CFLAGS[@]}" -c out/weights.c -o weights.o
check "  gcc -std=c11 compiles int.c" "$CC" -std=c11 "${CFLAGS[@]}" -c out/int.c -o int.o
check "  gcc -std=c99 compiles the C consumer" "$CC" -std=c99 "${CFLAGS[@]}" -c use.c -o use_c.o
check "  and it links with the C driver (the runtime needs no C++ library)" "$CC" "${EXTRA[@]}" use_c.o tiny-mlp.o weights.o "$LIB" -o use_c
check "  it opens both blobs in place, aligned" ./use_c
check "  g++ -std=c++17 builds a C++ consumer" "$CXX" -std=c++17 "${CFLAGS[@]}" use.cpp tiny-mlp.o weights.o "$LIB" -o use_cpp
check "  which finds a tensor" ./use_cpp
check "  the section is in the object" sh -c "objdump -h weights.o | grep -q '\.rodata\.model_blob .* 2\*\*12'"

echo "== --format incbin: OUT.S + OUT.h, built by gcc, clang and arm-none-eabi-gcc"
mkdir incbin
expect_exit 0 "$SP" embed --format incbin model.spk -o incbin/tiny-mlp.S
check "  the header is the C form's" cmp incbin/tiny-mlp.h out/tiny-mlp.h
expect_file_contains incbin/tiny-mlp.S ".incbin \"$WORK/model.spk\""
expect_file_contains incbin/tiny-mlp.S ".balign 64"
expect_exit 0 "$SP" embed --format incbin big-align.spk -o incbin/weights.S --symbol model_weights --section .rodata.model_blob
# Assembled from another directory: the blob's path in the .S is absolute.
check "  gcc assembles tiny-mlp.S (from another directory)" sh -c "cd other && \"$CC\" -c ../incbin/tiny-mlp.S -o ../tiny-mlp-s.o"
check "  gcc assembles weights.S" "$CC" -c incbin/weights.S -o weights-s.o
check "  the C consumer links with them and opens both blobs in place" \
  "$CC" "${EXTRA[@]}" use_c.o tiny-mlp-s.o weights-s.o "$LIB" -o use_c_incbin
check "  and runs" ./use_c_incbin
check "  the C++ consumer too" "$CXX" -std=c++17 "${CFLAGS[@]}" use.cpp tiny-mlp-s.o weights-s.o "$LIB" -o use_cpp_incbin
check "  and runs" ./use_cpp_incbin
check "  the section and alignment are in the object" sh -c "objdump -h weights-s.o | grep -q '\.rodata\.model_blob .* 2\*\*12'"
check "  the symbols have their sizes (blob, 8-byte size_t)" sh -c \
  "nm -S weights-s.o | grep -q \"^0*0 0*$(printf %x "$(stat -c %s big-align.spk)") R model_weights\$\" && nm -S weights-s.o | grep -q ' 0*8 R model_weights_size\$'"
if command -v clang >/dev/null; then
  check "  clang assembles it" clang -c incbin/tiny-mlp.S -o tiny-mlp-clang.o
  check "  and links it" "$CC" "${EXTRA[@]}" use_c.o tiny-mlp-clang.o weights-s.o "$LIB" -o use_c_clang
  check "  and runs" ./use_c_clang
fi
if command -v arm-none-eabi-gcc >/dev/null; then
  check "  arm-none-eabi-gcc assembles it (Cortex-M4)" arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -c incbin/weights.S -o weights-arm.o
  check "  4-byte size_t, 4096-byte alignment there" sh -c \
    "arm-none-eabi-nm -S weights-arm.o | grep -q ' 00000004 R model_weights_size\$' && arm-none-eabi-objdump -h weights-arm.o | grep -q '\.rodata\.model_blob .* 2\*\*12'"
fi
cp model.spk moved.spk
expect_exit 0 "$SP" embed --format incbin moved.spk -o incbin/moved.S
cp big-align.spk moved.spk
run "$CC" -c incbin/moved.S -o moved.o
if [ "$RC" -ne 0 ] && grep -q "is not $(stat -c %s model.spk) bytes any more" "$WORK/stderr"; then
  pass "  a blob replaced after embed stops the assembler"
else
  fail "  a blob replaced after embed stops the assembler" "$(cat "$WORK/stderr")"
fi
expect_exit 2 "$SP" embed --format incbin model.spk -o incbin/n.c
expect_stderr_contains ".S file"
expect_exit 2 "$SP" embed --format asm model.spk -o incbin/n.S
expect_stderr_contains "--format must be c or incbin"

echo "== -o -: the source alone on standard output"
run "$SP" embed model.spk -o -
check "  a self-contained .c" sh -c "grep -q '^#include <stddef.h>' \"$WORK/stdout\" && ! grep -q '#include \"' \"$WORK/stdout\""
expect_stderr_contains "standard output: model and model_size"
cp "$WORK/stdout" stdout.c
cat >use_stdout.c <<'EOF'
#include <stddef.h>
#include "statepack/statepack.h"
extern const unsigned char model[];
extern const size_t model_size;
int main(void) {
  spk_blob b;
  return spk_open(&b, model, model_size, SPK_OPEN_VERIFY_SEGMENTS) != SPK_OK;
}
EOF
check "  which compiles" "$CC" -std=c99 "${CFLAGS[@]}" -c stdout.c -o stdout.o
check "  links and opens" sh -c "\"$CC\" -std=c99 ${CFLAGS[*]} use_stdout.c stdout.o \"$LIB\" -o use_stdout && ./use_stdout"
check "  no file named -" test ! -e -

echo "== deterministic: same blob, same sources (from any directory)"
cp model.spk other/model.spk
expect_exit 0 "$SP" embed model.spk -o out/again.c --symbol tiny_mlp
expect_exit 0 "$SP" embed other/model.spk -o other/tiny-mlp.c
check "  same .c twice" cmp out/tiny-mlp.c other/tiny-mlp.c
check "  same .h twice" cmp out/tiny-mlp.h other/tiny-mlp.h
check "  only the header name differs with another output name" \
  sh -c "diff out/tiny-mlp.c out/again.c | grep -c '^[<>]' | grep -qx 2"

echo "== errors: exit codes, messages, nothing left behind"
printf 'not a blob at all\n' >notes.txt
cp model.spk flipped.spk
printf '\xff' | dd of=flipped.spk bs=1 seek=$(($(stat -c %s model.spk) - 3)) conv=notrunc status=none
expect_exit 1 "$SP" embed notes.txt -o out/n.c
expect_stderr_contains "statepack: notes.txt: "
expect_exit 1 "$SP" embed flipped.spk -o out/n.c
expect_stderr_contains "segment checksum mismatch"
expect_exit 1 "$SP" embed missing.spk -o out/n.c
expect_stderr_contains "missing.spk"
check "  no output from failed embeds" test ! -e out/n.c -a ! -e out/n.h
expect_no_temp out
expect_exit 2 "$SP" embed model.spk -o out/n.txt
expect_stderr_contains ".c file"
expect_exit 2 "$SP" embed model.spk -o out/n.c --symbol int
expect_stderr_contains "keyword"
expect_exit 2 "$SP" embed model.spk -o out/n.c --symbol 9lives
expect_stderr_contains "C identifier"
expect_exit 2 "$SP" embed model.spk -o out/n.c --symbol __blob
expect_stderr_contains "reserved"
expect_exit 2 "$SP" embed model.spk -o out/n.c --section 'x" y'
expect_stderr_contains "--section"
expect_exit 2 "$SP" embed model.spk
expect_exit 2 "$SP" embed
expect_exit 0 "$SP" embed --help
expect_exit 1 "$SP" embed model.spk -o no/such/dir/n.c

echo "== a failed embed leaves existing outputs untouched"
printf 'precious\n' >precious.ref
cp precious.ref out/keep.c
cp precious.ref out/keep.h
for input in notes.txt flipped.spk missing.spk; do
  run "$SP" embed "$input" -o out/keep.c
  if [ "$RC" -eq 1 ]; then pass "embed $input -o out/keep.c fails"; else fail "embed $input -o out/keep.c fails (got $RC)"; fi
  expect_unchanged out/keep.c precious.ref
  expect_unchanged out/keep.h precious.ref
  expect_no_temp out
done

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
