#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the statepack Debian package on this machine and checks it from the installed files
# alone: the CLI packs, signs and verifies the bundled example, an out-of-tree CMake project
# (tests/packaging/consumer) finds the package with find_package(statepack) and reads the blobs
# with the runtime and its zstd add-on and checks the signed one with the sign add-on, and
# Debian's python3 imports the module and packs and
# reads a tensor. Meant for a fresh Debian 12 machine, as root (it installs packages):
#
#   scripts/test-deb-install.sh /path/to/statepack_<version>_<arch>.deb
#
# The CLI, pkg-config and Python checks run before anything but the package and what it
# Depends on is installed, so they also prove that its Depends are enough; cmake and g++ are
# installed afterwards, as the consumer's own build tools.
set -u
if [ $# -ne 1 ]; then
  echo "usage: $0 statepack_VERSION_ARCH.deb" >&2
  exit 2
fi
DEB=$(realpath -- "$1") || exit 2
REPO=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
TEST_LOG_FROM=tail
TEST_LOG_LINES=30
. "$REPO/tests/support/test_lib.sh"
make_workdir deb_install
cd "$WORK" || exit 2
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)

version=$(dpkg-deb -f "$DEB" Version)
echo "== apt-get install $(basename "$DEB")"
check "apt-get update" "${sudo_cmd[@]}" apt-get update -qq
check "apt-get install ./$(basename "$DEB") (with its Depends)" \
  "${sudo_cmd[@]}" apt-get install -y -qq "$DEB"
run_expect "dpkg says statepack $version is installed" "install ok installed $version" \
  dpkg-query -W -f='${Status} ${Version}' statepack

echo "== the CLI (/usr/bin/statepack)"
SP=/usr/bin/statepack
EXAMPLES=/usr/share/doc/statepack/examples
check "statepack is /usr/bin/statepack" test "$(command -v statepack)" = "$SP"
run_expect "statepack --version" "statepack $version" "$SP" --version
check "pack the bundled example" "$SP" pack "$EXAMPLES/tiny_mlp/tiny_mlp.safetensors" -o raw.spk --quiet
check "pack it again with --compress zstd --quant int8" \
  "$SP" pack "$EXAMPLES/tiny_mlp/tiny_mlp.safetensors" -o zstd.spk --compress zstd --quant int8 --quiet
check "verify the blob" "$SP" verify raw.spk --quiet
check "verify the compressed blob" "$SP" verify zstd.spk --quiet
run_expect "inspect lists the example's tensors" "0.weight" "$SP" inspect raw.spk
check "a damaged blob fails verify (exit 1)" sh -c "cp raw.spk bad.spk && printf 'x' | \
  dd of=bad.spk bs=1 seek=\$((\$(stat -c %s bad.spk) - 1)) conv=notrunc 2>/dev/null && \
  { '$SP' verify bad.spk --quiet >/dev/null 2>&1; test \$? -eq 1; }"
check "keygen -o release (NAME.key private, NAME.pub)" sh -c "'$SP' keygen -o release >/dev/null && \
  test \"\$(stat -c %a release.key)\" = 600 && test -f release.pub"
check "pack --sign release.key" "$SP" pack "$EXAMPLES/tiny_mlp/tiny_mlp.safetensors" -o signed.spk \
  --sign release.key --quiet
check "verify --key release.pub" "$SP" verify signed.spk --key release.pub --quiet
check "another key's verify fails (exit 1)" sh -c "'$SP' keygen -o other >/dev/null && \
  { '$SP' verify signed.spk --key other.pub --quiet >/dev/null 2>&1; test \$? -eq 1; }"
check "man page installed" test -f /usr/share/man/man1/statepack.1
run_expect "pkg-config finds the runtime and the add-on" "$version $version" \
  sh -c "pkg-config --modversion statepack-runtime statepack-runtime-zstd | paste -sd' '"

echo "== the Python module (/usr/bin/python3)"
run_expect "import statepack, save and read a tensor" "python ok $version" /usr/bin/python3 -c "
import numpy as np, statepack
assert statepack.__file__ == '/usr/lib/python3/dist-packages/statepack/__init__.py', statepack.__file__
w = (np.arange(64 * 32, dtype=np.float32).reshape(64, 32) - 1000) / 100
report = statepack.save({'w': w, 'b': np.ones(32, np.float32)}, 'py.spk', quant='int8', compress='zstd')
with statepack.open('py.spk') as blob:
    blob.verify()
    d = blob.dequantize('w')
    assert sorted(blob.keys()) == ['b', 'w'], blob.keys()
    assert d.shape == (64, 32) and float(np.abs(d - w).max()) < 0.1, float(np.abs(d - w).max())
cli = statepack.load('raw.spk')
assert len(cli) == 6 and cli['0.weight'].dtype == np.float32, cli.keys()
print('python ok', statepack.__version__)"
check "the CLI verifies the Python module's blob" "$SP" verify py.spk --quiet

echo "== an out-of-tree project: find_package(statepack)"
check "install the consumer's build tools (cmake, g++, make)" \
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends cmake g++ make
run_expect "configure: find_package finds it with no hints" \
  "statepack $version from /usr/lib/cmake/statepack" cmake -S "$REPO/tests/packaging/consumer" -B consumer
check "build" cmake --build consumer
run_expect "spk_version() of the installed runtime" "library $version" consumer/library_version
run_expect "read_blob: the CLI's blob" "6 tensors decoded, 0 compressed" consumer/read_blob raw.spk
run_expect "read_blob: the compressed blob (zstd add-on)" "tensors decoded" consumer/read_blob zstd.spk
check "  with compressed tensors" sh -c "consumer/read_blob zstd.spk | grep -vq ', 0 compressed'"
run_expect "read_blob: the Python module's blob" "2 tensors decoded" consumer/read_blob py.spk
run_expect "the installed example run_tiny_mlp.c, built and run" "max abs difference" consumer/run_tiny_mlp raw.spk
run_expect "a blob packed at build time by statepack_add_blob" "6 tensors, verified" consumer/embedded_blob
# The raw 32-byte public key, as firmware embeds it: the last 32 bytes of the PEM's DER.
check "the public key as 32 raw bytes" /usr/bin/python3 -c "
import base64
der = base64.b64decode(''.join(l for l in open('release.pub') if not l.startswith('-----')))
open('release.raw', 'wb').write(der[-32:])"
check "the other public key as 32 raw bytes" /usr/bin/python3 -c "
import base64
der = base64.b64decode(''.join(l for l in open('other.pub') if not l.startswith('-----')))
open('other.raw', 'wb').write(der[-32:])"
run_expect "sign_consumer (sign add-on): the signed blob" "sign_consumer: ok" \
  consumer/sign_consumer signed.spk release.raw
check "sign_consumer refuses it under another key (exit 1)" sh -c \
  "consumer/sign_consumer signed.spk other.raw >/dev/null; test \$? -eq 1"
check "sign_consumer refuses an unsigned blob (exit 1)" sh -c \
  "consumer/sign_consumer raw.spk release.raw >/dev/null; test \$? -eq 1"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
