#!/usr/bin/env bash
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
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/statepack-cli.XXXXXX") || exit 2
trap 'rm -rf -- "$WORK"' EXIT
cd "$WORK" || exit 2
mkdir out

PASSED=0
FAILED=0
RC=0

pass() {
  PASSED=$((PASSED + 1))
  printf 'ok   %s\n' "$1"
}

fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL %s\n' "$1"
  if [ $# -ge 2 ] && [ -n "$2" ]; then printf '%s\n' "$2" | head -n 20 | sed 's/^/     | /'; fi
}

# check DESCRIPTION CMD...: passes when CMD succeeds.
check() {
  local what=$1
  shift
  local log
  if log=$("$@" 2>&1); then pass "$what"; else fail "$what" "$log"; fi
}

files_differ() { ! cmp -s -- "$1" "$2"; }

# run CMD...: runs it, keeping stdout in $WORK/stdout, stderr in $WORK/stderr, status in $RC.
run() {
  "$@" >"$WORK/stdout" 2>"$WORK/stderr"
  RC=$?
}

# Everything after "statepack" in a command, for check names.
describe() {
  local words=() w
  for w in "$@"; do
    [ "$w" = "$SP" ] && w=statepack
    words+=("$w")
  done
  printf '%s' "${words[*]}"
}

# expect_exit CODE CMD...: runs CMD and checks its exit status.
expect_exit() {
  local code=$1
  shift
  run "$@"
  if [ "$RC" -eq "$code" ]; then
    pass "exit $code: $(describe "$@")"
  else
    fail "exit $code: $(describe "$@") (got $RC)" "$(cat "$WORK/stderr")"
  fi
}

# expect_stderr_contains TEXT: the last command's stderr contains TEXT (fixed string).
expect_stderr_contains() {
  if grep -qF -- "$1" "$WORK/stderr"; then
    pass "  stderr mentions '$1'"
  else
    fail "  stderr mentions '$1'" "stderr was: $(cat "$WORK/stderr")"
  fi
}

# expect_stdout_contains TEXT: the last command's stdout contains TEXT (fixed string).
expect_stdout_contains() {
  if grep -qF -- "$1" "$WORK/stdout"; then
    pass "  stdout mentions '$1'"
  else
    fail "  stdout mentions '$1'" "stdout was: $(head -c 2000 "$WORK/stdout")"
  fi
}

# expect_table_row NAME: a line of the last command's stdout starts with NAME and a space.
expect_table_row() {
  local line
  while IFS= read -r line; do
    if [[ "$line" == "$1 "* ]]; then
      pass "  a table row for '$1'"
      return
    fi
  done <"$WORK/stdout"
  fail "  a table row for '$1'" "stdout was: $(head -c 2000 "$WORK/stdout")"
}

# expect_input_error FILE TEXT CMD...: exit 1, "statepack: FILE: ..." on stderr mentioning
# TEXT, nothing on stdout.
expect_input_error() {
  local file=$1 text=$2
  shift 2
  expect_exit 1 "$@"
  expect_stderr_contains "statepack: $file: "
  [ -n "$text" ] && expect_stderr_contains "$text"
  if [ -s "$WORK/stdout" ]; then
    fail "  nothing on stdout" "$(head -c 500 "$WORK/stdout")"
  else
    pass "  nothing on stdout"
  fi
}

# expect_usage_error TEXT CMD...: exit 2 with a message mentioning TEXT.
expect_usage_error() {
  local text=$1
  shift
  expect_exit 2 "$@"
  expect_stderr_contains "$text"
}

# expect_no_output PATH: neither PATH nor a temporary file beside it exists.
expect_no_output() {
  local path=$1 dir
  dir=$(dirname -- "$path")
  if [ -e "$path" ]; then fail "  no output $path left" "$(ls -la -- "$path")"; else pass "  no output $path left"; fi
  expect_no_temp "$dir"
}

# expect_no_temp DIR: no "*.tmp-*" file in DIR.
expect_no_temp() {
  local leftovers
  leftovers=$(find "$1" -maxdepth 1 -name '*.tmp-*' 2>/dev/null)
  if [ -n "$leftovers" ]; then fail "  no temporary file left in $1" "$leftovers"; else pass "  no temporary file left in $1"; fi
}

# expect_unchanged PATH REFERENCE: PATH still has REFERENCE's bytes.
expect_unchanged() {
  if cmp -s -- "$1" "$2"; then pass "  $1 unchanged"; else fail "  $1 unchanged" "$(cmp -- "$1" "$2" 2>&1)"; fi
}

# ---------------------------------------------------------------------------------------------
# Python helpers (standard library only): write and read safetensors, check inspect's JSON,
# flip bytes.
cat >"$WORK/st.py" <<'PYEOF'
import json
import struct
import sys


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes), written in this order."""
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = blob[8 + n:]
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        assert end <= len(data), f"{path}: {name} runs past the end"
        tensors[name] = (entry["dtype"], list(entry["shape"]), data[begin:end])
    return tensors, metadata


F32_PATTERN = struct.pack("<6f", 1.5, -2.25, 3.0, 4.125, 5.0, -6.5)

# The main input: every kind of tensor the CLI must carry through unchanged.
MAIN = [
    ("encoder.weight", "F32", [2, 3], F32_PATTERN),
    ("encoder.bias.f16", "F16", [5], struct.pack("<5e", 1.0, -2.0, 0.5, 65504.0, float("inf"))),
    ("encoder.scale.bf16", "BF16", [2, 2], bytes([0x80, 0x3F, 0x00, 0xC0, 0xC0, 0x7F, 0x01, 0x00])),
    ("step.i64", "I64", [3], struct.pack("<3q", -1, 2**62 + 3, 7)),
    ("mask.bool", "BOOL", [5], bytes([1, 0, 1, 1, 0])),
    ("temperature", "F64", [], struct.pack("<d", 0.0625)),
    ("empty.rows", "F32", [0, 4], b""),
    ("i16", "I16", [2], struct.pack("<2h", -300, 300)),
    ("u8", "U8", [4], bytes([0, 1, 254, 255])),
    ("gewicht.größe/层.权重", "I8", [3], bytes([1, 0x80, 0x7F])),
    ('with space "quoted"', "I32", [1], struct.pack("<i", -5)),
    ("tied.embed", "I32", [4], struct.pack("<4i", 9, 8, 7, 6)),
    ("tied.lm_head", "I32", [4], struct.pack("<4i", 9, 8, 7, 6)),
]
MAIN_META = {"format": "pt", "author": "Zoë", "note": "tabs\tand \"quotes\""}

SECOND = [("second.weight", "F32", [2], struct.pack("<2f", 7.0, 8.0))]


def cmd_gen(directory):
    write_safetensors(f"{directory}/main.safetensors", MAIN, MAIN_META)
    write_safetensors(f"{directory}/second.safetensors", SECOND, {"from": "second"})
    # Same name as in MAIN: packing both must fail.
    write_safetensors(f"{directory}/clash.safetensors",
                      [("encoder.weight", "F32", [1], struct.pack("<f", 1.0))])
    with open(f"{directory}/names.txt", "w", encoding="utf-8") as f:
        for name, *_ in MAIN:
            f.write(name + "\n")


def cmd_compare(original, unpacked, *extra):
    """unpacked holds original's tensors bit for bit, and its user metadata plus extra K=V."""
    a, ameta = read_safetensors(original)
    b, bmeta = read_safetensors(unpacked)
    errors = []
    if sorted(a) != sorted(b):
        errors.append(f"names differ: only in {original}: {sorted(set(a) - set(b))}, "
                      f"only in {unpacked}: {sorted(set(b) - set(a))}")
    for name in sorted(set(a) & set(b)):
        for what, x, y in zip(("dtype", "shape", "bytes"), a[name], b[name]):
            if x != y:
                errors.append(f"{name}: {what} differs: {x!r:.60} vs {y!r:.60}")
    expected = dict(ameta)
    for kv in extra:
        key, value = kv.split("=", 1)
        expected[key] = value
    if bmeta != expected:
        errors.append(f"__metadata__ differs: expected {expected}, got {bmeta}")
    for e in errors:
        print(e)
    return 1 if errors else 0


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def cmd_check_inspect(json_path, source, *extra):
    """inspect --json of a blob (or a .safetensors) describes source's tensors and metadata.
    extra: K=V metadata entries the document must also have."""
    doc = load_json(json_path)
    tensors, metadata = read_safetensors(source)
    got = {t["name"]: t for t in doc["tensors"]}
    errors = []
    if len(got) != len(doc["tensors"]):
        errors.append("a name is listed twice")
    if sorted(got) != sorted(tensors):
        errors.append(f"names: expected {sorted(tensors)}, got {sorted(got)}")
    for name, (dtype, shape, raw) in tensors.items():
        t = got.get(name)
        if t is None:
            continue
        if t["dtype"] != dtype:
            errors.append(f"{name}: dtype {t['dtype']} != {dtype}")
        if t["shape"] != shape:
            errors.append(f"{name}: shape {t['shape']} != {shape}")
        size = t.get("stored_size", t.get("bytes"))
        if size != len(raw):
            errors.append(f"{name}: size {size} != {len(raw)}")
    expected = dict(metadata)
    for kv in extra:
        key, value = kv.split("=", 1)
        expected[key] = value
    for key, value in expected.items():
        if doc["metadata"].get(key) != value:
            errors.append(f"metadata {key!r}: expected {value!r}, got {doc['metadata'].get(key)!r}")
    for e in errors:
        print(e)
    return 1 if errors else 0


def cmd_get(json_path, *keys):
    """Prints doc[k1][k2]... ; a key that is a tensor name selects that tensor."""
    value = load_json(json_path)
    for key in keys:
        if isinstance(value, list):
            value = next(t for t in value if t["name"] == key)
        else:
            value = value[key]
    print(value if not isinstance(value, (dict, list)) else json.dumps(value))
    return 0


def cmd_segments(json_path):
    """Checks segment sharing: tied.* share one, every other tensor has its own."""
    doc = load_json(json_path)
    seg = {t["name"]: t["segment"] for t in doc["tensors"]}
    errors = []
    if seg["tied.embed"] != seg["tied.lm_head"]:
        errors.append(f"tied tensors in segments {seg['tied.embed']} and {seg['tied.lm_head']}")
    others = [s for n, s in seg.items() if n != "tied.lm_head"]
    if len(set(others)) != len(others):
        errors.append(f"distinct tensors share a segment: {seg}")
    if doc["segment_count"] != len(seg) - 1:
        errors.append(f"segment_count {doc['segment_count']}, expected {len(seg) - 1}")
    for e in errors:
        print(e)
    return 1 if errors else 0


def cmd_unique_bytes(path):
    """Prints the number of tensor bytes in path, counting identical contents once."""
    tensors, _ = read_safetensors(path)
    print(sum(len(raw) for raw in {raw for _, _, raw in tensors.values()}))
    return 0


def cmd_find(path, what):
    """Prints the offset of the only occurrence of a known byte pattern in path."""
    patterns = {"f32": F32_PATTERN, "name": "temperature".encode()}
    with open(path, "rb") as f:
        blob = f.read()
    first = blob.find(patterns[what])
    if first < 0 or blob.find(patterns[what], first + 1) >= 0:
        print(f"pattern {what} not found exactly once in {path}", file=sys.stderr)
        return 1
    print(first)
    return 0


def cmd_flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(int(offset))
        byte = f.read(1)
        f.seek(int(offset))
        f.write(bytes([byte[0] ^ 0x01]))
    return 0


def cmd_gen_hostile_names(path):
    """A safetensors file whose tensor names are wide (CJK), accented, or carry terminal
    escapes and a newline: inspect must escape the controls and keep its columns aligned."""
    one = struct.pack("<f", 1.0)
    write_safetensors(path, [(name, "F32", [1], one) for name in (
        "\u6743\u91cd.weight", "gewicht.\u00e4", "\x1b[31mred", "line\nbreak", "plain")])


def cmd_check_columns(table_path):
    """Every row of inspect's table starts its dtype column at the same terminal column
    (East Asian wide characters take two) and holds no control character."""
    import unicodedata
    lines = open(table_path, encoding="utf-8").read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("name "))
    rows = [line for line in lines[start:] if line.strip()]
    rows = rows[:next((i for i, r in enumerate(rows) if r == "metadata"), len(rows))]
    columns = set()
    for row in rows:
        assert not any(unicodedata.category(c) == "Cc" for c in row), f"control in {row!r}"
        cut = row.index("  ")
        while row[cut] == " ":
            cut += 1
        columns.add(sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in row[:cut]))
    assert len(columns) == 1, f"dtype column starts at columns {sorted(columns)}: {rows}"


def cmd_gen_layers(path):
    """What a glob over a ResNet block meets (a conv kernel, a BN bias, BN's int64 step
    counter) and an Adam second moment: tiny positive values int4's f16 scales cannot reach."""
    import random
    rng = random.Random(5)
    conv = [rng.gauss(0, 0.05) for _ in range(8 * 8 * 3 * 3)]
    tiny = [1e-8 * (1 + i % 7) for i in range(64 * 32)]
    write_safetensors(path, [
        ("layer1.0.conv1.weight", "F32", [8, 8, 3, 3], struct.pack(f"<{len(conv)}f", *conv)),
        ("layer1.0.bn1.bias", "F32", [8], struct.pack("<8f", *[0.1 * i for i in range(8)])),
        ("layer1.0.bn1.num_batches_tracked", "I64", [], struct.pack("<q", 1000)),
        ("exp_avg_sq", "F32", [64, 32], struct.pack(f"<{len(tiny)}f", *tiny)),
    ], {"epoch": "3"})


def cmd_meta_types(json_path):
    """Prints each metadata value of inspect --json as type:value."""
    for key, value in sorted(load_json(json_path)["metadata"].items()):
        if not key.startswith("statepack."):
            print(f"{key}={type(value).__name__}:{value}")
    return 0


def cmd_parse_json(json_path):
    load_json(json_path)
    return 0


if __name__ == "__main__":
    sys.exit(globals()["cmd_" + sys.argv[1].replace("-", "_")](*sys.argv[2:]) or 0)
PYEOF
st() { "$PY" "$WORK/st.py" "$@"; }

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
