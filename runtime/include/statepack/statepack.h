/* SPDX-License-Identifier: Apache-2.0 */
/* statepack runtime: read a statepack blob in place, with no heap, no exceptions and no OS.
 *
 * Everything here works on memory the caller owns: the blob (RAM, memory-mapped flash or an
 * mmap'd file), the spk_blob / spk_tensor structs (stack or static) and any output buffer.
 * Every function treats the blob as untrusted: spk_open checks the preamble, the header's
 * checksum, its structure and its semantics before anything else reads it, and no function
 * dereferences a byte it has not bounds-checked. The byte layout is in schemas/FORMAT.md.
 */
#ifndef STATEPACK_STATEPACK_H
#define STATEPACK_STATEPACK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ----------------------------------------------------------------------------- */

/* The library's version: the project's one version number (the CLI's --version, the CMake and
 * pkg-config packages). The blob format has its own version, SPK_FORMAT_MAJOR/MINOR in
 * statepack/format.h: a library reads every blob of its format major version. */
#define SPK_VERSION_MAJOR 0
#define SPK_VERSION_MINOR 2
#define SPK_VERSION_PATCH 0

/* The version of the runtime that is linked in, as "MAJOR.MINOR.PATCH"; compare it with the
 * SPK_VERSION_* macros of the header a program was compiled against. */
const char *spk_version(void);

/* ---- status ------------------------------------------------------------------------------ */

/* Stable result codes, grouped by kind in ranges of 100. Never renumbered; codes added later are
 * appended inside their range. SPK_OK is 0, every failure is positive. */
typedef enum spk_status {
  SPK_OK = 0,

  /* 1xx: the call itself was wrong */
  SPK_ERR_INVALID_ARGUMENT = 100, /* a NULL pointer, or a struct not filled by spk_open */
  SPK_ERR_NOT_FOUND = 101,        /* no tensor or metadata entry of that name */
  SPK_ERR_OUT_OF_RANGE = 102,     /* index or row range past the end */
  SPK_ERR_BUFFER_TOO_SMALL = 103, /* the caller's output buffer cannot hold the result */
  SPK_ERR_UNSUPPORTED = 104,      /* valid, but this build cannot decode it (codec, scheme) */
  SPK_ERR_WRONG_KIND = 105,       /* metadata entry exists with another type */

  /* 2xx: the preamble (first bytes) is wrong */
  SPK_ERR_TRUNCATED = 200,           /* fewer bytes than the blob says it has */
  SPK_ERR_BAD_MAGIC = 201,           /* not a statepack blob, or damaged by a text-mode transfer */
  SPK_ERR_UNSUPPORTED_VERSION = 202, /* a major version this runtime does not read */
  SPK_ERR_PREAMBLE_CHECKSUM = 203,   /* preamble bytes do not match their checksum */
  SPK_ERR_BAD_PREAMBLE = 204,        /* a preamble field is out of range */

  /* 3xx: the header (FlatBuffer) is wrong */
  SPK_ERR_HEADER_CHECKSUM = 300,  /* header bytes do not match their checksum */
  SPK_ERR_HEADER_MALFORMED = 301, /* an offset, vector or string points outside the header */
  SPK_ERR_HEADER_LIMIT = 302,     /* more tensors, segments, rank or name bytes than allowed */
  SPK_ERR_BAD_TENSOR = 303,       /* dtype, shape and sizes disagree, or overflow */
  SPK_ERR_BAD_SEGMENT = 304,      /* segment outside the blob, misaligned, overlapping or gapped */
  SPK_ERR_NOT_SORTED = 305,       /* names not strictly increasing (unsorted or duplicate) */
  SPK_ERR_BAD_QUANTIZATION = 306, /* quantization parameters inconsistent with the tensor */
  SPK_ERR_BAD_METADATA = 307,     /* metadata entry malformed */

  /* 4xx: the tensor data is wrong */
  SPK_ERR_SEGMENT_CHECKSUM = 400, /* a segment's bytes do not match its checksum */
  SPK_ERR_PADDING_NOT_ZERO = 401, /* bytes between segments are not zero */
  SPK_ERR_CORRUPT_DATA = 402      /* encoded data does not decode to the declared size */
} spk_status;

/* A short, constant English description of a status ("segment checksum mismatch"). Never NULL;
 * unknown values give "unknown status". Define SPK_NO_STATUS_STRINGS to strip the strings from
 * small builds (every status then reads "statepack status"). */
const char *spk_status_str(spk_status status);

/* ---- types ------------------------------------------------------------------------------- */

#define SPK_MAX_RANK 8u
#define SPK_NO_SEGMENT 0xFFFFFFFFu

/* Element types; the values equal schemas/statepack.fbs's DType. */
typedef enum spk_dtype {
  SPK_DTYPE_UNKNOWN = 0,
  SPK_DTYPE_F32 = 1,
  SPK_DTYPE_F64 = 2,
  SPK_DTYPE_F16 = 3,
  SPK_DTYPE_BF16 = 4,
  SPK_DTYPE_F8_E4M3 = 5,
  SPK_DTYPE_F8_E5M2 = 6,
  SPK_DTYPE_F8_E8M0 = 7,
  SPK_DTYPE_F6_E2M3 = 8,
  SPK_DTYPE_F6_E3M2 = 9,
  SPK_DTYPE_F4_E2M1 = 10,
  SPK_DTYPE_I8 = 11,
  SPK_DTYPE_I16 = 12,
  SPK_DTYPE_I32 = 13,
  SPK_DTYPE_I64 = 14,
  SPK_DTYPE_U8 = 15,
  SPK_DTYPE_U16 = 16,
  SPK_DTYPE_U32 = 17,
  SPK_DTYPE_U64 = 18,
  SPK_DTYPE_BOOL = 19,
  SPK_DTYPE_C64 = 20,
  SPK_DTYPE_I4 = 21,
  SPK_DTYPE_U4 = 22
} spk_dtype;

/* SPK_CODEC_ZSTD_ADAPTIVE: the zstd chunk layout with a kind per chunk (FORMAT.md, "zstd codec").
 */
typedef enum spk_codec {
  SPK_CODEC_RAW = 0,
  SPK_CODEC_ZSTD = 1,
  SPK_CODEC_ZSTD_ADAPTIVE = 2
} spk_codec;
/* Filters undone after the codec (schemas/FORMAT.md, "zstd codec"): byte k of every element
 * into stream k; ROTATE first rotates each element left by one bit (the sign to bit 0). */
typedef enum spk_filter {
  SPK_FILTER_NONE = 0,
  SPK_FILTER_BYTE_GROUP = 1,
  SPK_FILTER_BYTE_GROUP_ROTATE = 2
} spk_filter;
typedef enum spk_checksum { SPK_CHECKSUM_XXH64 = 1, SPK_CHECKSUM_XXH32 = 2 } spk_checksum;

/* Quantization schemes; the values equal schemas/statepack.fbs's QuantScheme. */
typedef enum spk_quant_scheme {
  SPK_QUANT_NONE = 0,
  SPK_QUANT_INT8_CHANNEL = 1,
  SPK_QUANT_INT8_TENSOR = 2,
  SPK_QUANT_INT8_ASYM = 3,
  SPK_QUANT_INT8_GROUP = 4,
  SPK_QUANT_INT4_GROUP = 5,
  SPK_QUANT_INT4_GROUP_ASYM = 6,
  SPK_QUANT_F16_CAST = 7,
  SPK_QUANT_BF16_CAST = 8,
  SPK_QUANT_INT4_K = 9,  /* two-level 4-bit on a fixed grid (schemas/FORMAT.md) */
  SPK_QUANT_PALETTE = 10 /* U8/U4 indices into quant.scales, a palette of group_size values */
} spk_quant_scheme;

/* Bits in spk_open's flags. 0 = preamble, header checksum, structure and semantic checks. */
#define SPK_OPEN_VERIFY_SEGMENTS 0x1u /* also check every segment checksum and all padding */

/* An opened blob. Filled by spk_open; the fields are private to the runtime, but the struct is
 * plain data so it can live on the stack or in static memory. It points into the blob bytes,
 * which must stay valid and unchanged while it is used. */
typedef struct spk_blob {
  const uint8_t *data;   /* first byte of the blob */
  uint64_t size;         /* blob size from the preamble */
  const uint8_t *header; /* first byte of the header FlatBuffer */
  uint32_t header_size;
  uint32_t tensors;  /* header offset of the tensors vector's first element */
  uint32_t segments; /* same, for segments */
  uint32_t metadata; /* same, for metadata */
  uint32_t tensor_count;
  uint32_t segment_count;
  uint32_t metadata_count;
  uint32_t alignment;
  uint16_t format_major;
  uint16_t format_minor;
  uint8_t checksum; /* spk_checksum */
  uint8_t opened;   /* set by a successful spk_open */
} spk_blob;

/* The public structs below hold enum values in fixed-width integer fields, never in enum-typed
 * ones: an enum's size depends on the compiler and its flags (-fshort-enums, arm-none-eabi-gcc's
 * default, makes spk_dtype one byte), so a program and a runtime built with different flags
 * would disagree on every offset. The enums name the values. Sizes and offsets are pinned by
 * tests/abi/abi_test.c on a 64-bit host and on Cortex-M. */

/* Quantization parameters of a tensor, as stored (no widening). */
typedef struct spk_quant {
  uint8_t scheme;      /* spk_quant_scheme */
  int32_t axis;        /* -1: per tensor */
  uint32_t group_size; /* 0: not group-wise */
  uint8_t scale_dtype; /* spk_dtype */
  const void *scales;  /* scale_count values of scale_dtype, or NULL */
  uint64_t scale_count;
  uint32_t scale_segment;      /* segment index of the scales, SPK_NO_SEGMENT if none */
  uint32_t zero_point_segment; /* segment index of the zero points, SPK_NO_SEGMENT if none */
  uint8_t zero_point_dtype;    /* spk_dtype */
  const void *zero_points;     /* zero_point_count values, or NULL (symmetric); SPK_QUANT_INT4_K:
                                  14-byte records of 7-bit sub-block scales, one per scale */
  uint64_t zero_point_count;
  float sqnr_db; /* quality measured by the packer */
  float max_abs_error;
  uint64_t overflow_count;
} spk_quant;

/* A view of one tensor. Every pointer points into the blob. */
typedef struct spk_tensor {
  const char *name;     /* NUL-terminated UTF-8, inside the blob */
  uint32_t name_length; /* bytes, without the NUL */
  uint32_t index;       /* position in name order */
  uint8_t dtype;        /* spk_dtype: type of the decoded elements */
  uint8_t source_dtype; /* spk_dtype: type in the original checkpoint */
  uint32_t rank;
  uint64_t shape[SPK_MAX_RANK];
  uint64_t element_count;
  const void *data; /* stored bytes (encoded if codec != RAW) */
  uint64_t stored_size;
  uint64_t decoded_size;
  uint8_t codec;    /* spk_codec */
  uint8_t filter;   /* spk_filter */
  uint32_t segment; /* index of the data segment; tied tensors share one */
  spk_quant quant;
} spk_tensor;

typedef enum spk_meta_kind {
  SPK_META_STRING = 0,
  SPK_META_INT = 1,
  SPK_META_FLOAT = 2,
  SPK_META_BOOL = 3
} spk_meta_kind;

/* A typed metadata entry. Strings point into the blob and are NUL-terminated. */
typedef struct spk_meta {
  const char *key;
  uint32_t key_length;
  uint8_t kind;             /* spk_meta_kind */
  const char *string_value; /* SPK_META_STRING: never NULL (empty string if absent) */
  uint32_t string_length;
  int64_t int_value;  /* SPK_META_INT */
  double float_value; /* SPK_META_FLOAT */
  int bool_value;     /* SPK_META_BOOL: 0 or 1 */
} spk_meta;

/* ---- opening and verifying --------------------------------------------------------------- */

/* Checks the blob at data[0, size) and fills *blob. size may exceed the blob (a flash
 * partition); bytes past the blob's own size are ignored. Runs the preamble, header checksum,
 * structure and semantic checks (and with SPK_OPEN_VERIFY_SEGMENTS every segment checksum).
 * Returns SPK_OK, or the first failure found; *blob is then unusable. Never reads outside
 * data[0, size). The blob may be at any address; aligned tensor data needs the blob's base
 * aligned to spk_alignment(). */
spk_status spk_open(spk_blob *blob, const void *data, size_t size, uint32_t flags);

/* Number of tensors (0 for a blob not opened). */
uint32_t spk_tensor_count(const spk_blob *blob);

/* Segment alignment of the blob (a power of two), 0 for a blob not opened. */
uint32_t spk_alignment(const spk_blob *blob);

/* Checksum algorithm of the blob. */
spk_checksum spk_checksum_algo(const spk_blob *blob);

/* Fills *out with tensor `index` (0-based, in name order). SPK_ERR_OUT_OF_RANGE past the end.
 * On any failure *out's contents are unspecified and must not be used. */
spk_status spk_tensor_at(const spk_blob *blob, uint32_t index, spk_tensor *out);

/* Finds a tensor by its NUL-terminated name by binary search (O(log n)).
 * SPK_ERR_NOT_FOUND if absent. */
spk_status spk_find(const spk_blob *blob, const char *name, spk_tensor *out);

/* Same as spk_find for a name of name_length bytes that need not be NUL-terminated. */
spk_status spk_find_n(const spk_blob *blob, const char *name, size_t name_length, spk_tensor *out);

/* Checks every segment's checksum and that every padding byte is zero.
 * SPK_OK, or the first failure (SPK_ERR_SEGMENT_CHECKSUM, SPK_ERR_PADDING_NOT_ZERO). */
spk_status spk_verify(const spk_blob *blob);

/* Checks the checksums of the segments a tensor uses (data, scales, zero points). */
spk_status spk_verify_tensor(const spk_blob *blob, const spk_tensor *t);

/* Like spk_verify, also reporting which segment failed in *failed_segment (may be NULL);
 * set to SPK_NO_SEGMENT on success or for a padding failure before segment 0. */
spk_status spk_verify_report(const spk_blob *blob, uint32_t *failed_segment);

/* ---- metadata ---------------------------------------------------------------------------- */

/* Number of metadata entries. */
uint32_t spk_metadata_count(const spk_blob *blob);

/* Fills *out with metadata entry `index` (in key order). SPK_ERR_OUT_OF_RANGE past the end.
 * On any failure *out's contents are unspecified and must not be used. */
spk_status spk_metadata_at(const spk_blob *blob, uint32_t index, spk_meta *out);

/* Finds a metadata entry by its NUL-terminated key (binary search). SPK_ERR_NOT_FOUND if
 * absent; on any failure *out's contents are unspecified. */
spk_status spk_metadata_find(const spk_blob *blob, const char *key, spk_meta *out);

/* ---- element access ---------------------------------------------------------------------- */

/* Size in bits of one element of dtype (4 for I4/U4/F4, 6 for F6, 64 for C64), 0 if unknown. */
uint32_t spk_dtype_bits(spk_dtype dtype);

/* Stable upper-case name of a dtype ("F32", "BF16", "F8_E4M3"), "UNKNOWN" if not known. */
const char *spk_dtype_name(spk_dtype dtype);

/* Writes the tensor's values as f32 into out[0, out_count): every real numeric dtype stored raw
 * (floats incl. f8/f6/f4, integers, bool) and every quantization scheme (value = (q - zero
 * point) * scale, computed exactly as schemas/FORMAT.md specifies, so it equals the packer's
 * own reconstruction bit for bit). SPK_ERR_BUFFER_TOO_SMALL if out_count < element_count;
 * SPK_ERR_UNSUPPORTED for a compressed tensor (see the zstd add-on) or C64. Never reads outside
 * the tensor's stored bytes and parameters, even for a caller-modified spk_tensor. */
spk_status spk_dequantize(const spk_tensor *t, float *out, size_t out_count);

/* Like spk_dequantize for rows [first_row, first_row + row_count) along axis 0 only (a row is
 * element_count / shape[0] values; a scalar is one row), so a device can stream a layer through
 * a buffer of a few rows. SPK_ERR_OUT_OF_RANGE past the last row, SPK_ERR_BUFFER_TOO_SMALL if
 * out_count < row_count * row size. */
spk_status spk_dequantize_rows(const spk_tensor *t, uint64_t first_row, uint64_t row_count,
                               float *out, size_t out_count);

/* For codec add-ons (statepack_zstd.h) that decode a compressed tensor a chunk at a time: like
 * spk_dequantize for elements [first, first + count), read from `decoded` (decoded_size bytes
 * of the tensor's raw stored form whose first byte holds element `first`) instead of t->data;
 * t->codec and t->data are ignored, quantization parameters are used as usual. Element `first`
 * must start on a byte boundary (even for 4-bit, a multiple of 4 for 6-bit dtypes).
 * SPK_ERR_OUT_OF_RANGE past the last element, SPK_ERR_BUFFER_TOO_SMALL if out_count < count,
 * SPK_ERR_INVALID_ARGUMENT if `decoded` is too short or `first` splits a byte. */
spk_status spk_dequantize_from(const spk_tensor *t, const void *decoded, size_t decoded_size,
                               uint64_t first, uint64_t count, float *out, size_t out_count);

/* Scale (widened to f32) and zero point (0 for symmetric schemes) number `index` of a
 * quantized tensor, for integer kernels that use t->data directly. SPK_ERR_OUT_OF_RANGE past
 * quant.scale_count; SPK_ERR_INVALID_ARGUMENT for an unquantized tensor. For SPK_QUANT_INT4_K
 * the scale is super-block `index`'s F16 scale and the zero point byte `index` of the packed
 * sub-block scales (read those as schemas/FORMAT.md says). For SPK_QUANT_PALETTE the scale is
 * palette entry `index` (the value of every element whose stored U8/U4 index is `index`) and the
 * zero point 0, so a table-lookup kernel can use t->data as indices. */
spk_status spk_quant_param(const spk_tensor *t, uint64_t index, float *scale, int32_t *zero_point);

/* Sets *lossless to 1 if the packer stored tensor `t` (from `blob`) as a lossless grid or a
 * palette (SPK_QUANT_PALETTE: t->data holds indices into the palette, spk_quant_param gives
 * its entries; schemas/FORMAT.md). For a grid: its
 * floats were exactly (q - zero point) * scale, checked value by value, so spk_dequantize
 * returns the checkpoint's values bit for bit (for an f16/bf16 source_dtype: those values
 * widened to f32, which narrow back exactly), while t->data holds the integers and
 * spk_quant_param the scales and zero points for integer kernels. 0 otherwise (a lossy scheme,
 * or not quantized). Not read by spk_open, so devices that never ask pay no code for it. */
spk_status spk_quant_lossless(const spk_blob *blob, const spk_tensor *t, uint8_t *lossless);

/* ---- checksums -------------------------------------------------------------------------- */

/* XXH32 of size bytes at data with a seed; equal to xxHash's XXH32 on every platform. */
uint32_t spk_xxh32(const void *data, size_t size, uint32_t seed);

/* XXH64 of size bytes at data with a seed; equal to xxHash's XXH64 on every platform. */
uint64_t spk_xxh64(const void *data, size_t size, uint64_t seed);

/* ---- over-the-air verification (stream) ------------------------------------------------- */

/* Checks a blob while it arrives in chunks (an update received over a link) with the checks of
 * spk_open + spk_verify, each run as soon as the bytes it needs have arrived: a magic byte when
 * it arrives, the version, preamble size and checksum algorithm when their field is complete,
 * the preamble checksum and fields at the preamble's end, the header checksum, structure and
 * semantics at the header's end, each padding byte when it arrives, each segment's checksum at
 * its last byte; so a bad update is abandoned as early as possible.
 *
 * Memory: this struct (fixed size, plain data, no pointer to the chunks) and a caller-owned
 * buffer of at least header_size bytes (the u64 at preamble byte 32; `statepack inspect` shows
 * it) into which the header is copied as it passes. The header must be kept because its
 * segment table says where each later segment ends and what its checksum is; tensor bytes are
 * hashed as they pass and never kept. The verdict is spk_open(..., SPK_OPEN_VERIFY_SEGMENTS)'s,
 * except that an input cut short after damage reports the damage, not SPK_ERR_TRUNCATED.
 *
 *   spk_stream st;
 *   static uint8_t header[2048];
 *   spk_stream_begin(&st, header, sizeof header);
 *   while (receive(chunk, &n)) {              // any sizes, in order
 *     store(chunk, n);
 *     if (spk_stream_feed(&st, chunk, n) != SPK_OK) abandon_update();   // failed early
 *   }
 *   if (spk_stream_finish(&st) == SPK_OK) switch_to_update();
 *
 * The fields are private to the runtime. */
typedef struct spk_stream {
  spk_blob blob;          /* the header's view once it checked out (header = header_buffer) */
  uint8_t *header_buffer; /* caller's buffer for the header copy */
  size_t header_capacity;
  uint64_t position;      /* blob bytes accepted */
  uint64_t header_offset; /* preamble fields, gathered as they pass */
  uint64_t header_size;
  uint64_t header_checksum;
  uint64_t expected;       /* checksum of the unit being hashed (preamble, header, segment) */
  uint64_t segment_offset; /* current segment: where it starts and ends */
  uint64_t segment_end;
  uint64_t hash_state[10]; /* XXH32 or XXH64 streaming state */
  uint32_t preamble_size;
  uint32_t segment;        /* index of the current segment */
  uint32_t failed_segment; /* SPK_NO_SEGMENT unless a segment or its padding failed */
  uint16_t status;         /* spk_status: first failure, sticky */
  uint8_t phase;
  uint8_t reserved_bits; /* OR of the reserved preamble bytes */
  uint8_t begun;         /* set by spk_stream_begin */
} spk_stream;

/* Starts checking another blob; discards whatever *stream held. header_buffer (caller-owned,
 * header_capacity bytes) receives the header and must stay valid and unchanged until the last
 * spk_stream_feed. SPK_ERR_INVALID_ARGUMENT for a NULL stream or buffer. */
spk_status spk_stream_begin(spk_stream *stream, void *header_buffer, size_t header_capacity);

/* Feeds the next `size` bytes of the blob (any size, 0 included; the chunk is not kept).
 * Returns SPK_OK while nothing is wrong, else the first failure (the same code spk_open or
 * spk_verify gives), and from then on returns it again without reading. Bytes past the blob's
 * recorded size are ignored, as spk_open ignores them. SPK_ERR_BUFFER_TOO_SMALL when the header
 * does not fit in the header buffer (spk_stream_header_size tells what it needs). */
spk_status spk_stream_feed(spk_stream *stream, const void *chunk, size_t size);

/* Ends the stream: SPK_OK only if the whole blob arrived and every check passed;
 * SPK_ERR_TRUNCATED if it ended early; else the failure spk_stream_feed reported. */
spk_status spk_stream_finish(spk_stream *stream);

/* Blob bytes accepted so far. After a failure: how many bytes had arrived when it became
 * certain (no shorter prefix shows it): the damaged byte is the last of them for a magic or
 * padding byte; a segment's end for its checksum; the header's end for the header checksum or
 * structure; the preamble's end for its checksum. */
uint64_t spk_stream_offset(const spk_stream *stream);

/* The segment a SPK_ERR_SEGMENT_CHECKSUM or SPK_ERR_PADDING_NOT_ZERO concerns (padding counts
 * for the segment after it, as in spk_verify_report); SPK_NO_SEGMENT otherwise. */
uint32_t spk_stream_failed_segment(const spk_stream *stream);

/* The header size the preamble records, once the preamble checked out (0 before): the least
 * header_capacity that spk_stream_begin needs for this blob. */
uint64_t spk_stream_header_size(const spk_stream *stream);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STATEPACK_STATEPACK_H */
