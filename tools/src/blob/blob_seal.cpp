// SPDX-License-Identifier: Apache-2.0
// Sealing and signing (see blob_seal.hpp).
//
// Sealing rebuilds nothing it does not understand: the new header is the old FlatBuffer with a
// new root table placed in front of it. The new root copies the old root's fields (offsets
// re-pointed into the shifted old bytes) and adds segment_digests; the old bytes move as one
// block by a multiple of 8, so every alignment the runtime and flatbuffers::Verifier check is
// kept, and every table, including fields a newer schema appended to them, is carried over
// exactly. The old root table stays behind as unreferenced bytes (FlatBuffers allows them; both
// checksums and the signature cover them). Only the segment table's offsets are patched, since
// the larger preamble and header move every segment.
#include "statepack/tools/blob/blob_seal.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "statepack/format.h"
#include "statepack/tools/blob/blob_layout.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/core/parallel.hpp"
#include "statepack/tools/io/atomic_output.hpp"
#include "statepack_generated.h"

namespace statepack {
namespace {

// Header root table fields (statepack.fbs, table Header).
constexpr uint32_t kFieldSegmentDigests = 4;
constexpr uint32_t kKnownRootFields = 5;
constexpr uint64_t kSlice = uint64_t{8} << 20;

const uint8_t *preamble_of(const BlobFile &blob) {
  return blob.blob().data;
}

uint64_t header_offset(const BlobFile &blob) {
  return static_cast<uint64_t>(blob.blob().header - blob.blob().data);
}

struct SegmentRecord {
  uint64_t offset, size;
};

SegmentRecord segment_at(const spk_blob &b, uint32_t index) {
  const uint8_t *record = b.header + b.segments + uint64_t{24} * index;
  return {load_le64(record), load_le64(record + 8)};
}

// The header's segment_digests, checked by flatbuffers::Verifier (the runtime does not read
// the field); null when absent.
const flatbuffers::Vector<const fb::Digest256 *> *segment_digests(const BlobFile &blob) {
  const spk_blob &b = blob.blob();
  flatbuffers::Verifier verifier(b.header, b.header_size);
  if (!fb::VerifyHeaderBuffer(verifier)) fail_input(blob.path(), "header fails FlatBuffers checks");
  return fb::GetHeader(b.header)->segment_digests();
}

std::string tensors_of(const BlobFile &blob, uint32_t segment) {
  std::string names;
  for (const std::string &name : blob.tensors_in_segment(segment)) {
    names += (names.empty() ? "" : ", ") + name;
  }
  return names.empty() ? "" : " (" + names + ")";
}

Digest256 digest_of_range(const uint8_t *data, uint64_t size) {
  Sha256 hasher;
  for (uint64_t done = 0; done < size; done += kSlice) {
    hasher.update(data + done, static_cast<size_t>(std::min(kSlice, size - done)));
  }
  return hasher.final();
}

// The header of the sealed blob (see the file comment) and where its segment table starts.
struct SealedHeader {
  std::vector<uint8_t> bytes;
  uint32_t segments = 0;  // header offset of the first segment record
};

SealedHeader build_sealed_header(const BlobFile &blob) {
  const spk_blob &b = blob.blob();
  const uint8_t *old = b.header;
  const uint32_t old_size = b.header_size;
  // The runtime checked the root table and its vtable.
  const uint32_t root = load_le32(old);
  const auto soffset = static_cast<int32_t>(load_le32(old + root));
  const uint32_t vtable = root - static_cast<uint32_t>(soffset);
  const uint16_t vtable_size = load_le16(old + vtable);
  const uint32_t fields = (vtable_size - 4u) / 2u;
  for (uint32_t id = kKnownRootFields; id < fields; ++id) {
    if (load_le16(old + vtable + 4 + 2 * id) != 0) {
      fail_input(blob.path(), "header root has field " + std::to_string(id) +
                                  ", unknown to this statepack; it cannot be sealed");
    }
  }
  const uint32_t count = b.segment_count;
  // New front part: root offset, identifier, vtable (4 + 2 * 5 bytes, padded to 16), root table
  // (soffset + 4 offset fields + alignment = 24 bytes), the digest vector, padding to 8.
  constexpr uint32_t kVtable = 8, kTable = 24, kTableSize = 24, kDigests = 48;
  const uint64_t front = align_up(kDigests + 4 + uint64_t{32} * count, 8);
  const uint64_t delta = front - 8;
  if (front + old_size - 8 > SPK_MAX_HEADER_SIZE)
    fail_input(blob.path(), "header too large to seal");
  std::vector<uint8_t> h(static_cast<size_t>(front + old_size - 8), 0);
  store_le32(h.data(), kTable);
  std::memcpy(h.data() + 4, SPK_FILE_IDENTIFIER, 4);
  store_le16(h.data() + kVtable, 4 + 2 * kKnownRootFields);
  store_le16(h.data() + kVtable + 2, kTableSize);
  store_le32(h.data() + kTable, kTable - kVtable);  // soffset: vtable = table - soffset
  for (uint32_t id = 0; id < kKnownRootFields; ++id) {
    const uint32_t at = kTable + 4 + 4 * id;
    if (id == kFieldSegmentDigests) {
      store_le16(h.data() + kVtable + 4 + 2 * id, static_cast<uint16_t>(at - kTable));
      store_le32(h.data() + at, kDigests - at);
      continue;
    }
    const uint16_t field = id < fields ? load_le16(old + vtable + 4 + 2 * id) : 0;
    if (field == 0) continue;  // absent stays absent (alignment then takes its default)
    store_le16(h.data() + kVtable + 4 + 2 * id, static_cast<uint16_t>(at - kTable));
    const uint32_t old_at = root + field;
    if (id == 3) {  // alignment: a u32 scalar
      store_le32(h.data() + at, load_le32(old + old_at));
    } else {  // tensors, segments, metadata: offsets into the old bytes, which move by delta
      const uint64_t target = old_at + uint64_t{load_le32(old + old_at)} + delta;
      store_le32(h.data() + at, static_cast<uint32_t>(target - at));
    }
  }
  store_le32(h.data() + kDigests, count);
  std::memcpy(h.data() + front, old + 8, old_size - 8);
  return {std::move(h), static_cast<uint32_t>(b.segments + delta)};
}

std::vector<uint8_t> build_sealed_preamble(const BlobFile &blob, uint64_t blob_size,
                                           const std::vector<uint8_t> &header,
                                           const Digest256 &header_digest) {
  const uint8_t *old = preamble_of(blob);
  const auto algo = static_cast<ChecksumAlgo>(blob.blob().checksum);
  std::vector<uint8_t> p(SPK_PREAMBLE_SIZE_DIGESTS, 0);
  std::memcpy(p.data(), old, SPK_PRE_FORMAT_MINOR);  // magic, major
  store_le16(p.data() + SPK_PRE_FORMAT_MINOR, SPK_FORMAT_MINOR_DIGESTS);
  store_le32(p.data() + SPK_PRE_PREAMBLE_SIZE, SPK_PREAMBLE_SIZE_DIGESTS);
  store_le64(p.data() + SPK_PRE_BLOB_SIZE, blob_size);
  store_le64(p.data() + SPK_PRE_HEADER_OFFSET, SPK_PREAMBLE_SIZE_DIGESTS);
  store_le64(p.data() + SPK_PRE_HEADER_SIZE, header.size());
  p[SPK_PRE_CHECKSUM_ALGO] = static_cast<uint8_t>(algo);
  store_le64(p.data() + SPK_PRE_HEADER_CHECKSUM, checksum(algo, header.data(), header.size()));
  p[SPK_PRE_DIGEST_ALGO] = SPK_DIGEST_SHA256;
  std::memcpy(p.data() + SPK_PRE_HEADER_DIGEST, header_digest.data(), 32);
  return p;
}

// Fills the signature fields (or leaves the blob unsigned when key is null) and the checksum.
void finish_preamble(std::vector<uint8_t> &p, ChecksumAlgo algo, const SecretKey *key) {
  if (key != nullptr) {
    p[SPK_PRE_SIGNATURE_ALGO] = SPK_SIGNATURE_ED25519;
    const KeyId id = key_id(key->public_key);
    std::memcpy(p.data() + SPK_PRE_KEY_ID, id.data(), id.size());
    const Signature signature = sign_digest(*key, blob_digest(p.data()));
    std::memcpy(p.data() + SPK_PRE_SIGNATURE, signature.data(), signature.size());
  }
  const size_t covered = p.size() - 8;
  store_le64(p.data() + covered, checksum(algo, p.data(), covered));
}

}  // namespace

std::optional<DigestBlock> read_digest_block(const BlobFile &blob) {
  const spk_blob &b = blob.blob();
  const uint8_t *p = preamble_of(blob);
  const uint64_t preamble_size = header_offset(blob);
  const auto *digests = segment_digests(blob);
  if (preamble_size == SPK_PREAMBLE_SIZE_V1) {
    if (digests != nullptr) fail_input(blob.path(), "segment_digests without a digest block");
    return std::nullopt;
  }
  const std::string where = "digest block: ";
  if (preamble_size != SPK_PREAMBLE_SIZE_DIGESTS) {
    fail_input(blob.path(),
               where + "preamble size " + std::to_string(preamble_size) + " is neither 64 nor 176");
  }
  if (b.format_minor < SPK_FORMAT_MINOR_DIGESTS) {
    fail_input(blob.path(), where + "in a format 1.0 blob");
  }
  for (uint32_t i = SPK_PRE_RESERVED; i < SPK_PRE_HEADER_CHECKSUM; ++i) {
    if (p[i] != 0) fail_input(blob.path(), where + "reserved preamble bytes are not zero");
  }
  if (p[SPK_PRE_DIGEST_ALGO] != SPK_DIGEST_SHA256) {
    fail_input(blob.path(),
               where + "unknown digest algorithm " + std::to_string(p[SPK_PRE_DIGEST_ALGO]));
  }
  for (uint32_t i = SPK_PRE_DIGEST_RESERVED; i < SPK_PRE_HEADER_DIGEST; ++i) {
    if (p[i] != 0) fail_input(blob.path(), where + "reserved bytes are not zero");
  }
  DigestBlock block;
  block.signature_algo = p[SPK_PRE_SIGNATURE_ALGO];
  std::memcpy(block.header_digest.data(), p + SPK_PRE_HEADER_DIGEST, 32);
  std::memcpy(block.key_id.data(), p + SPK_PRE_KEY_ID, 8);
  std::memcpy(block.signature.data(), p + SPK_PRE_SIGNATURE, 64);
  if (block.signature_algo == SPK_SIGNATURE_NONE) {
    const bool zero = std::all_of(p + SPK_PRE_KEY_ID, p + SPK_PRE_SIGNATURE + 64,
                                  [](uint8_t v) { return v == 0; });
    if (!zero) fail_input(blob.path(), where + "unsigned, but key id or signature not zero");
  } else if (block.signature_algo != SPK_SIGNATURE_ED25519) {
    fail_input(blob.path(),
               where + "unknown signature algorithm " + std::to_string(block.signature_algo));
  }
  if (digests == nullptr || digests->size() != b.segment_count) {
    fail_input(blob.path(), where +
                                "the header's segment_digests are missing or do not have "
                                "one entry per segment");
  }
  return block;
}

Digest256 blob_digest(const uint8_t *preamble) {
  Sha256 hasher;
  hasher.update(SPK_SIGNING_DOMAIN, SPK_SIGNING_DOMAIN_SIZE);
  hasher.update(preamble, SPK_PRE_SIGNATURE);
  return hasher.final();
}

void verify_digests(const BlobFile &blob, const DigestBlock &block, unsigned threads) {
  const spk_blob &b = blob.blob();
  if (sha256(b.header, b.header_size) != block.header_digest) {
    fail_input(blob.path(), "header does not match its SHA-256");
  }
  const auto *digests = segment_digests(blob);
  std::atomic<uint32_t> first_failed{SPK_NO_SEGMENT};
  parallel_for(b.segment_count, threads, [&](uint64_t i) {
    const SegmentRecord s = segment_at(b, static_cast<uint32_t>(i));
    const Digest256 digest = digest_of_range(b.data + s.offset, s.size);
    if (std::memcmp(digest.data(), digests->Get(static_cast<uint32_t>(i))->bytes()->data(), 32) !=
        0) {
      uint32_t seen = first_failed.load();
      while (i < seen && !first_failed.compare_exchange_weak(seen, static_cast<uint32_t>(i))) {
      }
    }
  });
  const uint32_t failed = first_failed.load();
  if (failed != SPK_NO_SEGMENT) {
    fail_input(blob.path(), "segment " + std::to_string(failed) + tensors_of(blob, failed) +
                                " does not match its SHA-256");
  }
}

void check_signature(const BlobFile &blob, const DigestBlock &block, const PublicKey &key,
                     const std::string &key_path) {
  if (block.signature_algo == SPK_SIGNATURE_NONE) fail_input(blob.path(), "not signed");
  const KeyId id = key_id(key);
  if (id != block.key_id) {
    fail_input(blob.path(), "signed by key " + hex_bytes(block.key_id.data(), 8) + ", not by " +
                                key_path + " (key " + hex_bytes(id.data(), 8) + ")");
  }
  if (!verify_digest(key, blob_digest(preamble_of(blob)), block.signature)) {
    fail_input(blob.path(), "signature does not verify with " + key_path);
  }
}

uint64_t seal_blob(const BlobFile &blob, const SecretKey *key, const std::string &output) {
  const spk_blob &b = blob.blob();
  SealedHeader header = build_sealed_header(blob);
  // The segments tile the blob behind the new header, in order, with the same alignment.
  const uint32_t count = b.segment_count;
  std::vector<SegmentRecord> placed(count);
  uint64_t end = SPK_PREAMBLE_SIZE_DIGESTS + header.bytes.size();
  for (uint32_t i = 0; i < count; ++i) {
    const SegmentRecord old = segment_at(b, i);
    placed[i] = {align_up(end, b.alignment), old.size};
    store_le64(header.bytes.data() + header.segments + uint64_t{24} * i, placed[i].offset);
    end = placed[i].offset + old.size;
  }
  // Digests of the stored bytes (unchanged by the move), into the vector at header byte 52.
  parallel_for(count, 0, [&](uint64_t i) {
    const SegmentRecord old = segment_at(b, static_cast<uint32_t>(i));
    const Digest256 digest = digest_of_range(b.data + old.offset, old.size);
    std::memcpy(header.bytes.data() + 52 + 32 * i, digest.data(), 32);
  });
  std::vector<uint8_t> preamble = build_sealed_preamble(
      blob, end, header.bytes, sha256(header.bytes.data(), header.bytes.size()));
  finish_preamble(preamble, static_cast<ChecksumAlgo>(b.checksum), key);
  check_header_with_runtime(preamble, header.bytes);

  AtomicOutput out(output, OutputAccess::kSequential);
  out.write(preamble.data(), preamble.size());
  out.write(header.bytes.data(), header.bytes.size());
  for (uint32_t i = 0; i < count; ++i) {
    out.write_zeros(placed[i].offset - out.position());
    const SegmentRecord old = segment_at(b, i);
    for (uint64_t done = 0; done < old.size; done += kSlice) {
      out.write(b.data + old.offset + done, static_cast<size_t>(std::min(kSlice, old.size - done)));
    }
  }
  out.commit();
  return end;
}

uint64_t sign_blob(const BlobFile &blob, const SecretKey &key, const std::string &output,
                   unsigned threads) {
  blob.verify(threads);
  const std::optional<DigestBlock> block = read_digest_block(blob);
  if (!block) return seal_blob(blob, &key, output);
  verify_digests(blob, *block, threads);
  const uint8_t *data = blob.blob().data;
  std::vector<uint8_t> preamble(data, data + SPK_PREAMBLE_SIZE_DIGESTS);
  std::fill(preamble.begin() + SPK_PRE_KEY_ID, preamble.end(), 0);
  preamble[SPK_PRE_SIGNATURE_ALGO] = SPK_SIGNATURE_NONE;
  finish_preamble(preamble, static_cast<ChecksumAlgo>(blob.blob().checksum), &key);

  AtomicOutput out(output, OutputAccess::kSequential);
  out.write(preamble.data(), preamble.size());
  // The rest from the mapping that was verified (not from the path, which may have changed).
  const uint64_t size = blob.blob().size;
  uint64_t at = SPK_PREAMBLE_SIZE_DIGESTS;
  for (; at < size; at += std::min(kSlice, size - at)) {
    out.write(data + at, static_cast<size_t>(std::min(kSlice, size - at)));
  }
  out.commit();
  return size;
}

}  // namespace statepack
