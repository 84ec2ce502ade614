// SPDX-License-Identifier: Apache-2.0
// Reads any supported input file into a Checkpoint, choosing the reader from the file's
// content (never from its extension alone, except that a sharded index must be named
// *.index.json), and records where it came from.
#pragma once

#include <string>
#include <vector>

#include "statepack/tools/core/tensor.hpp"

namespace statepack {

/// The input formats statepack recognises.
enum class InputFormat {
  kSafetensors,
  kTorchZip,     ///< torch.save, zip format (torch >= 1.6)
  kTorchLegacy,  ///< torch.save, legacy format
  kNpz,
  kNpy,
  kShardedIndex,  ///< Hugging Face *.index.json
  kBlob,
  kUnknown,
};

/// Short name of a format for messages and `inspect` ("safetensors", "torch.save (zip)").
const char *format_name(InputFormat format);

/// Detects the format of `path` from its first bytes (and, for zip files, the entry names).
/// Throws an input Error if the file is missing, a directory or unreadable.
InputFormat detect_format(const std::string &path);

/// Reads a checkpoint of any input format. Throws an input Error naming the file for an
/// unknown, damaged or hostile file.
Checkpoint read_checkpoint(const std::string &path);

/// Adds provenance to the metadata: the packer version and each input's file name (keys
/// "statepack.packer", "statepack.input.N.name"), and returns each input's XXH64
/// ("statepack.input.N.xxh64") as pending metadata, hashed on a background thread so that it
/// overlaps writing the blob (BlobOptions::pending). Throws an input Error for an input that
/// cannot be opened.
PendingMetadata add_provenance(Checkpoint &checkpoint, const std::vector<std::string> &inputs);

}  // namespace statepack
