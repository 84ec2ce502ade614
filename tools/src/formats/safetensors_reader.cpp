// SPDX-License-Identifier: Apache-2.0
// safetensors reader: maps the file, checks every byte of it and hands out tensors that point
// into the mapping. The checks follow the reference reader (huggingface/safetensors,
// read_metadata and Metadata::validate) and add the ones serde's leniency leaves out: duplicate
// keys, unknown fields, NUL in names and statepack's rank limit.
#include <algorithm>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "statepack/statepack.h"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/formats/safetensors_reader.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/text/quote.hpp"
#include "statepack/tools/text/strict_json.hpp"

namespace statepack {
namespace {

using nlohmann::json;

constexpr uint64_t kLengthFieldSize = 8;
constexpr std::string_view kMetadataKey = "__metadata__";

// "a string", "an object", or the number itself, for "<field> is <this>" messages.
std::string describe(const json &value) {
  switch (value.type()) {
    case json::value_t::number_integer:
      // nlohmann reads "-0" as a signed zero integer; the reference reader refuses it too.
      return value.get<int64_t>() == 0 ? "-0" : value.dump();
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return value.dump();
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::null:
      return "null";
    default:
      return value.type_name();
  }
}

std::string shape_text(const std::vector<uint64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

std::string range_text(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

// A tensor as declared in the header, before the offsets are checked against each other.
struct Entry {
  Tensor tensor;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// Checks one header entry; `data_size` is the number of bytes after the header.
class EntryReader {
 public:
  EntryReader(const std::string &path, const std::string &name)
      : path_(path), name_(name), label_("tensor " + quote_for_message(name)) {}

  Entry read(const json &value, uint64_t data_size) const {
    if (name_.empty()) fail_input(path_, "tensor with an empty name");
    if (name_.find('\0') != std::string::npos) fail("name contains a NUL character");
    if (!value.is_object()) fail("entry is " + describe(value) + ", not an object");
    for (const auto &member : value.items()) {
      const std::string &key = member.key();
      if (key != "dtype" && key != "shape" && key != "data_offsets") {
        fail("unknown field " + quote_for_message(key) +
             " (allowed: \"dtype\", \"shape\", \"data_offsets\")");
      }
    }

    Entry entry;
    entry.tensor.name = name_;
    const json &dtype = field(value, "dtype");
    if (!dtype.is_string()) fail("dtype is " + describe(dtype) + ", not a string");
    const std::string &dtype_text = dtype.get_ref<const std::string &>();
    const std::optional<DType> parsed = dtype_from_safetensors(dtype_text);
    if (!parsed) fail("unknown dtype " + quote_for_message(dtype_text));
    entry.tensor.dtype = *parsed;
    entry.tensor.shape = read_shape(field(value, "shape"));
    read_offsets(field(value, "data_offsets"), entry);

    const uint64_t needed = needed_bytes(entry.tensor, dtype_text);
    const uint64_t held = entry.end - entry.begin;
    if (held != needed) {
      fail("data_offsets " + range_text(entry.begin, entry.end) + " hold " + std::to_string(held) +
           " bytes but shape " + shape_text(entry.tensor.shape) + " of " + dtype_text + " needs " +
           std::to_string(needed));
    }
    if (entry.end > data_size) {
      fail("data_offsets " + range_text(entry.begin, entry.end) +
           " run past the end of the file (the data section holds " + std::to_string(data_size) +
           " bytes)");
    }
    return entry;
  }

 private:
  [[noreturn]] void fail(const std::string &problem) const {
    fail_input(path_, label_ + ": " + problem);
  }

  const json &field(const json &entry, const char *key) const {
    const auto found = entry.find(key);
    if (found == entry.end()) fail(std::string("missing field \"") + key + "\"");
    return *found;
  }

  std::vector<uint64_t> read_shape(const json &shape) const {
    if (!shape.is_array()) fail("shape is " + describe(shape) + ", not an array");
    if (shape.size() > SPK_MAX_RANK) {
      fail("shape has " + std::to_string(shape.size()) +
           " dimensions; statepack supports at most " + std::to_string(SPK_MAX_RANK));
    }
    std::vector<uint64_t> dims;
    for (size_t i = 0; i < shape.size(); ++i) {
      const json &dim = shape[i];
      if (!dim.is_number_unsigned()) {
        fail("shape[" + std::to_string(i) + "] is " + describe(dim) +
             "; dimensions must be integers from 0 to 2^64-1");
      }
      dims.push_back(dim.get<uint64_t>());
    }
    return dims;
  }

  void read_offsets(const json &offsets, Entry &entry) const {
    if (!offsets.is_array()) {
      fail("data_offsets is " + describe(offsets) + ", not an array [begin, end]");
    }
    if (offsets.size() != 2) {
      fail("data_offsets has " + std::to_string(offsets.size()) +
           " entries; it must be [begin, end]");
    }
    for (size_t i = 0; i < 2; ++i) {
      if (!offsets[i].is_number_unsigned()) {
        fail("data_offsets[" + std::to_string(i) + "] is " + describe(offsets[i]) +
             "; offsets must be integers from 0 to 2^64-1");
      }
    }
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    if (entry.begin > entry.end) {
      fail("data_offsets " + range_text(entry.begin, entry.end) + " end before they begin");
    }
  }

  // shape x dtype in bytes, refusing overflow and sub-byte remainders (an odd number of F4s).
  uint64_t needed_bytes(const Tensor &tensor, const std::string &dtype_text) const {
    uint64_t count = 1;
    for (uint64_t dim : tensor.shape) {
      if (__builtin_mul_overflow(count, dim, &count)) {
        fail("shape " + shape_text(tensor.shape) + " has more than 2^64-1 elements");
      }
    }
    uint64_t bits = 0;
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dtype_bits(tensor.dtype)), &bits)) {
      fail("shape " + shape_text(tensor.shape) + " of " + dtype_text +
           " needs more than 2^64-1 bits");
    }
    if (bits % 8 != 0) {
      fail("shape " + shape_text(tensor.shape) + " of " + dtype_text + " is " +
           std::to_string(bits) + " bits, not a whole number of bytes");
    }
    return bits / 8;
  }

  const std::string &path_;
  const std::string &name_;
  std::string label_;
};

void read_metadata(const std::string &path, const json &value, Checkpoint &checkpoint) {
  if (!value.is_object()) {
    fail_input(path, "__metadata__ is " + describe(value) + ", not an object of strings");
  }
  for (const auto &item : value.items()) {
    if (!item.value().is_string()) {
      fail_input(path, "__metadata__ entry " + quote_for_message(item.key()) + " is " +
                           describe(item.value()) + ", not a string");
    }
    checkpoint.metadata[item.key()] =
        MetaValue::of_string(item.value().get_ref<const std::string &>());
  }
}

// Every byte of the data section must belong to exactly one tensor, in offset order.
void check_layout(const std::string &path, const std::vector<Entry> &entries, uint64_t data_size) {
  uint64_t covered = 0;
  const Entry *previous = nullptr;
  for (const Entry &entry : entries) {
    const std::string label = "tensor " + quote_for_message(entry.tensor.name);
    const std::string range = range_text(entry.begin, entry.end);
    if (entry.begin > covered) {
      const std::string unused = "bytes " + range_text(covered, entry.begin) + " unused";
      if (previous == nullptr) {
        fail_input(path, label + ": data_offsets " + range + " leave " + unused +
                             " (the first tensor must start at 0)");
      }
      fail_input(path, label + ": data_offsets " + range + " leave " + unused + " after tensor " +
                           quote_for_message(previous->tensor.name));
    }
    if (entry.begin < covered) {
      fail_input(path, label + ": data_offsets " + range + " overlap tensor " +
                           quote_for_message(previous->tensor.name) + " at " +
                           range_text(previous->begin, previous->end));
    }
    covered = entry.end;
    previous = &entry;
  }
  if (covered != data_size) {
    fail_input(path, "the data section holds " + std::to_string(data_size) +
                         " bytes but the tensors cover only " + std::to_string(covered) +
                         "; the rest belongs to no tensor");
  }
}

}  // namespace

bool looks_like_safetensors(const uint8_t *data, uint64_t size) {
  if (data == nullptr || size <= kLengthFieldSize) return false;
  const uint64_t header_size = load_le64(data);
  // A header that runs past the end still counts: the reader then says precisely what is wrong.
  return header_size >= 2 && header_size <= kSafetensorsMaxHeaderSize &&
         data[kLengthFieldSize] == '{';
}

Checkpoint read_safetensors(const std::string &path) {
  const std::shared_ptr<const MappedFile> file = MappedFile::open(path);
  const uint8_t *bytes = file->data();
  const uint64_t size = file->size();

  if (size < kLengthFieldSize) {
    fail_input(path, "file is " + std::to_string(size) +
                         " bytes, too short for the 8-byte header length of safetensors");
  }
  const uint64_t header_size = load_le64(bytes);
  if (header_size > kSafetensorsMaxHeaderSize) {
    fail_input(path, "header length " + std::to_string(header_size) +
                         " exceeds the safetensors limit of " +
                         std::to_string(kSafetensorsMaxHeaderSize) + " bytes");
  }
  if (header_size > size - kLengthFieldSize) {
    fail_input(path,
               "header length " + std::to_string(header_size) + " runs past the end of the file (" +
                   std::to_string(size - kLengthFieldSize) + " bytes follow the length field)");
  }
  if (header_size == 0) fail_input(path, "header is empty (length 0)");
  if (bytes[kLengthFieldSize] != '{') fail_input(path, "header does not start with '{'");

  const std::string_view text(reinterpret_cast<const char *>(bytes + kLengthFieldSize),
                              static_cast<size_t>(header_size));
  const json header = parse_strict_json(text, path, "JSON header", kLengthFieldSize);
  if (!header.is_object()) fail_input(path, "header is not a JSON object");

  const uint64_t data_start = kLengthFieldSize + header_size;
  const uint64_t data_size = size - data_start;
  Checkpoint checkpoint;
  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto &item : header.items()) {
    if (item.key() == kMetadataKey) {
      read_metadata(path, item.value(), checkpoint);
      continue;
    }
    entries.push_back(EntryReader(path, item.key()).read(item.value(), data_size));
  }

  // Name breaks ties between empty tensors at the same offset, so the order is deterministic.
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return std::tie(a.begin, a.end, a.tensor.name) < std::tie(b.begin, b.end, b.tensor.name);
  });
  check_layout(path, entries, data_size);

  checkpoint.tensors.reserve(entries.size());
  for (Entry &entry : entries) {
    Tensor &tensor = entry.tensor;
    tensor.owner = file;
    tensor.data = bytes + data_start + entry.begin;
    tensor.size = entry.end - entry.begin;
    checkpoint.tensors.push_back(std::move(tensor));
  }
  return checkpoint;
}

}  // namespace statepack
