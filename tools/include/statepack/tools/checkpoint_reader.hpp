// Reads any supported input file into a Checkpoint, choosing the reader from the file's
// content (never from its extension alone), and records where it came from.
#pragma once

#include <string>
#include <vector>

#include "statepack/tools/tensor.hpp"

namespace statepack {

/// The input formats statepack recognises.
enum class InputFormat { kSafetensors, kBlob, kUnknown };

/// Detects the format of `path` from its first bytes. Throws an input Error if the file is
/// missing, a directory or unreadable.
InputFormat detect_format(const std::string &path);

/// Reads a checkpoint. Throws an input Error naming the file for an unknown or damaged format.
Checkpoint read_checkpoint(const std::string &path);

/// Adds provenance to `metadata`: the packer version, and each input's file name and XXH64
/// (keys "statepack.packer", "statepack.input.N.name", "statepack.input.N.xxh64").
void add_provenance(Checkpoint &checkpoint, const std::vector<std::string> &inputs);

}  // namespace statepack
