// SPDX-License-Identifier: Apache-2.0
// Scratch space on disk for tensor bytes that the host tools compute rather than find in an
// input file: quantized tensors, views gathered into C order, byte-swapped arrays, inflated zip
// entries. Held in memory, they would all stay resident until the blob is written (a
// quantized 1.5 GiB model kept 1.1 GiB); spilled, each costs memory only while it is being
// produced, and the writer reads it back through a read-only file mapping whose pages it drops
// once written, exactly as it does for the inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace statepack {

/// Bytes kept in the spill file: `data` stays valid while `owner` lives.
struct SpilledBytes {
  const uint8_t *data = nullptr;
  std::shared_ptr<const void> owner;
};

/// Chooses the directory of the process's spill file (an unnamed file, removed by the system
/// when the process ends, however it ends). `statepack pack` uses the output's directory,
/// which must hold the blob anyway; the default is the system's temporary directory. Takes
/// effect for a spill file not yet created.
void set_spill_directory(const std::string &directory);

/// Copies [data, data + size) into the spill file and returns a read-only view of the copy.
/// Sizes below a page are not worth a file: they come back as an owned copy in memory.
/// Throws an output Error if the spill file cannot be created or written. Thread-safe.
SpilledBytes spill(const uint8_t *data, uint64_t size);

/// Like spill() for `size` bytes produced in order a block at a time: `next` is called until
/// the blocks it returns (each valid until the next call) add up to `size`, so the bytes
/// never have to be in memory at once. Throws an output Error if a block overruns `size`.
SpilledBytes spill_blocks(uint64_t size,
                          const std::function<std::pair<const uint8_t *, uint64_t>()> &next);

}  // namespace statepack
