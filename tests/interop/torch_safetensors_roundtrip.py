#!/usr/bin/python3
"""Interop with real PyTorch: state dicts made by torch/torchvision go through
`statepack pack`, `verify` and `unpack`, and come back bit for bit.

    /usr/bin/python3 tests/interop/torch_safetensors_roundtrip.py /path/to/statepack

Needs Debian's python3-torch and python3-torchvision (hence /usr/bin/python3). There is no
safetensors package on Debian, so the .safetensors files are written and read by the small
functions below. Prints one line per check and ends with "N passed, M failed"; exits 1 on any
failure.
"""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import time
import traceback

import torch
import torchvision

# torch dtype <-> safetensors dtype name, for every dtype the two have in common.
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
}
ST_TO_TORCH = {v: k for k, v in TORCH_TO_ST.items()}


# ------------------------------------------------------------------------------------------------
# safetensors, by hand


def tensor_bytes(t):
    """The tensor's elements in row-major order, little-endian, as safetensors stores them."""
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the same 16 bits as int16.
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor. Layout as the reference writer: u64 LE header
    length, compact JSON header padded with spaces to a multiple of 8, then the data."""
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        raw = tensor_bytes(t)
        header[name] = {
            "dtype": TORCH_TO_ST[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


def read_safetensors(path):
    """Returns (dict name -> (torch tensor, raw bytes), metadata dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack_from("<Q", blob, 0)
    assert 8 + n <= len(blob), f"{path}: header length {n} runs past the end"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = memoryview(blob)[8 + n:]
    out = {}
    for name, entry in header.items():
        dtype = ST_TO_TORCH[entry["dtype"]]
        shape = entry["shape"]
        begin, end = entry["data_offsets"]
        assert 0 <= begin <= end <= len(data), f"{path}: {name}: bad data_offsets {begin, end}"
        raw = bytes(data[begin:end])
        count = math.prod(shape)
        if count == 0:
            assert raw == b"", f"{name}: {len(raw)} bytes for an empty tensor"
            t = torch.empty(shape, dtype=dtype)
        elif dtype == torch.bfloat16:
            t = torch.frombuffer(bytearray(raw), dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(bytearray(raw), dtype=dtype)
        out[name] = (t.reshape(shape), raw)
    return out, metadata


# ------------------------------------------------------------------------------------------------
# checks

PASSED = 0
FAILED = 0


def check(what, fn, *args):
    """Runs fn(*args); an exception or a False result is a failure. Returns the result."""
    global PASSED, FAILED
    try:
        result = fn(*args)
    except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
        FAILED += 1
        print(f"FAIL {what}: {e}")
        if not isinstance(e, AssertionError):
            traceback.print_exc(limit=3)
        return None
    if result is False:
        FAILED += 1
        print(f"FAIL {what}")
        return None
    PASSED += 1
    print(f"ok   {what}")
    return result


def run(statepack, *args):
    proc = subprocess.run([statepack, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"statepack {' '.join(args)} exited {proc.returncode}: "
                             f"{proc.stderr.strip()}")
    return proc.stdout


def same_values(a, b):
    """torch.equal, except that NaN equals NaN (in the same places)."""
    if a.dtype.is_floating_point:
        nan_a, nan_b = torch.isnan(a), torch.isnan(b)
        if not torch.equal(nan_a, nan_b):
            return False
        return torch.equal(torch.where(nan_a, torch.zeros_like(a), a),
                           torch.where(nan_b, torch.zeros_like(b), b))
    return torch.equal(a, b)


def compare(original, unpacked_path, metadata):
    """Every tensor of `original` (name -> torch tensor) is in the file with the same dtype,
    shape, raw bytes and values, the file has no other names, and its metadata is `metadata`."""
    back, back_meta = read_safetensors(unpacked_path)
    assert set(back) == set(original), (
        f"names differ: missing {sorted(set(original) - set(back))[:5]}, "
        f"extra {sorted(set(back) - set(original))[:5]}")
    for name, t in original.items():
        got, raw = back[name]
        assert got.dtype == t.dtype, f"{name}: dtype {got.dtype} != {t.dtype}"
        assert tuple(got.shape) == tuple(t.shape), f"{name}: shape {tuple(got.shape)} != {tuple(t.shape)}"
        assert raw == tensor_bytes(t), f"{name}: bytes differ"
        assert same_values(got, t.detach().cpu()), f"{name}: values differ"
    assert back_meta == (metadata or {}), f"metadata {back_meta} != {metadata}"
    return len(original)


def inspect_json(statepack, path):
    return json.loads(run(statepack, "inspect", path, "--json"))


def check_inspect(doc, original):
    """inspect --json describes the same tensors as the state dict."""
    listed = {t["name"]: t for t in doc["tensors"]}
    assert len(listed) == len(doc["tensors"]), "a name is listed twice"
    assert set(listed) == set(original), "names differ from the state dict"
    for name, t in original.items():
        entry = listed[name]
        assert entry["dtype"] == TORCH_TO_ST[t.dtype], f"{name}: dtype {entry['dtype']}"
        assert entry["shape"] == list(t.shape), f"{name}: shape {entry['shape']}"
        assert entry["stored_size"] == t.numel() * t.element_size(), f"{name}: stored_size"
    assert doc["blob_size"] == doc["tensor_bytes"] + doc["overhead_bytes"]


# ------------------------------------------------------------------------------------------------
# state dicts


def trained_bn_state(model):
    """Runs a few training steps' worth of forward passes so batch-norm statistics and
    num_batches_tracked are not their initial values; returns a copy of the state dict."""
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(2, 3, 64, 64))
    model.eval()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def every_dtype_dict():
    g = torch.Generator().manual_seed(1234)
    specials = [0.0, -0.0, 1.0, -1.5, float("inf"), float("-inf"), float("nan")]
    d = {}
    for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
        name = TORCH_TO_ST[dtype].lower()
        d[f"float.{name}"] = torch.randn(3, 4, 5, generator=g).to(dtype)
        info = torch.finfo(dtype)
        d[f"float.{name}.specials"] = torch.tensor(
            specials + [info.max, info.min, info.tiny, info.tiny / 4, info.eps], dtype=dtype)
    for dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        name = TORCH_TO_ST[dtype].lower()
        info = torch.iinfo(dtype)
        d[f"int.{name}"] = torch.randint(info.min, info.max, (7, 3), generator=g, dtype=dtype)
        d[f"int.{name}.limits"] = torch.tensor([info.min, info.max, 0, 1], dtype=dtype)
    d["mask.bool"] = torch.rand(4, 4, generator=g) > 0.5
    # 0-d tensors, of several dtypes.
    d["scalar.f32"] = torch.tensor(2.5)
    d["scalar.i64"] = torch.tensor(-42, dtype=torch.int64)
    d["scalar.bool"] = torch.tensor(True)
    d["scalar.bf16"] = torch.tensor(-0.125, dtype=torch.bfloat16)
    # Empty tensors: a zero dimension first, last, in the middle.
    d["empty.f32"] = torch.empty(0, 16)
    d["empty.i8"] = torch.empty(4, 0, dtype=torch.int8)
    d["empty.f16"] = torch.empty(2, 0, 3, dtype=torch.float16)
    d["empty.1d"] = torch.empty(0, dtype=torch.float64)
    # Non-contiguous: saved in row-major order of the transposed view.
    base = torch.arange(15, dtype=torch.float32).reshape(3, 5)
    transposed = base.t()
    assert not transposed.is_contiguous()
    d["transposed"] = transposed
    d["strided"] = torch.arange(40, dtype=torch.int32).reshape(5, 8)[:, ::2]
    # Rank 8, the format's maximum.
    d["rank8"] = torch.randn(1, 2, 1, 2, 1, 2, 1, 3, generator=g)
    # Tied weights: the same values under two names (and a shared-storage alias too).
    emb = torch.randn(10, 6, generator=g)
    d["embed.weight"] = emb
    d["lm_head.weight"] = emb.clone()
    d["lm_head.alias"] = emb
    # Unicode names.
    d["模型.层.0.权重"] = torch.randn(2, 2, generator=g)
    d["größe.über"] = torch.ones(3, dtype=torch.int16)
    return d


# ------------------------------------------------------------------------------------------------


def roundtrip(statepack, tmp, label, state, metadata, pack_args=()):
    """pack, verify, inspect, unpack one state dict; returns inspect's JSON document."""
    src = os.path.join(tmp, f"{label}.safetensors")
    blob = os.path.join(tmp, f"{label}.spk")
    back = os.path.join(tmp, f"{label}.unpacked.safetensors")
    write_safetensors(src, state, metadata)
    nbytes = sum(t.numel() * t.element_size() for t in state.values())
    print(f"-- {label}: {len(state)} tensors, {nbytes} bytes"
          + (f" ({' '.join(pack_args)})" if pack_args else ""))
    if check(f"{label}: pack", run, statepack, "pack", src, "-o", blob, *pack_args) is None:
        return None
    check(f"{label}: verify", run, statepack, "verify", blob)
    doc = check(f"{label}: inspect --json", inspect_json, statepack, blob)
    if doc is not None:
        check(f"{label}: inspect lists every tensor with its dtype and shape", check_inspect, doc,
              state)
    check(f"{label}: unpack", run, statepack, "unpack", blob, "-o", back)
    check(f"{label}: every tensor back bit for bit, same names, dtypes, shapes, metadata",
          compare, state, back, metadata)
    return doc


def forward_matches(model_fn, state, unpacked_path):
    """A fresh model loaded from the unpacked file computes exactly what the original does."""
    original = model_fn()
    original.load_state_dict(state)
    loaded = model_fn()
    tensors, _ = read_safetensors(unpacked_path)
    loaded.load_state_dict({name: t for name, (t, _) in tensors.items()})
    original.eval()
    loaded.eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        return torch.equal(original(x), loaded(x))


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} /path/to/statepack", file=sys.stderr)
        return 2
    statepack = os.path.abspath(sys.argv[1])
    if not (os.path.isfile(statepack) and os.access(statepack, os.X_OK)):
        print(f"{sys.argv[0]}: {sys.argv[1]} is not an executable", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    start = time.monotonic()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")

    with tempfile.TemporaryDirectory(prefix="statepack-torch-") as tmp:
        meta = {"format": "pt", "source": "torchvision"}

        resnet = trained_bn_state(torchvision.models.resnet18(weights=None))
        doc = roundtrip(statepack, tmp, "resnet18", resnet, meta)
        if doc is not None:
            overhead = doc["blob_size"] - doc["tensor_bytes"]
            print(f"resnet18 blob overhead: {overhead} bytes "
                  f"({100.0 * overhead / doc['tensor_bytes']:.4f}% of tensor data)")
            check("resnet18: overhead_bytes = blob_size - tensor_bytes",
                  lambda: doc["overhead_bytes"] == overhead)
            dict_bytes = sum(t.numel() * t.element_size() for t in resnet.values())
            check("resnet18: tensor_bytes <= the state dict's bytes",
                  lambda: doc["tensor_bytes"] <= dict_bytes)
        check("resnet18: the unpacked weights compute the same outputs", forward_matches,
              lambda: torchvision.models.resnet18(weights=None), resnet,
              os.path.join(tmp, "resnet18.unpacked.safetensors"))
        roundtrip(statepack, tmp, "resnet18-xxh32-align4096", resnet, meta,
                  ("--checksum", "xxh32", "--align", "4096"))

        mobilenet = trained_bn_state(torchvision.models.mobilenet_v3_small(weights=None))
        roundtrip(statepack, tmp, "mobilenet_v3_small", mobilenet, meta)
        check("mobilenet_v3_small: the unpacked weights compute the same outputs",
              forward_matches, lambda: torchvision.models.mobilenet_v3_small(weights=None),
              mobilenet, os.path.join(tmp, "mobilenet_v3_small.unpacked.safetensors"))

        # Converted models: floating tensors change dtype, num_batches_tracked stays int64.
        resnet_fp16 = {k: (v.half() if v.is_floating_point() else v) for k, v in resnet.items()}
        roundtrip(statepack, tmp, "resnet18-fp16", resnet_fp16, meta)
        mobilenet_bf16 = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v)
                          for k, v in mobilenet.items()}
        roundtrip(statepack, tmp, "mobilenet_v3_small-bf16", mobilenet_bf16, None)

        dtypes = every_dtype_dict()
        check("every torch dtype with a safetensors name is covered",
              lambda: {t.dtype for t in dtypes.values()} == set(TORCH_TO_ST))
        doc = roundtrip(statepack, tmp, "every-dtype", dtypes, {"purpose": "dtypes", "ünï": "cödé"})
        if doc is not None:
            seg = {t["name"]: t["segment"] for t in doc["tensors"]}
            check("every-dtype: tied weights share one segment",
                  lambda: seg["embed.weight"] == seg["lm_head.weight"] == seg["lm_head.alias"])
            check("every-dtype: untied tensors do not share it",
                  lambda: list(seg.values()).count(seg["embed.weight"]) == 3)

    elapsed = time.monotonic() - start
    print(f"({elapsed:.1f} s)")
    print(f"{PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
