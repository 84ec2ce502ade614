# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of statepack's Python tests and benchmarks: safetensors written and read by
hand (Debian has no safetensors package), counting checks that end in "N passed, M failed",
running the CLI, and the torch models the tests and benchmarks build.

Scripts import it by path, from their own location:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../support"))
    import statepack_testlib as lib

and run under Debian's /usr/bin/python3. Only the standard library is imported here at load
time: torch is imported by the functions that need it, so the CLI tests (standard library
only) use the same module.
"""

import json
import math
import os
import struct
import subprocess
import sys
import traceback

# ------------------------------------------------------------------------------------------------
# safetensors, by hand

# Bytes per element of each safetensors dtype statepack reads or writes.
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
            "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "C64": 8}


def safetensors_header(entries, metadata=None):
    """The start of a safetensors file: u64 LE header length, then the compact JSON header
    padded with spaces to a multiple of 8, as the reference writer lays it out. entries: list of
    (name, dtype name, shape, byte length), whose data follows in this order."""
    header, offset = {}, 0
    for name, dtype, shape, size in entries:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype name, shape, raw bytes), written in this order."""
    head = safetensors_header([(n, d, s, len(raw)) for n, d, s, raw in tensors], metadata)
    with open(path, "wb") as f:
        f.write(head)
        for *_, raw in tensors:
            f.write(raw)


def read_safetensors(path, strict=False):
    """Returns ({name: (dtype name, shape list, raw bytes)}, metadata dict). Raises ValueError
    when the header or an offset runs past the end; with strict, also unless every tensor has
    exactly its dtype's and shape's bytes and the tensors tile the data section without gaps
    (the layout the reference reader insists on)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: shorter than 8 bytes")
    (n,) = struct.unpack_from("<Q", blob, 0)
    if 8 + n > len(blob):
        raise ValueError(f"{path}: header length {n} runs past the end")
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = blob[8 + n:]
    out, spans = {}, []
    for name, entry in header.items():
        dtype, shape, (begin, end) = entry["dtype"], list(entry["shape"]), entry["data_offsets"]
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: {name}: bad data_offsets {begin, end}")
        if strict and end - begin != math.prod(shape) * ITEMSIZE[dtype]:
            raise ValueError(f"{name}: {end - begin} bytes for {dtype}{shape}")
        out[name] = (dtype, shape, data[begin:end])
        spans.append((begin, end))
    if strict:
        pos = 0
        for begin, end in sorted(spans):
            if begin != pos:
                raise ValueError(f"data offsets not contiguous at {begin} (expected {pos})")
            pos = end
        if pos != len(data):
            raise ValueError(f"data section is {len(data)} bytes, tensors cover {pos}")
    return out, metadata


# ------------------------------------------------------------------------------------------------
# counting checks

PASSED = 0
FAILED = 0


def report(ok, what, detail=""):
    """Counts one check and prints "ok   WHAT" or "FAIL WHAT" with up to 25 lines of DETAIL."""
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print(f"ok   {what}", flush=True)
    else:
        FAILED += 1
        print(f"FAIL {what}", flush=True)
        for line in str(detail).splitlines()[:25]:
            print(f"     | {line}", flush=True)
    return ok


def check(what, fn, *args):
    """Runs fn(*args); an exception or a False result is a failure. Returns the result (None on
    failure)."""
    try:
        result = fn(*args)
    except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
        report(False, f"{what}: {e}")
        if not isinstance(e, AssertionError):
            traceback.print_exc(limit=3)
        return None
    if not report(result is not False, what):
        return None
    return result


def finish():
    """Prints the closing "N passed, M failed" line; returns the script's exit status."""
    print(f"{PASSED} passed, {FAILED} failed", flush=True)
    return 1 if FAILED else 0


# ------------------------------------------------------------------------------------------------
# running the CLI

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "UndefinedBehaviorSanitizer")
SP = None  # the statepack binary, set by statepack_from_argv


def statepack_from_argv():
    """The statepack binary named by the only argument (absolute path, kept in SP), or None
    after printing why not."""
    global SP
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} /path/to/statepack", file=sys.stderr)
        return None
    path = os.path.realpath(sys.argv[1])
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        print(f"{sys.argv[0]}: {sys.argv[1]} is not an executable", file=sys.stderr)
        return None
    SP = path
    return path


def run(statepack, *args):
    """statepack ARGS; returns its stdout, raises AssertionError unless it exits 0."""
    proc = subprocess.run([statepack, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"statepack {' '.join(map(str, args))} exited {proc.returncode}: "
                             f"{proc.stderr.strip()}")
    return proc.stdout


class Run:
    """One finished run of the CLI: its arguments, exit status (or "timeout") and output."""

    def __init__(self, args, rc, out, err):
        self.args, self.rc, self.out, self.err = args, rc, out, err

    def describe(self):
        return (f"$ statepack {' '.join(self.args)}\nexit {self.rc}\n"
                f"stderr: {self.err.strip()[:3000]}\nstdout: {self.out.strip()[:1500]}")


def sp(*args, timeout=180):
    """Runs SP ARGS in the current directory. A sanitizer report is a failure of its own,
    whatever the exit status (ASan and UBSan exit 1 by default, like an input error)."""
    args = [str(a) for a in args]
    try:
        p = subprocess.run([SP] + args, capture_output=True, timeout=timeout)
        r = Run(args, p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))
    except subprocess.TimeoutExpired:
        r = Run(args, "timeout", "", f"timed out after {timeout} s")
    if not clean(r):
        report(False, f"sanitizer report from statepack {' '.join(args)}", r.err[:6000])
    return r


def clean(r):
    """No sanitizer report in a Run's stderr."""
    return not any(m in r.err for m in SANITIZER_MARKERS)


def separate_sanitizer_exit_codes():
    """Gives sanitizer reports their own exit codes, so they can never pass for "exit 1"."""
    os.environ.setdefault("ASAN_OPTIONS", "exitcode=86")
    os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:exitcode=87")


# ------------------------------------------------------------------------------------------------
# torch tensors as safetensors (torch is imported only here)

# torch dtype name -> safetensors dtype name.
_TORCH_NAMES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
                "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8",
                "bool": "BOOL", "complex64": "C64"}
# The dtypes torch shares with the reference safetensors (C64 is statepack's own extension).
REFERENCE_DTYPES = ("F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL")


def st_dtype(torch_dtype):
    """The safetensors dtype name of a torch dtype."""
    return _TORCH_NAMES[str(torch_dtype).rsplit(".", 1)[-1]]


def torch_dtype(st_name):
    """The torch dtype of a safetensors dtype name."""
    import torch
    return {v: getattr(torch, k) for k, v in _TORCH_NAMES.items()}[st_name]


def tensor_bytes(t):
    """The tensor's elements in row-major order, little-endian, as safetensors stores them."""
    import torch
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        # numpy has no bfloat16: reinterpret the same 16 bits as int16.
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_torch_safetensors(path, state, metadata=None):
    """state: {name: torch tensor}, written in this order."""
    write_safetensors(path, [(name, st_dtype(t.dtype), list(t.shape), tensor_bytes(t))
                             for name, t in state.items()], metadata)


def read_torch_safetensors(path):
    """Returns ({name: (torch tensor, raw bytes)}, metadata dict)."""
    import torch
    tensors, metadata = read_safetensors(path)
    out = {}
    for name, (dtype_name, shape, raw) in tensors.items():
        dtype = torch_dtype(dtype_name)
        if math.prod(shape) == 0:
            assert raw == b"", f"{name}: {len(raw)} bytes for an empty tensor"
            t = torch.empty(shape, dtype=dtype)
        elif dtype == torch.bfloat16:
            t = torch.frombuffer(bytearray(raw), dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(bytearray(raw), dtype=dtype)
        out[name] = (t.reshape(shape), raw)
    return out, metadata


# ------------------------------------------------------------------------------------------------
# models


def warm_up_batch_norm(model, passes, batch):
    """Runs `passes` training-mode forward passes of `batch` random 64x64 images (from torch's
    global generator, without gradients) so batch-norm statistics and num_batches_tracked are
    not their initial values; returns the model in eval mode."""
    import torch
    model.train()
    with torch.no_grad():
        for _ in range(passes):
            model(torch.randn(batch, 3, 64, 64))
    model.eval()
    return model


def resnet18():
    """A torchvision ResNet-18 with random initial weights (from torch's global generator)."""
    import torchvision
    return torchvision.models.resnet18(weights=None)


def small_model():
    """A five-layer conv net (conv, batch norm, linear) for 3x8x8 inputs."""
    import torch
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 10))
