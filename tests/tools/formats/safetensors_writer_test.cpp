// SPDX-License-Identifier: Apache-2.0
// safetensors writer: round trips through the reader bit-identical, produces a deterministic
// byte layout, and refuses what safetensors cannot hold without leaving a file behind.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/safetensors_reader.hpp"
#include "statepack/tools/formats/safetensors_writer.hpp"
#include "support/sample_checkpoint.hpp"
#include "support/temp_dir.hpp"

namespace statepack {
namespace {

namespace fs = std::filesystem;

// Every test's files go to a fresh directory named after this file.
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("statepack-st-writer") {}
};

std::string read_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string le64(uint64_t value) {
  std::string bytes(8, '\0');
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (8 * i));
  return bytes;
}

// A tensor owning a copy of `bytes`, as a reader of another format would produce.
Tensor make_tensor(std::string name, DType dtype, std::vector<uint64_t> shape, std::string bytes) {
  auto buffer = std::make_shared<const std::string>(std::move(bytes));
  Tensor tensor;
  tensor.name = std::move(name);
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.data = reinterpret_cast<const uint8_t *>(buffer->data());
  tensor.size = buffer->size();
  tensor.owner = std::move(buffer);
  return tensor;
}

std::string random_bytes(size_t size, std::mt19937 &random) {
  std::string bytes(size, '\0');
  for (char &byte : bytes) byte = static_cast<char>(random() & 0xFF);
  return bytes;
}

std::string bytes_of(const Tensor &tensor) {
  return std::string(reinterpret_cast<const char *>(tensor.data), tensor.size);
}

const DType kWritable[] = {
    DType::kF32,     DType::kF64,     DType::kF16,     DType::kBF16,    DType::kF8_E4M3,
    DType::kF8_E5M2, DType::kF8_E8M0, DType::kF6_E2M3, DType::kF6_E3M2, DType::kF4_E2M1,
    DType::kI8,      DType::kI16,     DType::kI32,     DType::kI64,     DType::kU8,
    DType::kU16,     DType::kU32,     DType::kU64,     DType::kBool,    DType::kC64,
};

class Fixture {
 public:
  // The output Error that writing `checkpoint` throws, without the "<path>: " prefix; checks that
  // no file was left behind.
  std::string refusal(const Checkpoint &checkpoint) {
    const std::string path = dir_.file("refused.safetensors");
    try {
      write_safetensors(path, checkpoint);
    } catch (const Error &error) {
      CHECK(error.kind() == ErrorKind::kOutput);
      CHECK_FALSE(fs::exists(path));
      CHECK(fs::is_empty(dir_.path()));  // no temporary file either
      const std::string message = error.what();
      REQUIRE(message.rfind(path + ": ", 0) == 0);
      return message.substr(path.size() + 2);
    }
    FAIL("wrote " << path);
    return "";
  }

  // The refusal for a checkpoint holding just `tensor`.
  std::string refusal_of(Tensor tensor) {
    Checkpoint checkpoint;
    checkpoint.tensors.push_back(std::move(tensor));
    return refusal(checkpoint);
  }

  const TempDir &dir() const { return dir_; }

 private:
  TempDir dir_;
};

// ---- round trips -------------------------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "every dtype round-trips bit-identical, scalars and empties included") {
  std::mt19937 random(1234);
  Checkpoint checkpoint;
  for (DType dtype : kWritable) {
    const std::string name(dtype_name(dtype));
    checkpoint.tensors.push_back(
        make_tensor(name + ".matrix", dtype, {2, 4}, random_bytes(*byte_size(dtype, 8), random)));
    checkpoint.tensors.push_back(make_tensor(name + ".empty", dtype, {0, 3}, ""));
    if (const std::optional<uint64_t> size = byte_size(dtype, 1)) {
      checkpoint.tensors.push_back(
          make_tensor(name + ".scalar", dtype, {}, random_bytes(*size, random)));
    }
  }
  const std::string path = dir().file("all.safetensors");
  write_safetensors(path, checkpoint);
  const Checkpoint read = read_safetensors(path);

  REQUIRE(read.tensors.size() == checkpoint.tensors.size());
  for (const Tensor &original : checkpoint.tensors) {
    CAPTURE(original.name);
    const auto found = std::find_if(read.tensors.begin(), read.tensors.end(),
                                    [&](const Tensor &t) { return t.name == original.name; });
    REQUIRE(found != read.tensors.end());
    CHECK(found->dtype == original.dtype);
    CHECK(found->shape == original.shape);
    CHECK(bytes_of(*found) == bytes_of(original));
  }
  // Data is laid out by name, so the reader's file order is name order.
  for (size_t i = 1; i < read.tensors.size(); ++i) {
    CHECK(read.tensors[i - 1].name < read.tensors[i].name);
  }
}

TEST_CASE_FIXTURE(Fixture, "the shared sample checkpoint round-trips, tied tensors included") {
  const Checkpoint sample = test::sample_checkpoint();
  const std::string path = dir().file("sample.safetensors");
  write_safetensors(path, sample);
  const Checkpoint read = read_safetensors(path);
  REQUIRE(read.tensors.size() == sample.tensors.size());
  for (const Tensor &original : sample.tensors) {
    CAPTURE(original.name);
    const auto found = std::find_if(read.tensors.begin(), read.tensors.end(),
                                    [&](const Tensor &t) { return t.name == original.name; });
    REQUIRE(found != read.tensors.end());
    CHECK(found->dtype == original.dtype);
    CHECK(found->shape == original.shape);
    CHECK(bytes_of(*found) == bytes_of(original));
  }
  // safetensors metadata is text only: typed values come back as their to_text().
  REQUIRE(read.metadata.size() == sample.metadata.size());
  CHECK(read.metadata.at("epoch").string_value == "3");
  CHECK(read.metadata.at("loss").string_value == "0.125");
  CHECK(read.metadata.at("finetuned").string_value == "true");
  CHECK(read.metadata.at("arch").string_value == "tiny");
}

TEST_CASE_FIXTURE(Fixture, "a read file written back is byte-identical") {
  Checkpoint checkpoint;
  checkpoint.tensors.push_back(make_tensor("w", DType::kBF16, {3}, "abcdef"));
  checkpoint.tensors.push_back(make_tensor("b", DType::kF4_E2M1, {2, 2}, "gh"));
  checkpoint.metadata["format"] = MetaValue::of_string("pt");
  const std::string first = dir().file("first.safetensors");
  const std::string second = dir().file("second.safetensors");
  write_safetensors(first, checkpoint);
  write_safetensors(second, read_safetensors(first));
  CHECK(read_bytes(first) == read_bytes(second));
}

TEST_CASE_FIXTURE(Fixture, "the file has the exact layout of a compact sorted padded header") {
  Checkpoint checkpoint;
  checkpoint.tensors.push_back(make_tensor("b", DType::kU8, {2}, "xy"));
  checkpoint.tensors.push_back(make_tensor("a", DType::kF32, {}, "1234"));
  checkpoint.metadata["format"] = MetaValue::of_string("pt");
  const std::string path = dir().file("golden.safetensors");
  write_safetensors(path, checkpoint);

  std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"data_offsets":[0,4],"dtype":"F32","shape":[]},)"
      R"("b":{"data_offsets":[4,6],"dtype":"U8","shape":[2]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  CHECK(read_bytes(path) == le64(header.size()) + header + "1234xy");
}

TEST_CASE_FIXTURE(Fixture, "the header is padded with spaces to a multiple of 8 bytes") {
  for (size_t length = 1; length <= 8; ++length) {
    CAPTURE(length);
    Checkpoint checkpoint;
    checkpoint.tensors.push_back(make_tensor(std::string(length, 'n'), DType::kU8, {1}, "z"));
    const std::string path = dir().file("padded.safetensors");
    write_safetensors(path, checkpoint);
    const std::string bytes = read_bytes(path);
    REQUIRE(bytes.size() >= 8);
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | static_cast<uint8_t>(bytes[i]);
    CHECK(header_size % 8 == 0);
    const std::string header = bytes.substr(8, header_size);
    const size_t last_brace = header.rfind('}');
    CHECK(header.find_first_not_of(' ', last_brace + 1) == std::string::npos);
    CHECK(header_size - last_brace - 1 < 8);
    CHECK(bytes.substr(8 + header_size) == "z");
  }
}

TEST_CASE_FIXTURE(Fixture, "metadata of every kind is kept as its text") {
  Checkpoint checkpoint;
  checkpoint.tensors.push_back(make_tensor("t", DType::kU8, {1}, "z"));
  checkpoint.metadata["string"] = MetaValue::of_string("é \"quoted\"\n");
  checkpoint.metadata["empty"] = MetaValue::of_string("");
  checkpoint.metadata["int"] = MetaValue::of_int(-7);
  checkpoint.metadata["int_min"] = MetaValue::of_int(INT64_MIN);
  checkpoint.metadata["float"] = MetaValue::of_float(0.1);
  checkpoint.metadata["float_big"] = MetaValue::of_float(1e300);
  checkpoint.metadata["float_whole"] = MetaValue::of_float(2.0);
  checkpoint.metadata["bool"] = MetaValue::of_bool(true);
  const std::string path = dir().file("meta.safetensors");
  write_safetensors(path, checkpoint);

  const Checkpoint read = read_safetensors(path);
  REQUIRE(read.metadata.size() == checkpoint.metadata.size());
  for (const auto &entry : read.metadata) {
    CAPTURE(entry.first);
    CHECK(entry.second.kind == MetaValue::Kind::kString);
    CHECK(entry.second.string_value == checkpoint.metadata.at(entry.first).to_text());
  }
  CHECK(read.metadata.at("string").string_value == "é \"quoted\"\n");
  CHECK(read.metadata.at("int").string_value == "-7");
  CHECK(read.metadata.at("int_min").string_value == "-9223372036854775808");
  CHECK(read.metadata.at("float").string_value == "0.1");
  CHECK(read.metadata.at("float_big").string_value == "1e+300");
  CHECK(read.metadata.at("float_whole").string_value == "2");
  CHECK(read.metadata.at("bool").string_value == "true");
  CHECK(MetaValue::of_bool(false).to_text() == "false");
}

TEST_CASE_FIXTURE(Fixture, "no __metadata__ entry is written when there is no metadata") {
  Checkpoint checkpoint;
  checkpoint.tensors.push_back(make_tensor("t", DType::kU8, {1}, "z"));
  const std::string path = dir().file("plain.safetensors");
  write_safetensors(path, checkpoint);
  CHECK(read_bytes(path).find("__metadata__") == std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "a checkpoint with no tensors writes a valid empty file") {
  const std::string path = dir().file("empty.safetensors");
  write_safetensors(path, Checkpoint());
  CHECK(read_bytes(path) == le64(8) + "{}      ");
  CHECK(read_safetensors(path).tensors.empty());
}

TEST_CASE_FIXTURE(Fixture, "an existing file is replaced") {
  const std::string path = dir().file("model.safetensors");
  write_bytes(path, "old contents that are not safetensors");
  Checkpoint checkpoint;
  checkpoint.tensors.push_back(make_tensor("t", DType::kU8, {1}, "z"));
  write_safetensors(path, checkpoint);
  CHECK(bytes_of(read_safetensors(path).tensors.at(0)) == "z");
}

// ---- refusals ----------------------------------------------------------------------------

TEST_CASE_FIXTURE(Fixture, "a dtype safetensors has no name for is refused") {
  CHECK(refusal_of(make_tensor("q", DType::kI4, {2}, "x")) ==
        R"(tensor "q": safetensors has no dtype for I4)");
  CHECK(refusal_of(make_tensor("q", DType::kU4, {2}, "x")) ==
        R"(tensor "q": safetensors has no dtype for U4)");
  CHECK(refusal_of(make_tensor("q", DType::kUnknown, {1}, "x")) ==
        R"(tensor "q": safetensors has no dtype for UNKNOWN)");
}

TEST_CASE_FIXTURE(Fixture, "a refused write leaves the existing file untouched") {
  const std::string path = dir().file("keep.safetensors");
  write_bytes(path, "precious");
  Checkpoint checkpoint;
  checkpoint.tensors.push_back(make_tensor("a", DType::kU8, {1}, "z"));
  checkpoint.tensors.push_back(make_tensor("q", DType::kI4, {2}, "x"));
  CHECK_THROWS_AS(write_safetensors(path, checkpoint), Error);
  CHECK(read_bytes(path) == "precious");
}

TEST_CASE_FIXTURE(Fixture, "a size that does not match shape and dtype is refused") {
  CHECK(refusal_of(make_tensor("fc.weight", DType::kF32, {2, 3}, std::string(12, 'x'))) ==
        R"(tensor "fc.weight": holds 12 bytes but shape [2, 3] of F32 needs 24)");
  CHECK(refusal_of(make_tensor("s", DType::kF32, {}, "")) ==
        R"(tensor "s": holds 0 bytes but shape [] of F32 needs 4)");
}

TEST_CASE_FIXTURE(Fixture, "a sub-byte tensor that is not a whole number of bytes is refused") {
  CHECK(refusal_of(make_tensor("f", DType::kF4_E2M1, {3}, "xx")) ==
        R"(tensor "f": shape [3] of F4 is not a whole number of bytes below 2^64)");
}

TEST_CASE_FIXTURE(Fixture, "a shape whose element count overflows is refused") {
  CHECK(refusal_of(make_tensor("big", DType::kU8, {uint64_t{1} << 32, uint64_t{1} << 32}, "")) ==
        R"(tensor "big": shape [4294967296, 4294967296] has more than 2^64-1 elements)");
}

TEST_CASE_FIXTURE(Fixture, "a rank above 8 is refused") {
  CHECK(refusal_of(make_tensor("r", DType::kU8, {1, 1, 1, 1, 1, 1, 1, 1, 1}, "x")) ==
        R"(tensor "r": shape has 9 dimensions; statepack supports at most 8)");
}

TEST_CASE_FIXTURE(Fixture, "bytes without data are refused") {
  Tensor tensor = make_tensor("d", DType::kU8, {2}, "xy");
  tensor.data = nullptr;
  CHECK(refusal_of(tensor) == R"(tensor "d": has no data)");
}

TEST_CASE_FIXTURE(Fixture, "two tensors with one name are refused") {
  Checkpoint checkpoint;
  checkpoint.tensors.push_back(make_tensor("t", DType::kU8, {1}, "a"));
  checkpoint.tensors.push_back(make_tensor("u", DType::kU8, {1}, "b"));
  checkpoint.tensors.push_back(make_tensor("t", DType::kU8, {1}, "c"));
  CHECK(refusal(checkpoint) == R"(two tensors are named "t")");
}

TEST_CASE_FIXTURE(Fixture, "names a safetensors reader would misread are refused") {
  CHECK(refusal_of(make_tensor("", DType::kU8, {1}, "x")) ==
        "cannot write a tensor with an empty name");
  CHECK(refusal_of(make_tensor("__metadata__", DType::kU8, {1}, "x")) ==
        R"(tensor "__metadata__": name is reserved for the metadata in safetensors)");
  CHECK(refusal_of(make_tensor("bad\xFF", DType::kU8, {1}, "x")) ==
        R"(tensor "bad\xFF": name is not valid UTF-8)");
}

TEST_CASE_FIXTURE(Fixture, "metadata that is not valid UTF-8 is refused") {
  Checkpoint checkpoint;
  checkpoint.metadata["k"] = MetaValue::of_string("\xC0\xAF");
  CHECK(refusal(checkpoint) == R"(metadata entry "k" is not valid UTF-8)");
}

TEST_CASE_FIXTURE(Fixture, "an output directory that does not exist is an output error") {
  Checkpoint checkpoint;
  checkpoint.tensors.push_back(make_tensor("t", DType::kU8, {1}, "z"));
  try {
    write_safetensors(dir().file("missing/model.safetensors"), checkpoint);
    FAIL("wrote into a missing directory");
  } catch (const Error &error) {
    CHECK(error.kind() == ErrorKind::kOutput);
  }
}

}  // namespace
}  // namespace statepack
