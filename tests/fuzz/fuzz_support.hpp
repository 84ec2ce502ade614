// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the fuzz targets: a check that aborts in every build type, a reader that
// splits the fuzz input into control values and payload, an in-memory file for the readers
// that take a path, and a reseal that fixes a blob's checksums so mutations reach the checks
// behind them.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "statepack/format.h"
#include "statepack/statepack.h"

// A property the target promises; failing it is a finding like a crash (abort, even in Release
// builds where assert() is compiled out).
#define FUZZ_CHECK(condition)                                                                 \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                           \
    }                                                                                         \
  } while (0)

namespace statepack::fuzz {

/// Consumes the fuzz input front to back; past the end every value reads as zero, so any input
/// is a valid description.
class Input {
 public:
  Input(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(u8()) << (8 * i);
    return v;
  }
  /// Up to `n` bytes (fewer at the end of the input).
  std::vector<uint8_t> bytes(size_t n) {
    const size_t take = n < remaining() ? n : remaining();
    std::vector<uint8_t> out(data_ + pos_, data_ + pos_ + take);
    pos_ += take;
    return out;
  }
  size_t remaining() const { return size_ - pos_; }
  const uint8_t *here() const { return data_ + pos_; }

 private:
  const uint8_t *data_;
  size_t size_;
  size_t pos_ = 0;
};

/// A file in memory (memfd) for the readers that take a path: they open "/proc/self/fd/N" and
/// map it exactly as they map a file on disk, so the target exercises the real entry point.
class MemFile {
 public:
  MemFile(const uint8_t *data, size_t size) {
    fd_ = ::memfd_create("statepack-fuzz", MFD_CLOEXEC);
    FUZZ_CHECK(fd_ >= 0);
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::write(fd_, data + done, size - done);
      FUZZ_CHECK(n > 0);
      done += static_cast<size_t>(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile &) = delete;
  MemFile &operator=(const MemFile &) = delete;
  const std::string &path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

inline uint64_t load_u64_le(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline void store_u64_le(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

/// The blob checksum the runtime computes (XXH32 zero-extended, or XXH64), by algo byte.
inline uint64_t blob_hash(uint8_t algo, const uint8_t *data, size_t size) {
  return algo == SPK_CHECKSUM_XXH32 ? spk_xxh32(data, size, 0) : spk_xxh64(data, size, 0);
}

/// Recomputes the header and preamble checksums in place when the preamble's fields allow it
/// (header inside the buffer, a sane preamble size); otherwise leaves the bytes alone.
inline void reseal(uint8_t *blob, size_t size) {
  if (size < SPK_PREAMBLE_SIZE_V1) return;
  const uint64_t preamble_size = load_u64_le(blob + SPK_PRE_PREAMBLE_SIZE) & 0xFFFFFFFFu;
  if (preamble_size < SPK_PREAMBLE_SIZE_V1 || preamble_size > size || preamble_size % 8 != 0) {
    return;
  }
  const uint8_t algo = blob[SPK_PRE_CHECKSUM_ALGO];
  const uint64_t offset = load_u64_le(blob + SPK_PRE_HEADER_OFFSET);
  const uint64_t length = load_u64_le(blob + SPK_PRE_HEADER_SIZE);
  if (offset <= size && length <= size - offset) {
    store_u64_le(blob + SPK_PRE_HEADER_CHECKSUM, blob_hash(algo, blob + offset, length));
  }
  store_u64_le(blob + preamble_size - 8, blob_hash(algo, blob, preamble_size - 8));
}

/// The public key of the signed seeds (Ed25519 seed 01 x 32, make_seeds.py seed_key_pem):
/// blobs signed with it reach the add-on's Ed25519 check and pass it.
inline constexpr uint8_t kSeedPublicKey[32] = {
    0x8a, 0x88, 0xe3, 0xdd, 0x74, 0x09, 0xf1, 0x95, 0xfd, 0x52, 0xdb, 0x2d, 0x3c, 0xba, 0x5d, 0x72,
    0xca, 0x67, 0x09, 0xbf, 0x1d, 0x94, 0x12, 0x1b, 0xf3, 0x74, 0x88, 0x01, 0xb4, 0x0f, 0x6f, 0x5c};

/// A signature hook that accepts every signature, so mutated blobs reach the digest checks.
inline spk_status accept_any_signature(const uint8_t *, const uint8_t *, const uint8_t *, void *) {
  return SPK_OK;
}

/// Every status the runtime defines: a function returning anything else is a finding.
inline bool known_status(spk_status s) {
  switch (s) {
    case SPK_OK:
    case SPK_ERR_INVALID_ARGUMENT:
    case SPK_ERR_NOT_FOUND:
    case SPK_ERR_OUT_OF_RANGE:
    case SPK_ERR_BUFFER_TOO_SMALL:
    case SPK_ERR_UNSUPPORTED:
    case SPK_ERR_WRONG_KIND:
    case SPK_ERR_TRUNCATED:
    case SPK_ERR_BAD_MAGIC:
    case SPK_ERR_UNSUPPORTED_VERSION:
    case SPK_ERR_PREAMBLE_CHECKSUM:
    case SPK_ERR_BAD_PREAMBLE:
    case SPK_ERR_HEADER_CHECKSUM:
    case SPK_ERR_HEADER_MALFORMED:
    case SPK_ERR_HEADER_LIMIT:
    case SPK_ERR_BAD_TENSOR:
    case SPK_ERR_BAD_SEGMENT:
    case SPK_ERR_NOT_SORTED:
    case SPK_ERR_BAD_QUANTIZATION:
    case SPK_ERR_BAD_METADATA:
    case SPK_ERR_SEGMENT_CHECKSUM:
    case SPK_ERR_PADDING_NOT_ZERO:
    case SPK_ERR_CORRUPT_DATA:
      return true;
  }
  return false;
}

}  // namespace statepack::fuzz
