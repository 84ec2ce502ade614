#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian package from a release build: build/release/statepack_<version>_<arch>.deb
# (CPack's DEB generator, cmake/StatepackPackage.cmake). Installs the build packages it needs
# that are missing, like demo.sh. Install the result with `apt-get install ./statepack_*.deb`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
(cd build/release && cpack -G DEB)
ls -l build/release/statepack_*.deb
