// SPDX-License-Identifier: Apache-2.0
// safetensors writer: a deterministic file (tensors by name, sorted compact header) written
// through AtomicOutput, after checking everything that could make the result unreadable.
#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "statepack/statepack.h"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/core/little_endian.hpp"
#include "statepack/tools/formats/safetensors_writer.hpp"
#include "statepack/tools/io/atomic_output.hpp"
#include "statepack/tools/io/mapped_file.hpp"
#include "statepack/tools/text/quote.hpp"
#include "statepack/tools/text/utf8.hpp"

namespace statepack {
namespace {

using nlohmann::json;

constexpr std::string_view kMetadataKey = "__metadata__";

std::string shape_text(const std::vector<uint64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// Checks one tensor and returns its safetensors dtype name.
std::string_view check_tensor(const std::string &path, const Tensor &tensor) {
  if (tensor.name.empty()) fail_output(path, "cannot write a tensor with an empty name");
  const std::string label = "tensor " + quote_for_message(tensor.name);
  const auto fail = [&](const std::string &problem) { fail_output(path, label + ": " + problem); };

  if (find_invalid_utf8(tensor.name)) fail("name is not valid UTF-8");
  if (tensor.name == kMetadataKey) fail("name is reserved for the metadata in safetensors");
  const std::string_view dtype_text = dtype_to_safetensors(tensor.dtype);
  if (dtype_text.empty()) {
    fail("safetensors has no dtype for " + std::string(dtype_name(tensor.dtype)));
  }
  // What we write, we must be able to read back.
  if (tensor.shape.size() > SPK_MAX_RANK) {
    fail("shape has " + std::to_string(tensor.shape.size()) +
         " dimensions; statepack supports at most " + std::to_string(SPK_MAX_RANK));
  }
  uint64_t count = 1;
  for (uint64_t dim : tensor.shape) {
    if (__builtin_mul_overflow(count, dim, &count)) {
      fail("shape " + shape_text(tensor.shape) + " has more than 2^64-1 elements");
    }
  }
  const std::optional<uint64_t> needed = byte_size(tensor.dtype, count);
  if (!needed) {
    fail("shape " + shape_text(tensor.shape) + " of " + std::string(dtype_text) +
         " is not a whole number of bytes below 2^64");
  }
  if (tensor.size != *needed) {
    fail("holds " + std::to_string(tensor.size) + " bytes but shape " + shape_text(tensor.shape) +
         " of " + std::string(dtype_text) + " needs " + std::to_string(*needed));
  }
  if (tensor.size != 0 && tensor.data == nullptr && !tensor.load) fail("has no data");
  return dtype_text;
}

// The header text: compact JSON, keys sorted (nlohmann's objects are std::maps), padded with
// spaces so the data starts 8-byte aligned, as the reference writer does.
std::string build_header(const std::string &path, const Checkpoint &checkpoint,
                         const std::vector<const Tensor *> &tensors) {
  json header = json::object();
  uint64_t offset = 0;
  for (const Tensor *tensor : tensors) {
    const std::string_view dtype_text = check_tensor(path, *tensor);
    uint64_t end = 0;
    if (__builtin_add_overflow(offset, tensor->size, &end)) {
      fail_output(path, "tensors hold more than 2^64-1 bytes in total");
    }
    header[tensor->name] = json{{"dtype", dtype_text},
                                {"shape", tensor->shape},
                                {"data_offsets", json::array({offset, end})}};
    offset = end;
  }
  if (!checkpoint.metadata.empty()) {
    json metadata = json::object();
    for (const auto &[key, value] : checkpoint.metadata) {
      std::string text = value.to_text();
      if (find_invalid_utf8(key) || find_invalid_utf8(text)) {
        fail_output(path, "metadata entry " + quote_for_message(key) + " is not valid UTF-8");
      }
      metadata[key] = std::move(text);
    }
    header[std::string(kMetadataKey)] = std::move(metadata);
  }

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kSafetensorsMaxHeaderSize) {
    fail_output(path, "header would be " + std::to_string(text.size()) +
                          " bytes, over the safetensors limit of " +
                          std::to_string(kSafetensorsMaxHeaderSize));
  }
  return text;
}

// Writes one tensor's bytes: decoded now if it has a `load` (and freed once written), in
// slices whose pages are dropped once written if it is a view into a mapped file (a blob being
// unpacked), so that writing a model leaves neither in memory. A slice at a time also lets one
// huge tensor move the progress (`written` of `total` bytes).
void write_tensor(const std::string &path, AtomicOutput &output, const Tensor &tensor,
                  const ProgressCallback &progress, uint64_t &written, uint64_t total) {
  LoadedBytes loaded{tensor.data, nullptr};
  if (tensor.load) loaded = tensor.load();
  if (loaded.data == nullptr)
    fail_output(path, "tensor " + quote_for_message(tensor.name) + " has no data");
  constexpr uint64_t kSlice = uint64_t{8} << 20;
  for (uint64_t done = 0; done < tensor.size; done += kSlice) {
    const uint64_t n = std::min(kSlice, tensor.size - done);
    output.write(loaded.data + done, static_cast<size_t>(n));
    MappedFile::release(loaded.data + done, n);
    written += n;
    if (progress) progress(written, total);
  }
}

}  // namespace

void write_safetensors(const std::string &path, const Checkpoint &checkpoint,
                       const ProgressCallback &progress) {
  std::vector<const Tensor *> tensors;
  tensors.reserve(checkpoint.tensors.size());
  for (const Tensor &tensor : checkpoint.tensors) tensors.push_back(&tensor);
  std::sort(tensors.begin(), tensors.end(),
            [](const Tensor *a, const Tensor *b) { return a->name < b->name; });
  for (size_t i = 1; i < tensors.size(); ++i) {
    if (tensors[i]->name == tensors[i - 1]->name) {
      fail_output(path, "two tensors are named " + quote_for_message(tensors[i]->name));
    }
  }

  // Everything is checked before the output exists, so a refusal leaves no file behind.
  const std::string header = build_header(path, checkpoint, tensors);
  uint8_t length[8];
  store_le64(length, header.size());

  AtomicOutput output(path, OutputAccess::kSequential);
  output.write(length, sizeof(length));
  output.write(header.data(), header.size());
  uint64_t total = 0;
  for (const Tensor *tensor : tensors) total += tensor->size;
  uint64_t done = 0;
  for (const Tensor *tensor : tensors) {
    if (tensor->size != 0) write_tensor(path, output, *tensor, progress, done, total);
  }
  output.commit();
}

}  // namespace statepack
