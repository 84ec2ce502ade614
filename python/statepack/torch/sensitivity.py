# SPDX-License-Identifier: Apache-2.0
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

method="fisher" estimates the same quantity from gradients instead, in one pass for every
tensor: for white noise of variance v per element, the output's expected squared error is
v * sum_i (J^T J)_ii over the tensor's elements (J: the Jacobian of the output by the weights,
to first order), and (J^T J)_ii = E_u[(d(u . y)/dw_i)^2] for u standard normal (a random
projection of the output per backward pass). With v = r ||W||^2 / n, the sensitivity is
sum_i E_u[g_i^2] * ||W||^2 / n / ||y||^2. It is the linearisation of the noise method: cheaper
(a few backward passes in all, against seeds forward passes per tensor), blind to what the
first-order term misses.

Only torch is needed; the model runs in eval mode on the CPU.
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


def _forward(model, inputs):
    out = model(*inputs) if isinstance(inputs, (tuple, list)) else model(inputs)
    if isinstance(out, dict):
        return torch.cat([v.flatten() for v in out.values()])
    if isinstance(out, (tuple, list)):
        return torch.cat([v.flatten() for v in out])
    return out.flatten()


def _run(model, inputs):
    return _forward(model, inputs).detach().double()


def _fisher(model, inputs, state, names, projections, progress):
    tensors = [state[n] for n in names]
    wanted = [t.requires_grad for t in tensors]
    for t in tensors:
        t.requires_grad_(True)
    try:
        with torch.enable_grad():
            out = _forward(model, inputs)
            out_energy = float((out.detach().double() ** 2).sum())
            sums = [0.0] * len(names)
            g = torch.Generator().manual_seed(0)
            for k in range(projections):
                u = torch.randn(out.shape, generator=g, dtype=out.dtype)
                grads = torch.autograd.grad((out * u).sum(), tensors,
                                            retain_graph=k + 1 < projections, allow_unused=True)
                for i, grad in enumerate(grads):
                    if grad is not None:
                        sums[i] += float((grad.double() ** 2).sum())
                if progress:
                    progress(k + 1, projections, "projection")
    finally:
        for t, w in zip(tensors, wanted):
            t.requires_grad_(w)
    result = {}
    for name, t, total in zip(names, tensors, sums):
        energy = float((t.detach().double() ** 2).sum())
        result[name] = total / projections * energy / t.numel() / max(out_energy, 1e-30)
    return result


def sensitivity(model, inputs, sqnr_db=25.0, seeds=2, tensor_filter=default_filter,
                progress=None, method="noise", projections=16):
    """Returns {state_dict name: sensitivity} for the model's tensors that `tensor_filter`
    (name, tensor) accepts. `inputs`: a tensor, or a tuple of positional inputs.
    method="noise" (default): the noise of seed s on the i-th measured tensor comes from
    torch.Generator seeded with 1000 * i + s, so the result is reproducible. method="fisher":
    `projections` random output projections (seeded), `sqnr_db` and `seeds` unused. The model's
    state is restored afterwards."""
    if method not in ("noise", "fisher"):
        raise ValueError(f"method must be 'noise' or 'fisher', got {method!r}")
    if seeds < 1 or projections < 1:
        raise ValueError("seeds and projections must be at least 1")
    ratio = 10.0 ** (-sqnr_db / 10.0)
    was_training = model.training
    model.eval()
    state = model.state_dict(keep_vars=True)
    names = [n for n, t in state.items() if tensor_filter(n, t)]
    result = {}
    if method == "fisher":
        try:
            return _fisher(model, inputs, state, names, projections, progress)
        finally:
            model.train(was_training)
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
