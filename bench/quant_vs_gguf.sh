#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Quantization quality against GGUF's Q8_0 / Q4_0 / Q4_K / IQ4_NL (Q4_K and IQ4_NL re-implemented
# from ggml's published algorithm, bench/gguf_kquant_reference.hpp) and brute-force searches:
# writes a torchvision ResNet-18 state dict (random init, seed 0; make_resnet18_safetensors.py),
# then runs quant_bench on the seeded synthetic weights and on it. Prints mean SQNR, bits per
# weight, single-threaded quantize() times (int4-k also as GB/s of f32 per CPU-second) and
# whether each target is met (int4-k: >= +0.5 dB over Q4_K at no more bits, >= 0.25 GB/s).
# Usage: bench/quant_vs_gguf.sh [BUILD_DIR]   (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 bench/make_resnet18_safetensors.py "$work/resnet18.safetensors"
"$build/bench/quant_bench" "$work/resnet18.safetensors"
