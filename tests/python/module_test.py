#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The Python module (statepack._core via the statepack package), with NumPy: save -> CLI
verify -> load bit for bit for every dtype; quantized save -> dequantize equal to the CLI's
`unpack --dequantize`; raw tensors as read-only views into the mapping (no copy) that keep it
alive after the blob is closed; pack() writing the CLI's bytes; typed metadata; exceptions with
the CLI's messages; the GIL released while packing. Seconds.

Usage: /usr/bin/python3 module_test.py /path/to/statepack /path/to/build/python
"""
import gc
import os
import subprocess
import sys
import tempfile
import threading

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import statepack_testlib as lib  # noqa: E402
from statepack_testlib import check, report  # noqa: E402


def cli(*args):
    return subprocess.run([SP, *map(str, args)], capture_output=True, text=True)


def every_dtype():
    rng = np.random.default_rng(1)
    out = {}
    for name in ("float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8",
                 "uint16", "uint32", "uint64"):
        dtype = np.dtype(name)
        if dtype.kind == "f":
            out[name] = rng.standard_normal((3, 5)).astype(dtype)
        else:
            info = np.iinfo(dtype)
            out[name] = rng.integers(info.min, info.max, size=(4, 3), dtype=dtype, endpoint=True)
    out["bool"] = rng.integers(0, 2, size=(7,)).astype(bool)
    out["complex64"] = (rng.standard_normal(6) + 1j * rng.standard_normal(6)).astype(np.complex64)
    out["scalar"] = np.array(2.5, dtype=np.float32)
    out["empty"] = np.zeros((0, 4), dtype=np.int32)
    out["transposed"] = rng.standard_normal((6, 4)).astype(np.float32).T  # not C-contiguous
    out["big_endian"] = np.arange(5, dtype=">i4")
    return out


def roundtrip_every_dtype(tmp):
    tensors = every_dtype()
    path = os.path.join(tmp, "all.spk")
    result = statepack.save(tensors, path)
    assert result.tensor_count == len(tensors) and result.size == os.path.getsize(path)
    r = cli("verify", path)
    assert r.returncode == 0, r.stderr
    loaded = statepack.load(path)
    assert sorted(loaded) == sorted(tensors), sorted(loaded)
    for name, original in tensors.items():
        expected = np.ascontiguousarray(original.astype(original.dtype.newbyteorder("<")))
        got = loaded[name]
        assert got.dtype == expected.dtype and got.shape == expected.shape, (name, got.dtype)
        assert got.tobytes() == expected.tobytes(), name
    return True


def dequantize_matches_cli(tmp):
    rng = np.random.default_rng(2)
    tensors = {"a": rng.standard_normal((64, 128)).astype(np.float32),
               "b": rng.standard_normal((32, 256)).astype(np.float16),
               "bias": rng.standard_normal(64).astype(np.float32)}
    for quant, compress in (("int8", None), ("int4-k", "zstd"), ("int4-g32-asym", None)):
        path = os.path.join(tmp, f"{quant}.spk")
        result = statepack.save(tensors, path, quant=quant, compress=compress)
        assert sorted(result.tensors) == ["a", "b"], sorted(result.tensors)
        out = os.path.join(tmp, f"{quant}.safetensors")
        r = cli("unpack", path, "-o", out, "--dequantize")
        assert r.returncode == 0, r.stderr
        reference, _ = lib.read_safetensors(out)
        with statepack.open(path) as blob:
            for name in tensors:
                values = blob.dequantize(name)
                assert values.dtype == np.float32 and values.shape == tensors[name].shape
                assert values.tobytes() == reference[name][2], (quant, name)
                info = blob.info(name)
                if name in result.tensors:
                    quality = result.tensors[name]
                    assert info["quantization"]["scheme"] == quality.scheme == quant
                    assert abs(info["quantization"]["sqnr_db"] - quality.sqnr_db) < 1e-3
            loaded = statepack.load(path)
            assert loaded["a"].tobytes() == reference["a"][2]
    return True


def grids_and_auto(tmp):
    rng = np.random.default_rng(6)
    # F16 on a per-channel grid of powers of two: load must give F16 back, not float32.
    scales = 2.0 ** -rng.integers(5, 9, size=(64, 1))
    grid = (rng.integers(-127, 128, size=(64, 256)) * scales).astype(np.float16)
    path = os.path.join(tmp, "grid.spk")
    result = statepack.save({"g": grid}, path, compress="zstd")
    assert [row["name"] for row in result.grids] == ["g"], result.grids
    with statepack.open(path) as blob:
        assert blob.info("g")["quantization"]["lossless"] is True
    loaded = statepack.load(path)["g"]  # the source's bits, not a float32 decode of I8
    assert loaded.dtype == np.float16 and loaded.tobytes() == grid.tobytes(), loaded.dtype
    weights = {f"w{i}": rng.standard_normal((64, 64)).astype(np.float32) for i in range(3)}
    path = os.path.join(tmp, "auto.spk")
    result = statepack.save(weights, path, quant="auto", bpw=6.0,
                            sensitivity={"w0": 10.0, "w1": 1.0, "w2": 0.1})
    assert result.bpw is not None and result.bpw <= 6.0 and result.bpw_budget == 6.0
    assert "sensitivity from the sensitivity argument" in result.text, result.text
    with statepack.open(path) as blob:
        assert abs(blob.metadata["statepack.quant.bpw"] - result.bpw) < 1e-9
    return True


def zero_copy_views(tmp):
    data = np.arange(4096, dtype=np.float32).reshape(64, 64)
    path = os.path.join(tmp, "raw.spk")
    statepack.save({"x": data}, path)
    with statepack.open(path) as blob:
        view = blob["x"]
        start, size = blob._native.mapping_range()
        address = view.__array_interface__["data"][0]
        assert start <= address and address + view.nbytes <= start + size, "not in the mapping"
        assert not view.flags.owndata and not view.flags.writeable
        assert type(view.base).__name__ == "PyCapsule", type(view.base)
        assert blob["x"].__array_interface__["data"][0] == address  # the same bytes again
        try:
            view[0, 0] = 1
            raise AssertionError("a view into the blob was writable")
        except ValueError:
            pass
        assert np.array_equal(view, data)
    return True


def views_outlive_blob(tmp):
    data = np.random.default_rng(3).standard_normal((256, 256)).astype(np.float32)
    path = os.path.join(tmp, "alive.spk")
    statepack.save({"x": data, "y": data[:10]}, path)
    blob = statepack.open(path)
    view = blob["x"]
    loaded = statepack.load(path)["y"]
    blob.close()
    del blob
    gc.collect()
    # The mapping is still there: reading it would fault after an unmap.
    assert np.array_equal(view, data) and np.array_equal(loaded, data[:10])
    with statepack.open(path) as blob:
        pass
    try:
        blob["x"]
        raise AssertionError("a closed blob still answered")
    except statepack.UsageError as e:
        assert "closed" in str(e)
    return True


def pack_equals_cli(tmp):
    source = os.path.join(tmp, "in.safetensors")
    rng = np.random.default_rng(4)
    weights = rng.standard_normal(2048).astype("<f4").tobytes()
    lib.write_safetensors(source, [("w", "F32", [32, 64], weights),
                                   ("n", "I64", [2], np.array([1, 2], "<i8").tobytes())],
                          {"note": "x"})
    ours, theirs = os.path.join(tmp, "py.spk"), os.path.join(tmp, "cli.spk")
    result = statepack.pack(source, ours, quant="int8", compress="zstd", metadata={"epoch": 3})
    r = cli("pack", source, "-o", theirs, "--quant", "int8", "--compress", "zstd", "--meta",
            "epoch=3", "--quiet")
    assert r.returncode == 0, r.stderr
    with open(ours, "rb") as a, open(theirs, "rb") as b:
        assert a.read() == b.read(), "statepack.pack and the CLI wrote different blobs"
    assert "w" in result.tensors and result.text.splitlines()[0] in r.stdout
    return True


def max_chunk_and_palettes(tmp):
    # A sinusoidal position table (192 KiB) codes smaller in one chunk than in 64 KiB ones, so
    # the chunk limit changes the blob; save() and pack() take it as the CLI's --max-chunk does.
    rng = np.random.default_rng(7)
    position = np.arange(48, dtype=np.float32)[:, None]
    rate = np.exp(np.arange(0, 1024, 2, dtype=np.float32) * np.float32(-np.log(10000.0) / 1024))
    table = np.zeros((48, 1024), "<f4")
    table[:, 0::2] = np.sin(position * rate)
    table[:, 1::2] = np.cos(position * rate)
    source = os.path.join(tmp, "table.safetensors")
    lib.write_safetensors(source, [("t", "F32", [48, 1024], table.tobytes())])
    sizes = {}
    for limit in ("64K", 65536, None):
        ours = os.path.join(tmp, f"chunk_{limit}.spk")
        statepack.pack(source, ours, compress="zstd", max_chunk=limit)
        theirs = os.path.join(tmp, f"cli_{limit}.spk")
        args = ["--max-chunk", str(limit)] if limit is not None else []
        r = cli("pack", source, "-o", theirs, "--compress", "zstd", "--quiet", *args)
        assert r.returncode == 0, r.stderr
        with open(ours, "rb") as a, open(theirs, "rb") as b:
            assert a.read() == b.read(), f"max_chunk={limit!r}: not the CLI's blob"
        saved = os.path.join(tmp, f"save_{limit}.spk")
        statepack.save({"t": table}, saved, compress="zstd", max_chunk=limit)
        sizes[limit] = os.path.getsize(saved)
    assert sizes["64K"] == sizes[65536] and sizes[None] < sizes["64K"], sizes
    expect(statepack.UsageError, "--max-chunk must be", statepack.save, {"t": table},
           os.path.join(tmp, "bad.spk"), compress="zstd", max_chunk="3K")
    # A tensor of 16 arbitrary values is stored as a palette and loads bit for bit.
    centroids = rng.standard_normal(16).astype(np.float32)
    clustered = centroids[rng.integers(0, 16, size=(64, 256))]
    path = os.path.join(tmp, "palette.spk")
    result = statepack.save({"c": clustered}, path, compress="zstd")
    assert [row["name"] for row in result.grids] == ["c"], result.grids
    loaded = statepack.load(path)["c"]
    assert loaded.dtype == np.float32 and loaded.tobytes() == clustered.tobytes()
    return True


def typed_metadata(tmp):
    path = os.path.join(tmp, "meta.spk")
    meta = {"epoch": 7, "loss": 0.25, "final": True, "arch": "mlp", "zero": 0}
    statepack.save({"x": np.ones(3, np.float32)}, path, metadata=meta)
    with statepack.open(path) as blob:
        got = {k: v for k, v in blob.metadata.items() if not k.startswith("statepack.")}
        assert got == meta and all(type(got[k]) is type(meta[k]) for k in meta), got
        assert blob.metadata["statepack.packer"].startswith("statepack ")
    return True


def expect(exception, fragment, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exception as e:
        assert isinstance(e, statepack.Error) or exception is TypeError, type(e)
        assert fragment in str(e), f"{fragment!r} not in {str(e)!r}"
        return True
    raise AssertionError(f"no {exception.__name__} raised")


def errors(tmp):
    missing = os.path.join(tmp, "missing.spk")
    expect(statepack.InvalidInput, "missing.spk: no such file", statepack.open, missing)
    expect(statepack.InvalidInput, "no such file", statepack.load, missing)
    text = os.path.join(tmp, "text.spk")
    with open(text, "w") as f:
        f.write("not a blob at all, just some text\n")
    expect(statepack.InvalidInput, "text.spk", statepack.open, text)
    good = os.path.join(tmp, "good.spk")
    statepack.save({"x": np.arange(1000, dtype=np.float32)}, good)
    data = bytearray(open(good, "rb").read())
    damaged = os.path.join(tmp, "damaged.spk")
    data[-10] ^= 0xFF  # inside the last segment: spk_open passes, the checksum does not
    with open(damaged, "wb") as f:
        f.write(data)
    r = cli("verify", damaged)
    assert r.returncode == 1
    with statepack.open(damaged) as blob:
        try:
            blob.verify()
            raise AssertionError("a damaged blob verified")
        except statepack.DamagedBlob as e:
            assert isinstance(e, statepack.InvalidInput)
            assert str(e) in r.stderr, (str(e), r.stderr)
    expect(statepack.DamagedBlob, "damaged.spk", statepack.load, damaged)
    truncated = os.path.join(tmp, "truncated.spk")
    with open(truncated, "wb") as f:
        f.write(bytes(data[: len(data) // 2]))
    expect(statepack.DamagedBlob, "truncated.spk", statepack.open, truncated)
    x = {"x": np.zeros((64, 64), np.float32)}
    out = os.path.join(tmp, "o.spk")
    r = cli("pack", good, "-o", out, "--quant", "int7")
    expect(statepack.UsageError, 'unknown scheme "int7"', statepack.save, x, out, quant="int7")
    assert 'unknown scheme "int7"' in r.stderr
    expect(statepack.UsageError, "--compress must be", statepack.save, x, out, compress="lz4")
    expect(statepack.UsageError, "--quant auto needs --bpw", statepack.save, x, out, quant="auto")
    expect(statepack.UsageError, "reserved", statepack.save, x, out,
           metadata={"statepack.x": 1})
    expect(TypeError, "colour", statepack.save, x, out, colour="red")
    noisy = {"y": np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)}
    expect(statepack.InvalidInput, "below --min-sqnr 60", statepack.save, noisy, out, quant="int4-g128",
           min_sqnr=60)
    assert not os.path.exists(out), "a failed save left a file"
    path = os.path.join(tmp, "complex.spk")
    statepack.save({"c": np.ones(3, np.complex64)}, path)
    with statepack.open(path) as blob:
        expect(statepack.UsageError, "complex", blob.dequantize, "c")
    with statepack.open(good) as blob:
        try:
            blob["nope"]
            raise AssertionError("no KeyError")
        except KeyError as e:
            assert "nope" in str(e)
    return True


def gil_released(tmp):
    big = {"w": np.random.default_rng(5).standard_normal((1024, 2048)).astype(np.float32)}
    path = os.path.join(tmp, "gil.spk")
    worker = threading.Thread(target=statepack.save, args=(big, path),
                              kwargs={"quant": "int4-k", "compress": "zstd:19", "threads": 1})
    count = 0
    worker.start()
    while worker.is_alive():
        count += 1
    worker.join()
    assert os.path.exists(path)
    # Holding the GIL, the packer would leave this loop a handful of turns at most.
    assert count > 10000, count
    return True


def stub_signatures(module, stub_path):
    """Each function the stub declares exists with the same parameter names and kinds."""
    import ast
    import inspect

    tree = ast.parse(open(stub_path).read())
    declared = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert declared, "no functions in the stub"
    for name, node in declared.items():
        real = inspect.signature(getattr(module, name))
        stub = [a.arg for a in node.args.posonlyargs + node.args.args] + \
               [f"*{a.arg}" for a in node.args.kwonlyargs]
        got = [p.name if p.kind != p.KEYWORD_ONLY else f"*{p.name}"
               for p in real.parameters.values()]
        assert stub == got, (name, stub, got)
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    for name in classes:
        assert hasattr(module, name), name
    return True


def signed_save(tmp):
    """sign_key= signs (the CLI verifies with the public key); checksum="sha256" seals."""
    import base64
    der = bytes.fromhex("302e020100300506032b657004220420") + bytes([7]) * 32
    key = os.path.join(tmp, "py.key")
    with open(key, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() +
                "\n-----END PRIVATE KEY-----\n")
    pub = os.path.join(tmp, "py.pub")
    out = cli("pubkey", key)
    assert out.returncode == 0, out.stderr
    path = os.path.join(tmp, "signed.spk")
    statepack.save({"w": np.arange(12, dtype=np.float32)}, path, sign_key=key)
    subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    verified = cli("verify", path, "--key", pub, "--quiet")
    assert verified.returncode == 0, verified.stderr
    sealed = os.path.join(tmp, "sealed.spk")
    statepack.save({"w": np.arange(12, dtype=np.float32)}, sealed, checksum="sha256")
    unsigned = cli("verify", sealed, "--key", pub, "--quiet")
    assert unsigned.returncode == 1 and "not signed" in unsigned.stderr, unsigned.stderr
    return np.array_equal(statepack.load(path)["w"], np.arange(12, dtype=np.float32))


def main():
    global SP, statepack
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} /path/to/statepack /path/to/build/python", file=sys.stderr)
        return 2
    SP = os.path.realpath(sys.argv[1])
    sys.path.insert(0, sys.argv[2])
    import statepack as module

    statepack = module
    report("torch" not in sys.modules, "import statepack leaves torch alone")
    with tempfile.TemporaryDirectory() as tmp:
        check("every dtype: save -> CLI verify -> load, bit for bit", roundtrip_every_dtype, tmp)
        check("quantized save -> dequantize equals unpack --dequantize", dequantize_matches_cli,
              tmp)
        check("lossless grids load bit for bit; quant='auto' with measured sensitivities",
              grids_and_auto, tmp)
        check("raw tensors are read-only views into the mapping", zero_copy_views, tmp)
        check("views keep the mapping alive after close", views_outlive_blob, tmp)
        check("statepack.pack writes the CLI's blob", pack_equals_cli, tmp)
        check("max_chunk as --max-chunk; palettes load bit for bit", max_chunk_and_palettes, tmp)
        check("metadata keeps its types", typed_metadata, tmp)
        check("errors are statepack exceptions with the CLI's messages", errors, tmp)
        check("the GIL is released while packing", gil_released, tmp)
        check("sign_key= signs the blob; checksum='sha256' seals it", signed_save, tmp)
    check("the type stubs match the package", stub_signatures, statepack,
          os.path.join(os.path.dirname(statepack.__file__), "__init__.pyi"))
    check("every public function has a docstring",
          lambda: all(getattr(statepack, n).__doc__ for n in statepack.__all__))
    return lib.finish()


if __name__ == "__main__":
    sys.exit(main())
