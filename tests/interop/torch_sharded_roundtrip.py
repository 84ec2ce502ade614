#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop with Hugging Face sharded checkpoints: an index (pytorch_model.bin.index.json or
model.safetensors.index.json) and its shards (torch.save zip and legacy, safetensors) pack as
one checkpoint and come back bit for bit.

    /usr/bin/python3 tests/interop/torch_sharded_roundtrip.py /path/to/statepack

Needs Debian's python3-torch (hence /usr/bin/python3); the shared helpers are in
tests/support. Prints one line per check and ends with "N passed, M failed"; exits 1 on any
failure.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from statepack_testlib import small_model, write_torch_safetensors  # noqa: E402
from torch_checkpoints import roundtrip, run_checks, save  # noqa: E402



def checks(work):
    # --- Hugging Face sharded checkpoints -----------------------------------------------------
    sd = small_model().state_dict()
    names = list(sd)
    shards = [{k: sd[k] for k in names[0::2]}, {k: sd[k] for k in names[1::2]}]
    total = sum(v.numel() * v.element_size() for v in sd.values())
    os.mkdir("hf_bin")
    os.mkdir("hf_st")
    wm_bin, wm_st = {}, {}
    for i, shard in enumerate(shards):
        fb = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        fs = f"model-{i + 1:05d}-of-00002.safetensors"
        save(shard, os.path.join("hf_bin", fb), legacy=(i == 1))  # one zip, one legacy shard
        write_torch_safetensors(os.path.join("hf_st", fs), shard)
        for k in shard:
            wm_bin[k], wm_st[k] = fb, fs
    for d, fn, wm in (("hf_bin", "pytorch_model.bin.index.json", wm_bin),
                      ("hf_st", "model.safetensors.index.json", wm_st)):
        with open(os.path.join(d, fn), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": wm}, f, indent=2)
    roundtrip("sharded-bin", ["hf_bin/pytorch_model.bin.index.json"], dict(sd), {"total_size": total},
              fmt="sharded checkpoint index")
    roundtrip("sharded-safetensors", ["hf_st/model.safetensors.index.json"], dict(sd),
              {"total_size": total}, fmt="sharded checkpoint index")


if __name__ == "__main__":
    sys.exit(run_checks(checks))
