// SPDX-License-Identifier: Apache-2.0
// NumPy reader: every supported dtype in both byte orders, 0-d and empty arrays, Fortran order,
// .npy files and .npz archives (stored and deflated) read back as little-endian C-order
// tensors; object, structured and string dtypes, damaged headers and wrong data sizes are
// refused with a message that says what is wrong.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/numpy_reader.hpp"
#include "support/temp_dir.hpp"
#include "support/zip_builder.hpp"

namespace statepack {
namespace {

using test::ZipSpec;

// Every test's files go to a fresh directory named after this file.
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("statepack-npy") {}
};

// A .npy file with header dictionary `dict`, padded as numpy pads it (to a multiple of 64 bytes
// with spaces and a final newline), in format version `major`.0.
std::string npy_with_header(const std::string &dict, const std::string &data, int major = 1) {
  const size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes("\x93NUMPY", 6);
  bytes += static_cast<char>(major);
  bytes += '\0';
  const size_t length_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < length_bytes; ++i) bytes += static_cast<char>(header.size() >> (8 * i));
  return bytes + header + data;
}

// A .npy file as np.save writes it.
std::string npy(const std::string &descr, const std::string &shape, const std::string &data,
                bool fortran = false) {
  return npy_with_header("{'descr': '" + descr + "', 'fortran_order': " +
                             (fortran ? "True" : "False") + ", 'shape': " + shape + ", }",
                         data);
}

std::string counting_bytes(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 7 + 1);
  return bytes;
}

std::string tensor_bytes(const Tensor &tensor) {
  return std::string(reinterpret_cast<const char *>(tensor.data), static_cast<size_t>(tensor.size));
}

// Parses `bytes` in place; the tensor may point into them.
Tensor parse(const std::string &bytes, const std::string &name = "t") {
  return read_npy("x.npy", name, reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(),
                  nullptr);
}

// The message read_npy throws, without the "x.npy: " prefix. The bytes are copied to a heap
// buffer of exactly their size so that a read past the end is caught by the sanitizers.
std::string refusal(const std::string &bytes) {
  const std::vector<uint8_t> exact(bytes.begin(), bytes.end());
  try {
    read_npy("x.npy", "t", exact.data(), exact.size(), nullptr);
  } catch (const Error &error) {
    CHECK(error.kind() == ErrorKind::kInput);
    const std::string message = error.what();
    REQUIRE(message.rfind("x.npy: ", 0) == 0);
    return message.substr(7);
  }
  FAIL("accepted a .npy that should be refused");
  return "";
}

struct DescrCase {
  const char *descr;
  DType dtype;
  size_t item_size;
  size_t swap_unit;
};

const DescrCase kLittleEndian[] = {
    {"<f2", DType::kF16, 2, 2},  {"<f4", DType::kF32, 4, 4}, {"<f8", DType::kF64, 8, 8},
    {"|i1", DType::kI8, 1, 1},   {"<i1", DType::kI8, 1, 1},  {"<i2", DType::kI16, 2, 2},
    {"<i4", DType::kI32, 4, 4},  {"<i8", DType::kI64, 8, 8}, {"|u1", DType::kU8, 1, 1},
    {"<u2", DType::kU16, 2, 2},  {"<u4", DType::kU32, 4, 4}, {"<u8", DType::kU64, 8, 8},
    {"|b1", DType::kBool, 1, 1}, {"<c8", DType::kC64, 8, 4},
};

// ---- arrays that must be read ---------------------------------------------------------------

TEST_CASE("npy: every supported little-endian descr is a zero-copy view") {
  for (const DescrCase &c : kLittleEndian) {
    CAPTURE(c.descr);
    const std::string data = counting_bytes(6 * c.item_size);
    const std::string bytes = npy(c.descr, "(2, 3)", data);
    const Tensor tensor = parse(bytes, "weight");
    CHECK(tensor.name == "weight");
    CHECK(tensor.dtype == c.dtype);
    CHECK(tensor.shape == std::vector<uint64_t>{2, 3});
    CHECK(tensor.size == data.size());
    CHECK(tensor.data ==
          reinterpret_cast<const uint8_t *>(bytes.data()) + bytes.size() - data.size());
    CHECK(tensor_bytes(tensor) == data);
  }
}

TEST_CASE("npy: big-endian arrays are byte-swapped into little-endian") {
  for (const DescrCase &c : kLittleEndian) {
    std::string descr = c.descr;
    descr[0] = '>';
    CAPTURE(descr);
    const std::string data = counting_bytes(6 * c.item_size);
    std::string expected = data;
    // A complex64 is two floats: each is swapped on its own, real part still first.
    for (size_t at = 0; at < expected.size(); at += c.swap_unit) {
      std::reverse(expected.begin() + static_cast<std::ptrdiff_t>(at),
                   expected.begin() + static_cast<std::ptrdiff_t>(at + c.swap_unit));
    }
    // One-byte types need no swap and stay views into `bytes`.
    const std::string bytes = npy(descr, "(3, 2)", data);
    const Tensor tensor = parse(bytes);
    CHECK(tensor.dtype == c.dtype);
    CHECK(tensor.shape == std::vector<uint64_t>{3, 2});
    CHECK(tensor_bytes(tensor) == expected);
  }
}

TEST_CASE("npy: a big-endian float32 reads as the same values") {
  const std::string big("\x3f\x80\x00\x00\xc0\x00\x00\x00", 8);  // 1.0f, -2.0f
  const Tensor tensor = parse(npy(">f4", "(2,)", big));
  REQUIRE(tensor.size == 8);
  float values[2];
  std::copy(tensor.data, tensor.data + 8, reinterpret_cast<uint8_t *>(values));
  CHECK(values[0] == 1.0f);
  CHECK(values[1] == -2.0f);
  CHECK(tensor.owner != nullptr);
}

TEST_CASE("npy: a 0-d array has shape () and one element") {
  const std::string bytes = npy("<i8", "()", std::string("\x2a\0\0\0\0\0\0\0", 8));
  const Tensor tensor = parse(bytes);
  CHECK(tensor.shape.empty());
  CHECK(tensor.size == 8);
  CHECK(tensor.data[0] == 42);
}

TEST_CASE("npy: arrays with a zero dimension have no bytes") {
  for (const char *shape : {"(0,)", "(3, 0)", "(0, 4, 2)"}) {
    CAPTURE(shape);
    const Tensor tensor = parse(npy("<f4", shape, "", true));
    CHECK(tensor.size == 0);
    CHECK(tensor.element_count() == 0);
  }
}

TEST_CASE("npy: Fortran-order arrays are transposed into C order") {
  // Element (i, j, k) of a 2x3x4 int32 array holds 100i + 10j + k.
  const uint64_t d0 = 2, d1 = 3, d2 = 4;
  std::vector<int32_t> fortran(d0 * d1 * d2);
  std::vector<int32_t> c_order(d0 * d1 * d2);
  for (uint64_t i = 0; i < d0; ++i) {
    for (uint64_t j = 0; j < d1; ++j) {
      for (uint64_t k = 0; k < d2; ++k) {
        const auto value = static_cast<int32_t>(100 * i + 10 * j + k);
        fortran[i + d0 * (j + d1 * k)] = value;
        c_order[(i * d1 + j) * d2 + k] = value;
      }
    }
  }
  const std::string data(reinterpret_cast<const char *>(fortran.data()), fortran.size() * 4);
  const std::string expected(reinterpret_cast<const char *>(c_order.data()), c_order.size() * 4);

  SUBCASE("little-endian") {
    const Tensor tensor = parse(npy("<i4", "(2, 3, 4)", data, true));
    CHECK(tensor.shape == std::vector<uint64_t>{2, 3, 4});
    CHECK(tensor_bytes(tensor) == expected);
  }
  SUBCASE("big-endian, transposed and swapped") {
    std::string big = data;
    for (size_t at = 0; at < big.size(); at += 4) {
      std::reverse(big.begin() + static_cast<std::ptrdiff_t>(at),
                   big.begin() + static_cast<std::ptrdiff_t>(at + 4));
    }
    CHECK(tensor_bytes(parse(npy(">i4", "(2, 3, 4)", big, true))) == expected);
  }
}

TEST_CASE("npy: Fortran order of a 1-d array is a plain view") {
  const std::string bytes = npy("<u2", "(3,)", "aabbcc", true);
  const Tensor tensor = parse(bytes);
  CHECK(tensor.data == reinterpret_cast<const uint8_t *>(bytes.data()) + bytes.size() - 6);
  CHECK(tensor_bytes(tensor) == "aabbcc");
}

TEST_CASE("npy: format versions 2.0 and 3.0 have a 32-bit header length") {
  for (int major : {2, 3}) {
    CAPTURE(major);
    const std::string bytes =
        npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "abcd", major);
    CHECK(bytes.size() % 64 == 4);
    CHECK(tensor_bytes(parse(bytes)) == "abcd");
  }
}

TEST_CASE("npy: header dictionaries in any Python literal form are read") {
  for (const char *dict : {
           "{'shape': (2,), 'fortran_order': False, 'descr': '<u1'}",
           "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (2,)}",
           "{'descr':'|u1','fortran_order':False,'shape':(2,),}",
           "  {  'descr' : '|u1' ,\t'fortran_order' : False , 'shape' : ( 2 , ) , }  ",
       }) {
    CAPTURE(dict);
    const Tensor tensor = parse(npy_with_header(dict, "xy"));
    CHECK(tensor.shape == std::vector<uint64_t>{2});
    CHECK(tensor.dtype == DType::kU8);
  }
  CHECK(parse(npy("<u1", "(1, 2,)", "xy")).shape == std::vector<uint64_t>{1, 2});
}

TEST_CASE("npy: looks_like_npy sniffs the magic string") {
  const std::string bytes = npy("<f4", "()", "abcd");
  CHECK(looks_like_npy(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
  CHECK_FALSE(looks_like_npy(reinterpret_cast<const uint8_t *>(bytes.data()), 5));
  CHECK_FALSE(looks_like_npy(reinterpret_cast<const uint8_t *>("PK\x03\x04xx"), 6));
  CHECK_FALSE(looks_like_npy(nullptr, 100));
}

// ---- dtypes statepack does not read -----------------------------------------------------

TEST_CASE("npy: object arrays are refused: they would need pickle") {
  CHECK(refusal(npy("|O", "(2,)", std::string(16, '\0'))) ==
        "dtype '|O' is not supported: object arrays hold pickled Python objects, and statepack "
        "never runs pickle");
}

TEST_CASE("npy: structured dtypes are refused") {
  CHECK(refusal(npy_with_header(
            "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }",
            std::string(8, '\0'))) ==
        "structured dtypes (a descr that is a list of fields) are not supported; save each field "
        "as its own array");
}

TEST_CASE("npy: string, datetime, void and wide dtypes are refused") {
  for (const char *descr : {"<U5", "|S5", "<M8[ns]", "<m8[s]", "|V2", "<f16", "<c16", "<f3", "<x4",
                            "f4", "=f4", "|f4", ""}) {
    CAPTURE(descr);
    CHECK(refusal(npy(descr, "(1,)", std::string(16, '\0'))).rfind("dtype '", 0) == 0);
  }
  CHECK(refusal(npy("<f16", "(1,)", std::string(16, '\0'))) ==
        "dtype '<f16' is not supported: statepack reads f2, f4, f8, i1-i8, u1-u8, b1 and c8 "
        "(complex64); extended floats and complex128 have no statepack dtype");
  CHECK(refusal(npy("|f4", "(1,)", "abcd")) ==
        "dtype '|f4' is not supported: a multi-byte type needs a byte order, '<' or '>'");
}

// ---- damaged files ----------------------------------------------------------------------------

TEST_CASE("npy: a bad magic string is refused") {
  std::string bytes = npy("<f4", "()", "abcd");
  bytes[1] = 'n';
  CHECK(refusal(bytes) == "not a .npy file (no \\x93NUMPY magic)");
  CHECK(refusal("") == "not a .npy file (no \\x93NUMPY magic)");
}

TEST_CASE("npy: unknown format versions are refused") {
  std::string bytes = npy("<f4", "()", "abcd");
  bytes[6] = 4;
  CHECK(refusal(bytes) == ".npy format version 4.0 is not supported (1.0, 2.0 and 3.0 are)");
  bytes[6] = 1;
  bytes[7] = 1;
  CHECK(refusal(bytes) == ".npy format version 1.1 is not supported (1.0, 2.0 and 3.0 are)");
}

TEST_CASE("npy: header garbage is refused") {
  const auto header_refusal = [](const std::string &dict) {
    return refusal(npy_with_header(dict, "abcd"));
  };
  const std::string ok_descr = "'descr': '<f4', ";
  const std::string ok_fortran = "'fortran_order': False, ";
  CHECK(header_refusal("['descr', '<f4']") ==
        "invalid .npy header: expected '{' opening the header dictionary at byte 10");
  CHECK(header_refusal("{'descr: '<f4'}").rfind("invalid .npy header: expected ':'", 0) == 0);
  CHECK(header_refusal("{descr: '<f4'}").rfind("invalid .npy header: expected a key", 0) == 0);
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': (1,), 'extra': 1}") ==
        "invalid .npy header: unknown key \"extra\" (allowed: 'descr', 'fortran_order', "
        "'shape') at byte 66");
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': (1)}") ==
        "invalid .npy header: shape (1) is an integer in Python, not a tuple at byte 62");
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': [1]}")
            .find("the value of 'shape' must be a tuple of integers") != std::string::npos);
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': (-1,)}")
            .find("shape dimensions must be non-negative integers") != std::string::npos);
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': (01,)}")
            .find("a dimension has a leading zero") != std::string::npos);
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': (1L,)}")
            .find("a dimension is followed by a letter") != std::string::npos);
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': (99999999999999999999,)}")
            .find("a dimension exceeds 2^64-1") != std::string::npos);
  CHECK(header_refusal("{" + ok_descr + "'fortran_order': false, 'shape': (1,)}")
            .find("the value of 'fortran_order' must be True or False") != std::string::npos);
  CHECK(header_refusal("{" + ok_descr + "'fortran_order': Falsey, 'shape': (1,)}")
            .find("the value of 'fortran_order' must be True or False") != std::string::npos);
  CHECK(header_refusal("{'descr': 7, " + ok_fortran + "'shape': (1,)}")
            .find("the value of 'descr' must be a string") != std::string::npos);
  // The padding's final newline ends up inside the unterminated string.
  CHECK(header_refusal("{'descr': '<f4").find("strings may hold only printable ASCII") !=
        std::string::npos);
  CHECK(header_refusal("{'descr': '\\x3cf4', " + ok_fortran + "'shape': (1,)}")
            .find("escape sequences in strings are not supported") != std::string::npos);
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': (1,)} x")
            .find("unexpected text after the header dictionary") != std::string::npos);
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': (1,) 'x'")
            .find("expected ',' or '}' after the value of 'shape'") != std::string::npos);
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "}") ==
        "invalid .npy header: the key 'shape' is missing");
  CHECK(header_refusal("{}") == "invalid .npy header: the key 'descr' is missing");
  CHECK(header_refusal("{" + ok_descr + ok_fortran + "'shape': (1,1,1,1,1,1,1,1,1)}")
            .find("shape has more than 8 dimensions") != std::string::npos);
}

TEST_CASE("npy: a header with a non-ASCII byte is refused") {
  CHECK(refusal(npy("<f\xc3\xa4", "(1,)", "abcd")).find("strings may hold only printable ASCII") !=
        std::string::npos);
}

TEST_CASE("npy: a duplicate header key is refused") {
  CHECK(refusal(npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '<f4'}", "abcd")) ==
        "invalid .npy header: the key 'descr' appears twice at byte 66");
}

TEST_CASE("npy: data shorter than the shape needs is refused") {
  CHECK(refusal(npy("<f4", "(2, 3)", std::string(23, 'x'))) ==
        "the array data holds 23 bytes but shape (2, 3) of '<f4' needs 24");
}

TEST_CASE("npy: trailing bytes after the array are refused") {
  CHECK(refusal(npy("<f4", "(1,)", "abcdXY")) ==
        "2 bytes of trailing data after the array (shape (1,) of '<f4' needs 4)");
}

TEST_CASE("npy: a shape whose size overflows is refused") {
  CHECK(refusal(npy("<f4", "(4294967296, 4294967296)", "")) ==
        "shape (4294967296, 4294967296) has more than 2^64-1 elements");
  CHECK(refusal(npy("<f8", "(4294967296, 536870912)", "")) ==
        "shape (4294967296, 536870912) of '<f8' needs more than 2^64-1 bytes");
}

TEST_CASE("npy: a header length past the end or over the limit is refused") {
  std::string bytes = npy("<f4", "()", "abcd");
  bytes[8] = '\xff';
  bytes[9] = '\x00';
  CHECK(refusal(bytes) ==
        ".npy header of 255 bytes runs past the end of the data (122 bytes "
        "follow its length)");
  const std::string big = npy_with_header(
      "{'descr': '<f4', 'fortran_order': False, 'shape': ()," + std::string(10000, ' ') + "}",
      "abcd", 2);
  CHECK(refusal(big).find(" bytes exceeds the 10000-byte limit") != std::string::npos);
}

TEST_CASE("npy: a truncated file is refused at every length") {
  const std::string bytes = npy(">c8", "(2, 2)", counting_bytes(32), true);
  for (size_t length = 0; length < bytes.size(); ++length) {
    CAPTURE(length);
    CHECK_FALSE(refusal(bytes.substr(0, length)).empty());
  }
}

// ---- .npy and .npz files ----------------------------------------------------------------------

class FileFixture {
 public:
  std::string write(const std::string &name, const std::string &bytes) {
    const std::string path = dir_.file(name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
    return path;
  }

  std::string npz_refusal(const std::vector<ZipSpec> &entries) {
    const std::string path = write("arrays.npz", test::build_zip(entries));
    try {
      read_npz_file(path);
    } catch (const Error &error) {
      const std::string message = error.what();
      REQUIRE(message.rfind(path + ": ", 0) == 0);
      return message.substr(path.size() + 2);
    }
    FAIL("accepted an .npz that should be refused");
    return "";
  }

 private:
  TempDir dir_;
};

TEST_CASE_FIXTURE(FileFixture, "npy: a .npy file is one tensor named after the file's stem") {
  const Checkpoint checkpoint =
      read_npy_file(write("layer.0.weight.npy", npy("<f4", "(1,)", "abcd")));
  REQUIRE(checkpoint.tensors.size() == 1);
  CHECK(checkpoint.tensors[0].name == "layer.0.weight");
  CHECK(tensor_bytes(checkpoint.tensors[0]) == "abcd");
  CHECK(checkpoint.tensors[0].owner != nullptr);
}

TEST_CASE_FIXTURE(FileFixture, "npy: errors in a .npy file name the file") {
  const std::string path = write("w.npy", npy("|O", "()", "12345678"));
  CHECK_THROWS_WITH_AS(read_npy_file(path),
                       (path + ": dtype '|O' is not supported: object arrays hold pickled Python "
                               "objects, and statepack never runs pickle")
                           .c_str(),
                       Error);
}

TEST_CASE_FIXTURE(FileFixture, "npz: stored and deflated entries become tensors in order") {
  ZipSpec deflated{"b.npy", npy(">i2", "(2, 2)", "aabbccdd", true)};
  deflated.deflate = true;
  const std::vector<ZipSpec> entries = {
      {"a.npy", npy("<f4", "(2,)", "abcdefgh")}, deflated, {"dir/c.npy", npy("|b1", "()", "\x01")}};
  const Checkpoint checkpoint = read_npz_file(write("arrays.npz", test::build_zip(entries)));
  REQUIRE(checkpoint.tensors.size() == 3);
  CHECK(checkpoint.tensors[0].name == "a");
  CHECK(checkpoint.tensors[0].dtype == DType::kF32);
  CHECK(tensor_bytes(checkpoint.tensors[0]) == "abcdefgh");
  CHECK(checkpoint.tensors[1].name == "b");
  CHECK(checkpoint.tensors[1].dtype == DType::kI16);
  // Fortran [[aa, cc], [bb, dd]] in C order, each element byte-swapped.
  CHECK(tensor_bytes(checkpoint.tensors[1]) == "aaccbbdd");
  CHECK(checkpoint.tensors[2].name == "dir/c");
  CHECK(checkpoint.tensors[2].shape.empty());
}

TEST_CASE_FIXTURE(FileFixture, "npz: an empty archive has no tensors") {
  CHECK(read_npz_file(write("empty.npz", test::build_zip({}))).tensors.empty());
}

TEST_CASE_FIXTURE(FileFixture, "npz: an entry that is not a .npy file is refused") {
  CHECK(npz_refusal({{"a.npy", npy("<f4", "()", "abcd")}, {"notes.txt", "hello"}}) ==
        "zip entry \"notes.txt\" is not a .npy file (an .npz holds only \"<name>.npy\" entries)");
  CHECK(npz_refusal({{".npy", npy("<f4", "()", "abcd")}}) ==
        "zip entry \".npy\" gives a tensor an empty name");
}

TEST_CASE_FIXTURE(FileFixture, "npz: errors inside an entry name the entry") {
  CHECK(npz_refusal({{"a.npy", npy("<f4", "(2,)", "abcd")}}) ==
        "zip entry \"a.npy\": the array data holds 4 bytes but shape (2,) of '<f4' needs 8");
}

TEST_CASE_FIXTURE(FileFixture, "npz: zip damage is refused by the strict zip reader") {
  CHECK(npz_refusal({{"a.npy", npy("<f4", "()", "abcd")}, {"a.npy", npy("<f4", "()", "efgh")}}) ==
        "zip entry \"a.npy\" appears twice in the central directory");
  ZipSpec bad_crc{"a.npy", npy("<f4", "()", "abcd")};
  bad_crc.crc = 0;
  CHECK(npz_refusal({bad_crc}).find("fails its CRC-32 check") != std::string::npos);
}

}  // namespace
}  // namespace statepack
