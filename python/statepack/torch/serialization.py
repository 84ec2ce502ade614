# SPDX-License-Identifier: Apache-2.0
"""save_file / load_file for PyTorch state dicts, in the manner of safetensors.torch."""
import numpy as np
import torch

from statepack import blob as _blob
from statepack import packing as _packing

# torch dtypes NumPy has no type for: stored from (and loaded into) same-sized integer bits.
_BITS_DTYPES = {torch.bfloat16: (torch.int16, np.uint16, "BF16")}
for _name, _format in (("float8_e4m3fn", "F8_E4M3"), ("float8_e5m2", "F8_E5M2")):
    if hasattr(torch, _name):
        _BITS_DTYPES[getattr(torch, _name)] = (torch.int8, np.uint8, _format)
_FROM_FORMAT = {fmt: (bits, dtype) for dtype, (bits, _, fmt) in _BITS_DTYPES.items()}


def _tensor_key(tensor):
    # Tied tensors (one storage, same view) get one array, and the blob one segment.
    return (tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tuple(tensor.stride()))


def save_file(state_dict, path, metadata=None, *, quant=None, rules=None, compress=None,
              bpw=None, sensitivity=None, checksum="xxh64", align=64, threads=None,
              lossless_grids=None, min_sqnr=None, sign_key=None, max_chunk=None):
    """Packs a state dict (e.g. `model.state_dict()`, any dtype including bfloat16; tensors on
    any device, copied to the CPU and made contiguous where needed; tied tensors stored once)
    into a blob at `path`. `metadata` and the other options are statepack.save's. Returns
    the PackReport."""
    entries, arrays = [], {}
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"state_dict[{name!r}] is a {type(tensor).__name__}, not a tensor")
        key = _tensor_key(tensor)
        if key not in arrays:
            cpu = tensor.detach().to("cpu").contiguous()
            if cpu.dtype in _BITS_DTYPES:
                bits, numpy_bits, fmt = _BITS_DTYPES[cpu.dtype]
                arrays[key] = (cpu.view(bits).numpy().view(numpy_bits), fmt)
            else:
                arrays[key] = (cpu.numpy(), None)
        array, fmt = arrays[key]
        entries.append(_packing._entry(name, array, fmt))
    return _packing._save_entries(entries, path, _packing._options(
        quant, rules, compress, bpw, sensitivity, metadata, checksum, align, threads,
        lossless_grids, min_sqnr, sign_key, max_chunk))


def load_file(path, device="cpu", dequantize=True):
    """The blob's tensors as a dict of torch tensors on `device` (each its own memory, so
    they can be written), in their stored dtypes (bfloat16 included) or float32 for quantized
    ones: what `model.load_state_dict` takes. Checksums are verified first."""
    out = {}
    for name, (array, fmt) in _blob._load_with_dtypes(path, dequantize).items():
        if fmt in _FROM_FORMAT:
            bits, dtype = _FROM_FORMAT[fmt]
            tensor = torch.from_numpy(np.array(array).view(_torch_to_numpy(bits))).view(dtype)
        else:
            tensor = torch.from_numpy(np.array(array))
        out[name] = tensor.to(device)
    return out


def _torch_to_numpy(dtype):
    return {torch.int16: np.int16, torch.int8: np.int8}[dtype]
