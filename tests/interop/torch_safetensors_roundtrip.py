#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop with real PyTorch: state dicts made by torch/torchvision go through
`statepack pack`, `verify` and `unpack`, and come back bit for bit.

    /usr/bin/python3 tests/interop/torch_safetensors_roundtrip.py /path/to/statepack

Needs Debian's python3-torch and python3-torchvision (hence /usr/bin/python3). There is no
safetensors package on Debian, so the .safetensors files are written and read by
tests/support/statepack_testlib.py. Prints one line per check and ends with "N passed, M failed"; exits 1 on any
failure.
"""

import json
import os
import sys
import tempfile
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import statepack_testlib as lib  # noqa: E402
from statepack_testlib import check, run, st_dtype, tensor_bytes  # noqa: E402


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
    back, back_meta = lib.read_torch_safetensors(unpacked_path)
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
        assert entry["dtype"] == st_dtype(t.dtype), f"{name}: dtype {entry['dtype']}"
        assert entry["shape"] == list(t.shape), f"{name}: shape {entry['shape']}"
        assert entry["stored_size"] == t.numel() * t.element_size(), f"{name}: stored_size"
    assert doc["blob_size"] == doc["tensor_bytes"] + doc["overhead_bytes"]


# ------------------------------------------------------------------------------------------------
# state dicts


def trained_bn_state(model):
    """Runs a few training steps' worth of forward passes so batch-norm statistics and
    num_batches_tracked are not their initial values; returns a copy of the state dict."""
    lib.warm_up_batch_norm(model, passes=2, batch=2)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def every_dtype_dict():
    g = torch.Generator().manual_seed(1234)
    specials = [0.0, -0.0, 1.0, -1.5, float("inf"), float("-inf"), float("nan")]
    d = {}
    for dtype in (torch.float64, torch.float32, torch.float16, torch.bfloat16):
        name = st_dtype(dtype).lower()
        d[f"float.{name}"] = torch.randn(3, 4, 5, generator=g).to(dtype)
        info = torch.finfo(dtype)
        d[f"float.{name}.specials"] = torch.tensor(
            specials + [info.max, info.min, info.tiny, info.tiny / 4, info.eps], dtype=dtype)
    for dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        name = st_dtype(dtype).lower()
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
    lib.write_torch_safetensors(src, state, metadata)
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
    tensors, _ = lib.read_torch_safetensors(unpacked_path)
    loaded.load_state_dict({name: t for name, (t, _) in tensors.items()})
    original.eval()
    loaded.eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        return torch.equal(original(x), loaded(x))


def main():
    statepack = lib.statepack_from_argv()
    if statepack is None:
        return 2
    start = time.monotonic()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")

    with tempfile.TemporaryDirectory(prefix="statepack-torch-") as tmp:
        meta = {"format": "pt", "source": "torchvision"}

        resnet = trained_bn_state(lib.resnet18())
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
              lambda: {st_dtype(t.dtype) for t in dtypes.values()} == set(lib.REFERENCE_DTYPES))
        doc = roundtrip(statepack, tmp, "every-dtype", dtypes, {"purpose": "dtypes", "ünï": "cödé"})
        if doc is not None:
            seg = {t["name"]: t["segment"] for t in doc["tensors"]}
            check("every-dtype: tied weights share one segment",
                  lambda: seg["embed.weight"] == seg["lm_head.weight"] == seg["lm_head.alias"])
            check("every-dtype: untied tensors do not share it",
                  lambda: list(seg.values()).count(seg["embed.weight"]) == 3)

    elapsed = time.monotonic() - start
    print(f"({elapsed:.1f} s)")
    return lib.finish()


if __name__ == "__main__":
    sys.exit(main())
