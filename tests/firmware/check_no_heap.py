#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Proves on linked firmware images that nothing brings a heap or exception machinery.

  check_no_heap.py [--nm arm-none-eabi-nm] [--runtime-archive libstatepack_runtime.a] APP.elf...
  (APP.map must lie beside each ELF)

The runtime archive's undefined symbols (what it needs from outside) are listed and checked.
For each image:
  * `nm` lists no allocator (malloc, free, _sbrk, newlib's _malloc_r ...), no operator
    new/delete and no C++ exception or unwinding symbol (__cxa_*, __gxx_personality_v0,
    _Unwind_*, __aeabi_unwind_cpp_pr*);
  * the link map's cross references show every library member the runtime needs, directly or
    through each other (only C library and libgcc helpers such as memcpy are expected), and
    that no runtime object contributes to the unwind tables (.ARM.extab / .ARM.exidx).
Exits 1 on any finding. tests/runtime/check_no_heap.cmake makes the same promise for the
runtime archive on the host; this is the proof on the final Cortex-M image.
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import link_map  # noqa: E402

FORBIDDEN = re.compile(
    r"^(malloc|free|calloc|realloc|memalign|aligned_alloc|posix_memalign|valloc|pvalloc"
    r"|_sbrk|_sbrk_r|sbrk|_malloc_r|_free_r|_calloc_r|_realloc_r|_memalign_r|__malloc_lock"
    r"|_Znwj|_Znaj|_ZdlPv.*|_ZdaPv.*|_Znw.*|_Zna.*"
    r"|__cxa_.*|__gxx_personality.*|_Unwind_.*|__aeabi_unwind_cpp_pr\d|__gnu_unwind_.*)$")


def symbols(nm, elf):
    out = subprocess.run([nm, elf], check=True, capture_output=True, text=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def unwind_inputs(map_text):
    """(section, size, input file) of every non-empty input to .ARM.extab / .ARM.exidx."""
    return [(name, size, source) for name, size, source in link_map.input_sections(map_text)
            if name.startswith((".ARM.extab", ".ARM.exidx")) and size]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nm", default="arm-none-eabi-nm")
    parser.add_argument("--runtime-archive")
    parser.add_argument("elves", nargs="+")
    args = parser.parse_args()
    failures = 0
    if args.runtime_archive:
        out = subprocess.run([args.nm, args.runtime_archive], check=True, capture_output=True,
                             text=True).stdout
        defined, undefined = set(), set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                undefined.add(parts[1])
            elif len(parts) == 3:
                defined.add(parts[2])
        needs = sorted(undefined - defined)
        bad = [s for s in needs if FORBIDDEN.match(s)]
        failures += len(bad)
        print("== %s needs from outside: %s"
              % (link_map.short_name(args.runtime_archive), ", ".join(needs)))
        print("  " + ("FAIL forbidden: " + ", ".join(bad) if bad
                      else "ok   none of them allocates or throws"))
    for elf in args.elves:
        print("== " + elf)
        bad = sorted({s for s in symbols(args.nm, elf) if FORBIDDEN.match(s)})
        if bad:
            failures += 1
            print("  FAIL heap or exception symbols in the image: " + ", ".join(bad))
        else:
            print("  ok   no allocator, operator new/delete, exception or unwinder symbol")
        map_text = link_map.read(re.sub(r"\.elf$", ".map", elf))
        needed = link_map.needed_members(link_map.cross_references(map_text), link_map.is_runtime)
        if not needed:
            failures += 1
            print("  FAIL the map shows nothing the runtime needs from a library (no --cref?)")
        for member, syms in sorted(needed.items(), key=lambda item: link_map.short_name(item[0])):
            name = link_map.short_name(member)
            suspicious = (any(FORBIDDEN.match(s) for s in syms)
                          or re.search(r"malloc|sbrk|unwind", name))
            if suspicious:
                failures += 1
            print("  %s the runtime needs %-36s for %s"
                  % ("FAIL" if suspicious else "ok  ", name, ", ".join(sorted(syms))))
        for section, size, source in unwind_inputs(map_text):
            from_runtime = link_map.is_runtime(source)
            if from_runtime:
                failures += 1
            print("  %s %s: %d bytes from %s%s"
                  % ("FAIL" if from_runtime else "ok  ", section, size, re.sub(r"^.*/", "", source),
                     "" if from_runtime else " (not the runtime; no unwinder is linked)"))
    print()
    print("no heap, no exception machinery" if failures == 0 else "%d finding(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
