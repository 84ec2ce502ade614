// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the strict zip reader (central directory, ZIP64, local headers, inflate with
// CRC and size limits) and, for archives laid out like torch.save's, the torch zip reader on
// top of it. Refusals must be statepack::Error.
#include "fuzz/fuzz_support.hpp"
#include "fuzz/reader_checks.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/torch/torch_zip_reader.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/io/zip_archive.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const statepack::fuzz::MemFile file(data, size);
  (void)statepack::looks_like_zip(data, size);
  try {
    const statepack::ZipArchive archive =
        statepack::ZipArchive::open(statepack::MappedFile::open(file.path()));
    for (const statepack::ZipEntry &entry : archive.entries()) {
      FUZZ_CHECK(archive.find(entry.name) == &entry);
      try {
        const statepack::ZipBytes bytes = archive.read(entry);
        FUZZ_CHECK(bytes.size == entry.uncompressed_size);
        volatile uint8_t sink = 0;
        for (uint64_t i = 0; i < bytes.size; ++i) sink = static_cast<uint8_t>(sink ^ bytes.data[i]);
        (void)sink;
      } catch (const statepack::Error &) {
      }
    }
    if (statepack::is_torch_zip(archive)) {
      statepack::fuzz::check_checkpoint(statepack::read_torch_zip(file.path(), archive));
    }
  } catch (const statepack::Error &) {
  }
  return 0;
}
