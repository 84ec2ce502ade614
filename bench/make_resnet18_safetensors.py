#!/usr/bin/python3
"""Writes a torchvision ResNet-18 state dict (random init, seed 0) as safetensors.
Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision)."""
import json
import struct
import sys

import torch
import torchvision

DTYPES = {torch.float32: "F32", torch.int64: "I64"}


def main(path):
    torch.manual_seed(0)
    state = torchvision.models.resnet18(weights=None).state_dict()
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        raw = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


if __name__ == "__main__":
    main(sys.argv[1])
