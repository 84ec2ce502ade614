#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Outputs never replace what they must not, through the CLI, for pack, unpack and
# embed (both of its files): a device node is written into and stays a device; a FIFO gets the
# bytes and stays a FIFO; a symlink chain is followed and stays; an existing file keeps its mode
# and owner (as root) or its mode (as another user, run with setpriv); a directory or socket is
# a clear error; `-o -` is standard output (never a file named -) and refused on a terminal for
# binary formats. Device nodes are made in a temporary directory, never touching /dev.
#
#   bash tests/cli/output_targets_test.sh /path/to/statepack
set -u
if [ $# -ne 1 ]; then
  echo "usage: $0 STATEPACK" >&2
  exit 2
fi
SP=$(realpath -- "$1") || exit 2
MODEL=$(realpath -- "$(dirname -- "$0")/../../examples/tiny_mlp/tiny_mlp.safetensors") || exit 2
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir outputs
cd "$WORK" || exit 2

# stat_is FILE FORMAT EXPECTED: stat -c FORMAT of FILE (without following a last symlink).
stat_is() {
  local got
  got=$(stat -c "$2" -- "$1" 2>&1)
  if [ "$got" = "$3" ]; then pass "  $1: $2 is $3"; else fail "  $1: $2 is $3 (got $got)"; fi
}
no_temporaries() {
  local leftovers
  leftovers=$(find "$1" -name '*.tmp-*' 2>/dev/null)
  if [ -z "$leftovers" ]; then pass "  no temporary left in $1"; else fail "  no temporary left in $1" "$leftovers"; fi
}
ROOT=no
[ "$(id -u)" -eq 0 ] && ROOT=yes

check "pack a reference blob" "$SP" pack "$MODEL" -o ref.spk
check "unpack a reference safetensors" "$SP" unpack ref.spk -o ref.safetensors
check "embed reference sources" "$SP" embed ref.spk -o ref.c --symbol model

echo "== --help says what happens to each kind of output"
for command in pack unpack embed; do
  run "$SP" "$command" --help
  if grep -q "atomically" "$WORK/stdout" && grep -q "FIFO" "$WORK/stdout" && grep -q "standard" "$WORK/stdout"; then
    pass "$command --help: files atomically, devices and FIFOs, - for standard output"
  else
    fail "$command --help: files atomically, devices and FIFOs, - for standard output" "$(cat "$WORK/stdout")"
  fi
done

echo "== a character device node is written into and stays one"
if [ "$ROOT" = yes ]; then
  mkdir dev
  mknod dev/null c 1 3 # the null device's numbers: writing into it is harmless
  mknod dev/zero.c c 1 5
  mknod dev/zero.h c 1 5
  expect_exit 0 "$SP" pack "$MODEL" -o dev/null
  expect_exit 0 "$SP" pack "$MODEL" -o dev/null --compress zstd
  expect_exit 0 "$SP" unpack ref.spk -o dev/null
  expect_exit 0 "$SP" embed ref.spk -o dev/zero.c
  for node in dev/null dev/zero.c dev/zero.h; do stat_is "$node" %F "character special file"; done
  stat_is dev/null %t:%T 1:3
  no_temporaries dev
else
  echo "skip device nodes: mknod needs root"
fi

echo "== a FIFO gets exactly the bytes and stays a FIFO"
mkfifo pipe.spk pipe.safetensors pipe.c pipe.h
# The readers give up after a while: an output that replaced the FIFO would leave them waiting.
timeout 30 cat pipe.spk >from-pipe.spk &
expect_exit 0 "$SP" pack "$MODEL" -o pipe.spk
wait
check "  the blob read from the FIFO is the blob" cmp from-pipe.spk ref.spk
timeout 30 cat pipe.safetensors >from-pipe.safetensors &
expect_exit 0 "$SP" unpack ref.spk -o pipe.safetensors
wait
check "  the safetensors read from the FIFO is the file" cmp from-pipe.safetensors ref.safetensors
timeout 30 cat pipe.h >from-pipe.h &
timeout 30 cat pipe.c >from-pipe.c &
expect_exit 0 "$SP" embed ref.spk -o pipe.c --symbol model
wait
check "  embed's .c through a FIFO" cmp from-pipe.c <(sed 's/"ref.h"/"pipe.h"/' ref.c)
check "  embed's .h through a FIFO" cmp from-pipe.h ref.h
for fifo in pipe.spk pipe.safetensors pipe.c pipe.h; do stat_is "$fifo" %F fifo; done

echo "== symlinks: the final target is replaced, the links stay links"
mkdir real
printf 'old\n' >real/model.spk
chmod 640 real/model.spk
ln -s real alias
ln -s model.spk real/link1
ln -s alias/link1 link2
expect_exit 0 "$SP" pack "$MODEL" -o link2
check "  the target holds the blob" cmp real/model.spk ref.spk
stat_is link2 %F "symbolic link"
stat_is real/link1 %F "symbolic link"
stat_is real/model.spk %a 640
no_temporaries real
ln -s sub/fresh.safetensors dangling
mkdir sub
expect_exit 0 "$SP" unpack ref.spk -o dangling
check "  a dangling link gets the file it points to" cmp sub/fresh.safetensors ref.safetensors
stat_is dangling %F "symbolic link"
ln -s out/model.c c-link.c
ln -s out/model.h c-link.h
mkdir out
expect_exit 0 "$SP" embed ref.spk -o c-link.c --symbol model
check "  embed through links writes both targets" cmp out/model.h ref.h
check "  the .c too" grep -q '^#include "c-link.h"' out/model.c
stat_is c-link.c %F "symbolic link"
stat_is c-link.h %F "symbolic link"

echo "== an existing file keeps its mode (and owner, as root)"
for name in kept.spk kept.safetensors kept.c kept.h; do
  printf 'old\n' >"$name"
  chmod 444 "$name"
  [ "$ROOT" = yes ] && chown 65534:65534 "$name"
done
owner=$(stat -c %u:%g kept.spk)
expect_exit 0 "$SP" pack "$MODEL" -o kept.spk
expect_exit 0 "$SP" unpack ref.spk -o kept.safetensors
expect_exit 0 "$SP" embed ref.spk -o kept.c
check "  the blob was replaced" cmp kept.spk ref.spk
for name in kept.spk kept.safetensors kept.c kept.h; do
  stat_is "$name" %a 444
  stat_is "$name" %u:%g "$owner"
done

echo "== a new file gets 0666 minus the umask"
(umask 027 && "$SP" pack "$MODEL" -o umask027.spk >/dev/null)
stat_is umask027.spk %a 640
(umask 002 && "$SP" embed ref.spk -o umask002.c >/dev/null)
stat_is umask002.c %a 664
stat_is umask002.h %a 664

echo "== as another user: the mode is kept, the owner cannot be"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# Another user must be able to reach the binary, the model and the work directory: not so when
# the checkout lies under a directory only root may enter (/root/project, say).
chmod 755 "$WORK"
if [ "$ROOT" = yes ] && command -v setpriv >/dev/null &&
   as_nobody "$SP" inspect "$MODEL" >/dev/null 2>&1 && as_nobody test -x "$WORK"; then
  mkdir shared
  chmod 777 shared
  printf 'old\n' >shared/root.spk
  chmod 444 shared/root.spk
  expect_exit 0 as_nobody "$SP" pack "$MODEL" -o shared/root.spk
  stat_is shared/root.spk %a 444
  stat_is shared/root.spk %u 65534
  check "  the blob was replaced" cmp shared/root.spk ref.spk
  (umask 022 && expect_exit 0 as_nobody "$SP" unpack ref.spk -o shared/new.safetensors)
  stat_is shared/new.safetensors %a:%u 644:65534
else
  echo "skip other user: needs root, setpriv, and a checkout and temporary directory that uid 65534 can reach"
fi

echo "== directories and sockets are refused, untouched"
mkdir adir
expect_exit 1 "$SP" pack "$MODEL" -o adir
expect_stderr_contains "statepack: adir: is a directory"
"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' sock
expect_exit 1 "$SP" unpack ref.spk -o sock
expect_stderr_contains "statepack: sock: is a socket"
stat_is sock %F socket
stat_is adir %F directory

echo "== -o - is standard output, never a file named -"
run "$SP" pack "$MODEL" -o -
check "  pack: the blob on stdout" cmp "$WORK/stdout" ref.spk
expect_stderr_contains "standard output: 6 tensors"
"$SP" pack "$MODEL" -o - --quant int8 2>/dev/null | cat >piped.spk
check "  pack --quant through a pipe: stdout holds only the blob" "$SP" verify piped.spk
run "$SP" unpack ref.spk -o -
check "  unpack: the safetensors on stdout" cmp "$WORK/stdout" ref.safetensors
run "$SP" embed ref.spk -o -
check "  embed: the .c on stdout" grep -q "^const unsigned char ref\[" "$WORK/stdout"
check "  self-contained (no header to include)" grep -q "^#include <stddef.h>" "$WORK/stdout"
check "  which compiles" gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -x c -c "$WORK/stdout" -o stdout_c.o
run "$SP" embed --format incbin ref.spk -o - --symbol weights
check "  embed --format incbin: the .S on stdout" grep -qF ".incbin \"$WORK/ref.spk\"" "$WORK/stdout"
check "  which assembles" gcc -x assembler-with-cpp -c "$WORK/stdout" -o stdout_s.o
check "  no file named -" test ! -e -
# on_terminal COMMAND...: runs COMMAND with standard output on a new pseudo-terminal.
on_terminal() {
  "$PY" -c 'import os, subprocess, sys
primary, secondary = os.openpty()
sys.exit(subprocess.run(sys.argv[1:], stdout=secondary).returncode)' "$@"
}
# A system without pseudo-terminals (a minimal /dev) cannot put a terminal on stdout.
if "$PY" -c 'import os; os.openpty()' 2>/dev/null; then
  expect_exit 2 on_terminal "$SP" pack "$MODEL" -o -
  expect_stderr_contains "statepack: refusing to write a blob to a terminal"
  expect_exit 2 on_terminal "$SP" unpack ref.spk -o -
  expect_stderr_contains "statepack: refusing to write safetensors to a terminal"
else
  echo "skip terminal refusal: no pseudo-terminal on this system"
fi
check "  nothing named -" test ! -e -

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
