#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile pickles in torch.save files must be refused with exit 1, a message naming the file
and the reason, no output file and no side effect: payloads that would run code (os.system,
eval, protocol 4, STACK_GLOBAL, in the zip and the legacy layout, also in sys_info), the
dangerous names the opaque reader refuses beside harmless opaque objects (subprocess, shutil,
webbrowser, functools.partial, operator.attrgetter, nested pickles, exec, getattr on
__import__, importlib, attribute paths, torch.load/hub, numpy.load, runpy, socket, requests,
pip, types, torch.fx), container operations on the wrong types, nesting too deep. Nothing here unpickles an untrusted file
except one deliberate control that shows the payload is live.

    /usr/bin/python3 tests/interop/torch_hostile_pickles.py /path/to/statepack

Needs Debian's python3-torch (hence /usr/bin/python3); the shared helpers are in
tests/support. Prints one line per check and ends with "N passed, M failed"; exits 1 on any
failure.
"""

import collections
import functools
import operator
import os
import pickle
import shutil
import subprocess
import sys
import webbrowser

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from crafted_files import Evil, EvilEval, binunicode, legacy_file, torch_layout_zip  # noqa: E402
from statepack_testlib import report  # noqa: E402
from torch_checkpoints import hostile, run_checks  # noqa: E402


class Reduce:
    """pickle.dumps(Reduce(f, args)) calls f(*args) when unpickled."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def stack_global_call(module, name, *args):
    """Protocol 4: STACK_GLOBAL module.name called (REDUCE) with string arguments."""
    body = binunicode(module) + binunicode(name) + b"\x93("
    for a in args:
        body += binunicode(a)
    return b"\x80\x04" + body + b"tR."


def dangerous_names(work):
    """New names the opaque reader must still refuse: each payload is as a real attacker would
    write it (pickle's own output, or STACK_GLOBAL spelled by hand), inside a checkpoint dict
    whose other values are harmless opaque objects, so only the dangerous name can refuse it."""
    def marker(name):
        return os.path.join(work, f"PWNED-{name}")

    def inside_checkpoint(payload):
        return {"args": collections.Counter(a=1), "payload": payload, "epoch": 1}

    os.makedirs(os.path.join(work, "victim"))
    cases = [
        ("subprocess.call", Reduce(subprocess.call, (["touch", marker("subprocess")],)),
         [r"tries to run (subprocess|commands)\.call when loaded"], "subprocess"),
        ("shutil.rmtree", Reduce(shutil.rmtree, (os.path.join(work, "victim"),)),
         [r"tries to run shutil\.rmtree when loaded"], None),
        ("webbrowser.open", Reduce(webbrowser.open, ("http://localhost:9/",)),
         [r"tries to run webbrowser\.open when loaded"], None),
        ("functools.partial of os.system",
         Reduce(functools.partial, (os.system, f"touch {marker('partial')}")),
         [r"tries to run functools\.partial when loaded"], "partial"),
        ("operator.attrgetter", Reduce(operator.attrgetter("system"), ()),
         [r"tries to run (_?operator)\.attrgetter when loaded"], None),
        ("pickle.loads of a nested payload",
         Reduce(pickle.loads, (pickle.dumps(Evil(f"touch {marker('nested')}"), protocol=2),)),
         [r"tries to run (_?pickle)\.loads when loaded"], "nested"),
        ("builtins.exec", Reduce(exec, (f"import os; os.system('touch {marker('exec')}')",)),
         [r"tries to run (builtins|__builtin__)\.exec when loaded"], "exec"),
    ]
    for label, payload, patterns, mk in cases:
        name = "evil_" + label.split()[0].replace(".", "_") + ".pt"
        torch_layout_zip(name, pickle.dumps(inside_checkpoint(payload), protocol=2))
        hostile(label + " beside harmless opaque objects", name, patterns,
                marker(mk) if mk else None)
    report(os.path.isdir(os.path.join(work, "victim")), "shutil.rmtree's victim is still there", "")
    # Spelled by hand: indirect ways to reach the same functions.
    hand = [
        ("builtins.getattr on __import__('os')",
         b"\x80\x02c__builtin__\ngetattr\n(c__builtin__\n__import__\n(X\x02\x00\x00\x00ostRX"
         b"\x06\x00\x00\x00systemtR.", [r"tries to run __builtin__\.getattr when loaded"]),
        ("importlib.import_module", stack_global_call("importlib", "import_module", "os"),
         [r"tries to run importlib\.import_module when loaded"]),
        ("an attribute path through an imported module (argparse._os.system)",
         stack_global_call("argparse", "_os.system", f"touch {marker('attrpath')}"),
         [r"tries to reach argparse\._os\.system through an attribute path"]),
        ("a method reached by attribute path (pathlib.Path.unlink)",
         stack_global_call("pathlib", "Path.unlink", "victim"),
         [r"tries to reach pathlib\.Path\.unlink through an attribute path"]),
        ("a dunder attribute path (builtins.object.__subclasses__)",
         stack_global_call("builtins", "object.__subclasses__"),
         [r"tries to reach builtins\.object\.__subclasses__"]),
        ("torch.load of another file", stack_global_call("torch", "load", "other.pt"),
         [r"tries to run torch\.load when loaded"]),
        ("torch.hub.load", stack_global_call("torch.hub", "load", "repo", "model"),
         [r"tries to run torch\.hub\.load when loaded"]),
        ("numpy.load of a pickle", stack_global_call("numpy", "load", "other.npy"),
         [r"tries to run numpy\.load when loaded"]),
        ("runpy.run_path", stack_global_call("runpy", "run_path", "x.py"),
         [r"tries to run runpy\.run_path when loaded"]),
        ("socket.create_connection", stack_global_call("socket", "create_connection", "x"),
         [r"tries to run socket\.create_connection when loaded"]),
        ("requests.get", stack_global_call("requests", "get", "http://localhost:9/"),
         [r"tries to run requests\.get when loaded"]),
        ("pip._internal.main", stack_global_call("pip._internal", "main", "install", "x"),
         [r"tries to run pip\._internal\.main when loaded"]),
        ("types.CodeType", stack_global_call("types", "CodeType"),
         [r"tries to run types\.CodeType when loaded"]),
        ("torch.fx code execution", stack_global_call("torch.fx.graph_module", "_exec_with_source", "x"),
         [r"tries to run torch\.fx\.graph_module\._exec_with_source when loaded"]),
    ]
    for i, (label, pkl, patterns) in enumerate(hand):
        name = f"evil_hand_{i}.pt"
        torch_layout_zip(name, pkl)
        hostile(label, name, patterns, marker("attrpath"))



def checks(work):
    def marker(name):
        return os.path.join(work, f"PWNED-{name}")

    # Control: the os.system payload is live when Python unpickles it.
    ctrl = marker("control")
    pickle.loads(pickle.dumps(Evil(f"touch {ctrl}"), protocol=2))
    report(os.path.exists(ctrl), "control: Python's own unpickler runs the os.system payload", "")

    mk = marker("os-system")
    torch_layout_zip("evil_system.pt", pickle.dumps(Evil(f"touch {mk}"), protocol=2))
    hostile("zip data.pkl calling os.system", "evil_system.pt", [r"posix\.system", r"os\.system"], mk)

    mk = marker("eval")
    torch_layout_zip("evil_eval.pt", pickle.dumps(
        EvilEval(f"__import__('os').system('touch {mk}')"), protocol=2, fix_imports=False))
    hostile("zip data.pkl calling builtins.eval", "evil_eval.pt", [r"builtins\.eval"], mk)
    mk = marker("eval2")
    torch_layout_zip("evil_eval_compat.pt", pickle.dumps(
        EvilEval(f"__import__('os').system('touch {mk}')"), protocol=2))
    hostile("zip data.pkl calling __builtin__.eval (protocol-2 name)", "evil_eval_compat.pt",
            [r"__builtin__\.eval", r"builtins\.eval"], mk)

    mk = marker("proto4")
    torch_layout_zip("evil_proto4.pt", pickle.dumps(Evil(f"touch {mk}"), protocol=4))
    hostile("zip data.pkl in protocol 4", "evil_proto4.pt",
            [r"STACK_GLOBAL (posix|os)\.system: this file tries to run (posix|os)\.system when loaded; refused"], mk)
    # STACK_GLOBAL alone, after a protocol-2 header, with protocol-1 string opcodes.
    mk = marker("stack-global")
    pkl = (b"\x80\x02" + binunicode("posix") + binunicode("system") + b"\x93"
           + binunicode(f"touch {mk}") + b"\x85R.")
    torch_layout_zip("evil_stack_global.pt", pkl)
    hostile("zip data.pkl using STACK_GLOBAL", "evil_stack_global.pt", [r"STACK_GLOBAL"], mk)

    mk = marker("legacy")
    with open("evil_legacy.pt", "wb") as f:
        f.write(legacy_file([pickle.dumps(Evil(f"touch {mk}"), protocol=2),
                             pickle.dumps([], protocol=2)]))
    hostile("legacy format calling os.system", "evil_legacy.pt", [r"posix\.system", r"os\.system"], mk)
    mk = marker("legacy-sysinfo")
    with open("evil_legacy_sysinfo.pt", "wb") as f:
        f.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
                + pickle.dumps(Evil(f"touch {mk}"), protocol=2) + pickle.dumps({}, protocol=2)
                + pickle.dumps([], protocol=2))
    hostile("legacy format, os.system in sys_info", "evil_legacy_sysinfo.pt",
            [r"posix\.system", r"os\.system"], mk)

    # Container operations on the wrong types.
    torch_layout_zip("setitem_list.pt", b"\x80\x02]" + binunicode("k") + binunicode("v") + b"s.")
    hostile("SETITEM on a list", "setitem_list.pt", [r"SETITEM"])
    torch_layout_zip("setitems_list.pt", b"\x80\x02](" + binunicode("k") + binunicode("v") + b"u.")
    hostile("SETITEMS on a list", "setitems_list.pt", [r"SETITEMS"])
    torch_layout_zip("append_dict.pt", b"\x80\x02}" + binunicode("v") + b"a.")
    hostile("APPEND on a dict", "append_dict.pt", [r"APPEND"])
    torch_layout_zip("deep.pt", b"\x80\x02" + b"]" * 100000 + b"a" * 99999 + b".")
    hostile("100000 nested lists", "deep.pt", [r"depth", r"nest", r"deep"])
    # Opaque objects obey the same nesting limit: 300 Counters each holding the next.
    deep = b"\x80\x02" + b"ccollections\nCounter\n" * 300 + b")" + b"\x85R" * 300 + b"."
    torch_layout_zip("deep_objects.pt", deep)
    hostile("300 nested opaque objects", "deep_objects.pt", [r"max_depth"])

    dangerous_names(work)


if __name__ == "__main__":
    sys.exit(run_checks(checks))
