#!/usr/bin/python3
"""Interop with real torch.save files: checkpoints of every shape PyTorch writes (zip and
legacy format, training checkpoints, tied weights, views, every dtype, bare tensors, Hugging
Face sharded checkpoints) go through `statepack pack`, `verify`, `inspect` and `unpack`, and
come back bit for bit. Then hostile files (pickles that would run code, malformed pickles,
inconsistent storages, crafted zips, zip bombs, TorchScript) must be refused with exit 1, a
message naming the file and the reason, no output file, and no side effect.

    /usr/bin/python3 tests/interop/torch_checkpoints_roundtrip.py /path/to/statepack

Needs Debian's python3-torch and python3-torchvision (hence /usr/bin/python3). Nothing here
unpickles an untrusted file except one deliberate control that shows a payload is live.
Prints one line per check and ends with "N passed, M failed"; exits 1 on any failure.
"""

import io
import json
import os
import pickle
import re
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
import zlib

import numpy
import torch
import torchvision

TORCH_TO_ST = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
    torch.complex64: "C64",
}
ST_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2,
               "I8": 1, "U8": 1, "BOOL": 1, "C64": 8}
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")

PASSED = 0
FAILED = 0
SP = None  # the statepack binary


def report(ok, what, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"ok   {what}", flush=True)
    else:
        FAILED += 1
        print(f"FAIL {what}", flush=True)
        for line in str(detail).splitlines()[:25]:
            print(f"     | {line}", flush=True)
    return ok


# ------------------------------------------------------------------------------------------------
# running the CLI


class Run:
    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    def describe(self):
        return (f"$ statepack {' '.join(self.args)}\nexit {self.rc}\n"
                f"stderr: {self.err.strip()[:3000]}\nstdout: {self.out.strip()[:1500]}")


def sp(*args, timeout=180):
    """Runs statepack ARGS in the current directory. A sanitizer report is a failure of its
    own, whatever the exit status (ASan and UBSan exit 1 by default, like an input error)."""
    args = [str(a) for a in args]
    try:
        p = subprocess.run([SP] + args, capture_output=True, timeout=timeout)
        r = Run(args, p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired:
        r = Run(args, "timeout", "", f"timed out after {timeout} s")
    if any(m in r.err for m in SANITIZER_MARKERS):
        report(False, f"sanitizer report from statepack {' '.join(args)}", r.err[:6000])
    return r


def clean(r):
    return not any(m in r.err for m in SANITIZER_MARKERS)


# ------------------------------------------------------------------------------------------------
# torch side: flattening and raw bytes


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def flatten(obj, prefix, tensors, meta):
    """The CLI's flattening: dicts and lists/tuples to dotted names, tensors to tensors,
    int/float/str/bool to metadata, None skipped."""
    def join(key):
        return key if not prefix else f"{prefix}.{key}"

    if isinstance(obj, torch.Tensor):
        tensors[prefix or "tensor"] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(k, bool):
                key = "True" if k else "False"
            elif isinstance(k, (int, str)):
                key = str(k)
            else:
                raise TypeError(f"key {k!r}")
            flatten(v, join(key), tensors, meta)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            flatten(v, join(str(i)), tensors, meta)
    elif isinstance(obj, (bool, int, float, str)):
        meta[prefix] = obj
    elif obj is None:
        pass
    else:
        raise TypeError(f"{prefix}: {type(obj)}")


def expected_from_file(path):
    """What torch.load makes of a file we wrote ourselves, flattened."""
    obj = torch.load(path, map_location="cpu")
    tensors, meta = {}, {}
    flatten(obj, "", tensors, meta)
    return tensors, meta


def typed(v):
    return (type(v).__name__, v)


# ------------------------------------------------------------------------------------------------
# safetensors, by hand


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        raw = tensor_bytes(t)
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def read_safetensors(path):
    """Returns ({name: (dtype, shape, raw bytes)}, metadata dict), checking the layout the
    reference reader insists on."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError("header runs past the end")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    meta = header.pop("__metadata__", {})
    out, spans = {}, []
    for name, e in header.items():
        dtype, shape, (b, end) = e["dtype"], e["shape"], e["data_offsets"]
        count = 1
        for d in shape:
            count *= d
        if end - b != count * ST_ITEMSIZE[dtype]:
            raise ValueError(f"{name}: {end - b} bytes for {dtype}{shape}")
        out[name] = (dtype, list(shape), data[b:end])
        spans.append((b, end))
    spans.sort()
    pos = 0
    for b, end in spans:
        if b != pos:
            raise ValueError(f"data offsets not contiguous at {b} (expected {pos})")
        pos = end
    if pos != len(data):
        raise ValueError(f"data section is {len(data)} bytes, tensors cover {pos}")
    return out, meta


# ------------------------------------------------------------------------------------------------
# comparing


def compare_listing(what, listed, expected):
    """listed: {name: (dtype, shape)} from statepack; expected: {name: torch tensor}."""
    problems = []
    missing = sorted(set(expected) - set(listed))
    extra = sorted(set(listed) - set(expected))
    if missing:
        problems.append(f"missing: {missing[:8]}")
    if extra:
        problems.append(f"unexpected: {extra[:8]}")
    for name in sorted(set(expected) & set(listed)):
        t = expected[name]
        dtype, shape = listed[name]
        if dtype != TORCH_TO_ST[t.dtype] or list(shape) != list(t.shape):
            problems.append(f"{name}: {dtype}{list(shape)}, expected "
                            f"{TORCH_TO_ST[t.dtype]}{list(t.shape)}")
    return report(not problems, what, "\n".join(problems[:12]))


def compare_meta(what, got, expected):
    got = {k: v for k, v in got.items() if not k.startswith("statepack.")}
    g = {k: typed(v) for k, v in got.items()}
    e = {k: typed(v) for k, v in expected.items()}
    problems = [f"{k}: got {g.get(k)}, expected {e.get(k)}"
                for k in sorted(set(g) | set(e)) if g.get(k) != e.get(k)]
    return report(not problems, what, "\n".join(problems[:12]))


def meta_text_matches(text, value):
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, int):
        return text == str(value)
    if isinstance(value, float):
        try:
            return float(text) == value
        except ValueError:
            return False
    return text == value


def table_names(text):
    """Tensor names in an `inspect` table: the first column of the rows under the header."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cols = line.split()
        if cols[:3] == ["name", "dtype", "shape"]:
            names = []
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                names.append(row.split()[0])
            return names
    return None


def roundtrip(label, inputs, expected, meta, select=None, fmt=None, tied=(),
              inspect_inputs=True, pack_extra=()):
    """pack -> verify -> inspect the blob -> unpack, and compare with `expected`
    ({name: tensor}) and `meta` ({key: python scalar})."""
    out = f"{label}.spk"
    args = ["pack", *inputs, "-o", out, *pack_extra]
    if select:
        args += ["--select", select]
    r = sp(*args)
    if not report(r.rc == 0 and clean(r), f"{label}: pack", r.describe()):
        return
    r = sp("verify", out)
    report(r.rc == 0 and "OK" in r.out and clean(r), f"{label}: verify", r.describe())

    r = sp("inspect", "--json", out)
    try:
        doc = json.loads(r.out)
        listed = {t["name"]: (t["dtype"], t["shape"]) for t in doc["tensors"]}
        compare_listing(f"{label}: blob lists the same tensors, dtypes and shapes", listed, expected)
        compare_meta(f"{label}: blob metadata (typed)", doc["metadata"], meta)
        seg = {t["name"]: t["segment"] for t in doc["tensors"]}
        for group in tied:
            segs = {seg.get(n) for n in group}
            report(len(segs) == 1 and None not in segs,
                   f"{label}: tied {' = '.join(group)} share one segment",
                   f"segments: {[seg.get(n) for n in group]}")
    except Exception as e:  # noqa: BLE001
        report(False, f"{label}: blob inspect --json parses", f"{e}\n{r.describe()}")

    y = f"{label}.safetensors"
    r = sp("unpack", out, "-o", y)
    if not report(r.rc == 0 and clean(r), f"{label}: unpack", r.describe()):
        return
    try:
        got, st_meta = read_safetensors(y)
    except Exception as e:  # noqa: BLE001
        report(False, f"{label}: unpacked safetensors is well-formed", str(e))
        return
    problems = []
    if set(got) != set(expected):
        problems.append(f"names differ: missing {sorted(set(expected) - set(got))[:8]}, "
                        f"unexpected {sorted(set(got) - set(expected))[:8]}")
    for name in sorted(set(got) & set(expected)):
        t = expected[name]
        dtype, shape, raw = got[name]
        if dtype != TORCH_TO_ST[t.dtype] or shape != list(t.shape):
            problems.append(f"{name}: {dtype}{shape}, expected {TORCH_TO_ST[t.dtype]}{list(t.shape)}")
            continue
        want = tensor_bytes(t)
        if raw != want:
            first = next((i for i in range(min(len(raw), len(want))) if raw[i] != want[i]),
                         min(len(raw), len(want)))
            problems.append(f"{name}: bytes differ (first at byte {first} of {len(want)})")
    report(not problems, f"{label}: unpacked tensors equal torch.load bit for bit "
                         f"({len(expected)} tensors)", "\n".join(problems[:12]))
    bad = [k for k, v in meta.items() if k not in st_meta or not meta_text_matches(st_meta[k], v)]
    extra = sorted(set(st_meta) - set(meta))
    report(not bad and not extra, f"{label}: unpacked __metadata__ carries the metadata",
           f"wrong: {[(k, st_meta.get(k), meta[k]) for k in bad[:8]]}\nunexpected: {extra[:8]}")

    if not inspect_inputs:
        return
    for path in inputs:
        r = sp("inspect", path)
        names = table_names(r.out) if r.rc == 0 else None
        ok = names is not None and len(names) == len(expected) and all(
            n in expected or (n.endswith("...") and any(e.startswith(n[:-3]) for e in expected))
            for n in names)
        report(ok and clean(r), f"{label}: inspect {path} lists the same names",
               r.describe() if names is None else
               f"table: {sorted(names)[:10]}\nexpected: {sorted(expected)[:10]}")
        r = sp("inspect", "--json", path)
        try:
            doc = json.loads(r.out)
            listed = {t["name"]: (t["dtype"], t["shape"]) for t in doc["tensors"]}
            compare_listing(f"{label}: inspect --json {path} lists the same tensors", listed, expected)
            if fmt:
                report(doc.get("format") == fmt, f"{label}: inspect --json {path} says {fmt!r}",
                       f"format: {doc.get('format')!r}")
            if meta and len(inputs) == 1:
                compare_meta(f"{label}: inspect --json {path} metadata (typed)", doc["metadata"], meta)
        except Exception as e:  # noqa: BLE001
            report(False, f"{label}: inspect --json {path} parses", f"{e}\n{r.describe()}")


# ------------------------------------------------------------------------------------------------
# hostile files


def hostile(label, path, patterns, marker=None):
    """`pack` and `inspect --json` must both refuse PATH: exit 1, "statepack: PATH: ..." on
    stderr mentioning one of PATTERNS (regexes, case-insensitive), no output left, no marker."""
    out = f"{path}.spk"
    problems = []
    first = ""
    for args in (["pack", path, "-o", out], ["inspect", "--json", path]):
        r = sp(*args, timeout=120)
        if not first and r.err.strip():
            first = r.err.strip().splitlines()[0]
        if r.rc != 1:
            problems.append(f"exit {r.rc}, expected 1")
        if f"statepack: {path}" not in r.err:
            problems.append("stderr does not name the file")
        if not any(re.search(p, r.err, re.IGNORECASE) for p in patterns):
            problems.append(f"stderr mentions none of {patterns}")
        if not clean(r):
            problems.append("sanitizer report")
        if problems:
            problems.append(r.describe())
            break
    if os.path.exists(out):
        problems.append(f"{out} was written")
    if marker and os.path.exists(marker):
        problems.append(f"PAYLOAD RAN: {marker} exists")
    report(not problems, f"hostile {label}: refused  [{first[:150]}]", "\n".join(problems))


class Evil:
    """pickle.dumps(Evil(cmd)) runs `cmd` through os.system when unpickled."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class EvilEval:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


def torch_layout_zip(path, pkl, storages=(), prefix="archive"):
    """A zip laid out like torch.save's (stored records): data.pkl, data/<key>, version."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", pkl)
        for key, raw in storages:
            z.writestr(f"{prefix}/data/{key}", raw)
        z.writestr(f"{prefix}/version", b"3\n")


def rewrite_zip(src, dst, change):
    """Copies a zip record by record; change(name, data) returns the new data."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))


def craft_zip(entries, cd_patch=None, cd_extra=()):
    """A zip written field by field. entries: dicts with name, data (as stored), method, crc,
    usize, and optionally zip64_usize (a claimed size written as a ZIP64 extra in both
    headers). cd_patch(index, entry, offset) may return a dict of central-directory fields to
    override; cd_extra lists extra central entries (dict with name and a copied entry)."""
    out = bytearray()
    offsets = []
    for e in entries:
        offsets.append(len(out))
        name = e["name"].encode()
        csize, usize = len(e["data"]), e["usize"]
        extra = b""
        if e.get("zip64_usize") is not None:
            extra = struct.pack("<HHQQ", 1, 16, e["zip64_usize"], csize)
            csize_f = usize_f = 0xFFFFFFFF
            version = 45
        else:
            csize_f, usize_f, version = csize, usize, 20
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, version, 0, e["method"], 0, 0x21,
                           e["crc"], csize_f, usize_f, len(name), len(extra)) + name + extra
        out += e["data"]
    cd_start = len(out)
    rows = []
    for i, e in enumerate(entries):
        f = dict(name=e["name"], method=e["method"], crc=e["crc"], csize=len(e["data"]),
                 usize=e["usize"], offset=offsets[i], zip64_usize=e.get("zip64_usize"))
        if cd_patch:
            f.update(cd_patch(i, e, offsets[i]) or {})
        rows.append(f)
    for x in cd_extra:
        rows.append(dict(x))
    for f in rows:
        name = f["name"].encode()
        extra = b""
        csize_f, usize_f, version = f["csize"], f["usize"], 20
        if f.get("zip64_usize") is not None:
            extra = struct.pack("<HHQQ", 1, 16, f["zip64_usize"], f["csize"])
            csize_f = usize_f = 0xFFFFFFFF
            version = 45
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, version, version, 0, f["method"], 0,
                           0x21, f["crc"], csize_f, usize_f, len(name), len(extra), 0, 0, 0, 0,
                           f["offset"]) + name + extra
    cd_size = len(out) - cd_start
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(rows), len(rows), cd_size, cd_start, 0)
    return bytes(out)


def stored(name, data):
    return dict(name=name, data=data, method=0, crc=zlib.crc32(data), usize=len(data))


def deflated(name, raw_len, stream, crc):
    return dict(name=name, data=stream, method=8, crc=crc, usize=raw_len)


def small_pickle_with_storage(numel):
    """data.pkl of torch.save({'w': FloatStorage-backed tensor of `numel`}) made by torch."""
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(numel)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return z.read("archive/data.pkl")


def with_storage_numel(pkl, new_numel):
    """Rewrites the numel of the (single) storage's persistent id in a torch data.pkl."""
    pat = re.compile(rb"(X\x03\x00\x00\x00cpu(?:q.|r....)?)(K.|M..|J....)(t)", re.DOTALL)
    new, n = pat.subn(lambda m: m.group(1) + b"J" + struct.pack("<i", new_numel) + m.group(3), pkl)
    assert n == 1, "storage numel not found in data.pkl"
    return new


def with_tensor_size(pkl, old, new):
    """Rewrites the size tuple (old,) of a 1-d tensor to (new,)."""
    def enc(v):
        if v < 256:
            return b"K" + bytes([v])
        return b"M" + struct.pack("<H", v) if v < 65536 else b"J" + struct.pack("<i", v)
    old_b, new_b = enc(old) + b"\x85", enc(new) + b"\x85"
    assert pkl.count(old_b) == 1, "size tuple not found in data.pkl"
    return pkl.replace(old_b, new_b)


def pickle_1d_storage(numel):
    """data.pkl for {'w': 1-d float32 tensor of `numel`}, without making the tensor."""
    return with_tensor_size(with_storage_numel(small_pickle_with_storage(16), numel), 16, numel)


# Bytes a big-endian machine reverses together in each storage class: the scalar component's
# size, so a complex64 (ComplexFloatStorage) is two floats each in big-endian order, the real
# part still first.
STORAGE_SWAP_UNIT = {"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2,
                     "BFloat16Storage": 2, "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2,
                     "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
                     "ComplexFloatStorage": 4}


def storage_classes(pkl):
    """{storage key: storage class name} of a data.pkl we wrote ourselves (read with stubs:
    nothing torch-specific is constructed)."""
    found = {}

    class Stubs(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "collections" and name == "OrderedDict":
                return dict
            if module == "torch" and name.endswith("Storage"):
                return name
            return lambda *args: None

        def persistent_load(self, pid):
            found[pid[2]] = pid[1]
            return None

    Stubs(io.BytesIO(pkl)).load()
    return found


def to_big_endian(src, dst):
    """A zip-format torch.save file rewritten as a big-endian machine would write it: each
    storage's elements byte-swapped and a "byteorder" record saying "big"."""
    with zipfile.ZipFile(src) as zin:
        names = [i.filename for i in zin.infolist()]
        prefix = names[0].split("/")[0] + "/"
        classes = storage_classes(zin.read(prefix + "data.pkl"))
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
            for name in names:
                data = zin.read(name)
                key = name[len(prefix + "data/"):] if name.startswith(prefix + "data/") else None
                if key is not None:
                    unit = STORAGE_SWAP_UNIT[classes[key]]
                    if unit > 1:
                        data = numpy.frombuffer(data, dtype=f"<u{unit}").byteswap().tobytes()
                zout.writestr(name, data)
                if name == prefix + "data.pkl":
                    zout.writestr(prefix + "byteorder", b"big")


def legacy_file(objects):
    """The legacy torch.save layout: magic, protocol, sys_info pickles, then `objects`."""
    sys_info = dict(protocol_version=1001, little_endian=True,
                    type_sizes=dict(short=2, int=4, long=4))
    head = (pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
            + pickle.dumps(sys_info, protocol=2))
    return head + b"".join(objects)


def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


# ------------------------------------------------------------------------------------------------
# inputs


def small_model():
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 10))


def save(obj, path, legacy=False):
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    return path


def main():
    global SP
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} /path/to/statepack", file=sys.stderr)
        return 2
    SP = os.path.realpath(sys.argv[1])
    if not os.access(SP, os.X_OK):
        print(f"{sys.argv[0]}: {sys.argv[1]} is not an executable", file=sys.stderr)
        return 2
    # Sanitizer reports get their own exit codes, so they can never pass for "exit 1".
    os.environ.setdefault("ASAN_OPTIONS", "exitcode=86")
    os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:exitcode=87")
    start = time.monotonic()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="statepack-torch.") as work:
        os.chdir(work)
        try:
            run_all(work)
        except Exception:  # noqa: BLE001
            report(False, "test script crashed", traceback.format_exc())
        os.chdir("/")
    print(f"run time {time.monotonic() - start:.1f} s")
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


def run_all(work):
    ZIP, LEGACY = "torch.save (zip)", "torch.save (legacy)"

    # --- resnet18, zip and legacy -----------------------------------------------------------
    resnet = torchvision.models.resnet18(weights=None).state_dict()
    for legacy in (False, True):
        p = save(resnet, "resnet18_legacy.pt" if legacy else "resnet18.pt", legacy)
        t, m = expected_from_file(p)
        roundtrip("resnet18" + ("-legacy" if legacy else ""), [p], t, m, fmt=LEGACY if legacy else ZIP)
    del resnet

    # --- half and bfloat16 models ------------------------------------------------------------
    p = save(small_model().half().state_dict(), "half.pt")
    t, m = expected_from_file(p)
    roundtrip("half-model", [p], t, m, fmt=ZIP)
    p = save(small_model().to(torch.bfloat16).state_dict(), "bf16.pth")
    t, m = expected_from_file(p)
    roundtrip("bf16-model", [p], t, m, fmt=ZIP)
    p = save(small_model().half().state_dict(), "half_legacy.pt", legacy=True)
    t, m = expected_from_file(p)
    roundtrip("half-model-legacy", [p], t, m, fmt=LEGACY)

    # --- training checkpoint -----------------------------------------------------------------
    model = small_model()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):
        adam.zero_grad()
        model(torch.randn(4, 3, 8, 8)).square().mean().backward()
        adam.step()
    ckpt = {"model": model.state_dict(), "optimizer": adam.state_dict(), "epoch": 3,
            "loss": 0.12, "name": "run-1", "best": True, "note": None}
    for legacy in (False, True):
        label = "train-ckpt" + ("-legacy" if legacy else "")
        p = save(ckpt, label + ".pt", legacy)
        t, m = expected_from_file(p)
        want_t = ["model.0.weight", "model.1.running_mean", "model.1.num_batches_tracked",
                  "optimizer.state.0.exp_avg", "optimizer.state.0.exp_avg_sq",
                  "optimizer.state.0.step", "optimizer.state.5.exp_avg"]
        want_m = {"epoch": 3, "loss": 0.12, "name": "run-1", "best": True,
                  "optimizer.param_groups.0.lr": 1e-3, "optimizer.param_groups.0.betas.1": 0.999,
                  "optimizer.param_groups.0.params.5": 5}
        report(all(n in t for n in want_t) and all(typed(m.get(k)) == typed(v) for k, v in want_m.items())
               and "note" not in m,
               f"{label}: our flattening has the expected names (sanity of the oracle)",
               f"{sorted(t)[:20]}\n{m}")
        roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP)
        sel_t = {k[len("model."):]: v for k, v in t.items() if k.startswith("model.")}
        report(set(sel_t) == set(ckpt["model"]), f"{label}: oracle for --select model", "")
        roundtrip(label + "-select-model", [p], sel_t, {}, select="model", inspect_inputs=False)
    r = sp("pack", "train-ckpt.pt", "-o", "nosuch.spk", "--select", "nosuch")
    report(r.rc == 2 and "model" in r.err and "optimizer" in r.err and not os.path.exists("nosuch.spk"),
           "train-ckpt: --select of an absent key is a usage error listing the top-level keys",
           r.describe())

    # --- tied weights ------------------------------------------------------------------------
    class TinyLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(100, 16)
            self.norm = torch.nn.LayerNorm(16)
            self.lm_head = torch.nn.Linear(16, 100, bias=False)
            self.lm_head.weight = self.embed.weight

    shared = torch.randn(6, 4)
    tied = dict(TinyLM().state_dict())
    tied["a"] = shared
    tied["b"] = shared
    tied["c"] = torch.randn(6, 4)
    groups = [("embed.weight", "lm_head.weight"), ("a", "b")]
    for legacy in (False, True):
        label = "tied" + ("-legacy" if legacy else "")
        p = save(tied, label + ".pt", legacy)
        t, m = expected_from_file(p)
        roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP, tied=groups)
        r = sp("inspect", "--json", label + ".spk")
        try:
            doc = json.loads(r.out)
            report(doc["segment_count"] <= len(doc["tensors"]) - 2,
                   f"{label}: blob has fewer segments than tensors",
                   f"{doc['segment_count']} segments, {len(doc['tensors'])} tensors")
        except Exception as e:  # noqa: BLE001
            report(False, f"{label}: blob inspect --json parses", f"{e}\n{r.describe()}")

    # --- views, offsets, strides -------------------------------------------------------------
    base = torch.arange(20, dtype=torch.float32)
    x = torch.randn(4, 10)
    w = torch.randn(5, 3)
    big = torch.randn(1000)
    cube = torch.randn(2, 3, 4)
    views = {
        "base": base, "slice": base[3:7], "w": w, "wt": w.t(), "x": x,
        "every_other": x[:, ::2], "narrow": x.narrow(1, 2, 3), "offset_strided": x[1:, 1::3],
        "row": x[2], "col": x[:, 7], "elem": x[1, 2], "diag": x[:, :4].diagonal(),
        "expand_row": torch.randn(1, 4).expand(3, 4), "expand_col": torch.randn(3, 1).expand(3, 5),
        "expand_slice": base[5:8].unsqueeze(0).expand(2, 3),
        "permute": cube.permute(2, 0, 1), "cube_t": cube.transpose(0, 2)[1:],
        "small_of_big": big[100:110],
    }
    strides = {k: v.stride() for k, v in views.items()}
    report(strides["expand_row"] == (0, 1) and strides["expand_col"] == (1, 0)
           and views["small_of_big"].storage_offset() == 100 and not views["wt"].is_contiguous(),
           "views: inputs really are strided/offset/expanded views", str(strides))
    for legacy in (False, True):
        label = "views" + ("-legacy" if legacy else "")
        p = save(views, label + ".pt", legacy)
        t, m = expected_from_file(p)
        roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP)

    # --- every dtype, 0-d, empty, unicode, nesting -------------------------------------------
    dtypes = {
        "f64": torch.randn(3, 2, dtype=torch.float64),
        "f32": torch.randn(5),
        "f32_special": torch.tensor([float("nan"), float("inf"), float("-inf"), -0.0, 1e-45, 3.0e38]),
        "f16": torch.randn(4, 3).half(),
        "bf16": torch.randn(7).to(torch.bfloat16),
        "i64": torch.randint(-2**62, 2**62, (4,), dtype=torch.int64),
        "i32": torch.randint(-2**31, 2**31 - 1, (2, 3), dtype=torch.int32),
        "i16": torch.randint(-2**15, 2**15 - 1, (5,), dtype=torch.int16),
        "i8": torch.randint(-128, 127, (6,), dtype=torch.int8),
        "u8": torch.randint(0, 255, (2, 2, 2), dtype=torch.uint8),
        "bool": torch.rand(9) > 0.5,
        "param": torch.nn.Parameter(torch.randn(3)),
        "requires_grad": torch.randn(2, requires_grad=True),
        "scalar_f32": torch.tensor(3.5),
        "scalar_i64": torch.tensor(7),
        "scalar_bool": torch.tensor(True),
        "scalar_bf16": torch.tensor(-1.25, dtype=torch.bfloat16),
        "empty": torch.empty(0),
        "empty3": torch.empty(3, 0, 2),
        "empty_i64": torch.zeros(0, dtype=torch.int64),
        "poids.ü": torch.randn(2, 2),
        "权重": torch.randn(3),
        "nested": {"inner": {"deep": torch.randn(2)}, "lst": [torch.randn(1), torch.ones(2, dtype=torch.int8)],
                   7: torch.randn(1), "tuple": (torch.randn(2), 1.5, "s")},
    }
    for legacy in (False, True):
        label = "dtypes" + ("-legacy" if legacy else "")
        p = save(dtypes, label + ".pt", legacy)
        t, m = expected_from_file(p)
        roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP,
                  pack_extra=["--checksum", "xxh32", "--align", "4096"] if legacy else [])

    # The same checkpoint as a big-endian machine writes it ("byteorder" record = "big").
    # complex64 with distinct real and imaginary parts, contiguous and as a transposed view, so
    # swapping all 8 bytes of an element (which exchanges the two parts) cannot pass.
    cplx = torch.complex(torch.arange(6, dtype=torch.float32).reshape(2, 3) + 1,
                         -torch.arange(6, dtype=torch.float32).reshape(2, 3) - 0.5)
    be_complex = {"complex": cplx, "complex_t": cplx.t()}
    be_src = save({k: v for k, v in dtypes.items()} | {"views": views} | be_complex, "for_be.pt")
    t, m = expected_from_file(be_src)
    to_big_endian(be_src, "big_endian.pt")
    with zipfile.ZipFile("big_endian.pt") as z, zipfile.ZipFile(be_src) as zo:
        be_ok = z.read("for_be/byteorder") == b"big" and z.read("for_be/data/0") != zo.read(
            "for_be/data/0")
    report(be_ok, "big-endian: the rewritten file says byteorder 'big' and its bytes differ", "")
    roundtrip("big-endian", ["big_endian.pt"], t, m, fmt=ZIP)

    # More scalars than a blob may hold: refused, or packed, but never a broken file left behind.
    save({"w": torch.ones(2), "hp": {str(i): i for i in range(100001)}}, "many_meta.pt")
    r = sp("pack", "many_meta.pt", "-o", "many_meta.spk")
    if r.rc == 0:
        v = sp("verify", "many_meta.spk")
        report(v.rc == 0, "100001 metadata entries: packed, and the blob verifies", v.describe())
    else:
        report(r.rc == 1 and clean(r) and not os.path.exists("many_meta.spk"),
               f"100001 metadata entries: refused with exit 1 and no output left "
               f"[{r.err.strip()[:120]}]",
               r.describe() + ("\nmany_meta.spk was left behind "
                               f"({os.path.getsize('many_meta.spk')} bytes)"
                               if os.path.exists("many_meta.spk") else ""))

    # complex64: packed as C64; whether it can be unpacked to safetensors is reported.
    p = save({"c": torch.randn(3, 2, dtype=torch.complex64), "r": torch.randn(2)}, "complex.pt")
    t, _ = expected_from_file(p)
    r = sp("pack", p, "-o", "complex.spk")
    if report(r.rc == 0 and clean(r), "complex64: pack", r.describe()):
        r = sp("inspect", "--json", "complex.spk")
        doc = json.loads(r.out) if r.rc == 0 else {"tensors": []}
        dt = {x["name"]: x["dtype"] for x in doc["tensors"]}
        report(dt.get("c") == "C64", "complex64: blob stores it as C64", str(dt))
        r = sp("unpack", "complex.spk", "-o", "complex.safetensors")
        if r.rc == 0:
            got, _ = read_safetensors("complex.safetensors")
            ok = got["c"][0] == "C64" and got["c"][2] == tensor_bytes(t["c"])
            report(ok, "complex64: unpack writes dtype \"C64\" (not a reference safetensors dtype), "
                       "bytes equal", str(got.get("c", ("?",))[:2]))
        else:
            report(r.rc == 1 and "complex.safetensors" in r.err and clean(r)
                   and not os.path.exists("complex.safetensors"),
                   f"complex64: unpack refuses cleanly [{r.err.strip()[:120]}]", r.describe())

    # --- bare tensors --------------------------------------------------------------------------
    big = torch.randn(1000)
    for legacy in (False, True):
        sfx = "-legacy" if legacy else ""
        for label, tensor in (("bare" + sfx, torch.randn(3, 4)),
                              ("bare-view" + sfx, big[10:20]),
                              ("bare-transposed" + sfx, torch.randn(3, 5).t())):
            p = save(tensor, label + ".pt", legacy)
            t, m = expected_from_file(p)
            report(list(t) == ["tensor"], f"{label}: oracle names it 'tensor'", str(list(t)))
            roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP)

    # --- Hugging Face sharded checkpoints -----------------------------------------------------
    sd = small_model().state_dict()
    names = list(sd)
    shards = [{k: sd[k] for k in names[0::2]}, {k: sd[k] for k in names[1::2]}]
    total = sum(v.numel() * v.element_size() for v in sd.values())
    os.mkdir("hf_bin")
    os.mkdir("hf_st")
    wm_bin, wm_st = {}, {}
    for i, shard in enumerate(shards):
        fb = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        fs = f"model-{i + 1:05d}-of-00002.safetensors"
        save(shard, os.path.join("hf_bin", fb), legacy=(i == 1))  # one zip, one legacy shard
        write_safetensors(os.path.join("hf_st", fs), shard)
        for k in shard:
            wm_bin[k], wm_st[k] = fb, fs
    for d, fn, wm in (("hf_bin", "pytorch_model.bin.index.json", wm_bin),
                      ("hf_st", "model.safetensors.index.json", wm_st)):
        with open(os.path.join(d, fn), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2)
    roundtrip("sharded-bin", ["hf_bin/pytorch_model.bin.index.json"], dict(sd), {"total_size": total},
              fmt="sharded checkpoint index")
    roundtrip("sharded-safetensors", ["hf_st/model.safetensors.index.json"], dict(sd),
              {"total_size": total}, fmt="sharded checkpoint index")

    # --- hostile files ------------------------------------------------------------------------
    run_hostile(work)


def run_hostile(work):
    def marker(name):
        return os.path.join(work, f"PWNED-{name}")

    # Control: the os.system payload is live when Python unpickles it.
    ctrl = marker("control")
    pickle.loads(pickle.dumps(Evil(f"touch {ctrl}"), protocol=2))
    report(os.path.exists(ctrl), "control: Python's own unpickler runs the os.system payload", "")

    mk = marker("os-system")
    torch_layout_zip("evil_system.pt", pickle.dumps(Evil(f"touch {mk}"), protocol=2))
    hostile("zip data.pkl calling os.system", "evil_system.pt", [r"posix\.system", r"os\.system"], mk)

    mk = marker("eval")
    torch_layout_zip("evil_eval.pt", pickle.dumps(
        EvilEval(f"__import__('os').system('touch {mk}')"), protocol=2, fix_imports=False))
    hostile("zip data.pkl calling builtins.eval", "evil_eval.pt", [r"builtins\.eval"], mk)
    mk = marker("eval2")
    torch_layout_zip("evil_eval_compat.pt", pickle.dumps(
        EvilEval(f"__import__('os').system('touch {mk}')"), protocol=2))
    hostile("zip data.pkl calling __builtin__.eval (protocol-2 name)", "evil_eval_compat.pt",
            [r"__builtin__\.eval", r"builtins\.eval"], mk)

    mk = marker("proto4")
    torch_layout_zip("evil_proto4.pt", pickle.dumps(Evil(f"touch {mk}"), protocol=4))
    hostile("zip data.pkl in protocol 4", "evil_proto4.pt",
            [r"STACK_GLOBAL", r"PROTO 4", r"protocol 4"], mk)
    # STACK_GLOBAL alone, after a protocol-2 header, with protocol-1 string opcodes.
    mk = marker("stack-global")
    pkl = (b"\x80\x02" + binunicode("posix") + binunicode("system") + b"\x93"
           + binunicode(f"touch {mk}") + b"\x85R.")
    torch_layout_zip("evil_stack_global.pt", pkl)
    hostile("zip data.pkl using STACK_GLOBAL", "evil_stack_global.pt", [r"STACK_GLOBAL"], mk)

    mk = marker("legacy")
    with open("evil_legacy.pt", "wb") as f:
        f.write(legacy_file([pickle.dumps(Evil(f"touch {mk}"), protocol=2),
                             pickle.dumps([], protocol=2)]))
    hostile("legacy format calling os.system", "evil_legacy.pt", [r"posix\.system", r"os\.system"], mk)
    mk = marker("legacy-sysinfo")
    with open("evil_legacy_sysinfo.pt", "wb") as f:
        f.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
                + pickle.dumps(Evil(f"touch {mk}"), protocol=2) + pickle.dumps({}, protocol=2)
                + pickle.dumps([], protocol=2))
    hostile("legacy format, os.system in sys_info", "evil_legacy_sysinfo.pt",
            [r"posix\.system", r"os\.system"], mk)

    # Container operations on the wrong types.
    torch_layout_zip("setitem_list.pt", b"\x80\x02]" + binunicode("k") + binunicode("v") + b"s.")
    hostile("SETITEM on a list", "setitem_list.pt", [r"SETITEM"])
    torch_layout_zip("setitems_list.pt", b"\x80\x02](" + binunicode("k") + binunicode("v") + b"u.")
    hostile("SETITEMS on a list", "setitems_list.pt", [r"SETITEMS"])
    torch_layout_zip("append_dict.pt", b"\x80\x02}" + binunicode("v") + b"a.")
    hostile("APPEND on a dict", "append_dict.pt", [r"APPEND"])
    torch_layout_zip("deep.pt", b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b".")
    hostile("100000 nested lists", "deep.pt", [r"depth", r"nest", r"deep"])

    # Storages that do not match their records.
    src = save({"w": torch.arange(1000, dtype=torch.float32)}, "small.pt")
    r = sp("pack", src, "-o", "small.spk")
    report(r.rc == 0, "control: the unmodified small.pt packs", r.describe())
    rewrite_zip(src, "short_record.pt",
                lambda n, d: d[: len(d) // 2] if n.endswith("/data/0") else d)
    hostile("data/0 record half its declared size", "short_record.pt", [r"declares", r"truncat"])
    rewrite_zip(src, "big_numel.pt",
                lambda n, d: with_storage_numel(d, 1 << 20) if n.endswith("/data.pkl") else d)
    hostile("data.pkl declares a larger numel than data/0 holds", "big_numel.pt", [r"declares"])
    rewrite_zip(src, "view_outside.pt",
                lambda n, d: with_tensor_size(d, 1000, 2000) if n.endswith("/data.pkl") else d)
    hostile("tensor view reaching past its storage", "view_outside.pt",
            [r"reaches", r"outside", r"beyond", r"exceeds"])
    legacy_src = save({"w": torch.arange(1000, dtype=torch.float32)}, "small_legacy.pt", legacy=True)
    with open(legacy_src, "rb") as f:
        data = f.read()
    with open("short_legacy.pt", "wb") as f:
        f.write(data[:-1000])
    hostile("legacy file missing its last 1000 bytes", "short_legacy.pt",
            [r"declares", r"truncat", r"past the end"])

    # Crafted zips.
    pkl = small_pickle_with_storage(16)
    raw = bytes(64)
    base_entries = [stored("archive/data.pkl", pkl), stored("archive/data/0", raw),
                    stored("archive/version", b"3\n")]
    with open("crafted_ok.pt", "wb") as f:
        f.write(craft_zip(base_entries))
    r = sp("pack", "crafted_ok.pt", "-o", "crafted_ok.spk")
    report(r.rc == 0, "control: the crafted zip writer makes a zip statepack accepts", r.describe())
    with open("overlap_ranges.pt", "wb") as f:
        f.write(craft_zip(base_entries, cd_patch=lambda i, e, off: (
            {"csize": len(e["data"]) + 40, "usize": len(e["data"]) + 40} if i == 0 else None)))
    hostile("zip entry whose data runs into the next local header", "overlap_ranges.pt", [r"overlap"])
    with open("overlap_same_header.pt", "wb") as f:
        f.write(craft_zip(base_entries, cd_extra=[dict(
            name="archive/data/1", method=0, crc=zlib.crc32(pkl), csize=len(pkl), usize=len(pkl),
            offset=0)]))
    hostile("two central-directory entries sharing one local header", "overlap_same_header.pt",
            [r"overlap", r"share", r"same local", r"does not match", r"differ", r"mismatch"])
    evil_pkl = pickle.dumps(Evil(f"touch {marker('dup')}"), protocol=2)
    dup_entries = base_entries + [stored("archive/data.pkl", evil_pkl)]
    with open("duplicate_names.pt", "wb") as f:
        f.write(craft_zip(dup_entries))
    hostile("two zip entries named archive/data.pkl", "duplicate_names.pt", [r"duplicate", r"twice"],
            marker("dup"))

    resnet_like = save(small_model().state_dict(), "to_truncate.pt")
    with open(resnet_like, "rb") as f:
        data = f.read()
    with open("truncated.pt", "wb") as f:
        f.write(data[: len(data) // 2])
    hostile("torch.save zip cut in half", "truncated.pt",
            [r"truncat", r"end of central directory", r"end record", r"central directory"])

    # Zip bombs. Deflate cannot beat ~1032:1 (all zeros reach ~1030:1 legitimately), so a bomb
    # shows as a size claim beyond that ratio, or beyond the 4 GiB inflate cap.
    zeros = bytes(200 << 20)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = co.compress(zeros) + co.flush()
    crc = zlib.crc32(zeros)
    ratio = len(zeros) / len(stream)
    del zeros
    with open("bomb_ratio.npz", "wb") as f:
        f.write(craft_zip([deflated("a.npy", 800 << 20, stream, crc)]))
    hostile(f"npz entry claiming 800 MB from {len(stream) // 1024} KB (ratio {4 * ratio:.0f}:1)",
            "bomb_ratio.npz", [r"ratio limit"])
    small = bytes(1 << 20)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    sstream = co.compress(small) + co.flush()
    e = deflated("a.npy", 1 << 20, sstream, zlib.crc32(small))
    e["zip64_usize"] = 100 << 30
    with open("bomb_claim.npz", "wb") as f:
        f.write(craft_zip([e]))
    hostile(f"npz entry of {len(sstream)} bytes claiming 100 GB (ZIP64)", "bomb_claim.npz",
            [r"bomb", r"ratio", r"limit", r"too large", r"exceeds"])
    e = deflated("archive/data/0", 200 << 20, stream, crc)
    e["zip64_usize"] = 100 << 30
    with open("bomb_torch.pt", "wb") as f:
        f.write(craft_zip([stored("archive/data.pkl", pickle_1d_storage(50 << 20)), e,
                           stored("archive/version", b"3\n")]))
    hostile("torch zip whose data/0 claims to inflate to 100 GB", "bomb_torch.pt",
            [r"limit \(zip bomb\?\)"])
    del stream

    # TorchScript.
    torch.jit.save(torch.jit.script(small_model()), "scripted.pt")
    hostile("TorchScript archive (torch.jit.save)", "scripted.pt", [r"TorchScript"])


if __name__ == "__main__":
    sys.exit(main())
