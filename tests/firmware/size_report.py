#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Size and stack report of the runtime on Cortex-M4, checked against its budgets
(8 KB of .text, 512 B of stack per call).

  size_report.py FIRMWARE_BUILD_DIR [--check size|stack|all] [--app runtime_probe]
                 [--text-budget 8192] [--stack-budget 512] [--tools-prefix arm-none-eabi-]

Reads the firmware build (preset `firmware`, -Os):
  * `arm-none-eabi-size` of every object in libstatepack_runtime.a (all of the runtime);
  * the link map of the probe app (open + find + verify with XXH32 and XXH64 + dequantize),
    from which it sums what the runtime's objects put into the image after --gc-sections:
    that must be at most 8 KB of .text (code and read-only data) and 0 bytes of .data/.bss;
    the C library helpers linked on the runtime's behalf are listed beside it;
  * the runtime's -fstack-usage frames and -fcallgraph-info=su call graphs, from which it
    computes the deepest call chain of every public function (spk_*): at most 512 bytes.
    Functions outside the runtime (memcpy, libgcc arithmetic) count as EXTERNAL_FRAME bytes;
    the probe app measures the real peak on the target by stack painting as a cross-check.
With --check sign: the sign add-on's .text (linked into the signed_update app), worst stack and
the time of one verification (that app's QEMU output, --sign-log) next to the core's; no budget.
Prints both tables; exits 1 if a budget that --check selects is exceeded (for the stack, also
if the graph has recursion, indirect calls or dynamic frames: then no bound holds).
"""
import argparse
import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import link_map  # noqa: E402

EXTERNAL_FRAME = 64  # allowance for a C library or libgcc leaf function (they are small leaves)
RUNTIME_ARCHIVE = link_map.RUNTIME_ARCHIVE


def archive_sizes(size_tool, archive):
    """(object, text, data, bss) for every member, from `size` in Berkeley format."""
    out = subprocess.run([size_tool, "-B", archive], check=True, capture_output=True, text=True)
    rows = []
    for line in out.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 6:
            name = re.sub(r"^.*\(|\)$", "", parts[5])
            rows.append((name, int(parts[0]), int(parts[1]), int(parts[2])))
    return rows


def parse_callgraphs(ci_files):
    """From GCC's .ci files: defined functions {(file, title): frame bytes}, readable names
    {title: name}, functions with non-static frames [(name, kind)], call edges [(file, src, dst)].
    A title is the assembler name; a node without a frame is a function defined elsewhere."""
    defined = {}  # (file, title) -> frame
    names = {}    # title -> readable name
    dynamic = []
    edges = []
    node_re = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
    edge_re = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
    for path in ci_files:
        with open(path) as f:
            for line in f:
                match = node_re.search(line)
                if match:
                    title, label = match.groups()
                    parts = label.split("\\n")
                    names.setdefault(title, parts[0])
                    if len(parts) >= 3:
                        size = re.match(r"(\d+) bytes \((\w[\w,]*)\)", parts[2])
                        if size:
                            defined[(path, title)] = int(size.group(1))
                            if size.group(2) != "static":
                                dynamic.append((names[title], size.group(2)))
                    continue
                match = edge_re.search(line)
                if match:
                    edges.append((path, match.group(1), match.group(2)))
    return defined, names, dynamic, edges


def worst_stacks(defined, names, edges):
    """Deepest chain (bytes, [functions]) from every defined function, or raises on recursion."""
    by_title = {}
    for (path, title), frame in defined.items():
        by_title.setdefault(title, []).append((path, frame))
    callees = {}
    for path, src, dst in edges:
        callees.setdefault((path, src), set()).add(dst)

    def resolve(path, title):
        """The definition a call from `path` reaches: the same file's first, else any."""
        if (path, title) in defined:
            return (path, title)
        candidates = by_title.get(title, [])
        if not candidates:
            return None  # outside the runtime
        return max(((p, title) for p, _ in candidates), key=lambda key: defined[key])

    memo = {}

    def visit(key, active):
        if key in memo:
            return memo[key]
        if key in active:
            raise RuntimeError("recursion through " + names.get(key[1], key[1]))
        active.add(key)
        best = (0, [])
        for dst in sorted(callees.get(key, ())):
            if dst == "__indirect_call":
                raise RuntimeError("indirect call in " + names.get(key[1], key[1]))
            target = resolve(key[0], dst)
            if target is None:
                candidate = (EXTERNAL_FRAME, [external_name(dst)])
            else:
                candidate = visit(target, active)
            if candidate[0] > best[0]:
                best = candidate
        active.discard(key)
        memo[key] = (defined[key] + best[0], [names.get(key[1], key[1])] + best[1])
        return memo[key]

    return {key: visit(key, set()) for key in defined}


def is_sign_addon(path):
    return os.sep + os.path.join("runtime", "sign") + os.sep in path


SIGN_ARCHIVES = ("libstatepack_runtime_sign.a(", "libstatepack_sign_crypto.a(")
SIGN_PUBLIC = ("spk_verify_signature", "spk_verify_signature_with", "spk_verify_segment_digest",
               "spk_signed_stream_feed", "spk_signed_stream_begin", "spk_signed_stream_finish",
               "spk_signature_info_get")


def sign_report(args, core_text, core_stack):
    """The sign add-on next to the core: .text linked into the signed_update app, worst stack of
    its public functions (the hook's indirect call counted as the built-in Ed25519), and the
    time of one verification from the app's QEMU output (-icount shift=0). No budget."""
    failures = []
    map_path = os.path.join(args.build_dir, "firmware", args.sign_app + ".map")
    contributions = link_map.sizes_by_file(link_map.read(map_path))
    addon = {k: v for k, v in contributions.items() if any(a in k for a in SIGN_ARCHIVES)}
    print("== sign add-on linked into %s.elf (statepack::runtime_sign + its crypto)"
          % args.sign_app)
    print("  %-34s %7s %6s %6s" % ("object", "text", "data", "bss"))
    for source in sorted(addon):
        v = addon[source]
        print("  %-34s %7d %6d %6d" % (link_map.short_name(source), v["text"], v["data"], v["bss"]))
    text = sum(v["text"] for v in addon.values())
    data_bss = sum(v["data"] + v["bss"] for v in addon.values())
    print("  %-34s %7d %6d %6s" % ("add-on total", text, data_bss, ""))
    if not addon:
        failures.append("no sign add-on section in " + map_path)
    if data_bss:
        failures.append("sign add-on has .data/.bss: %d bytes" % data_bss)

    all_ci = sorted(glob.glob(os.path.join(args.build_dir, "runtime", "**", "*.ci"),
                              recursive=True))
    defined, names, dynamic, edges = parse_callgraphs(all_ci)
    for name, kind in dynamic:
        failures.append("%s has a %s stack frame" % (short(name), kind))
    # The verifier hook is the one indirect call: NULL selects spk_ed25519_verifier, whose
    # chain bounds it; a platform hook adds its own stack on top of the caller's frames.
    edges = [(p, src, "spk_ed25519_verifier" if dst == "__indirect_call" else dst)
             for p, src, dst in edges]
    stacks = worst_stacks(defined, names, edges)
    rows = sorted(((short(names[t]), v) for (p, t), v in stacks.items()
                   if is_sign_addon(p) and short(names[t]) in SIGN_PUBLIC),
                  key=lambda item: (-item[1][0], item[0]))
    print("\n  worst stack (-fstack-usage frames along the call graph; * = outside, %d bytes)"
          % EXTERNAL_FRAME)
    for name, (total, chain) in rows:
        print("  %-28s %6d  %s" % (name, total, " > ".join(short(c) for c in chain)))
    worst = rows[0][1][0] if rows else 0
    if not rows:
        failures.append("no call graph for the sign add-on")

    timing = {}
    if args.sign_log:
        with open(args.sign_log) as f:
            for line in f:
                match = re.match(r"\s+(\S.*?)\s+status (\d+)\s+ticks (\d+)\s+stack (\d+)", line)
                if match:
                    timing[match.group(1)] = (int(match.group(2)), int(match.group(3)),
                                              int(match.group(4)))
        print("\n  on the target (QEMU mps2-an386 with -icount shift=0: one instruction per "
              "virtual ns, so a 25 MHz SysTick tick is 40 instructions; ms at a 100 MHz "
              "Cortex-M4 if it ran 1 instruction per cycle - real cores need somewhat more)")
        print("  %-36s %8s %12s %12s %8s" % ("call (tiny_mlp blob, 4.4 KiB)", "ticks",
                                            "instructions", "ms@100MHz", "stack"))
        for name, (status, ticks, stack) in timing.items():
            print("  %-36s %8d %12d %12.2f %8d%s" % (name, ticks, ticks * 40, ticks * 40 / 1e5,
                                                    stack,
                                                    "" if status == 0 else "  (status %d)" % status))
        if "spk_verify_signature (whole blob)" not in timing:
            failures.append("no verification timing in " + args.sign_log)

    print("\n== signed blobs next to the core runtime (Cortex-M4, -Os)")
    print("  %-22s %7s %12s %s" % ("", ".text", "worst stack", "one check of the tiny_mlp blob"))

    def timed(name):
        if name not in timing:
            return "-"
        ticks = timing[name][1]
        return "%d instructions (%.2f ms at 100 MHz, 1 IPC)" % (ticks * 40, ticks * 40 / 1e5)

    print("  %-22s %7s %12s %s" % ("core runtime", core_text if core_text is not None else "-",
                                   core_stack if core_stack is not None else "-",
                                   "spk_verify: " + timed("spk_verify (core, XXH32)")))
    print("  %-22s %7d %12d %s" % ("sign add-on + crypto", text, worst,
                                   "spk_verify_signature: " +
                                   timed("spk_verify_signature (whole blob)")))
    return failures


def external_name(name):
    return name + "*"


def short(name):
    """`spk_status spk_open(spk_blob*, ...)` -> `spk_open`; namespaces trimmed."""
    if name.endswith("*"):
        return name  # an external function, already a plain symbol
    name = re.sub(r"\(.*$", "", name)
    name = name.split(" ")[-1]
    return name.replace("statepack::rt::", "").replace("{anonymous}::", "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir")
    parser.add_argument("--check", choices=("size", "stack", "all", "sign"), default="all")
    parser.add_argument("--app", default="runtime_probe")
    parser.add_argument("--text-budget", type=int, default=8192)
    parser.add_argument("--stack-budget", type=int, default=512)
    parser.add_argument("--tools-prefix", default="arm-none-eabi-")
    parser.add_argument("--sign-app", default="signed_update",
                        help="with --check sign: the app that links the sign add-on")
    parser.add_argument("--sign-log", help="with --check sign: that app's QEMU output")
    args = parser.parse_args()
    failures = []
    stack_failures = []

    archive = os.path.join(args.build_dir, "runtime", RUNTIME_ARCHIVE)
    print("== runtime objects, Cortex-M4 -Os (arm-none-eabi-size of %s)" % RUNTIME_ARCHIVE)
    rows = archive_sizes(args.tools_prefix + "size", archive)
    print("  %-26s %7s %6s %6s" % ("object", "text", "data", "bss"))
    for name, text, data, bss in rows:
        print("  %-26s %7d %6d %6d" % (name, text, data, bss))
    totals = [sum(r[i] for r in rows) for i in (1, 2, 3)]
    print("  %-26s %7d %6d %6d  (everything compiled, before linking)" % ("total", *totals))
    if totals[1] or totals[2]:
        failures.append("runtime objects have .data/.bss: %d/%d bytes" % (totals[1], totals[2]))

    map_path = os.path.join(args.build_dir, "firmware", args.app + ".map")
    map_text = link_map.read(map_path)
    contributions = link_map.sizes_by_file(map_text)
    print("\n== linked into %s.elf (open + find + verify XXH32/XXH64 + dequantize, --gc-sections)"
          % args.app)
    runtime = {k: v for k, v in contributions.items() if link_map.is_runtime(k)}
    print("  %-26s %7s %6s %6s" % ("runtime object", "text", "data", "bss"))
    for source in sorted(runtime):
        v = runtime[source]
        name = re.sub(r"^.*\(|\)$", "", source)
        print("  %-26s %7d %6d %6d" % (name, v["text"], v["data"], v["bss"]))
    linked = {kind: sum(v[kind] for v in runtime.values()) for kind in ("text", "data", "bss")}
    print("  %-26s %7d %6d %6d  (budget: text <= %d, data = bss = 0)"
          % ("runtime total", linked["text"], linked["data"], linked["bss"], args.text_budget))
    helpers = link_map.needed_members(link_map.cross_references(map_text), link_map.is_runtime)
    if helpers:
        print("  C library / libgcc code the runtime needs (directly or through each other):")
        total = 0
        for member in sorted(helpers, key=link_map.short_name):
            size = contributions.get(member, {"text": 0})["text"]
            total += size
            print("    %-36s %5d  %s%s" % (link_map.short_name(member), size,
                                           ", ".join(sorted(helpers[member])),
                                           "" if size else " (dropped by --gc-sections)"))
        print("    %-36s %5d" % ("helpers total", total))
    if not runtime:
        failures.append("no runtime section found in " + map_path)
    if linked["text"] > args.text_budget:
        failures.append("runtime .text %d > %d bytes" % (linked["text"], args.text_budget))
    if linked["data"] or linked["bss"]:
        failures.append("runtime .data/.bss in the image: %d/%d" % (linked["data"], linked["bss"]))

    print("\n== worst stack of each public function (-fstack-usage frames along the call graph)")
    all_ci = sorted(glob.glob(os.path.join(args.build_dir, "runtime", "**", "*.ci"),
                              recursive=True))
    # The budget is the core's: the sign add-on (runtime/sign) has its own table below.
    ci_files = [path for path in all_ci if not is_sign_addon(path)]
    if not ci_files:
        stack_failures.append("no call graph (.ci) files: build with -fcallgraph-info=su")
    # A compiler cache (ccache) replays an object without writing its .ci file: a missing or
    # older graph would leave functions out and pass a budget nobody measured.
    for obj in glob.glob(os.path.join(args.build_dir, "runtime", "**", "*.obj"), recursive=True):
        if is_sign_addon(obj):
            continue
        graph = obj[:-len(".obj")] + ".ci"
        if not os.path.exists(graph) or os.path.getmtime(graph) < os.path.getmtime(obj) - 1:
            stack_failures.append("no current call graph for %s (a compiler cache skips "
                                  "-fcallgraph-info: build without one)" % os.path.relpath(obj))
    defined, names, dynamic, edges = parse_callgraphs(ci_files)
    for name, kind in dynamic:
        stack_failures.append("%s has a %s stack frame" % (short(name), kind))
    try:
        stacks = worst_stacks(defined, names, edges)
    except RuntimeError as e:
        stack_failures.append(str(e))
        stacks = {}
    public = sorted(((short(names[t]), v) for (p, t), v in stacks.items() if t.startswith("spk_")),
                    key=lambda item: (-item[1][0], item[0]))
    print("  %-24s %6s  deepest chain" % ("function", "bytes"))
    for name, (total, chain) in public:
        print("  %-24s %6d  %s" % (name, total, " > ".join(short(c) for c in chain)))
        if total > args.stack_budget:
            stack_failures.append("%s needs %d bytes of stack > %d"
                                  % (name, total, args.stack_budget))
    if public:
        print("  (* = outside the runtime, counted as %d bytes; budget %d bytes)"
              % (EXTERNAL_FRAME, args.stack_budget))

    if not public:
        stack_failures.append("no public spk_ function in the call graph")
    print()
    worst = public[0][1][0] if public else 0
    if args.check == "sign":
        sign_failures = sign_report(args, linked["text"], worst)
        for failure in sign_failures:
            print("SIGN REPORT FAILED: " + failure)
        return 1 if sign_failures else 0
    checked = (failures if args.check in ("size", "all") else []) + \
        (stack_failures if args.check in ("stack", "all") else [])
    for failure in checked:
        print("BUDGET FAILED: " + failure)
    if args.check in ("size", "all") and not failures:
        print("size budget met: runtime .text %d <= %d bytes, .data/.bss 0"
              % (linked["text"], args.text_budget))
    if args.check in ("stack", "all") and not stack_failures:
        print("stack budget met: worst %d <= %d bytes" % (worst, args.stack_budget))
    return 1 if checked else 0


if __name__ == "__main__":
    sys.exit(main())
