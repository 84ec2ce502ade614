# SPDX-License-Identifier: Apache-2.0
# The Debian package statepack_<version>_<arch>.deb (CPack's DEB generator): everything
# `cmake --install` installs, every install component included, under the prefix /usr. A runtime
# add-on whose install() rules are in the build (runtime/zstd, and any later one) is in the
# package without a line here. Built by `cmake --build --preset release --target package` or
# scripts/package.sh, into the build directory.
#
# Depends: the shared libraries the CLI and the Python extension link, computed by
# dpkg-shlibdeps (dpkg-dev); Debian's python3 of the minor version the extension was built for
# and NumPy (the module hands out NumPy arrays); libzstd-dev and pkg-config, without which the
# installed zstd add-on cannot be linked (statepack-runtime-zstd.pc requires libzstd, and
# find_package(statepack COMPONENTS zstd) finds it through pkg-config). The runtime itself is a
# static library that needs nothing.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME statepack)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "the statepack authors")
set(CPACK_PACKAGE_CONTACT "statepack maintainers <statepack@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "pack neural-network weights into checksummed blobs for devices")
set(CPACK_PACKAGE_DESCRIPTION
    "statepack packs PyTorch state dicts, safetensors and NumPy files (quantized or not, \
optionally zstd-compressed) into one checksummed blob, and reads it on a device in place with a \
heap-free C/C++ runtime.\n\
This package holds the statepack command, the runtime's static libraries and headers (with its \
zstd add-on), the CMake package and pkg-config files, the Python module for python3, the man page \
and examples.")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(statepack_deb_depends libzstd-dev pkg-config)
if(STATEPACK_BUILD_PYTHON)
  # The extension's ABI tag (cpython-311) is one minor version of Python.
  math(EXPR statepack_python_next "${Python_VERSION_MINOR} + 1")
  list(PREPEND statepack_deb_depends
       "python3 (>= ${Python_VERSION_MAJOR}.${Python_VERSION_MINOR})"
       "python3 (<< ${Python_VERSION_MAJOR}.${statepack_python_next})" python3-numpy)
  set(CPACK_DEBIAN_PACKAGE_SUGGESTS "python3-torch")
endif()
list(JOIN statepack_deb_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)

# Source packages are git archives; CPack's would sweep up build directories.
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
