#!/usr/bin/env bash
# Output errors must be clean: when the file-size limit (prlimit --fsize, SIGXFSZ ignored) or
# the disk (a 1 MiB tmpfs, when running as root where mount is allowed) runs out during
# `statepack pack` or `statepack unpack`, the command says so naming the file, exits 1, leaves
# an existing target untouched and leaves no partial or temporary file.
# Usage: full_disk_pack.sh STATEPACK
set -euo pipefail
cli=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/spk-full.XXXXXX")
mounted=""
cleanup() {
  if [ -n "$mounted" ]; then umount "$mounted" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/in" "$work/out"
cd "$work/in"

safetensors_header() {
  local h=$1
  while [ $(( ${#h} % 8 )) -ne 0 ]; do h+=" "; done
  local n=${#h}
  for shift in 0 8 16 24 32 40 48 56; do printf "\\x$(printf %02x $(((n >> shift) & 255)))"; done
  printf '%s' "$h"
}
size=$((4 * 1024 * 1024))
{ safetensors_header "{\"w\":{\"dtype\":\"U8\",\"shape\":[$size],\"data_offsets\":[0,$size]}}"
  head -c $size /dev/urandom; } > input.safetensors
{ safetensors_header '{"s":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}}'
  head -c 16 /dev/urandom; } > small.safetensors

# expect_clean_failure DIR WHAT COMMAND...: exit 1, a message naming the target, the previous
# target intact and nothing else left in DIR.
expect_clean_failure() {
  local dir=$1 what=$2 target=$3
  shift 3
  local before=""
  [ -e "$target" ] && before=$(sha256sum < "$target")
  local listing_before
  listing_before=$(ls -A "$dir")
  local status=0
  local err="$work/err.txt"
  "$@" 2> "$err" || status=$?
  if [ "$status" -ne 1 ]; then
    echo "$what: exit status $status, expected 1; stderr:" >&2; cat "$err" >&2; exit 1
  fi
  if ! grep -q "$target" "$err"; then
    echo "$what: the message does not name $target:" >&2; cat "$err" >&2; exit 1
  fi
  if [ -n "$before" ] && [ "$(sha256sum < "$target")" != "$before" ]; then
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

# File-size limit: far below the blob, and one byte below its final size.
"$cli" pack input.safetensors -o reference.spk
final=$(stat -c %s reference.spk)
"$cli" pack small.safetensors -o ../out/limited.spk
expect_clean_failure ../out "fsize 1 MiB, over an existing blob" ../out/limited.spk \
  prlimit --fsize=1048576 "$cli" pack input.safetensors -o ../out/limited.spk
expect_clean_failure ../out "fsize one byte short" ../out/fresh.spk \
  prlimit --fsize=$((final - 1)) "$cli" pack input.safetensors -o ../out/fresh.spk
expect_clean_failure ../out "fsize, unpack" ../out/unpacked.safetensors \
  prlimit --fsize=1048576 "$cli" unpack reference.spk -o ../out/unpacked.safetensors
prlimit --fsize="$final" "$cli" pack input.safetensors -o ../out/exact.spk
cmp ../out/exact.spk reference.spk
echo "fsize equal to the blob's size: packs fine"

# Full disk: a 1 MiB tmpfs (needs root and permission to mount; skipped otherwise).
mkdir disk
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m statepack-test "$work/in/disk" 2>/dev/null; then
  mounted="$work/in/disk"
  "$cli" pack small.safetensors -o disk/model.spk
  expect_clean_failure disk "full tmpfs, over an existing blob" disk/model.spk \
    "$cli" pack input.safetensors -o disk/model.spk
  expect_clean_failure disk "full tmpfs, new file" disk/new.spk \
    "$cli" pack input.safetensors -o disk/new.spk
  expect_clean_failure disk "full tmpfs, unpack" disk/out.safetensors \
    "$cli" unpack reference.spk -o disk/out.safetensors
  "$cli" verify disk/model.spk >/dev/null
else
  echo "full tmpfs: skipped (needs root and permission to mount tmpfs)"
fi
echo "full-disk and file-size-limit failures are clean"
