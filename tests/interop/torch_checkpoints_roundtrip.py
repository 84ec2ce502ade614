#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interop with real torch.save files: checkpoints of every shape PyTorch writes (zip and
legacy format, half and bfloat16 models, training checkpoints and --select, pickle protocols
4 and 5, tied weights, views, every dtype, big-endian files, bare tensors) go through `statepack pack`, `verify`,
`inspect` and `unpack`, and come back bit for bit.

    /usr/bin/python3 tests/interop/torch_checkpoints_roundtrip.py /path/to/statepack

Needs Debian's python3-torch (hence /usr/bin/python3); the shared helpers are in
tests/support. Prints one line per check and ends with "N passed, M failed"; exits 1 on any
failure.
"""

import json
import os
import sys
import zipfile

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from crafted_files import to_big_endian  # noqa: E402
from statepack_testlib import clean, read_safetensors, report, small_model, sp, tensor_bytes  # noqa: E402
from torch_checkpoints import (LEGACY, ZIP, expected_from_file, flatten,  # noqa: E402
                               pickle_protocol_of, roundtrip, run_checks, save, typed)



def checks(work):
    # --- resnet18, zip and legacy -----------------------------------------------------------
    resnet = torchvision.models.resnet18(weights=None).state_dict()
    for legacy in (False, True):
        p = save(resnet, "resnet18_legacy.pt" if legacy else "resnet18.pt", legacy)
        t, m = expected_from_file(p)
        roundtrip("resnet18" + ("-legacy" if legacy else ""), [p], t, m, fmt=LEGACY if legacy else ZIP)
    del resnet

    # --- half and bfloat16 models ------------------------------------------------------------
    p = save(small_model().half().state_dict(), "half.pt")
    t, m = expected_from_file(p)
    roundtrip("half-model", [p], t, m, fmt=ZIP)
    p = save(small_model().to(torch.bfloat16).state_dict(), "bf16.pth")
    t, m = expected_from_file(p)
    roundtrip("bf16-model", [p], t, m, fmt=ZIP)
    p = save(small_model().half().state_dict(), "half_legacy.pt", legacy=True)
    t, m = expected_from_file(p)
    roundtrip("half-model-legacy", [p], t, m, fmt=LEGACY)

    # --- training checkpoint -----------------------------------------------------------------
    model = small_model()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):
        adam.zero_grad()
        model(torch.randn(4, 3, 8, 8)).square().mean().backward()
        adam.step()
    ckpt = {"model": model.state_dict(), "optimizer": adam.state_dict(), "epoch": 3,
            "loss": 0.12, "name": "run-1", "best": True, "note": None}
    for legacy in (False, True):
        label = "train-ckpt" + ("-legacy" if legacy else "")
        p = save(ckpt, label + ".pt", legacy)
        t, m = expected_from_file(p)
        want_t = ["model.0.weight", "model.1.running_mean", "model.1.num_batches_tracked",
                  "optimizer.state.0.exp_avg", "optimizer.state.0.exp_avg_sq",
                  "optimizer.state.0.step", "optimizer.state.5.exp_avg"]
        want_m = {"epoch": 3, "loss": 0.12, "name": "run-1", "best": True,
                  "optimizer.param_groups.0.lr": 1e-3, "optimizer.param_groups.0.betas.1": 0.999,
                  "optimizer.param_groups.0.params.5": 5}
        report(all(n in t for n in want_t) and all(typed(m.get(k)) == typed(v) for k, v in want_m.items())
               and "note" not in m,
               f"{label}: our flattening has the expected names (sanity of the oracle)",
               f"{sorted(t)[:20]}\n{m}")
        roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP)
        sel_t = {k[len("model."):]: v for k, v in t.items() if k.startswith("model.")}
        report(set(sel_t) == set(ckpt["model"]), f"{label}: oracle for --select model", "")
        roundtrip(label + "-select-model", [p], sel_t, {}, select="model", inspect_inputs=False)
    r = sp("pack", "train-ckpt.pt", "-o", "nosuch.spk", "--select", "nosuch")
    report(r.rc == 2 and "model" in r.err and "optimizer" in r.err and not os.path.exists("nosuch.spk"),
           "train-ckpt: --select of an absent key is a usage error listing the top-level keys",
           r.describe())

    # --- pickle protocols 4 and 5 ----------------------------------------------------------
    # torch.save(..., pickle_protocol=4 or 5) frames its pickles and names globals through
    # STACK_GLOBAL and MEMOIZE. Expected values come from the objects saved, not from the file,
    # so the packed tensors must equal the state dict itself bit for bit.
    mobilenet = torchvision.models.mobilenet_v3_small(weights=None).state_dict()
    for protocol in (4, 5):
        for legacy in (False, True):
            fmt = LEGACY if legacy else ZIP
            for what, obj in (("mobilenet", mobilenet), ("train-ckpt", ckpt)):
                label = f"{what}-p{protocol}" + ("-legacy" if legacy else "")
                p = save(obj, label + ".pt", legacy, protocol)
                report(pickle_protocol_of(p, legacy) == protocol,
                       f"{label}: the file's pickles are protocol {protocol}",
                       f"found {pickle_protocol_of(p, legacy)}")
                t, m = {}, {}
                flatten(obj, "", t, m)
                roundtrip(label, [p], t, m, fmt=fmt)
                if what == "train-ckpt":
                    sel_t = {k[len("model."):]: v for k, v in t.items() if k.startswith("model.")}
                    roundtrip(label + "-select-model", [p], sel_t, {}, select="model",
                              inspect_inputs=False)
    del mobilenet

    # --- tied weights ------------------------------------------------------------------------
    class TinyLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(100, 16)
            self.norm = torch.nn.LayerNorm(16)
            self.lm_head = torch.nn.Linear(16, 100, bias=False)
            self.lm_head.weight = self.embed.weight

    shared = torch.randn(6, 4)
    tied = dict(TinyLM().state_dict())
    tied["a"] = shared
    tied["b"] = shared
    tied["c"] = torch.randn(6, 4)
    groups = [("embed.weight", "lm_head.weight"), ("a", "b")]
    for legacy in (False, True):
        label = "tied" + ("-legacy" if legacy else "")
        p = save(tied, label + ".pt", legacy)
        t, m = expected_from_file(p)
        roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP, tied=groups)
        r = sp("inspect", "--json", label + ".spk")
        try:
            doc = json.loads(r.out)
            report(doc["segment_count"] <= len(doc["tensors"]) - 2,
                   f"{label}: blob has fewer segments than tensors",
                   f"{doc['segment_count']} segments, {len(doc['tensors'])} tensors")
        except Exception as e:  # noqa: BLE001
            report(False, f"{label}: blob inspect --json parses", f"{e}\n{r.describe()}")

    # --- views, offsets, strides -------------------------------------------------------------
    base = torch.arange(20, dtype=torch.float32)
    x = torch.randn(4, 10)
    w = torch.randn(5, 3)
    big = torch.randn(1000)
    cube = torch.randn(2, 3, 4)
    views = {
        "base": base, "slice": base[3:7], "w": w, "wt": w.t(), "x": x,
        "every_other": x[:, ::2], "narrow": x.narrow(1, 2, 3), "offset_strided": x[1:, 1::3],
        "row": x[2], "col": x[:, 7], "elem": x[1, 2], "diag": x[:, :4].diagonal(),
        "expand_row": torch.randn(1, 4).expand(3, 4), "expand_col": torch.randn(3, 1).expand(3, 5),
        "expand_slice": base[5:8].unsqueeze(0).expand(2, 3),
        "permute": cube.permute(2, 0, 1), "cube_t": cube.transpose(0, 2)[1:],
        "small_of_big": big[100:110],
    }
    strides = {k: v.stride() for k, v in views.items()}
    report(strides["expand_row"] == (0, 1) and strides["expand_col"] == (1, 0)
           and views["small_of_big"].storage_offset() == 100 and not views["wt"].is_contiguous(),
           "views: inputs really are strided/offset/expanded views", str(strides))
    for legacy in (False, True):
        label = "views" + ("-legacy" if legacy else "")
        p = save(views, label + ".pt", legacy)
        t, m = expected_from_file(p)
        roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP)

    # --- every dtype, 0-d, empty, unicode, nesting -------------------------------------------
    dtypes = {
        "f64": torch.randn(3, 2, dtype=torch.float64),
        "f32": torch.randn(5),
        "f32_special": torch.tensor([float("nan"), float("inf"), float("-inf"), -0.0, 1e-45, 3.0e38]),
        "f16": torch.randn(4, 3).half(),
        "bf16": torch.randn(7).to(torch.bfloat16),
        "i64": torch.randint(-2**62, 2**62, (4,), dtype=torch.int64),
        "i32": torch.randint(-2**31, 2**31 - 1, (2, 3), dtype=torch.int32),
        "i16": torch.randint(-2**15, 2**15 - 1, (5,), dtype=torch.int16),
        "i8": torch.randint(-128, 127, (6,), dtype=torch.int8),
        "u8": torch.randint(0, 255, (2, 2, 2), dtype=torch.uint8),
        "bool": torch.rand(9) > 0.5,
        "param": torch.nn.Parameter(torch.randn(3)),
        "requires_grad": torch.randn(2, requires_grad=True),
        "scalar_f32": torch.tensor(3.5),
        "scalar_i64": torch.tensor(7),
        "scalar_bool": torch.tensor(True),
        "scalar_bf16": torch.tensor(-1.25, dtype=torch.bfloat16),
        "empty": torch.empty(0),
        "empty3": torch.empty(3, 0, 2),
        "empty_i64": torch.zeros(0, dtype=torch.int64),
        "poids.ü": torch.randn(2, 2),
        "权重": torch.randn(3),
        "nested": {"inner": {"deep": torch.randn(2)}, "lst": [torch.randn(1), torch.ones(2, dtype=torch.int8)],
                   7: torch.randn(1), "tuple": (torch.randn(2), 1.5, "s")},
    }
    for legacy in (False, True):
        label = "dtypes" + ("-legacy" if legacy else "")
        p = save(dtypes, label + ".pt", legacy)
        t, m = expected_from_file(p)
        roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP,
                  pack_extra=["--checksum", "xxh32", "--align", "4096"] if legacy else [])

    # The same checkpoint as a big-endian machine writes it ("byteorder" record = "big").
    # complex64 with distinct real and imaginary parts, contiguous and as a transposed view, so
    # swapping all 8 bytes of an element (which exchanges the two parts) cannot pass.
    cplx = torch.complex(torch.arange(6, dtype=torch.float32).reshape(2, 3) + 1,
                         -torch.arange(6, dtype=torch.float32).reshape(2, 3) - 0.5)
    be_complex = {"complex": cplx, "complex_t": cplx.t()}
    be_src = save({k: v for k, v in dtypes.items()} | {"views": views} | be_complex, "for_be.pt")
    t, m = expected_from_file(be_src)
    to_big_endian(be_src, "big_endian.pt")
    with zipfile.ZipFile("big_endian.pt") as z, zipfile.ZipFile(be_src) as zo:
        be_ok = z.read("for_be/byteorder") == b"big" and z.read("for_be/data/0") != zo.read(
            "for_be/data/0")
    report(be_ok, "big-endian: the rewritten file says byteorder 'big' and its bytes differ", "")
    roundtrip("big-endian", ["big_endian.pt"], t, m, fmt=ZIP)

    # More scalars than a blob may hold: refused, or packed, but never a broken file left behind.
    save({"w": torch.ones(2), "hp": {str(i): i for i in range(100001)}}, "many_meta.pt")
    r = sp("pack", "many_meta.pt", "-o", "many_meta.spk")
    if r.rc == 0:
        v = sp("verify", "many_meta.spk")
        report(v.rc == 0, "100001 metadata entries: packed, and the blob verifies", v.describe())
    else:
        report(r.rc == 1 and clean(r) and not os.path.exists("many_meta.spk"),
               f"100001 metadata entries: refused with exit 1 and no output left "
               f"[{r.err.strip()[:120]}]",
               r.describe() + ("\nmany_meta.spk was left behind "
                               f"({os.path.getsize('many_meta.spk')} bytes)"
                               if os.path.exists("many_meta.spk") else ""))

    # complex64: packed as C64; whether it can be unpacked to safetensors is reported.
    p = save({"c": torch.randn(3, 2, dtype=torch.complex64), "r": torch.randn(2)}, "complex.pt")
    t, _ = expected_from_file(p)
    r = sp("pack", p, "-o", "complex.spk")
    if report(r.rc == 0 and clean(r), "complex64: pack", r.describe()):
        r = sp("inspect", "--json", "complex.spk")
        doc = json.loads(r.out) if r.rc == 0 else {"tensors": []}
        dt = {x["name"]: x["dtype"] for x in doc["tensors"]}
        report(dt.get("c") == "C64", "complex64: blob stores it as C64", str(dt))
        r = sp("unpack", "complex.spk", "-o", "complex.safetensors")
        if r.rc == 0:
            got, _ = read_safetensors("complex.safetensors", strict=True)
            ok = got["c"][0] == "C64" and got["c"][2] == tensor_bytes(t["c"])
            report(ok, "complex64: unpack writes dtype \"C64\" (not a reference safetensors dtype), "
                       "bytes equal", str(got.get("c", ("?",))[:2]))
        else:
            report(r.rc == 1 and "complex.safetensors" in r.err and clean(r)
                   and not os.path.exists("complex.safetensors"),
                   f"complex64: unpack refuses cleanly [{r.err.strip()[:120]}]", r.describe())

    # --- bare tensors --------------------------------------------------------------------------
    big = torch.randn(1000)
    for legacy in (False, True):
        sfx = "-legacy" if legacy else ""
        for label, tensor in (("bare" + sfx, torch.randn(3, 4)),
                              ("bare-view" + sfx, big[10:20]),
                              ("bare-transposed" + sfx, torch.randn(3, 5).t())):
            p = save(tensor, label + ".pt", legacy)
            t, m = expected_from_file(p)
            report(list(t) == ["tensor"], f"{label}: oracle names it 'tensor'", str(list(t)))
            roundtrip(label, [p], t, m, fmt=LEGACY if legacy else ZIP)


if __name__ == "__main__":
    sys.exit(run_checks(checks))
