// SPDX-License-Identifier: Apache-2.0
// spk_dequantize on every plain dtype, against values worked out by hand from the bit layouts.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "statepack/statepack.h"

namespace {

// A hand-made view of raw bytes, as spk_tensor_at would produce for an unquantized tensor.
spk_tensor view(spk_dtype dtype, const std::vector<uint8_t> &bytes, uint64_t count) {
  spk_tensor t;
  std::memset(&t, 0, sizeof(t));
  t.name = "t";
  t.dtype = dtype;
  t.rank = 1;
  t.shape[0] = count;
  t.element_count = count;
  t.data = bytes.data();
  t.stored_size = bytes.size();
  t.decoded_size = bytes.size();
  t.quant.axis = -1;
  return t;
}

std::vector<float> decode(spk_dtype dtype, const std::vector<uint8_t> &bytes, uint64_t count) {
  const spk_tensor t = view(dtype, bytes, count);
  std::vector<float> out(count);
  REQUIRE(spk_dequantize(&t, out.data(), out.size()) == SPK_OK);
  return out;
}

}  // namespace

TEST_CASE("f16 decodes normals, subnormals, infinities and NaN") {
  const auto v = decode(SPK_DTYPE_F16,
                        {0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00, 0x00, 0x7C, 0x00, 0xFC, 0x01, 0x7E,
                         0xFF, 0x7B, 0x00, 0x80},
                        8);
  CHECK(v[0] == 1.0f);
  CHECK(v[1] == -2.0f);
  CHECK(v[2] == std::ldexp(1.0f, -24));
  CHECK(std::isinf(v[3]));
  CHECK(v[3] > 0);
  CHECK(std::isinf(v[4]));
  CHECK(v[4] < 0);
  CHECK(std::isnan(v[5]));
  CHECK(v[6] == 65504.0f);
  CHECK(v[7] == 0.0f);
  CHECK(std::signbit(v[7]));
}

TEST_CASE("an f16 or E5M2 NaN keeps its payload, as the packer's reconstruction does") {
  uint32_t bits = 0;
  // f16 0x7E01: quiet NaN with payload 0x201 -> f32 0x7FC02000 (payload shifted up 13 bits).
  const auto h = decode(SPK_DTYPE_F16, {0x01, 0x7E, 0x01, 0xFE}, 2);
  std::memcpy(&bits, &h[0], 4);
  CHECK(bits == 0x7FC02000u);
  std::memcpy(&bits, &h[1], 4);
  CHECK(bits == 0xFFC02000u);
  // E5M2 0x7D: NaN with mantissa 01 -> f32 0x7FA00000 (the packer's f8 widening is the same).
  const auto e = decode(SPK_DTYPE_F8_E5M2, {0x7D}, 1);
  std::memcpy(&bits, &e[0], 4);
  CHECK(bits == 0x7FA00000u);
}

TEST_CASE("bf16 is the top half of an f32") {
  const auto v = decode(SPK_DTYPE_BF16, {0x80, 0x3F, 0x40, 0xC0, 0x80, 0x7F}, 3);
  CHECK(v[0] == 1.0f);
  CHECK(v[1] == -3.0f);
  CHECK(std::isinf(v[2]));
}

TEST_CASE("f32 and f64 decode exactly") {
  const float f[2] = {1.5f, -1e-30f};
  std::vector<uint8_t> bytes(8);
  std::memcpy(bytes.data(), f, 8);
  const auto v = decode(SPK_DTYPE_F32, bytes, 2);
  CHECK(v[0] == 1.5f);
  CHECK(v[1] == -1e-30f);
  const double d = -2.25;
  std::vector<uint8_t> dbytes(8);
  std::memcpy(dbytes.data(), &d, 8);
  CHECK(decode(SPK_DTYPE_F64, dbytes, 1)[0] == -2.25f);
}

TEST_CASE("fp8 formats decode per OCP: E4M3 (no inf), E5M2 (IEEE-like), E8M0 (exponent)") {
  const auto e4m3 = decode(SPK_DTYPE_F8_E4M3, {0x38, 0xB8, 0x7E, 0x01, 0x7F, 0x78}, 6);
  CHECK(e4m3[0] == 1.0f);
  CHECK(e4m3[1] == -1.0f);
  CHECK(e4m3[2] == 448.0f);
  CHECK(e4m3[3] == std::ldexp(1.0f, -9));
  CHECK(std::isnan(e4m3[4]));
  CHECK(e4m3[5] == 256.0f);  // exponent all ones is an ordinary binade in E4M3FN
  const auto e5m2 = decode(SPK_DTYPE_F8_E5M2, {0x3C, 0x7B, 0x7C, 0x7D, 0x01}, 5);
  CHECK(e5m2[0] == 1.0f);
  CHECK(e5m2[1] == 57344.0f);
  CHECK(std::isinf(e5m2[2]));
  CHECK(std::isnan(e5m2[3]));
  CHECK(e5m2[4] == std::ldexp(1.0f, -16));
  const auto e8m0 = decode(SPK_DTYPE_F8_E8M0, {127, 0, 254, 255}, 4);
  CHECK(e8m0[0] == 1.0f);
  CHECK(e8m0[1] == std::ldexp(1.0f, -127));
  CHECK(e8m0[2] == std::ldexp(1.0f, 127));
  CHECK(std::isnan(e8m0[3]));
}

TEST_CASE("fp4 and fp6 are packed low bits first") {
  // E2M1 nibbles: 0x1 = 0.5, 0x7 = 6, 0xF = -6, 0x2 = 1.
  const auto f4 = decode(SPK_DTYPE_F4_E2M1, {0x71, 0x2F}, 4);
  CHECK(f4[0] == 0.5f);
  CHECK(f4[1] == 6.0f);
  CHECK(f4[2] == -6.0f);
  CHECK(f4[3] == 1.0f);
  // Four 6-bit E2M3 fields in 3 bytes: 1.0 (0b001000), 7.5 (0b011111), -1.0 (0b101000), 0.125.
  const uint32_t fields = 0x08u | (0x1Fu << 6) | (0x28u << 12) | (0x01u << 18);
  const auto f6 = decode(SPK_DTYPE_F6_E2M3,
                         {static_cast<uint8_t>(fields), static_cast<uint8_t>(fields >> 8),
                          static_cast<uint8_t>(fields >> 16)},
                         4);
  CHECK(f6[0] == 1.0f);
  CHECK(f6[1] == 7.5f);
  CHECK(f6[2] == -1.0f);
  CHECK(f6[3] == 0.125f);
  // E3M2: 0b001100 = 1.0, 0b011111 = 28.
  const uint32_t e3 = 0x0Cu | (0x1Fu << 6);
  const auto f6b =
      decode(SPK_DTYPE_F6_E3M2, {static_cast<uint8_t>(e3), static_cast<uint8_t>(e3 >> 8)}, 2);
  CHECK(f6b[0] == 1.0f);
  CHECK(f6b[1] == 28.0f);
}

TEST_CASE("integers, bool and packed int4 decode to their values") {
  CHECK(decode(SPK_DTYPE_I8, {0x80, 0x7F}, 2) == std::vector<float>{-128, 127});
  CHECK(decode(SPK_DTYPE_U8, {0xFF, 0x00}, 2) == std::vector<float>{255, 0});
  CHECK(decode(SPK_DTYPE_I16, {0x00, 0x80}, 1)[0] == -32768.0f);
  CHECK(decode(SPK_DTYPE_U16, {0xFF, 0xFF}, 1)[0] == 65535.0f);
  CHECK(decode(SPK_DTYPE_I32, {0xFE, 0xFF, 0xFF, 0xFF}, 1)[0] == -2.0f);
  CHECK(decode(SPK_DTYPE_U32, {0x00, 0x00, 0x01, 0x00}, 1)[0] == 65536.0f);
  CHECK(decode(SPK_DTYPE_I64, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 1)[0] == -1.0f);
  CHECK(decode(SPK_DTYPE_U64, {0, 0, 0, 0, 1, 0, 0, 0}, 1)[0] == 4294967296.0f);
  CHECK(decode(SPK_DTYPE_BOOL, {1, 0, 1}, 3) == std::vector<float>{1, 0, 1});
  CHECK(decode(SPK_DTYPE_I4, {0x8F, 0x71}, 4) == std::vector<float>{-1, -8, 1, 7});
  CHECK(decode(SPK_DTYPE_U4, {0x8F}, 2) == std::vector<float>{15, 8});
}

TEST_CASE("a short buffer, complex values or a compressed tensor are refused untouched") {
  const std::vector<uint8_t> bytes = {0, 0, 128, 63, 0, 0, 0, 64};
  spk_tensor t = view(SPK_DTYPE_F32, bytes, 2);
  float out[2] = {-7, -7};
  CHECK(spk_dequantize(&t, out, 1) == SPK_ERR_BUFFER_TOO_SMALL);
  CHECK(out[0] == -7.0f);
  t.codec = SPK_CODEC_ZSTD;
  CHECK(spk_dequantize(&t, out, 2) == SPK_ERR_UNSUPPORTED);
  spk_tensor c = view(SPK_DTYPE_C64, bytes, 1);
  CHECK(spk_dequantize(&c, out, 2) == SPK_ERR_UNSUPPORTED);
  spk_tensor lying = view(SPK_DTYPE_F32, bytes, 2);
  lying.element_count = 3;  // claims more elements than its bytes hold
  float big[3];
  CHECK(spk_dequantize(&lying, big, 3) == SPK_ERR_INVALID_ARGUMENT);
  CHECK(spk_dequantize(nullptr, out, 2) == SPK_ERR_INVALID_ARGUMENT);
}

TEST_CASE("an empty quantized tensor decodes to nothing, even without scales") {
  // Shape [0, 3] per channel along axis 0: zero rows, so zero scales (older packers wrote
  // such tensors; decoding them must not be an error).
  const std::vector<uint8_t> none(1);
  spk_tensor t = view(SPK_DTYPE_I8, none, 0);
  t.rank = 2;
  t.shape[0] = 0;
  t.shape[1] = 3;
  t.stored_size = t.decoded_size = 0;
  t.quant.scheme = SPK_QUANT_INT8_CHANNEL;
  t.quant.axis = 0;
  t.quant.scale_dtype = SPK_DTYPE_F32;
  float out[1] = {42.0f};
  CHECK(spk_dequantize(&t, out, 1) == SPK_OK);
  CHECK(out[0] == 42.0f);  // nothing written
  t.quant.scheme = SPK_QUANT_INT4_GROUP_ASYM;
  t.dtype = SPK_DTYPE_U4;
  t.quant.axis = 1;
  t.quant.group_size = 32;
  CHECK(spk_dequantize(&t, out, 1) == SPK_OK);
}
