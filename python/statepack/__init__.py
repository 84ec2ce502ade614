# SPDX-License-Identifier: Apache-2.0
"""statepack for Python: pack tensors into blobs and read blobs as NumPy arrays.

    import numpy as np, statepack
    statepack.save({"w": np.ones((64, 64), np.float32)}, "m.spk", quant="int8")
    with statepack.open("m.spk") as blob:
        w = blob.dequantize("w")          # float32, decoded by the device runtime
    tensors = statepack.load("m.spk")      # dict of NumPy arrays

The work is done by the extension statepack._core over the library the `statepack` CLI uses.
`import statepack` needs neither the extension nor torch: `statepack.torch` (save_file,
load_file, sensitivity) imports torch when used, and the sensitivity tool
(`python3 -m statepack.sensitivity`) is pure Python.
"""
from statepack.blob import Blob, load, open  # noqa: A004
from statepack.packing import PackReport, TensorQuality, pack, save

__all__ = ["Blob", "open", "load", "save", "pack", "PackReport", "TensorQuality", "Error",
           "InvalidInput", "DamagedBlob", "UsageError", "OutputError"]

_ERRORS = ("Error", "InvalidInput", "DamagedBlob", "UsageError", "OutputError")


def __getattr__(name):
    # The exceptions and the version live in the extension (the version is the library's, the
    # one `statepack --version` prints); loaded when first asked for.
    if name in _ERRORS or name == "__version__":
        from statepack._native import core

        return getattr(core(), name)
    raise AttributeError(f"module 'statepack' has no attribute {name!r}")
