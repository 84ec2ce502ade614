// NumPy .npy/.npz reader. The .npy header is a Python dict literal; numpy reads it with
// ast.literal_eval, we read it with a parser that knows only the few literals a plain array's
// header uses, so nothing in a file can make it do more. The array bytes follow the header and
// must be exactly what the shape and dtype call for.
#include "statepack/tools/numpy_reader.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/tools/error.hpp"
#include "statepack/tools/mapped_file.hpp"
#include "statepack/tools/spill_file.hpp"
#include "statepack/tools/strict_json.hpp"
#include "statepack/tools/zip_archive.hpp"

namespace statepack {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr uint64_t kVersionOffset = 6;
constexpr uint64_t kHeaderLengthOffset = 8;
constexpr std::string_view kNpySuffix = ".npy";

std::string tuple_text(const std::vector<uint64_t> &shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + (shape.size() == 1 ? ",)" : ")");
}

// A descr in the quoting numpy uses, for messages: '<f4'.
std::string descr_text(std::string_view descr) {
  const std::string quoted = quote_for_message(descr, 40);
  return "'" + quoted.substr(1, quoted.size() - 2) + "'";
}

// What the header says.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<uint64_t> shape;
};

// Recursive descent over the header's dict literal: {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } with any of the keys' orders, Python whitespace and either quote.
class HeaderParser {
 public:
  HeaderParser(const std::string &where, std::string_view text, uint64_t base_offset)
      : where_(where), text_(text), base_offset_(base_offset) {}

  NpyHeader parse() {
    NpyHeader header;
    bool seen_descr = false;
    bool seen_fortran = false;
    bool seen_shape = false;
    skip_space();
    expect('{', "'{' opening the header dictionary");
    skip_space();
    while (!at('}')) {
      const size_t key_at = pos_;
      const std::string key = parse_string("a key");
      skip_space();
      expect(':', "':' after the key");
      skip_space();
      if (key == "descr") {
        mark_seen(seen_descr, key, key_at);
        header.descr = parse_descr();
      } else if (key == "fortran_order") {
        mark_seen(seen_fortran, key, key_at);
        header.fortran_order = parse_bool(key);
      } else if (key == "shape") {
        mark_seen(seen_shape, key, key_at);
        header.shape = parse_shape();
      } else {
        pos_ = key_at;
        fail("unknown key " + quote_for_message(key) +
             " (allowed: 'descr', 'fortran_order', 'shape')");
      }
      skip_space();
      if (at(',')) {
        ++pos_;
        skip_space();
      } else if (!at('}')) {
        fail("expected ',' or '}' after the value of '" + key + "'");
      }
    }
    ++pos_;
    // numpy pads the header with spaces and ends it with '\n'.
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the header dictionary");
    if (!seen_descr) fail_missing("descr");
    if (!seen_fortran) fail_missing("fortran_order");
    if (!seen_shape) fail_missing("shape");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string &problem) const {
    fail_input(where_, "invalid .npy header: " + problem + " at byte " +
                           std::to_string(base_offset_ + pos_));
  }

  [[noreturn]] void fail_missing(const char *key) const {
    fail_input(where_, std::string("invalid .npy header: the key '") + key + "' is missing");
  }

  void mark_seen(bool &seen, const std::string &key, size_t key_at) {
    if (seen) {
      pos_ = key_at;
      fail("the key '" + key + "' appears twice");
    }
    seen = true;
  }

  bool at(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

  void expect(char c, const char *what) {
    if (!at(c)) fail(std::string("expected ") + what);
    ++pos_;
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  // A quoted string without escapes (no descr or key needs one).
  std::string parse_string(const char *what) {
    if (!at('\'') && !at('"')) fail(std::string("expected ") + what + " (a quoted string)");
    const char quote = text_[pos_++];
    const size_t begin = pos_;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '\\') fail("escape sequences in strings are not supported");
      if (c < 0x20 || c >= 0x7F) fail("strings may hold only printable ASCII");
      ++pos_;
    }
    if (pos_ == text_.size()) fail("unterminated string");
    return std::string(text_.substr(begin, pos_++ - begin));
  }

  std::string parse_descr() {
    if (at('[')) {
      fail_input(where_,
                 "structured dtypes (a descr that is a list of fields) are not supported; "
                 "save each field as its own array");
    }
    if (!at('\'') && !at('"')) fail("the value of 'descr' must be a string");
    return parse_string("the descr");
  }

  bool parse_bool(const std::string &key) {
    for (const auto &[word, value] : {std::pair<std::string_view, bool>{"True", true},
                                      std::pair<std::string_view, bool>{"False", false}}) {
      if (text_.substr(pos_, word.size()) == word && !identifier_char(pos_ + word.size())) {
        pos_ += word.size();
        return value;
      }
    }
    fail("the value of '" + key + "' must be True or False");
  }

  bool identifier_char(size_t at_pos) const {
    if (at_pos >= text_.size()) return false;
    const char c = text_[at_pos];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }

  // A tuple of non-negative integers: (), (3,), (2, 3) or (2, 3,). "(3)" is an int in Python.
  std::vector<uint64_t> parse_shape() {
    if (!at('(')) fail("the value of 'shape' must be a tuple of integers");
    ++pos_;
    std::vector<uint64_t> shape;
    bool trailing_comma = false;
    skip_space();
    while (!at(')')) {
      if (shape.size() == SPK_MAX_RANK) {
        fail("shape has more than " + std::to_string(SPK_MAX_RANK) +
             " dimensions, the most statepack supports");
      }
      shape.push_back(parse_dimension());
      skip_space();
      trailing_comma = at(',');
      if (trailing_comma) {
        ++pos_;
        skip_space();
      } else if (!at(')')) {
        fail("expected ',' or ')' in the shape");
      }
    }
    if (shape.size() == 1 && !trailing_comma) {
      fail("shape (" + std::to_string(shape[0]) + ") is an integer in Python, not a tuple");
    }
    ++pos_;
    return shape;
  }

  uint64_t parse_dimension() {
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') {
      fail("shape dimensions must be non-negative integers");
    }
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' &&
        text_[pos_ + 1] <= '9') {
      fail("a dimension has a leading zero");
    }
    uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const auto digit = static_cast<uint64_t>(text_[pos_] - '0');
      if (__builtin_mul_overflow(value, uint64_t{10}, &value) ||
          __builtin_add_overflow(value, digit, &value)) {
        fail("a dimension exceeds 2^64-1");
      }
      ++pos_;
    }
    if (identifier_char(pos_)) fail("a dimension is followed by a letter");
    return value;
  }

  const std::string &where_;
  std::string_view text_;
  uint64_t base_offset_;
  size_t pos_ = 0;
};

// An element type numpy can describe and statepack can hold.
struct NpyType {
  DType dtype = DType::kUnknown;
  uint64_t item_size = 0;
  bool big_endian = false;
  uint64_t swap_unit = 0;  // bytes reversed together: a complex64 swaps its two floats apart
};

[[noreturn]] void fail_unsupported(const std::string &where, std::string_view descr,
                                   const std::string &why) {
  fail_input(where, "dtype " + descr_text(descr) + " is not supported: " + why);
}

NpyType parse_type(const std::string &where, std::string_view descr) {
  if (descr.size() < 2) fail_unsupported(where, descr, "not a numpy type string");
  const char order = descr[0];
  const char kind = descr[1];
  const std::string_view digits = descr.substr(2);
  if (order != '<' && order != '>' && order != '|') {
    fail_unsupported(where, descr, "it does not start with a byte order ('<', '>' or '|')");
  }
  if (kind == 'O') {
    fail_unsupported(where, descr,
                     "object arrays hold pickled Python objects, and statepack never runs "
                     "pickle");
  }
  if (kind == 'U' || kind == 'S' || kind == 'a') {
    fail_unsupported(where, descr, "string arrays are not tensors");
  }
  if (kind == 'M' || kind == 'm') {
    fail_unsupported(where, descr, "datetime and timedelta arrays are not tensors");
  }
  if (kind == 'V') {
    fail_unsupported(where, descr,
                     "raw void data has no element type (bfloat16 arrays from ml_dtypes are "
                     "saved this way: convert them to float32)");
  }
  uint64_t size = 0;
  if (digits.size() == 1 && digits[0] >= '1' && digits[0] <= '8') {
    size = static_cast<uint64_t>(digits[0] - '0');
  }
  NpyType type;
  type.item_size = size;
  type.swap_unit = size;
  switch (kind) {
    case 'f':
      type.dtype = size == 2   ? DType::kF16
                   : size == 4 ? DType::kF32
                   : size == 8 ? DType::kF64
                               : DType::kUnknown;
      break;
    case 'i':
      type.dtype = size == 1   ? DType::kI8
                   : size == 2 ? DType::kI16
                   : size == 4 ? DType::kI32
                   : size == 8 ? DType::kI64
                               : DType::kUnknown;
      break;
    case 'u':
      type.dtype = size == 1   ? DType::kU8
                   : size == 2 ? DType::kU16
                   : size == 4 ? DType::kU32
                   : size == 8 ? DType::kU64
                               : DType::kUnknown;
      break;
    case 'b':
      type.dtype = size == 1 ? DType::kBool : DType::kUnknown;
      break;
    case 'c':
      type.dtype = size == 8 ? DType::kC64 : DType::kUnknown;
      type.swap_unit = 4;
      break;
    default:
      break;
  }
  if (type.dtype == DType::kUnknown) {
    fail_unsupported(where, descr,
                     "statepack reads f2, f4, f8, i1-i8, u1-u8, b1 and c8 (complex64); "
                     "extended floats and complex128 have no statepack dtype");
  }
  if (order == '|' && size != 1) {
    fail_unsupported(where, descr, "a multi-byte type needs a byte order, '<' or '>'");
  }
  type.big_endian = order == '>' && type.swap_unit > 1;
  return type;
}

// Copies a Fortran-order (column-major) array into C order, element by element.
void fortran_to_c(const uint8_t *source, uint8_t *target, const std::vector<uint64_t> &shape,
                  uint64_t item_size, uint64_t count) {
  const size_t rank = shape.size();
  std::vector<uint64_t> stride(rank);  // bytes between neighbours along each axis, in the source
  uint64_t step = item_size;
  for (size_t axis = 0; axis < rank; ++axis) {
    stride[axis] = step;
    step *= shape[axis];
  }
  std::vector<uint64_t> index(rank, 0);
  uint64_t offset = 0;
  for (uint64_t i = 0; i < count; ++i) {
    std::copy(source + offset, source + offset + item_size, target + i * item_size);
    // Advance the C-order index (last axis fastest), tracking its source offset.
    for (size_t axis = rank; axis-- > 0;) {
      if (++index[axis] < shape[axis]) {
        offset += stride[axis];
        break;
      }
      offset -= (shape[axis] - 1) * stride[axis];
      index[axis] = 0;
    }
  }
}

void swap_bytes(uint8_t *data, uint64_t size, uint64_t unit) {
  for (uint64_t at = 0; at + unit <= size; at += unit) std::reverse(data + at, data + at + unit);
}

}  // namespace

bool looks_like_npy(const uint8_t *data, uint64_t size) {
  return data != nullptr && size >= kMagic.size() &&
         std::string_view(reinterpret_cast<const char *>(data), kMagic.size()) == kMagic;
}

Tensor read_npy(const std::string &where, std::string tensor_name, const uint8_t *data,
                uint64_t size, std::shared_ptr<const void> owner) {
  if (!looks_like_npy(data, size)) fail_input(where, "not a .npy file (no \\x93NUMPY magic)");
  if (size < kHeaderLengthOffset + 2) fail_input(where, "truncated .npy file (no header length)");
  const uint8_t major = data[kVersionOffset];
  const uint8_t minor = data[kVersionOffset + 1];
  if (minor != 0 || major < 1 || major > 3) {
    fail_input(where, ".npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                          " is not supported (1.0, 2.0 and 3.0 are)");
  }
  // Version 1.0 has a 16-bit header length, 2.0 and 3.0 a 32-bit one.
  const uint64_t length_size = major == 1 ? 2 : 4;
  const uint64_t header_start = kHeaderLengthOffset + length_size;
  if (size < header_start) fail_input(where, "truncated .npy file (no header length)");
  uint64_t header_size = 0;
  for (uint64_t i = length_size; i-- > 0;) {
    header_size = (header_size << 8) | data[kHeaderLengthOffset + i];
  }
  if (header_size > kNpyMaxHeaderSize) {
    fail_input(where, ".npy header of " + std::to_string(header_size) + " bytes exceeds the " +
                          std::to_string(kNpyMaxHeaderSize) + "-byte limit");
  }
  if (header_size > size - header_start) {
    fail_input(where, ".npy header of " + std::to_string(header_size) +
                          " bytes runs past the end of the data (" +
                          std::to_string(size - header_start) + " bytes follow its length)");
  }
  const std::string_view text(reinterpret_cast<const char *>(data + header_start),
                              static_cast<size_t>(header_size));
  const NpyHeader header = HeaderParser(where, text, header_start).parse();
  const NpyType type = parse_type(where, header.descr);

  uint64_t count = 1;
  uint64_t needed = 0;
  for (uint64_t dim : header.shape) {
    if (__builtin_mul_overflow(count, dim, &count)) {
      fail_input(where, "shape " + tuple_text(header.shape) + " has more than 2^64-1 elements");
    }
  }
  if (__builtin_mul_overflow(count, type.item_size, &needed)) {
    fail_input(where, "shape " + tuple_text(header.shape) + " of " + descr_text(header.descr) +
                          " needs more than 2^64-1 bytes");
  }
  const uint64_t data_start = header_start + header_size;
  const uint64_t held = size - data_start;
  if (held < needed) {
    fail_input(where, "the array data holds " + std::to_string(held) + " bytes but shape " +
                          tuple_text(header.shape) + " of " + descr_text(header.descr) + " needs " +
                          std::to_string(needed));
  }
  if (held > needed) {
    fail_input(where, std::to_string(held - needed) + " bytes of trailing data after the array (" +
                          "shape " + tuple_text(header.shape) + " of " + descr_text(header.descr) +
                          " needs " + std::to_string(needed) + ")");
  }

  Tensor tensor;
  tensor.name = std::move(tensor_name);
  tensor.dtype = type.dtype;
  tensor.shape = header.shape;
  tensor.size = needed;
  const uint8_t *array = data + data_start;
  const bool transpose = header.fortran_order && header.shape.size() > 1 && count > 1;
  if (!transpose && !type.big_endian) {
    tensor.data = array;
    tensor.owner = std::move(owner);
    return tensor;
  }
  auto buffer = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(needed));
  if (transpose) {
    fortran_to_c(array, buffer->data(), header.shape, type.item_size, count);
  } else {
    std::copy(array, array + needed, buffer->data());
  }
  if (type.big_endian) swap_bytes(buffer->data(), needed, type.swap_unit);
  // The source pages and the converted copy both leave memory until the blob is written.
  MappedFile::release(array, needed);
  SpilledBytes spilled = spill(buffer->data(), needed);
  tensor.data = spilled.data;
  tensor.owner = std::move(spilled.owner);
  return tensor;
}

Checkpoint read_npy_file(const std::string &path) {
  const std::shared_ptr<const MappedFile> file = MappedFile::open(path);
  Checkpoint checkpoint;
  checkpoint.tensors.push_back(read_npy(path, std::filesystem::path(path).stem().string(),
                                        file->data(), file->size(), file));
  return checkpoint;
}

Checkpoint read_npz_file(const std::string &path) {
  const ZipArchive archive = ZipArchive::open(MappedFile::open(path));
  Checkpoint checkpoint;
  checkpoint.tensors.reserve(archive.entries().size());
  // Zip names are unique and the suffix is fixed, so this cannot fire today; it keeps the
  // promise of unique tensor names independent of how names are derived.
  std::set<std::string, std::less<>> names;
  for (const ZipEntry &entry : archive.entries()) {
    const std::string label = "zip entry " + quote_for_message(entry.name);
    const std::string_view name = entry.name;
    if (name.size() < kNpySuffix.size() ||
        name.substr(name.size() - kNpySuffix.size()) != kNpySuffix) {
      fail_input(path, label + " is not a .npy file (an .npz holds only \"<name>.npy\" entries)");
    }
    std::string tensor_name(name.substr(0, name.size() - kNpySuffix.size()));
    if (tensor_name.empty()) fail_input(path, label + " gives a tensor an empty name");
    if (!names.insert(tensor_name).second) {
      fail_input(path, label + ": tensor " + quote_for_message(tensor_name) + " appears twice");
    }
    const ZipBytes bytes = archive.read(entry);
    checkpoint.tensors.push_back(
        read_npy(path + ": " + label, std::move(tensor_name), bytes.data, bytes.size, bytes.owner));
  }
  return checkpoint;
}

}  // namespace statepack
