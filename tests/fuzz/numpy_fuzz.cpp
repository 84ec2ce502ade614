// SPDX-License-Identifier: Apache-2.0
// Fuzz target: NumPy input. Byte 0 picks the reader: even = one .npy held in memory (read_npy,
// the parser of the header dictionary, byte swapping and Fortran-order transposition), odd = an
// .npz archive through a memfd (read_npz_file: zip reader + read_npy per entry). Refusals must
// be statepack::Error.
#include <memory>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "fuzz/reader_checks.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/numpy_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const bool npz = (data[0] & 1) != 0;
  // An exact-size heap copy, so ASan sees a read past the end.
  auto bytes = std::make_shared<std::vector<uint8_t>>(data + 1, data + size);
  try {
    if (npz) {
      const statepack::fuzz::MemFile file(bytes->data(), bytes->size());
      statepack::fuzz::check_checkpoint(statepack::read_npz_file(file.path()));
    } else {
      (void)statepack::looks_like_npy(bytes->data(), bytes->size());
      statepack::Checkpoint c;
      c.tensors.push_back(
          statepack::read_npy("fuzz.npy", "fuzz", bytes->data(), bytes->size(), bytes));
      statepack::fuzz::check_checkpoint(c);
    }
  } catch (const statepack::Error &) {
  }
  return 0;
}
