#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes seeded synthetic weights as safetensors, for the compression benchmark.

Each tensor is a [rows, cols] matrix whose rows have their own scale (log-normal spread around
0.02, as trained layers do) and whose values have heavy tails (Student-t with 6 degrees of
freedom, scaled to unit variance). Floats are narrowed with round-to-nearest-even.

  make_synthetic_weights.py OUT.safetensors --dtype f32|f16|bf16 --mib N [--seed S]
  make_synthetic_weights.py OUT.safetensors --many 10000      # 10,000 small f32 tensors

Run with Debian's /usr/bin/python3 (python3-numpy). Memory: one tensor at a time.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
from statepack_testlib import safetensors_header  # noqa: E402

COLS = 4096


def narrow(values, dtype):
    if dtype == "f32":
        return values.astype("<f4").tobytes()
    if dtype == "f16":
        return values.astype("<f2").tobytes()
    bits = values.astype("<f4").view("<u4").astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16  # round to nearest even
    return rounded.astype("<u2").tobytes()


def weights(rng, rows, cols):
    scale = 0.02 * rng.lognormal(0.0, 0.25, size=(rows, 1)).astype(np.float32)
    tails = rng.standard_t(6.0, size=(rows, cols)).astype(np.float32) / np.float32(np.sqrt(1.5))
    return tails * scale


def write(path, tensors):
    """tensors: list of (name, dtype name, shape, byte length, producer of the bytes)."""
    head = safetensors_header([(name, dtype, shape, size) for name, dtype, shape, size, _ in tensors])
    with open(path, "wb") as f:
        f.write(head)
        for *_, produce in tensors:
            f.write(produce())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--many", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.many:
        tensors = []
        for i in range(args.many):
            data = rng.standard_normal(64).astype("<f4").tobytes()
            tensors.append((f"model.layers.{i // 10}.block.{i % 10}.weight", "F32", [8, 8], 256,
                            lambda d=data: d))
        write(args.out, tensors)
        return
    width = {"f32": 4, "f16": 2, "bf16": 2}[args.dtype]
    rows_per_tensor = max(1, (64 << 20) // (COLS * width))  # 64 MiB tensors
    total_rows = (args.mib << 20) // (COLS * width)
    tensors, index = [], 0
    while total_rows > 0:
        rows = min(rows_per_tensor, total_rows)
        seed = int(rng.integers(1 << 62))
        tensors.append((f"layers.{index}.weight", args.dtype.upper(), [rows, COLS],
                        rows * COLS * width,
                        lambda r=rows, s=seed: narrow(weights(np.random.default_rng(s), r, COLS),
                                                      args.dtype)))
        total_rows -= rows
        index += 1
    write(args.out, tensors)


if __name__ == "__main__":
    main()
