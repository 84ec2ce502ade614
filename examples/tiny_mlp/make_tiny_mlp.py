#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Regenerates tiny_mlp.safetensors, the bundled example (run with Debian's /usr/bin/python3).

A 16 -> 32 -> 4 MLP with a fixed seed, plus one input vector and the output PyTorch computes for
it, so the C example can check its own forward pass against PyTorch's. Written without the
safetensors package (Debian has none): the format is a u64 header length, JSON, then bytes.
"""
import json
import struct
import sys

import torch


def save_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    torch.manual_seed(1234)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    x = torch.linspace(-1.0, 1.0, 16)
    with torch.no_grad():
        y = model(x)
    tensors = {k: v for k, v in model.state_dict().items()}
    tensors["example.input"] = x
    tensors["example.expected_output"] = y
    save_safetensors(sys.argv[1] if len(sys.argv) > 1 else "tiny_mlp.safetensors", tensors,
                     {"model": "16-32-4 MLP, ReLU", "seed": "1234"})


if __name__ == "__main__":
    main()
