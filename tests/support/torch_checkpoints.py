# SPDX-License-Identifier: Apache-2.0
"""The oracle and the checks of the torch.save interop tests (tests/interop/torch_*.py): what
the CLI must make of a checkpoint (torch.load's objects, flattened as the CLI flattens them),
the pack -> verify -> inspect -> unpack round trip compared with it bit for bit, the refusal of
a hostile file, and the runner every such script shares. Needs Debian's python3-torch.
"""

import json
import os
import re
import tempfile
import time
import traceback
import zipfile

import torch

from statepack_testlib import (clean, finish, read_safetensors, report,
                               separate_sanitizer_exit_codes, sp, st_dtype, statepack_from_argv,
                               tensor_bytes)

ZIP, LEGACY = "torch.save (zip)", "torch.save (legacy)"


# ------------------------------------------------------------------------------------------------
# the oracle: torch.load, flattened


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
        if dtype != st_dtype(t.dtype) or list(shape) != list(t.shape):
            problems.append(f"{name}: {dtype}{list(shape)}, expected "
                            f"{st_dtype(t.dtype)}{list(t.shape)}")
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
        got, st_meta = read_safetensors(y, strict=True)
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
        if dtype != st_dtype(t.dtype) or shape != list(t.shape):
            problems.append(f"{name}: {dtype}{shape}, expected {st_dtype(t.dtype)}{list(t.shape)}")
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



def save(obj, path, legacy=False, protocol=None):
    """torch.save to `path`; protocol None is torch's default pickle protocol (2)."""
    extra = {} if protocol is None else {"pickle_protocol": protocol}
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy, **extra)
    return path


def pickle_protocol_of(path, legacy):
    """The PROTO byte of a torch.save file's object pickle (data.pkl; in the legacy format, the
    first pickle, which is written with the same protocol), or None."""
    if legacy:
        with open(path, "rb") as f:
            head = f.read(2)
    else:
        with zipfile.ZipFile(path) as z:
            name = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            head = z.read(name)[:2]
    return head[1] if len(head) == 2 and head[0] == 0x80 else None


def run_checks(checks):
    """The main of a torch.save test script: checks(work) runs in a fresh temporary directory
    (also the current one) with torch seeded; a crash is a failure. Prints the run time and
    "N passed, M failed"; returns the exit status."""
    if statepack_from_argv() is None:
        return 2
    separate_sanitizer_exit_codes()
    start = time.monotonic()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="statepack-torch.") as work:
        os.chdir(work)
        try:
            checks(work)
        except Exception:  # noqa: BLE001
            report(False, "test script crashed", traceback.format_exc())
        os.chdir("/")
    print(f"run time {time.monotonic() - start:.1f} s")
    return finish()
