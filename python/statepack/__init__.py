"""statepack's Python side. Importing the package needs nothing beyond the standard library:
the PyTorch tools live in `statepack.torch` and import torch only when used.

Today it carries the measured sensitivity tool of `statepack pack --quant auto`:
`python3 -m statepack.sensitivity --help`, or `statepack.torch.sensitivity(model, inputs)`.
"""
