#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Output errors must be clean: when the disk (a 1 MiB tmpfs) runs out during `statepack pack`
# or `statepack unpack`, the command says so naming the file, exits 1, leaves an existing
# target untouched and leaves no partial or temporary file. Mounting needs root and permission
# to mount tmpfs; without them the test exits 77, which ctest reports as skipped
# (SKIP_RETURN_CODE). (The file-size limit: fsize_limit_pack.sh.)
# Usage: full_disk_pack.sh STATEPACK
set -euo pipefail
cli=$1
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/statepack-full.XXXXXX")
mounted=""
cleanup() {
  if [ -n "$mounted" ]; then umount "$mounted" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir "$WORK/in" "$WORK/in/disk"
cd "$WORK/in"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=1m statepack-test "$WORK/in/disk" 2>/dev/null; then
  echo "full tmpfs: skipped (needs root and permission to mount tmpfs)"
  exit 77
fi
mounted="$WORK/in/disk"

size=$((4 * 1024 * 1024))
{ safetensors_header "{\"w\":{\"dtype\":\"U8\",\"shape\":[$size],\"data_offsets\":[0,$size]}}"
  head -c $size /dev/urandom; } > input.safetensors
{ safetensors_header '{"s":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}}'
  head -c 16 /dev/urandom; } > small.safetensors
"$cli" pack input.safetensors -o reference.spk

"$cli" pack small.safetensors -o disk/model.spk
expect_clean_failure disk "full tmpfs, over an existing blob" disk/model.spk \
  "$cli" pack input.safetensors -o disk/model.spk
expect_clean_failure disk "full tmpfs, new file" disk/new.spk \
  "$cli" pack input.safetensors -o disk/new.spk
expect_clean_failure disk "full tmpfs, unpack" disk/out.safetensors \
  "$cli" unpack reference.spk -o disk/out.safetensors
"$cli" verify disk/model.spk >/dev/null
echo "full-disk failures are clean"
