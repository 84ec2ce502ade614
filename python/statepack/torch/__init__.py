"""PyTorch tools for statepack (they import torch; `import statepack` alone does not)."""
from statepack.torch.sensitivity import save_sensitivity, sensitivity  # noqa: F401

__all__ = ["sensitivity", "save_sensitivity"]
