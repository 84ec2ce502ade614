#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Runs the digits classifier (host binary or QEMU command line) and checks that the accuracy it
prints equals the int8 accuracy train_digits.py computed in PyTorch with the same dequantized
weights (expected_accuracy.json), to the sample. Prints the float accuracy beside it.

  check_accuracy.py expected_accuracy.json LABEL COMMAND [ARGS...]
"""
import json
import re
import subprocess
import sys


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        expected = json.load(f)
    label, command = sys.argv[2], sys.argv[3:]
    run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=300)
    sys.stdout.write(run.stdout)
    if run.returncode != 0:
        print(f"FAIL: {label} exited with status {run.returncode}")
        return 1
    match = re.search(r"^int8 accuracy: (\d+)/(\d+) = ([0-9.]+)$", run.stdout, re.MULTILINE)
    if not match:
        print(f"FAIL: {label} printed no 'int8 accuracy: N/M = X' line")
        return 1
    correct, count = int(match.group(1)), int(match.group(2))
    n = expected["test_count"]
    print(f"{label}: int8 {correct}/{count} = {correct / count:.4f};  PyTorch: int8 "
          f"{expected['int8_correct']}/{n} = {expected['int8']:.4f}, float "
          f"{expected['float_correct']}/{n} = {expected['float']:.4f}")
    # Exact: the smallest top-2 logit gap on this test set is ~0.01 (train_digits.py prints
    # it), far above what float summation order (C loop vs torch's kernels) can change.
    if count != n or correct != expected["int8_correct"]:
        print(f"FAIL: {label} classified {correct}/{count} correctly, PyTorch "
              f"{expected['int8_correct']}/{n}")
        return 1
    print(f"ok: {label} matches PyTorch's int8 accuracy exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
