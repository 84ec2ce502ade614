# SPDX-License-Identifier: Apache-2.0
"""Reading blobs: statepack.open(path) -> Blob, statepack.load(path)."""
import json

from statepack._native import core


class Blob:
    """An open statepack blob, checked by the runtime's spk_open (the data's checksums are
    checked by verify()). Use it as a context manager; arrays it returned stay valid after
    close(), since each keeps the file's mapping alive."""

    def __init__(self, path):
        self._native = core().BlobFile(str(path))
        self._inspect = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Closes the blob; the mapping goes when the last array viewing it goes."""
        self._native.close()
        self._inspect = None

    @property
    def closed(self):
        """Whether close() was called."""
        return self._native.closed

    @property
    def path(self):
        """The blob's file name."""
        return self._native.path

    def keys(self):
        """Tensor names, in name order."""
        return self._native.keys()

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def __contains__(self, name):
        return name in self._tensor_index()

    @property
    def metadata(self):
        """The blob's metadata: str, int, float or bool values by key (the packer's own
        provenance under "statepack.*" included)."""
        return self._native.metadata()

    def _tensor_index(self):
        if self._inspect is None:
            document = json.loads(self._native.inspect_json())
            self._inspect = {t["name"]: t for t in document["tensors"]}
        return self._inspect

    def info(self, name):
        """What `statepack inspect --json` says about tensor `name`: dtype, source_dtype,
        shape, stored_size, decoded_size, codec, filter, ratio, segment and quantization
        (None, or scheme, axis, group_size, sqnr_db, max_abs_error, overflow_count,
        lossless)."""
        try:
            return dict(self._tensor_index()[name])
        except KeyError:
            raise KeyError(f"{self.path}: no tensor named {name!r}") from None

    def __getitem__(self, name):
        """The tensor's stored values as a read-only NumPy array: for a raw tensor a view into
        the blob's mapping (no copy; the array's base keeps the mapping), for a compressed one
        its decoded bytes. BF16 comes as its bits (uint16), F8 types as their bytes (uint8);
        a quantized tensor raises UsageError (use dequantize)."""
        return self._native.view(name)

    def dequantize(self, name):
        """The tensor's values as a new float32 array, decoded by the device runtime
        (spk_dequantize): any quantized or compressed tensor, any real numeric dtype."""
        return self._native.dequantize(name)

    def verify(self, threads=0):
        """Runs `statepack verify`'s checks (every checksum, zero padding) on `threads`
        threads (0: every core), without the GIL; raises DamagedBlob naming the failed
        segment and its tensors."""
        self._native.verify(threads)

    def _load(self, dequantize):
        return self._native.load(dequantize)

    def __repr__(self):
        if self.closed:
            return "<statepack.Blob (closed)>"
        return f"<statepack.Blob {self.path!r}: {len(self)} tensors>"


def open(path):  # noqa: A001 - the safetensors-style name
    """Opens the blob at `path` (use as `with statepack.open(path) as blob:`). Raises
    InvalidInput for a missing file or one that is not a blob, DamagedBlob for a blob the
    runtime refuses."""
    return Blob(path)


def load(path, dequantize=True):
    """Every tensor of the blob at `path` as a dict of read-only NumPy arrays, as `statepack
    unpack` would write them: raw tensors as views into the mapping, compressed ones decoded,
    lossless grids in their source dtype bit for bit, quantized ones as float32 from the
    runtime (or InvalidInput if `dequantize` is false). The data's checksums are verified
    first. BF16 tensors come as their bits (uint16; statepack.torch.load_file makes them
    bfloat16)."""
    return {name: array for name, (array, _) in _load_with_dtypes(path, dequantize).items()}


def _load_with_dtypes(path, dequantize):
    with Blob(path) as blob:
        blob.verify()
        return blob._load(dequantize)
