// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the safetensors reader on arbitrary file contents (through a memfd, so the real
// path-based entry point and its mmap run). Refusals must be statepack::Error; anything else
// escaping (a JSON library exception, bad_alloc) is a finding.
#include "fuzz/fuzz_support.hpp"
#include "fuzz/reader_checks.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/safetensors_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const statepack::fuzz::MemFile file(data, size);
  (void)statepack::looks_like_safetensors(data, size);
  try {
    const statepack::Checkpoint c = statepack::read_safetensors(file.path());
    statepack::fuzz::check_checkpoint(c);
  } catch (const statepack::Error &) {
  }
  return 0;
}
