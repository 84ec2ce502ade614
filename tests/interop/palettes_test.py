#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Small palettes through the CLI: weights clustered to 2, 16, 17 and 256 centroids (arbitrary
floats on no grid), f32, f16 and bf16, plus a mask of -inf / 0 / -0.0, are packed with
--compress zstd; pack reports them as palettes, `verify` passes, inspect shows "palette N
values" with U4 indices up to 16 values and U8 above, `unpack` gives back every source byte in
the source dtype, and `unpack --dequantize` the same floats. Ordinary weights and a tensor with
a NaN stay as they are; --lossless-grids off keeps every tensor as it is; the k-means tensors
are smaller than `--lossless-grids off` makes them.

Usage: /usr/bin/python3 palettes_test.py /path/to/statepack
"""
import json
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import statepack_testlib as lib  # noqa: E402
from statepack_testlib import finish, report, run  # noqa: E402


def clustered(g, rows, cols, k):
    """Weights replaced by the nearest of k centroids (one Lloyd step from quantiles)."""
    w = torch.randn(rows, cols, generator=g) * 0.05
    flat = w.flatten()
    centroids = torch.quantile(flat[:65536], (torch.arange(k) + 0.5) / k)
    labels = torch.bucketize(flat, (centroids[1:] + centroids[:-1]) / 2)
    sums = torch.zeros(k).index_add_(0, labels, flat)
    counts = torch.bincount(labels, minlength=k).clamp(min=1)
    centroids = torch.sort(sums / counts).values
    labels = torch.bucketize(flat, (centroids[1:] + centroids[:-1]) / 2)
    return centroids[labels].reshape(rows, cols)


def checkpoint():
    g = torch.Generator().manual_seed(0)
    state = {}
    for k in (2, 16, 17, 256):
        w = clustered(g, 128, 256, k)
        state[f"k{k}.f32"] = w
        # Narrowing may merge centroids closer than an f16/bf16 ulp: still a palette.
        state[f"k{k}.f16"] = w.half()
        state[f"k{k}.bf16"] = w.bfloat16()
    mask = torch.zeros(64, 64)
    mask[torch.triu(torch.ones(64, 64, dtype=torch.bool), 1)] = float("-inf")
    mask[::2, 0] = -0.0
    state["mask"] = mask
    state["plain.weight"] = torch.randn(128, 256, generator=g)
    with_nan = clustered(g, 64, 64, 16)
    with_nan[3, 3] = float("nan")
    state["nan.weight"] = with_nan
    return state


PALETTES = [f"k{k}.{d}" for k in (2, 16, 17, 256) for d in ("f32", "f16", "bf16")] + ["mask"]


def tensors_of(statepack, blob):
    doc = json.loads(run(statepack, "inspect", "--json", blob))
    return {t["name"]: t for t in doc["tensors"]}


def main():
    statepack = lib.statepack_from_argv()
    if statepack is None:
        return 2
    state = checkpoint()
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "clustered.safetensors")
        lib.write_torch_safetensors(source, state)
        # Without compression (--lossless-grids on) raw sizes decide: every case is a palette.
        # With zstd each is weighed against the tensor's own coded size: two values of bf16 code
        # about as small either way, so k2 may stay as it is there.
        blob = os.path.join(work, "clustered.spk")
        out = run(statepack, "pack", source, "-o", blob, "--lossless-grids", "on", "--quiet")
        zblob = os.path.join(work, "clustered.zstd.spk")
        zout = run(statepack, "pack", source, "-o", zblob, "--compress", "zstd", "--quiet")
        for name in PALETTES:
            report(f"palette {name}: " in out, f"pack reports {name} as a palette", out)
            if not name.startswith("k2."):
                report(f"palette {name}: " in zout, f"pack --compress zstd: {name} a palette", zout)
        for text in (out, zout):
            report("plain.weight" not in text and "nan.weight" not in text,
                   "ordinary weights and a tensor with a NaN are no palettes", text)
        run(statepack, "verify", blob, "--quiet")
        run(statepack, "verify", zblob, "--quiet")

        info = tensors_of(statepack, blob)
        for name in PALETTES:
            t, values = info[name], state[name].flatten()
            distinct = len(set(values.float().view(torch.int32).tolist()))
            q = t["quantization"]
            report(q is not None and q["lossless"] is True
                   and t["dtype"] == ("U4" if distinct <= 16 else "U8"),
                   f"inspect: {name} is {distinct} values, lossless, U4/U8", t)
        for name in ("plain.weight", "nan.weight"):
            report(info[name]["quantization"] is None, f"inspect: {name} stays as it is")
        text = run(statepack, "inspect", blob)
        report("palette 16 values (exact)" in text, "inspect's table says palette 16 values", text)

        for packed in (blob, zblob):
            back = os.path.join(work, "back.safetensors")
            run(statepack, "unpack", packed, "-o", back, "--quiet")
            got, _ = lib.read_safetensors(back, strict=True)
            for name, t in state.items():
                dtype, shape, data = got[name]
                report(dtype == lib.st_dtype(t.dtype) and shape == list(t.shape)
                       and data == lib.tensor_bytes(t),
                       f"unpack restores {name} bit for bit ({os.path.basename(packed)})")
        floats = os.path.join(work, "floats.safetensors")
        run(statepack, "unpack", blob, "-o", floats, "--dequantize", "--quiet")
        decoded, _ = lib.read_torch_safetensors(floats)
        report(all(torch.equal(decoded[n][0].view(torch.int32),
                               state[n].float().view(torch.int32)) for n in PALETTES),
               "unpack --dequantize: the runtime's floats are the source's")
        info = tensors_of(statepack, zblob)

        off = os.path.join(work, "off.spk")
        out = run(statepack, "pack", source, "-o", off, "--compress", "zstd", "--quiet",
                  "--lossless-grids", "off")
        plain = tensors_of(statepack, off)
        report("palette" not in out and all(plain[n]["quantization"] is None for n in PALETTES),
               "--lossless-grids off: no palettes", out)
        for name in ("k16.f32", "k256.f32", "k16.bf16", "k256.bf16"):
            ours, theirs = info[name]["stored_size"], plain[name]["stored_size"]
            report(ours < theirs, f"{name}: palette {ours} < plain {theirs} bytes")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
