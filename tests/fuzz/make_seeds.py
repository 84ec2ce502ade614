#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Run with Debian's python3 (torch, numpy) after a build, passing the CLI for the blob seeds:
    /usr/bin/python3 tests/fuzz/make_seeds.py build/release/tools/statepack
Seeds are small valid inputs (a few KB each) plus the framing bytes each target reads first
(see the comment at the top of each *_fuzz.cpp). The output is deterministic for a given torch
and numpy, and committed; crash reproducers live beside the seeds as crash-<sha1> files and are
never removed by this script (it only writes seed-* files).
"""
import argparse
import base64
import collections
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def safetensors_bytes(tensors, metadata=None):
    """A safetensors file of {name: numpy array or (dtype name, shape, raw bytes)}."""
    header, blobs, offset = {}, [], 0
    names = {np.float32: "F32", np.float16: "F16", np.float64: "F64", np.int64: "I64",
             np.int32: "I32", np.int8: "I8", np.uint8: "U8", np.bool_: "BOOL", np.int16: "I16"}
    for name, value in tensors.items():
        if isinstance(value, tuple):
            dtype, shape, raw = value
        else:
            dtype, shape, raw = names[value.dtype.type], list(value.shape), value.tobytes()
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def small_state_dict(seed):
    g = torch.Generator().manual_seed(seed)
    return {
        "layer.weight": torch.randn(4, 3, generator=g),
        "layer.bias": torch.randn(4, generator=g).half(),
        "embed": torch.randn(2, 5, generator=g).bfloat16(),
        "steps": torch.tensor(7),
        "mask": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 3),
    }


def torch_zip_bytes(obj, protocol=2):
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=protocol)
    return buf.getvalue()


def torch_legacy_bytes(obj, protocol=2):
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    return buf.getvalue()


def npy_bytes(array, version=None):
    buf = io.BytesIO()
    if version is None:
        np.save(buf, array)
    else:
        np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


def npz_bytes(arrays, compressed):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def seeds_safetensors():
    rng = np.random.default_rng(1)
    put("safetensors", "empty", safetensors_bytes({}))
    put("safetensors", "basic", safetensors_bytes({
        "w": rng.standard_normal((4, 3)).astype(np.float32),
        "b": rng.standard_normal(4).astype(np.float16),
        "n": np.array(3, dtype=np.int64)}, {"format": "pt"}))
    put("safetensors", "dtypes", safetensors_bytes({
        "a": np.arange(6, dtype=np.int8).reshape(2, 3), "c": np.array([True, False]),
        "d": np.arange(4, dtype=np.uint8), "e": np.arange(2, dtype=np.int16),
        "f": ("BF16", [2], b"\x80\x3f\x00\x40"), "g": ("F8_E4M3", [3], b"\x38\x40\x48"),
        "h": ("F4", [4], b"\x12\x34"), "i": np.zeros((0, 2), dtype=np.float64)}))
    put("safetensors", "rank8", safetensors_bytes({"r": np.ones((1,) * 8, dtype=np.float32)}))
    put("safetensors", "metadata", safetensors_bytes(
        {"x": np.ones(2, dtype=np.float32)}, {"k": "v", "empty": ""}))


def seeds_zip():
    put("zip", "torch-state-dict", torch_zip_bytes(small_state_dict(1)))
    put("zip", "torch-nested", torch_zip_bytes(
        {"model": {"w": torch.arange(6.0).reshape(2, 3).t()}, "epoch": 3, "lr": 0.5,
         "name": "run", "opt": None}))
    shared = torch.arange(8, dtype=torch.int32)
    put("zip", "torch-views", torch_zip_bytes({"a": shared[2:6], "b": shared.view(2, 4)}))
    for name, method in (("stored", zipfile.ZIP_STORED), ("deflated", zipfile.ZIP_DEFLATED)):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", method) as z:
            z.writestr("a.txt", b"hello " * 20)
            z.writestr("dir/b.bin", bytes(range(64)))
        put("zip", name, buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        with z.open("big", "w", force_zip64=True) as f:
            f.write(b"zip64 " * 10)
    put("zip", "zip64", buf.getvalue())
    put("zip", "empty", b"PK\x05\x06" + b"\x00" * 18)


def seeds_numpy():
    arrays = [
        np.arange(6, dtype="<f4").reshape(2, 3),
        np.arange(6, dtype=">f8").reshape(3, 2),
        np.asfortranarray(np.arange(12, dtype="<i4").reshape(3, 4)),
        np.array([True, False, True]),
        np.array(5, dtype=np.uint16),
        np.zeros((0, 4), dtype=np.float16),
        (np.arange(4) + 1j).astype(np.complex64),
    ]
    for i, a in enumerate(arrays):
        put("numpy", "npy-%d" % i, b"\x00" + npy_bytes(a))
    put("numpy", "npy-v2", b"\x00" + npy_bytes(np.arange(3, dtype=np.int64), version=(2, 0)))
    put("numpy", "npz-stored", b"\x01" + npz_bytes({"w": arrays[0], "b": arrays[3]}, False))
    put("numpy", "npz-deflated", b"\x01" + npz_bytes({"w": arrays[1], "c": arrays[6]}, True))


def seeds_pickle():
    plain = [None, True, 3, -2**40, 1.5, "text", b"bytes", [1, [2, [3]]], (1, "a"),
             {"a": 1, "b": [1.0, None], (1, 2): "t"}]
    for proto in (0, 2, 3):
        put("pickle", "plain-p%d" % proto, b"\x00" + pickle.dumps(plain, protocol=proto))
    shared = [1, 2]
    put("pickle", "memo", b"\x00" + pickle.dumps({"x": shared, "y": shared}, protocol=2))
    for i, obj in enumerate((small_state_dict(2), {"net": {"w": torch.ones(2, 2)}, "step": 9})):
        with zipfile.ZipFile(io.BytesIO(torch_zip_bytes(obj))) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            put("pickle", "torch-data-pkl-%d" % i, b"\x01" + z.read(pkl))
    put("pickle", "torch-legacy", b"\x02" + torch_legacy_bytes(small_state_dict(3)))
    put("pickle", "torch-legacy-view", b"\x02" + torch_legacy_bytes(
        {"a": torch.arange(6.0)[1:4], "p": torch.nn.Parameter(torch.ones(2))}))
    seeds_pickle_protocols_4_5()
    seeds_pickle_opaque()


class SeedConfig:
    """A class of this script (__main__.SeedConfig in the pickle): an opaque object."""

    def __init__(self):
        self.lr, self.name, self.amp = 0.5, "seed", True


class SeedOrdered(collections.OrderedDict):
    pass


def seeds_pickle_opaque():
    """Checkpoints as they exist in the wild, read as opaque objects: whole modules (protocols
    2 and 4, zip data.pkl and legacy, which names module classes by persistent id), argparse
    args, numpy scalars, Counter/defaultdict/OrderedDict subclasses, sets, a plain class, and
    the dangerous names and tricks that must stay refused."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    net.register_buffer("tmp", torch.zeros(1), persistent=False)
    wild = {"model": net, "epoch": 2,
            "args": argparse.Namespace(lr=0.1, steps=[1, 2], name="x"),
            "acc": np.float64(0.5), "loss": np.float32(1.25), "n": np.int64(-3),
            "counts": collections.Counter(a=2), "dd": collections.defaultdict(int, k=1),
            "od": SeedOrdered(z=1), "cfg": SeedConfig(), "tags": {"a", "b"},
            "frozen": frozenset([1])}
    for proto in (2, 4):
        with zipfile.ZipFile(io.BytesIO(torch_zip_bytes(wild, proto))) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            put("pickle", "opaque-wild-p%d" % proto, b"\x01" + z.read(pkl))
        put("pickle", "opaque-legacy-module-p%d" % proto,
            b"\x02" + torch_legacy_bytes({"model": net, "args": wild["args"]}, proto))
    with zipfile.ZipFile(io.BytesIO(torch_zip_bytes(net))) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
        put("pickle", "opaque-whole-module", b"\x01" + z.read(pkl))
    # Refused: a dangerous factory inside an opaque object, an attribute path, getattr.
    put("pickle", "opaque-dangerous-factory",
        b"\x01\x80\x02ccollections\ndefaultdict\ncos\nsystem\n\x85R.")
    put("pickle", "opaque-attribute-path",
        b"\x01\x80\x04\x8c\x08argparse\x8c\x0a_os.system\x93)R.")
    put("pickle", "opaque-getattr",
        b"\x01\x80\x02c__builtin__\ngetattr\nccollections\nCounter\nX\x04\x00\x00\x00keys\x86R.")


def frame(body):
    """Protocol 4's framing of `body`: FRAME, its 8-byte length, the body."""
    return b"\x95" + struct.pack("<Q", len(body)) + body


def seeds_pickle_protocols_4_5():
    """Protocols 4 and 5: FRAME, STACK_GLOBAL, MEMOIZE, the 8-byte-length opcodes (which
    pickle.dumps only writes for objects over 4 GiB, so they are written by hand here) and
    out-of-band buffers (refused)."""
    plain = [None, True, 3, -2**40, 1.5, "text", b"bytes", [1, [2, [3]]], (1, "a"),
             {"a": 1, "b": [1.0, None], (1, 2): "t"}]
    for proto in (4, 5):
        put("pickle", "plain-p%d" % proto, b"\x00" + pickle.dumps(plain + [bytearray(b"ba")],
                                                                  protocol=proto))
    oob = pickle.dumps([pickle.PickleBuffer(bytearray(b"rw")), pickle.PickleBuffer(b"ro")],
                       protocol=5, buffer_callback=lambda buffer: False)
    put("pickle", "out-of-band-p5", b"\x00" + oob)

    def u8(op, data):  # BINUNICODE8, BINBYTES8 or BYTEARRAY8 of data
        return op + struct.pack("<Q", len(data)) + data
    long_lengths = (b"\x80\x04" + frame(b"(" + u8(b"\x8d", "\u00e9t\u00e9".encode()) + b"\x94"
                                       + u8(b"\x8e", b"\x00\xff") + b"\x94"
                                       + u8(b"\x96", b"xy") + b"\x94h\x01h\x00t\x94."))
    put("pickle", "long-lengths-p4", b"\x00" + long_lengths)
    # An OrderedDict named through STACK_GLOBAL and keyed by BINUNICODE8: the torch handlers'
    # allowlist accepts it.
    ordered = (b"\x80\x04" + frame(b"\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94("
                                   + u8(b"\x8d", b"step") + b"K\x09" + u8(b"\x8d", b"name")
                                   + u8(b"\x8e", b"raw") + b"u."))
    put("pickle", "stack-global-p4", b"\x01" + ordered)
    for proto in (4, 5):
        obj = {"net": {"w": torch.ones(2, 2)}, "step": 9, "sd": small_state_dict(4)}
        with zipfile.ZipFile(io.BytesIO(torch_zip_bytes(obj, proto))) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")][0]
            put("pickle", "torch-data-pkl-p%d" % proto, b"\x01" + z.read(pkl))
        put("pickle", "torch-legacy-p%d" % proto, b"\x02" + torch_legacy_bytes(
            {"a": torch.arange(6.0)[1:4], "sd": small_state_dict(5)}, proto))


# The roundtrip target's scheme byte indexes the CLI's scheme names in this order
# (quant_schemes.cpp), and its dtype byte is DType - 1.
RT_SCHEMES = ["keep", "f16", "bf16", "int8", "int8-tensor", "int8-asym", "int8-g32", "int8-g64",
              "int8-g128", "int4-g32", "int4-g64", "int4-g128", "int4-g32-asym", "int4-g64-asym",
              "int4-g128-asym", "int4-k"]
RT_DTYPES = {"F32": 0, "F64": 1, "F16": 2, "BF16": 3}


def rt_tensor(name, dtype, dims, scheme, mode=0, exponent=0, seed=0, data=b""):
    """One tensor of a quantizing roundtrip input (see roundtrip_fuzz.cpp): name (letters a-f),
    dtype, dims, scheme, then generated weights (mode 1-3 at 2^exponent, seeded) or raw bytes."""
    out = bytes([len(name) - 1]) + bytes(ord(c) - ord("a") for c in name)
    out += bytes([RT_DTYPES[dtype], len(dims)]) + bytes(dims)
    out += bytes([RT_SCHEMES.index(scheme), mode | ((exponent + 40) << 2)])
    return out + (struct.pack("<I", seed) if mode else data)


def seeds_roundtrip():
    import random
    r = random.Random(5)
    for i in range(8):
        put("roundtrip", "random-%d" % i, bytes(r.randrange(256) for _ in range(40 + 60 * i)))
    # Quantizing inputs (control bits 6 and 7): every scheme family, zstd, casts of special
    # values, and a refusal (int4 values whose scale f16 cannot hold).
    special = struct.pack("<4f", float("inf"), float("nan"), 70000.0, 1e-8)
    quant = {
        "quant-int8": (0xC0, [rt_tensor("w", "F32", [8, 8], "int8", 2, 0, 1),
                              rt_tensor("a", "F32", [4, 8], "int8-asym", 3, -3, 2),
                              rt_tensor("t", "F16", [8], "int8-tensor", 1, 2, 3)]),
        "quant-int4-zstd": (0xD0, [rt_tensor("w", "F32", [8, 8], "int4-g32", 2, 0, 4),
                                   rt_tensor("b", "BF16", [4, 8], "int4-g32-asym", 3, 5, 5),
                                   rt_tensor("c", "F32", [2, 8, 4], "int8-g32", 1, -20, 6)]),
        "quant-casts": (0xC2, [rt_tensor("h", "F32", [8, 8], "f16", 1, 10, 7),
                               rt_tensor("d", "F64", [16], "bf16", 2, -30, 8),
                               rt_tensor("s", "F32", [4], "f16", data=special)]),
        "quant-refused": (0xC0, [rt_tensor("w", "F32", [4, 4], "int4-g32", 1, 23, 9)]),
        "quant-int4-k": (0xD0, [rt_tensor("w", "F32", [8, 40], "int4-k", 2, 0, 10),
                                rt_tensor("v", "F32", [200], "int4-k", 3, -8, 11),
                                rt_tensor("r", "F32", [4], "int4-k",
                                          data=struct.pack("<4f", 1.0, 6e8, -2.0, 3.0))]),
    }
    for name, (control, tensors) in quant.items():
        put("roundtrip", name, bytes([control, len(tensors)]) + b"".join(tensors) + b"\x00")


def seeds_roundtrip_palettes():
    """Inputs for the lossless-grid pass (the byte after the metadata: bit 0 the pass, bit 1
    palettize to k = 1 + 2 * next byte + bit 2 values): palettes of 15, 17, 256 and 258 (too
    many) values from F32, F16 and BF16, raw and zstd, with -0.0, infinities and a NaN."""
    specials = struct.pack("<8f", -0.0, 0.0, float("inf"), float("-inf"), 1.5, -0.0, 2.5, 1.5)
    with_nan = struct.pack("<4f", 1.0, float("nan"), 1.0, -0.0)
    cases = {
        "palette-15": (0xC0, 0b011, 7, [
            rt_tensor("w", "F32", [8, 8, 4], "keep", 2, 0, 21),
            rt_tensor("h", "F16", [8, 8], "keep", 1, -2, 22),
            rt_tensor("b", "BF16", [4, 8, 8], "keep", 3, 1, 23),
            rt_tensor("g", "F32", [8, 8], "int8", 2, 0, 24)]),
        "palette-17-specials": (0xC2, 0b011, 8, [
            rt_tensor("s", "F32", [8], "keep", data=specials),
            rt_tensor("n", "F32", [4], "keep", data=with_nan),
            rt_tensor("w", "BF16", [8, 8, 8], "keep", 2, 3, 25)]),
        "palette-256-zstd": (0xD0, 0b111, 127, [
            rt_tensor("w", "F32", [8, 8, 8], "keep", 2, -4, 26),
            rt_tensor("b", "BF16", [8, 8, 8], "keep", 1, 0, 27)]),
        "palette-258-zstd": (0xD0, 0b111, 128, [
            rt_tensor("w", "F32", [8, 8, 8], "keep", 2, 0, 28),
            rt_tensor("h", "F16", [8, 8, 8], "keep", 3, 0, 29)]),
    }
    for name, (control, passes, k, tensors) in cases.items():
        put("roundtrip", name,
            bytes([control, len(tensors)]) + b"".join(tensors) + bytes([0, passes, k]))


def blobs(cli):
    """Blobs packed by the CLI from a small safetensors file, with every option that changes
    the bytes: quantization schemes, zstd, xxh32, alignments."""
    rng = np.random.default_rng(7)
    source = safetensors_bytes({
        "w": rng.standard_normal((8, 40)).astype(np.float32),
        "b": rng.standard_normal(8).astype(np.float32),
        "h": rng.standard_normal((4, 4)).astype(np.float16),
        "i": np.arange(12, dtype=np.int32).reshape(3, 4),
        "m": np.array([True, False, True]),
        "s": np.array(2.5, dtype=np.float64)}, {"source": "seed"})
    variants = {
        "plain": [],
        "xxh32-align8": ["--checksum", "xxh32", "--align", "8"],
        "zstd": ["--compress", "zstd"],
        "int8": ["--quant", "int8", "--rule", "w=int8"],
        "int8-asym": ["--rule", "w=int8-asym", "--rule", "h=int8-tensor"],
        "int8-g32": ["--rule", "w=int8-g32"],
        "int4": ["--rule", "w=int4-g32", "--rule", "h=int4-g32-asym"],
        "casts": ["--rule", "w=f16", "--rule", "b=bf16"],
        "int4-zstd": ["--rule", "w=int4-g32-asym", "--compress", "zstd"],
        "int4-k": ["--rule", "w=int4-k", "--rule", "h=int4-k"],
        "int4-k-zstd": ["--rule", "w=int4-k", "--compress", "zstd"],
        # Format 1.1: SHA-256 digests, unsigned and signed with the seed key (the fuzz targets
        # verify with its public key, fuzz_support.hpp kSeedPublicKey).
        "sha256": ["--checksum", "sha256"],
        "signed": ["--checksum", "xxh32+sha256", "--sign", "@SEED_KEY@"],
    }
    # Lossless grids (fake-quantized weights: integers times an f32 scale per row, per tensor
    # with a zero point, an f16 grid), from a source of their own so the other seeds stay.
    scales = np.float32(2.0) ** -np.arange(3, 11, dtype=np.float32)
    grid_source = safetensors_bytes({
        "g": (rng.integers(-128, 128, (8, 40)).astype(np.float32) * scales[:, None]),
        "a": (rng.integers(0, 256, 64) - 100).astype(np.float32) * np.float32(0.0123),
        "q": (rng.integers(-8, 8, (4, 40)).astype(np.float32) * np.float32(0.25)).astype(
            np.float16)})
    grid_variants = {
        "grid-zstd": ["--compress", "zstd"],
        "grid-raw": ["--lossless-grids", "on"],
    }
    # A position table that codes smaller in one chunk of 192 KiB than in 64 KiB ones: a
    # segment whose chunk_size is above SPK_ZSTD_DEFAULT_CHUNK_SIZE.
    position = np.arange(48, dtype=np.float32)[:, None]
    rate = np.exp(np.arange(0, 1024, 2, dtype=np.float32) * np.float32(-np.log(10000.0) / 1024))
    table = np.zeros((48, 1024), np.float32)
    table[:, 0::2] = np.sin(position * rate)
    table[:, 1::2] = np.cos(position * rate)
    table_source = safetensors_bytes({"pos": table})
    table_variants = {"zstd-large-chunk": ["--compress", "zstd"]}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "model.safetensors")
        with open(src, "wb") as f:
            f.write(source)
        grid_src = os.path.join(tmp, "grid.safetensors")
        with open(grid_src, "wb") as f:
            f.write(grid_source)
        jobs = [(name, src, args) for name, args in variants.items()]
        jobs += [(name, grid_src, args) for name, args in grid_variants.items()]
        table_src = os.path.join(tmp, "table.safetensors")
        with open(table_src, "wb") as f:
            f.write(table_source)
        jobs += [(name, table_src, args) for name, args in table_variants.items()]
        seed_key = os.path.join(tmp, "seed.key")
        with open(seed_key, "w") as f:
            f.write(seed_key_pem())
        for name, src, args in jobs:
            args = [seed_key if a == "@SEED_KEY@" else a for a in args]
            dst = os.path.join(tmp, name + ".spk")
            result = subprocess.run([cli, "pack", src, "-o", dst, "--meta", "seed=1"] + args,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                print("skipping blob %s: %s" % (name, result.stderr.strip()), file=sys.stderr)
                continue
            with open(dst, "rb") as f:
                out[name] = f.read()
    out.update(palette_blobs(cli))
    return out


def seed_key_pem():
    """The seed signing key: Ed25519 seed 01 x 32 as PKCS#8 PEM (a test key, public by design)."""
    der = bytes.fromhex("302e020100300506032b657004220420") + bytes([1]) * 32
    return ("-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() +
            "\n-----END PRIVATE KEY-----\n")


def palette_blobs(cli):
    """Blobs with small palettes (scheme Palette): 16 values (U4 indices, with -0.0 and -inf)
    and 40 values (U8) of f32, and 5 of bf16, stored raw and with zstd."""
    rng = np.random.default_rng(11)
    values16 = rng.standard_normal(16).astype(np.float32)
    values16[:2] = [-0.0, -np.inf]
    p16 = values16[rng.integers(0, 16, (8, 40))]
    p40 = rng.standard_normal(40).astype(np.float32)[rng.integers(0, 40, (6, 64))]
    p5 = np.array([0.5, -1.25, 3.0, 0.0, -0.0], np.float32)[rng.integers(0, 5, 256)]
    p5 = (p5.view(np.uint32) >> 16).astype("<u2").tobytes()
    source = safetensors_bytes({"p16": p16, "p40": p40, "p5": ("BF16", [256], p5)})
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "palette.safetensors")
        with open(src, "wb") as f:
            f.write(source)
        for name, args in (("palette-zstd", ["--compress", "zstd"]),
                           ("palette-raw", ["--lossless-grids", "on"])):
            dst = os.path.join(tmp, name + ".spk")
            result = subprocess.run([cli, "pack", src, "-o", dst, "--meta", "seed=1"] + args,
                                    capture_output=True, text=True)
            if result.returncode != 0:
                print("skipping blob %s: %s" % (name, result.stderr.strip()), file=sys.stderr)
                continue
            with open(dst, "rb") as f:
                out[name] = f.read()
    return out


def put_blob(name, blob):
    put("runtime_blob", name, b"\x00\x01" + blob)
    put("runtime_blob", name + "-verify-reseal", b"\x03\x02" + blob)
    put("stream_verify", name, b"\x00\x11\x22\x33\x44" + blob)
    header_size = struct.unpack_from("<Q", blob, 32)[0]
    preamble_size = struct.unpack_from("<I", blob, 12)[0]
    put("header_differential", name, b"\x01" + blob[preamble_size:preamble_size + header_size])


def seeds_blobs(cli):
    for name, blob in blobs(cli).items():
        put_blob(name, blob)


def seeds_ed25519():
    """One case per mutation of tests/sign_crypto/ed25519_cases.hpp: mutation byte, key seed,
    message length and message, then the mutation's parameter bytes."""
    for mutation in range(15):
        key_seed = bytes((mutation * 7 + i) % 256 for i in range(32))
        message = b"statepack" * (mutation % 3)
        params = bytes((mutation * 31 + i * 17) % 256 for i in range(160))
        put("ed25519", "mutation-%02d" % mutation,
            bytes([mutation]) + key_seed + bytes([len(message)]) + message + params)


def main():
    seeds_ed25519()
    seeds_safetensors()
    seeds_zip()
    seeds_numpy()
    seeds_pickle()
    seeds_roundtrip()
    seeds_roundtrip_palettes()
    if len(sys.argv) > 1:
        seeds_blobs(sys.argv[1])
    else:
        print("no CLI given: blob seeds (runtime_blob, stream_verify, header_differential) "
              "left as they are", file=sys.stderr)


if __name__ == "__main__":
    main()
