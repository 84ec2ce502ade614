#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Output errors must be clean: when the file-size limit (prlimit --fsize, SIGXFSZ ignored) runs
# out during `statepack pack` or `statepack unpack`, the command says so naming the file, exits
# 1, leaves an existing target untouched and leaves no partial or temporary file. (A full disk:
# full_disk_pack.sh.)
# Usage: fsize_limit_pack.sh STATEPACK
set -euo pipefail
cli=$1
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir fsize
mkdir "$WORK/in" "$WORK/out"
cd "$WORK/in"

size=$((4 * 1024 * 1024))
{ safetensors_header "{\"w\":{\"dtype\":\"U8\",\"shape\":[$size],\"data_offsets\":[0,$size]}}"
  head -c $size /dev/urandom; } > input.safetensors
{ safetensors_header '{"s":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}}'
  head -c 16 /dev/urandom; } > small.safetensors

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
echo "file-size-limit failures are clean"
