#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Run under valgrind's memcheck by ctest (python_module_valgrind): the module's paths that
touch memory the most (packing from NumPy buffers with quantization, compression and a keep
rule; a view that outlives its closed blob; dequantize; verify; load; an error) without an
invalid read or write. Prints "memcheck script done" at the end. About 8 s under valgrind.

Usage: valgrind ... /usr/bin/python3 module_memcheck.py /path/to/build/python
"""
import gc
import os
import sys
import tempfile

sys.path.insert(0, sys.argv[1])
import numpy as np  # noqa: E402
import statepack  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "m.spk")
    x = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32)
    statepack.save({"x": x, "i": np.arange(10)}, path, quant="int4-k", compress="zstd",
                   rules=["i=keep"])
    blob = statepack.open(path)
    view, values = blob["i"], blob.dequantize("x")
    blob.verify()
    blob.close()
    del blob
    gc.collect()
    assert view.sum() == 45 and values.shape == (64, 256)
    assert sorted(statepack.load(path)) == ["i", "x"]
    try:
        statepack.open(os.path.join(tmp, "missing.spk"))
        raise AssertionError("no error for a missing file")
    except statepack.InvalidInput:
        pass
print("memcheck script done")
