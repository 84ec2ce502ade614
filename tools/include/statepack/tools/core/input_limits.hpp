// SPDX-License-Identifier: Apache-2.0
// Limits on untrusted input that a user may raise for a file they trust. Each has a default
// that no ordinary checkpoint reaches and an environment variable that overrides it, so a
// legitimate giant (an .npz holding a 6 GB compressed array) can still be read without
// recompiling, while the default keeps a hostile file from exhausting memory. docs/LIMITS.md
// lists every limit, configurable or not, and where it lives.
#pragma once

#include <cstdint>
#include <string>

namespace statepack {

/// Environment variables of the configurable limits.
inline constexpr const char *kEnvZipMaxInflated = "STATEPACK_ZIP_MAX_INFLATED";
inline constexpr const char *kEnvZipMaxEntries = "STATEPACK_ZIP_MAX_ENTRIES";
inline constexpr const char *kEnvPickleMaxBytes = "STATEPACK_PICKLE_MAX_BYTES";
inline constexpr const char *kEnvPickleMaxString = "STATEPACK_PICKLE_MAX_STRING";
inline constexpr const char *kEnvIndexMaxBytes = "STATEPACK_INDEX_MAX_BYTES";
inline constexpr const char *kEnvIndexMaxTensors = "STATEPACK_INDEX_MAX_TENSORS";
inline constexpr const char *kEnvIndexMaxShards = "STATEPACK_INDEX_MAX_SHARDS";

/// The value of environment variable `variable` when set (a decimal count with an optional
/// K, M, G or T suffix, powers of 1024: "8G"), else `fallback`. Throws a usage Error naming
/// the variable for a value that is not such a number or overflows 64 bits.
uint64_t configured_limit(const char *variable, uint64_t fallback);

/// " (set VARIABLE to raise it)", for the message of a refusal by a configurable limit.
std::string raise_hint(const char *variable);

}  // namespace statepack
