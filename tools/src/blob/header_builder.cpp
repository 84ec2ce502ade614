// SPDX-License-Identifier: Apache-2.0
// Builds a blob's header and preamble (see header_builder.hpp for why this is a file of its
// own): the tensor table, segment table and metadata as FlatBuffers, and the fixed preamble
// with the checksums that cover them.
#include "header_builder.hpp"

#include <cstring>

#include "statepack/format.h"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/quant/quantize.hpp"
#include "statepack_generated.h"

namespace statepack {

namespace {

// One metadata entry; only the field of its kind is set.
flatbuffers::Offset<fb::MetaEntry> build_meta(flatbuffers::FlatBufferBuilder &b,
                                              const std::string &key, const MetaValue &v) {
  const auto key_offset = b.CreateString(key);
  const auto text = v.kind == MetaValue::Kind::kString ? b.CreateString(v.string_value) : 0;
  fb::MetaEntryBuilder entry(b);
  entry.add_key(key_offset);
  entry.add_kind(static_cast<fb::MetaKind>(v.kind));
  switch (v.kind) {
    case MetaValue::Kind::kString:
      entry.add_string_value(text);
      break;
    case MetaValue::Kind::kInt:
      entry.add_int_value(v.int_value);
      break;
    case MetaValue::Kind::kFloat:
      entry.add_float_value(v.float_value);
      break;
    case MetaValue::Kind::kBool:
      entry.add_bool_value(v.bool_value);
      break;
  }
  return entry.Finish();
}

// A quantized tensor's parameters and the segments that hold its scales and zero points.
flatbuffers::Offset<fb::Quantization> build_quant(flatbuffers::FlatBufferBuilder &b,
                                                  const QuantizedTensor &q,
                                                  const TensorSegments &segments) {
  fb::QuantizationBuilder qb(b);
  qb.add_scheme(static_cast<fb::QuantScheme>(q.spec.scheme));
  qb.add_axis(q.axis);
  qb.add_group_size(q.spec.group_size);
  if (segments.scales != kNoSegment) {
    qb.add_scale_dtype(static_cast<fb::DType>(q.scale_dtype));
    qb.add_scale_segment(segments.scales);
  }
  if (segments.zero_points != kNoSegment) {
    qb.add_zero_point_dtype(static_cast<fb::DType>(q.zero_point_dtype));
    qb.add_zero_point_segment(segments.zero_points);
  }
  qb.add_sqnr_db(static_cast<float>(q.sqnr_db));
  qb.add_max_abs_error(static_cast<float>(q.max_abs_error));
  qb.add_overflow_count(q.overflow_count);
  if (q.lossless) qb.add_lossless(true);
  return qb.Finish();
}

}  // namespace

std::vector<uint8_t> build_header(const std::map<std::string, MetaValue> &metadata_entries,
                                  const BlobLayout &layout, uint32_t alignment,
                                  bool explicit_codec) {
  flatbuffers::FlatBufferBuilder b(1024);
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  tensors.reserve(layout.tensors.size());
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const Tensor &t = *layout.tensors[i];
    const TensorSegments &segments = layout.tensor_segments[i];
    const PlannedSegment &data = layout.segments[segments.data];
    const auto name = b.CreateString(t.name);
    const auto shape = b.CreateVector(t.shape);
    const auto quant = t.quant ? build_quant(b, *t.quant, segments) : 0;
    fb::TensorBuilder tb(b);
    tb.add_name(name);
    tb.add_dtype(static_cast<fb::DType>(t.dtype));
    tb.add_shape(shape);
    tb.add_data_segment(segments.data);
    tb.add_stored_size(data.stored_size);
    tb.add_decoded_size(t.size);
    b.ForceDefaults(explicit_codec);
    tb.add_codec(!data.compressed   ? fb::Codec::Raw
                 : data.chunk_kinds ? fb::Codec::ZstdAdaptive
                                    : fb::Codec::Zstd);
    tb.add_filter(data.compressed ? static_cast<fb::Filter>(data.encoding.filter)
                                  : fb::Filter::None);
    b.ForceDefaults(false);
    const DType source = t.source_dtype == DType::kUnknown ? t.dtype : t.source_dtype;
    tb.add_source_dtype(static_cast<fb::DType>(source));
    if (t.quant) tb.add_quant(quant);
    tensors.push_back(tb.Finish());
  }
  std::vector<fb::Segment> segments;
  segments.reserve(layout.segments.size());
  for (const PlannedSegment &s : layout.segments) {
    segments.emplace_back(s.offset, s.stored_size, s.checksum);
  }
  std::vector<flatbuffers::Offset<fb::MetaEntry>> metadata;
  for (const auto &[key, value] : metadata_entries) metadata.push_back(build_meta(b, key, value));

  const auto tensor_vector = b.CreateVector(tensors);
  const auto segment_vector = b.CreateVectorOfStructs(segments);
  const auto meta_vector = b.CreateVector(metadata);
  fb::HeaderBuilder header(b);
  header.add_tensors(tensor_vector);
  header.add_segments(segment_vector);
  header.add_metadata(meta_vector);
  header.add_alignment(alignment);
  b.Finish(header.Finish(), SPK_FILE_IDENTIFIER);
  return std::vector<uint8_t>(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

std::map<std::string, MetaValue> header_metadata(const Checkpoint &checkpoint,
                                                 const PendingMetadata &pending, bool final) {
  std::map<std::string, MetaValue> entries = checkpoint.metadata;
  for (const auto &[key, placeholder] : pending.placeholders) entries[key] = placeholder;
  if (!final || pending.values == nullptr) return entries;
  const std::map<std::string, MetaValue> &values = pending.values->get();
  for (const auto &[key, value] : values) {
    const auto it = pending.placeholders.find(key);
    if (it == pending.placeholders.end() || it->second.kind != value.kind ||
        it->second.string_value.size() != value.string_value.size()) {
      throw Error(ErrorKind::kOutput,
                  "internal error: metadata \"" + key + "\" does not match its placeholder");
    }
    entries[key] = value;
  }
  return entries;
}

std::vector<uint8_t> build_preamble(ChecksumAlgo algo, uint64_t blob_size,
                                    const std::vector<uint8_t> &header) {
  std::vector<uint8_t> p(SPK_PREAMBLE_SIZE_V1, 0);
  const uint8_t magic[8] = {SPK_MAGIC_0, SPK_MAGIC_1, SPK_MAGIC_2, SPK_MAGIC_3,
                            SPK_MAGIC_4, SPK_MAGIC_5, SPK_MAGIC_6, SPK_MAGIC_7};
  std::memcpy(p.data() + SPK_PRE_MAGIC, magic, sizeof(magic));
  store_le16(p.data() + SPK_PRE_FORMAT_MAJOR, SPK_FORMAT_MAJOR);
  // A blob without format 1.1's digest block stays 1.0 (blob_seal writes 1.1).
  store_le16(p.data() + SPK_PRE_FORMAT_MINOR, 0);
  store_le32(p.data() + SPK_PRE_PREAMBLE_SIZE, SPK_PREAMBLE_SIZE_V1);
  store_le64(p.data() + SPK_PRE_BLOB_SIZE, blob_size);
  store_le64(p.data() + SPK_PRE_HEADER_OFFSET, SPK_PREAMBLE_SIZE_V1);
  store_le64(p.data() + SPK_PRE_HEADER_SIZE, header.size());
  p[SPK_PRE_CHECKSUM_ALGO] = static_cast<uint8_t>(algo);
  store_le64(p.data() + SPK_PRE_HEADER_CHECKSUM, checksum(algo, header.data(), header.size()));
  const size_t covered = SPK_PREAMBLE_SIZE_V1 - 8;
  store_le64(p.data() + covered, checksum(algo, p.data(), covered));
  return p;
}

}  // namespace statepack
