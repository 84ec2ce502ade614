/* SPDX-License-Identifier: Apache-2.0 */
/* statepack zstd add-on: decodes tensors stored with codec SPK_CODEC_ZSTD into caller buffers.
 *
 * A separate library (CMake target statepack::runtime_zstd) so the core runtime stays free of
 * dependencies; this one links libzstd's decoder. Like the core it never allocates: zstd's
 * decompression context is built with ZSTD_initStaticDCtx inside a workspace the caller passes
 * (static, stack or heap: the caller's choice), and spk_zstd_workspace_size() says how big it
 * must be. The segment layout ("zstd codec" in schemas/FORMAT.md) is a sequence of independent
 * chunks of at most SPK_ZSTD_MAX_CHUNK_SIZE decoded bytes, so the workspace never depends on
 * the tensor's size.
 *
 * Untrusted input: every size in the segment is checked before use and every chunk must decode
 * to exactly its declared length, so a truncated or damaged segment gives
 * SPK_ERR_CORRUPT_DATA, never a read or write outside the segment, the workspace or `out`. The
 * segment checksum (spk_verify_tensor) is what proves the bytes are the packer's: a flipped bit
 * inside compressed data can decode without a structural error, so verify before you decode
 * whenever the blob may be damaged.
 */
#ifndef STATEPACK_STATEPACK_ZSTD_H
#define STATEPACK_STATEPACK_ZSTD_H

#include <stddef.h>
#include <stdint.h>

#include "statepack/statepack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the segment layout (schemas/FORMAT.md, "zstd codec") -------------------------------- */

/* A compressed segment ends with a footer: u32 chunk_size, u32 chunk_count (little-endian),
 * preceded by u32 stored_size[chunk_count]; the chunks come first, in order. */
#define SPK_ZSTD_FOOTER_SIZE 8u
/* Bit 31 of stored_size[i]: the chunk is stored as its raw decoded bytes (it did not shrink). */
#define SPK_ZSTD_RAW_CHUNK 0x80000000u
/* SPK_CODEC_ZSTD_ADAPTIVE only: bits 28-30 of a compressed chunk's stored_size (bit 31 clear)
 * give the chunk's kind, bits 0-27 its size. SPK_CODEC_ZSTD chunks are all FILTERED. */
#define SPK_ZSTD_KIND_SHIFT 28u
#define SPK_ZSTD_KIND_MASK 0x70000000u
#define SPK_ZSTD_KIND_FILTERED 0u   /* the frame decodes to the filtered chunk */
#define SPK_ZSTD_KIND_UNFILTERED 1u /* the frame decodes to the chunk's raw bytes */
/* Like UNFILTERED, but the frame was compressed with the previous chunk's decoded bytes as a
 * raw-content prefix (zstd's refPrefix), so its matches may reach into that chunk. */
#define SPK_ZSTD_KIND_PREFIXED 2u
/* Largest chunk_size a reader accepts (16 MiB): bounds the workspace whatever the blob says. */
#define SPK_ZSTD_MAX_CHUNK_SIZE (1u << 24)
/* The chunk size the packer writes (64 KiB; a multiple of 3 bytes less for 6-bit dtypes). */
#define SPK_ZSTD_DEFAULT_CHUNK_SIZE (1u << 16)
/* The largest chunk `statepack pack --compress zstd` writes unless `--max-chunk` caps it
 * (2 MiB): a tensor whose sampled chunk shows structure, and that codes smaller in one large
 * chunk than in default ones, gets chunks up to this size (matches then reach a position
 * table's or a basis' period). Noise-like tensors keep SPK_ZSTD_DEFAULT_CHUNK_SIZE. */
#define SPK_ZSTD_PACK_MAX_CHUNK_SIZE (1u << 21)

/* ---- workspace --------------------------------------------------------------------------- */

/* Bytes of workspace spk_zstd_decode needs for tensor t: zstd's decompression context plus,
 * for a byte-grouped tensor, one chunk buffer, plus slack for aligning the context (PREFIXED
 * chunks take their prefix from `out`: no extra workspace). 0 for a
 * tensor stored raw (or t == NULL). For a malformed segment the size of the context alone
 * (decoding then fails with SPK_ERR_CORRUPT_DATA). */
size_t spk_zstd_workspace_size(const spk_tensor *t);

/* Bytes of workspace spk_zstd_dequantize needs for tensor t: the context and one chunk buffer,
 * one more for byte-grouped 8-byte elements and one more (the previous chunk's decoded bytes)
 * when a chunk is PREFIXED. 0 for a tensor stored raw. The packer writes PREFIXED chunks only
 * for elements of at most 4 bytes, so its blobs need at most two chunk buffers. */
size_t spk_zstd_dequantize_workspace_size(const spk_tensor *t);

/* The largest spk_zstd_dequantize_workspace_size of any tensor whose chunks hold at most
 * chunk_size bytes (the context plus two chunk buffers): for a workspace allocated at build
 * time. Blobs from `statepack pack --compress zstd` need
 * spk_zstd_workspace_bound(SPK_ZSTD_PACK_MAX_CHUNK_SIZE) (4.1 MiB on 64-bit hosts); packed with
 * `--max-chunk SIZE`, spk_zstd_workspace_bound(SIZE) (`--max-chunk 64K`: 222 KiB on 64-bit
 * hosts). A tensor whose chunks need more than the workspace passed is refused with
 * SPK_ERR_BUFFER_TOO_SMALL before anything is decoded; spk_zstd_blob_workspace_size tells a
 * loader at open time. */
size_t spk_zstd_workspace_bound(size_t chunk_size);

/* The largest spk_zstd_dequantize_workspace_size over every tensor of an opened blob (which
 * also covers spk_zstd_workspace_size); 0 if no tensor is compressed. */
size_t spk_zstd_blob_workspace_size(const spk_blob *blob);

/* ---- decoding ---------------------------------------------------------------------------- */

/* Writes the tensor's decoded bytes (its raw stored form: little-endian elements, filter
 * undone; exactly what a raw tensor's t->data holds) into out[0, t->decoded_size).
 * `workspace` is any memory of workspace_size >= spk_zstd_workspace_size(t) bytes, used as
 * scratch; its alignment does not matter. A raw tensor is copied.
 * Returns SPK_OK; SPK_ERR_INVALID_ARGUMENT for NULL pointers or a view whose sizes disagree
 * with its dtype and shape; SPK_ERR_BUFFER_TOO_SMALL if out_size < t->decoded_size or the
 * workspace is too small; SPK_ERR_CORRUPT_DATA for a segment that is not a valid chunk
 * sequence or a chunk that does not decode to its length. On failure `out` may hold part of
 * the data. */
spk_status spk_zstd_decode(const spk_tensor *t, void *workspace, size_t workspace_size, void *out,
                           size_t out_size);

/* Writes the tensor's values as f32 into out[0, out_count), like spk_dequantize, one chunk at a
 * time through spk_dequantize_from (so every dtype and quantization scheme decodes exactly as
 * in the core runtime). workspace_size >= spk_zstd_dequantize_workspace_size(t). A raw tensor
 * goes straight to spk_dequantize. Same errors as spk_zstd_decode and spk_dequantize. */
spk_status spk_zstd_dequantize(const spk_tensor *t, void *workspace, size_t workspace_size,
                               float *out, size_t out_count);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* STATEPACK_STATEPACK_ZSTD_H */
