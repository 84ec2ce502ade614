# SPDX-License-Identifier: Apache-2.0
"""Hostile and hand-made inputs for the torch.save interop tests: pickles whose unpickling
would run code, zips written field by field (overlapping, duplicated, bomb-sized entries),
torch.save files rewritten (storages resized, byte order swapped) and the legacy layout.
Nothing here unpickles an untrusted file. Needs Debian's python3-torch and python3-numpy.
"""

import io
import os
import pickle
import re
import struct
import zlib
import zipfile

import numpy
import torch


class Evil:
    """pickle.dumps(Evil(cmd)) runs `cmd` through os.system when unpickled."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class EvilEval:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


def torch_layout_zip(path, pkl, storages=(), prefix="archive"):
    """A zip laid out like torch.save's (stored records): data.pkl, data/<key>, version."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", pkl)
        for key, raw in storages:
            z.writestr(f"{prefix}/data/{key}", raw)
        z.writestr(f"{prefix}/version", b"3\n")


def rewrite_zip(src, dst, change):
    """Copies a zip record by record; change(name, data) returns the new data."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))


def craft_zip(entries, cd_patch=None, cd_extra=()):
    """A zip written field by field. entries: dicts with name, data (as stored), method, crc,
    usize, and optionally zip64_usize (a claimed size written as a ZIP64 extra in both
    headers). cd_patch(index, entry, offset) may return a dict of central-directory fields to
    override; cd_extra lists extra central entries (dict with name and a copied entry)."""
    out = bytearray()
    offsets = []
    for e in entries:
        offsets.append(len(out))
        name = e["name"].encode()
        csize, usize = len(e["data"]), e["usize"]
        extra = b""
        if e.get("zip64_usize") is not None:
            extra = struct.pack("<HHQQ", 1, 16, e["zip64_usize"], csize)
            csize_f = usize_f = 0xFFFFFFFF
            version = 45
        else:
            csize_f, usize_f, version = csize, usize, 20
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, version, 0, e["method"], 0, 0x21,
                           e["crc"], csize_f, usize_f, len(name), len(extra)) + name + extra
        out += e["data"]
    cd_start = len(out)
    rows = []
    for i, e in enumerate(entries):
        f = dict(name=e["name"], method=e["method"], crc=e["crc"], csize=len(e["data"]),
                 usize=e["usize"], offset=offsets[i], zip64_usize=e.get("zip64_usize"))
        if cd_patch:
            f.update(cd_patch(i, e, offsets[i]) or {})
        rows.append(f)
    for x in cd_extra:
        rows.append(dict(x))
    for f in rows:
        name = f["name"].encode()
        extra = b""
        csize_f, usize_f, version = f["csize"], f["usize"], 20
        if f.get("zip64_usize") is not None:
            extra = struct.pack("<HHQQ", 1, 16, f["zip64_usize"], f["csize"])
            csize_f = usize_f = 0xFFFFFFFF
            version = 45
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, version, version, 0, f["method"], 0,
                           0x21, f["crc"], csize_f, usize_f, len(name), len(extra), 0, 0, 0, 0,
                           f["offset"]) + name + extra
    cd_size = len(out) - cd_start
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(rows), len(rows), cd_size, cd_start, 0)
    return bytes(out)


def stored(name, data):
    return dict(name=name, data=data, method=0, crc=zlib.crc32(data), usize=len(data))


def deflated(name, raw_len, stream, crc):
    return dict(name=name, data=stream, method=8, crc=crc, usize=raw_len)


def small_pickle_with_storage(numel):
    """data.pkl of torch.save({'w': FloatStorage-backed tensor of `numel`}) made by torch."""
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(numel)}, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return z.read("archive/data.pkl")


def with_storage_numel(pkl, new_numel):
    """Rewrites the numel of the (single) storage's persistent id in a torch data.pkl."""
    pat = re.compile(rb"(X\x03\x00\x00\x00cpu(?:q.|r....)?)(K.|M..|J....)(t)", re.DOTALL)
    new, n = pat.subn(lambda m: m.group(1) + b"J" + struct.pack("<i", new_numel) + m.group(3), pkl)
    assert n == 1, "storage numel not found in data.pkl"
    return new


def with_tensor_size(pkl, old, new):
    """Rewrites the size tuple (old,) of a 1-d tensor to (new,)."""
    def enc(v):
        if v < 256:
            return b"K" + bytes([v])
        return b"M" + struct.pack("<H", v) if v < 65536 else b"J" + struct.pack("<i", v)
    old_b, new_b = enc(old) + b"\x85", enc(new) + b"\x85"
    assert pkl.count(old_b) == 1, "size tuple not found in data.pkl"
    return pkl.replace(old_b, new_b)


def pickle_1d_storage(numel):
    """data.pkl for {'w': 1-d float32 tensor of `numel`}, without making the tensor."""
    return with_tensor_size(with_storage_numel(small_pickle_with_storage(16), numel), 16, numel)


# Bytes a big-endian machine reverses together in each storage class: the scalar component's
# size, so a complex64 (ComplexFloatStorage) is two floats each in big-endian order, the real
# part still first.
STORAGE_SWAP_UNIT = {"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2,
                     "BFloat16Storage": 2, "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2,
                     "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
                     "ComplexFloatStorage": 4}


def storage_classes(pkl):
    """{storage key: storage class name} of a data.pkl we wrote ourselves (read with stubs:
    nothing torch-specific is constructed)."""
    found = {}

    class Stubs(pickle.Unpickler):
        def find_class(self, module, name):
            if module == "collections" and name == "OrderedDict":
                return dict
            if module == "torch" and name.endswith("Storage"):
                return name
            return lambda *args: None

        def persistent_load(self, pid):
            found[pid[2]] = pid[1]
            return None

    Stubs(io.BytesIO(pkl)).load()
    return found


def to_big_endian(src, dst):
    """A zip-format torch.save file rewritten as a big-endian machine would write it: each
    storage's elements byte-swapped and a "byteorder" record saying "big"."""
    with zipfile.ZipFile(src) as zin:
        names = [i.filename for i in zin.infolist()]
        prefix = names[0].split("/")[0] + "/"
        classes = storage_classes(zin.read(prefix + "data.pkl"))
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
            for name in names:
                data = zin.read(name)
                key = name[len(prefix + "data/"):] if name.startswith(prefix + "data/") else None
                if key is not None:
                    unit = STORAGE_SWAP_UNIT[classes[key]]
                    if unit > 1:
                        data = numpy.frombuffer(data, dtype=f"<u{unit}").byteswap().tobytes()
                zout.writestr(name, data)
                if name == prefix + "data.pkl":
                    zout.writestr(prefix + "byteorder", b"big")


def legacy_file(objects):
    """The legacy torch.save layout: magic, protocol, sys_info pickles, then `objects`."""
    sys_info = dict(protocol_version=1001, little_endian=True,
                    type_sizes=dict(short=2, int=4, long=4))
    head = (pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
            + pickle.dumps(sys_info, protocol=2))
    return head + b"".join(objects)


def binunicode(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b
