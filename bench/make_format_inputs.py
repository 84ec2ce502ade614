#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes one seeded f32 model of about N MiB in every input format statepack reads, for the
memory benchmark (bench/compression_bench.sh, section rss) and the memory-bound test.

  make_format_inputs.py OUT_DIR --mib N [--formats safetensors,torch,legacy,npz,npy,sharded]

Files: model.safetensors, model.pt (torch.save zip), model_legacy.pt
(_use_new_zipfile_serialization=False), model.npz (np.savez, stored), model.npy (one array),
sharded/model.safetensors.index.json with two shards. Each model holds 64 MiB [4096, 4096]
matrices (the last one shorter) plus a few small vectors, so no single tensor dominates.
torch is needed only for the torch formats. Memory: one tensor at a time, except torch.save,
which holds the whole state dict (as it does for real models).
"""
import argparse
import json
import os
import struct

import numpy as np

COLS = 4096


def matrices(mib, seed):
    """(name, array) pairs adding up to about `mib` MiB of f32."""
    rng = np.random.default_rng(seed)
    rows_left = mib * (1 << 20) // (4 * COLS)
    index = 0
    while rows_left > 0:
        rows = min(4096, rows_left)
        rows_left -= rows
        yield f"layers.{index}.weight", (rng.standard_normal((rows, COLS), dtype=np.float32) * 0.02)
        yield f"layers.{index}.bias", np.zeros(COLS, dtype=np.float32)
        index += 1


def write_safetensors(path, named):
    """named: list of (name, array); writes one array at a time."""
    header, offset = {}, 0
    for name, a in named:
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _, a in named:
            f.write(a.astype("<f4").tobytes())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--formats", default="safetensors,torch,legacy,npz,npy,sharded")
    args = parser.parse_args()
    formats = args.formats.split(",")
    os.makedirs(args.out, exist_ok=True)
    named = list(matrices(args.mib, args.seed))
    if "safetensors" in formats:
        write_safetensors(os.path.join(args.out, "model.safetensors"), named)
    if "sharded" in formats:
        shard_dir = os.path.join(args.out, "sharded")
        os.makedirs(shard_dir, exist_ok=True)
        half = len(named) // 2 or 1
        shards = [named[:half], named[half:]]
        weight_map = {}
        for i, shard in enumerate(shards):
            if not shard:
                continue
            file = f"model-{i + 1:05d}-of-00002.safetensors"
            write_safetensors(os.path.join(shard_dir, file), shard)
            weight_map.update({name: file for name, _ in shard})
        with open(os.path.join(shard_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f)
    if "npz" in formats:
        np.savez(os.path.join(args.out, "model.npz"), **dict(named))
    if "npy" in formats:
        big = np.concatenate([a.reshape(-1) for name, a in named if a.ndim == 2])
        np.save(os.path.join(args.out, "model.npy"), big.reshape(-1, COLS))
        del big
    if "torch" in formats or "legacy" in formats:
        import torch

        state = {name: torch.from_numpy(a) for name, a in named}
        if "torch" in formats:
            torch.save(state, os.path.join(args.out, "model.pt"))
        if "legacy" in formats:
            torch.save(state, os.path.join(args.out, "model_legacy.pt"),
                       _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    main()
