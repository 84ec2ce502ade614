// Tensor records: read with every field checked, so a spk_tensor handed to the caller always
// describes bytes inside the blob whose size matches its dtype and shape. Lookup by name is a
// binary search over the sorted tensor vector.
#include <cstring>

#include "blob_internal.hpp"
#include "statepack/format.h"

namespace statepack {
namespace rt {
namespace {

constexpr uint64_t kNoSegment = 0xFFFFFFFFu;

bool known_dtype(uint64_t value) {
  return value >= SPK_DTYPE_F32 && value <= SPK_DTYPE_U4;
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t *product) {
  return __builtin_mul_overflow(a, b, product);
}

// A parameter segment: must exist and hold exactly `count` elements of `dtype`.
spk_status param_segment(const spk_blob *blob, uint64_t index, spk_dtype dtype, uint64_t count,
                         const void **data) {
  uint64_t bytes = 0;
  if (index >= blob->segment_count || !dtype_byte_size(dtype, count, &bytes)) {
    return SPK_ERR_BAD_QUANTIZATION;
  }
  const Segment segment = read_segment(blob, static_cast<uint32_t>(index));
  if (segment.size != bytes) return SPK_ERR_BAD_QUANTIZATION;
  *data = blob->data + segment.offset;
  return SPK_OK;
}

// How many scales (and zero points) a scheme needs for a tensor; 0 for casts.
spk_status expected_param_count(const spk_tensor *t, uint64_t *count) {
  const spk_quant &q = t->quant;
  switch (q.scheme) {
    case SPK_QUANT_F16_CAST:
    case SPK_QUANT_BF16_CAST:
      *count = 0;
      return q.axis == -1 && q.group_size == 0 ? SPK_OK : SPK_ERR_BAD_QUANTIZATION;
    case SPK_QUANT_INT8_TENSOR:
      *count = 1;
      return q.axis == -1 && q.group_size == 0 ? SPK_OK : SPK_ERR_BAD_QUANTIZATION;
    case SPK_QUANT_INT8_CHANNEL:
    case SPK_QUANT_INT8_ASYM:
      if (q.group_size != 0) return SPK_ERR_BAD_QUANTIZATION;
      if (q.axis == -1) {
        *count = 1;
        return SPK_OK;
      }
      if (q.axis < 0 || static_cast<uint32_t>(q.axis) >= t->rank) return SPK_ERR_BAD_QUANTIZATION;
      *count = t->shape[q.axis];
      return SPK_OK;
    case SPK_QUANT_INT8_GROUP:
    case SPK_QUANT_INT4_GROUP:
    case SPK_QUANT_INT4_GROUP_ASYM: {
      // Groups run along rows: slices of axis 0 with later axes flattened (rank 1: one row),
      // so `axis` is 1 (0 for rank 1). A row's last group may be shorter (ragged tail).
      const int32_t group_axis = t->rank >= 2 ? 1 : 0;
      if (q.group_size == 0 || t->rank == 0 || q.axis != group_axis) {
        return SPK_ERR_BAD_QUANTIZATION;
      }
      const uint64_t rows = t->rank >= 2 ? t->shape[0] : 1;
      const uint64_t row = rows == 0 ? 0 : t->element_count / rows;
      const uint64_t groups_per_row = row / q.group_size + (row % q.group_size != 0 ? 1 : 0);
      return mul_overflows(row == 0 ? 0 : rows, groups_per_row, count) ? SPK_ERR_BAD_QUANTIZATION
                                                                       : SPK_OK;
    }
    case SPK_QUANT_NONE:
      *count = 0;
      return SPK_OK;
  }
  return SPK_ERR_BAD_QUANTIZATION;
}

// The element type each scheme stores, so a tensor cannot claim int4 data in an f32 dtype.
bool dtype_fits_scheme(spk_quant_scheme scheme, spk_dtype dtype) {
  switch (scheme) {
    case SPK_QUANT_NONE:
      return true;
    case SPK_QUANT_F16_CAST:
      return dtype == SPK_DTYPE_F16;
    case SPK_QUANT_BF16_CAST:
      return dtype == SPK_DTYPE_BF16;
    case SPK_QUANT_INT8_CHANNEL:
    case SPK_QUANT_INT8_TENSOR:
    case SPK_QUANT_INT8_GROUP:
      return dtype == SPK_DTYPE_I8;
    case SPK_QUANT_INT8_ASYM:
      return dtype == SPK_DTYPE_I8 || dtype == SPK_DTYPE_U8;
    case SPK_QUANT_INT4_GROUP:
      return dtype == SPK_DTYPE_I4;
    case SPK_QUANT_INT4_GROUP_ASYM:
      return dtype == SPK_DTYPE_U4;
  }
  return false;
}

spk_status read_quant(const spk_blob *blob, const FbTable &table, spk_tensor *t) {
  const FbBuffer buf = header_buffer(blob);
  uint64_t scheme = 0, axis = 0, group = 0, scale_dtype = 0, scale_segment = 0, zp_dtype = 0,
           zp_segment = 0, sqnr = 0, max_err = 0, overflow = 0;
  if (!fb_scalar(buf, table, quant_field::kScheme, 1, 0, &scheme) ||
      !fb_scalar(buf, table, quant_field::kAxis, 4, 0xFFFFFFFFu, &axis) ||
      !fb_scalar(buf, table, quant_field::kGroupSize, 4, 0, &group) ||
      !fb_scalar(buf, table, quant_field::kScaleDtype, 1, SPK_DTYPE_F32, &scale_dtype) ||
      !fb_scalar(buf, table, quant_field::kScaleSegment, 4, kNoSegment, &scale_segment) ||
      !fb_scalar(buf, table, quant_field::kZeroPointDtype, 1, 0, &zp_dtype) ||
      !fb_scalar(buf, table, quant_field::kZeroPointSegment, 4, kNoSegment, &zp_segment) ||
      !fb_scalar(buf, table, quant_field::kSqnrDb, 4, 0, &sqnr) ||
      !fb_scalar(buf, table, quant_field::kMaxAbsError, 4, 0, &max_err) ||
      !fb_scalar(buf, table, quant_field::kOverflowCount, 8, 0, &overflow)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  spk_quant &q = t->quant;
  if (scheme > SPK_QUANT_BF16_CAST) return SPK_ERR_BAD_QUANTIZATION;
  q.scheme = static_cast<spk_quant_scheme>(scheme);
  q.axis = static_cast<int32_t>(static_cast<uint32_t>(axis));
  q.group_size = static_cast<uint32_t>(group);
  const auto sqnr_bits = static_cast<uint32_t>(sqnr), err_bits = static_cast<uint32_t>(max_err);
  std::memcpy(&q.sqnr_db, &sqnr_bits, sizeof(float));
  std::memcpy(&q.max_abs_error, &err_bits, sizeof(float));
  q.overflow_count = overflow;
  if (!dtype_fits_scheme(q.scheme, t->dtype)) return SPK_ERR_BAD_QUANTIZATION;

  uint64_t count = 0;
  const spk_status status = expected_param_count(t, &count);
  if (status != SPK_OK) return status;
  if (count == 0) {
    // Casts carry no parameters; refuse stray segment references rather than ignore them.
    return scale_segment == kNoSegment && zp_segment == kNoSegment ? SPK_OK
                                                                   : SPK_ERR_BAD_QUANTIZATION;
  }
  if (scale_dtype != SPK_DTYPE_F32 && scale_dtype != SPK_DTYPE_F16) return SPK_ERR_BAD_QUANTIZATION;
  q.scale_dtype = static_cast<spk_dtype>(scale_dtype);
  q.scale_count = count;
  spk_status s = param_segment(blob, scale_segment, q.scale_dtype, count, &q.scales);
  if (s != SPK_OK) return s;
  q.scale_segment = static_cast<uint32_t>(scale_segment);
  const bool asymmetric = q.scheme == SPK_QUANT_INT8_ASYM || q.scheme == SPK_QUANT_INT4_GROUP_ASYM;
  if (!asymmetric) {
    return zp_segment == kNoSegment ? SPK_OK : SPK_ERR_BAD_QUANTIZATION;
  }
  // Only integer zero points the decoder reads (dequantize.cpp, load_integer); any other known
  // dtype would open and then fail every decode (found by tests/fuzz/runtime_blob_fuzz.cpp).
  if (zp_dtype != SPK_DTYPE_I8 && zp_dtype != SPK_DTYPE_U8 && zp_dtype != SPK_DTYPE_I16 &&
      zp_dtype != SPK_DTYPE_U16 && zp_dtype != SPK_DTYPE_I32) {
    return SPK_ERR_BAD_QUANTIZATION;
  }
  q.zero_point_dtype = static_cast<spk_dtype>(zp_dtype);
  q.zero_point_count = count;
  q.zero_point_segment = static_cast<uint32_t>(zp_segment);
  return param_segment(blob, zp_segment, q.zero_point_dtype, count, &q.zero_points);
}

spk_status read_shape(const FbBuffer &buf, const FbTable &table, spk_tensor *t) {
  FbVector shape{};
  if (!fb_vector_field(buf, table, tensor_field::kShape, 8, &shape)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (shape.count > SPK_MAX_RANK) return SPK_ERR_HEADER_LIMIT;
  t->rank = shape.count;
  t->element_count = 1;
  for (uint32_t d = 0; d < shape.count; ++d) {
    t->shape[d] = load_u64(buf.data + shape.pos + 8u * d);
    if (mul_overflows(t->element_count, t->shape[d], &t->element_count)) {
      return SPK_ERR_BAD_TENSOR;
    }
  }
  return SPK_OK;
}

}  // namespace

Segment read_segment(const spk_blob *blob, uint32_t index) {
  const uint8_t *record = blob->header + blob->segments + kSegmentRecordSize * index;
  return Segment{load_u64(record), load_u64(record + 8), load_u64(record + 16)};
}

int compare_names(const char *a, uint32_t a_length, const char *b, uint32_t b_length) {
  const uint32_t common = a_length < b_length ? a_length : b_length;
  const int c = std::memcmp(a, b, common);
  if (c != 0) return c;
  return a_length < b_length ? -1 : (a_length > b_length ? 1 : 0);
}

bool read_tensor_name(const spk_blob *blob, uint32_t index, const char **name, uint32_t *length) {
  const FbBuffer buf = header_buffer(blob);
  const FbVector tensors{blob->tensors, blob->tensor_count};
  FbTable table{};
  FbVector string{};
  bool present = false;
  if (!fb_vector_table(buf, tensors, index, &table) ||
      !fb_string_field(buf, table, tensor_field::kName, &present, &string) || !present) {
    return false;
  }
  *name = reinterpret_cast<const char *>(buf.data + string.pos);
  *length = string.count;
  return true;
}

spk_status read_tensor(const spk_blob *blob, uint32_t index, spk_tensor *out) {
  const FbBuffer buf = header_buffer(blob);
  const FbVector tensors{blob->tensors, blob->tensor_count};
  FbTable table{};
  if (!fb_vector_table(buf, tensors, index, &table)) return SPK_ERR_HEADER_MALFORMED;

  // Filled in place: a second spk_tensor on the stack would double this call's frame, and the
  // stack budget on a Cortex-M is tight. On failure *out holds a partial record (documented).
  spk_tensor &t = *out;
  std::memset(&t, 0, sizeof(t));
  t.index = index;
  t.quant.axis = -1;
  t.quant.scale_segment = SPK_NO_SEGMENT;
  t.quant.zero_point_segment = SPK_NO_SEGMENT;
  FbVector name{};
  bool present = false;
  if (!fb_string_field(buf, table, tensor_field::kName, &present, &name)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (!present || name.count == 0) return SPK_ERR_BAD_TENSOR;
  if (name.count > SPK_MAX_NAME_LENGTH) return SPK_ERR_HEADER_LIMIT;
  t.name = reinterpret_cast<const char *>(buf.data + name.pos);
  t.name_length = name.count;

  uint64_t dtype = 0, segment = 0, stored = 0, decoded = 0, codec = 0, filter = 0, source = 0;
  if (!fb_scalar(buf, table, tensor_field::kDtype, 1, 0, &dtype) ||
      !fb_scalar(buf, table, tensor_field::kDataSegment, 4, 0, &segment) ||
      !fb_scalar(buf, table, tensor_field::kStoredSize, 8, 0, &stored) ||
      !fb_scalar(buf, table, tensor_field::kDecodedSize, 8, 0, &decoded) ||
      !fb_scalar(buf, table, tensor_field::kCodec, 1, 0, &codec) ||
      !fb_scalar(buf, table, tensor_field::kFilter, 1, 0, &filter) ||
      !fb_scalar(buf, table, tensor_field::kSourceDtype, 1, 0, &source)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  spk_status status = read_shape(buf, table, &t);
  if (status != SPK_OK) return status;
  if (!known_dtype(dtype) || (source != 0 && !known_dtype(source)) || codec > SPK_CODEC_ZSTD ||
      filter > SPK_FILTER_BYTE_GROUP_ROTATE || segment >= blob->segment_count) {
    return SPK_ERR_BAD_TENSOR;
  }
  t.dtype = static_cast<spk_dtype>(dtype);
  t.source_dtype = static_cast<spk_dtype>(source);
  t.codec = static_cast<spk_codec>(codec);
  t.filter = static_cast<spk_filter>(filter);
  t.segment = static_cast<uint32_t>(segment);
  t.stored_size = stored;
  t.decoded_size = decoded;

  // The decoded size is fixed by dtype and shape; the stored size by the segment.
  uint64_t expected = 0;
  if (!dtype_byte_size(t.dtype, t.element_count, &expected) || expected != decoded) {
    return SPK_ERR_BAD_TENSOR;
  }
  const Segment data = read_segment(blob, t.segment);
  if (data.size != stored) return SPK_ERR_BAD_TENSOR;
  if (t.codec == SPK_CODEC_RAW && (stored != decoded || t.filter != SPK_FILTER_NONE)) {
    return SPK_ERR_BAD_TENSOR;
  }
  t.data = blob->data + data.offset;

  FbTable quant{};
  if (!fb_table_field(buf, table, tensor_field::kQuant, &present, &quant)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (present) {
    status = read_quant(blob, quant, &t);
    if (status != SPK_OK) return status;
  }
  return SPK_OK;
}

}  // namespace rt
}  // namespace statepack

using namespace statepack::rt;

extern "C" spk_status spk_tensor_at(const spk_blob *blob, uint32_t index, spk_tensor *out) {
  if (!is_open(blob) || out == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  if (index >= blob->tensor_count) return SPK_ERR_OUT_OF_RANGE;
  return read_tensor(blob, index, out);
}

extern "C" spk_status spk_find_n(const spk_blob *blob, const char *name, size_t name_length,
                                 spk_tensor *out) {
  if (!is_open(blob) || name == nullptr || out == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  if (name_length > SPK_MAX_NAME_LENGTH) return SPK_ERR_NOT_FOUND;
  const auto length = static_cast<uint32_t>(name_length);
  uint32_t low = 0, high = blob->tensor_count;
  while (low < high) {
    const uint32_t mid = low + (high - low) / 2;
    const char *candidate = nullptr;
    uint32_t candidate_length = 0;
    if (!read_tensor_name(blob, mid, &candidate, &candidate_length)) {
      return SPK_ERR_HEADER_MALFORMED;
    }
    const int c = compare_names(candidate, candidate_length, name, length);
    if (c == 0) return read_tensor(blob, mid, out);
    if (c < 0) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return SPK_ERR_NOT_FOUND;
}

extern "C" spk_status spk_find(const spk_blob *blob, const char *name, spk_tensor *out) {
  if (name == nullptr) return SPK_ERR_INVALID_ARGUMENT;
  return spk_find_n(blob, name, std::strlen(name), out);
}
