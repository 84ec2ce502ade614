// SPDX-License-Identifier: Apache-2.0
// The one UTF-8 decoder: code points of valid sequences, and every kind of invalid one refused.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "statepack/tools/text/utf8.hpp"

using namespace statepack;

namespace {

// Length and code point of the sequence at the start of `text`.
std::pair<size_t, uint32_t> decode(const std::string &text) {
  uint32_t code_point = 0xFFFFFFFFu;
  const size_t length = utf8_sequence(text, 0, &code_point);
  return {length, code_point};
}

}  // namespace

TEST_CASE("valid sequences of each length decode to their code point") {
  CHECK(decode("A") == std::make_pair(size_t{1}, uint32_t{0x41}));
  CHECK(decode("\xC3\xA9") == std::make_pair(size_t{2}, uint32_t{0xE9}));             // é
  CHECK(decode("\xE6\x9D\x83") == std::make_pair(size_t{3}, uint32_t{0x6743}));       // 权
  CHECK(decode("\xF0\x9F\x98\x80") == std::make_pair(size_t{4}, uint32_t{0x1F600}));  // 😀
  CHECK(decode("\xF4\x8F\xBF\xBF") == std::make_pair(size_t{4}, uint32_t{0x10FFFF}));
}

TEST_CASE("invalid sequences are refused (RFC 3629)") {
  for (const char *bad :
       {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xED\xA0\x80", "\xF0\x80\x80\x80",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xC3", "\xE6\x9D", "\xC3\x41"}) {
    CAPTURE(std::string(bad));
    CHECK(decode(bad).first == 0);
  }
}

TEST_CASE("find_invalid_utf8 gives the offset of the first bad byte") {
  CHECK_FALSE(find_invalid_utf8("plain ascii and \xC3\xA9").has_value());
  CHECK(find_invalid_utf8("ab\xC3(") == std::optional<size_t>(2));
  CHECK(find_invalid_utf8(std::string("a\0b\xFF", 4)) == std::optional<size_t>(3));
}
