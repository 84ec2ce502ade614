// SPDX-License-Identifier: Apache-2.0
// pack --meta KEY[:TYPE]=VALUE: values keep their type when nothing is lost, TYPE forces one,
// and a value its TYPE cannot hold is a usage error.
#include "statepack/tools/text/meta_argument.hpp"

#include <doctest/doctest.h>

#include <cmath>

#include "statepack/tools/core/error.hpp"

using statepack::Error;
using statepack::ErrorKind;
using statepack::MetaValue;
using statepack::parse_meta_argument;

namespace {

ErrorKind kind_of_failure(const std::string &argument) {
  try {
    parse_meta_argument(argument);
  } catch (const Error &e) {
    return e.kind();
  }
  FAIL("no error for " << argument);
  return ErrorKind::kInput;
}

}  // namespace

TEST_CASE("--meta values are typed by their text when nothing is lost") {
  SUBCASE("int") {
    const auto [key, v] = parse_meta_argument("epoch=12");
    CHECK(key == "epoch");
    CHECK(v.kind == MetaValue::Kind::kInt);
    CHECK(v.int_value == 12);
    CHECK(parse_meta_argument("n=-9223372036854775808").second.int_value == INT64_MIN);
  }
  SUBCASE("float") {
    const MetaValue v = parse_meta_argument("lr=3e-4").second;
    CHECK(v.kind == MetaValue::Kind::kFloat);
    CHECK(v.float_value == 3e-4);
    CHECK(parse_meta_argument("loss=-0.25").second.float_value == -0.25);
  }
  SUBCASE("bool") {
    CHECK(parse_meta_argument("ema=true").second.kind == MetaValue::Kind::kBool);
    CHECK(parse_meta_argument("ema=true").second.bool_value);
    CHECK_FALSE(parse_meta_argument("ema=false").second.bool_value);
  }
  SUBCASE("strings: text, and numbers whose text would not come back") {
    for (const char *text : {"x=e2e", "x=007", "x=+3", "x=", "x=1e999", "x=1.", "x=.5",
                             "x=9223372036854775808", "x=True", "x=0x10", "x= 1", "x=nan"}) {
      CAPTURE(text);
      const MetaValue v = parse_meta_argument(text).second;
      CHECK(v.kind == MetaValue::Kind::kString);
      CHECK(v.string_value == std::string(text).substr(2));
    }
  }
  SUBCASE("a ':' that is not a type belongs to the key; '=' in the value stays") {
    const auto [key, v] = parse_meta_argument("url:home=a=b:c");
    CHECK(key == "url:home");
    CHECK(v.string_value == "a=b:c");
  }
}

TEST_CASE("--meta KEY:TYPE=VALUE forces the type") {
  CHECK(parse_meta_argument("zip:str=007").second.string_value == "007");
  CHECK(parse_meta_argument("zip:str=007").first == "zip");
  CHECK(parse_meta_argument("n:str=12").second.kind == MetaValue::Kind::kString);
  CHECK(parse_meta_argument("n:int=007").second.int_value == 7);
  CHECK(parse_meta_argument("n:int=+5").second.int_value == 5);
  CHECK(parse_meta_argument("f:float=2").second.kind == MetaValue::Kind::kFloat);
  CHECK(parse_meta_argument("f:float=2").second.float_value == 2.0);
  CHECK(std::isinf(parse_meta_argument("f:float=inf").second.float_value));
  CHECK(parse_meta_argument("b:bool=1").second.bool_value);
  CHECK_FALSE(parse_meta_argument("b:bool=0").second.bool_value);
  CHECK(parse_meta_argument("a:b:int=3").first == "a:b");
}

TEST_CASE("--meta refuses what it cannot store, as a usage error") {
  for (const char *text :
       {"nokey", "=value", ":int=3", "n:int=abc", "n:int=1.5", "n:int=99999999999999999999",
        "f:float=fast", "f:float=", "b:bool=yes"}) {
    CAPTURE(text);
    CHECK(kind_of_failure(text) == ErrorKind::kUsage);
  }
}
