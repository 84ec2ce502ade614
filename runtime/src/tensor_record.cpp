// SPDX-License-Identifier: Apache-2.0
// Tensor records: read with every field checked, so a spk_tensor handed to the caller always
// describes bytes inside the blob whose size matches its dtype and shape. Lookup by name is a
// binary search over the sorted tensor vector.
#include <cstring>

#include "blob_internal.hpp"
#include "compiler.hpp"
#include "statepack/format.h"

namespace statepack {
namespace rt {
namespace {

constexpr uint64_t kNoSegment = 0xFFFFFFFFu;

bool known_dtype(uint64_t value) {
  return value >= SPK_DTYPE_F32 && value <= SPK_DTYPE_U4;
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
  *data = blob_bytes_at(blob, segment.offset);
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
    case SPK_QUANT_INT4_GROUP_ASYM:
    case SPK_QUANT_INT4_K: {
      // Groups run along rows: slices of axis 0 with later axes flattened (rank 1: one row),
      // so `axis` is 1 (0 for rank 1). A row's last group may be shorter (ragged tail).
      const int32_t group_axis = t->rank >= 2 ? 1 : 0;
      if (q.group_size == 0 || t->rank == 0 || q.axis != group_axis) {
        return SPK_ERR_BAD_QUANTIZATION;
      }
      const uint64_t rows = t->rank >= 2 ? t->shape[0] : 1;
      const uint64_t row = rows == 0 ? 0 : t->element_count / rows;
      const uint64_t groups_per_row = row / q.group_size + (row % q.group_size != 0 ? 1 : 0);
      if (mul_overflows(row == 0 ? 0 : rows, groups_per_row, count))
        return SPK_ERR_BAD_QUANTIZATION;
      // Int4K: one F16 scale per 16 consecutive sub-blocks (groups). The packer's groups are 16
      // long; the decoder follows any length, so it is not checked (code size).
      if (q.scheme == SPK_QUANT_INT4_K) *count = (*count + 15) / 16;
      return SPK_OK;
    }
    case SPK_QUANT_PALETTE:
      // group_size is the palette's length; the decoder checks every index against it.
      *count = q.group_size;
      return q.axis == -1 ? SPK_OK : SPK_ERR_BAD_QUANTIZATION;
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
    case SPK_QUANT_INT4_K:
      return dtype == SPK_DTYPE_U4;
    case SPK_QUANT_PALETTE:
      return dtype == SPK_DTYPE_U8 || dtype == SPK_DTYPE_U4;
  }
  return false;
}

// Tensor record `index`'s table. Out of line so read_tensor's frame holds only the table.
SPK_NOINLINE bool tensor_table(const spk_blob *blob, uint32_t index, FbTable *table) {
  return fb_vector_table(header_buffer(blob), FbVector{blob->tensors, blob->tensor_count}, index,
                         table);
}

// The functions below fill a spk_tensor in stages, each out of line, so that no two of their
// frames are ever stacked: spk_open checks every record with a spk_tensor on its stack, and
// the whole chain must fit the device budget of 512 bytes of stack for any call on a Cortex-M4.
// Scalar fields are read from tables of field descriptions, which is also the smallest code
// (the runtime's .text budget is 8 KB). A field outside its table is SPK_ERR_HEADER_MALFORMED,
// checked before any value.

// The Quantization table's 4-byte-or-smaller fields, in the order read_quant uses them.
enum QuantValue {
  kSchemeValue,
  kAxisValue,
  kGroupValue,
  kScaleDtypeValue,
  kScaleSegmentValue,
  kZeroPointDtypeValue,
  kZeroPointSegmentValue,
  kSqnrValue,
  kMaxErrorValue,
  kQuantValueCount
};
constexpr FbScalarField kQuantFields[kQuantValueCount] = {
    {quant_field::kScheme, 1, 0},
    {quant_field::kAxis, 4, -1},
    {quant_field::kGroupSize, 4, 0},
    {quant_field::kScaleDtype, 1, SPK_DTYPE_F32},
    {quant_field::kScaleSegment, 4, -1},
    {quant_field::kZeroPointDtype, 1, 0},
    {quant_field::kZeroPointSegment, 4, -1},
    {quant_field::kSqnrDb, 4, 0},
    {quant_field::kMaxAbsError, 4, 0},
};

// Only integer zero points the decoder reads (dequantize.cpp, load_integer); any other known
// dtype would open and then fail every decode (found by tests/fuzz/runtime_blob_fuzz.cpp).
bool integer_zero_point_dtype(uint32_t dtype) {
  return dtype == SPK_DTYPE_I8 || dtype == SPK_DTYPE_U8 || dtype == SPK_DTYPE_I16 ||
         dtype == SPK_DTYPE_U16 || dtype == SPK_DTYPE_I32;
}

// Schemes with a zero-point segment (Int4K keeps its sub-block scales there).
bool asymmetric(spk_quant_scheme scheme) {
  return scheme == SPK_QUANT_INT8_ASYM || scheme == SPK_QUANT_INT4_GROUP_ASYM ||
         scheme == SPK_QUANT_INT4_K;
}

// The tensor's optional quantization table (statepack.fbs's Quantization): every field, and
// the element types they allow. Counts and segments are read_quant_counts' and
// read_quant_params'. Needs the tensor's dtype first.
SPK_NOINLINE spk_status read_quant_fields(const spk_blob *blob, const FbTable &tensor,
                                          spk_tensor *t) {
  const FbBuffer buf = header_buffer(blob);
  FbTable table{};
  bool present = false;
  if (!fb_table_field(buf, tensor, tensor_field::kQuant, &present, &table)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (!present) return SPK_OK;
  spk_quant &q = t->quant;
  uint32_t f[kQuantValueCount];
  if (!fb_scalars32(buf, table, kQuantFields, kQuantValueCount, f) ||
      !fb_scalar(buf, table, quant_field::kOverflowCount, 8, 0, &q.overflow_count)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (f[kSchemeValue] > SPK_QUANT_PALETTE) return SPK_ERR_BAD_QUANTIZATION;
  q.scheme = static_cast<uint8_t>(f[kSchemeValue]);
  q.axis = static_cast<int32_t>(f[kAxisValue]);
  q.group_size = f[kGroupValue];
  q.scale_segment = f[kScaleSegmentValue];
  q.zero_point_segment = f[kZeroPointSegmentValue];
  std::memcpy(&q.sqnr_db, &f[kSqnrValue], sizeof(float));
  std::memcpy(&q.max_abs_error, &f[kMaxErrorValue], sizeof(float));
  if (!dtype_fits_scheme(static_cast<spk_quant_scheme>(q.scheme), static_cast<spk_dtype>(t->dtype)))
    return SPK_ERR_BAD_QUANTIZATION;
  // Scales are f32 or f16 for every scheme that has them (all but none and the casts).
  if (q.scheme != SPK_QUANT_NONE && q.scheme != SPK_QUANT_F16_CAST &&
      q.scheme != SPK_QUANT_BF16_CAST) {
    const uint32_t dtype = f[kScaleDtypeValue];
    if (dtype != SPK_DTYPE_F32 && dtype != SPK_DTYPE_F16) return SPK_ERR_BAD_QUANTIZATION;
    q.scale_dtype = static_cast<uint8_t>(dtype);
  }
  if (asymmetric(static_cast<spk_quant_scheme>(q.scheme))) {
    if (!integer_zero_point_dtype(f[kZeroPointDtypeValue])) return SPK_ERR_BAD_QUANTIZATION;
    q.zero_point_dtype = static_cast<uint8_t>(f[kZeroPointDtypeValue]);
  }
  return SPK_OK;
}

// How many scales (and zero points) the scheme needs for this shape, and which segments are
// allowed to be named: none when there are no parameters, no zero points when symmetric.
SPK_NOINLINE spk_status read_quant_counts(spk_tensor *t) {
  spk_quant &q = t->quant;
  uint64_t count = 0;
  const spk_status status = expected_param_count(t, &count);
  if (status != SPK_OK) return status;
  if (count == 0) {
    // Casts carry no parameters; refuse stray segment references rather than ignore them.
    return q.scale_segment == kNoSegment && q.zero_point_segment == kNoSegment
               ? SPK_OK
               : SPK_ERR_BAD_QUANTIZATION;
  }
  q.scale_count = count;
  if (!asymmetric(static_cast<spk_quant_scheme>(q.scheme))) {
    return q.zero_point_segment == kNoSegment ? SPK_OK : SPK_ERR_BAD_QUANTIZATION;
  }
  q.zero_point_count = count;
  return SPK_OK;
}

// The scale and zero-point segments read_quant_counts sized: each must hold exactly its count.
SPK_NOINLINE spk_status read_quant_params(const spk_blob *blob, spk_quant *q) {
  if (q->scale_count == 0) return SPK_OK;
  const spk_status s = param_segment(blob, q->scale_segment, static_cast<spk_dtype>(q->scale_dtype),
                                     q->scale_count, &q->scales);
  if (s != SPK_OK || q->zero_point_count == 0) return s;
  // Int4K: a 14-byte record of 16 7-bit sub-block scales per F16 scale.
  const uint64_t record = q->scheme == SPK_QUANT_INT4_K ? 14 : 1;
  return param_segment(blob, q->zero_point_segment, static_cast<spk_dtype>(q->zero_point_dtype),
                       q->zero_point_count * record, &q->zero_points);
}

SPK_NOINLINE spk_status read_shape(const spk_blob *blob, const FbTable &table, spk_tensor *t) {
  const FbBuffer buf = header_buffer(blob);
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

SPK_NOINLINE spk_status read_name(const spk_blob *blob, const FbTable &table, spk_tensor *t) {
  const FbBuffer buf = header_buffer(blob);
  FbVector name{};
  bool present = false;
  if (!fb_string_field(buf, table, tensor_field::kName, &present, &name)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (!present || name.count == 0) return SPK_ERR_BAD_TENSOR;
  if (name.count > SPK_MAX_NAME_LENGTH) return SPK_ERR_HEADER_LIMIT;
  t->name = reinterpret_cast<const char *>(buf.data + name.pos);
  t->name_length = name.count;
  return SPK_OK;
}

// The Tensor table's 4-byte-or-smaller fields besides the name, in read_data_fields' order.
enum DataValue {
  kDtypeValue,
  kSourceValue,
  kCodecValue,
  kFilterValue,
  kSegmentValue,
  kDataValueCount
};
constexpr FbScalarField kDataFields[kDataValueCount] = {
    {tensor_field::kDtype, 1, 0},  {tensor_field::kSourceDtype, 1, 0}, {tensor_field::kCodec, 1, 0},
    {tensor_field::kFilter, 1, 0}, {tensor_field::kDataSegment, 4, 0},
};

// Element types, codec, filter, sizes and the data segment's index. Needs the shape first.
SPK_NOINLINE spk_status read_data_fields(const spk_blob *blob, const FbTable &table,
                                         spk_tensor *t) {
  const FbBuffer buf = header_buffer(blob);
  uint32_t f[kDataValueCount];
  if (!fb_scalars32(buf, table, kDataFields, kDataValueCount, f) ||
      !fb_scalar(buf, table, tensor_field::kStoredSize, 8, 0, &t->stored_size) ||
      !fb_scalar(buf, table, tensor_field::kDecodedSize, 8, 0, &t->decoded_size)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  if (!known_dtype(f[kDtypeValue]) || (f[kSourceValue] != 0 && !known_dtype(f[kSourceValue])) ||
      f[kCodecValue] > SPK_CODEC_ZSTD_ADAPTIVE || f[kFilterValue] > SPK_FILTER_BYTE_GROUP_ROTATE ||
      f[kSegmentValue] >= blob->segment_count) {
    return SPK_ERR_BAD_TENSOR;
  }
  t->dtype = static_cast<uint8_t>(f[kDtypeValue]);
  t->source_dtype = static_cast<uint8_t>(f[kSourceValue]);
  t->codec = static_cast<uint8_t>(f[kCodecValue]);
  t->filter = static_cast<uint8_t>(f[kFilterValue]);
  t->segment = f[kSegmentValue];
  // The decoded size is fixed by dtype and shape.
  uint64_t expected = 0;
  if (!dtype_byte_size(static_cast<spk_dtype>(t->dtype), t->element_count, &expected) ||
      expected != t->decoded_size) {
    return SPK_ERR_BAD_TENSOR;
  }
  if (t->codec == SPK_CODEC_RAW &&
      (t->stored_size != t->decoded_size || t->filter != SPK_FILTER_NONE)) {
    return SPK_ERR_BAD_TENSOR;
  }
  return SPK_OK;
}

// The data segment: its size is the record's stored size.
SPK_NOINLINE spk_status read_data_segment(const spk_blob *blob, spk_tensor *t) {
  const Segment data = read_segment(blob, t->segment);
  if (data.size != t->stored_size) return SPK_ERR_BAD_TENSOR;
  t->data = blob_bytes_at(blob, data.offset);
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
  FbTable table{};
  FbVector string{};
  bool present = false;
  if (!tensor_table(blob, index, &table) ||
      !fb_string_field(header_buffer(blob), table, tensor_field::kName, &present, &string) ||
      !present) {
    return false;
  }
  *name = reinterpret_cast<const char *>(blob->header + string.pos);
  *length = string.count;
  return true;
}

spk_status read_tensor(const spk_blob *blob, uint32_t index, spk_tensor *out) {
  FbTable table{};
  if (!tensor_table(blob, index, &table)) {
    return SPK_ERR_HEADER_MALFORMED;
  }
  // Filled in place: a second spk_tensor on the stack would double this call's frame, and the
  // stack budget on a Cortex-M is tight. On failure *out holds a partial record (documented).
  std::memset(out, 0, sizeof(*out));
  out->index = index;
  out->quant.axis = -1;
  out->quant.scale_segment = SPK_NO_SEGMENT;
  out->quant.zero_point_segment = SPK_NO_SEGMENT;
  spk_status status = read_name(blob, table, out);
  if (status == SPK_OK) status = read_shape(blob, table, out);
  if (status == SPK_OK) status = read_data_fields(blob, table, out);
  if (status == SPK_OK) status = read_data_segment(blob, out);
  if (status == SPK_OK) status = read_quant_fields(blob, table, out);
  if (status == SPK_OK) status = read_quant_counts(out);
  if (status == SPK_OK) status = read_quant_params(blob, &out->quant);
  return status;
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
