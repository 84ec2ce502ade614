#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checkpoints as they exist in the wild, made by Debian's torch at test time: torch.save of
whole models (torchvision's resnet18 and mobilenet_v3_small, also in half precision, protocols 2
and 4, zip and legacy), a tensor subclass, a YOLO-style dict holding a whole model beside optimizer state and an
options dict, a torchvision-reference checkpoint with `args` as an argparse.Namespace and numpy
scalar metrics, Counter/defaultdict/OrderedDict subclasses, a dataclass, and classes from a
module that no longer exists when the file is read (tied weights, a non-persistent buffer, a
None parameter, a shared submodule). Each packs to tensors equal to model.state_dict() (or the
selected subtree) bit for bit, with the plain values as typed metadata, and `inspect` lists
the opaque objects. Files without tensors, and modules whose parameters cannot be found, are
refused with advice.

    /usr/bin/python3 tests/interop/torch_wild_checkpoints.py /path/to/statepack

Needs Debian's python3-torch, python3-torchvision and python3-numpy (hence /usr/bin/python3).
Prints one line per check and ends with "N passed, M failed"; exits 1 on any failure.
"""

import argparse
import collections
import dataclasses
import importlib
import json
import os
import sys
import textwrap

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from statepack_testlib import report, small_model, sp  # noqa: E402
from torch_checkpoints import LEGACY, ZIP, flatten, roundtrip, run_checks, save  # noqa: E402

# A module that exists only while the files are written: statepack never imports anything, so
# it reads the files after the module is gone (torch.load could not).
WILD_MODULE = textwrap.dedent("""
    import collections, dataclasses
    import torch

    class Tied(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 4)
            self.body = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
            self.head = torch.nn.Linear(4, 10, bias=False)
            self.head.weight = self.emb.weight          # tied: one tensor, two names
            self.again = self.body                      # shared submodule: listed twice
            self.register_buffer("scale", torch.full((4,), 0.5))
            self.register_buffer("cache", torch.zeros(3), persistent=False)
            self.register_parameter("unused", None)
            self.notes = {"kind": "tied", "layers": 3}  # a plain attribute: not in state_dict

    class Broken(torch.nn.Linear):
        def __getstate__(self):
            state = dict(self.__dict__)
            state["_parameters"] = {"weight": "moved elsewhere"}
            return state

    @dataclasses.dataclass
    class Config:
        lr: float
        name: str
        steps: int
        amp: bool
        betas: tuple

    class Hyper(collections.OrderedDict):
        pass

    class Tags(list):
        pass

    class Tagged(torch.Tensor):  # a tensor subclass: saved through _rebuild_from_type_v2
        pass
""")


def plain(obj):
    """What statepack makes of an object: a module is its state_dict(), a Namespace or a
    dataclass its fields, a numpy scalar its value, dict and list subclasses their items."""
    if isinstance(obj, torch.nn.Module):
        return dict(obj.state_dict())
    if isinstance(obj, argparse.Namespace):
        return {k: plain(v) for k, v in vars(obj).items()}
    if dataclasses.is_dataclass(obj):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not isinstance(obj, torch.Size):
        return [plain(v) for v in obj]
    return obj


def expected(obj):
    tensors, meta = {}, {}
    flatten(plain(obj), "", tensors, meta)
    return tensors, meta


def check_opaque(label, path, want):
    """`inspect --json` lists each (path, class) in `want` as an opaque object, not executed,
    and the table says "PATH: CLASS, not executed"."""
    r = sp("inspect", "--json", path)
    try:
        listed = {(o["path"], o["class"]) for o in json.loads(r.out).get("opaque_objects", [])
                  if o.get("executed") is False}
    except ValueError:
        listed = set()
    missing = [w for w in want if w not in listed]
    report(r.rc == 0 and not missing, f"{label}: inspect lists the opaque objects",
           f"missing {missing}; listed {sorted(listed)[:10]}\n{r.describe()}")
    r = sp("inspect", path)
    lines = [f"{p}: {c}, not executed" if p else f"(the saved object): {c}, not executed"
             for p, c in want]
    report(r.rc == 0 and all(line in r.out for line in lines),
           f"{label}: inspect's table says what was not executed", r.describe())


def refused(label, path, patterns):
    r = sp("pack", path, "-o", path + ".spk")
    ok = r.rc == 1 and f"statepack: {path}" in r.err and all(p in r.err for p in patterns)
    report(ok and not os.path.exists(path + ".spk"), f"{label}: refused with advice", r.describe())


def checks(work):
    # --- whole torchvision models ----------------------------------------------------------
    resnet = torchvision.models.resnet18(weights=None).eval()
    p = save(resnet, "resnet18_whole.pt")
    roundtrip("resnet18-whole", [p], dict(resnet.state_dict()), {}, fmt=ZIP)
    check_opaque("resnet18-whole", p, [("", "torchvision.models.resnet.ResNet")])

    mobile = torchvision.models.mobilenet_v3_small(weights=None).half()
    for protocol, legacy in ((2, False), (4, False), (2, True)):
        label = f"mobilenet-half-whole-p{protocol}" + ("-legacy" if legacy else "")
        p = save(mobile, label + ".pt", legacy=legacy, protocol=protocol)
        roundtrip(label, [p], dict(mobile.state_dict()), {}, fmt=LEGACY if legacy else ZIP,
                  inspect_inputs=not legacy)

    # --- classes from a module that is gone at load time -----------------------------------
    moddir = os.path.join(work, "modules")
    os.makedirs(moddir)
    with open(os.path.join(moddir, "wildmods.py"), "w") as f:
        f.write(WILD_MODULE)
    sys.path.insert(0, moddir)
    wild = importlib.import_module("wildmods")
    tied = wild.Tied()
    config = wild.Config(lr=3e-4, name="run-7", steps=1000, amp=True, betas=(0.9, 0.999))
    hyper = wild.Hyper([("lr0", 0.01), ("mosaic", 1.0), ("name", "hyp.scratch")])
    tags = wild.Tags(["a", "b"])
    tagged = torch.linspace(0, 1, 5).as_subclass(wild.Tagged)
    tagged.unit = "px"
    ckpt = {"model": tied, "config": config, "hyper": hyper, "tags": tags, "epoch": 4,
            "tagged": tagged}
    save(ckpt, "gone_module.pt")
    save(ckpt, "gone_module_p5.pt", protocol=5)
    broken = {"model": wild.Broken(2, 2)}
    save(broken, "broken_module.pt")
    want_tied_t, want_tied_m = expected(ckpt)
    want_tied_t["tagged"] = torch.Tensor(tagged.as_subclass(torch.Tensor))
    del sys.modules["wildmods"]
    sys.path.remove(moddir)
    os.remove(os.path.join(moddir, "wildmods.py"))
    try:
        torch.load("gone_module.pt", weights_only=False)
        gone = False
    except ModuleNotFoundError:
        gone = True
    report(gone, "gone-module: torch.load itself cannot read the file any more", "")
    sd = tied.state_dict()
    report(list(sd) == [k[len("model."):] for k in want_tied_t if k.startswith("model.")]
           and "cache" not in sd and "unused" not in sd and "again.0.weight" in sd,
           "gone-module: state_dict has the tied, shared, None and non-persistent cases", "")
    for name in ("gone_module.pt", "gone_module_p5.pt"):
        label = name[:-3]
        roundtrip(label, [name], want_tied_t, want_tied_m, fmt=ZIP,
                  tied=[["model.emb.weight", "model.head.weight"]])
        roundtrip(label + "-select-model", [name], dict(sd), {}, select="model",
                  inspect_inputs=False)
    r = sp("inspect", "--json", "gone_module.pt")
    names = [t["name"] for t in json.loads(r.out)["tensors"]] if r.rc == 0 else []
    report([n for n in names if n.startswith("model.")] == ["model." + k for k in sd],
           "gone-module: tensors come in state_dict() order", f"{names}\n{list(sd)}")
    check_opaque("gone-module", "gone_module.pt",
                 [("model", "wildmods.Tied"), ("config", "wildmods.Config"),
                  ("hyper", "wildmods.Hyper"), ("tags", "wildmods.Tags")])
    refused("broken-module", "broken_module.pt",
            ['"model" is a torch.nn.Module (wildmods.Broken) whose parameters cannot be found',
             "torch.save(model.state_dict()"])

    # --- YOLO-style: a whole model beside optimizer state and options ---------------------
    model = small_model()
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 3, 8, 8)).square().mean().backward()
    adam.step()
    anchors = torch.arange(6.0).reshape(3, 2)
    yolo = {"model": model, "ema": None, "optimizer": adam.state_dict(), "anchors": anchors,
            "opt": {"imgsz": 640, "hyp": {"lr0": 0.01, "fliplr": 0.5}, "name": "exp"},
            "epoch": 3, "best_fitness": np.float64(0.625), "date": "2026-01-01"}
    save(yolo, "yolo_style.pt")
    t, m = expected(yolo)
    report("model.1.running_var" in t and "optimizer.state.0.exp_avg" in t and "anchors" in t
           and m.get("opt.hyp.lr0") == 0.01, "yolo-style: the oracle has the expected names", "")
    roundtrip("yolo-style", ["yolo_style.pt"], t, m, fmt=ZIP)
    roundtrip("yolo-style-select-model", ["yolo_style.pt"], dict(model.state_dict()), {},
              select="model", inspect_inputs=False)

    # --- torchvision reference: args as a Namespace, numpy scalar metrics ------------------
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(sgd, step_size=30)
    args = argparse.Namespace(model="resnet18", lr=0.1, epochs=90, amp=False, weights=None,
                              lr_steps=[16, 22], output_dir=".")
    ref = {"model": model.state_dict(), "optimizer": sgd.state_dict(),
           "lr_scheduler": sched.state_dict(), "epoch": 89, "args": args,
           "metrics": {"acc1": np.float64(69.758), "acc5": np.float32(89.078),
                       "seen": np.int64(50000), "small": np.int8(-3), "half": np.float16(0.5),
                       "ok": np.bool_(True), "big": np.uint32(4000000000)}}
    save(ref, "reference.pth")
    t, m = expected(ref)
    report(m.get("args.lr") == 0.1 and m.get("metrics.acc5") == float(np.float32(89.078)),
           "reference: the oracle has the expected metadata", str(m))
    roundtrip("reference", ["reference.pth"], t, m, fmt=ZIP)
    check_opaque("reference", "reference.pth",
                 [("args", "argparse.Namespace"),
                  ("metrics.acc1", "numpy.core.multiarray.scalar")])

    # --- Counter, defaultdict, OrderedDict subclasses -------------------------------------
    counts = {"weights": small_model().state_dict(),
              "counter": collections.Counter({"cat": 3, "dog": 1}),
              "default": collections.defaultdict(int, {"hits": 7, "misses": 2}),
              "lists": collections.defaultdict(list, {"ids": [1, 2]}),
              "ordered": collections.OrderedDict([("warmup", 3), ("decay", 0.1)])}
    for protocol in (2, 4):
        p = save(counts, f"containers_p{protocol}.pt", protocol=protocol)
        t, m = expected(counts)
        roundtrip(f"containers-p{protocol}", [p], t, m, fmt=ZIP)
    check_opaque("containers", "containers_p2.pt",
                 [("counter", "collections.Counter"), ("default", "collections.defaultdict")])

    # --- helpful refusals ------------------------------------------------------------------
    save({"args": args, "epoch": 3}, "no_tensors.pt")
    refused("no-tensors", "no_tensors.pt",
            ["holds no tensors", '"args" (argparse.Namespace)', "torch.save(model.state_dict()"])


if __name__ == "__main__":
    sys.exit(run_checks(checks))
