#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Peak resident memory of the CLI stays bounded whatever the model's size (README, "Speed and
memory"): on a generated 256 MiB f32 model, `pack` (torch.save zip with non-contiguous views,
a deflated .npz, --quant with --compress), `verify`, `unpack` (compressed and dequantized) and
`inspect` each peak below 120 MiB of RSS, mapped file pages included, as ulimit and cgroups
count them. Before the bound, each of these held the whole model (160 to 500 MiB).

Quantizing packs (int8, int4) convert and quantize 4 MiB of rows at a time and measure each
slice as it goes, so the quantization itself adds little: `pack --quant int4-g32`, whose
quantized tensors (32 MiB) stay mapped while the writer reads them, peaks below
QUANT_BOUND_MIB (it peaked at 89 MiB when each 16 MiB tensor was quantized whole, with a copy
of its reconstruction). `--quant int8` leaves 64 MiB for the writer, which keeps up to that
much of its input mapped: it stays within BOUND_MIB.

    /usr/bin/python3 tests/cli/memory_bound_test.py /path/to/statepack

The peak is the child's own (os.wait4's ru_maxrss). Linux carries a parent's peak into a
forked child, so the inputs are made by a second process (this script with --generate DIR) and
the measuring one imports neither torch nor NumPy. Needs Debian's python3-torch and
python3-numpy. Prints one line per check and ends with "N passed, M failed".
"""

import os
import subprocess
import sys
import tempfile

BOUND_MIB = 120
QUANT_BOUND_MIB = 80
ROWS, COLS = 1024, 4096  # 16 MiB of f32 per tensor
TENSORS = 16  # 256 MiB
ZERO_TENSORS = 10  # 160 MiB inflated

passed = failed = 0


def peak_mib(args):
    """Runs args; returns (exit status, peak RSS in MiB, stderr)."""
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return process.returncode, usage.ru_maxrss / 1024, err.read().decode(errors="replace")


def check_bound(name, args, bound=BOUND_MIB):
    global passed, failed
    code, mib, err = peak_mib(args)
    if code == 0 and mib <= bound:
        passed += 1
        print(f"ok   {name}: peak RSS {mib:.0f} MiB")
    else:
        failed += 1
        print(f"FAIL {name}: exit {code}, peak RSS {mib:.0f} MiB (bound {bound}) {err.strip()}")


def generate(work):
    import numpy as np
    import torch

    rng = np.random.default_rng(11)
    state = {}
    for i in range(TENSORS):
        values = torch.from_numpy(rng.standard_normal((COLS, ROWS), dtype=np.float32))
        # Every other tensor is a transposed view: the reader gathers it into C order.
        state[f"layer{i}.weight"] = values.t() if i % 2 else values.reshape(ROWS, COLS)
    torch.save(state, os.path.join(work, "model.pt"))
    # Deflated entries are inflated into memory by the reader; zeros deflate fast.
    np.savez_compressed(os.path.join(work, "zeros.npz"),
                        **{f"z{i}": np.zeros((ROWS, COLS), np.float32)
                           for i in range(ZERO_TENSORS)})


def main():
    if sys.argv[1] == "--generate":
        generate(sys.argv[2])
        return 0
    statepack = os.path.realpath(sys.argv[1])
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--generate", work], check=True)

        def path(name):
            return os.path.join(work, name)

        check_bound("pack torch zip", [statepack, "pack", path("model.pt"), "-o", path("a.spk"),
                                       "--quiet"])
        check_bound("pack deflated npz", [statepack, "pack", path("zeros.npz"), "-o",
                                          path("z.spk"), "--quiet"])
        check_bound("pack --quant f16 --compress zstd",
                    [statepack, "pack", path("model.pt"), "-o", path("q.spk"), "--quant", "f16",
                     "--compress", "zstd", "--quiet"])
        check_bound("pack --quant int8",
                    [statepack, "pack", path("model.pt"), "-o", path("i8.spk"), "--quant", "int8",
                     "--quiet"])
        check_bound("pack --quant int4-g32",
                    [statepack, "pack", path("model.pt"), "-o", path("i4.spk"), "--quant",
                     "int4-g32", "--quiet"], QUANT_BOUND_MIB)
        check_bound("verify", [statepack, "verify", path("a.spk")])
        check_bound("unpack", [statepack, "unpack", path("a.spk"), "-o", path("a.safetensors")])
        check_bound("unpack --dequantize (zstd)",
                    [statepack, "unpack", path("q.spk"), "-o", path("q.safetensors"),
                     "--dequantize"])
        check_bound("inspect torch zip", [statepack, "inspect", path("model.pt")])
        global passed, failed
        # What the bound must not cost: the unpacked tensors are the packed ones.
        same = subprocess.run(["cmp", path("a.safetensors"), path("q.safetensors")],
                              stdout=subprocess.DEVNULL).returncode != 0 and \
            os.path.getsize(path("a.safetensors")) == os.path.getsize(path("q.safetensors"))
        if same:
            passed += 1
            print("ok   dequantized f16 output has the f32 model's size and differs from it")
        else:
            failed += 1
            print("FAIL dequantized f16 output")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
