#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Lossless grids with real PyTorch fake quantization: weights passed through
torch.fake_quantize_per_channel_affine / fake_quantize_per_tensor_affine (what QAT exports),
f32, f16 and bf16, are packed with --compress zstd; pack reports them as lossless grids, inspect
marks them lossless, `unpack` (without --dequantize) gives back every source byte in the source
dtype, `unpack --dequantize` gives the same values, and the per-channel f32 tensor is stored in
at most 24% of its raw bytes. Tensors off the grid (ordinary weights, one value one ulp away)
stay as they are; --lossless-grids off, a keep rule and an explicit --quant win.

Usage: /usr/bin/python3 lossless_grids_test.py /path/to/statepack
"""
import json
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import statepack_testlib as lib  # noqa: E402
from statepack_testlib import finish, report, run  # noqa: E402


def checkpoint():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(512, 1024, generator=g) * 0.05
    zeros = torch.zeros(512, dtype=torch.int32)
    per_channel = torch.fake_quantize_per_channel_affine(
        w, w.abs().amax(dim=1) / 127, zeros, 0, -128, 127)
    per_tensor = torch.fake_quantize_per_tensor_affine(w, float(w.abs().max()) / 127, 0, -128, 127)
    low, high = w.amin(dim=1), w.amax(dim=1)
    asym_scale = (high - low) / 255
    asym_zero = torch.clamp(torch.round(-low / asym_scale), 0, 255).to(torch.int32)
    asym = torch.fake_quantize_per_channel_affine(w, asym_scale, asym_zero, 0, 0, 255)
    four_bit = torch.fake_quantize_per_channel_affine(
        w[:128], w[:128].abs().amax(dim=1) / 7, zeros[:128], 0, -8, 7)
    conv = torch.randn(64, 32, 3, 3, generator=g) * 0.1
    conv = torch.fake_quantize_per_channel_affine(
        conv, conv.abs().flatten(1).amax(dim=1) / 127, zeros[:64], 0, -128, 127)
    # Narrow sources: power-of-two scales keep every product exact in f16 and bf16.
    pow2 = torch.exp2(torch.round(torch.log2(w[:256].abs().amax(dim=1) / 127)))
    narrow = torch.fake_quantize_per_channel_affine(w[:256], pow2, zeros[:256], 0, -128, 127)
    bias = torch.fake_quantize_per_tensor_affine(torch.randn(2000, generator=g), 0.02, 0, -128, 127)
    perturbed = per_channel[:256].clone()
    perturbed[200, 700] = torch.nextafter(perturbed[200, 700], torch.tensor(1.0))
    return {
        "fc.per_channel": per_channel,
        "fc.per_tensor": per_tensor,
        "fc.asym": asym,
        "fc.four_bit": four_bit,
        "conv.weight": conv,
        "narrow.f16": narrow.half(),
        "narrow.bf16": narrow.bfloat16(),
        "head.bias": bias,
        "plain.weight": w[:256].clone(),
        "plain.perturbed": perturbed,
        "plain.bias": torch.randn(512, generator=g),
    }


# Where fake quantization clamped values to -128, the grid goes to the asymmetric layout (the
# symmetric schemes' levels stop at -127).
GRIDS = {"fc.per_channel": "int8 per channel", "fc.per_tensor": "int8 per tensor",
         "fc.asym": "int8 asym per channel", "fc.four_bit": "int8 per channel",
         "conv.weight": "int8 per channel", "narrow.f16": "int8 asym per channel",
         "narrow.bf16": "int8 asym per channel", "head.bias": "int8 asym per tensor"}


def tensors_of(statepack, blob):
    """inspect --json's tensors by name."""
    doc = json.loads(run(statepack, "inspect", "--json", blob))
    return {t["name"]: t for t in doc["tensors"]}


def main():
    statepack = lib.statepack_from_argv()
    if statepack is None:
        return 2
    state = checkpoint()
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "qat.pt")
        torch.save(state, source)
        blob = os.path.join(work, "qat.spk")
        out = run(statepack, "pack", source, "-o", blob, "--compress", "zstd", "--quiet")
        for name, what in GRIDS.items():
            report(f"grid {name}: {what}, lossless" in out, f"pack reports {name} as {what}", out)
        report("grid plain." not in out, "ordinary and perturbed weights are not grids", out)
        run(statepack, "verify", blob, "--quiet")

        info = tensors_of(statepack, blob)
        for name in GRIDS:
            t = info[name]
            q = t["quantization"]
            report(t["dtype"] == "I8" and q is not None and q["lossless"] is True
                   and q["max_abs_error"] == 0, f"inspect: {name} is I8, lossless", t)
        for name in ("plain.weight", "plain.perturbed", "plain.bias"):
            report(info[name]["quantization"] is None, f"inspect: {name} stays as it is")
        raw = state["fc.per_channel"].numel() * 4
        ratio = info["fc.per_channel"]["stored_size"] / raw
        print(f"     fc.per_channel: {100 * ratio:.1f}% of raw f32; per tensor "
              f"{100 * info['fc.per_tensor']['stored_size'] / raw:.1f}%", flush=True)
        report(ratio <= 0.24,
               f"per-channel fake-quantized f32 stored in <= 24% ({100 * ratio:.1f}%)")
        text = run(statepack, "inspect", blob)
        report("lossless grid" in text, "inspect's table says lossless grid", text)

        back = os.path.join(work, "back.safetensors")
        run(statepack, "unpack", blob, "-o", back, "--quiet")
        got, _ = lib.read_safetensors(back, strict=True)
        for name, t in state.items():
            dtype, shape, data = got[name]
            report(dtype == lib.st_dtype(t.dtype) and shape == list(t.shape)
                   and data == lib.tensor_bytes(t), f"unpack restores {name} bit for bit")

        floats = os.path.join(work, "floats.safetensors")
        run(statepack, "unpack", blob, "-o", floats, "--dequantize", "--quiet")
        decoded, _ = lib.read_torch_safetensors(floats)
        report(all(torch.equal(decoded[n][0].view(torch.int32),
                               state[n].float().view(torch.int32)) for n in GRIDS),
               "unpack --dequantize: the runtime's floats are the source's")

        for args, what in ((["--compress", "zstd", "--lossless-grids", "off"],
                            "--lossless-grids off"),
                           ([], "no --compress (auto)"),
                           (["--compress", "zstd", "--rule", "fc.*=keep"], "a keep rule")):
            other = os.path.join(work, "other.spk")
            out = run(statepack, "pack", source, "-o", other, "--quiet", *args)
            kept = tensors_of(statepack, other)["fc.per_channel"]["quantization"] is None
            report(kept and "grid fc.per_channel" not in out,
                   f"{what}: no grid for fc.per_channel", out)
        out = run(statepack, "pack", source, "-o", other, "--quiet", "--lossless-grids", "on")
        report("grid fc.per_channel" in out, "--lossless-grids on without --compress", out)
        out = run(statepack, "pack", source, "-o", other, "--quiet", "--compress", "zstd",
                  "--quant", "int8-g32")
        q = tensors_of(statepack, other)
        report(q["fc.per_channel"]["quantization"]["scheme"] == "int8-g32"
               and q["head.bias"]["quantization"]["lossless"] is True,
               "--quant wins where it applies; grids take the rest (a 1-D bias)",
               q["fc.per_channel"])
        bad = lib.sp("pack", source, "-o", other, "--lossless-grids", "maybe")
        report(bad.rc == 2 and "--lossless-grids" in bad.err,
               "a bad --lossless-grids is a usage error", bad.describe())
    return finish()


if __name__ == "__main__":
    sys.exit(main())
