#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""statepack.torch.save_file / load_file: a torchvision ResNet-18's state dict (batch-norm
statistics warmed up) packs and loads back into a fresh model with identical outputs; every
torch dtype Debian's torch has round trips bit for bit, bfloat16 included; tied tensors are
stored once; non-contiguous tensors are packed by value; a quantized file loads as the
runtime's float32 values; loaded tensors are writable. Seconds.

Usage: /usr/bin/python3 module_torch_test.py /path/to/statepack /path/to/build/python
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import statepack_testlib as lib  # noqa: E402
from statepack_testlib import check  # noqa: E402


def resnet_outputs_identical(tmp):
    torch.manual_seed(0)
    model = lib.warm_up_batch_norm(lib.resnet18(), passes=2, batch=4)
    path = os.path.join(tmp, "resnet18.spk")
    statepack.torch.save_file(model.state_dict(), path, metadata={"arch": "resnet18"})
    r = subprocess.run([SP, "verify", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    fresh = lib.resnet18().eval()
    fresh.load_state_dict(statepack.torch.load_file(path))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), fresh(x)), "outputs differ"
    return True


def every_dtype_bit_exact(tmp):
    g = torch.Generator().manual_seed(1)
    base = torch.randn(4, 6, generator=g)
    state = {str(dtype): base.to(dtype) for dtype in (torch.float32, torch.float64,
                                                      torch.float16, torch.bfloat16)}
    for dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8):
        state[str(dtype)] = torch.randint(-100 if dtype != torch.uint8 else 0, 100, (5, 3),
                                          dtype=dtype, generator=g)
    state["bool"] = torch.rand(9, generator=g) > 0.5
    state["complex64"] = torch.randn(3, dtype=torch.complex64, generator=g)
    state["transposed"] = base.t()
    state["strided"] = base[:, ::2]
    path = os.path.join(tmp, "dtypes.spk")
    statepack.torch.save_file(state, path)
    loaded = statepack.torch.load_file(path)
    assert sorted(loaded) == sorted(state)
    for name, tensor in state.items():
        got = loaded[name]
        assert got.dtype == tensor.dtype and got.shape == tensor.shape, (name, got.dtype)
        assert torch.equal(got, tensor), name
    with statepack.open(path) as blob:
        assert blob.info("torch.bfloat16")["dtype"] == "BF16"
    loaded["torch.float32"][0, 0] = 7.0  # each tensor its own memory
    return True


def tied_stored_once(tmp):
    torch.manual_seed(2)
    embed = torch.nn.Embedding(100, 32)
    head = torch.nn.Linear(32, 100, bias=False)
    head.weight = embed.weight  # tied, as in language models
    model = torch.nn.ModuleDict({"embed": embed, "head": head})
    path = os.path.join(tmp, "tied.spk")
    report = statepack.torch.save_file(model.state_dict(), path)
    with statepack.open(path) as blob:
        a, b = blob.info("embed.weight"), blob.info("head.weight")
        assert a["segment"] == b["segment"], "tied tensors got two segments"
        assert report.size < 100 * 32 * 4 * 2, report.size
    loaded = statepack.torch.load_file(path)
    assert torch.equal(loaded["embed.weight"], loaded["head.weight"])
    return True


def quantized_loads_dequantized(tmp):
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    path = os.path.join(tmp, "q.spk")
    report = statepack.torch.save_file(model.state_dict(), path, quant="int8")
    assert sorted(report.tensors) == ["0.weight", "2.weight"], sorted(report.tensors)
    loaded = statepack.torch.load_file(path)
    with statepack.open(path) as blob:
        for name in ("0.weight", "2.weight"):
            assert loaded[name].dtype == torch.float32
            assert torch.equal(loaded[name], torch.from_numpy(blob.dequantize(name).copy()))
    assert torch.equal(loaded["0.bias"], model.state_dict()["0.bias"])
    model.load_state_dict(loaded)
    return True


def main():
    global SP, statepack, torch
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} /path/to/statepack /path/to/build/python", file=sys.stderr)
        return 2
    SP = os.path.realpath(sys.argv[1])
    sys.path.insert(0, sys.argv[2])
    import statepack as module
    import statepack.torch  # noqa: F401
    import torch as torch_module

    statepack, torch = module, torch_module
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        check("load_file into a fresh ResNet-18 gives identical outputs", resnet_outputs_identical,
              tmp)
        check("every dtype round trips bit for bit (bfloat16 too)", every_dtype_bit_exact, tmp)
        check("tied tensors are stored once", tied_stored_once, tmp)
        check("a quantized file loads as the runtime's float32", quantized_loads_dequantized,
              tmp)
    stub = os.path.join(os.path.dirname(statepack.torch.__file__), "__init__.pyi")
    sys.path.insert(0, HERE)
    from module_test import stub_signatures  # noqa: E402

    check("the statepack.torch stubs match", stub_signatures, statepack.torch, stub)
    return lib.finish()


if __name__ == "__main__":
    sys.exit(main())
