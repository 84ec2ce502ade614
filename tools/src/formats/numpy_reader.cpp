// SPDX-License-Identifier: Apache-2.0
// NumPy .npy/.npz reader. The .npy header is a Python dict literal; numpy reads it with
// ast.literal_eval, we read it with a parser that knows only the few literals a plain array's
// header uses, so nothing in a file can make it do more. The array bytes follow the header and
// must be exactly what the shape and dtype call for.
#include "statepack/tools/formats/numpy_reader.hpp"

#include "numpy_dtype.hpp"
#include "numpy_header.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/core/strided_copy.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/io/spill_file.hpp"
#include "statepack/tools/io/zip_archive.hpp"
#include "statepack/tools/text/quote.hpp"

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
  const uint64_t header_size = load_le(data + kHeaderLengthOffset, length_size);
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
  const NpyHeader header = parse_npy_header(where, text, header_start);
  const NpyType type = parse_npy_type(where, header.descr);

  uint64_t count = 1;
  uint64_t needed = 0;
  for (uint64_t dim : header.shape) {
    if (__builtin_mul_overflow(count, dim, &count)) {
      fail_input(where, "shape " + tuple_text(header.shape) + " has more than 2^64-1 elements");
    }
  }
  if (__builtin_mul_overflow(count, type.item_size, &needed)) {
    fail_input(where, "shape " + tuple_text(header.shape) + " of " + npy_descr_text(header.descr) +
                          " needs more than 2^64-1 bytes");
  }
  const uint64_t data_start = header_start + header_size;
  const uint64_t held = size - data_start;
  if (held < needed) {
    fail_input(where, "the array data holds " + std::to_string(held) + " bytes but shape " +
                          tuple_text(header.shape) + " of " + npy_descr_text(header.descr) +
                          " needs " + std::to_string(needed));
  }
  if (held > needed) {
    fail_input(where, std::to_string(held - needed) + " bytes of trailing data after the array (" +
                          "shape " + tuple_text(header.shape) + " of " +
                          npy_descr_text(header.descr) + " needs " + std::to_string(needed) + ")");
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
  copy_strided(array, 0, header.shape,
               transpose ? column_major_strides(header.shape) : row_major_strides(header.shape),
               type.item_size, type.big_endian ? byte_swap_unit(type.dtype) : 1, buffer->data());
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
