#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Crash safety of `statepack pack`: SIGKILL at random moments while it writes a ~200 MB blob
# over an existing one. After every kill the target must be byte-for-byte the previous blob or
# the complete new one (packing is deterministic, so "complete" means the reference hash), and
# no temporary may be left beside it (the writer uses an unnamed O_TMPFILE file). Also checks
# that temporaries of killed runs on filesystems without O_TMPFILE are cleaned up by the next
# run once stale, and never while fresh.
# Usage: sigkill_pack.sh STATEPACK [TRIALS (20)] [MEGABYTES (200)]
set -euo pipefail
cli=$1
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
trials=${2:-20}
megabytes=${3:-200}
work=$(mktemp -d "${TMPDIR:-/tmp}/spk-sigkill.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

# The input: four U8 tensors of megabytes/4 MB of random bytes each (incompressible, so the
# time goes into hashing and writing).
quarter=$((megabytes * 1024 * 1024 / 4))
json=""
for i in 0 1 2 3; do
  [ -n "$json" ] && json+=","
  json+="\"t$i\":{\"dtype\":\"U8\",\"shape\":[$quarter],\"data_offsets\":[$((i * quarter)),$(((i + 1) * quarter))]}"
done
{ safetensors_header "{$json}"; head -c $((4 * quarter)) /dev/urandom; } > big.safetensors

# The previous blob under the target name, and the reference result of a complete run.
{ safetensors_header '{"s":{"dtype":"U8","shape":[4096],"data_offsets":[0,4096]}}'
  head -c 4096 /dev/urandom; } > small.safetensors
"$cli" pack small.safetensors -o target.spk >/dev/null 2>&1
old_hash=$(sha256sum < target.spk)

# Timed on the second run, once the input is in the page cache, as in the trials.
"$cli" pack big.safetensors -o reference.spk >/dev/null 2>&1
start=$(date +%s%N)
"$cli" pack big.safetensors -o reference.spk >/dev/null 2>&1
end=$(date +%s%N)
new_hash=$(sha256sum < reference.spk)
pack_ms=$(((end - start) / 1000000))
rm -f reference.spk
echo "pack of ${megabytes} MB takes ${pack_ms} ms; ${trials} kills at random moments"

leftovers() { find . -maxdepth 1 -name 'target.spk.tmp-*' | wc -l; }
old_seen=0
new_seen=0
delays=()
for trial in $(seq 1 "$trials"); do
  delay_ms=$((RANDOM * (pack_ms + 1) / 32768))
  "$cli" pack big.safetensors -o target.spk >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ ! -f target.spk ]; then
    echo "trial $trial (kill after ${delay_ms} ms): target.spk is gone" >&2
    exit 1
  fi
  hash=$(sha256sum < target.spk)
  delays+=("$delay_ms")
  if [ "$hash" = "$old_hash" ]; then
    old_seen=$((old_seen + 1))
  elif [ "$hash" = "$new_hash" ]; then
    new_seen=$((new_seen + 1))
  else
    echo "trial $trial (kill after ${delay_ms} ms): target.spk is neither the old nor the new blob" >&2
    ls -l >&2
    exit 1
  fi
  if [ "$(leftovers)" -ne 0 ]; then
    echo "trial $trial (kill after ${delay_ms} ms): a temporary file survived:" >&2
    ls -l >&2
    exit 1
  fi
  # Start every trial from the old blob, so each kill can show damage to it.
  if [ "$hash" = "$new_hash" ]; then "$cli" pack small.safetensors -o target.spk >/dev/null 2>&1; fi
done
echo "after $trials kills: old blob intact $old_seen times, new blob complete $new_seen times," \
     "no truncated file, no temporary left (kill delays in ms: ${delays[*]})"

# Temporaries of killed runs on filesystems without O_TMPFILE: a stale one (unwritten for more
# than a minute, held by no process) is removed by the next run, a fresh one is kept.
head -c 100 /dev/urandom > target.spk.tmp-Stale1
touch -d '10 minutes ago' target.spk.tmp-Stale1
head -c 100 /dev/urandom > target.spk.tmp-Fresh1
"$cli" pack small.safetensors -o target.spk >/dev/null 2>&1
if [ -e target.spk.tmp-Stale1 ]; then echo "a stale temporary was not cleaned up" >&2; exit 1; fi
if [ ! -e target.spk.tmp-Fresh1 ]; then echo "a fresh temporary was removed" >&2; exit 1; fi
"$cli" verify target.spk >/dev/null
echo "stale temporaries removed, fresh ones kept"
