// SPDX-License-Identifier: Apache-2.0
// The one little-endian helper every format reader and writer uses: byte order fixed whatever
// the host's, any width up to 8 bytes.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "statepack/tools/core/little_endian.hpp"

using namespace statepack;

TEST_CASE("loads read the least significant byte first") {
  const uint8_t bytes[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF};
  CHECK(load_le16(bytes) == 0x2301u);
  CHECK(load_le32(bytes) == 0x67452301u);
  CHECK(load_le64(bytes) == 0xEFCDAB8967452301ull);
  CHECK(load_le(bytes, 3) == 0x452301u);
  CHECK(load_le(bytes, 0) == 0u);
}

TEST_CASE("stores and appends write what loads read back") {
  uint8_t bytes[8] = {};
  store_le16(bytes, 0xBEEF);
  CHECK(bytes[0] == 0xEF);
  CHECK(bytes[1] == 0xBE);
  store_le32(bytes, 0xDEADBEEF);
  CHECK(load_le32(bytes) == 0xDEADBEEFu);
  store_le64(bytes, 0x0102030405060708ull);
  CHECK(bytes[0] == 0x08);
  CHECK(bytes[7] == 0x01);
  store_le(bytes, 0xFFFFFF, 2);  // only the low bytes are written
  CHECK(bytes[0] == 0xFF);
  CHECK(bytes[1] == 0xFF);
  CHECK(bytes[2] == 0x06);

  std::vector<uint8_t> out;
  append_le(out, 0x0A0B0C, 3);
  append_le(out, 0xFFFFFFFFFFFFFFFFull, 8);
  REQUIRE(out.size() == 11);
  CHECK(load_le(out.data(), 3) == 0x0A0B0Cu);
  CHECK(load_le64(out.data() + 3) == 0xFFFFFFFFFFFFFFFFull);
}
