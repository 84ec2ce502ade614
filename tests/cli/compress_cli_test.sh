#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end test of `statepack pack --compress`: a compressed blob verifies, inspects with its
# codec and ratio, unpacks to the same bytes as an uncompressed one, is identical for any
# --threads, and a damaged one fails verify and unpack with exit 1. Inputs are made here with
# /usr/bin/python3's standard library.
#
#   bash tests/cli/compress_cli_test.sh /path/to/statepack
set -u
SP=$(realpath -- "$1") || exit 2
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir zstd
cd "$WORK" || exit 2

# Weights (f32, bf16 as raw u16 patterns, f16), an int8 tensor and a tiny bias.
"$PY" - <<'PY'
import json, math, random, struct
random.seed(1)
def f32(x): return struct.pack('<f', x)
def bf16(x): return struct.pack('<f', x)[2:]
n = 200000
w = [random.gauss(0, 0.02) for _ in range(n)]
tensors = {
    "w.f32": ("F32", [400, 500], b"".join(f32(x) for x in w)),
    "w.bf16": ("BF16", [400, 500], b"".join(bf16(x) for x in w)),
    "w.f16": ("F16", [400, 500], b"".join(struct.pack('<e', x) for x in w)),
    "idx.i8": ("I8", [100000], bytes(random.randrange(0, 8) for _ in range(100000))),
    "bias": ("F32", [3], f32(0.5) + f32(-1) + f32(2)),
}
header, blobs, off = {}, [], 0
for name, (dt, shape, raw) in tensors.items():
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
    blobs.append(raw); off += len(raw)
text = json.dumps(header).encode(); text += b" " * (-len(text) % 8)
open("in.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
PY

check "pack --compress zstd" "$SP" pack in.safetensors -o z.spk --compress zstd --quiet
check "pack --compress none" "$SP" pack in.safetensors -o raw.spk --compress none
check "pack --compress zstd:19" "$SP" pack in.safetensors -o z19.spk --compress zstd:19
check "compressed blob is smaller" test "$(stat -c %s z.spk)" -lt "$(stat -c %s raw.spk)"
check "verify accepts the compressed blob" "$SP" verify z.spk
check "inspect shows codec and ratio" bash -c "'$SP' inspect z.spk | grep -E 'w\.bf16 .*zstd [0-9.]+%'"
check "inspect --json shows codec, filter, ratio" bash -c \
  "'$SP' inspect --json z.spk | grep -q '\"filter\": \"byte-group-rotate\"' && '$SP' inspect --json z.spk | grep -q '\"ratio\"'"
check "unpack decodes compressed tensors" "$SP" unpack z.spk -o z.safetensors
check "unpack of compressed equals unpack of raw" bash -c \
  "'$SP' unpack raw.spk -o raw.safetensors && cmp z.safetensors raw.safetensors"
for t in 1 2 8; do
  check "--threads $t gives the same bytes" bash -c \
    "'$SP' pack in.safetensors -o t$t.spk --compress zstd --threads $t --quiet && cmp t$t.spk z.spk"
done
check "bad --compress is a usage error (2)" exit_code 2 "$SP" pack in.safetensors -o x.spk --compress lz4
check "zstd:0 is a usage error (2)" exit_code 2 "$SP" pack in.safetensors -o x.spk --compress zstd:0
check "zstd:23 is a usage error (2)" exit_code 2 "$SP" pack in.safetensors -o x.spk --compress zstd:23
check "--max-chunk 1G is a usage error (2)" exit_code 2 "$SP" pack in.safetensors -o x.spk --compress zstd --max-chunk 1G
check "--max-chunk 2K is a usage error (2)" exit_code 2 "$SP" pack in.safetensors -o x.spk --compress zstd --max-chunk 2K
check "--max-chunk without zstd is a usage error (2)" exit_code 2 "$SP" pack in.safetensors -o x.spk --max-chunk 64K

# A sinusoidal position table (1 MiB of f32): it codes smaller in one large chunk, which
# --max-chunk 64K forbids; both unpack to the same bytes as the raw blob.
"$PY" - <<'PY'
import json, math, struct
rows, cols = 256, 1024
raw = b"".join(struct.pack('<f', (math.sin if i % 2 == 0 else math.cos)(
    p * math.exp((i // 2 * 2) * -math.log(10000.0) / cols))) for p in range(rows) for i in range(cols))
text = json.dumps({"pos": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [0, len(raw)]}}).encode()
text += b" " * (-len(text) % 8)
open("table.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + raw)
PY
check "pack a table with large chunks" "$SP" pack table.safetensors -o t.spk --compress zstd --quiet
check "pack a table with --max-chunk 64K" "$SP" pack table.safetensors -o t64.spk --compress zstd --max-chunk 64K --quiet
check "pack a table raw" "$SP" pack table.safetensors -o traw.spk --quiet
check "large chunks code the table smaller" test "$(stat -c %s t.spk)" -lt "$(stat -c %s t64.spk)"
for b in t t64 traw; do check "unpack $b" "$SP" unpack $b.spk -o $b.safetensors; done
check "large and 64 KiB chunks unpack to the raw bytes" bash -c "cmp t.safetensors traw.safetensors && cmp t64.safetensors traw.safetensors"

# Damage in the middle of the file: inside one of the large compressed weight segments.
OFFSET=$(( $(stat -c %s z.spk) / 2 ))
cp z.spk bad.spk
"$PY" - "$OFFSET" <<'PY'
import sys
off = int(sys.argv[1]); b = bytearray(open("bad.spk", "rb").read()); b[off] ^= 0x40
open("bad.spk", "wb").write(b)
PY
check "verify fails on a damaged compressed segment (1)" exit_code 1 "$SP" verify bad.spk
check "unpack refuses a damaged compressed segment (1)" exit_code 1 "$SP" unpack bad.spk -o bad.safetensors
check "truncated compressed blob fails verify (1)" bash -c \
  "head -c \$(( \$(stat -c %s z.spk) - 100 )) z.spk > cut.spk; '$SP' verify cut.spk; [ \$? -eq 1 ]"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
