/* SPDX-License-Identifier: Apache-2.0 */
/* statepack blob layout constants shared by the runtime (reader) and the host (writer).
 * schemas/FORMAT.md explains every field; this header only names the numbers. */
#ifndef STATEPACK_FORMAT_H
#define STATEPACK_FORMAT_H

/* Magic: a non-ASCII first byte catches 7-bit transfers, CR LF catches line-ending conversion,
 * 0x1A stops `type` on DOS, the final LF catches LF -> CR LF (the same idea as PNG's). */
#define SPK_MAGIC_0 0x89u
#define SPK_MAGIC_1 0x53u /* 'S' */
#define SPK_MAGIC_2 0x50u /* 'P' */
#define SPK_MAGIC_3 0x4Bu /* 'K' */
#define SPK_MAGIC_4 0x0Du
#define SPK_MAGIC_5 0x0Au
#define SPK_MAGIC_6 0x1Au
#define SPK_MAGIC_7 0x0Au

#define SPK_FORMAT_MAJOR 1u
/* The newest minor this runtime knows. Writers mark a blob with the lowest minor whose features
 * it uses: 0 for a plain blob, 1 (SPK_FORMAT_MINOR_DIGESTS) for one with the digest block. */
#define SPK_FORMAT_MINOR 1u
#define SPK_FORMAT_MINOR_DIGESTS 1u

/* Byte offsets of the preamble's fields (all little-endian). */
#define SPK_PRE_MAGIC 0u            /* 8 bytes */
#define SPK_PRE_FORMAT_MAJOR 8u     /* u16 */
#define SPK_PRE_FORMAT_MINOR 10u    /* u16 */
#define SPK_PRE_PREAMBLE_SIZE 12u   /* u32: 64 in format 1.0; the checksum is its last 8 bytes */
#define SPK_PRE_BLOB_SIZE 16u       /* u64 */
#define SPK_PRE_HEADER_OFFSET 24u   /* u64: equals the preamble size */
#define SPK_PRE_HEADER_SIZE 32u     /* u64 */
#define SPK_PRE_CHECKSUM_ALGO 40u   /* u8: spk_checksum */
#define SPK_PRE_RESERVED 41u        /* 7 bytes, zero */
#define SPK_PRE_HEADER_CHECKSUM 48u /* u64: hash of the header bytes */
#define SPK_PREAMBLE_SIZE_V1 64u    /* preamble checksum at [preamble_size - 8, preamble_size) */

/* Format 1.1: the digest/signature block of an extended preamble (schemas/FORMAT.md, "Digests
 * and signatures"), checked by the sign add-on (statepack_sign.h), not by the core. */
#define SPK_PRE_DIGEST_ALGO 56u        /* u8: spk_digest_algo (1 = SHA-256) */
#define SPK_PRE_SIGNATURE_ALGO 57u     /* u8: spk_signature_algo (0 = unsigned, 1 = Ed25519) */
#define SPK_PRE_DIGEST_RESERVED 58u    /* 6 bytes, zero */
#define SPK_PRE_HEADER_DIGEST 64u      /* 32 bytes: SHA-256 of the header bytes */
#define SPK_PRE_KEY_ID 96u             /* 8 bytes: SHA-256(public key)[0..8), zero if unsigned */
#define SPK_PRE_SIGNATURE 104u         /* 64 bytes: Ed25519 signature, zero if unsigned */
#define SPK_PREAMBLE_SIZE_DIGESTS 176u /* preamble size with the digest block */
#define SPK_DIGEST_SHA256 1u
#define SPK_SIGNATURE_NONE 0u
#define SPK_SIGNATURE_ED25519 1u
/* The signed message is SHA-256(SPK_SIGNING_DOMAIN including its NUL || preamble bytes
 * [0, SPK_PRE_SIGNATURE)): the 32-byte "blob digest". */
#define SPK_SIGNING_DOMAIN "statepack signed blob v1"
#define SPK_SIGNING_DOMAIN_SIZE 25u /* with the terminating NUL */

/* The header's FlatBuffers file identifier (bytes 4..8 of the header). */
#define SPK_FILE_IDENTIFIER "SPK1"

/* Limits a valid blob stays within; a header beyond them is refused (SPK_ERR_HEADER_LIMIT). */
#define SPK_MAX_HEADER_SIZE 0x7FFFFFFFu
#define SPK_MAX_TENSORS 1000000u
#define SPK_MAX_SEGMENTS 3000000u
#define SPK_MAX_METADATA 100000u
#define SPK_MAX_NAME_LENGTH 65535u
#define SPK_MAX_ALIGNMENT 65536u

#endif /* STATEPACK_FORMAT_H */
