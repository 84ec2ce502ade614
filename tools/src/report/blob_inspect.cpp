// SPDX-License-Identifier: Apache-2.0
// Rendering of a blob's contents as a table or JSON; all facts come from the runtime's view.
#include "statepack/tools/report/blob_inspect.hpp"

#include "statepack/format.h"
#include "statepack/tools/blob/blob_seal.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/text/text_cell.hpp"

namespace statepack {
namespace {

std::string shape_text(const spk_tensor &t) {
  std::string s = "[";
  for (uint32_t d = 0; d < t.rank; ++d) s += (d ? ", " : "") + std::to_string(t.shape[d]);
  return s + "]";
}

const char *codec_name(spk_codec c) {
  switch (c) {
    case SPK_CODEC_RAW:
      return "raw";
    case SPK_CODEC_ZSTD:
      return "zstd";
    case SPK_CODEC_ZSTD_ADAPTIVE:
      return "zstd-adaptive";
  }
  return "unknown";
}

const char *filter_name(spk_filter f) {
  switch (f) {
    case SPK_FILTER_NONE:
      return "none";
    case SPK_FILTER_BYTE_GROUP:
      return "byte-group";
    case SPK_FILTER_BYTE_GROUP_ROTATE:
      return "byte-group-rotate";
  }
  return "unknown";
}

// "raw", or "zstd 67.3%" (stored size as a share of the decoded size).
std::string codec_text(const spk_tensor &t) {
  if (t.codec == SPK_CODEC_RAW || t.decoded_size == 0)
    return codec_name(static_cast<spk_codec>(t.codec));
  char text[32];
  std::snprintf(text, sizeof(text), "%s %.1f%%", codec_name(static_cast<spk_codec>(t.codec)),
                100.0 * static_cast<double>(t.stored_size) / static_cast<double>(t.decoded_size));
  return text;
}

// The CLI's name for a tensor's scheme ("int4-g32-asym"), from the runtime's view.
std::string scheme_name(const spk_quant &q) {
  const std::string group = "-g" + std::to_string(q.group_size);
  switch (q.scheme) {
    case SPK_QUANT_NONE:
      return "none";
    case SPK_QUANT_INT8_CHANNEL:
      return q.axis == -1 ? "int8 (per tensor)" : "int8";
    case SPK_QUANT_INT8_TENSOR:
      return "int8-tensor";
    case SPK_QUANT_INT8_ASYM:
      return "int8-asym";
    case SPK_QUANT_INT8_GROUP:
      return "int8" + group;
    case SPK_QUANT_INT4_GROUP:
      return "int4" + group;
    case SPK_QUANT_INT4_GROUP_ASYM:
      return "int4" + group + "-asym";
    case SPK_QUANT_INT4_K:
      return "int4-k";
    case SPK_QUANT_PALETTE:
      return "palette " + std::to_string(q.group_size) + " values";
    case SPK_QUANT_F16_CAST:
      return "f16";
    case SPK_QUANT_BF16_CAST:
      return "bf16";
  }
  return "unknown";
}

// Whether the packer stored `t` as a lossless grid (statepack.fbs, Quantization.lossless).
bool lossless_grid(const BlobFile &f, const spk_tensor &t) {
  uint8_t lossless = 0;
  check_status(f.path(), spk_quant_lossless(&f.blob(), &t, &lossless));
  return lossless != 0;
}

}  // namespace

uint64_t segment_bytes(const BlobFile &blob) {
  // Each segment counted once: tied tensors share their data segment.
  std::map<uint32_t, uint64_t> sizes;
  for (const spk_tensor &t : blob.tensors()) {
    sizes[t.segment] = t.stored_size;
    const spk_quant &q = t.quant;
    if (q.scale_segment != SPK_NO_SEGMENT) {
      sizes[q.scale_segment] =
          q.scale_count * spk_dtype_bits(static_cast<spk_dtype>(q.scale_dtype)) / 8;
    }
    if (q.zero_point_segment != SPK_NO_SEGMENT) {
      sizes[q.zero_point_segment] =
          (q.zero_point_count * spk_dtype_bits(static_cast<spk_dtype>(q.zero_point_dtype)) + 7) / 8;
    }
  }
  uint64_t total = 0;
  for (const auto &entry : sizes) total += entry.second;
  return total;
}

std::string describe_blob_table(const BlobFile &f) {
  const spk_blob &b = f.blob();
  const auto tensors = f.tensors();
  const uint64_t data = segment_bytes(f);
  std::ostringstream out;
  out << f.path() << ": statepack blob, format " << b.format_major << "." << b.format_minor << ", "
      << tensors.size() << " tensors in " << b.segment_count << " segments, "
      << human_bytes(static_cast<double>(b.size)) << "\n";
  out << "  checksum " << checksum_name(static_cast<ChecksumAlgo>(b.checksum)) << ", alignment "
      << b.alignment << ", header " << human_bytes(static_cast<double>(f.blob().header_size))
      << ", overhead " << (b.size - data) << " bytes beyond tensor data\n";
  const std::optional<DigestBlock> block = read_digest_block(f);
  if (block) {
    out << "  digests sha256 (header and every segment), "
        << (block->signature_algo == SPK_SIGNATURE_ED25519
                ? "signed ed25519, key id " + hex_bytes(block->key_id.data(), block->key_id.size())
                : std::string("unsigned"))
        << "\n";
  }
  // inspect reads the header only (fast on any size); the data's checksums need every byte.
  out << "  header checked; data checksums not checked (run statepack verify)\n";
  // Compressed blobs: what the tensor data would take raw (each segment counted once).
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> stored_decoded;
  bool compressed = false;
  for (const spk_tensor &t : tensors) {
    stored_decoded[t.segment] = {t.stored_size, t.decoded_size};
    compressed = compressed || t.codec != SPK_CODEC_RAW;
  }
  if (compressed) {
    uint64_t stored = 0, decoded = 0;
    for (const auto &entry : stored_decoded) {
      stored += entry.second.first;
      decoded += entry.second.second;
    }
    char line[160];
    std::snprintf(
        line, sizeof(line), "  zstd: tensor data %s stored for %s decoded (%.1f%%)\n",
        human_bytes(static_cast<double>(stored)).c_str(),
        human_bytes(static_cast<double>(decoded)).c_str(),
        decoded == 0 ? 100.0 : 100.0 * static_cast<double>(stored) / static_cast<double>(decoded));
    out << line;
  }
  out << "\n";

  size_t name_width = 4;
  for (const spk_tensor &t : tensors) {
    name_width = std::max(name_width,
                          display_width(printable_text(std::string_view(t.name, t.name_length))));
  }
  name_width = std::min<size_t>(name_width, 60);
  char line[512];
  std::snprintf(line, sizeof(line), "%s  %-8s %-22s %12s  %-11s %7s  %s\n",
                text_cell("name", name_width).c_str(), "dtype", "shape", "bytes", "codec",
                "segment", "quant");
  out << line;
  for (const spk_tensor &t : tensors) {
    const std::string name = text_cell(std::string_view(t.name, t.name_length), name_width);
    std::string quant = scheme_name(t.quant);
    if (t.quant.scheme != SPK_QUANT_NONE) {
      char q[64];
      std::snprintf(q, sizeof(q), " %.1f dB", static_cast<double>(t.quant.sqnr_db));
      const char *exact =
          t.quant.scheme == SPK_QUANT_PALETTE ? " (exact)" : " lossless grid (exact)";
      quant += lossless_grid(f, t) ? exact : q;
    }
    std::snprintf(line, sizeof(line), "%s  %-8s %-22s %12llu  %-11s %7u  %s\n", name.c_str(),
                  spk_dtype_name(static_cast<spk_dtype>(t.dtype)), shape_text(t).c_str(),
                  static_cast<unsigned long long>(t.stored_size), codec_text(t).c_str(), t.segment,
                  quant.c_str());
    out << line;
  }
  const auto metadata = f.metadata();
  if (!metadata.empty()) {
    out << "\nmetadata\n";
    for (const auto &[key, value] : metadata) {
      out << "  " << printable_text(key) << " = ";
      if (value.kind == MetaValue::Kind::kString) {
        out << nlohmann::json(value.string_value)
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      } else {
        out << value.to_text();
      }
      out << "\n";
    }
  }
  return out.str();
}

std::string describe_blob_json(const BlobFile &f) {
  using nlohmann::json;
  const spk_blob &b = f.blob();
  json doc;
  doc["file"] = f.path();
  doc["format"] = std::to_string(b.format_major) + "." + std::to_string(b.format_minor);
  doc["checksum"] = checksum_name(static_cast<ChecksumAlgo>(b.checksum));
  const std::optional<DigestBlock> block = read_digest_block(f);
  const bool signed_blob = block && block->signature_algo == SPK_SIGNATURE_ED25519;
  doc["digest"] = block ? json("sha256") : json(nullptr);
  doc["signature"] = signed_blob ? "ed25519" : "none";
  doc["key_id"] =
      signed_blob ? json(hex_bytes(block->key_id.data(), block->key_id.size())) : json(nullptr);
  doc["alignment"] = b.alignment;
  doc["blob_size"] = b.size;
  doc["header_size"] = f.blob().header_size;
  doc["segment_count"] = b.segment_count;
  const uint64_t data = segment_bytes(f);
  doc["tensor_bytes"] = data;
  doc["overhead_bytes"] = b.size - data;
  doc["data_checksums_checked"] = false;  // the header only; `statepack verify` reads the data
  json tensors = json::array();
  for (const spk_tensor &t : f.tensors()) {
    json j;
    j["name"] = std::string(t.name, t.name_length);
    j["dtype"] = spk_dtype_name(static_cast<spk_dtype>(t.dtype));
    j["source_dtype"] = spk_dtype_name(static_cast<spk_dtype>(t.source_dtype));
    j["shape"] = std::vector<uint64_t>(t.shape, t.shape + t.rank);
    j["stored_size"] = t.stored_size;
    j["decoded_size"] = t.decoded_size;
    j["codec"] = codec_name(static_cast<spk_codec>(t.codec));
    j["filter"] = filter_name(static_cast<spk_filter>(t.filter));
    j["ratio"] = t.decoded_size == 0
                     ? 1.0
                     : static_cast<double>(t.stored_size) / static_cast<double>(t.decoded_size);
    j["segment"] = t.segment;
    if (t.quant.scheme == SPK_QUANT_NONE) {
      j["quantization"] = nullptr;
    } else {
      j["quantization"] = {
          {"scheme", scheme_name(t.quant)},         {"axis", t.quant.axis},
          {"group_size", t.quant.group_size},       {"sqnr_db", t.quant.sqnr_db},
          {"max_abs_error", t.quant.max_abs_error}, {"overflow_count", t.quant.overflow_count},
          {"lossless", lossless_grid(f, t)}};
    }
    tensors.push_back(std::move(j));
  }
  doc["tensors"] = std::move(tensors);
  json metadata = json::object();
  for (const auto &[key, value] : f.metadata()) {
    switch (value.kind) {
      case MetaValue::Kind::kString:
        metadata[key] = value.string_value;
        break;
      case MetaValue::Kind::kInt:
        metadata[key] = value.int_value;
        break;
      case MetaValue::Kind::kFloat:
        metadata[key] = value.float_value;
        break;
      case MetaValue::Kind::kBool:
        metadata[key] = value.bool_value;
        break;
    }
  }
  doc["metadata"] = std::move(metadata);
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace statepack
