/* SPDX-License-Identifier: Apache-2.0 */
/* The C ABI of statepack.h, pinned: the size, alignment and every field's offset and size of each
 * public struct, and every constant's value, checked by the compiler (_Static_assert). Built as
 * C11 with -fshort-enums and with -fno-short-enums, for the host (64-bit) and for Cortex-M
 * (32-bit AAPCS), each against a runtime library built with the project's own flags: the layout
 * must not depend on the flags. At run time the program reads a tensor, a
 * metadata entry and a stream verdict that the library filled, so a layout disagreement shows
 * as wrong values as well. Prints "abi: ok" and exits 0. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "abi_blob.h"
#include "board/console.h"
#include "statepack/statepack.h"

/* Expected layouts: LP64 (x86-64, AArch64 and the other 64-bit Linux targets: 8-byte pointers,
 * 8-byte aligned uint64_t) and AAPCS (32-bit Arm: 4-byte pointers, 8-byte aligned uint64_t). */
#if UINTPTR_MAX == UINT64_MAX
#define SPK_ABI_PICK(lp64, aapcs) (lp64)
#elif defined(__ARM_EABI__)
#define SPK_ABI_PICK(lp64, aapcs) (aapcs)
#else
#error "tests/abi/abi_test.c has no expected layout for this target"
#endif

#define SPK_ABI_STRUCT(type, size64, align64, size32, align32)                       \
  _Static_assert(sizeof(type) == SPK_ABI_PICK(size64, size32), "sizeof(" #type ")"); \
  _Static_assert(_Alignof(type) == SPK_ABI_PICK(align64, align32), "_Alignof(" #type ")")
#define SPK_ABI_FIELD(type, member, offset64, size64, offset32, size32)             \
  _Static_assert(offsetof(type, member) == SPK_ABI_PICK(offset64, offset32),        \
                 "offsetof(" #type ", " #member ")");                               \
  _Static_assert(sizeof(((const type *)0)->member) == SPK_ABI_PICK(size64, size32), \
                 "sizeof(" #type "." #member ")")

/* SPK_ABI_STRUCT(type, size, alignment on LP64, size, alignment on AAPCS);
 * SPK_ABI_FIELD(type, member, offset, size on LP64, offset, size on AAPCS). */
SPK_ABI_STRUCT(spk_blob, 64, 8, 64, 8);
SPK_ABI_FIELD(spk_blob, data, 0, 8, 0, 4);
SPK_ABI_FIELD(spk_blob, size, 8, 8, 8, 8);
SPK_ABI_FIELD(spk_blob, header, 16, 8, 16, 4);
SPK_ABI_FIELD(spk_blob, header_size, 24, 4, 20, 4);
SPK_ABI_FIELD(spk_blob, tensors, 28, 4, 24, 4);
SPK_ABI_FIELD(spk_blob, segments, 32, 4, 28, 4);
SPK_ABI_FIELD(spk_blob, metadata, 36, 4, 32, 4);
SPK_ABI_FIELD(spk_blob, tensor_count, 40, 4, 36, 4);
SPK_ABI_FIELD(spk_blob, segment_count, 44, 4, 40, 4);
SPK_ABI_FIELD(spk_blob, metadata_count, 48, 4, 44, 4);
SPK_ABI_FIELD(spk_blob, alignment, 52, 4, 48, 4);
SPK_ABI_FIELD(spk_blob, format_major, 56, 2, 52, 2);
SPK_ABI_FIELD(spk_blob, format_minor, 58, 2, 54, 2);
SPK_ABI_FIELD(spk_blob, checksum, 60, 1, 56, 1);
SPK_ABI_FIELD(spk_blob, opened, 61, 1, 57, 1);

SPK_ABI_STRUCT(spk_quant, 80, 8, 72, 8);
SPK_ABI_FIELD(spk_quant, scheme, 0, 1, 0, 1);
SPK_ABI_FIELD(spk_quant, axis, 4, 4, 4, 4);
SPK_ABI_FIELD(spk_quant, group_size, 8, 4, 8, 4);
SPK_ABI_FIELD(spk_quant, scale_dtype, 12, 1, 12, 1);
SPK_ABI_FIELD(spk_quant, scales, 16, 8, 16, 4);
SPK_ABI_FIELD(spk_quant, scale_count, 24, 8, 24, 8);
SPK_ABI_FIELD(spk_quant, scale_segment, 32, 4, 32, 4);
SPK_ABI_FIELD(spk_quant, zero_point_segment, 36, 4, 36, 4);
SPK_ABI_FIELD(spk_quant, zero_point_dtype, 40, 1, 40, 1);
SPK_ABI_FIELD(spk_quant, zero_points, 48, 8, 44, 4);
SPK_ABI_FIELD(spk_quant, zero_point_count, 56, 8, 48, 8);
SPK_ABI_FIELD(spk_quant, sqnr_db, 64, 4, 56, 4);
SPK_ABI_FIELD(spk_quant, max_abs_error, 68, 4, 60, 4);
SPK_ABI_FIELD(spk_quant, overflow_count, 72, 8, 64, 8);

SPK_ABI_STRUCT(spk_tensor, 208, 8, 200, 8);
SPK_ABI_FIELD(spk_tensor, name, 0, 8, 0, 4);
SPK_ABI_FIELD(spk_tensor, name_length, 8, 4, 4, 4);
SPK_ABI_FIELD(spk_tensor, index, 12, 4, 8, 4);
SPK_ABI_FIELD(spk_tensor, dtype, 16, 1, 12, 1);
SPK_ABI_FIELD(spk_tensor, source_dtype, 17, 1, 13, 1);
SPK_ABI_FIELD(spk_tensor, rank, 20, 4, 16, 4);
SPK_ABI_FIELD(spk_tensor, shape, 24, 64, 24, 64);
SPK_ABI_FIELD(spk_tensor, element_count, 88, 8, 88, 8);
SPK_ABI_FIELD(spk_tensor, data, 96, 8, 96, 4);
SPK_ABI_FIELD(spk_tensor, stored_size, 104, 8, 104, 8);
SPK_ABI_FIELD(spk_tensor, decoded_size, 112, 8, 112, 8);
SPK_ABI_FIELD(spk_tensor, codec, 120, 1, 120, 1);
SPK_ABI_FIELD(spk_tensor, filter, 121, 1, 121, 1);
SPK_ABI_FIELD(spk_tensor, segment, 124, 4, 124, 4);
SPK_ABI_FIELD(spk_tensor, quant, 128, 80, 128, 72);

SPK_ABI_STRUCT(spk_meta, 56, 8, 48, 8);
SPK_ABI_FIELD(spk_meta, key, 0, 8, 0, 4);
SPK_ABI_FIELD(spk_meta, key_length, 8, 4, 4, 4);
SPK_ABI_FIELD(spk_meta, kind, 12, 1, 8, 1);
SPK_ABI_FIELD(spk_meta, string_value, 16, 8, 12, 4);
SPK_ABI_FIELD(spk_meta, string_length, 24, 4, 16, 4);
SPK_ABI_FIELD(spk_meta, int_value, 32, 8, 24, 8);
SPK_ABI_FIELD(spk_meta, float_value, 40, 8, 32, 8);
SPK_ABI_FIELD(spk_meta, bool_value, 48, 4, 40, 4);

SPK_ABI_STRUCT(spk_stream, 240, 8, 232, 8);
SPK_ABI_FIELD(spk_stream, blob, 0, 64, 0, 64);
SPK_ABI_FIELD(spk_stream, header_buffer, 64, 8, 64, 4);
SPK_ABI_FIELD(spk_stream, header_capacity, 72, 8, 68, 4);
SPK_ABI_FIELD(spk_stream, position, 80, 8, 72, 8);
SPK_ABI_FIELD(spk_stream, header_offset, 88, 8, 80, 8);
SPK_ABI_FIELD(spk_stream, header_size, 96, 8, 88, 8);
SPK_ABI_FIELD(spk_stream, header_checksum, 104, 8, 96, 8);
SPK_ABI_FIELD(spk_stream, expected, 112, 8, 104, 8);
SPK_ABI_FIELD(spk_stream, segment_offset, 120, 8, 112, 8);
SPK_ABI_FIELD(spk_stream, segment_end, 128, 8, 120, 8);
SPK_ABI_FIELD(spk_stream, hash_state, 136, 80, 128, 80);
SPK_ABI_FIELD(spk_stream, preamble_size, 216, 4, 208, 4);
SPK_ABI_FIELD(spk_stream, segment, 220, 4, 212, 4);
SPK_ABI_FIELD(spk_stream, failed_segment, 224, 4, 216, 4);
SPK_ABI_FIELD(spk_stream, status, 228, 2, 220, 2);
SPK_ABI_FIELD(spk_stream, phase, 230, 1, 222, 1);
SPK_ABI_FIELD(spk_stream, reserved_bits, 231, 1, 223, 1);
SPK_ABI_FIELD(spk_stream, begun, 232, 1, 224, 1);

/* Every constant, so that none is renumbered by accident; and each enum's largest value fits the
 * fixed-width field that holds it. */
_Static_assert(SPK_OK == 0, "SPK_OK");
_Static_assert(SPK_ERR_INVALID_ARGUMENT == 100, "SPK_ERR_INVALID_ARGUMENT");
_Static_assert(SPK_ERR_NOT_FOUND == 101, "SPK_ERR_NOT_FOUND");
_Static_assert(SPK_ERR_OUT_OF_RANGE == 102, "SPK_ERR_OUT_OF_RANGE");
_Static_assert(SPK_ERR_BUFFER_TOO_SMALL == 103, "SPK_ERR_BUFFER_TOO_SMALL");
_Static_assert(SPK_ERR_UNSUPPORTED == 104, "SPK_ERR_UNSUPPORTED");
_Static_assert(SPK_ERR_WRONG_KIND == 105, "SPK_ERR_WRONG_KIND");
_Static_assert(SPK_ERR_TRUNCATED == 200, "SPK_ERR_TRUNCATED");
_Static_assert(SPK_ERR_BAD_MAGIC == 201, "SPK_ERR_BAD_MAGIC");
_Static_assert(SPK_ERR_UNSUPPORTED_VERSION == 202, "SPK_ERR_UNSUPPORTED_VERSION");
_Static_assert(SPK_ERR_PREAMBLE_CHECKSUM == 203, "SPK_ERR_PREAMBLE_CHECKSUM");
_Static_assert(SPK_ERR_BAD_PREAMBLE == 204, "SPK_ERR_BAD_PREAMBLE");
_Static_assert(SPK_ERR_HEADER_CHECKSUM == 300, "SPK_ERR_HEADER_CHECKSUM");
_Static_assert(SPK_ERR_HEADER_MALFORMED == 301, "SPK_ERR_HEADER_MALFORMED");
_Static_assert(SPK_ERR_HEADER_LIMIT == 302, "SPK_ERR_HEADER_LIMIT");
_Static_assert(SPK_ERR_BAD_TENSOR == 303, "SPK_ERR_BAD_TENSOR");
_Static_assert(SPK_ERR_BAD_SEGMENT == 304, "SPK_ERR_BAD_SEGMENT");
_Static_assert(SPK_ERR_NOT_SORTED == 305, "SPK_ERR_NOT_SORTED");
_Static_assert(SPK_ERR_BAD_QUANTIZATION == 306, "SPK_ERR_BAD_QUANTIZATION");
_Static_assert(SPK_ERR_BAD_METADATA == 307, "SPK_ERR_BAD_METADATA");
_Static_assert(SPK_ERR_SEGMENT_CHECKSUM == 400, "SPK_ERR_SEGMENT_CHECKSUM");
_Static_assert(SPK_ERR_PADDING_NOT_ZERO == 401, "SPK_ERR_PADDING_NOT_ZERO");
_Static_assert(SPK_ERR_CORRUPT_DATA == 402, "SPK_ERR_CORRUPT_DATA");
_Static_assert(SPK_ERR_CORRUPT_DATA <= UINT16_MAX, "spk_stream.status holds every status");

_Static_assert(SPK_DTYPE_UNKNOWN == 0, "SPK_DTYPE_UNKNOWN");
_Static_assert(SPK_DTYPE_F32 == 1, "SPK_DTYPE_F32");
_Static_assert(SPK_DTYPE_F64 == 2, "SPK_DTYPE_F64");
_Static_assert(SPK_DTYPE_F16 == 3, "SPK_DTYPE_F16");
_Static_assert(SPK_DTYPE_BF16 == 4, "SPK_DTYPE_BF16");
_Static_assert(SPK_DTYPE_F8_E4M3 == 5, "SPK_DTYPE_F8_E4M3");
_Static_assert(SPK_DTYPE_F8_E5M2 == 6, "SPK_DTYPE_F8_E5M2");
_Static_assert(SPK_DTYPE_F8_E8M0 == 7, "SPK_DTYPE_F8_E8M0");
_Static_assert(SPK_DTYPE_F6_E2M3 == 8, "SPK_DTYPE_F6_E2M3");
_Static_assert(SPK_DTYPE_F6_E3M2 == 9, "SPK_DTYPE_F6_E3M2");
_Static_assert(SPK_DTYPE_F4_E2M1 == 10, "SPK_DTYPE_F4_E2M1");
_Static_assert(SPK_DTYPE_I8 == 11, "SPK_DTYPE_I8");
_Static_assert(SPK_DTYPE_I16 == 12, "SPK_DTYPE_I16");
_Static_assert(SPK_DTYPE_I32 == 13, "SPK_DTYPE_I32");
_Static_assert(SPK_DTYPE_I64 == 14, "SPK_DTYPE_I64");
_Static_assert(SPK_DTYPE_U8 == 15, "SPK_DTYPE_U8");
_Static_assert(SPK_DTYPE_U16 == 16, "SPK_DTYPE_U16");
_Static_assert(SPK_DTYPE_U32 == 17, "SPK_DTYPE_U32");
_Static_assert(SPK_DTYPE_U64 == 18, "SPK_DTYPE_U64");
_Static_assert(SPK_DTYPE_BOOL == 19, "SPK_DTYPE_BOOL");
_Static_assert(SPK_DTYPE_C64 == 20, "SPK_DTYPE_C64");
_Static_assert(SPK_DTYPE_I4 == 21, "SPK_DTYPE_I4");
_Static_assert(SPK_DTYPE_U4 == 22, "SPK_DTYPE_U4");
_Static_assert(SPK_DTYPE_U4 <= UINT8_MAX, "the dtype fields hold every dtype");

_Static_assert(SPK_CODEC_RAW == 0, "SPK_CODEC_RAW");
_Static_assert(SPK_CODEC_ZSTD == 1, "SPK_CODEC_ZSTD");
_Static_assert(SPK_FILTER_NONE == 0, "SPK_FILTER_NONE");
_Static_assert(SPK_FILTER_BYTE_GROUP == 1, "SPK_FILTER_BYTE_GROUP");
_Static_assert(SPK_FILTER_BYTE_GROUP_ROTATE == 2, "SPK_FILTER_BYTE_GROUP_ROTATE");
_Static_assert(SPK_CHECKSUM_XXH64 == 1, "SPK_CHECKSUM_XXH64");
_Static_assert(SPK_CHECKSUM_XXH32 == 2, "SPK_CHECKSUM_XXH32");

_Static_assert(SPK_QUANT_NONE == 0, "SPK_QUANT_NONE");
_Static_assert(SPK_QUANT_INT8_CHANNEL == 1, "SPK_QUANT_INT8_CHANNEL");
_Static_assert(SPK_QUANT_INT8_TENSOR == 2, "SPK_QUANT_INT8_TENSOR");
_Static_assert(SPK_QUANT_INT8_ASYM == 3, "SPK_QUANT_INT8_ASYM");
_Static_assert(SPK_QUANT_INT8_GROUP == 4, "SPK_QUANT_INT8_GROUP");
_Static_assert(SPK_QUANT_INT4_GROUP == 5, "SPK_QUANT_INT4_GROUP");
_Static_assert(SPK_QUANT_INT4_GROUP_ASYM == 6, "SPK_QUANT_INT4_GROUP_ASYM");
_Static_assert(SPK_QUANT_INT4_K == 9, "SPK_QUANT_INT4_K");
_Static_assert(SPK_QUANT_PALETTE == 10, "SPK_QUANT_PALETTE");
_Static_assert(SPK_QUANT_F16_CAST == 7, "SPK_QUANT_F16_CAST");
_Static_assert(SPK_QUANT_BF16_CAST == 8, "SPK_QUANT_BF16_CAST");

_Static_assert(SPK_META_STRING == 0, "SPK_META_STRING");
_Static_assert(SPK_META_INT == 1, "SPK_META_INT");
_Static_assert(SPK_META_FLOAT == 2, "SPK_META_FLOAT");
_Static_assert(SPK_META_BOOL == 3, "SPK_META_BOOL");

_Static_assert(SPK_MAX_RANK == 8u, "SPK_MAX_RANK");
_Static_assert(SPK_NO_SEGMENT == 0xFFFFFFFFu, "SPK_NO_SEGMENT");
_Static_assert(SPK_OPEN_VERIFY_SEGMENTS == 0x1u, "SPK_OPEN_VERIFY_SEGMENTS");

/* ---- at run time: what the library wrote is where this translation unit reads it ---------- */

static int failures;

static void expect(int ok, const char *what) {
  if (!ok) {
    console_puts("abi: wrong ");
    console_puts(what);
    console_puts("\n");
    ++failures;
  }
}

/* 0.weight of examples/tiny_mlp, packed with --rule 0.weight=int8-asym (CMakeLists.txt). */
static void check_tensor(const spk_blob *blob) {
  static float values[32 * 16];
  spk_tensor t;
  memset(&t, 0xA5, sizeof t);
  expect(spk_find(blob, "0.weight", &t) == SPK_OK, "spk_find status");
  expect(t.name_length == 8 && memcmp(t.name, "0.weight", 9) == 0, "spk_tensor.name");
  expect(t.index == 1, "spk_tensor.index");
  expect(t.dtype == SPK_DTYPE_I8 && t.source_dtype == SPK_DTYPE_F32, "spk_tensor dtypes");
  expect(t.rank == 2 && t.shape[0] == 32 && t.shape[1] == 16 && t.element_count == 512,
         "spk_tensor shape");
  expect(t.stored_size == 512 && t.decoded_size == 512, "spk_tensor sizes");
  expect(t.codec == SPK_CODEC_RAW && t.filter == SPK_FILTER_NONE, "spk_tensor codec, filter");
  expect(t.segment == 1, "spk_tensor.segment");
  expect(t.quant.scheme == SPK_QUANT_INT8_ASYM && t.quant.axis == 0 && t.quant.group_size == 0,
         "spk_quant scheme, axis, group");
  expect(
      t.quant.scale_dtype == SPK_DTYPE_F32 && t.quant.scale_count == 32 && t.quant.scales != NULL,
      "spk_quant scales");
  expect(t.quant.zero_point_dtype == SPK_DTYPE_I8 && t.quant.zero_point_count == 32 &&
             t.quant.zero_points != NULL,
         "spk_quant zero points");
  expect(t.quant.sqnr_db > 40.0f && t.quant.max_abs_error < 0.01f && t.quant.overflow_count == 0,
         "spk_quant quality");
  expect(spk_dequantize(&t, values, 32 * 16) == SPK_OK, "spk_dequantize status");
}

static void check_metadata(const spk_blob *blob) {
  static const char model[] = "16-32-4 MLP, ReLU";
  spk_meta m;
  memset(&m, 0xA5, sizeof m);
  expect(spk_metadata_find(blob, "model", &m) == SPK_OK, "spk_metadata_find status");
  expect(m.key_length == 5 && memcmp(m.key, "model", 6) == 0, "spk_meta.key");
  expect(m.kind == SPK_META_STRING, "spk_meta.kind");
  expect(m.string_length == sizeof model - 1 && memcmp(m.string_value, model, sizeof model) == 0,
         "spk_meta.string_value");
}

/* The whole blob through spk_stream, then again with its last byte (in the last segment)
 * flipped. */
static void check_stream(const spk_blob *blob) {
  static uint8_t header[4096];
  spk_stream stream;
  memset(&stream, 0xA5, sizeof stream);
  expect(spk_stream_begin(&stream, header, sizeof header) == SPK_OK, "spk_stream_begin");
  expect(spk_stream_feed(&stream, abi_blob, abi_blob_size) == SPK_OK, "spk_stream_feed");
  expect(spk_stream_finish(&stream) == SPK_OK, "spk_stream_finish");
  expect(spk_stream_offset(&stream) == abi_blob_size, "spk_stream_offset");
  expect(spk_stream_failed_segment(&stream) == SPK_NO_SEGMENT, "spk_stream_failed_segment");

  const uint8_t last = (uint8_t)(abi_blob[abi_blob_size - 1] ^ 1u);
  spk_stream_begin(&stream, header, sizeof header);
  spk_stream_feed(&stream, abi_blob, abi_blob_size - 1);
  expect(spk_stream_feed(&stream, &last, 1) == SPK_ERR_SEGMENT_CHECKSUM,
         "spk_stream_feed status after damage");
  expect(spk_stream_finish(&stream) == SPK_ERR_SEGMENT_CHECKSUM, "spk_stream_finish after damage");
  expect(spk_stream_failed_segment(&stream) == blob->segment_count - 1,
         "spk_stream_failed_segment after damage");
}

int main(void) {
  spk_blob blob;
  memset(&blob, 0xA5, sizeof blob);
  const spk_status s = spk_open(&blob, abi_blob, abi_blob_size, SPK_OPEN_VERIFY_SEGMENTS);
  expect(s == SPK_OK, "spk_open status");
  if (s != SPK_OK) return 1;
  expect(blob.tensor_count == 6 && spk_tensor_count(&blob) == 6, "spk_blob.tensor_count");
  expect(blob.checksum == SPK_CHECKSUM_XXH32 && blob.format_major == 1, "spk_blob fields");
  check_tensor(&blob);
  check_metadata(&blob);
  check_stream(&blob);
  console_puts(failures == 0 ? "abi: ok\n" : "abi: FAILED\n");
  return failures == 0 ? 0 : 1;
}
