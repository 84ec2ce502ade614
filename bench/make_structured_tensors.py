#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes seeded structured tensors, one safetensors file each, for the compression benchmark's
"structured tensors" section: the kinds of tensor real checkpoints hold besides noise-like
weights, where LZ matches, zero runs and repeated values pay.

  make_structured_tensors.py OUT_DIR [--rows 512] [--cols 1024] [--seed 1]

For each case and dtype (f32, bf16) it writes OUT_DIR/NAME.safetensors (one tensor named
NAME), OUT_DIR/NAME.raw (the tensor's bytes) and OUT_DIR/NAME.grouped (the same bytes
byte-grouped as statepack groups them: each element rotated left by one bit, then byte k of
every element into stream k), and prints the names, one a line.

Cases: stft_basis (the 258x1x256 windowed DFT basis buffer of an STFT front end), causal_mask
(tril of ones), position_table (sinusoidal position encoding), fakequant_channel and
fakequant_tensor (weights through torch.fake_quantize_per_channel_affine / per_tensor_affine,
int8 grid), pruned90 (90% of the weights, the smallest in magnitude, zeroed), block_pruned
(half of the 16x16 blocks, those of least norm, zeroed), sparse24 (2:4: the two smallest of
every four consecutive weights zeroed), kmeans16 and kmeans256 (weights clustered by k-means
into 16 or 256 centroids, as Deep Compression and torch.ao's weight clustering export: every
weight replaced by its centroid, arbitrary floats on no grid). Weights are those of
make_synthetic_weights.py.

Run with Debian's /usr/bin/python3 (python3-numpy, python3-torch).
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_synthetic_weights import weights, write  # noqa: E402


def stft_basis(_rng, _rows, _cols):
    n_fft = 256
    window = np.hanning(n_fft + 1)[:n_fft]  # periodic Hann, as torch.hann_window
    basis = np.fft.fft(np.eye(n_fft))[: n_fft // 2 + 1]  # [129, 256] complex
    stacked = np.concatenate([basis.real, basis.imag]) * window
    return torch.from_numpy(stacked.astype(np.float32)).reshape(2 * (n_fft // 2 + 1), 1, n_fft)


def causal_mask(_rng, rows, _cols):
    return torch.tril(torch.ones(rows, rows, dtype=torch.float32))


def position_table(_rng, rows, cols):
    position = torch.arange(rows, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, cols, 2, dtype=torch.float32) * (-np.log(10000.0) / cols))
    table = torch.zeros(rows, cols)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)
    return table


def fakequant_channel(rng, rows, cols):
    w = torch.from_numpy(weights(rng, rows, cols))
    scale = (w.abs().amax(dim=1) / 127.0).float()
    zero = torch.zeros(rows, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -128, 127)


def fakequant_tensor(rng, rows, cols):
    w = torch.from_numpy(weights(rng, rows, cols))
    return torch.fake_quantize_per_tensor_affine(w, float(w.abs().max()) / 127.0, 0, -128, 127)


def pruned90(rng, rows, cols):
    w = torch.from_numpy(weights(rng, rows, cols))
    threshold = w.abs().flatten().kthvalue(int(0.9 * w.numel())).values
    return torch.where(w.abs() > threshold, w, torch.zeros_like(w))


def block_pruned(rng, rows, cols, block=16):
    w = torch.from_numpy(weights(rng, rows, cols))
    norms = w.reshape(rows // block, block, cols // block, block).norm(dim=(1, 3))
    keep = (norms > norms.flatten().median()).float()
    mask = keep.repeat_interleave(block, 0).repeat_interleave(block, 1)
    return w * mask


def sparse24(rng, rows, cols):
    w = torch.from_numpy(weights(rng, rows, cols)).reshape(-1, 4)
    smallest = w.abs().argsort(dim=1)[:, :2]
    return w.scatter(1, smallest, 0.0).reshape(rows, cols)


def kmeans(rng, rows, cols, clusters, iterations=8):
    # Lloyd's algorithm in one dimension from quantile centroids: assign by the midpoints
    # between sorted centroids, move each centroid to its cluster's mean.
    w = weights(rng, rows, cols).astype(np.float64).ravel()
    centroids = np.quantile(w, (np.arange(clusters) + 0.5) / clusters)
    for _ in range(iterations):
        labels = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, w)
        sums = np.bincount(labels, weights=w, minlength=clusters)
        counts = np.bincount(labels, minlength=clusters)
        centroids = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        centroids.sort()
    labels = np.searchsorted((centroids[1:] + centroids[:-1]) / 2, w)
    return torch.from_numpy(centroids.astype(np.float32)[labels].reshape(rows, cols))


def kmeans16(rng, rows, cols):
    return kmeans(rng, rows, cols, 16)


def kmeans256(rng, rows, cols):
    return kmeans(rng, rows, cols, 256)


CASES = [stft_basis, causal_mask, position_table, fakequant_channel, fakequant_tensor, pruned90,
         block_pruned, sparse24, kmeans16, kmeans256]


def group(raw, width):
    bits = 8 * width
    x = np.frombuffer(raw, dtype={2: "<u2", 4: "<u4"}[width])
    x = ((x << 1) | (x >> (bits - 1))).astype(x.dtype)
    return x.view(np.uint8).reshape(-1, width).T.tobytes()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--cols", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for case in CASES:
        rng = np.random.default_rng(args.seed)
        t = case(rng, args.rows, args.cols).contiguous()
        for dtype, torch_dtype, label, width in [("f32", torch.float32, "F32", 4),
                                                 ("bf16", torch.bfloat16, "BF16", 2)]:
            name = f"{case.__name__}_{dtype}"
            raw = t.to(torch_dtype).view(torch.int16 if width == 2 else torch.int32).numpy()
            raw = raw.astype(f"<i{width}").tobytes()
            base = os.path.join(args.out_dir, name)
            write(base + ".safetensors", [(name, label, list(t.shape), len(raw), lambda: raw)])
            with open(base + ".raw", "wb") as f:
                f.write(raw)
            with open(base + ".grouped", "wb") as f:
                f.write(group(raw, width))
            print(name)


if __name__ == "__main__":
    main()
