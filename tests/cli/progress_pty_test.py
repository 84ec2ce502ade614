# SPDX-License-Identifier: Apache-2.0
"""The progress bar, seen from a terminal: every long command draws it on stderr when stderr is
a terminal (a pseudo-terminal here, sized with TIOCSWINSZ as `stty cols` does), each line fits
the terminal's width, and the line is erased (carriage return + erase to end of line) before
the command's own output. Nothing is drawn with --quiet or when stderr is not a terminal.

    /usr/bin/python3 tests/cli/progress_pty_test.py /path/to/statepack

Standard library only. STATEPACK_PROGRESS_DELAY_MS=0 lets the small inputs here draw at once
(the bar otherwise waits a second). Exits 1 if any check fails.
"""
import fcntl
import json
import os
import pty
import random
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios

ERASE = b"\x1b[K"
failures = 0


def check(ok, what, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1
        if detail:
            print("     | " + detail[:2000].replace("\n", "\n     | "))


def write_safetensors(path, name, rows, cols):
    rng = random.Random(7)
    values = [rng.gauss(0, 0.05) for _ in range(rows * cols)]
    raw = struct.pack(f"<{len(values)}f", *values)
    header = {name: {"dtype": "F32", "shape": [rows, cols], "data_offsets": [0, len(raw)]}}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + raw)


def run_in_pty(argv, columns, env_extra=None):
    """Runs argv with stdout and stderr on a new pseudo-terminal of `columns` columns (0: no
    size); returns (exit status, everything the terminal received)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24 if columns else 0, columns, 0, 0))
    env = dict(os.environ, STATEPACK_PROGRESS_DELAY_MS="0")
    env.pop("COLUMNS", None)
    env.update(env_extra or {})
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    received = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the last holder of the terminal's other side is gone
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    return process.wait(), received


def drawn_lines(received):
    """The progress lines: text after a carriage return, ended by erase-to-end-of-line."""
    return [m.group(1) for m in re.finditer(rb"\r([^\r\n\x1b]+)\x1b\[K", received)]


def check_bar(label, argv, columns, expect_label, env_extra=None):
    status, received = run_in_pty(argv, columns, env_extra)
    what = f"{label} ({columns or 'no'} columns{', ' + str(env_extra) if env_extra else ''})"
    check(status == 0, f"{what}: exit 0", received.decode(errors="replace"))
    lines = drawn_lines(received)
    check(any(line.startswith(expect_label.encode()) for line in lines),
          f"{what}: draws a '{expect_label}' bar", repr(received[:600]))
    width = columns if columns else int((env_extra or {}).get("COLUMNS", 80))
    widest = max((len(line) for line in lines), default=0)
    check(widest <= width - 1, f"{what}: every line fits {width} columns (widest {widest})",
          repr(lines[:3]))
    check(widest >= width - 1 - 8 if width >= 40 else True,
          f"{what}: the bar stretches to the terminal's width (widest {widest})", repr(lines[:3]))
    # Erased before anything else is printed: the last "\r\x1b[K" comes after the last draw,
    # and the command's own output (after the erase) carries none of the bar.
    last_draw = max(received.rfind(line) for line in lines) if lines else -1
    last_clear = received.rfind(b"\r" + ERASE)
    check(last_clear > last_draw, f"{what}: the line is erased after the last draw",
          repr(received[-300:]))
    tail = received[last_clear + len(ERASE) + 1:]
    check(b"[" not in tail or b"#" not in tail, f"{what}: no remnant after the erase", repr(tail))
    return received


def main():
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} /path/to/statepack", file=sys.stderr)
        return 2
    sp = os.path.realpath(sys.argv[1])
    # A system without pseudo-terminals (a container or chroot with a minimal /dev) cannot
    # show a progress bar at all: say so and let ctest count the test as skipped (code 77).
    try:
        primary, secondary = pty.openpty()
        os.close(primary)
        os.close(secondary)
    except OSError as e:
        print(f"skipped: no pseudo-terminal on this system ({e})")
        return 77
    work = tempfile.mkdtemp(prefix="statepack-progress.")
    try:
        os.chdir(work)
        write_safetensors("in.safetensors", "w", 512, 1024)  # 2 MiB of f32
        for columns in (60, 132):
            check_bar("pack --quant int8", [sp, "pack", "in.safetensors", "-o", "q.spk",
                                            "--quant", "int8"], columns, "quantizing")
            check_bar("pack", [sp, "pack", "in.safetensors", "-o", "raw.spk"], columns, "writing")
            check_bar("verify", [sp, "verify", "raw.spk"], columns, "verifying")
            received = check_bar("unpack", [sp, "unpack", "raw.spk", "-o", "back.safetensors"],
                                 columns, "verifying")
            check(any(line.startswith(b"writing") for line in drawn_lines(received)),
                  f"unpack ({columns} columns): draws a 'writing' bar too")
            check_bar("embed", [sp, "embed", "raw.spk", "-o", "blob.c"], columns, "verifying")
        # No size from the terminal: $COLUMNS, then 80.
        check_bar("verify", [sp, "verify", "raw.spk"], 0, "verifying", {"COLUMNS": "50"})
        check_bar("verify", [sp, "verify", "raw.spk"], 0, "verifying")
        # A terminal narrower than the figures: the line is cut, never wrapped.
        check_bar("verify", [sp, "verify", "raw.spk"], 30, "verifying")

        status, received = run_in_pty([sp, "verify", "raw.spk", "--quiet"], 80)
        check(status == 0 and not drawn_lines(received) and b"\r" not in received.replace(b"\r\n", b""),
              "verify --quiet: nothing drawn", repr(received))
        result = subprocess.run([sp, "pack", "in.safetensors", "-o", "p.spk", "--quant", "int8"],
                                capture_output=True, env=dict(os.environ, STATEPACK_PROGRESS_DELAY_MS="0"))
        check(result.returncode == 0 and b"\r" not in result.stderr and ERASE not in result.stderr,
              "stderr not a terminal: nothing drawn", repr(result.stderr[:300]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'all passed' if failures == 0 else str(failures) + ' failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
