#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Crafted zips must be refused with exit 1, a message naming the file and the reason, no
output file and no side effect: entries overlapping each other or sharing a local header,
duplicate names, a torch.save zip cut in half, zip bombs (by ratio and by a ZIP64 size claim, in
an .npz and in a torch.save file), and TorchScript archives.

    /usr/bin/python3 tests/interop/torch_hostile_zips.py /path/to/statepack

Needs Debian's python3-torch (hence /usr/bin/python3); the shared helpers are in
tests/support. Prints one line per check and ends with "N passed, M failed"; exits 1 on any
failure.
"""

import os
import pickle
import sys
import zlib

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from crafted_files import (Evil, craft_zip, deflated, pickle_1d_storage,  # noqa: E402
                           small_pickle_with_storage, stored)
from statepack_testlib import report, small_model, sp  # noqa: E402
from torch_checkpoints import hostile, run_checks, save  # noqa: E402



def checks(work):
    def marker(name):
        return os.path.join(work, f"PWNED-{name}")

    # Crafted zips.
    pkl = small_pickle_with_storage(16)
    raw = bytes(64)
    base_entries = [stored("archive/data.pkl", pkl), stored("archive/data/0", raw),
                    stored("archive/version", b"3\n")]
    with open("crafted_ok.pt", "wb") as f:
        f.write(craft_zip(base_entries))
    r = sp("pack", "crafted_ok.pt", "-o", "crafted_ok.spk")
    report(r.rc == 0, "control: the crafted zip writer makes a zip statepack accepts", r.describe())
    with open("overlap_ranges.pt", "wb") as f:
        f.write(craft_zip(base_entries, cd_patch=lambda i, e, off: (
            {"csize": len(e["data"]) + 40, "usize": len(e["data"]) + 40} if i == 0 else None)))
    hostile("zip entry whose data runs into the next local header", "overlap_ranges.pt", [r"overlap"])
    with open("overlap_same_header.pt", "wb") as f:
        f.write(craft_zip(base_entries, cd_extra=[dict(
            name="archive/data/1", method=0, crc=zlib.crc32(pkl), csize=len(pkl), usize=len(pkl),
            offset=0)]))
    hostile("two central-directory entries sharing one local header", "overlap_same_header.pt",
            [r"overlap", r"share", r"same local", r"does not match", r"differ", r"mismatch"])
    evil_pkl = pickle.dumps(Evil(f"touch {marker('dup')}"), protocol=2)
    dup_entries = base_entries + [stored("archive/data.pkl", evil_pkl)]
    with open("duplicate_names.pt", "wb") as f:
        f.write(craft_zip(dup_entries))
    hostile("two zip entries named archive/data.pkl", "duplicate_names.pt", [r"duplicate", r"twice"],
            marker("dup"))

    resnet_like = save(small_model().state_dict(), "to_truncate.pt")
    with open(resnet_like, "rb") as f:
        data = f.read()
    with open("truncated.pt", "wb") as f:
        f.write(data[: len(data) // 2])
    hostile("torch.save zip cut in half", "truncated.pt",
            [r"truncat", r"end of central directory", r"end record", r"central directory"])

    # Zip bombs. Deflate cannot beat ~1032:1 (all zeros reach ~1030:1 legitimately), so a bomb
    # shows as a size claim beyond that ratio, or beyond the 4 GiB inflate cap.
    zeros = bytes(200 << 20)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = co.compress(zeros) + co.flush()
    crc = zlib.crc32(zeros)
    ratio = len(zeros) / len(stream)
    del zeros
    with open("bomb_ratio.npz", "wb") as f:
        f.write(craft_zip([deflated("a.npy", 800 << 20, stream, crc)]))
    hostile(f"npz entry claiming 800 MB from {len(stream) // 1024} KB (ratio {4 * ratio:.0f}:1)",
            "bomb_ratio.npz", [r"ratio limit"])
    small = bytes(1 << 20)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    sstream = co.compress(small) + co.flush()
    e = deflated("a.npy", 1 << 20, sstream, zlib.crc32(small))
    e["zip64_usize"] = 100 << 30
    with open("bomb_claim.npz", "wb") as f:
        f.write(craft_zip([e]))
    hostile(f"npz entry of {len(sstream)} bytes claiming 100 GB (ZIP64)", "bomb_claim.npz",
            [r"bomb", r"ratio", r"limit", r"too large", r"exceeds"])
    e = deflated("archive/data/0", 200 << 20, stream, crc)
    e["zip64_usize"] = 100 << 30
    with open("bomb_torch.pt", "wb") as f:
        f.write(craft_zip([stored("archive/data.pkl", pickle_1d_storage(50 << 20)), e,
                           stored("archive/version", b"3\n")]))
    hostile("torch zip whose data/0 claims to inflate to 100 GB", "bomb_torch.pt",
            [r"limit \(zip bomb\?\)"])
    del stream

    # TorchScript.
    torch.jit.save(torch.jit.script(small_model()), "scripted.pt")
    hostile("TorchScript archive (torch.jit.save)", "scripted.pt", [r"TorchScript"])


if __name__ == "__main__":
    sys.exit(run_checks(checks))
