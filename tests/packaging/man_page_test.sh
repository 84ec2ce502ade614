#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The generated man page statepack(1): groff formats it without a warning, and it has a section
# for every subcommand `statepack --help` lists, with that subcommand's options.
#
#   bash tests/packaging/man_page_test.sh STATEPACK MAN_PAGE
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 STATEPACK MAN_PAGE" >&2
  exit 2
fi
SP=$1 PAGE=$2
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir man_page

check "groff -man formats it without warnings" sh -c \
  "LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z '$PAGE' 2>&1 | { ! grep .; }"
LC_ALL=C.UTF-8 MANWIDTH=100 groff -man -Tutf8 -P-c -rLL=100n "$PAGE" 2>/dev/null |
  sed 's/.\x08//g' >"$WORK/page.txt"
check "the formatted page names statepack" grep -q "^NAME" "$WORK/page.txt"
subcommands=$("$SP" --help | sed -n '/^Subcommands:/,$p' | sed -nE 's/^  ([a-z][a-z0-9-]*) .*/\1/p')
check "statepack --help lists subcommands" test -n "$subcommands"
for sub in $subcommands; do
  check "section for subcommand $sub" grep -qx "\.SS $sub" "$PAGE"
  # Every long option of the subcommand's help, as the page prints it (\- for -).
  for option in $("$SP" "$sub" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
    roff_option=${option//-/\\-}
    if ! grep -qF -- "$roff_option" "$PAGE"; then
      fail "  $sub's option $option is on the page"
      continue 2
    fi
  done
  pass "  $sub: every option on the page"
done

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
