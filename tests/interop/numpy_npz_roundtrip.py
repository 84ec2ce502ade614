#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop with real NumPy: arrays written by np.save, np.savez and np.savez_compressed (every
dtype statepack reads, big-endian and Fortran-ordered arrays, 0-d and empty ones) go through
`statepack inspect --json`, `pack` and `unpack`, and come back bit for bit as little-endian,
C-order safetensors. Arrays statepack must refuse (object arrays, structured dtypes) are refused.

    /usr/bin/python3 tests/interop/numpy_npz_roundtrip.py /path/to/statepack

Needs Debian's python3-numpy (hence /usr/bin/python3). The unpacked .safetensors files are read
by the small function below. Prints one line per check and ends with "N passed, M failed";
exits 1 on any failure.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import statepack_testlib as lib  # noqa: E402
from statepack_testlib import check, run  # noqa: E402

# numpy dtype (little-endian or byte-order-free form) <-> safetensors dtype name.
NP_TO_ST = {
    "<f2": "F16",
    "<f4": "F32",
    "<f8": "F64",
    "|i1": "I8",
    "<i2": "I16",
    "<i4": "I32",
    "<i8": "I64",
    "|u1": "U8",
    "<u2": "U16",
    "<u4": "U32",
    "<u8": "U64",
    "|b1": "BOOL",
    "<c8": "C64",
}
ST_TO_NP = {v: np.dtype(k) for k, v in NP_TO_ST.items()}


def little_endian(dtype):
    """The little-endian (or byte-order-free) form of `dtype`."""
    return dtype.newbyteorder("<") if dtype.byteorder == ">" else dtype


def st_name(a):
    return NP_TO_ST[little_endian(a.dtype).str]


def expected_bytes(a):
    """What statepack must produce for `a`: its elements in C order, little-endian."""
    return np.ascontiguousarray(a.astype(little_endian(a.dtype))).tobytes()


# ------------------------------------------------------------------------------------------------
# checks


def refused(statepack, path, words):
    """`statepack inspect` exits 1 for `path` with a message naming it and holding `words`."""
    proc = subprocess.run([statepack, "inspect", "--json", path], capture_output=True, text=True)
    assert proc.returncode == 1, f"exit {proc.returncode} (stderr: {proc.stderr.strip()!r})"
    assert path in proc.stderr, f"message does not name the file: {proc.stderr.strip()!r}"
    for word in words:
        assert word in proc.stderr, f"message lacks {word!r}: {proc.stderr.strip()!r}"
    return True


def check_inspect(statepack, path, arrays):
    """inspect --json lists exactly `arrays` (name -> ndarray) with dtype, shape and size."""
    doc = json.loads(run(statepack, "inspect", "--json", path))
    listed = {t["name"]: t for t in doc["tensors"]}
    assert len(listed) == len(doc["tensors"]), "a name is listed twice"
    assert set(listed) == set(arrays), (
        f"names differ: missing {sorted(set(arrays) - set(listed))[:5]}, "
        f"extra {sorted(set(listed) - set(arrays))[:5]}")
    for name, a in arrays.items():
        entry = listed[name]
        assert entry["dtype"] == st_name(a), f"{name}: dtype {entry['dtype']} != {st_name(a)}"
        assert entry["shape"] == list(a.shape), f"{name}: shape {entry['shape']} != {a.shape}"
        assert entry["bytes"] == a.nbytes, f"{name}: {entry['bytes']} bytes != {a.nbytes}"
    return True


def compare(unpacked_path, arrays):
    """Every array is in the unpacked file with its dtype, shape and exact bytes, and the file
    has no other tensors."""
    back, _ = lib.read_safetensors(unpacked_path)
    assert set(back) == set(arrays), (
        f"names differ: missing {sorted(set(arrays) - set(back))[:5]}, "
        f"extra {sorted(set(back) - set(arrays))[:5]}")
    for name, a in arrays.items():
        dtype, shape, raw = back[name]
        assert dtype == st_name(a), f"{name}: dtype {dtype} != {st_name(a)}"
        assert shape == list(a.shape), f"{name}: shape {shape} != {list(a.shape)}"
        assert raw == expected_bytes(a), f"{name}: bytes differ"
        # The same check on values, so a wrong byte order could not cancel out above.
        values = np.frombuffer(raw, dtype=ST_TO_NP[dtype]).reshape(a.shape)
        assert np.array_equal(values, a, equal_nan=a.dtype.kind in "fc"), f"{name}: values differ"
    return len(arrays)


def roundtrip(statepack, tmp, path, arrays):
    """inspect, pack and unpack one input file holding `arrays`."""
    label = os.path.basename(path)
    blob = os.path.join(tmp, label + ".spk")
    back = os.path.join(tmp, label + ".unpacked.safetensors")
    check(f"{label}: inspect --json lists every array with its dtype and shape", check_inspect,
          statepack, path, arrays)
    if check(f"{label}: pack", run, statepack, "pack", path, "-o", blob) is None:
        return
    check(f"{label}: unpack", run, statepack, "unpack", blob, "-o", back)
    check(f"{label}: every array back bit for bit, little-endian and C-ordered", compare, back,
          arrays)


# ------------------------------------------------------------------------------------------------
# arrays


def every_dtype_arrays():
    """Name -> array, covering every dtype statepack reads in both byte orders, Fortran order,
    0-d and empty arrays. Names are valid Python identifiers so np.savez(**arrays) works."""
    rng = np.random.default_rng(1234)
    out = {}
    for descr in NP_TO_ST:
        dt = np.dtype(descr)
        base = descr[1:]
        if dt.kind == "f":
            a = rng.standard_normal((3, 4, 5)).astype(dt)
            info = np.finfo(dt)
            out[f"{base}_specials"] = np.array(
                [0.0, -0.0, 1.0, -1.5, np.inf, -np.inf, np.nan, info.max, info.min, info.tiny],
                dtype=dt)
        elif dt.kind in "iu":
            info = np.iinfo(dt)
            a = rng.integers(info.min, info.max, size=(3, 4, 5), dtype=dt, endpoint=True)
            out[f"{base}_limits"] = np.array([info.min, info.max, 0, 1], dtype=dt)
        elif dt.kind == "b":
            a = rng.random((3, 4, 5)) > 0.5
        else:  # complex64
            a = (rng.standard_normal((3, 4, 5)) + 1j * rng.standard_normal((3, 4, 5))).astype(dt)
        out[base] = a
        if dt.itemsize > 1:
            big = a.astype(dt.newbyteorder(">"))
            assert big.dtype.byteorder == ">"
            out[f"{base}_big"] = big
        fortran = np.asfortranarray(a)
        assert fortran.flags.f_contiguous and not fortran.flags.c_contiguous
        out[f"{base}_fortran"] = fortran
        out[f"{base}_fortran_big"] = np.asfortranarray(a.astype(dt.newbyteorder(">")))
    out["scalar_f8"] = np.array(2.5)
    out["scalar_i8"] = np.array(-42, dtype=np.int64)
    out["scalar_bool"] = np.array(True)
    out["scalar_c8_big"] = np.array(1.5 - 2j, dtype=">c8")
    out["empty_f4"] = np.empty((0, 16), dtype=np.float32)
    out["empty_i8_fortran"] = np.asfortranarray(np.empty((4, 0), dtype=np.int8))
    out["empty_f2_big"] = np.empty((2, 0, 3), dtype=">f2")
    out["rank8"] = rng.standard_normal((1, 2, 1, 2, 1, 2, 1, 3)).astype(np.float32)
    out["rank8_fortran"] = np.asfortranarray(rng.standard_normal((2, 1, 2, 1, 3, 1, 2, 2)))
    # A transposed view: np.save writes it as a Fortran-order array.
    out["transposed"] = np.arange(15, dtype=np.int32).reshape(3, 5).T
    return out


# ------------------------------------------------------------------------------------------------


def main():
    statepack = lib.statepack_from_argv()
    if statepack is None:
        return 2
    start = time.monotonic()
    print(f"numpy {np.__version__}")
    arrays = every_dtype_arrays()
    check("every dtype statepack reads is covered",
          lambda: {little_endian(a.dtype).str for a in arrays.values()} == set(NP_TO_ST))

    with tempfile.TemporaryDirectory(prefix="statepack-numpy-") as tmp:
        print("-- np.save: one .npy per array")
        for name, a in arrays.items():
            path = os.path.join(tmp, f"{name}.npy")
            np.save(path, a)
            roundtrip(statepack, tmp, path, {name: a})

        print("-- np.savez (stored entries)")
        path = os.path.join(tmp, "arrays.npz")
        np.savez(path, **arrays)
        roundtrip(statepack, tmp, path, arrays)

        print("-- np.savez_compressed (deflated entries)")
        path = os.path.join(tmp, "arrays_compressed.npz")
        np.savez_compressed(path, **arrays)
        roundtrip(statepack, tmp, path, arrays)

        print("-- arrays statepack refuses")
        path = os.path.join(tmp, "objects.npy")
        np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
        check("objects.npy: an object array is refused without running pickle", refused,
              statepack, path, ["'|O'", "pickle"])
        path = os.path.join(tmp, "objects.npz")
        np.savez(path, ok=np.ones(3, dtype=np.float32), bad=np.array([1, "x"], dtype=object))
        check("objects.npz: an object array inside an .npz is refused", refused, statepack, path,
              ["bad.npy", "pickle"])
        path = os.path.join(tmp, "structured.npy")
        np.save(path, np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))
        check("structured.npy: a structured dtype is refused", refused, statepack, path,
              ["structured"])
        path = os.path.join(tmp, "float128.npy")
        np.save(path, np.zeros(2, dtype=np.longdouble))
        check("float128.npy: extended precision is refused", refused, statepack, path,
              ["not supported"])

    elapsed = time.monotonic() - start
    print(f"({elapsed:.1f} s)")
    return lib.finish()


if __name__ == "__main__":
    sys.exit(main())
