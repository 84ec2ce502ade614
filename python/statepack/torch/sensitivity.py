"""Measured sensitivity of a model's output to the error in each weight tensor, for
`statepack pack --quant auto --sensitivity FILE.json`.

Method (noise injection): for one tensor W at a time, add white Gaussian noise N whose energy
is a fixed fraction r = 10^(-sqnr_db/10) of W's (so W's relative squared error is exactly the
r a quantizer at that SQNR would give, on average), run the model on the inputs and measure the
output's relative squared error ||y' - y||^2 / ||y||^2, averaged over a few seeds. The tensor's
sensitivity is that output error per unit of relative weight error: output_error / r. In the
regime where errors are small and add up (the one a working quantization is in), the packer's
objective sum_t sensitivity_t * relative_error_t then predicts the output's relative squared
error, which is about 2 (1 - cosine) of the output against the float model's.

Only torch is needed; the model runs in eval mode, without gradients, on the CPU.
"""
import json
import math
import os
import tempfile

import torch


def default_filter(name, tensor):
    """The tensors `pack --quant auto` chooses a scheme for: floating, rank >= 2, at least 1024
    elements (the packer's default rule)."""
    return tensor.is_floating_point() and tensor.dim() >= 2 and tensor.numel() >= 1024


def _relative_error(output, reference):
    return float(((output - reference) ** 2).sum() / (reference ** 2).sum().clamp_min(1e-30))


def _run(model, inputs):
    out = model(*inputs) if isinstance(inputs, (tuple, list)) else model(inputs)
    if isinstance(out, dict):
        out = torch.cat([v.flatten() for v in out.values()])
    elif isinstance(out, (tuple, list)):
        out = torch.cat([v.flatten() for v in out])
    return out.detach().double().flatten()


def sensitivity(model, inputs, sqnr_db=25.0, seeds=2, tensor_filter=default_filter,
                progress=None):
    """Returns {state_dict name: sensitivity} for the model's tensors that `tensor_filter`
    (name, tensor) accepts. `inputs`: a tensor, or a tuple of positional inputs. The noise of
    seed s on the i-th measured tensor comes from torch.Generator seeded with 1000 * i + s, so
    the result is reproducible. The model's state is restored afterwards."""
    if seeds < 1:
        raise ValueError("seeds must be at least 1")
    ratio = 10.0 ** (-sqnr_db / 10.0)
    was_training = model.training
    model.eval()
    state = model.state_dict(keep_vars=True)
    names = [n for n, t in state.items() if tensor_filter(n, t)]
    result = {}
    try:
        with torch.no_grad():
            reference = _run(model, inputs)
            for i, name in enumerate(names):
                tensor = state[name]
                original = tensor.detach().clone()
                energy = float((original.double() ** 2).sum())
                if energy == 0:
                    # An all-zero tensor: any quantizer stores it exactly.
                    result[name] = 0.0
                    continue
                errors = []
                for s in range(seeds):
                    g = torch.Generator().manual_seed(1000 * i + s)
                    noise = torch.randn(original.shape, generator=g, dtype=torch.float64)
                    noise *= math.sqrt(ratio * energy / float((noise ** 2).sum()))
                    tensor.copy_((original.double() + noise).to(original.dtype))
                    errors.append(_relative_error(_run(model, inputs), reference))
                tensor.copy_(original)
                result[name] = sum(errors) / len(errors) / ratio
                if progress:
                    progress(i + 1, len(names), name)
    finally:
        model.train(was_training)
    return result


def save_sensitivity(values, path):
    """Writes {name: weight} as the JSON object `pack --sensitivity` reads, atomically."""
    for name, v in values.items():
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"sensitivity of {name!r} must be a finite number >= 0, got {v!r}")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".sensitivity.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({k: float(v) for k, v in values.items()}, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
