# SPDX-License-Identifier: Apache-2.0
"""Loads statepack._core, the extension module built by the project's CMake, with an error
that says how to get it when it is missing (the pure-Python tools work without it)."""


def core():
    """The extension module statepack._core."""
    try:
        from statepack import _core
    except ImportError as e:
        raise ImportError(
            "statepack's extension module (statepack._core) is not built or not on the path: "
            "build the project with CMake (python3-dev and pybind11-dev installed) and import "
            "statepack from build/release/python or from where `cmake --install` put it"
        ) from e
    return _core
