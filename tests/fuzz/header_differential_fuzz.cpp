// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the runtime's own FlatBuffers reader against the oracle, flatc's generated
// reader and flatbuffers::Verifier, on fuzzed header bytes. The header is wrapped in a blob
// with correct checksums (so it reaches the structural checks); when the Verifier accepts it and
// control bit 0 is set, its segment table is rewritten in place to tile real data with correct
// checksums, so it can also pass the semantic checks and be compared field by field.
//
// Agreement rules (the runtime interleaves structural and semantic checks, so a semantic
// refusal may come first and hide a structural fault):
//  - the runtime says SPK_ERR_HEADER_MALFORMED  =>  the Verifier rejects the header;
//  - the Verifier rejects the header            =>  the runtime does not open the blob;
//  - the runtime opens the blob                 =>  every field reads the same through both.
// One deliberate difference: the runtime refuses a segments vector whose 8-byte structs are not
// 8-aligned (FlatBuffers aligns them, and flatc's own accessors would read them misaligned),
// which flatbuffers 2.0's Verifier does not check.
//
// Input: byte 0 = control (bit 0: tile the segments; bit 1: XXH32), then the header bytes.
#include <cstring>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "statepack/format.h"
#include "statepack/statepack.h"
#include "statepack_generated.h"

namespace fb = statepack::fb;
using statepack::fuzz::store_u64_le;

namespace {

uint64_t align_up(uint64_t v, uint64_t a) {
  return (v + a - 1) / a * a;
}

bool same_bits(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

void compare_fields(const spk_blob &blob, const uint8_t *header) {
  const fb::Header *root = fb::GetHeader(header);
  FUZZ_CHECK(root->alignment() == spk_alignment(&blob));
  FUZZ_CHECK((root->segments() ? root->segments()->size() : 0) == blob.segment_count);
  const uint32_t count = spk_tensor_count(&blob);
  FUZZ_CHECK((root->tensors() ? root->tensors()->size() : 0) == count);
  for (uint32_t i = 0; i < count; ++i) {
    const fb::Tensor *e = root->tensors()->Get(i);
    spk_tensor t;
    FUZZ_CHECK(spk_tensor_at(&blob, i, &t) == SPK_OK);
    FUZZ_CHECK(e->name()->size() == t.name_length &&
               std::memcmp(e->name()->data(), t.name, t.name_length) == 0);
    FUZZ_CHECK(static_cast<int>(e->dtype()) == t.dtype);
    FUZZ_CHECK(static_cast<int>(e->source_dtype()) == t.source_dtype);
    FUZZ_CHECK((e->shape() ? e->shape()->size() : 0) == t.rank);
    for (uint32_t d = 0; d < t.rank; ++d) FUZZ_CHECK(e->shape()->Get(d) == t.shape[d]);
    FUZZ_CHECK(e->data_segment() == t.segment);
    FUZZ_CHECK(e->stored_size() == t.stored_size);
    FUZZ_CHECK(e->decoded_size() == t.decoded_size);
    FUZZ_CHECK(static_cast<int>(e->codec()) == t.codec);
    FUZZ_CHECK(static_cast<int>(e->filter()) == t.filter);
    const fb::Segment *segment = root->segments()->Get(t.segment);
    FUZZ_CHECK(blob.data + segment->offset() == t.data);
    const fb::Quantization *q = e->quant();
    if (q == nullptr) {
      FUZZ_CHECK(t.quant.scheme == SPK_QUANT_NONE && t.quant.scale_count == 0);
      continue;
    }
    FUZZ_CHECK(static_cast<int>(q->scheme()) == t.quant.scheme);
    FUZZ_CHECK(q->axis() == t.quant.axis);
    FUZZ_CHECK(q->group_size() == t.quant.group_size);
    FUZZ_CHECK(same_bits(q->sqnr_db(), t.quant.sqnr_db));
    FUZZ_CHECK(same_bits(q->max_abs_error(), t.quant.max_abs_error));
    FUZZ_CHECK(q->overflow_count() == t.quant.overflow_count);
    if (t.quant.scale_count > 0) {
      FUZZ_CHECK(q->scale_segment() == t.quant.scale_segment);
      FUZZ_CHECK(static_cast<int>(q->scale_dtype()) == t.quant.scale_dtype);
      FUZZ_CHECK(blob.data + root->segments()->Get(q->scale_segment())->offset() == t.quant.scales);
    }
    if (t.quant.zero_point_count > 0) {
      FUZZ_CHECK(q->zero_point_segment() == t.quant.zero_point_segment);
      FUZZ_CHECK(static_cast<int>(q->zero_point_dtype()) == t.quant.zero_point_dtype);
    }
  }
  const auto *metadata = root->metadata();
  FUZZ_CHECK((metadata ? metadata->size() : 0) == spk_metadata_count(&blob));
  for (uint32_t i = 0; i < spk_metadata_count(&blob); ++i) {
    const fb::MetaEntry *e = metadata->Get(i);
    spk_meta m;
    FUZZ_CHECK(spk_metadata_at(&blob, i, &m) == SPK_OK);
    FUZZ_CHECK(e->key()->size() == m.key_length &&
               std::memcmp(e->key()->data(), m.key, m.key_length) == 0);
    FUZZ_CHECK(static_cast<int>(e->kind()) == m.kind);
    FUZZ_CHECK(e->int_value() == m.int_value);
    const double expected_float = e->float_value();
    FUZZ_CHECK(std::memcmp(&expected_float, &m.float_value, sizeof(double)) == 0);
    FUZZ_CHECK(static_cast<int>(e->bool_value()) == m.bool_value);
    const auto *text = e->string_value();
    FUZZ_CHECK((text ? text->size() : 0) == m.string_length);
    FUZZ_CHECK(m.string_length == 0 ||
               std::memcmp(text->data(), m.string_value, m.string_length) == 0);
  }
}

// fb::Header as the core runtime reads it: every field except `segment_digests`, which only the
// sign add-on reads (FORMAT.md "Digests and signatures"). Like any reader of an older minor
// version, the core opens a header whose digest vector is broken, so the oracle must not judge
// that field; the generated Header::Verify is this check plus that one vector.
struct CoreHeader : flatbuffers::Table {
  bool Verify(flatbuffers::Verifier &verifier) const {
    const auto *header = reinterpret_cast<const fb::Header *>(this);
    return VerifyTableStart(verifier) && VerifyOffset(verifier, fb::Header::VT_TENSORS) &&
           verifier.VerifyVector(header->tensors()) &&
           verifier.VerifyVectorOfTables(header->tensors()) &&
           VerifyOffset(verifier, fb::Header::VT_SEGMENTS) &&
           verifier.VerifyVector(header->segments()) &&
           VerifyOffset(verifier, fb::Header::VT_METADATA) &&
           verifier.VerifyVector(header->metadata()) &&
           verifier.VerifyVectorOfTables(header->metadata()) &&
           VerifyField<uint32_t>(verifier, fb::Header::VT_ALIGNMENT, 4) && verifier.EndTable();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 + 8 || size > (1u << 20)) return 0;
  const uint8_t control = data[0];
  const uint8_t algo = (control & 2) != 0 ? SPK_CHECKSUM_XXH32 : SPK_CHECKSUM_XXH64;
  const size_t header_size = size - 1;
  const uint64_t header_end = SPK_PREAMBLE_SIZE_V1 + header_size;

  // The oracle's verdict on the header bytes alone (an 8-aligned copy, as in a blob), judged
  // as the core runtime reads them: without the fields only add-ons read.
  std::vector<uint8_t> header(data + 1, data + size);
  const auto oracle = [&header](bool *misaligned_segments) {
    flatbuffers::Verifier verifier(header.data(), header.size());
    if (!verifier.VerifyBuffer<CoreHeader>(fb::HeaderIdentifier())) return false;
    const auto *segments = fb::GetHeader(header.data())->segments();
    *misaligned_segments =
        segments != nullptr && segments->size() != 0 &&
        (reinterpret_cast<const uint8_t *>(segments->Data()) - header.data()) % 8 != 0;
    return true;
  };
  bool misaligned_segments = false;
  bool oracle_accepts = oracle(&misaligned_segments);

  // Segment data, laid out where the (rewritten) table says, when the header can be trusted.
  std::vector<std::vector<uint8_t>> segment_bytes;
  std::vector<uint64_t> segment_offsets;
  uint64_t blob_size = header_end;
  if (oracle_accepts && (control & 1) != 0) {
    // The generated code has no mutators, so the 24-byte Segment structs (offset, size,
    // checksum: little-endian u64) are rewritten where the verified vector holds them.
    const fb::Header *root = fb::GetHeader(header.data());
    const uint32_t alignment = root->alignment();
    const auto *segments = root->segments();
    if (segments != nullptr && alignment != 0 && (alignment & (alignment - 1)) == 0 &&
        alignment <= 65536 && segments->size() <= 64) {
      uint8_t *table =
          header.data() + (reinterpret_cast<const uint8_t *>(segments->Data()) - header.data());
      uint64_t end = header_end;
      for (uint32_t i = 0; i < segments->size(); ++i) {
        uint8_t *record = table + 24u * i;
        const uint64_t length = statepack::fuzz::load_u64_le(record + 8) % 4097;
        std::vector<uint8_t> bytes(static_cast<size_t>(length));
        for (size_t k = 0; k < bytes.size(); ++k) bytes[k] = static_cast<uint8_t>(k * 29 + i);
        const uint64_t offset = align_up(end, alignment);
        store_u64_le(record, offset);
        store_u64_le(record + 8, length);
        store_u64_le(record + 16, statepack::fuzz::blob_hash(algo, bytes.data(), bytes.size()));
        end = offset + length;
        segment_bytes.push_back(std::move(bytes));
        segment_offsets.push_back(offset);
      }
      blob_size = end;
      // In a fuzzed buffer the segment table may overlap other objects, which the rewrite then
      // changed: the oracle judges the bytes the runtime will see.
      oracle_accepts = oracle(&misaligned_segments);
    }
  }

  std::vector<uint8_t> blob(static_cast<size_t>(blob_size), 0);
  const uint8_t magic[8] = {SPK_MAGIC_0, SPK_MAGIC_1, SPK_MAGIC_2, SPK_MAGIC_3,
                            SPK_MAGIC_4, SPK_MAGIC_5, SPK_MAGIC_6, SPK_MAGIC_7};
  std::memcpy(blob.data(), magic, 8);
  blob[SPK_PRE_FORMAT_MAJOR] = SPK_FORMAT_MAJOR;
  blob[SPK_PRE_PREAMBLE_SIZE] = SPK_PREAMBLE_SIZE_V1;
  store_u64_le(blob.data() + SPK_PRE_BLOB_SIZE, blob_size);
  store_u64_le(blob.data() + SPK_PRE_HEADER_OFFSET, SPK_PREAMBLE_SIZE_V1);
  store_u64_le(blob.data() + SPK_PRE_HEADER_SIZE, header_size);
  blob[SPK_PRE_CHECKSUM_ALGO] = algo;
  std::memcpy(blob.data() + SPK_PREAMBLE_SIZE_V1, header.data(), header_size);
  for (size_t i = 0; i < segment_bytes.size(); ++i) {
    if (!segment_bytes[i].empty()) {
      std::memcpy(blob.data() + segment_offsets[i], segment_bytes[i].data(),
                  segment_bytes[i].size());
    }
  }
  statepack::fuzz::reseal(blob.data(), blob.size());

  spk_blob opened;
  const spk_status status = spk_open(&opened, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS);
  FUZZ_CHECK(statepack::fuzz::known_status(status));
  FUZZ_CHECK(status != SPK_ERR_HEADER_CHECKSUM && status != SPK_ERR_PREAMBLE_CHECKSUM);
  const bool runtime_malformed = status == SPK_ERR_HEADER_MALFORMED && !misaligned_segments;
  if (runtime_malformed && oracle_accepts) {
    std::fprintf(stderr, "runtime: header malformed; flatbuffers::Verifier: valid\n");
  }
  FUZZ_CHECK(!(runtime_malformed && oracle_accepts));
  if (status == SPK_OK && !oracle_accepts) {
    std::fprintf(stderr, "runtime: opened; flatbuffers::Verifier: invalid\n");
  }
  FUZZ_CHECK(!(status == SPK_OK && !oracle_accepts));
  if (status == SPK_OK) compare_fields(opened, blob.data() + SPK_PREAMBLE_SIZE_V1);
  return 0;
}
