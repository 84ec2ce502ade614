// SPDX-License-Identifier: Apache-2.0
// `--compress zstd` end to end through the library: every dtype and every quantization scheme
// decodes bit for bit through the runtime's zstd add-on, the bytes do not depend on the thread
// count, segments that do not shrink stay raw, and damage is caught by verify and by the
// decoder alike.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/statepack_zstd.h"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/quant/float_convert.hpp"
#include "statepack/tools/quant/quant_rules.hpp"
#include "statepack/tools/quant/quantize.hpp"
#include "support/sample_checkpoint.hpp"

namespace {

using statepack::BlobOptions;
using statepack::Checkpoint;
using statepack::DType;
using statepack::test::owned_tensor;

BlobOptions zstd_options(unsigned threads = 2) {
  BlobOptions options;
  options.compression.zstd = true;
  options.threads = threads;
  return options;
}

// Trained-looking weights: Student-t tails, a different spread per row.
std::vector<float> weights(size_t rows, size_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::student_t_distribution<float> tail(5.0f);
  std::lognormal_distribution<float> spread(0.0f, 0.3f);
  std::vector<float> out(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    const float s = spread(rng) * 0.02f;
    for (size_t c = 0; c < cols; ++c) out[r * cols + c] = tail(rng) * s;
  }
  return out;
}

// Bytes of `count` elements of `dtype`: weights narrowed to the type for floats, small values
// for integers; with `noisy_start` the first third is incompressible, so a segment mixes
// chunks stored raw with compressed ones.
std::vector<uint8_t> tensor_bytes(DType dtype, uint64_t count, uint32_t seed,
                                  bool noisy_start = false) {
  const uint32_t bits = statepack::dtype_bits(dtype);
  std::vector<uint8_t> out(static_cast<size_t>(count * bits / 8));
  const std::vector<float> w = weights(1, static_cast<size_t>(count), seed);
  std::mt19937 rng(seed);
  for (size_t i = 0; i < count && bits >= 8; ++i) {
    uint8_t *p = out.data() + i * (bits / 8);
    uint64_t v = 0;
    switch (dtype) {
      case DType::kF32:
        std::memcpy(&v, &w[i], 4);
        break;
      case DType::kF64: {
        const double d = w[i];
        std::memcpy(&v, &d, 8);
        break;
      }
      case DType::kF16:
        v = statepack::f32_to_f16(w[i]);
        break;
      case DType::kBF16:
        v = statepack::f32_to_bf16(w[i]);
        break;
      case DType::kC64:
        std::memcpy(&v, &w[i], 4);
        v |= v << 32;
        break;
      case DType::kBool:
        v = rng() % 2;
        break;
      default:
        v = rng() % 23;
        break;
    }
    for (uint32_t k = 0; k < bits / 8; ++k) p[k] = static_cast<uint8_t>(v >> (8 * k));
  }
  if (bits < 8) {
    for (auto &b : out) b = static_cast<uint8_t>(rng() % 7 * 0x11);
  }
  const auto noise = statepack::test::pattern_bytes(noisy_start ? out.size() / 3 : 0, seed);
  std::copy(noise.begin(), noise.end(), out.begin());
  return out;
}

struct Opened {
  std::vector<uint8_t> bytes;
  spk_blob blob{};
  explicit Opened(std::vector<uint8_t> b) : bytes(std::move(b)) {
    REQUIRE(spk_open(&blob, bytes.data(), bytes.size(), SPK_OPEN_VERIFY_SEGMENTS) == SPK_OK);
  }
  spk_tensor find(const std::string &name) const {
    spk_tensor t;
    REQUIRE(spk_find(&blob, name.c_str(), &t) == SPK_OK);
    return t;
  }
};

std::vector<uint8_t> decode(const spk_tensor &t) {
  std::vector<uint8_t> workspace(spk_zstd_workspace_size(&t));
  std::vector<uint8_t> out(static_cast<size_t>(t.decoded_size));
  REQUIRE(spk_zstd_decode(&t, workspace.data(), workspace.size(), out.data(), out.size()) ==
          SPK_OK);
  return out;
}

std::vector<float> dequantize(const spk_tensor &t) {
  std::vector<uint8_t> workspace(spk_zstd_dequantize_workspace_size(&t));
  std::vector<float> out(static_cast<size_t>(t.element_count));
  REQUIRE(spk_zstd_dequantize(&t, workspace.data(), workspace.size(), out.data(), out.size()) ==
          SPK_OK);
  return out;
}

bool same_floats(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

const DType kAllDtypes[] = {DType::kF32,     DType::kF64,     DType::kF16,     DType::kBF16,
                            DType::kF8_E4M3, DType::kF8_E5M2, DType::kF8_E8M0, DType::kF6_E2M3,
                            DType::kF6_E3M2, DType::kF4_E2M1, DType::kI8,      DType::kI16,
                            DType::kI32,     DType::kI64,     DType::kU8,      DType::kU16,
                            DType::kU32,     DType::kU64,     DType::kBool,    DType::kC64};

}  // namespace

TEST_CASE("every dtype decodes bit for bit from a compressed blob") {
  Checkpoint c;
  uint32_t seed = 1;
  for (DType dtype : kAllDtypes) {
    const std::string name(statepack::dtype_name(dtype));
    // Tiny (stays raw), one ragged chunk, and several chunks starting with incompressible ones.
    c.tensors.push_back(owned_tensor(name + ".tiny", dtype, {4}, tensor_bytes(dtype, 4, seed++)));
    c.tensors.push_back(
        owned_tensor(name + ".small", dtype, {10, 100}, tensor_bytes(dtype, 1000, seed++)));
    c.tensors.push_back(owned_tensor(name + ".large", dtype, {300, 400},
                                     tensor_bytes(dtype, 120000, seed++, true)));
  }
  const Opened packed(statepack::build_blob(c, zstd_options()));
  const Opened raw(statepack::build_blob(c, {}));
  size_t compressed = 0;
  for (const statepack::Tensor &original : c.tensors) {
    CAPTURE(original.name);
    const spk_tensor t = packed.find(original.name);
    const spk_tensor r = raw.find(original.name);
    if (t.codec != SPK_CODEC_RAW) {
      ++compressed;
      CHECK(t.stored_size < t.decoded_size);
    }
    const std::vector<uint8_t> bytes = decode(t);
    CHECK(bytes == std::vector<uint8_t>(original.data, original.data + original.size));
    if (original.dtype != DType::kC64) {
      std::vector<float> expected(static_cast<size_t>(r.element_count));
      REQUIRE(spk_dequantize(&r, expected.data(), expected.size()) == SPK_OK);
      CHECK(same_floats(dequantize(t), expected));
    }
  }
  // Every .small and .large tensor shrinks; the 4-element ones cannot pay for the footer.
  CHECK(compressed == 2 * std::size(kAllDtypes));
  CHECK(packed.find("F32.large").filter == SPK_FILTER_BYTE_GROUP_ROTATE);
  CHECK(packed.find("BF16.large").filter == SPK_FILTER_BYTE_GROUP_ROTATE);
  CHECK(packed.find("F16.large").filter == SPK_FILTER_BYTE_GROUP);
  CHECK(packed.find("I64.large").filter == SPK_FILTER_BYTE_GROUP);
  CHECK(packed.find("I8.large").filter == SPK_FILTER_NONE);
  CHECK(packed.find("F32.tiny").codec == SPK_CODEC_RAW);
}

TEST_CASE("every quantization scheme decodes bit for bit from a compressed blob") {
  for (const std::string &scheme : statepack::scheme_names()) {
    const auto spec = statepack::parse_scheme(scheme);
    REQUIRE(spec);
    if (spec->scheme == statepack::QuantScheme::kNone) continue;
    CAPTURE(scheme);
    const std::vector<float> w = weights(96, 1000, 11);
    Checkpoint c;
    c.tensors.push_back(owned_tensor(
        "w", DType::kF32, {96, 1000},
        std::vector<uint8_t>(reinterpret_cast<const uint8_t *>(w.data()),
                             reinterpret_cast<const uint8_t *>(w.data()) + w.size() * 4)));
    statepack::QuantPlan plan;
    plan.rules.push_back({"w", "w", *spec});
    statepack::apply_quant_plan(c, plan);
    REQUIRE(c.tensors[0].quant.get() != nullptr);
    const std::vector<float> expected = statepack::reconstruct(c.tensors[0]);
    for (unsigned threads : {1u, 3u}) {
      const Opened packed(statepack::build_blob(c, zstd_options(threads)));
      const spk_tensor t = packed.find("w");
      CHECK(t.quant.scheme == static_cast<spk_quant_scheme>(spec->scheme));
      CHECK(same_floats(dequantize(t), expected));
      CHECK(decode(t) ==
            std::vector<uint8_t>(c.tensors[0].data, c.tensors[0].data + c.tensors[0].size));
    }
  }
}

TEST_CASE("compressed output is the same for any thread count") {
  Checkpoint c;
  uint32_t seed = 5;
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16, DType::kI8}) {
    for (int i = 0; i < 3; ++i) {
      c.tensors.push_back(
          owned_tensor(std::string(statepack::dtype_name(dtype)) + std::to_string(i), dtype,
                       {500, 300}, tensor_bytes(dtype, 150000, seed++, i == 1)));
    }
  }
  const std::vector<uint8_t> one = statepack::build_blob(c, zstd_options(1));
  CHECK(one == statepack::build_blob(c, zstd_options(2)));
  CHECK(one == statepack::build_blob(c, zstd_options(8)));
  Opened opened(one);  // and it is a valid blob
  BlobOptions raw;
  raw.threads = 1;
  const std::vector<uint8_t> raw_one = statepack::build_blob(c, raw);
  raw.threads = 8;
  CHECK(raw_one == statepack::build_blob(c, raw));
  CHECK(one.size() < raw_one.size());
}

TEST_CASE("a segment that does not shrink is stored raw") {
  Checkpoint c;
  // Incompressible and longer than the writer's window, so it is streamed compressed first and
  // then written again raw; named last, so the blob is cut back to its real end.
  c.tensors.push_back(owned_tensor("a", DType::kF32, {1000}, tensor_bytes(DType::kF32, 1000, 3)));
  c.tensors.push_back(owned_tensor("zz", DType::kF32, {1 << 20},
                                   statepack::test::pattern_bytes(size_t{4} << 20, 4)));
  for (unsigned threads : {1u, 4u}) {
    const std::vector<uint8_t> bytes = statepack::build_blob(c, zstd_options(threads));
    const Opened packed(bytes);
    const spk_tensor t = packed.find("zz");
    CHECK(t.codec == SPK_CODEC_RAW);
    CHECK(t.filter == SPK_FILTER_NONE);
    CHECK(packed.blob.size == bytes.size());
    CHECK(packed.find("a").codec == SPK_CODEC_ZSTD);
    CHECK(decode(t) ==
          std::vector<uint8_t>(c.tensors[1].data, c.tensors[1].data + c.tensors[1].size));
  }
}

TEST_CASE("tied tensors share a compressed segment only when encoded alike") {
  Checkpoint c;
  const std::vector<uint8_t> bytes = tensor_bytes(DType::kF32, 4000, 9);
  c.tensors.push_back(owned_tensor("a", DType::kF32, {4000}, bytes));
  c.tensors.push_back(owned_tensor("b", DType::kF32, {4000}, bytes));
  c.tensors.push_back(owned_tensor("c", DType::kI32, {4000}, bytes));  // other filter
  const Opened packed(statepack::build_blob(c, zstd_options()));
  CHECK(packed.find("a").segment == packed.find("b").segment);
  CHECK(packed.find("a").segment != packed.find("c").segment);
  CHECK(decode(packed.find("c")) == bytes);
}

TEST_CASE("damaged compressed segments are caught by verify and by the decoder") {
  Checkpoint c;
  c.tensors.push_back(
      owned_tensor("w", DType::kBF16, {40, 2000}, tensor_bytes(DType::kBF16, 80000, 21, true)));
  const std::vector<uint8_t> good = statepack::build_blob(c, zstd_options());
  const Opened packed(good);
  const spk_tensor t = packed.find("w");
  REQUIRE(t.codec == SPK_CODEC_ZSTD);
  const auto offset =
      static_cast<size_t>(static_cast<const uint8_t *>(t.data) - packed.bytes.data());
  const auto stored = static_cast<size_t>(t.stored_size);
  std::vector<uint8_t> workspace(spk_zstd_dequantize_workspace_size(&t) + 1);
  std::vector<uint8_t> out(static_cast<size_t>(t.decoded_size));
  std::vector<float> values(static_cast<size_t>(t.element_count));

  SUBCASE("verify names the segment") {
    for (size_t at : {offset, offset + stored / 2, offset + stored - 1}) {
      std::vector<uint8_t> bad = good;
      bad[at] = static_cast<uint8_t>(bad[at] ^ 0x10);
      spk_blob b;
      REQUIRE(spk_open(&b, bad.data(), bad.size(), 0) == SPK_OK);
      uint32_t failed = 0;
      CHECK(spk_verify_report(&b, &failed) == SPK_ERR_SEGMENT_CHECKSUM);
      CHECK(failed == t.segment);
    }
  }
  SUBCASE("a truncated segment never decodes") {
    // The view claims fewer bytes, as a damaged header that still passed its checks could.
    std::vector<uint8_t> copy(static_cast<const uint8_t *>(t.data),
                              static_cast<const uint8_t *>(t.data) + stored);
    for (size_t cut = 1; cut < stored; cut += (cut < 64 ? 1 : 97)) {
      CAPTURE(cut);
      spk_tensor view = t;
      std::vector<uint8_t> shorter(copy.begin(), copy.end() - static_cast<ptrdiff_t>(cut));
      view.data = shorter.data();
      view.stored_size = shorter.size();
      CHECK(spk_zstd_decode(&view, workspace.data(), workspace.size(), out.data(), out.size()) ==
            SPK_ERR_CORRUPT_DATA);
      CHECK(spk_zstd_dequantize(&view, workspace.data(), workspace.size(), values.data(),
                                values.size()) == SPK_ERR_CORRUPT_DATA);
    }
  }
  SUBCASE("a damaged chunk table or footer never decodes; damaged chunks never crash") {
    std::vector<uint8_t> copy(static_cast<const uint8_t *>(t.data),
                              static_cast<const uint8_t *>(t.data) + stored);
    const uint32_t chunks =
        static_cast<uint32_t>(copy[stored - 4]) | static_cast<uint32_t>(copy[stored - 3]) << 8;
    const size_t table = stored - SPK_ZSTD_FOOTER_SIZE - 4 * size_t{chunks};
    size_t errors = 0;
    for (size_t at = 0; at < stored; at += (at >= table || at % 7 == 0) ? 1 : 7) {
      for (unsigned flip : {0x01u, 0x80u}) {
        std::vector<uint8_t> bad = copy;
        bad[at] = static_cast<uint8_t>(bad[at] ^ flip);
        spk_tensor view = t;
        view.data = bad.data();
        const spk_status s =
            spk_zstd_decode(&view, workspace.data(), workspace.size(), out.data(), out.size());
        CHECK((s == SPK_OK || s == SPK_ERR_CORRUPT_DATA));
        if (at >= table) CHECK(s == SPK_ERR_CORRUPT_DATA);
        if (s != SPK_OK) ++errors;
      }
    }
    CHECK(errors > 0);
  }
  SUBCASE("views that lie about their sizes are refused") {
    spk_tensor view = t;
    view.decoded_size += 1;
    CHECK(spk_zstd_decode(&view, workspace.data(), workspace.size(), out.data(), out.size()) ==
          SPK_ERR_INVALID_ARGUMENT);
    view = t;
    view.element_count -= 2;
    view.decoded_size -= 4;
    CHECK(spk_zstd_decode(&view, workspace.data(), workspace.size(), out.data(), out.size()) ==
          SPK_ERR_CORRUPT_DATA);
    CHECK(spk_zstd_decode(&t, workspace.data(), workspace.size(), out.data(), out.size() - 1) ==
          SPK_ERR_BUFFER_TOO_SMALL);
    CHECK(spk_zstd_decode(&t, workspace.data(), 100, out.data(), out.size()) ==
          SPK_ERR_BUFFER_TOO_SMALL);
  }
}
