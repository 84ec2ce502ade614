// SPDX-License-Identifier: Apache-2.0
// A strict, read-only zip reader for PyTorch checkpoints and NumPy .npz files. It follows the
// central directory (ZIP64 included) and refuses anything ambiguous: duplicate names,
// overlapping or out-of-file records, encryption, multi-disk archives, unknown methods.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "statepack/tools/core/input_limits.hpp"
#include "statepack/tools/io/mapped_file.hpp"

namespace statepack {

/// Caps that keep a hostile archive from exhausting memory or time.
struct ZipLimits {
  /// Defaults: 1,000,000 entries and 4 GiB, unless STATEPACK_ZIP_MAX_ENTRIES or
  /// STATEPACK_ZIP_MAX_INFLATED say otherwise (input_limits.hpp).
  uint64_t max_entries = configured_limit(kEnvZipMaxEntries, 1'000'000);
  /// Largest size a deflated entry may inflate to.
  uint64_t max_inflated_size = configured_limit(kEnvZipMaxInflated, uint64_t{4} << 30);
  /// Largest inflated / compressed ratio accepted. Deflate cannot exceed about 1032:1, so any
  /// entry claiming more is lying about its size (a bomb or a forgery); all-zero arrays reach
  /// about 1030:1 legitimately.
  uint64_t max_ratio = 1100;
};

/// One record, as the central directory describes it (sizes there are authoritative).
struct ZipEntry {
  std::string name;
  uint16_t method = 0;  ///< 0 stored, 8 deflated
  uint16_t flags = 0;
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;  ///< first byte of the (compressed) data in the file
};

/// Bytes of an entry: a view into the mapping for stored entries, an owned buffer for
/// deflated ones; `owner` keeps them alive.
struct ZipBytes {
  const uint8_t *data = nullptr;
  uint64_t size = 0;
  std::shared_ptr<const void> owner;
};

/// An opened archive.
class ZipArchive {
 public:
  /// Parses the end records and the central directory and checks every local header. Throws an
  /// input Error "<path>: <problem>" for anything malformed or ambiguous.
  static ZipArchive open(std::shared_ptr<const MappedFile> file, const ZipLimits &limits = {});

  /// Entries in central-directory order.
  const std::vector<ZipEntry> &entries() const { return entries_; }
  /// The entry named exactly `name`, or nullptr.
  const ZipEntry *find(std::string_view name) const;
  /// The entry's uncompressed bytes, CRC-32 checked. Throws an input Error on a CRC mismatch,
  /// a corrupt deflate stream or a size beyond the limits.
  ZipBytes read(const ZipEntry &entry) const;
  /// The archive's path (for messages).
  const std::string &path() const { return file_->path(); }

 private:
  std::shared_ptr<const MappedFile> file_;
  ZipLimits limits_;
  std::vector<ZipEntry> entries_;
  /// Entry index by name, for find() (names are unique: open() refuses duplicates).
  std::map<std::string, size_t, std::less<>> index_;
};

/// True when the data starts like a zip archive: a local file header signature, or the end
/// record of an empty archive. A cheap sniff for choosing a reader, not a validation.
bool looks_like_zip(const uint8_t *data, uint64_t size);

}  // namespace statepack
