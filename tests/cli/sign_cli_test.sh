#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end test of signed blobs on the host: keygen (mode 0600, no overwrite without --force,
# never through a symlink, FIFO or device), keys from `openssl genpkey` accepted and ours read
# by openssl, pack --sign / --checksum sha256, sign (in place atomically, mode and symlinks
# kept, -o), verify --key (exit 1 for unsigned, another key, changed bytes), inspect, pubkey,
# and clear errors naming bad key files.
#
#   bash tests/cli/sign_cli_test.sh /path/to/statepack
set -u

if [ $# -ne 1 ]; then
  echo "usage: $0 STATEPACK" >&2
  exit 2
fi
SP=$(realpath -- "$1") || exit 2
MODEL=$(realpath -- "$(dirname -- "$0")/../../examples/tiny_mlp/tiny_mlp.safetensors") || exit 2
. "$(dirname -- "${BASH_SOURCE[0]}")/../support/test_lib.sh"
make_workdir sign
cd "$WORK" || exit 2
PASSED=0
FAILED=0
command -v openssl >/dev/null || { echo "openssl missing: scripts/install-deps.sh test"; exit 1; }

mode_of() { stat -c %a -- "$1"; }

# ---- keygen ----
check "keygen writes NAME.key and NAME.pub" "$SP" keygen -o k
check "NAME.key has mode 600" test "$(mode_of k.key)" = 600
check "NAME.pub is public (644 under umask 022)" test "$(umask 022; mode_of k.pub)" = 644
run "$SP" keygen -o k
check "keygen refuses to overwrite (exit 1)" test "$RC" -eq 1
check "  and says so, naming the file" grep -q "k.key: exists; refusing to overwrite" "$WORK/stderr"
cp k.key k.key.before
check "  and leaves the old key" cmp -s k.key k.key.before
check "keygen --force replaces regular files" "$SP" keygen -o k --force
check "  with a new key" files_differ k.key k.key.before
check "  still mode 600" test "$(mode_of k.key)" = 600
echo precious >victim
ln -s victim s.key
run "$SP" keygen -o s --force
check "keygen refuses a symlink at NAME.key, even with --force" test "$RC" -eq 1
check "  and writes nothing through it" test "$(cat victim)" = precious
check "  nor NAME.pub" test ! -e s.pub
mkfifo f.pub
run timeout 10 "$SP" keygen -o f --force
check "keygen refuses a FIFO at NAME.pub" test "$RC" -eq 1
check "  and writes no NAME.key either" test ! -e f.key
check "keygen prints the public key as a C array" grep -q "static const uint8_t statepack_public_key\[32\]" \
  <("$SP" keygen -o c)
check "openssl reads our secret key (and derives our public key)" \
  cmp -s <(openssl pkey -in k.key -pubout) k.pub

# ---- openssl keys ----
openssl genpkey -algorithm ed25519 -out o.key 2>/dev/null
openssl pkey -in o.key -pubout -out o.pub 2>/dev/null
check "pack --sign with an openssl key" "$SP" pack "$MODEL" -o o.spk --sign o.key --quiet
check "verify --key with openssl's public key" "$SP" verify o.spk --key o.pub --quiet
run_expect "pubkey reads openssl's public key" "static const uint8_t" "$SP" pubkey o.pub

# ---- pack, verify ----
check "pack --sign" "$SP" pack "$MODEL" -o a.spk --sign k.key --quiet
run_expect "verify --key" "signed by key" "$SP" verify a.spk --key k.pub --quiet
run "$SP" verify a.spk --key o.pub --quiet
check "verify --key with another key: exit 1" test "$RC" -eq 1
check "  names both keys" grep -q "signed by key .*, not by o.pub" "$WORK/stderr"
check "pack --checksum sha256" "$SP" pack "$MODEL" -o d.spk --checksum sha256 --quiet
run_expect "plain verify checks the digests" "sha256" "$SP" verify d.spk --quiet
run "$SP" verify d.spk --key k.pub --quiet
check "verify --key on an unsigned sha256 blob: exit 1" test "$RC" -eq 1
check "  says not signed" grep -q "not signed" "$WORK/stderr"
"$SP" pack "$MODEL" -o p.spk --quiet
run "$SP" verify p.spk --key k.pub --quiet
check "verify --key on a plain blob: exit 1" test "$RC" -eq 1
check "pack --checksum xxh32+sha256" "$SP" pack "$MODEL" -o x.spk --checksum xxh32+sha256 --sign k.key --quiet
run_expect "  verifies, xxh32 underneath" "xxh32, sha256" "$SP" verify x.spk --key k.pub --quiet
run_expect "inspect shows the key id" "signed ed25519, key id" "$SP" inspect a.spk
run_expect "inspect --json shows the key id" '"key_id": "' "$SP" inspect a.spk --json
run_expect "inspect of an unsigned sha256 blob" "unsigned" "$SP" inspect d.spk

# Changed bytes: every 41st byte and every byte of the preamble (the device-side test and the
# host's doctest flip every byte of a signed blob; one process per byte would take minutes).
size=$(stat -c %s a.spk)
bad=0
tried=0
for ((i = 0; i < size; i++)); do
  if ((i >= 176 && i % 41 != 0)); then continue; fi
  cp a.spk flip.spk
  byte=$(od -An -tu1 -j "$i" -N1 a.spk | tr -d ' ')
  printf "$(printf '\\%03o' $(((byte ^ 4) & 255)))" | dd of=flip.spk bs=1 seek="$i" conv=notrunc status=none
  "$SP" verify flip.spk --key k.pub --quiet >/dev/null 2>&1
  [ $? -eq 1 ] || bad=$((bad + 1))
  tried=$((tried + 1))
done
check "verify --key refuses every changed byte tried ($tried positions)" test "$bad" -eq 0

# ---- sign ----
"$SP" pack "$MODEL" -o u.spk --quiet
chmod 640 u.spk
check "sign in place (a plain blob is sealed first)" "$SP" sign u.spk --key k.key
check "  keeps the file's mode" test "$(mode_of u.spk)" = 640
check "  verifies" "$SP" verify u.spk --key k.pub --quiet
cp d.spk target.spk
ln -s target.spk link.spk
check "sign through a symlink" "$SP" sign link.spk --key k.key
check "  leaves the link a link" test -L link.spk
check "  and signs its target" "$SP" verify target.spk --key k.pub --quiet
check "sign -o another file" "$SP" sign d.spk --key o.key -o d2.spk
check "  leaves the input unsigned" exit_code 1 "$SP" verify d.spk --key k.pub --quiet
check "  signs the output" "$SP" verify d2.spk --key o.pub --quiet
check "re-signing with another key replaces the signature" "$SP" sign d2.spk --key k.key
check "  new key verifies" "$SP" verify d2.spk --key k.pub --quiet
check "  old key does not" exit_code 1 "$SP" verify d2.spk --key o.pub --quiet
mkfifo out.fifo
(cat out.fifo >fifo.spk) &
reader=$!
check "sign -o a FIFO streams into it" "$SP" sign d.spk --key k.key -o out.fifo
wait "$reader"
check "  the FIFO got the signed blob" "$SP" verify fifo.spk --key k.pub --quiet
check "  and stays a FIFO" test -p out.fifo
cp a.spk before.spk
printf 'garbage' >tail.spk
cat a.spk tail.spk >trail.spk
run "$SP" sign trail.spk --key k.key
check "sign refuses a damaged blob (exit 1)" test "$RC" -eq 1

# ---- key file errors ----
printf -- '-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n' >bad.key
run "$SP" sign a.spk --key bad.key
check "a bad PEM body: exit 1" test "$RC" -eq 1
check "  names the file" grep -q "bad.key: PEM body is not valid base64" "$WORK/stderr"
run "$SP" sign a.spk --key k.pub
check "a public key given as the secret: exit 1, says so" grep -q 'k.pub: is a PEM "PUBLIC KEY", not an Ed25519 private key' "$WORK/stderr"
openssl genpkey -algorithm ed448 -out e448.key 2>/dev/null
run "$SP" sign a.spk --key e448.key
check "an Ed448 key: refused as another algorithm" grep -q "e448.key: not an Ed25519 private key" "$WORK/stderr"
run "$SP" pack "$MODEL" -o never.spk --sign missing.key
check "pack --sign with a missing key: exit 1, nothing written" test "$RC" -eq 1 -a ! -e never.spk
check "a.spk untouched by the failed signs" cmp -s a.spk before.spk

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
