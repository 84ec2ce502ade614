#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end test of `statepack pack --quant auto --bpw B [--sensitivity FILE.json]`: the
# report gives the budget and the bits per weight achieved, the blob records both (inspect and
# inspect --json show them), explicit rules win, and bad budgets or sensitivity files are
# refused with a clear message. Inputs are made here with /usr/bin/python3's standard library.
#
#   bash tests/cli/auto_quant_cli_test.sh /path/to/statepack
set -u
SP=$(realpath -- "$1") || exit 2
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir auto
cd "$WORK" || exit 2

# Four weights the default rule covers (one with a wide spread per row) and a bias it does not.
"$PY" - <<'PY'
import json, random, struct
random.seed(2)
def f32s(xs): return struct.pack(f"<{len(xs)}f", *xs)
def gauss(n, s): return [random.gauss(0, s) for _ in range(n)]
tensors = {
    "conv1.weight": ("F32", [32, 3, 3, 3], f32s(gauss(864, 0.2))),
    "layer1.weight": ("F32", [64, 32, 3, 3], f32s(gauss(18432, 0.05))),
    "layer2.weight": ("F32", [128, 64, 3, 3], f32s(gauss(73728, 0.03))),
    "fc.weight": ("F32", [10, 512], f32s(gauss(5120, 0.04))),
    "fc.bias": ("F32", [10], f32s(gauss(10, 0.1))),
}
header, blobs, off = {}, [], 0
for name, (dt, shape, raw) in tensors.items():
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
    blobs.append(raw); off += len(raw)
text = json.dumps(header).encode(); text += b" " * (-len(text) % 8)
open("in.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
PY

# Whether inspect --json's metadata records budget $2 and an achieved bpw within 1 of it (the
# largest tensor holds 3/4 of the weights, so one step of its scheme moves the total that much).
records_budget() {
  "$SP" inspect --json "$1" | "$PY" -c '
import json, sys
m, budget = json.load(sys.stdin)["metadata"], float(sys.argv[1])
bpw = m["statepack.quant.bpw"]
sys.exit(not (m["statepack.quant.bpw_budget"] == budget and budget - 1.0 < bpw <= budget))' "$2"
}

for budget in 4.6 5 6.5; do
  expect_exit 0 "$SP" pack in.safetensors -o auto.spk --quant auto --bpw "$budget" --quiet
  expect_stdout_contains "of a budget of $(printf %.4f "$budget") over 3 tensors (97280 weights), sensitivity from data-free default"
  check "  the blob records budget $budget and an achieved bpw within it" \
    records_budget auto.spk "$budget"
done
check "verify accepts the auto blob" "$SP" verify auto.spk
expect_exit 0 "$SP" inspect auto.spk
expect_stdout_contains "statepack.quant.bpw_budget"
expect_stdout_contains "statepack.quant.bpw "
check "unpack --dequantize restores every tensor" bash -c \
  "'$SP' unpack auto.spk -o out.safetensors --dequantize && test -s out.safetensors"

# Measured sensitivities move bits between tensors. fc.weight is missing (it takes the
# default); biases and small tensors are ignored.
scheme_of() {
  "$SP" inspect --json "$1" | "$PY" -c '
import json, sys
t = {x["name"]: x for x in json.load(sys.stdin)["tensors"]}
print((t[sys.argv[1]]["quantization"] or {}).get("scheme", "keep"))' "$2"
}
echo '{"layer1.weight": 100, "layer2.weight": 0.01, "conv1.weight": 1, "fc.bias": 5}' >l1.json
echo '{"layer1.weight": 0.01, "layer2.weight": 100, "conv1.weight": 1, "fc.bias": 5}' >l2.json
expect_exit 0 "$SP" pack in.safetensors -o l1.spk --quant auto --bpw 5.5 --sensitivity l1.json
expect_stdout_contains "sensitivity from l1.json (1 covered tensor not in it took the default)"
expect_exit 0 "$SP" pack in.safetensors -o l2.spk --quant auto --bpw 5.5 --sensitivity l2.json
L1=$(scheme_of l1.spk layer1.weight)
L2=$(scheme_of l2.spk layer1.weight)
check "  layer1 takes 8 bits when it matters ($L1), 4 when it does not ($L2)" bash -c \
  "[ '$L1' = int8-g32 ] && [[ '$L2' == int4-* ]]"

# An explicit rule wins and counts toward the budget.
expect_exit 0 "$SP" pack in.safetensors -o r.spk --quant auto --bpw 7 --rule 'fc.*=keep'
check "  fc.weight kept as f32, the budget still held" bash -c \
  "'$SP' inspect --json r.spk | $PY -c '
import json, sys
t = {x[\"name\"]: x for x in json.load(sys.stdin)[\"tensors\"]}
sys.exit(not (t[\"fc.weight\"][\"quantization\"] is None and t[\"layer2.weight\"][\"quantization\"]))'"
check "  the blob records budget 7 and an achieved bpw within it" records_budget r.spk 7
# 5120 f32 weights of 97280 leave too little for the rest.
expect_usage_error "is below the smallest size the candidates reach: 5.6" \
  "$SP" pack in.safetensors -o r.spk --quant auto --bpw 5 --rule 'fc.*=keep'

# Budgets and options.
expect_usage_error "--bpw 3.0000 is below the smallest size the candidates reach: 4.1" \
  "$SP" pack in.safetensors -o x.spk --quant auto --bpw 3
expect_no_output x.spk
expect_usage_error "--quant auto needs --bpw" "$SP" pack in.safetensors -o x.spk --quant auto
expect_usage_error "--bpw applies only to --quant auto" \
  "$SP" pack in.safetensors -o x.spk --quant int8 --bpw 5
expect_usage_error "--sensitivity applies only to --quant auto" \
  "$SP" pack in.safetensors -o x.spk --sensitivity l1.json
expect_usage_error "--bpw must be a number of bits per weight above 0" \
  "$SP" pack in.safetensors -o x.spk --quant auto --bpw -1

# Malformed sensitivity files: exit 1 naming the file and the problem, nothing written.
printf '[1, 2]' >array.json
printf '{"layer1.weight": "high"}' >string.json
printf '{"layer1.weight": -1}' >negative.json
printf '{"layer1.weight": 1, "layer1.weight": 2}' >twice.json
printf '{"layer1.weight": 1,}' >syntax.json
printf '{"layer7.weight": 1, "fc.weight": 2}' >unknown.json
expect_input_error array.json "must be an object" \
  "$SP" pack in.safetensors -o x.spk --quant auto --bpw 5 --sensitivity array.json
expect_input_error string.json 'sensitivity of "layer1.weight" must be a finite number >= 0, got "high"' \
  "$SP" pack in.safetensors -o x.spk --quant auto --bpw 5 --sensitivity string.json
expect_input_error negative.json "must be a finite number >= 0, got -1" \
  "$SP" pack in.safetensors -o x.spk --quant auto --bpw 5 --sensitivity negative.json
expect_input_error twice.json "invalid sensitivity JSON" \
  "$SP" pack in.safetensors -o x.spk --quant auto --bpw 5 --sensitivity twice.json
expect_input_error syntax.json "invalid sensitivity JSON" \
  "$SP" pack in.safetensors -o x.spk --quant auto --bpw 5 --sensitivity syntax.json
expect_input_error unknown.json '1 name is not a tensor of the input: "layer7.weight"' \
  "$SP" pack in.safetensors -o x.spk --quant auto --bpw 5 --sensitivity unknown.json
expect_input_error missing.json "" \
  "$SP" pack in.safetensors -o x.spk --quant auto --bpw 5 --sensitivity missing.json
expect_no_output x.spk

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
