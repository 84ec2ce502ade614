// SPDX-License-Identifier: Apache-2.0
// Builds blobs whose header the test writes itself (with flatc's builder), to provoke the
// runtime's structural and semantic checks with blobs whose checksums are all correct.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "statepack/format.h"
#include "statepack/tools/core/checksum.hpp"
#include "statepack_generated.h"

namespace statepack::test {

inline void put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

/// Recomputes the header and preamble checksums of a blob in place, so a mutation of the
/// header reaches the structural checks instead of stopping at the checksum.
inline void reseal(std::vector<uint8_t> &blob) {
  const auto algo = static_cast<ChecksumAlgo>(blob[SPK_PRE_CHECKSUM_ALGO]);
  const uint64_t offset = get_u64(blob.data() + SPK_PRE_HEADER_OFFSET);
  const uint64_t size = get_u64(blob.data() + SPK_PRE_HEADER_SIZE);
  put_u64(blob.data() + SPK_PRE_HEADER_CHECKSUM, checksum(algo, blob.data() + offset, size));
  put_u64(blob.data() + SPK_PREAMBLE_SIZE_V1 - 8,
          checksum(algo, blob.data(), SPK_PREAMBLE_SIZE_V1 - 8));
}

/// Builds a header from the segment table it is given (offsets, sizes, checksums).
using HeaderMaker = std::function<std::vector<uint8_t>(const std::vector<fb::Segment> &)>;

/// Lays out `segments` after the header the maker builds (at `alignment`), lets `edit` change
/// the segment table before the final header is built, and seals the result with XXH64.
inline std::vector<uint8_t> assemble_blob(
    const HeaderMaker &make_header, const std::vector<std::vector<uint8_t>> &segments,
    uint32_t alignment = 64,
    const std::function<void(std::vector<fb::Segment> &)> &edit = nullptr) {
  std::vector<fb::Segment> table(segments.size());
  const uint64_t header_size = make_header(table).size();
  uint64_t end = SPK_PREAMBLE_SIZE_V1 + header_size;
  for (size_t i = 0; i < segments.size(); ++i) {
    const uint64_t offset = (end + alignment - 1) / alignment * alignment;
    table[i] = fb::Segment(offset, segments[i].size(),
                           checksum(ChecksumAlgo::kXxh64, segments[i].data(), segments[i].size()));
    end = offset + segments[i].size();
  }
  if (edit) edit(table);
  const std::vector<uint8_t> header = make_header(table);
  std::vector<uint8_t> blob(end, 0);
  const uint8_t magic[8] = {SPK_MAGIC_0, SPK_MAGIC_1, SPK_MAGIC_2, SPK_MAGIC_3,
                            SPK_MAGIC_4, SPK_MAGIC_5, SPK_MAGIC_6, SPK_MAGIC_7};
  std::memcpy(blob.data(), magic, 8);
  blob[SPK_PRE_FORMAT_MAJOR] = SPK_FORMAT_MAJOR;
  blob[SPK_PRE_PREAMBLE_SIZE] = SPK_PREAMBLE_SIZE_V1;
  put_u64(blob.data() + SPK_PRE_BLOB_SIZE, end);
  put_u64(blob.data() + SPK_PRE_HEADER_OFFSET, SPK_PREAMBLE_SIZE_V1);
  put_u64(blob.data() + SPK_PRE_HEADER_SIZE, header.size());
  blob[SPK_PRE_CHECKSUM_ALGO] = static_cast<uint8_t>(ChecksumAlgo::kXxh64);
  std::memcpy(blob.data() + SPK_PREAMBLE_SIZE_V1, header.data(), header.size());
  // Data goes where the honest layout puts it, whatever `edit` claims in the table.
  uint64_t position = SPK_PREAMBLE_SIZE_V1 + header_size;
  for (const auto &segment : segments) {
    position = (position + alignment - 1) / alignment * alignment;
    if (!segment.empty()) std::memcpy(blob.data() + position, segment.data(), segment.size());
    position += segment.size();
  }
  reseal(blob);
  return blob;
}

/// Description of one tensor record for make_tensor_header.
struct TensorRecord {
  std::string name;
  fb::DType dtype = fb::DType::F32;
  std::vector<uint64_t> shape;
  uint32_t segment = 0;
  uint64_t stored_size = 0;
  uint64_t decoded_size = 0;
  fb::Codec codec = fb::Codec::Raw;
  fb::Filter filter = fb::Filter::None;
};

/// A header with these tensor records (in the given order, sorted or not) and no metadata.
inline HeaderMaker make_tensor_header(std::vector<TensorRecord> records, uint32_t alignment = 64) {
  return [records, alignment](const std::vector<fb::Segment> &table) {
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
    for (const TensorRecord &r : records) {
      const auto name = b.CreateString(r.name);
      const auto shape = b.CreateVector(r.shape);
      fb::TensorBuilder t(b);
      t.add_name(name);
      t.add_dtype(r.dtype);
      t.add_shape(shape);
      t.add_data_segment(r.segment);
      t.add_stored_size(r.stored_size);
      t.add_decoded_size(r.decoded_size);
      t.add_codec(r.codec);
      t.add_filter(r.filter);
      t.add_source_dtype(r.dtype);
      tensors.push_back(t.Finish());
    }
    const auto tv = b.CreateVector(tensors);
    const auto sv = b.CreateVectorOfStructs(table);
    fb::HeaderBuilder h(b);
    h.add_tensors(tv);
    h.add_segments(sv);
    h.add_alignment(alignment);
    b.Finish(h.Finish(), SPK_FILE_IDENTIFIER);
    return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
  };
}

}  // namespace statepack::test
