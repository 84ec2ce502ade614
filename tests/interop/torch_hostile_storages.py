#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""torch.save files whose storages do not match their records (a record shorter than declared,
a numel larger than the record, a view reaching past its storage, a legacy file cut short) must
be refused with exit 1, a message naming the file and the reason, and no output file.

    /usr/bin/python3 tests/interop/torch_hostile_storages.py /path/to/statepack

Needs Debian's python3-torch (hence /usr/bin/python3); the shared helpers are in
tests/support. Prints one line per check and ends with "N passed, M failed"; exits 1 on any
failure.
"""

import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from crafted_files import rewrite_zip, with_storage_numel, with_tensor_size  # noqa: E402
from statepack_testlib import report, sp  # noqa: E402
from torch_checkpoints import hostile, run_checks, save  # noqa: E402



def checks(work):
    # Storages that do not match their records.
    src = save({"w": torch.arange(1000, dtype=torch.float32)}, "small.pt")
    r = sp("pack", src, "-o", "small.spk")
    report(r.rc == 0, "control: the unmodified small.pt packs", r.describe())
    rewrite_zip(src, "short_record.pt",
                lambda n, d: d[: len(d) // 2] if n.endswith("/data/0") else d)
    hostile("data/0 record half its declared size", "short_record.pt", [r"declares", r"truncat"])
    rewrite_zip(src, "big_numel.pt",
                lambda n, d: with_storage_numel(d, 1 << 20) if n.endswith("/data.pkl") else d)
    hostile("data.pkl declares a larger numel than data/0 holds", "big_numel.pt", [r"declares"])
    rewrite_zip(src, "view_outside.pt",
                lambda n, d: with_tensor_size(d, 1000, 2000) if n.endswith("/data.pkl") else d)
    hostile("tensor view reaching past its storage", "view_outside.pt",
            [r"reaches", r"outside", r"beyond", r"exceeds"])
    legacy_src = save({"w": torch.arange(1000, dtype=torch.float32)}, "small_legacy.pt", legacy=True)
    with open(legacy_src, "rb") as f:
        data = f.read()
    with open("short_legacy.pt", "wb") as f:
        f.write(data[:-1000])
    hostile("legacy file missing its last 1000 bytes", "short_legacy.pt",
            [r"declares", r"truncat", r"past the end"])


if __name__ == "__main__":
    sys.exit(run_checks(checks))
