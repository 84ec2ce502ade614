// The blob writer. The header is built twice: once to learn its size (segment offsets depend
// on it), once with the final offsets; offsets are fixed-size struct fields, so both builds
// have the same size. Data is then streamed in order, so output needs no seeking.
#include "statepack/tools/blob_writer.hpp"

#include <cstring>

#include "statepack/format.h"
#include "statepack/statepack.h"
#include "statepack/tools/atomic_output.hpp"
#include "statepack/tools/blob_layout.hpp"
#include "statepack/tools/error.hpp"
#include "statepack_generated.h"

namespace statepack {
namespace {

}  // namespace

void check_blob_options(const BlobOptions &options) {
  const uint32_t a = options.alignment;
  if (a < 8 || a > SPK_MAX_ALIGNMENT || (a & (a - 1)) != 0) {
    fail_usage("--align must be a power of two from 8 to 65536, got " + std::to_string(a));
  }
  if (options.checksum != ChecksumAlgo::kXxh64 && options.checksum != ChecksumAlgo::kXxh32) {
    fail_usage("unknown checksum algorithm");
  }
}

namespace {

// Refuses what the format cannot describe, before anything is written.
void check_tensor(const Tensor &t) {
  const std::string where = "tensor \"" + t.name + "\"";
  if (t.name.empty()) throw Error(ErrorKind::kInput, "a tensor has an empty name");
  if (t.name.size() > SPK_MAX_NAME_LENGTH) {
    throw Error(ErrorKind::kInput, where.substr(0, 80) + "...: name longer than 65535 bytes");
  }
  if (t.shape.size() > SPK_MAX_RANK) {
    throw Error(ErrorKind::kInput, where + ": rank " + std::to_string(t.shape.size()) +
                                       " exceeds the format's limit of 8");
  }
  uint64_t count = 1;
  for (uint64_t d : t.shape) {
    if (__builtin_mul_overflow(count, d, &count)) {
      throw Error(ErrorKind::kInput, where + ": element count overflows 64 bits");
    }
  }
  const auto bytes = byte_size(t.dtype, count);
  if (!bytes || *bytes != t.size) {
    throw Error(ErrorKind::kInput, where + ": " + std::to_string(t.size) +
                                       " bytes do not match its shape and dtype " +
                                       std::string(dtype_name(t.dtype)));
  }
}

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

std::vector<uint8_t> build_header(const Checkpoint &checkpoint, const BlobLayout &layout,
                                  uint32_t alignment) {
  flatbuffers::FlatBufferBuilder b(1024);
  std::vector<flatbuffers::Offset<fb::Tensor>> tensors;
  tensors.reserve(layout.tensors.size());
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const Tensor &t = *layout.tensors[i];
    const auto name = b.CreateString(t.name);
    const auto shape = b.CreateVector(t.shape);
    fb::TensorBuilder tb(b);
    tb.add_name(name);
    tb.add_dtype(static_cast<fb::DType>(t.dtype));
    tb.add_shape(shape);
    tb.add_data_segment(layout.tensor_segment[i]);
    tb.add_stored_size(t.size);
    tb.add_decoded_size(t.size);
    tb.add_source_dtype(static_cast<fb::DType>(t.dtype));
    tensors.push_back(tb.Finish());
  }
  std::vector<fb::Segment> segments;
  segments.reserve(layout.segments.size());
  for (const PlannedSegment &s : layout.segments) {
    segments.emplace_back(s.offset, s.size, s.checksum);
  }
  std::vector<flatbuffers::Offset<fb::MetaEntry>> metadata;
  for (const auto &[key, value] : checkpoint.metadata)
    metadata.push_back(build_meta(b, key, value));

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

void store_u16(uint8_t *p, uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void store_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void store_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

std::vector<uint8_t> build_preamble(ChecksumAlgo algo, uint64_t blob_size,
                                    const std::vector<uint8_t> &header) {
  std::vector<uint8_t> p(SPK_PREAMBLE_SIZE_V1, 0);
  const uint8_t magic[8] = {SPK_MAGIC_0, SPK_MAGIC_1, SPK_MAGIC_2, SPK_MAGIC_3,
                            SPK_MAGIC_4, SPK_MAGIC_5, SPK_MAGIC_6, SPK_MAGIC_7};
  std::memcpy(p.data() + SPK_PRE_MAGIC, magic, sizeof(magic));
  store_u16(p.data() + SPK_PRE_FORMAT_MAJOR, SPK_FORMAT_MAJOR);
  store_u16(p.data() + SPK_PRE_FORMAT_MINOR, SPK_FORMAT_MINOR);
  store_u32(p.data() + SPK_PRE_PREAMBLE_SIZE, SPK_PREAMBLE_SIZE_V1);
  store_u64(p.data() + SPK_PRE_BLOB_SIZE, blob_size);
  store_u64(p.data() + SPK_PRE_HEADER_OFFSET, SPK_PREAMBLE_SIZE_V1);
  store_u64(p.data() + SPK_PRE_HEADER_SIZE, header.size());
  p[SPK_PRE_CHECKSUM_ALGO] = static_cast<uint8_t>(algo);
  store_u64(p.data() + SPK_PRE_HEADER_CHECKSUM, checksum(algo, header.data(), header.size()));
  const size_t covered = SPK_PREAMBLE_SIZE_V1 - 8;
  store_u64(p.data() + covered, checksum(algo, p.data(), covered));
  return p;
}

void write_zeros(const ByteSink &sink, uint64_t count) {
  static const uint8_t zeros[4096] = {};
  while (count > 0) {
    const size_t n = count < sizeof(zeros) ? static_cast<size_t>(count) : sizeof(zeros);
    sink(zeros, n);
    count -= n;
  }
}

}  // namespace

uint64_t write_blob(const Checkpoint &checkpoint, const BlobOptions &options,
                    const ByteSink &sink) {
  check_blob_options(options);
  // The runtime's limits are the format's: a blob the runtime would refuse is never written.
  if (checkpoint.tensors.size() > SPK_MAX_TENSORS) {
    throw Error(ErrorKind::kInput, std::to_string(checkpoint.tensors.size()) +
                                       " tensors exceed the format's limit of " +
                                       std::to_string(SPK_MAX_TENSORS));
  }
  if (checkpoint.metadata.size() > SPK_MAX_METADATA) {
    throw Error(ErrorKind::kInput, std::to_string(checkpoint.metadata.size()) +
                                       " metadata entries exceed the format's limit of " +
                                       std::to_string(SPK_MAX_METADATA));
  }
  for (const auto &entry : checkpoint.metadata) {
    if (entry.first.empty() || entry.first.size() > SPK_MAX_NAME_LENGTH) {
      throw Error(ErrorKind::kInput, "metadata key \"" + entry.first.substr(0, 80) +
                                         "\" is empty or longer than 65535 bytes");
    }
  }
  for (const Tensor &t : checkpoint.tensors) check_tensor(t);
  BlobLayout layout = plan_segments(checkpoint, options.checksum);

  const size_t header_size = build_header(checkpoint, layout, options.alignment).size();
  if (header_size > SPK_MAX_HEADER_SIZE) {
    throw Error(ErrorKind::kInput, "the header would exceed 2 GiB");
  }
  const uint64_t header_end = SPK_PREAMBLE_SIZE_V1 + header_size;
  const uint64_t blob_size = place_segments(layout, header_end, options.alignment);
  const std::vector<uint8_t> header = build_header(checkpoint, layout, options.alignment);
  if (header.size() != header_size) {
    throw Error(ErrorKind::kOutput, "internal error: header size changed between builds");
  }

  const std::vector<uint8_t> preamble = build_preamble(options.checksum, blob_size, header);
  sink(preamble.data(), preamble.size());
  sink(header.data(), header.size());
  uint64_t position = header_end;
  for (const PlannedSegment &segment : layout.segments) {
    write_zeros(sink, segment.offset - position);
    if (segment.size > 0) sink(segment.data, segment.size);
    position = segment.offset + segment.size;
  }
  return blob_size;
}

void write_blob_file(const std::string &path, const Checkpoint &checkpoint,
                     const BlobOptions &options) {
  AtomicOutput out(path);
  write_blob(checkpoint, options, [&out](const void *data, size_t size) { out.write(data, size); });
  out.commit();
}

std::vector<uint8_t> build_blob(const Checkpoint &checkpoint, const BlobOptions &options) {
  std::vector<uint8_t> bytes;
  write_blob(checkpoint, options, [&bytes](const void *data, size_t size) {
    const auto *p = static_cast<const uint8_t *>(data);
    bytes.insert(bytes.end(), p, p + size);
  });
  return bytes;
}

}  // namespace statepack
