// SPDX-License-Identifier: Apache-2.0
// safetensors reader: valid files of every dtype read back exactly; every way a file can be
// truncated, malformed or inconsistent is refused with a message that says what is wrong.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/safetensors_reader.hpp"
#include "support/temp_dir.hpp"

namespace statepack {
namespace {

namespace fs = std::filesystem;

// Every test's files go to a fresh directory named after this file.
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("statepack-st-reader") {}
};

std::string le64(uint64_t value) {
  std::string bytes(8, '\0');
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

// A file: the header's length, the header, then the data section.
std::string file_bytes(const std::string &header, const std::string &data = "") {
  return le64(header.size()) + header + data;
}

// One header entry, `"name":{"dtype":...,"shape":...,"data_offsets":[begin,end]}`.
std::string entry(const std::string &name, const std::string &dtype, const std::string &shape,
                  uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
         ",\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(end) + "]}";
}

std::string bytes_counting_from(char first, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(first + static_cast<char>(i));
  return bytes;
}

class Fixture {
 public:
  // Writes `bytes` to a file in the temp dir and returns its path.
  std::string write(const std::string &bytes) {
    const std::string path = dir_.file("model.safetensors");
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
    return path;
  }

  // The message the reader throws for a file of `bytes`, without the "<path>: " prefix.
  std::string refusal(const std::string &bytes) { return refusal_of(write(bytes)); }

  std::string refusal_of(const std::string &path) {
    try {
      read_safetensors(path);
    } catch (const Error &error) {
      CHECK(error.kind() == ErrorKind::kInput);
      const std::string message = error.what();
      REQUIRE(message.rfind(path + ": ", 0) == 0);
      return message.substr(path.size() + 2);
    }
    FAIL("accepted " << path);
    return "";
  }

  // The refusal for a file with the single entry `entry_json` and `data`.
  std::string refusal_of_entry(const std::string &entry_json, const std::string &data = "") {
    return refusal(file_bytes("{" + entry_json + "}", data));
  }

  const TempDir &dir() const { return dir_; }

 private:
  TempDir dir_;
};

const char *const kSafetensorsDTypes[] = {
    "BOOL", "F4",  "F6_E2M3", "F6_E3M2", "U8",  "I8",  "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16",
    "U16",  "F16", "BF16",    "I32",     "U32", "F32", "C64",     "F64",     "I64",     "U64",
};

// ---- files that must be read --------------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "every safetensors dtype is read with its shape and exact bytes") {
  std::string header = "{";
  std::string data;
  std::vector<std::string> expected_bytes;
  for (const char *dtype : kSafetensorsDTypes) {
    // 8 elements are a whole number of bytes for every width, sub-byte ones included.
    const uint64_t size = byte_size(*dtype_from_safetensors(dtype), 8).value();
    const std::string bytes = bytes_counting_from(static_cast<char>(data.size()), size);
    if (header.size() > 1) header += ",";
    header += entry(std::string("t_") + dtype, dtype, "[2,4]", data.size(), data.size() + size);
    data += bytes;
    expected_bytes.push_back(bytes);
  }
  header += "}";

  const Checkpoint checkpoint = read_safetensors(write(file_bytes(header, data)));
  REQUIRE(checkpoint.tensors.size() == std::size(kSafetensorsDTypes));
  for (size_t i = 0; i < checkpoint.tensors.size(); ++i) {
    const Tensor &tensor = checkpoint.tensors[i];
    CAPTURE(kSafetensorsDTypes[i]);
    CHECK(tensor.name == std::string("t_") + kSafetensorsDTypes[i]);
    CHECK(tensor.dtype == dtype_from_safetensors(kSafetensorsDTypes[i]));
    CHECK(tensor.shape == std::vector<uint64_t>{2, 4});
    CHECK(tensor.element_count() == 8);
    REQUIRE(tensor.size == expected_bytes[i].size());
    CHECK(std::string(reinterpret_cast<const char *>(tensor.data), tensor.size) ==
          expected_bytes[i]);
  }
}

TEST_CASE_FIXTURE(Fixture, "a 0-d scalar of every dtype with a whole-byte size is read") {
  for (const char *dtype : kSafetensorsDTypes) {
    const std::optional<uint64_t> size = byte_size(*dtype_from_safetensors(dtype), 1);
    if (!size) continue;  // F4 and F6 scalars are not whole bytes; refused below
    CAPTURE(dtype);
    const std::string data = bytes_counting_from('a', *size);
    const Checkpoint checkpoint =
        read_safetensors(write(file_bytes("{" + entry("s", dtype, "[]", 0, *size) + "}", data)));
    REQUIRE(checkpoint.tensors.size() == 1);
    CHECK(checkpoint.tensors[0].shape.empty());
    CHECK(checkpoint.tensors[0].element_count() == 1);
    CHECK(std::string(reinterpret_cast<const char *>(checkpoint.tensors[0].data),
                      checkpoint.tensors[0].size) == data);
  }
}

TEST_CASE_FIXTURE(Fixture, "empty tensors with a 0 dimension are read, several at one offset") {
  const std::string header =
      "{" + entry("a", "F32", "[0]", 0, 0) + "," + entry("b", "F16", "[3,0,2]", 0, 0) + "," +
      entry("c", "U8", "[2]", 0, 2) + "," + entry("d", "F4", "[0]", 2, 2) + "}";
  const Checkpoint checkpoint = read_safetensors(write(file_bytes(header, "xy")));
  REQUIRE(checkpoint.tensors.size() == 4);
  CHECK(checkpoint.tensors[0].name == "a");
  CHECK(checkpoint.tensors[1].name == "b");
  CHECK(checkpoint.tensors[1].shape == std::vector<uint64_t>{3, 0, 2});
  CHECK(checkpoint.tensors[1].size == 0);
  CHECK(checkpoint.tensors[2].name == "c");
  CHECK(checkpoint.tensors[3].name == "d");
  CHECK(checkpoint.tensors[3].size == 0);
}

TEST_CASE_FIXTURE(Fixture, "a file with no tensors and only metadata is read") {
  const Checkpoint checkpoint =
      read_safetensors(write(file_bytes(R"({"__metadata__":{"format":"pt"}})")));
  CHECK(checkpoint.tensors.empty());
  CHECK(checkpoint.metadata.at("format").string_value == "pt");
  CHECK(read_safetensors(write(file_bytes("{}"))).tensors.empty());
}

TEST_CASE_FIXTURE(Fixture, "tensors come back in file order, not name order") {
  const std::string header =
      "{" + entry("a", "U8", "[1]", 2, 3) + "," + entry("b", "U8", "[2]", 0, 2) + "}";
  const Checkpoint checkpoint = read_safetensors(write(file_bytes(header, "BBA")));
  REQUIRE(checkpoint.tensors.size() == 2);
  CHECK(checkpoint.tensors[0].name == "b");
  CHECK(checkpoint.tensors[1].name == "a");
  CHECK(checkpoint.tensors[1].data[0] == 'A');
}

TEST_CASE_FIXTURE(Fixture, "metadata strings are kept with their keys as they are") {
  const std::string header = R"({"__metadata__":{"format":"pt","Key With Space":"","é":"ü\n"},)" +
                             entry("t", "U8", "[1]", 0, 1) + "}";
  const Checkpoint checkpoint = read_safetensors(write(file_bytes(header, "z")));
  REQUIRE(checkpoint.metadata.size() == 3);
  CHECK(checkpoint.metadata.at("format").kind == MetaValue::Kind::kString);
  CHECK(checkpoint.metadata.at("format").string_value == "pt");
  CHECK(checkpoint.metadata.at("Key With Space").string_value.empty());
  CHECK(checkpoint.metadata.at("é").string_value == "ü\n");
}

TEST_CASE_FIXTURE(Fixture, "a header padded with trailing spaces is read") {
  const std::string header = "{" + entry("t", "U8", "[1]", 0, 1) + "}     ";
  CHECK(read_safetensors(write(file_bytes(header, "z"))).tensors.size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "tensor data stays readable after the file is deleted") {
  const std::string path = write(file_bytes("{" + entry("t", "U8", "[3]", 0, 3) + "}", "abc"));
  Checkpoint checkpoint = read_safetensors(path);
  fs::remove(path);
  const Tensor tensor = std::move(checkpoint.tensors[0]);
  checkpoint = Checkpoint();
  CHECK(std::string(reinterpret_cast<const char *>(tensor.data), tensor.size) == "abc");
}

TEST_CASE_FIXTURE(Fixture, "rank 8 is the most statepack reads") {
  CHECK_NOTHROW(read_safetensors(
      write(file_bytes("{" + entry("t", "U8", "[1,1,1,1,1,1,1,2]", 0, 2) + "}", "ab"))));
  CHECK(refusal_of_entry(entry("t", "U8", "[1,1,1,1,1,1,1,1,2]", 0, 2), "ab") ==
        R"(tensor "t": shape has 9 dimensions; statepack supports at most 8)");
}

// ---- the file itself ---------------------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "a file shorter than the 8-byte header length is refused") {
  for (size_t size = 0; size < 8; ++size) {
    CAPTURE(size);
    CHECK(refusal(std::string(size, '\x02')) ==
          "file is " + std::to_string(size) +
              " bytes, too short for the 8-byte header length of safetensors");
  }
}

TEST_CASE_FIXTURE(Fixture, "a missing file or a directory is refused") {
  CHECK(refusal_of(dir().file("absent.safetensors")) == "no such file");
  fs::create_directory(dir().file("sub"));
  CHECK(refusal_of(dir().file("sub")) == "is a directory");
}

TEST_CASE_FIXTURE(Fixture, "a header length past the end of the file is refused") {
  CHECK(refusal(le64(20) + "{}") ==
        "header length 20 runs past the end of the file (2 bytes follow the length field)");
  CHECK(refusal(le64(1)) ==
        "header length 1 runs past the end of the file (0 bytes follow the length field)");
}

TEST_CASE_FIXTURE(Fixture, "a header length over 100 MB is refused before anything is read") {
  CHECK(refusal(le64(100'000'001) + "{}") ==
        "header length 100000001 exceeds the safetensors limit of 100000000 bytes");
  CHECK(refusal(le64(UINT64_MAX) + "{}").find("exceeds the safetensors limit") !=
        std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "an empty header is refused") {
  CHECK(refusal(le64(0)) == "header is empty (length 0)");
}

TEST_CASE_FIXTURE(Fixture, "a header that does not start with a brace is refused") {
  CHECK(refusal(file_bytes(" {}")) == "header does not start with '{'");
  CHECK(refusal(file_bytes("[]")) == "header does not start with '{'");
}

// ---- the JSON ----------------------------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "a header that is not valid JSON is refused with the file offset") {
  const std::string message = refusal(file_bytes(R"({"t":)"));
  CHECK(message.rfind("invalid JSON header: syntax error", 0) == 0);
  CHECK(message.find("at byte 13") != std::string::npos);
  CHECK(refusal(file_bytes("{} x")).find("at byte 11") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "a duplicate tensor name is refused") {
  const std::string header =
      "{" + entry("t", "U8", "[1]", 0, 1) + "," + entry("t", "U8", "[1]", 1, 2) + "}";
  // The second "t" starts 53 bytes into the header, which starts after the 8-byte length.
  CHECK(refusal(file_bytes(header, "ab")) ==
        R"(invalid JSON header: duplicate key "t" at byte 61)");
}

TEST_CASE_FIXTURE(Fixture, "a duplicate field inside an entry is refused") {
  CHECK(refusal(file_bytes(R"({"t":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})",
                           "a"))
            .find(R"(duplicate key "dtype")") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "invalid UTF-8 in a tensor name is refused") {
  CHECK(refusal(file_bytes("{" + entry("bad\xFF", "U8", "[1]", 0, 1) + "}", "a")) ==
        "invalid JSON header: invalid UTF-8 at byte 13");
}

// ---- the entries -------------------------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "an unknown dtype is refused") {
  CHECK(refusal_of_entry(entry("t", "F128", "[1]", 0, 16), std::string(16, 'x')) ==
        R"(tensor "t": unknown dtype "F128")");
  CHECK(refusal_of_entry(entry("t", "f32", "[1]", 0, 4), "xxxx") ==
        R"(tensor "t": unknown dtype "f32")");
  CHECK(refusal_of_entry(entry("t", "I4", "[2]", 0, 1), "x") ==
        R"(tensor "t": unknown dtype "I4")");
  CHECK(refusal_of_entry(R"("t":{"dtype":4,"shape":[1],"data_offsets":[0,4]})", "xxxx") ==
        R"(tensor "t": dtype is 4, not a string)");
}

TEST_CASE_FIXTURE(Fixture, "an unknown field is refused") {
  CHECK(refusal_of_entry(R"("t":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":0})", "x") ==
        R"(tensor "t": unknown field "extra" (allowed: "dtype", "shape", "data_offsets"))");
}

TEST_CASE_FIXTURE(Fixture, "a missing field is refused") {
  CHECK(refusal_of_entry(R"("t":{"dtype":"U8","shape":[1]})", "x") ==
        R"(tensor "t": missing field "data_offsets")");
  CHECK(refusal_of_entry(R"("t":{"shape":[1],"data_offsets":[0,1]})", "x") ==
        R"(tensor "t": missing field "dtype")");
  CHECK(refusal_of_entry(R"("t":{"dtype":"U8","data_offsets":[0,1]})", "x") ==
        R"(tensor "t": missing field "shape")");
}

TEST_CASE_FIXTURE(Fixture, "an entry that is not an object is refused") {
  CHECK(refusal_of_entry(R"("t":[1,2])") == R"(tensor "t": entry is an array, not an object)");
  CHECK(refusal_of_entry(R"("t":"U8")") == R"(tensor "t": entry is a string, not an object)");
}

TEST_CASE_FIXTURE(Fixture, "an empty tensor name is refused") {
  CHECK(refusal_of_entry(entry("", "U8", "[1]", 0, 1), "x") == "tensor with an empty name");
}

TEST_CASE_FIXTURE(Fixture, "a NUL character in a tensor name is refused") {
  CHECK(refusal_of_entry(entry("a\\u0000b", "U8", "[1]", 0, 1), "x") ==
        R"(tensor "a\u0000b": name contains a NUL character)");
}

TEST_CASE_FIXTURE(Fixture, "a shape that is not an array of non-negative integers is refused") {
  const std::string allowed = "; dimensions must be integers from 0 to 2^64-1";
  SUBCASE("negative") {
    CHECK(refusal_of_entry(entry("t", "U8", "[2,-1]", 0, 0)) ==
          R"(tensor "t": shape[1] is -1)" + allowed);
  }
  SUBCASE("negative zero") {
    CHECK(refusal_of_entry(entry("t", "U8", "[-0]", 0, 0)) ==
          R"(tensor "t": shape[0] is -0)" + allowed);
  }
  SUBCASE("fractional") {
    CHECK(refusal_of_entry(entry("t", "U8", "[2.5]", 0, 2)) ==
          R"(tensor "t": shape[0] is 2.5)" + allowed);
  }
  SUBCASE("integral but written as a float") {
    CHECK(refusal_of_entry(entry("t", "U8", "[2.0]", 0, 2)) ==
          R"(tensor "t": shape[0] is 2.0)" + allowed);
  }
  SUBCASE("past 2^64") {
    CHECK(refusal_of_entry(entry("t", "U8", "[18446744073709551616]", 0, 0))
              .find(R"(tensor "t": shape[0] is 1.8446744073709552e+19)") != std::string::npos);
  }
  SUBCASE("a string") {
    CHECK(refusal_of_entry(entry("t", "U8", R"(["2"])", 0, 2)) ==
          R"(tensor "t": shape[0] is a string)" + allowed);
  }
  SUBCASE("not an array") {
    CHECK(refusal_of_entry(entry("t", "U8", "2", 0, 2)) ==
          R"(tensor "t": shape is 2, not an array)");
  }
}

TEST_CASE_FIXTURE(Fixture, "a shape whose element count overflows 64 bits is refused") {
  CHECK(refusal_of_entry(entry("t", "U8", "[4294967296,4294967296,2]", 0, 0)) ==
        R"(tensor "t": shape [4294967296, 4294967296, 2] has more than 2^64-1 elements)");
  SUBCASE("a zero dimension does not excuse an overflow before it") {
    CHECK(refusal_of_entry(entry("t", "U8", "[4294967296,4294967296,0]", 0, 0))
              .find("has more than 2^64-1 elements") != std::string::npos);
  }
  SUBCASE("the count fits but its bits do not") {
    CHECK(refusal_of_entry(entry("t", "F64", "[2305843009213693952]", 0, 0)) ==
          R"(tensor "t": shape [2305843009213693952] of F64 needs more than 2^64-1 bits)");
  }
}

TEST_CASE_FIXTURE(Fixture, "a sub-byte tensor that is not a whole number of bytes is refused") {
  CHECK(refusal_of_entry(entry("t", "F4", "[3]", 0, 2), "xx") ==
        R"(tensor "t": shape [3] of F4 is 12 bits, not a whole number of bytes)");
  CHECK(refusal_of_entry(entry("t", "F4", "[]", 0, 1), "x") ==
        R"(tensor "t": shape [] of F4 is 4 bits, not a whole number of bytes)");
  CHECK(refusal_of_entry(entry("t", "F6_E2M3", "[2]", 0, 2), "xx") ==
        R"(tensor "t": shape [2] of F6_E2M3 is 12 bits, not a whole number of bytes)");
}

TEST_CASE_FIXTURE(Fixture, "data_offsets that are not [begin, end] are refused") {
  const std::string allowed = "; offsets must be integers from 0 to 2^64-1";
  CHECK(refusal_of_entry(R"("t":{"dtype":"U8","shape":[1],"data_offsets":[0]})", "x") ==
        R"(tensor "t": data_offsets has 1 entries; it must be [begin, end])");
  CHECK(refusal_of_entry(R"("t":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]})", "x") ==
        R"(tensor "t": data_offsets has 3 entries; it must be [begin, end])");
  CHECK(refusal_of_entry(R"("t":{"dtype":"U8","shape":[1],"data_offsets":{"0":1}})", "x") ==
        R"(tensor "t": data_offsets is an object, not an array [begin, end])");
  CHECK(refusal_of_entry(R"("t":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]})", "x") ==
        R"(tensor "t": data_offsets[0] is -1)" + allowed);
  CHECK(refusal_of_entry(R"("t":{"dtype":"U8","shape":[1],"data_offsets":[0,1.0]})", "x") ==
        R"(tensor "t": data_offsets[1] is 1.0)" + allowed);
  CHECK(refusal_of_entry(R"("t":{"dtype":"U8","shape":[1],"data_offsets":[0,null]})", "x") ==
        R"(tensor "t": data_offsets[1] is null)" + allowed);
}

TEST_CASE_FIXTURE(Fixture, "data_offsets that end before they begin are refused") {
  CHECK(refusal_of_entry(entry("t", "U8", "[1]", 2, 1), "xx") ==
        R"(tensor "t": data_offsets [2, 1) end before they begin)");
}

TEST_CASE_FIXTURE(Fixture, "a byte count that does not match shape and dtype is refused") {
  CHECK(
      refusal_of_entry(entry("fc.weight", "F32", "[2,3]", 0, 12), std::string(12, 'x')) ==
      R"(tensor "fc.weight": data_offsets [0, 12) hold 12 bytes but shape [2, 3] of F32 needs 24)");
  CHECK(refusal_of_entry(entry("s", "F32", "[]", 0, 0)) ==
        R"(tensor "s": data_offsets [0, 0) hold 0 bytes but shape [] of F32 needs 4)");
}

// ---- the layout of the data section ------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "offsets that do not start at 0 are refused") {
  CHECK(
      refusal_of_entry(entry("t", "U8", "[2]", 1, 3), "xxx") ==
      R"(tensor "t": data_offsets [1, 3) leave bytes [0, 1) unused (the first tensor must start at 0))");
}

TEST_CASE_FIXTURE(Fixture, "a gap between tensors is refused") {
  const std::string header =
      "{" + entry("a", "U8", "[2]", 0, 2) + "," + entry("b", "U8", "[2]", 3, 5) + "}";
  CHECK(refusal(file_bytes(header, "xxxxx")) ==
        R"(tensor "b": data_offsets [3, 5) leave bytes [2, 3) unused after tensor "a")");
}

TEST_CASE_FIXTURE(Fixture, "overlapping tensors are refused") {
  const std::string header =
      "{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("b", "U8", "[4]", 2, 6) + "}";
  CHECK(refusal(file_bytes(header, "xxxxxx")) ==
        R"(tensor "b": data_offsets [2, 6) overlap tensor "a" at [0, 4))");
  SUBCASE("two tensors sharing the same bytes") {
    const std::string same =
        "{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("b", "U8", "[4]", 0, 4) + "}";
    CHECK(refusal(file_bytes(same, "xxxx")) ==
          R"(tensor "b": data_offsets [0, 4) overlap tensor "a" at [0, 4))");
  }
  SUBCASE("an empty tensor inside another") {
    const std::string inside =
        "{" + entry("a", "U8", "[4]", 0, 4) + "," + entry("e", "U8", "[0]", 2, 2) + "}";
    CHECK(refusal(file_bytes(inside, "xxxx")) ==
          R"(tensor "e": data_offsets [2, 2) overlap tensor "a" at [0, 4))");
  }
}

TEST_CASE_FIXTURE(Fixture, "bytes after the last tensor are refused") {
  CHECK(refusal_of_entry(entry("t", "U8", "[2]", 0, 2), "xxx") ==
        "the data section holds 3 bytes but the tensors cover only 2; the rest belongs to no "
        "tensor");
  CHECK(refusal(file_bytes("{}", "x")) ==
        "the data section holds 1 bytes but the tensors cover only 0; the rest belongs to no "
        "tensor");
}

TEST_CASE_FIXTURE(Fixture, "a tensor running past the end of the file is refused") {
  CHECK(
      refusal_of_entry(entry("t", "U8", "[4]", 0, 4), "xx") ==
      R"(tensor "t": data_offsets [0, 4) run past the end of the file (the data section holds 2 bytes))");
}

// ---- metadata ----------------------------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "a metadata value that is not a string is refused") {
  CHECK(refusal(file_bytes(R"({"__metadata__":{"epoch":3}})")) ==
        R"(__metadata__ entry "epoch" is 3, not a string)");
  CHECK(refusal(file_bytes(R"({"__metadata__":{"nested":{"a":"b"}}})")) ==
        R"(__metadata__ entry "nested" is an object, not a string)");
  CHECK(refusal(file_bytes(R"({"__metadata__":{"n":null}})")) ==
        R"(__metadata__ entry "n" is null, not a string)");
}

TEST_CASE_FIXTURE(Fixture, "metadata that is not an object is refused") {
  CHECK(refusal(file_bytes(R"({"__metadata__":["a"]})")) ==
        "__metadata__ is an array, not an object of strings");
}

// ---- sniffing ----------------------------------------------------------------------------

TEST_CASE("looks_like_safetensors accepts a plausible start and nothing else") {
  const std::string good = file_bytes("{}");
  const auto *bytes = reinterpret_cast<const uint8_t *>(good.data());
  CHECK(looks_like_safetensors(bytes, good.size()));
  CHECK_FALSE(looks_like_safetensors(nullptr, 0));
  CHECK_FALSE(looks_like_safetensors(bytes, 8));
  // A header cut short still sniffs as safetensors, so the reader can say what is missing.
  CHECK(looks_like_safetensors(bytes, 9));

  const std::string long_header = le64(100'000'001) + "{}";
  CHECK_FALSE(looks_like_safetensors(reinterpret_cast<const uint8_t *>(long_header.data()),
                                     long_header.size()));
  const std::string not_brace = file_bytes("[]");
  CHECK_FALSE(looks_like_safetensors(reinterpret_cast<const uint8_t *>(not_brace.data()),
                                     not_brace.size()));
  const std::string zip = "PK\x03\x04 a zip file, as torch.save writes";
  CHECK_FALSE(looks_like_safetensors(reinterpret_cast<const uint8_t *>(zip.data()), zip.size()));
}

}  // namespace
}  // namespace statepack
