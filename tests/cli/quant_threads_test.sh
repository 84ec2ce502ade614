#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `statepack pack --quant` gives the same blob for any --threads, for every integer scheme: on
# a 12 MiB f32 matrix (quantized a block of rows at a time, each block's slices spread over the
# threads), a matrix whose rows end in ragged groups, and a 1-D tensor under a rule; and
# --quant auto, whose candidates are measured on the threads too. Inputs are made here with
# /usr/bin/python3's NumPy.
#
#   bash tests/cli/quant_threads_test.sh /path/to/statepack
set -u
SP=$(realpath -- "$1") || exit 2
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir quant-threads
cd "$WORK" || exit 2

"$PY" - <<'PY'
import json, struct
import numpy as np
rng = np.random.default_rng(5)
def weights(rows, cols):
    scale = 0.02 * rng.lognormal(0.0, 0.5, size=(rows, 1))
    return (rng.standard_t(4.0, size=(rows, cols)) * scale).astype("<f4")
tensors = {
    "big.weight": weights(3072, 1024),    # 12 MiB: three blocks of rows
    "ragged.weight": weights(300, 1000),  # groups of 32 and 128 end short on every row
    "bias": weights(1, 4000).reshape(4000),
}
header, blobs, off = {}, [], 0
for name, array in tensors.items():
    raw = array.tobytes()
    header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open("in.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
PY

for scheme in int8 int8-asym int8-tensor int8-g32 int4-g32 int4-g32-asym int4-g128; do
  check "pack --quant $scheme --threads 1" "$SP" pack in.safetensors -o "$scheme.1.spk" \
    --quant "$scheme" --rule "bias=$scheme" --threads 1 --quiet
  for t in 2 4; do
    check "  --threads $t gives the same bytes" bash -c \
      "'$SP' pack in.safetensors -o '$scheme.$t.spk' --quant '$scheme' --rule 'bias=$scheme' \
         --threads $t --quiet >/dev/null && cmp '$scheme.$t.spk' '$scheme.1.spk'"
  done
done

# --quant auto measures every candidate on --threads: the choice, and so the blob, are the same.
check "pack --quant auto --bpw 5 --threads 1" "$SP" pack in.safetensors -o auto.1.spk \
  --quant auto --bpw 5 --threads 1 --quiet
for t in 2 4; do
  check "  --threads $t gives the same bytes" bash -c \
    "'$SP' pack in.safetensors -o 'auto.$t.spk' --quant auto --bpw 5 --threads $t --quiet \
       >/dev/null && cmp 'auto.$t.spk' 'auto.1.spk'"
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
