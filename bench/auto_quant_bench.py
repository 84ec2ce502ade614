#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Output quality of `pack --quant auto --bpw B` against fixed schemes (issue 13's targets).

For each torchvision model (random init, seed 0; BatchNorm statistics calibrated on random
160x160 images: train mode with momentum=None over 4 batches of 16, then eval), the logits of
16 random 160x160 images (seed 1) are compared by cosine with those of the model reloaded from
`statepack unpack --dequantize`. Rows: int8, int4-g32, and auto at 4.5/5/5.5/6 bpw with the
data-free default and with measured sensitivity (python3 -m statepack.sensitivity's noise
injection, and its gradient estimate --method fisher, on 8 other random images, seed 2). bpw counts levels + scales + zero points of the tensors the
default rule covers (kept tensors at their f32 bits); size is the blob against the f32 state dict.

--defaults also measures candidate data-free rules (written as --sensitivity files), the
measurement behind default_sensitivity in tools/src/quant/auto_quant.cpp.

Usage: nice /usr/bin/python3 bench/auto_quant_bench.py STATEPACK [--models a,b] [--work DIR]
       [--defaults]   (takes minutes; one torch thread)
"""
import argparse
import math
import os
import re
import subprocess
import sys
import tempfile

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import statepack_testlib as lib  # noqa: E402
from statepack.torch.sensitivity import default_filter, save_sensitivity, sensitivity  # noqa: E402

MODELS = ("mobilenet_v3_small", "efficientnet_b0", "resnet18")
BUDGETS = (4.5, 5.0, 5.5, 6.0)


def calibrated(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the calibration batches
    model.train()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(16, 3, 160, 160, generator=g))
    return model.eval()


def images(count, seed):
    return torch.randn(count, 3, 160, 160, generator=torch.Generator().manual_seed(seed))


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def evaluate(statepack, name, source, f32_bytes, reference, batch, work, label, pack_args):
    blob = os.path.join(work, f"{name}.{label}.spk")
    out = os.path.join(work, f"{name}.{label}.safetensors")
    text = run(statepack, "pack", "--quiet", source, "-o", blob, *pack_args)
    m = re.search(r"auto: ([0-9.]+) bits per weight", text) or \
        re.search(r"([0-9.]+) bits per weight", text)
    bpw = float(m.group(1))
    run(statepack, "unpack", blob, "-o", out, "--dequantize")
    state = {k: t for k, (t, _) in lib.read_torch_safetensors(out)[0].items()}
    model = getattr(torchvision.models, name)(weights=None)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        cosine = torch.nn.functional.cosine_similarity(
            model(batch).double().flatten(), reference.flatten(), dim=0).item()
    size = os.path.getsize(blob)
    for path in (blob, out):
        os.unlink(path)
    return bpw, 100.0 * size / f32_bytes, cosine


def candidate_defaults(model):
    """Data-free rules to compare, each {name: weight} over the covered tensors."""
    state = model.state_dict()
    names = [n for n, t in state.items() if default_filter(n, t)]
    count = len(names)
    rules = {}
    rules["uniform"] = {n: 1.0 for n in names}
    # Fan-in: elements feeding one output (in_channels/groups x kernel area, or in_features).
    fan_in = {n: state[n][0].numel() for n in names}
    rules["1/sqrt(fan-in)"] = {n: 1.0 / math.sqrt(fan_in[n]) for n in names}
    rules["first+last x8"] = {n: 8.0 if i in (0, count - 1) else 1.0 for i, n in enumerate(names)}
    rules["depthwise+first+last x8"] = {
        n: 8.0 if i in (0, count - 1) or fan_in[n] <= 25 else 1.0 for i, n in enumerate(names)}
    # Smaller tensors (early layers) weigh more; and earlier ones, in the model's own order.
    rules["numel^-1/4"] = {n: state[n].numel() ** -0.25 for n in names}
    rules["(count/(position+1))^1/2"] = {n: math.sqrt(count / (i + 1)) for i, n in enumerate(names)}
    return rules


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("statepack")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--work", default="")
    parser.add_argument("--defaults", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    statepack = os.path.abspath(args.statepack)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        for name in args.models.split(","):
            model = calibrated(name)
            batch = images(16, 1)
            with torch.no_grad():
                reference = model(batch).double()
            source = os.path.join(work, f"{name}.safetensors")
            state = model.state_dict()
            lib.write_torch_safetensors(source, state)
            f32_bytes = sum(t.numel() * t.element_size() for t in state.values())
            measured = os.path.join(work, f"{name}.sensitivity.json")
            if not os.path.exists(measured):
                save_sensitivity(sensitivity(model, images(8, 2)), measured)
            gradients = os.path.join(work, f"{name}.fisher.json")
            if not os.path.exists(gradients):
                save_sensitivity(sensitivity(model, images(8, 2), method="fisher"), gradients)
            rows = [("int8", ["--quant", "int8"]), ("int4-g32", ["--quant", "int4-g32"])]
            for b in BUDGETS:
                rows.append((f"auto {b} default", ["--quant", "auto", "--bpw", str(b)]))
                rows.append((f"auto {b} measured", ["--quant", "auto", "--bpw", str(b),
                                                    "--sensitivity", measured]))
                rows.append((f"auto {b} measured (fisher)", ["--quant", "auto", "--bpw", str(b),
                                                             "--sensitivity", gradients]))
            if args.defaults:
                for k, (rule, values) in enumerate(candidate_defaults(model).items()):
                    path = os.path.join(work, f"{name}.rule{k}.json")
                    save_sensitivity(values, path)
                    for b in BUDGETS:
                        rows.append((f"auto {b} rule {rule}",
                                     ["--quant", "auto", "--bpw", str(b), "--sensitivity", path]))
            print(f"\n### {name}\n\n| scheme | bpw | size % of f32 | cosine |\n|---|---|---|---|",
                  flush=True)
            for label, pack_args in rows:
                bpw, size, cosine = evaluate(statepack, name, source, f32_bytes, reference, batch,
                                             work, re.sub(r"[^a-z0-9.]+", "_", label), pack_args)
                print(f"| {label} | {bpw:.3f} | {size:.1f} | {cosine:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
