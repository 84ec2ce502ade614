#!/usr/bin/python3
"""Hostile pickles in torch.save files must be refused with exit 1, a message naming the file
and the reason, no output file and no side effect: payloads that would run code (os.system,
eval, protocol 4, STACK_GLOBAL, in the zip and the legacy layout, also in sys_info), container
operations on the wrong types, nesting too deep. Nothing here unpickles an untrusted file
except one deliberate control that shows the payload is live.

    /usr/bin/python3 tests/interop/torch_hostile_pickles.py /path/to/statepack

Needs Debian's python3-torch (hence /usr/bin/python3); the shared helpers are in
tests/support. Prints one line per check and ends with "N passed, M failed"; exits 1 on any
failure.
"""

import os
import pickle
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from crafted_files import Evil, EvilEval, binunicode, legacy_file, torch_layout_zip  # noqa: E402
from statepack_testlib import report  # noqa: E402
from torch_checkpoints import hostile, run_checks  # noqa: E402



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


if __name__ == "__main__":
    sys.exit(run_checks(checks))
