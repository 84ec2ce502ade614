#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end test of the statepack CLI: every subcommand, what it prints and writes, and every
# error path with its exit code, its message and the promise that a failed write leaves nothing
# behind. Self-contained: inputs are made here with /usr/bin/python3's standard library.
#
#   bash tests/cli/cli_test.sh /path/to/statepack
#
# Prints one line per check and ends with "N passed, M failed"; exits 1 if anything failed.
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 /path/to/statepack" >&2
  exit 2
fi
SP=$(realpath -- "$1") || exit 2
if [ ! -x "$SP" ]; then
  echo "$0: $1 is not an executable" >&2
  exit 2
fi
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../support/test_lib.sh"
make_workdir cli
cd "$WORK" || exit 2
mkdir out

# Inputs and checks in Python (standard library only): write and read safetensors, check
# inspect's JSON, flip bytes.
st() { "$PY" "$HERE/cli_fixtures.py" "$@"; }

if ! st gen "$WORK"; then
  echo "FAIL could not generate inputs"
  echo "0 passed, 1 failed"
  exit 1
fi
IN=main.safetensors
mapfile -t NAMES <names.txt

# ---------------------------------------------------------------------------------------------
echo "== pack"
expect_exit 0 "$SP" pack "$IN" -o out/model.spk --meta run=e2e --meta "empty.value="
expect_stdout_contains "out/model.spk: ${#NAMES[@]} tensors in $((${#NAMES[@]} - 1)) segments"
expect_stdout_contains "xxh64"
check "  blob exists and is not empty" test -s out/model.spk
expect_no_temp out
# Tensors are copied file to file and hashed on other threads: the bytes may not depend on it.
for t in 1 3; do
  check "  --threads $t gives the same bytes" bash -c \
    "'$SP' pack '$IN' -o out/t$t.spk --meta run=e2e --meta empty.value= --threads $t --quiet >/dev/null && cmp out/t$t.spk out/model.spk"
done
rm -f out/t1.spk out/t3.spk

echo "== inspect (table)"
expect_exit 0 "$SP" inspect out/model.spk
for name in "${NAMES[@]}"; do expect_table_row "$name"; done
expect_stdout_contains "statepack.packer"
expect_stdout_contains "author"

echo "== inspect --json"
expect_exit 0 "$SP" inspect out/model.spk --json
cp "$WORK/stdout" model.json
check "  output parses as JSON" st parse-json model.json
check "  names, dtypes, shapes, sizes and metadata match the input" \
  st check-inspect model.json "$IN" run=e2e empty.value= "statepack.input.0.name=$IN"
check "  statepack.packer names statepack and its version" \
  test "$(st get model.json metadata statepack.packer | cut -d' ' -f1)" = statepack
check "  checksum is xxh64" test "$(st get model.json checksum)" = xxh64
check "  alignment is 64" test "$(st get model.json alignment)" = 64
check "  blob_size is the file size" test "$(st get model.json blob_size)" = "$(stat -c %s out/model.spk)"
check "  overhead_bytes = blob_size - tensor_bytes" \
  test "$(st get model.json overhead_bytes)" = "$(($(st get model.json blob_size) - $(st get model.json tensor_bytes)))"
check "  tensor_bytes counts tied bytes once" test "$(st get model.json tensor_bytes)" = "$(st unique-bytes "$IN")"
if command -v xxhsum >/dev/null; then
  check "  statepack.input.0.xxh64 equals xxhsum -H1 of the input" \
    test "$(st get model.json metadata statepack.input.0.xxh64)" = "$(xxhsum -H1 "$IN" 2>/dev/null | cut -d' ' -f1)"
else
  echo "skip   statepack.input.0.xxh64 equals xxhsum -H1 (xxhsum not installed)"
fi
check "  tied tensors share one segment, others do not" st segments model.json
check "  0-d tensor has shape []" test "$(st get model.json tensors temperature shape)" = "[]"
check "  empty tensor has shape [0, 4]" test "$(st get model.json tensors empty.rows shape)" = "[0, 4]"

echo "== inspect on the .safetensors input"
expect_exit 0 "$SP" inspect "$IN"
for name in "${NAMES[@]}"; do expect_table_row "$name"; done
expect_exit 0 "$SP" inspect "$IN" --json
cp "$WORK/stdout" input.json
check "  names, dtypes, shapes, sizes and metadata match" st check-inspect input.json "$IN"

echo "== inspect escapes control characters in names and aligns wide ones"
st gen-hostile-names hostile.safetensors
expect_exit 0 "$SP" inspect hostile.safetensors
expect_stdout_contains '\x1B[31mred'
expect_stdout_contains 'line\x0Abreak'
check "  columns line up and no control character reaches the terminal" st check-columns "$WORK/stdout"
expect_exit 0 "$SP" pack hostile.safetensors -o out/hostile.spk --quiet
expect_exit 0 "$SP" inspect out/hostile.spk
check "  the same for the blob's table" st check-columns "$WORK/stdout"

echo "== verify"
expect_exit 0 "$SP" verify out/model.spk
expect_stdout_contains "OK"

echo "== unpack"
expect_exit 0 "$SP" unpack out/model.spk -o out/back.safetensors
expect_stdout_contains "out/back.safetensors"
check "  tensors (dtype, shape, bytes) and user metadata equal the input" \
  st compare "$IN" out/back.safetensors run=e2e empty.value=
expect_no_temp out
check "  the unpacked file is a valid pack input" "$SP" pack out/back.safetensors -o out/repacked.spk
check "  ...and repacks to the same tensors" "$SP" verify out/repacked.spk

echo "== determinism"
expect_exit 0 "$SP" pack "$IN" -o out/model2.spk --meta run=e2e --meta "empty.value="
check "  packing twice gives identical bytes" cmp out/model.spk out/model2.spk
expect_exit 0 "$SP" unpack out/model.spk -o out/back2.safetensors
check "  unpacking twice gives identical bytes" cmp out/back.safetensors out/back2.safetensors

echo "== several inputs"
expect_exit 0 "$SP" pack "$IN" second.safetensors -o out/two.spk
expect_exit 0 "$SP" inspect out/two.spk --json
cp "$WORK/stdout" two.json
check "  both inputs' tensors are present" test "$(st get two.json tensors second.weight dtype)" = F32
check "  statepack.input.1.name names the second input" \
  test "$(st get two.json metadata statepack.input.1.name)" = second.safetensors
if command -v xxhsum >/dev/null; then
  check "  statepack.input.1.xxh64 equals xxhsum -H1 of the second input" \
    test "$(st get two.json metadata statepack.input.1.xxh64)" = "$(xxhsum -H1 second.safetensors 2>/dev/null | cut -d' ' -f1)"
fi
expect_input_error clash.safetensors "encoder.weight" "$SP" pack "$IN" clash.safetensors -o out/clash.spk
expect_no_output out/clash.spk

echo "== --checksum xxh32"
expect_exit 0 "$SP" pack "$IN" -o out/x32.spk --checksum xxh32
expect_stdout_contains "xxh32"
expect_exit 0 "$SP" verify out/x32.spk
expect_stdout_contains "xxh32"
expect_exit 0 "$SP" inspect out/x32.spk --json
cp "$WORK/stdout" x32.json
check "  inspect reports xxh32" test "$(st get x32.json checksum)" = xxh32
check "  differs from the xxh64 blob" files_differ out/x32.spk out/model.spk
expect_exit 0 "$SP" unpack out/x32.spk -o out/x32.safetensors
check "  unpacks to the input's tensors" st compare "$IN" out/x32.safetensors

echo "== --align 4096"
expect_exit 0 "$SP" pack "$IN" -o out/a4k.spk --align 4096
expect_exit 0 "$SP" verify out/a4k.spk
expect_exit 0 "$SP" inspect out/a4k.spk --json
cp "$WORK/stdout" a4k.json
check "  inspect reports alignment 4096" test "$(st get a4k.json alignment)" = 4096
f32_at=$(st find out/a4k.spk f32)
check "  a tensor's bytes start on a 4096-byte boundary" test $((${f32_at:-1} % 4096)) -eq 0
expect_exit 0 "$SP" unpack out/a4k.spk -o out/a4k.safetensors
check "  unpacks to the input's tensors" st compare "$IN" out/a4k.safetensors

echo "== --help"
for sub in "" pack inspect verify unpack; do
  # shellcheck disable=SC2086
  expect_exit 0 "$SP" $sub --help
  expect_stdout_contains "Usage"
done
expect_exit 0 "$SP" --version
expect_stdout_contains "statepack"

# ---------------------------------------------------------------------------------------------
echo "== input errors (exit 1)"
expect_input_error missing.safetensors "" "$SP" pack missing.safetensors -o out/e.spk
expect_no_output out/e.spk
expect_input_error missing.spk "" "$SP" inspect missing.spk
expect_input_error missing.spk "" "$SP" verify missing.spk
expect_input_error missing.spk "" "$SP" unpack missing.spk -o out/e.safetensors
expect_no_output out/e.safetensors

mkdir adir
expect_input_error adir "directory" "$SP" pack adir -o out/e.spk
expect_no_output out/e.spk
expect_input_error adir "directory" "$SP" inspect adir
expect_input_error adir "directory" "$SP" verify adir

printf 'just some text\nnot a checkpoint\n' >notes.txt
expect_input_error notes.txt "format" "$SP" pack notes.txt -o out/e.spk
expect_no_output out/e.spk
expect_input_error notes.txt "" "$SP" inspect notes.txt
expect_input_error notes.txt "" "$SP" verify notes.txt
expect_input_error notes.txt "" "$SP" unpack notes.txt -o out/e.safetensors
expect_no_output out/e.safetensors
: >empty.bin
expect_input_error empty.bin "" "$SP" pack empty.bin -o out/e.spk
expect_no_output out/e.spk
expect_input_error empty.bin "" "$SP" verify empty.bin

# A .safetensors is not a blob: verify and unpack refuse it; a blob is not a pack input.
expect_input_error "$IN" "" "$SP" verify "$IN"
expect_input_error "$IN" "" "$SP" unpack "$IN" -o out/e.safetensors
expect_no_output out/e.safetensors
expect_input_error out/model.spk "blob" "$SP" pack out/model.spk -o out/e.spk
expect_no_output out/e.spk

in_size=$(stat -c %s "$IN")
head -c $((in_size - 5)) "$IN" >trunc-data.safetensors
expect_input_error trunc-data.safetensors "past the end" "$SP" pack trunc-data.safetensors -o out/e.spk
expect_no_output out/e.spk
expect_input_error trunc-data.safetensors "" "$SP" inspect trunc-data.safetensors
head -c 100 "$IN" >trunc-header.safetensors
expect_input_error trunc-header.safetensors "" "$SP" pack trunc-header.safetensors -o out/e.spk
expect_no_output out/e.spk

blob_size=$(stat -c %s out/model.spk)
for keep in 0 7 40 63 200 $((blob_size - 1)); do
  head -c "$keep" out/model.spk >"trunc-$keep.spk"
  expect_input_error "trunc-$keep.spk" "" "$SP" verify "trunc-$keep.spk"
done
expect_input_error "trunc-200.spk" "" "$SP" inspect "trunc-200.spk"
expect_input_error "trunc-$((blob_size - 1)).spk" "truncated" "$SP" unpack "trunc-$((blob_size - 1)).spk" -o out/e.safetensors
expect_no_output out/e.safetensors

cp out/model.spk trailing.spk
printf '\0' >>trailing.spk
expect_input_error trailing.spk "" "$SP" verify trailing.spk
expect_input_error trailing.spk "" "$SP" inspect trailing.spk
expect_input_error trailing.spk "" "$SP" unpack trailing.spk -o out/e.safetensors
expect_no_output out/e.safetensors

# One byte flipped in a tensor's data: the message names its segment and tensor.
cp out/model.spk flip-data.spk
check "  (setup) flip a byte of encoder.weight's data" st flip flip-data.spk $(($(st find flip-data.spk f32) + 5))
expect_input_error flip-data.spk "encoder.weight" "$SP" verify flip-data.spk
expect_stderr_contains "segment"
expect_input_error flip-data.spk "encoder.weight" "$SP" unpack flip-data.spk -o out/e.safetensors
expect_no_output out/e.safetensors
cp out/x32.spk flip-data32.spk
check "  (setup) flip a byte of encoder.weight's data (xxh32 blob)" st flip flip-data32.spk $(($(st find flip-data32.spk f32) + 23))
expect_input_error flip-data32.spk "encoder.weight" "$SP" verify flip-data32.spk

# One byte flipped in the header (a tensor name) and in preamble fields.
cp out/model.spk flip-header.spk
check "  (setup) flip a byte of the header" st flip flip-header.spk $(($(st find flip-header.spk name) + 2))
expect_input_error flip-header.spk "header" "$SP" verify flip-header.spk
expect_input_error flip-header.spk "" "$SP" inspect flip-header.spk --json
for offset in 1 8 16 32 40 50 60; do
  cp out/model.spk "flip-pre$offset.spk"
  st flip "flip-pre$offset.spk" "$offset"
  expect_input_error "flip-pre$offset.spk" "" "$SP" verify "flip-pre$offset.spk"
done

# A nonzero padding byte between the header and the first segment.
cp out/a4k.spk flip-pad.spk
check "  (setup) flip a padding byte" st flip flip-pad.spk $((64 + $(st get a4k.json header_size) + 8))
expect_input_error flip-pad.spk "" "$SP" verify flip-pad.spk

echo "== output errors (exit 1)"
expect_exit 1 "$SP" pack "$IN" -o /nonexistent-dir/x.spk
expect_stderr_contains "statepack: /nonexistent-dir/x.spk: "
check "  no output created" test ! -e /nonexistent-dir
expect_exit 1 "$SP" unpack out/model.spk -o /nonexistent-dir/x.safetensors
expect_stderr_contains "statepack: /nonexistent-dir/x.safetensors: "
mkdir outdir
expect_exit 1 "$SP" pack "$IN" -o outdir
expect_stderr_contains "statepack: outdir: "
check "  the directory is still an empty directory" test -d outdir -a -z "$(ls -A outdir)"
expect_no_temp .
expect_exit 1 "$SP" unpack out/model.spk -o outdir
expect_stderr_contains "statepack: outdir: "
check "  the directory is still an empty directory" test -d outdir -a -z "$(ls -A outdir)"
expect_no_temp .

echo "== usage errors (exit 2)"
cp "$IN" input.ref
expect_usage_error "$IN" "$SP" pack "$IN" -o "$IN"
expect_unchanged "$IN" input.ref
expect_no_temp .
cp out/model.spk model.ref
expect_usage_error "also" "$SP" unpack out/model.spk -o out/model.spk
expect_unchanged out/model.spk model.ref
expect_no_temp out
# The same file under another spelling, or through a symlink, is still the input.
expect_usage_error "also" "$SP" pack "./$IN" -o "$IN"
expect_unchanged "$IN" input.ref
ln -sf model.spk out/link.spk
expect_usage_error "also" "$SP" unpack out/link.spk -o out/model.spk
expect_unchanged out/model.spk model.ref
rm -f out/link.spk
# Usage errors win over input errors: options are checked before any input is read.
expect_usage_error "--meta" "$SP" pack missing.safetensors -o out/e.spk --meta foo
expect_usage_error "--align" "$SP" pack missing.safetensors -o out/e.spk --align 3
expect_no_output out/e.spk
expect_usage_error "--bogus" "$SP" pack "$IN" -o out/e.spk --bogus
expect_no_output out/e.spk
expect_usage_error "--bogus" "$SP" inspect out/model.spk --bogus
expect_usage_error "--bogus" "$SP" verify out/model.spk --bogus
expect_usage_error "--bogus" "$SP" unpack out/model.spk -o out/e.safetensors --bogus
expect_no_output out/e.safetensors
expect_usage_error "--output" "$SP" pack "$IN"
expect_usage_error "--output" "$SP" unpack out/model.spk
expect_usage_error "statepack: no command given; commands: pack, inspect" "$SP"
expect_usage_error "statepack: unknown command 'frobnicate'" "$SP" frobnicate
expect_usage_error "statepack: verify: missing FILE" "$SP" verify
expect_usage_error "statepack: inspect: missing FILE" "$SP" inspect
expect_usage_error "" "$SP" verify out/model.spk out/x32.spk
expect_usage_error "md5" "$SP" pack "$IN" -o out/e.spk --checksum md5
expect_no_output out/e.spk
expect_usage_error "--align" "$SP" pack "$IN" -o out/e.spk --align 3
expect_no_output out/e.spk
expect_usage_error "--align" "$SP" pack "$IN" -o out/e.spk --align 131072
expect_no_output out/e.spk
expect_usage_error "--align" "$SP" pack "$IN" -o out/e.spk --align 4
expect_no_output out/e.spk
expect_usage_error "--align" "$SP" pack "$IN" -o out/e.spk --align lots
expect_no_output out/e.spk
expect_usage_error "nokey" "$SP" pack "$IN" -o out/e.spk --meta nokey
expect_no_output out/e.spk
expect_usage_error "--meta" "$SP" pack "$IN" -o out/e.spk --meta =value
expect_no_output out/e.spk
expect_usage_error "reserved" "$SP" pack "$IN" -o out/e.spk --meta statepack.packer=me
expect_no_output out/e.spk

echo "== every usage error is one 'statepack:' line that says what is wrong (exit 2)"
# CLI11's own errors included: each kind it raises, reworded.
expect_usage_error "statepack: unknown command 'bogus'; commands: pack, inspect, verify, unpack, embed" "$SP" bogus
expect_usage_error "statepack: unknown option '--bogus'" "$SP" --bogus
expect_usage_error "statepack: pack: missing INPUT" "$SP" pack
expect_usage_error "statepack: pack: missing -o/--output FILE" "$SP" pack "$IN"
expect_usage_error "statepack: embed: missing -o/--output FILE" "$SP" embed out/model.spk
expect_usage_error "statepack: pack: unknown option '--bogus'" "$SP" pack "$IN" -o out/e.spk --bogus
expect_usage_error "statepack: verify: unexpected argument 'out/x32.spk'" "$SP" verify out/model.spk out/x32.spk
expect_usage_error "statepack: pack: --align expects a number, got 'lots'" "$SP" pack "$IN" -o out/e.spk --align lots
expect_usage_error "statepack: pack: --meta needs a value (KEY=VALUE)" "$SP" pack "$IN" -o out/e.spk --meta
expect_usage_error "statepack: pack: --rule needs a value (GLOB=SCHEME)" "$SP" pack "$IN" -o out/e.spk --rule
expect_usage_error "statepack: pack: -o/--output needs a value (FILE)" "$SP" pack "$IN" -o
expect_usage_error "statepack: pack: -o/--output is given more than once" "$SP" pack "$IN" -o out/a.spk -o out/b.spk
expect_no_output out/a.spk
expect_usage_error "statepack: unpack: --dtype only applies with --dequantize" "$SP" unpack out/model.spk -o out/e.safetensors --dtype source
expect_no_output out/e.safetensors
for args in "" "bogus" "--bogus" "pack" "pack $IN" "pack $IN -o out/e.spk --bogus" "inspect" \
  "verify a b" "pack $IN -o out/e.spk --align lots" "pack $IN -o out/e.spk --meta" \
  "unpack out/model.spk -o out/e.safetensors --dtype f32" "embed" "pack $IN -o out/e.spk --meta nokey"; do
  # shellcheck disable=SC2086
  run "$SP" $args
  if [ "$RC" -eq 2 ] && [ "$(wc -l <"$WORK/stderr")" -eq 1 ] && grep -q '^statepack: ' "$WORK/stderr"; then
    pass "  one 'statepack:' line, exit 2: statepack $args"
  else
    fail "  one 'statepack:' line, exit 2: statepack $args (got $RC)" "$(cat "$WORK/stderr")"
  fi
done
expect_exit 0 "$SP" unpack --help
expect_stdout_contains "Only with --dequantize"

echo "== --meta and --rule take one value each and repeat"
# They used to swallow the positionals after them ("INPUT is required").
expect_exit 0 "$SP" pack --meta x=1 "$IN" -o out/m1.spk --quiet
expect_exit 0 "$SP" pack --rule 'encoder.weight=int8' --rule 'tied.*=keep' "$IN" --meta a=b --meta c=d -o out/m2.spk --quiet
expect_stdout_contains "encoder.weight"
expect_exit 0 "$SP" inspect out/m2.spk --json
cp "$WORK/stdout" m2.json
check "  both --meta values are kept" test "$(st get m2.json metadata a)$(st get m2.json metadata c)" = bd

echo "== --meta values keep their type; KEY:str= forces a string; replacing an input's key is said"
st gen-layers layers.safetensors
expect_exit 0 "$SP" pack layers.safetensors -o out/typed.spk --quiet --meta epoch=12 --meta lr=3e-4 \
  --meta ema=true --meta zip:str=007 --meta id=007 --meta name=resnet --meta half:float=1
expect_stderr_contains "statepack: note: --meta epoch replaces the input's own value 3"
expect_exit 0 "$SP" inspect out/typed.spk --json
cp "$WORK/stdout" typed.json
check "  types in the blob's metadata" test "$(st meta-types typed.json | tr '\n' ' ')" = \
  "ema=bool:True epoch=int:12 half=float:1.0 id=str:007 lr=float:0.0003 name=str:resnet zip=str:007 "
expect_usage_error "statepack: --meta n:int=abc: \"abc\" is not an integer" "$SP" pack "$IN" -o out/e.spk --meta n:int=abc
expect_no_output out/e.spk

echo "== --rule keeps what its scheme cannot apply to, and says so"
# 'layer1.*=int8' matches BN's int64 counter: once a hard error, now kept and counted.
expect_exit 0 "$SP" pack layers.safetensors -o out/rule.spk --quiet --rule 'layer1.*=int8'
expect_stdout_contains "--rule layer1.*=int8 kept 1 matching tensor as it is: 1 not floating-point (e.g. layer1.0.bn1.num_batches_tracked)"
expect_table_row "layer1.0.bn1.bias"
expect_table_row "layer1.0.conv1.weight"
expect_exit 0 "$SP" pack layers.safetensors -o out/rule4.spk --quiet --rule 'layer1.*=int4-g32'
expect_stdout_contains "1 not floating-point"
expect_exit 0 "$SP" verify out/rule.spk

echo "== quality gates: a warning, and --min-sqnr makes it an error"
expect_exit 0 "$SP" pack layers.safetensors -o out/q.spk --quiet --rule 'exp_avg_sq=int4-g32'
expect_stderr_contains 'statepack: warning: tensor "exp_avg_sq" (int4-g32): SQNR'
expect_stderr_contains "64 of 64 scale groups have nonzero values too small for the scale type"
run "$SP" pack layers.safetensors -o out/q8.spk --quiet --rule 'exp_avg_sq=int8' --rule 'layer1.0.conv1.weight=int4-g32'
if [ "$RC" -eq 0 ] && [ ! -s "$WORK/stderr" ]; then pass "  no warning for int8 on it, nor int4 on weights"; else fail "  no warning for int8 on it, nor int4 on weights" "$(cat "$WORK/stderr")"; fi
expect_exit 1 "$SP" pack layers.safetensors -o out/gate.spk --quiet --rule 'exp_avg_sq=int4-g32' --min-sqnr 20
expect_stderr_contains 'statepack: 1 tensor is below --min-sqnr 20.00 dB: "exp_avg_sq" int4-g32'
expect_no_output out/gate.spk

echo "== int4-k: pack, verify, inspect, unpack --dequantize (decoded by the runtime)"
expect_exit 0 "$SP" pack layers.safetensors -o out/k.spk --quiet --rule 'layer1.0.conv1.weight=int4-k'
expect_table_row "layer1.0.conv1.weight"
expect_stdout_contains "int4-k"
expect_exit 0 "$SP" verify out/k.spk
expect_exit 0 "$SP" inspect out/k.spk
expect_stdout_contains "int4-k"
expect_exit 0 "$SP" unpack out/k.spk -o out/k.safetensors --dequantize --quiet
expect_exit 0 st sqnr layers.safetensors out/k.safetensors layer1.0.conv1.weight 20
expect_exit 0 "$SP" pack layers.safetensors -o out/kz.spk --quiet --compress zstd --rule 'layer1.0.conv1.weight=int4-k'
expect_exit 0 "$SP" unpack out/kz.spk -o out/kz.safetensors --dequantize --quiet
expect_exit 0 "$PY" "$HERE/cli_fixtures.py" compare out/k.safetensors out/kz.safetensors
expect_exit 0 "$SP" pack layers.safetensors -o out/gate.spk --quiet --rule 'exp_avg_sq=int8' --min-sqnr 20

echo "== one message for an empty file, whatever the command"
: >empty.spk
for args in "inspect empty.spk" "pack empty.spk -o out/e.spk" "verify empty.spk" \
  "unpack empty.spk -o out/e.safetensors" "embed empty.spk -o out/e.c"; do
  # shellcheck disable=SC2086
  expect_input_error empty.spk "empty file (0 bytes), neither a checkpoint nor a statepack blob" "$SP" $args
done

echo "== inspect says the data's checksums were not checked"
expect_exit 0 "$SP" inspect out/model.spk
expect_stdout_contains "data checksums not checked (run statepack verify)"
check "  and so does its JSON" test "$(st get model.json data_checksums_checked)" = False

echo "== a failed pack or unpack leaves an existing output untouched"
printf 'precious bytes, not a blob\n' >precious.ref
cp precious.ref out/keep.spk
for args in "missing.safetensors" "notes.txt" "trunc-data.safetensors" "$IN clash.safetensors" \
  "$IN --align 3" "$IN --checksum md5" "$IN --meta nokey" "$IN --bogus"; do
  # shellcheck disable=SC2086
  run "$SP" pack $args -o out/keep.spk
  if [ "$RC" -ne 0 ]; then pass "pack $args -o out/keep.spk fails"; else fail "pack $args -o out/keep.spk fails"; fi
  expect_unchanged out/keep.spk precious.ref
  expect_no_temp out
done
cp precious.ref out/keep.safetensors
for blob in flip-data.spk trailing.spk trunc-200.spk notes.txt; do
  run "$SP" unpack "$blob" -o out/keep.safetensors
  if [ "$RC" -eq 1 ]; then pass "unpack $blob -o out/keep.safetensors fails"; else fail "unpack $blob -o out/keep.safetensors fails (got $RC)"; fi
  expect_unchanged out/keep.safetensors precious.ref
  expect_no_temp out
done
expect_exit 0 "$SP" pack "$IN" -o out/keep.spk --checksum xxh32
check "  a successful pack replaces it" cmp out/keep.spk out/x32.spk
expect_no_temp out

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
