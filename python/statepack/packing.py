# SPDX-License-Identifier: Apache-2.0
"""Writing blobs: statepack.save(tensors, path) and statepack.pack(inputs, path), through the
pipeline `statepack pack` runs (the same library code, not a second implementation)."""
import dataclasses
import os
import warnings

from statepack._native import core

# NumPy (kind, itemsize) -> the format's dtype name.
_NUMPY_DTYPES = {
    ("f", 4): "F32", ("f", 8): "F64", ("f", 2): "F16",
    ("i", 1): "I8", ("i", 2): "I16", ("i", 4): "I32", ("i", 8): "I64",
    ("u", 1): "U8", ("u", 2): "U16", ("u", 4): "U32", ("u", 8): "U64",
    ("b", 1): "BOOL", ("c", 8): "C64",
}


@dataclasses.dataclass
class TensorQuality:
    """One quantized tensor: its scheme and the error the packer measured."""
    name: str
    scheme: str
    shape: list
    sqnr_db: float
    max_abs_error: float
    bytes_before: int
    bytes_after: int
    underflow_count: int


@dataclasses.dataclass
class PackReport:
    """What packing did: quantized tensors by name, lossless grids, the blob's size, and with
    quant="auto" the bits per weight reached; `text` is what `statepack pack` prints."""
    tensors: dict
    grids: list
    size: int
    tensor_count: int
    unused_rules: list
    warnings: list
    notes: list
    text: str
    bpw: float = None
    bpw_budget: float = None
    kept: list = None


def _report(raw):
    tensors = {row["name"]: TensorQuality(**row) for row in raw["tensors"]}
    report = PackReport(tensors=tensors, grids=raw["grids"], size=raw["size"],
                        tensor_count=raw["tensor_count"], unused_rules=raw["unused_rules"],
                        warnings=raw["warnings"], notes=raw["notes"], text=raw["text"],
                        bpw=raw.get("bpw"), bpw_budget=raw.get("bpw_budget"),
                        kept=raw.get("kept"))
    for rule in report.unused_rules:
        warnings.warn(f"statepack: rule {rule} matched no tensor", stacklevel=3)
    for line in report.warnings:
        warnings.warn(f"statepack: {line}", stacklevel=3)
    return report


def _options(quant, rules, compress, bpw, sensitivity, metadata, checksum, align, threads,
             lossless_grids, min_sqnr, sign_key, max_chunk):
    if isinstance(rules, dict):
        rules = [f"{glob}={scheme}" for glob, scheme in rules.items()]
    if isinstance(sensitivity, os.PathLike):
        sensitivity = os.fspath(sensitivity)
    return {"quant": quant, "rules": rules, "compress": compress, "bpw": bpw,
            "sensitivity": sensitivity, "metadata": metadata, "checksum": checksum,
            "align": align, "threads": threads, "lossless_grids": lossless_grids,
            "min_sqnr": min_sqnr,
            "sign_key": os.fspath(sign_key) if sign_key is not None else None,
            # --max-chunk's text ("64K", "2M"); an int is bytes.
            "max_chunk": None if max_chunk is None else str(max_chunk)}


def _entry(name, value, dtype=None):
    import numpy as np

    array = np.asarray(value)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    array = np.ascontiguousarray(array)  # copies only what is not C-contiguous already
    if dtype is None:
        dtype = _NUMPY_DTYPES.get((array.dtype.kind, array.dtype.itemsize))
        if dtype is None:
            raise core().InvalidInput(f"tensor {name!r}: NumPy dtype {array.dtype} has no "
                                      "statepack dtype")
    return (str(name), array, dtype, list(array.shape))


def save(tensors, path, *, quant=None, rules=None, compress=None, bpw=None, sensitivity=None,
         metadata=None, checksum="xxh64", align=64, threads=None, lossless_grids=None,
         min_sqnr=None, sign_key=None, max_chunk=None):
    """Packs `tensors` (a mapping of names to NumPy arrays, or anything with the buffer
    protocol) into a blob at `path`, atomically, as `statepack pack` would pack a safetensors
    file holding them. Options are the CLI's: quant (e.g. "int8", "int4-k", "auto"), rules
    ({"glob": "scheme"} or ["glob=scheme"]), compress ("zstd", "zstd:19"), bpw (with
    quant="auto"), sensitivity ({name: weight} or a JSON file), metadata ({key: str | int |
    float | bool}), checksum ("xxh64", "xxh32", "sha256" or "xxh32+sha256": SHA-256 digests
    too), align, threads, lossless_grids ("auto", "on", "off": lossless grids and small
    palettes), min_sqnr (dB), sign_key (a PEM Ed25519 private key file: sign the blob, as
    `pack --sign`), max_chunk (with compress: the largest chunk, bytes as an int or "64K" /
    "2M" as --max-chunk takes). Buffers are read in place, without the GIL. Returns a
    PackReport; quality warnings also go through the warnings module. Raises UsageError for
    a bad option, InvalidInput for tensors the format cannot hold."""
    entries = [_entry(name, value) for name, value in tensors.items()]
    return _save_entries(entries, path, _options(quant, rules, compress, bpw, sensitivity,
                                                 metadata, checksum, align, threads,
                                                 lossless_grids, min_sqnr, sign_key, max_chunk))


def _save_entries(entries, path, options):
    return _report(core().save(entries, os.fspath(path), options))


def pack(inputs, path, *, select=None, quant=None, rules=None, compress=None, bpw=None,
         sensitivity=None, metadata=None, checksum="xxh64", align=64, threads=None,
         lossless_grids=None, min_sqnr=None, sign_key=None, max_chunk=None):
    """Packs checkpoint files (`inputs`: one path or a list; .safetensors, torch.save files,
    .npz/.npy, *.index.json) into a blob at `path`, exactly as `statepack pack` does (select:
    --select; the other options as in save()). Returns a PackReport."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    options = _options(quant, rules, compress, bpw, sensitivity, metadata, checksum, align,
                       threads, lossless_grids, min_sqnr, sign_key, max_chunk)
    return _report(core().pack([os.fspath(p) for p in inputs], os.fspath(path), select or "",
                               options))
