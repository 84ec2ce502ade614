// Fuzz target: pack and read back. The input describes a checkpoint (tensors of every dtype
// with shapes, names and bytes taken from the input, typed metadata) and the blob options
// (checksum, alignment, zstd); build_blob packs it and the runtime must open and verify the
// blob and give back every tensor's name, dtype, shape and bytes (decoded through the zstd
// add-on when compressed) and every metadata entry, exactly. The writer may refuse only what
// the format cannot hold (here: two tensors of the same name).
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/blob_writer.hpp"
#include "statepack/tools/error.hpp"

namespace {

using statepack::DType;

std::vector<uint8_t> tensor_bytes(statepack::fuzz::Input &in, uint64_t size) {
  std::vector<uint8_t> out(static_cast<size_t>(size));
  const std::vector<uint8_t> source = in.bytes(static_cast<size_t>(size));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = source.empty() ? static_cast<uint8_t>(i * 37) : source[i % source.size()];
  }
  return out;
}

std::string name_from(statepack::fuzz::Input &in) {
  const size_t length = 1 + in.u8() % 12;
  std::string name;
  for (size_t i = 0; i < length; ++i) {
    const uint8_t c = in.u8();
    // Mostly printable (so names collide and sort interestingly), sometimes any byte but NUL.
    name.push_back(static_cast<char>(c < 0xC0 ? 'a' + c % 6 : (c == 0xFF ? '.' : c)));
  }
  return name;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  statepack::fuzz::Input in(data, size);
  statepack::BlobOptions options;
  const uint8_t control = in.u8();
  options.checksum = (control & 1) ? statepack::ChecksumAlgo::kXxh32 : statepack::ChecksumAlgo::kXxh64;
  options.alignment = 8u << ((control >> 1) % 8);  // 8 .. 1024
  options.compression.zstd = (control & 0x10) != 0;
  options.compression.level = 1;
  options.threads = 1;

  statepack::Checkpoint checkpoint;
  std::set<std::string> names;
  bool duplicate = false;
  const unsigned tensor_count = in.u8() % 9;
  for (unsigned i = 0; i < tensor_count; ++i) {
    statepack::Tensor t;
    t.name = name_from(in);
    t.dtype = static_cast<DType>(1 + in.u8() % 22);
    const unsigned rank = in.u8() % 5;
    uint64_t count = 1;
    for (unsigned d = 0; d < rank; ++d) {
      const uint64_t dim = in.u8() % 9;
      t.shape.push_back(dim);
      count *= dim;
    }
    // Sub-byte dtypes need a whole number of bytes (an odd count of I4 has no input form).
    const std::optional<uint64_t> bytes = statepack::byte_size(t.dtype, count);
    if (!bytes) continue;
    t.size = *bytes;
    duplicate |= !names.insert(t.name).second;
    auto storage = std::make_shared<std::vector<uint8_t>>(tensor_bytes(in, t.size));
    // Tied tensors: sometimes copy the previous tensor's bytes when the sizes match.
    if (!checkpoint.tensors.empty() && t.size > 0 && (control & 0x20) != 0 && checkpoint.tensors.back().size == t.size) {
      std::memcpy(storage->data(), checkpoint.tensors.back().data, static_cast<size_t>(t.size));
    }
    t.data = storage->data();
    t.owner = storage;
    checkpoint.tensors.push_back(std::move(t));
  }
  const unsigned meta_count = in.u8() % 4;
  for (unsigned i = 0; i < meta_count; ++i) {
    const std::string key = name_from(in);
    const uint8_t kind = in.u8() % 4;
    const uint32_t v = in.u32();
    statepack::MetaValue value;
    if (kind == 0) value = statepack::MetaValue::of_string(name_from(in));
    if (kind == 1) value = statepack::MetaValue::of_int(static_cast<int32_t>(v));
    if (kind == 2) value = statepack::MetaValue::of_float(static_cast<double>(v) / 7.0);
    if (kind == 3) value = statepack::MetaValue::of_bool((v & 1) != 0);
    checkpoint.metadata[key] = value;
  }

  std::vector<uint8_t> blob;
  try {
    blob = statepack::build_blob(checkpoint, options);
  } catch (const statepack::Error &e) {
    if (!duplicate) std::fprintf(stderr, "unexpected refusal: %s\n", e.what());
    FUZZ_CHECK(duplicate);
    return 0;
  }
  FUZZ_CHECK(!duplicate);

  spk_blob opened;
  const spk_status status = spk_open(&opened, blob.data(), blob.size(), SPK_OPEN_VERIFY_SEGMENTS);
  if (status != SPK_OK) std::fprintf(stderr, "spk_open: %s\n", spk_status_str(status));
  FUZZ_CHECK(status == SPK_OK);
  FUZZ_CHECK(spk_tensor_count(&opened) == checkpoint.tensors.size());
  FUZZ_CHECK(spk_alignment(&opened) == options.alignment);
  for (const statepack::Tensor &expected : checkpoint.tensors) {
    spk_tensor t;
    FUZZ_CHECK(spk_find_n(&opened, expected.name.data(), expected.name.size(), &t) == SPK_OK);
    FUZZ_CHECK(static_cast<int>(t.dtype) == static_cast<int>(expected.dtype));
    FUZZ_CHECK(t.rank == expected.shape.size());
    for (uint32_t d = 0; d < t.rank; ++d) FUZZ_CHECK(t.shape[d] == expected.shape[d]);
    FUZZ_CHECK(t.decoded_size == expected.size);
    FUZZ_CHECK(t.quant.scheme == SPK_QUANT_NONE);
    if (t.codec == SPK_CODEC_RAW) {
      FUZZ_CHECK(t.stored_size == expected.size);
      FUZZ_CHECK(expected.size == 0 || std::memcmp(t.data, expected.data, expected.size) == 0);
    } else {
      FUZZ_CHECK(options.compression.zstd);
      std::vector<uint8_t> workspace(spk_zstd_workspace_size(&t));
      std::vector<uint8_t> decoded(static_cast<size_t>(t.decoded_size));
      FUZZ_CHECK(spk_zstd_decode(&t, workspace.data(), workspace.size(), decoded.data(),
                                 decoded.size()) == SPK_OK);
      FUZZ_CHECK(std::memcmp(decoded.data(), expected.data, decoded.size()) == 0);
    }
  }
  FUZZ_CHECK(spk_metadata_count(&opened) == checkpoint.metadata.size());
  for (const auto &[key, value] : checkpoint.metadata) {
    spk_meta m;
    FUZZ_CHECK(spk_metadata_find(&opened, key.c_str(), &m) == SPK_OK);
    FUZZ_CHECK(static_cast<int>(m.kind) == static_cast<int>(value.kind));
    switch (value.kind) {
      case statepack::MetaValue::Kind::kString:
        FUZZ_CHECK(std::string(m.string_value, m.string_length) == value.string_value);
        break;
      case statepack::MetaValue::Kind::kInt: FUZZ_CHECK(m.int_value == value.int_value); break;
      case statepack::MetaValue::Kind::kFloat: FUZZ_CHECK(m.float_value == value.float_value); break;
      case statepack::MetaValue::Kind::kBool: FUZZ_CHECK((m.bool_value != 0) == value.bool_value); break;
    }
  }
  return 0;
}
