// SPDX-License-Identifier: Apache-2.0
// Signed and sealed blobs for the add-on's tests, made by the host tools (libsodium signs):
// the sample checkpoint packed, sealed, signed with fixed seeds.
#pragma once

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_seal.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/blob/signing_key.hpp"
#include "support/sample_checkpoint.hpp"
#include "support/temp_dir.hpp"

namespace statepack::test {

inline std::vector<uint8_t> read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline SecretKey test_key(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed;
  seed.fill(seed_byte);
  return key_from_seed(seed);
}

/// The sample checkpoint as a plain blob, then sealed (and signed with `key`, if given).
inline std::vector<uint8_t> make_blob(const SecretKey *key, bool seal = true,
                                      ChecksumAlgo algo = ChecksumAlgo::kXxh64) {
  TempDir dir;
  BlobOptions options;
  options.checksum = algo;
  const Checkpoint checkpoint = sample_checkpoint();
  write_blob_file(dir.file("plain.spk"), checkpoint, options);
  if (!seal) return read_bytes(dir.file("plain.spk"));
  const BlobFile plain = BlobFile::open(dir.file("plain.spk"));
  seal_blob(plain, key, dir.file("sealed.spk"));
  return read_bytes(dir.file("sealed.spk"));
}

}  // namespace statepack::test
