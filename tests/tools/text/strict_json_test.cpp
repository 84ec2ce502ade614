// SPDX-License-Identifier: Apache-2.0
// Strict JSON: what nlohmann accepts by default but an untrusted header must not contain.
#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/text/quote.hpp"
#include "statepack/tools/text/strict_json.hpp"
#include "statepack/tools/text/utf8.hpp"

namespace statepack {
namespace {

// The message parse_strict_json throws for `text`; fails the test if it accepts it.
std::string refusal(std::string_view text, uint64_t base_offset = 0, size_t max_depth = 64) {
  try {
    parse_strict_json(text, "h.json", "JSON header", base_offset, max_depth);
  } catch (const Error &error) {
    CHECK(error.kind() == ErrorKind::kInput);
    return error.what();
  }
  FAIL("accepted: " << text);
  return "";
}

std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

TEST_CASE("a valid document parses with integers kept exact") {
  const nlohmann::json value = parse_strict_json(
      R"({"a": [1, -2, 2.5, 18446744073709551615, 18446744073709551616], "b": {"c": null},
          "d": "\u00e9\ud83d\ude00", "e": true})",
      "h.json");
  REQUIRE(value.is_object());
  CHECK(value["a"][0].is_number_unsigned());
  CHECK(value["a"][1].get<int64_t>() == -2);
  CHECK(value["a"][2].get<double>() == 2.5);
  CHECK(value["a"][3].get<uint64_t>() == UINT64_MAX);
  CHECK(value["a"][4].is_number_float());  // past uint64: not an integer any more
  CHECK(value["b"]["c"].is_null());
  CHECK(value["d"].get<std::string>() == "\xC3\xA9\xF0\x9F\x98\x80");
  CHECK(value["e"].get<bool>());
}

TEST_CASE("trailing whitespace after the value is accepted") {
  CHECK(parse_strict_json("{}   \n\t\r ", "h.json").empty());
}

TEST_CASE("a duplicate key is refused, naming the key and its byte") {
  CHECK(refusal(R"({"a":1,"a":2})") ==
        R"(h.json: invalid JSON header: duplicate key "a" at byte 7)");
  SUBCASE("offset counted from the text's place in its file") {
    CHECK(refusal(R"({"a":1,"a":2})", 8) ==
          R"(h.json: invalid JSON header: duplicate key "a" at byte 15)");
  }
  SUBCASE("in a nested object") {
    CHECK(refusal(R"({"t":{"x":1,"y":2,"x":3}})").find(R"(duplicate key "x" at byte 18)") !=
          std::string::npos);
  }
  SUBCASE("spelled differently with escapes") {
    CHECK(refusal(R"({"a":1,"\u0061":2})").find(R"(duplicate key "a" at byte 7)") !=
          std::string::npos);
  }
  SUBCASE("with escaped quotes inside the key") {
    CHECK(refusal(R"({"q\"\\":1, "q\"\\":2})").find(R"(duplicate key "q\"\\" at byte 12)") !=
          std::string::npos);
  }
}

TEST_CASE("equal keys in different objects are not duplicates") {
  const nlohmann::json value = parse_strict_json(R"({"a":{"a":1},"b":{"a":2}})", "h.json");
  CHECK(value["b"]["a"] == 2);
}

TEST_CASE("invalid UTF-8 is refused with its offset") {
  SUBCASE("a stray continuation byte in a string") {
    CHECK(refusal("{\"a\x80\":1}") == "h.json: invalid JSON header: invalid UTF-8 at byte 3");
  }
  SUBCASE("an overlong encoding of '/'") {
    CHECK(refusal("{\"\xC0\xAF\":1}").find("invalid UTF-8 at byte 2") != std::string::npos);
  }
  SUBCASE("an encoded surrogate") {
    CHECK(refusal("{\"\xED\xA0\x80\":1}").find("invalid UTF-8 at byte 2") != std::string::npos);
  }
  SUBCASE("a code point above U+10FFFF") {
    CHECK(refusal("{\"\xF4\x90\x80\x80\":1}").find("invalid UTF-8 at byte 2") != std::string::npos);
  }
  SUBCASE("a sequence cut short by the end of the text") {
    CHECK(refusal("{\"a\":1}\xE2\x82").find("invalid UTF-8 at byte 7") != std::string::npos);
  }
  SUBCASE("outside any string") {
    CHECK(refusal("{\xFF}").find("invalid UTF-8 at byte 1") != std::string::npos);
  }
}

TEST_CASE("an escaped lone surrogate is refused") {
  CHECK(refusal(R"({"a":"\ud800"})").find("surrogate") != std::string::npos);
}

TEST_CASE("a byte-order mark is refused") {
  CHECK(refusal("\xEF\xBB\xBF{}") == "h.json: invalid JSON header: byte-order mark at byte 0");
}

TEST_CASE("trailing garbage after the value is refused") {
  SUBCASE("a word") {
    CHECK(refusal("{} x").find("at byte 3") != std::string::npos);
  }
  SUBCASE("a second value") {
    CHECK(refusal("{}{}").find("at byte 2") != std::string::npos);
  }
  SUBCASE("after a NUL byte, which nlohmann alone takes for the end of the input") {
    CHECK(refusal(std::string_view("{}\0junk", 7)) ==
          "h.json: invalid JSON header: NUL byte at byte 2");
  }
}

TEST_CASE("malformed JSON is refused with nlohmann's reason and a byte offset") {
  const std::string message = refusal(R"({"a":})", 8);
  CHECK(message.rfind("h.json: invalid JSON header: syntax error", 0) == 0);
  CHECK(message.find("at byte 13") != std::string::npos);
  CHECK(message.find("[json.exception") == std::string::npos);
  CHECK(refusal("").find("unexpected end of input") != std::string::npos);
  CHECK(refusal(R"({"a":1,})").find("syntax error") != std::string::npos);
  CHECK(refusal(R"({'a':1})").find("syntax error") != std::string::npos);
  CHECK(refusal("{\"a\":\"x\ty\"}").find("control character") != std::string::npos);
}

TEST_CASE("comments are refused") {
  CHECK(refusal("{/* c */}").find("syntax error") != std::string::npos);
  CHECK(refusal("{}// c").find("syntax error") != std::string::npos);
}

TEST_CASE("nesting deeper than the limit is refused") {
  CHECK_NOTHROW(parse_strict_json(nested_arrays(64), "h.json"));
  CHECK(refusal(nested_arrays(65)) ==
        "h.json: invalid JSON header: nesting deeper than 64 levels at byte 64");
  CHECK(refusal(R"({"a":{"b":[]}})", 0, 2).find("nesting deeper than 2 levels at byte 10") !=
        std::string::npos);
  SUBCASE("a million brackets fail fast instead of exhausting the stack") {
    CHECK(refusal(nested_arrays(1000000)).find("nesting deeper than 64") != std::string::npos);
  }
}

TEST_CASE("find_invalid_utf8 accepts every valid form and points at the first bad byte") {
  CHECK_FALSE(find_invalid_utf8("").has_value());
  CHECK_FALSE(find_invalid_utf8("plain \x7F").has_value());
  CHECK_FALSE(find_invalid_utf8("\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF").has_value());
  CHECK_FALSE(
      find_invalid_utf8("\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80\xF4\x8F\xBF\xBF").has_value());
  CHECK(find_invalid_utf8("ab\xC1\xBF") == 2u);        // overlong two-byte form
  CHECK(find_invalid_utf8("\xE0\x9F\xBF") == 0u);      // overlong three-byte form
  CHECK(find_invalid_utf8("\xF0\x8F\xBF\xBF") == 0u);  // overlong four-byte form
  CHECK(find_invalid_utf8("\xF5\x80\x80\x80") == 0u);  // lead byte past U+10FFFF
  CHECK(find_invalid_utf8("x\xE2\x28\xA1") == 1u);     // bad continuation
}

TEST_CASE("quote_for_message escapes what a hostile name could put on a terminal") {
  CHECK(quote_for_message("fc.weight") == "\"fc.weight\"");
  CHECK(quote_for_message("a\"b\\c") == R"("a\"b\\c")");
  CHECK(quote_for_message(std::string("a\0\n\x1B[2J", 7)) == R"("a\u0000\u000A\u001B[2J")");
  CHECK(quote_for_message("\xC3\xA9\xFF") == "\"\xC3\xA9\\xFF\"");
  CHECK(quote_for_message(std::string(300, 'x'), 4) == "\"xxxx...\"");
}

}  // namespace
}  // namespace statepack
