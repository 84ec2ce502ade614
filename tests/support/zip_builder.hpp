// SPDX-License-Identifier: Apache-2.0
// Test fixtures: zip archives written byte by byte, in the shapes real writers produce (stored
// and deflated entries, data descriptors, ZIP64 records, PyTorch's alignment padding) and in
// deliberately broken variants, so the strict reader can be tested without any zip tool.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace statepack::test {

inline void put_u16(std::string &out, uint64_t value) {
  for (int i = 0; i < 2; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

inline void put_u32(std::string &out, uint64_t value) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

inline void put_u64(std::string &out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out += static_cast<char>((value >> (8 * i)) & 0xFF);
}

/// Overwrites the little-endian u16 at `offset` (for damage after building).
inline void patch_u16(std::string &bytes, size_t offset, uint64_t value) {
  for (size_t i = 0; i < 2; ++i)
    bytes.at(offset + i) = static_cast<char>((value >> (8 * i)) & 0xFF);
}

/// Overwrites the little-endian u32 at `offset`.
inline void patch_u32(std::string &bytes, size_t offset, uint64_t value) {
  for (size_t i = 0; i < 4; ++i)
    bytes.at(offset + i) = static_cast<char>((value >> (8 * i)) & 0xFF);
}

/// `data` as raw deflate (no zlib header or trailer), the way zip method 8 stores it.
inline std::string deflate_raw(const std::string &data, int level = Z_BEST_COMPRESSION) {
  z_stream stream{};
  if (deflateInit2(&stream, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef *>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  const auto written = static_cast<size_t>(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  out.resize(written);
  return out;
}

/// CRC-32 of `data`, as zip records it.
inline uint32_t zip_crc32(const std::string &data) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                     reinterpret_cast<const Bytef *>(data.data()),
                                     static_cast<uInt>(data.size())));
}

/// One entry of a built archive: what it holds, how it is written, and what to break.
struct ZipSpec {
  ZipSpec(std::string entry_name, std::string entry_data)
      : name(std::move(entry_name)), data(std::move(entry_data)) {}

  std::string name;
  std::string data;              ///< uncompressed content
  bool deflate = false;          ///< method 8 (raw deflate) instead of 0 (stored)
  bool data_descriptor = false;  ///< flag bit 3: zeros in the local header, a descriptor after
  bool zip64 = false;            ///< sizes and offset as 0xFFFFFFFF plus ZIP64 extra fields
  uint64_t align = 0;  ///< pad the local extra field so the data starts at a multiple of this

  // Deliberate damage (unset: the values a correct writer would use).
  uint16_t extra_flags = 0;                     ///< ORed into both headers' flags
  std::optional<uint16_t> method;               ///< written in both headers
  std::optional<uint16_t> local_method;         ///< written in the local header only
  std::optional<std::string> payload;           ///< written as the data instead of (deflated) data
  std::optional<uint32_t> crc;                  ///< in both headers
  std::optional<uint64_t> compressed_size;      ///< in the central directory
  std::optional<uint64_t> uncompressed_size;    ///< in the central directory
  std::optional<uint64_t> local_header_offset;  ///< in the central directory
  std::optional<std::string> local_name;        ///< the name in the local header
  bool sentinel_without_zip64 = false;          ///< central sizes 0xFFFFFFFF, no ZIP64 field
  uint16_t disk = 0;                            ///< central "disk number start"
};

/// The archive around the entries.
struct ZipLayout {
  std::string lead_in;          ///< bytes before the first entry (offsets account for them)
  bool zip64_end = false;       ///< ZIP64 end record and locator, as PyTorch always writes
  bool classic_copies = false;  ///< with zip64_end: real values, not sentinels, in the end record
  std::string comment;          ///< the end record's comment
  std::string trailing;         ///< bytes after the comment, which then does not end at EOF

  // Deliberate damage.
  uint16_t disk = 0;                         ///< "number of this disk" in the end records
  uint32_t zip64_disk_count = 1;             ///< "total number of disks" in the locator
  std::optional<uint64_t> count;             ///< entry count in the end records
  std::optional<uint64_t> classic_count;     ///< entry count in the classic end record only
  std::optional<uint64_t> directory_offset;  ///< in the end records
  std::optional<uint64_t> directory_size;    ///< in the end records
};

/// Where build_zip put things, for tests that patch bytes afterwards.
struct ZipMap {
  std::vector<uint64_t> local_headers;
  std::vector<uint64_t> central_headers;
  uint64_t directory_offset = 0;
  uint64_t end_record = 0;
};

/// Writes `entries` as a zip archive, honouring every damage request in the specs.
inline std::string build_zip(const std::vector<ZipSpec> &entries, const ZipLayout &layout = {},
                             ZipMap *map = nullptr) {
  constexpr uint64_t kSentinel = 0xFFFFFFFF;
  ZipMap where;
  std::string out = layout.lead_in;
  std::string directory;
  for (const ZipSpec &spec : entries) {
    const std::string stored = spec.deflate ? deflate_raw(spec.data) : spec.data;
    const std::string &payload = spec.payload ? *spec.payload : stored;
    const uint16_t method = spec.method.value_or(spec.deflate ? 8 : 0);
    const uint32_t crc = spec.crc.value_or(zip_crc32(spec.data));
    const uint16_t flags =
        static_cast<uint16_t>((spec.data_descriptor ? 0x8 : 0) | spec.extra_flags);
    const uint64_t offset = out.size();
    where.local_headers.push_back(offset);

    const std::string &local_name = spec.local_name ? *spec.local_name : spec.name;
    std::string local_extra;
    if (spec.zip64) {
      put_u16(local_extra, 0x0001);
      put_u16(local_extra, 16);
      put_u64(local_extra, spec.data_descriptor ? 0 : spec.data.size());
      put_u64(local_extra, spec.data_descriptor ? 0 : payload.size());
    }
    if (spec.align != 0) {
      // PyTorch's padding record is 'FB' (0x4246) followed by zeros.
      const uint64_t unpadded = offset + 30 + local_name.size() + local_extra.size() + 4;
      const uint64_t padding = (spec.align - unpadded % spec.align) % spec.align;
      put_u16(local_extra, 0x4246);
      put_u16(local_extra, padding);
      local_extra.append(padding, '\0');
    }
    put_u32(out, 0x04034b50);
    put_u16(out, spec.zip64 ? 45 : 20);
    put_u16(out, flags);
    put_u16(out, spec.local_method.value_or(method));
    put_u16(out, 0);
    put_u16(out, 0x21);
    put_u32(out, spec.data_descriptor ? 0 : crc);
    put_u32(out, spec.data_descriptor ? 0 : spec.zip64 ? kSentinel : payload.size());
    put_u32(out, spec.data_descriptor ? 0 : spec.zip64 ? kSentinel : spec.data.size());
    put_u16(out, local_name.size());
    put_u16(out, local_extra.size());
    out += local_name;
    out += local_extra;
    out += payload;
    if (spec.data_descriptor) {
      put_u32(out, 0x08074b50);
      put_u32(out, crc);
      if (spec.zip64) {
        put_u64(out, payload.size());
        put_u64(out, spec.data.size());
      } else {
        put_u32(out, payload.size());
        put_u32(out, spec.data.size());
      }
    }

    const uint64_t compressed = spec.compressed_size.value_or(payload.size());
    const uint64_t uncompressed = spec.uncompressed_size.value_or(spec.data.size());
    const uint64_t header_offset = spec.local_header_offset.value_or(offset);
    std::string central_extra;
    if (spec.zip64) {
      put_u16(central_extra, 0x0001);
      put_u16(central_extra, 24);
      put_u64(central_extra, uncompressed);
      put_u64(central_extra, compressed);
      put_u64(central_extra, header_offset);
    }
    const bool sentinels = spec.zip64 || spec.sentinel_without_zip64;
    where.central_headers.push_back(directory.size());
    put_u32(directory, 0x02014b50);
    put_u16(directory, spec.zip64 ? 45 : 20);
    put_u16(directory, spec.zip64 ? 45 : 20);
    put_u16(directory, flags);
    put_u16(directory, method);
    put_u16(directory, 0);
    put_u16(directory, 0x21);
    put_u32(directory, crc);
    put_u32(directory, sentinels ? kSentinel : compressed);
    put_u32(directory, sentinels ? kSentinel : uncompressed);
    put_u16(directory, spec.name.size());
    put_u16(directory, central_extra.size());
    put_u16(directory, 0);
    put_u16(directory, spec.disk);
    put_u16(directory, 0);
    put_u32(directory, 0);
    put_u32(directory, spec.zip64 ? kSentinel : header_offset);
    directory += spec.name;
    directory += central_extra;
  }

  const uint64_t directory_offset = layout.directory_offset.value_or(out.size());
  const uint64_t directory_size = layout.directory_size.value_or(directory.size());
  const uint64_t count = layout.count.value_or(entries.size());
  where.directory_offset = out.size();
  for (uint64_t &header : where.central_headers) header += out.size();
  out += directory;
  if (layout.zip64_end) {
    const uint64_t record = out.size();
    put_u32(out, 0x06064b50);
    put_u64(out, 44);
    put_u16(out, 45);
    put_u16(out, 45);
    put_u32(out, layout.disk);
    put_u32(out, 0);
    put_u64(out, count);
    put_u64(out, count);
    put_u64(out, directory_size);
    put_u64(out, directory_offset);
    put_u32(out, 0x07064b50);
    put_u32(out, 0);
    put_u64(out, record);
    put_u32(out, layout.zip64_disk_count);
  }
  const bool copies = !layout.zip64_end || layout.classic_copies;
  const uint64_t classic_count = layout.classic_count.value_or(copies ? count : 0xFFFF);
  where.end_record = out.size();
  put_u32(out, 0x06054b50);
  put_u16(out, layout.zip64_end ? (copies ? layout.disk : 0xFFFF) : layout.disk);
  put_u16(out, layout.zip64_end && !copies ? 0xFFFF : 0);
  put_u16(out, classic_count);
  put_u16(out, classic_count);
  put_u32(out, copies ? directory_size : kSentinel);
  put_u32(out, copies ? directory_offset : kSentinel);
  put_u16(out, layout.comment.size());
  out += layout.comment;
  out += layout.trailing;
  if (map != nullptr) *map = where;
  return out;
}

}  // namespace statepack::test
