# SPDX-License-Identifier: Apache-2.0
# Shared helpers of the shell tests (tests/cli, tests/cmake, tests/consumer, tests/crash_safety).
# Sourced, never run:
#
#   . "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
#
# Counting checks: pass/fail/check and the expect_* helpers print one "ok   NAME" or
# "FAIL NAME" line per check and count them in PASSED and FAILED; each script ends with
#   echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]
# (CI parses that line). The helpers that look at "the last command" read what `run` kept in
# $WORK/stdout, $WORK/stderr and $RC, so a script that uses them sets WORK first (make_workdir).
# $SP (the statepack binary, when the script has one) is shown as "statepack" in check names.
#
# Knobs, set before or after sourcing: TEST_LOG_FROM (head or tail: which end of a failure's log
# to show; build logs end with the error, so the build tests take the tail), TEST_LOG_LINES.

PASSED=0
FAILED=0
RC=0
TEST_LOG_FROM=${TEST_LOG_FROM:-head}
TEST_LOG_LINES=${TEST_LOG_LINES:-20}
# Debian's python3: the first on PATH may not see Debian's packages.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

# make_workdir NAME: a fresh directory in $WORK, removed with everything in it when the script
# exits.
make_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/statepack-$1.XXXXXX") || exit 2
  # shellcheck disable=SC2064  # expand now: WORK is fixed from here on
  trap "rm -rf -- '$WORK'" EXIT
}

pass() {
  PASSED=$((PASSED + 1))
  printf 'ok   %s\n' "$1"
}

# fail NAME [LOG]: counts a failure; shows TEST_LOG_LINES lines of LOG indented under it.
fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL %s\n' "$1"
  if [ $# -ge 2 ] && [ -n "$2" ]; then
    printf '%s\n' "$2" | "$TEST_LOG_FROM" -n "$TEST_LOG_LINES" | sed 's/^/     | /'
  fi
}

# check DESCRIPTION CMD...: passes when CMD succeeds; its output is shown when it does not.
check() {
  local what=$1
  shift
  local log
  if log=$("$@" 2>&1); then pass "$what"; else fail "$what" "$log"; fi
}

# run_expect DESCRIPTION TEXT CMD...: CMD succeeds and its output contains TEXT.
run_expect() {
  local what=$1 text=$2 log
  shift 2
  if log=$("$@" 2>&1) && grep -qF -- "$text" <<<"$log"; then pass "$what: $text"; else fail "$what" "$log"; fi
}

# exit_code EXPECTED CMD...: succeeds when CMD exits with EXPECTED (for use under check).
exit_code() {
  local expected=$1
  shift
  "$@" >/dev/null 2>&1
  [ $? -eq "$expected" ]
}

files_differ() { ! cmp -s -- "$1" "$2"; }

# run CMD...: runs it, keeping stdout in $WORK/stdout, stderr in $WORK/stderr, status in $RC.
run() {
  "$@" >"$WORK/stdout" 2>"$WORK/stderr"
  RC=$?
}

# Everything after "statepack" in a command, for check names.
describe() {
  local words=() w
  for w in "$@"; do
    [ "$w" = "${SP:-}" ] && w=statepack
    words+=("$w")
  done
  printf '%s' "${words[*]}"
}

# expect_exit CODE CMD...: runs CMD and checks its exit status.
expect_exit() {
  local code=$1
  shift
  run "$@"
  if [ "$RC" -eq "$code" ]; then
    pass "exit $code: $(describe "$@")"
  else
    fail "exit $code: $(describe "$@") (got $RC)" "$(cat "$WORK/stderr")"
  fi
}

# expect_stderr_contains TEXT: the last command's stderr contains TEXT (fixed string).
expect_stderr_contains() {
  if grep -qF -- "$1" "$WORK/stderr"; then
    pass "  stderr mentions '$1'"
  else
    fail "  stderr mentions '$1'" "stderr was: $(cat "$WORK/stderr")"
  fi
}

# expect_stdout_contains TEXT: the last command's stdout contains TEXT (fixed string).
expect_stdout_contains() {
  if grep -qF -- "$1" "$WORK/stdout"; then
    pass "  stdout mentions '$1'"
  else
    fail "  stdout mentions '$1'" "stdout was: $(head -c 2000 "$WORK/stdout")"
  fi
}

# expect_file_contains FILE TEXT: FILE contains TEXT (fixed string).
expect_file_contains() {
  if grep -qF -- "$2" "$1"; then pass "  $1 has '$2'"; else fail "  $1 has '$2'" "$(head -c 1500 "$1")"; fi
}

# expect_table_row NAME: a line of the last command's stdout starts with NAME and a space.
expect_table_row() {
  local line
  while IFS= read -r line; do
    if [[ "$line" == "$1 "* ]]; then
      pass "  a table row for '$1'"
      return
    fi
  done <"$WORK/stdout"
  fail "  a table row for '$1'" "stdout was: $(head -c 2000 "$WORK/stdout")"
}

# expect_input_error FILE TEXT CMD...: exit 1, "statepack: FILE: ..." on stderr mentioning
# TEXT, nothing on stdout.
expect_input_error() {
  local file=$1 text=$2
  shift 2
  expect_exit 1 "$@"
  expect_stderr_contains "statepack: $file: "
  [ -n "$text" ] && expect_stderr_contains "$text"
  if [ -s "$WORK/stdout" ]; then
    fail "  nothing on stdout" "$(head -c 500 "$WORK/stdout")"
  else
    pass "  nothing on stdout"
  fi
}

# expect_usage_error TEXT CMD...: exit 2 with a message mentioning TEXT.
expect_usage_error() {
  local text=$1
  shift
  expect_exit 2 "$@"
  expect_stderr_contains "$text"
}

# expect_no_output PATH: neither PATH nor a temporary file beside it exists.
expect_no_output() {
  local path=$1 dir
  dir=$(dirname -- "$path")
  if [ -e "$path" ]; then fail "  no output $path left" "$(ls -la -- "$path")"; else pass "  no output $path left"; fi
  expect_no_temp "$dir"
}

# expect_no_temp DIR: no "*.tmp-*" file in DIR.
expect_no_temp() {
  local leftovers
  leftovers=$(find "$1" -maxdepth 1 -name '*.tmp-*' 2>/dev/null)
  if [ -n "$leftovers" ]; then fail "  no temporary file left in $1" "$leftovers"; else pass "  no temporary file left in $1"; fi
}

# expect_unchanged PATH REFERENCE: PATH still has REFERENCE's bytes.
expect_unchanged() {
  if cmp -s -- "$1" "$2"; then pass "  $1 unchanged"; else fail "  $1 unchanged" "$(cmp -- "$1" "$2" 2>&1)"; fi
}

# safetensors_header JSON: writes the 8-byte length and JSON (padded with spaces to a multiple
# of 8) of a safetensors file to stdout; the tensor bytes follow.
safetensors_header() {
  local h=$1 n shift
  while [ $((${#h} % 8)) -ne 0 ]; do h+=" "; done
  n=${#h}
  for shift in 0 8 16 24 32 40 48 56; do printf "\\x$(printf %02x $(((n >> shift) & 255)))"; done
  printf '%s' "$h"
}

# expect_clean_failure DIR WHAT TARGET CMD...: CMD exits 1 with a message naming TARGET, the
# previous TARGET (if any) is intact, no partial TARGET is left and DIR holds nothing new.
# Exits the script on the first broken promise (the crash-safety tests stop there).
expect_clean_failure() {
  local dir=$1 what=$2 target=$3
  shift 3
  local before=""
  [ -e "$target" ] && before=$(sha256sum <"$target")
  local listing_before
  listing_before=$(ls -A "$dir")
  local status=0
  local err="$WORK/err.txt"
  "$@" 2>"$err" || status=$?
  if [ "$status" -ne 1 ]; then
    echo "$what: exit status $status, expected 1; stderr:" >&2; cat "$err" >&2; exit 1
  fi
  if ! grep -q "$target" "$err"; then
    echo "$what: the message does not name $target:" >&2; cat "$err" >&2; exit 1
  fi
  if [ -n "$before" ] && [ "$(sha256sum <"$target")" != "$before" ]; then
    echo "$what: the previous $target changed" >&2; exit 1
  fi
  if [ -z "$before" ] && [ -e "$target" ]; then
    echo "$what: a partial $target was left" >&2; exit 1
  fi
  if [ "$(ls -A "$dir")" != "$listing_before" ]; then
    echo "$what: files were left behind:" >&2; ls -lA "$dir" >&2; exit 1
  fi
  echo "$what: clean failure: $(head -1 "$err")"
}
