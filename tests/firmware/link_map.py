# SPDX-License-Identifier: Apache-2.0
"""Reading GNU ld link maps (-Wl,-Map=... -Wl,--cref) for the firmware checks.

Shared by size_report.py and check_no_heap.py: which input sections ended up in the image and
how big they are, the cross reference table (who defines and who references each symbol), and
from it the library members a set of objects (the runtime's) needs, transitively.
"""
import re

RUNTIME_ARCHIVE = "libstatepack_runtime.a"


def read(path):
    with open(path) as f:
        return f.read()


def section_kind(name):
    """'text' for code and read-only data, 'data', 'bss', or None for the rest."""
    if name.startswith((".text", ".rodata", ".ARM.ex", ".isr_vector")):
        return "text"
    if name.startswith(".data"):
        return "data"
    if name.startswith((".bss", "COMMON")):
        return "bss"
    return None


def input_sections(map_text):
    """(section name, size, input file) of every input section placed in the image."""
    _, _, memory_map = map_text.partition("Linker script and memory map")
    memory_map, _, _ = memory_map.partition("Cross Reference Table")
    found = []
    pending = None  # a long section name is alone on its line; address, size, file follow
    for line in memory_map.splitlines():
        if pending is not None:
            match = re.match(r"\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if match:
                found.append((pending, int(match.group(2), 16), match.group(3).strip()))
            pending = None
            continue
        match = re.match(r"^ (\.\S+|COMMON)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
        if match:
            found.append((match.group(1), int(match.group(3), 16), match.group(4).strip()))
            continue
        match = re.match(r"^ (\.\S+|COMMON)$", line)
        if match:
            pending = match.group(1)
    return found


def sizes_by_file(map_text):
    """{input file: {'text': n, 'data': n, 'bss': n}} of what each file put in the image."""
    sizes = {}
    for section, size, source in input_sections(map_text):
        kind = section_kind(section)
        if kind is not None and size:
            sizes.setdefault(source, {"text": 0, "data": 0, "bss": 0})[kind] += size
    return sizes


def cross_references(map_text):
    """{symbol: (defining file, [referencing files])} from the --cref table."""
    _, _, table = map_text.partition("Cross Reference Table")
    xref = {}
    symbol = None
    for line in table.splitlines()[3:]:
        if not line.strip():
            continue
        if not line.startswith(" "):
            parts = line.split(None, 1)
            symbol = parts[0]
            xref[symbol] = (parts[1].strip() if len(parts) > 1 else "", [])
        elif symbol is not None:
            xref[symbol][1].append(line.strip())
    return xref


def needed_members(xref, is_root):
    """Files outside the roots that the roots need, directly or through each other:
    {file: set of symbols it provides to them}."""
    needed = {}
    frontier = [f for definer, refs in xref.values() for f in refs if is_root(f)]
    seen = set(frontier)
    while frontier:
        user = frontier.pop()
        for symbol, (definer, refs) in xref.items():
            if user in refs and definer and not is_root(definer) and definer != user:
                needed.setdefault(definer, set()).add(symbol)
                if definer not in seen:
                    seen.add(definer)
                    frontier.append(definer)
    return needed


def is_runtime(path):
    return RUNTIME_ARCHIVE + "(" in path


def short_name(path):
    """'/usr/lib/.../libc_nano.a(lib_a-memcpy.o)' -> 'libc_nano.a(lib_a-memcpy.o)'."""
    return re.sub(r"^.*/", "", path)
