#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job, end to end: install what is missing, build, pack the bundled example, show it,
# verify it, and run it through the device runtime (C API over an mmap'd blob).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target statepack run_tiny_mlp >/dev/null

out=build/release/examples
statepack=build/release/tools/statepack
echo "== pack"
"$statepack" pack examples/tiny_mlp/tiny_mlp.safetensors -o "$out/tiny_mlp.spk" --meta example=tiny_mlp
echo "== inspect"
"$statepack" inspect "$out/tiny_mlp.spk"
echo "== verify"
"$statepack" verify "$out/tiny_mlp.spk"
echo "== run through the runtime"
"$out/run_tiny_mlp" "$out/tiny_mlp.spk"
