#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes a torchvision ResNet-18 state dict (random init, seed 0) as safetensors.
Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision)."""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
import statepack_testlib as lib  # noqa: E402


def main(path):
    torch.manual_seed(0)
    lib.write_torch_safetensors(path, lib.resnet18().state_dict())


if __name__ == "__main__":
    main(sys.argv[1])
