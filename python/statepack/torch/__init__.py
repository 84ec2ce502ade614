# SPDX-License-Identifier: Apache-2.0
"""PyTorch tools for statepack: save_file/load_file for state dicts, and the measured
sensitivity of `statepack pack --quant auto`. Importing this module imports torch;
`import statepack` alone does not."""
from statepack.torch.sensitivity import save_sensitivity, sensitivity  # noqa: F401
from statepack.torch.serialization import load_file, save_file  # noqa: F401

__all__ = ["save_file", "load_file", "sensitivity", "save_sensitivity"]
