#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The inputs and checks of tests/cli/cli_test.sh (standard library only): writes the
safetensors files it packs, and compares, inspects and damages what the CLI writes.

    /usr/bin/python3 tests/cli/cli_fixtures.py COMMAND ARGS...

COMMAND is one of the cmd_* functions below, with dashes for underscores (gen, compare,
check-inspect, get, segments, unique-bytes, find, flip, gen-hostile-names, check-columns,
parse-json); the exit status is the check's result.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from statepack_testlib import read_safetensors, write_safetensors  # noqa: E402

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


def cmd_sqnr(original, unpacked, name, min_db):
    """Tensor `name` (F32) of unpacked is original's within min_db of SQNR, same shape."""
    import math
    a, _ = read_safetensors(original)
    b, _ = read_safetensors(unpacked)
    (adt, ashape, araw), (bdt, bshape, braw) = a[name], b[name]
    if (adt, ashape) != ("F32", bshape) or bdt != "F32":
        print(f"{name}: {adt}{ashape} vs {bdt}{bshape}")
        return 1
    x = struct.unpack(f"<{len(araw) // 4}f", araw)
    y = struct.unpack(f"<{len(braw) // 4}f", braw)
    signal = sum(v * v for v in x)
    noise = sum((u - v) ** 2 for u, v in zip(x, y))
    db = math.inf if noise == 0 else 10 * math.log10(signal / noise)
    print(f"{name}: SQNR {db:.2f} dB")
    return 0 if db >= float(min_db) else 1


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
