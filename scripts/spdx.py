#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""SPDX license identifiers at the top of every source file of the project.

    scripts/spdx.py           add `SPDX-License-Identifier: Apache-2.0` where it is missing
    scripts/spdx.py --check   list the files without one; exit 1 if there are any (ctest spdx_headers)

The files are the tracked ones (`git ls-files`) of the kinds in COMMENT_STYLE, minus EXCLUDED
(data, not source). Adding is idempotent: a file with an SPDX identifier comment in its first
lines is left as it is, so the script can run again after every merge. The line goes first,
after a shebang and a Python coding line if there are, in the file's own comment syntax.
"""
import os
import re
import subprocess
import sys

LICENSE = "Apache-2.0"

# How a comment line is written, by file kind. C sources and headers use /* */, which every C
# standard the project's C files are compiled under (C99 upward, as the generated ones) reads.
COMMENT_STYLE = {
    ".c": "/* {} */",
    ".h": "/* {} */",
    ".ld": "/* {} */",
    ".S": "/* {} */",
    ".cpp": "// {}",
    ".hpp": "// {}",
    ".fbs": "// {}",
    ".cmake": "# {}",
    ".in": "# {}",  # pkg-config and CMake templates: both read # as a comment
    ".sh": "# {}",
    ".py": "# {}",
    ".pyi": "# {}",
}
NAMED_STYLE = {"CMakeLists.txt": "# {}"}

# Tracked files of those kinds that are data, not the project's source: the fuzzers' seed
# corpora and reproducers, and the digits test set as C arrays (from the UCI digits data set,
# docs/third-party-licenses.md). Dot-directories (.ci/) belong to the CI machinery.
EXCLUDED = (
    re.compile(r"^tests/fuzz/corpus/"),
    re.compile(r"^examples/digits/digits_test_data\.h$"),
    re.compile(r"^\."),
)

# Where an existing identifier is looked for: the first lines, where the script puts it.
HEAD_LINES = 5
SPDX = re.compile(r"^\s*(#|//|/\*)\s*SPDX-License-Identifier:")
CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")


def style_of(path):
    name = os.path.basename(path)
    if name in NAMED_STYLE:
        return NAMED_STYLE[name]
    return COMMENT_STYLE.get(os.path.splitext(name)[1])


def source_files(root):
    listed = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True,
                            capture_output=True).stdout.decode("utf-8").split("\0")
    return [p for p in listed
            if p and style_of(p) and not any(rule.search(p) for rule in EXCLUDED)
            and os.path.isfile(os.path.join(root, p))]


def has_identifier(text):
    return any(SPDX.match(line) for line in text.splitlines()[:HEAD_LINES])


def with_identifier(text, style):
    lines = text.splitlines(keepends=True)
    at = 0
    if lines and lines[0].startswith("#!"):
        at = 1
    if style.startswith("#") and len(lines) > at and CODING.match(lines[at]):
        at += 1  # Python reads a coding line only within the first two lines
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if at > 0 and not lines[at - 1].endswith(("\n", "\r")):
        lines[at - 1] += newline
    lines.insert(at, style.format("SPDX-License-Identifier: " + LICENSE) + newline)
    return "".join(lines)


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] != "--check"):
        print(f"usage: {argv[0]} [--check]", file=sys.stderr)
        return 2
    check = len(argv) == 2
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    missing = []
    for path in source_files(root):
        full = os.path.join(root, path)
        with open(full, encoding="utf-8", newline="") as f:
            text = f.read()
        if has_identifier(text):
            continue
        missing.append(path)
        if not check:
            # Rewritten in place, so the file keeps its mode (scripts stay executable).
            with open(full, "w", encoding="utf-8", newline="") as f:
                f.write(with_identifier(text, style_of(path)))
    if check:
        for path in missing:
            print(f"{path}: no SPDX-License-Identifier in its first {HEAD_LINES} lines "
                  f"(scripts/spdx.py adds one)")
        print(f"{len(missing)} source files without an SPDX identifier")
        return 1 if missing else 0
    print(f"added an SPDX identifier to {len(missing)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
