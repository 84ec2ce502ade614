// SPDX-License-Identifier: Apache-2.0
// What `statepack inspect` prints for a blob: the summary, one row per tensor (dtype, shape,
// stored bytes, codec, segment, quantization and its quality) and the metadata, as a table and as
// JSON, all read back through the runtime; hostile names escaped in both.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "statepack/statepack.h"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/quant/quant_rules.hpp"
#include "statepack/tools/quant/quant_schemes.hpp"
#include "statepack/tools/report/blob_inspect.hpp"
#include "statepack/tools/text/text_cell.hpp"
#include "support/sample_checkpoint.hpp"
#include "support/temp_dir.hpp"
#include "support/text_lines.hpp"

namespace {

using statepack::BlobFile;
using statepack::BlobOptions;
using statepack::Checkpoint;
using statepack::DType;
using statepack::test::lines_of;
using statepack::test::owned_tensor;

BlobFile packed(const statepack::test::TempDir &dir, const Checkpoint &c,
                const BlobOptions &options = {}) {
  const std::string path = dir.file("model.spk");
  statepack::write_blob_file(path, c, options);
  return BlobFile::open(path);
}

spk_tensor find(const BlobFile &blob, const char *name) {
  spk_tensor t;
  REQUIRE(spk_find(&blob.blob(), name, &t) == SPK_OK);
  return t;
}

// The row of the table whose name cell starts with `name` followed by a space.
std::string row_of(const std::vector<std::string> &lines, const std::string &name) {
  for (const std::string &line : lines) {
    if (line.rfind(name + " ", 0) == 0) return line;
  }
  FAIL("no row for " << name);
  return "";
}

// The sample checkpoint plus "w" (64 x 64 weights) quantized to int8-g32 and "big", a
// compressible F32 tensor.
Checkpoint quantized_checkpoint() {
  Checkpoint c = statepack::test::sample_checkpoint();
  std::vector<float> w(64 * 64), big(64 * 256);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(static_cast<int>(i % 29) - 14);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i % 7);
  c.tensors.push_back(owned_tensor("w", DType::kF32, {64, 64}, statepack::test::f32_bytes(w)));
  c.tensors.push_back(owned_tensor("big", DType::kF32, {256, 64}, statepack::test::f32_bytes(big)));
  statepack::QuantPlan plan;
  plan.rules.push_back({"w=int8-g32", "w", *statepack::parse_scheme("int8-g32")});
  statepack::apply_quant_plan(c, plan);
  return c;
}

}  // namespace

TEST_CASE("blob table: summary lines from the runtime's view, one row per tensor, metadata") {
  const statepack::test::TempDir dir("inspect-table");
  const BlobFile blob = packed(dir, statepack::test::sample_checkpoint());
  const spk_blob &b = blob.blob();
  // Tied "embed" and "head.weight" count once: 48 + 6 + 8 + 8 + 4 + 5 + 2 bytes.
  CHECK(statepack::segment_bytes(blob) == 81);
  const std::vector<std::string> lines = lines_of(statepack::describe_blob_table(blob));
  REQUIRE(lines.size() == 5 + 9 + 2 + 4);
  CHECK(lines[0] == blob.path() + ": statepack blob, format " + std::to_string(b.format_major) +
                        "." + std::to_string(b.format_minor) + ", 9 tensors in " +
                        std::to_string(b.segment_count) + " segments, " +
                        statepack::human_bytes(static_cast<double>(b.size)));
  CHECK(lines[1] == "  checksum xxh64, alignment 64, header " +
                        statepack::human_bytes(static_cast<double>(b.header_size)) + ", overhead " +
                        std::to_string(b.size - 81) + " bytes beyond tensor data");
  // inspect reads the header only, and says so.
  CHECK(lines[2] == "  header checked; data checksums not checked (run statepack verify)");
  CHECK(lines[3].empty());  // no zstd line: nothing is compressed
  CHECK(lines[4] ==
        "name          dtype    shape                         bytes  codec       segment  quant");
  // Rows in name order; the segment column is the runtime's.
  const auto row = [&](const char *name, const std::string &cells) {
    char segment[16];
    std::snprintf(segment, sizeof(segment), "%7u", find(blob, name).segment);
    return std::string(name) + std::string(14 - std::string(name).size(), ' ') + cells +
           "  raw         " + segment + "  none";
  };
  CHECK(lines[5] == row("codes", "U8       [5]                               5"));
  CHECK(lines[7] == row("empty", "F32      [0, 5]                            0"));
  CHECK(lines[8] == row("fp8", "F8_E4M3  [2]                               2"));
  CHECK(lines[10] == row("layer.bias", "F16      [3]                               6"));
  CHECK(lines[11] == row("layer.weight", "F32      [3, 4]                           48"));
  CHECK(lines[13] == row("steps", "I64      []                                8"));
  CHECK(find(blob, "embed").segment == find(blob, "head.weight").segment);
  CHECK(lines[14].empty());
  CHECK(lines[15] == "metadata");
  CHECK(lines[16] == "  arch = \"tiny\"");
  CHECK(lines[17] == "  epoch = 3");
  CHECK(lines[18] == "  finetuned = true");
  CHECK(lines[19] == "  loss = 0.125");
}

TEST_CASE("blob table: quantized rows give the scheme and SQNR, compressed ones the ratio") {
  const statepack::test::TempDir dir("inspect-quant");
  BlobOptions options;
  options.compression.zstd = true;
  const BlobFile blob = packed(dir, quantized_checkpoint(), options);
  const spk_tensor w = find(blob, "w");
  const spk_tensor big = find(blob, "big");
  REQUIRE(w.quant.scheme == SPK_QUANT_INT8_GROUP);
  REQUIRE((big.codec == SPK_CODEC_ZSTD || big.codec == SPK_CODEC_ZSTD_ADAPTIVE));
  const std::vector<std::string> lines = lines_of(statepack::describe_blob_table(blob));
  REQUIRE(lines.size() > 4);
  CHECK(lines[3].rfind("  zstd: tensor data ", 0) == 0);
  CHECK(lines[3].find(" decoded (") != std::string::npos);
  char quality[32];
  std::snprintf(quality, sizeof(quality), "int8-g32 %.1f dB", static_cast<double>(w.quant.sqnr_db));
  const std::string w_row = row_of(lines, "w");
  CHECK(w_row.rfind(std::string("  ") + quality) == w_row.size() - std::strlen(quality) - 2);
  CHECK(w_row.find(" I8       [64, 64] ") != std::string::npos);
  char ratio[32];
  std::snprintf(
      ratio, sizeof(ratio), "%s %.1f%%", big.codec == SPK_CODEC_ZSTD ? "zstd" : "zstd-adaptive",
      100.0 * static_cast<double>(big.stored_size) / static_cast<double>(big.decoded_size));
  const std::string big_row = row_of(lines, "big");
  CHECK(big_row.find(std::string("  ") + ratio + " ") != std::string::npos);
  CHECK(big_row.find(" " + std::to_string(big.stored_size) + "  zstd") != std::string::npos);
  CHECK(big.stored_size < big.decoded_size / 2);
}

TEST_CASE("blob JSON: the same facts with stable keys") {
  const statepack::test::TempDir dir("inspect-json");
  BlobOptions options;
  options.compression.zstd = true;
  const BlobFile blob = packed(dir, quantized_checkpoint(), options);
  const auto doc = nlohmann::json::parse(statepack::describe_blob_json(blob));
  const spk_blob &b = blob.blob();
  CHECK(doc["file"] == blob.path());
  CHECK(doc["format"] == std::to_string(b.format_major) + "." + std::to_string(b.format_minor));
  CHECK(doc["checksum"] == "xxh64");
  CHECK(doc["alignment"] == 64);
  CHECK(doc["blob_size"] == blob.file_size());
  CHECK(doc["header_size"] == b.header_size);
  CHECK(doc["segment_count"] == b.segment_count);
  CHECK(doc["tensor_bytes"] == statepack::segment_bytes(blob));
  CHECK(doc["tensor_bytes"].get<uint64_t>() + doc["overhead_bytes"].get<uint64_t>() == b.size);
  REQUIRE(doc["tensors"].size() == 11);
  std::vector<std::string> names;
  for (const auto &t : doc["tensors"]) names.push_back(t["name"]);
  CHECK(names == std::vector<std::string>{"big", "codes", "embed", "empty", "fp8", "head.weight",
                                          "layer.bias", "layer.weight", "mask", "steps", "w"});
  const auto &bias = doc["tensors"][6];
  CHECK(bias["dtype"] == "F16");
  CHECK(bias["source_dtype"] == "F16");
  CHECK(bias["shape"] == nlohmann::json{3});
  CHECK(bias["stored_size"] == 6);
  CHECK(bias["decoded_size"] == 6);
  CHECK(bias["codec"] == "raw");
  CHECK(bias["filter"] == "none");
  CHECK(bias["ratio"] == 1.0);
  CHECK(bias["quantization"].is_null());
  const spk_tensor big = find(blob, "big");
  CHECK(doc["tensors"][0]["codec"] == (big.codec == SPK_CODEC_ZSTD ? "zstd" : "zstd-adaptive"));
  CHECK(doc["tensors"][0]["stored_size"] == big.stored_size);
  CHECK(doc["tensors"][0]["decoded_size"] == 64 * 256 * 4);
  CHECK(doc["tensors"][0]["ratio"].get<double>() ==
        doctest::Approx(static_cast<double>(big.stored_size) / (64 * 256 * 4)));
  CHECK(doc["tensors"][2]["segment"] == doc["tensors"][5]["segment"]);  // tied
  const spk_tensor w = find(blob, "w");
  const auto &quant = doc["tensors"][10]["quantization"];
  CHECK(doc["tensors"][10]["dtype"] == "I8");
  CHECK(doc["tensors"][10]["source_dtype"] == "F32");
  CHECK(quant["scheme"] == "int8-g32");
  CHECK(quant["group_size"] == 32);
  CHECK(quant["axis"] == w.quant.axis);
  CHECK(quant["sqnr_db"].get<double>() == static_cast<double>(w.quant.sqnr_db));
  CHECK(quant["max_abs_error"].get<double>() == static_cast<double>(w.quant.max_abs_error));
  CHECK(quant["overflow_count"] == w.quant.overflow_count);
  CHECK(doc["metadata"]["epoch"] == 3);
  CHECK(doc["metadata"]["loss"] == 0.125);
  CHECK(doc["metadata"]["finetuned"] == true);
  CHECK(doc["metadata"]["arch"] == "tiny");
}

TEST_CASE("blob table and JSON escape hostile tensor names and metadata") {
  const statepack::test::TempDir dir("inspect-hostile");
  const std::string escapes = "evil\x1b[2J\nname";
  const std::string wide = "\xe9\x87\x8d\xe3\x81\xbf";  // 重み: 4 columns
  Checkpoint c;
  c.tensors.push_back(owned_tensor(escapes, DType::kU8, {1}, {1}));
  c.tensors.push_back(owned_tensor(std::string(70, 'x'), DType::kU8, {1}, {2}));
  c.tensors.push_back(owned_tensor(wide, DType::kU8, {1}, {3}));
  c.metadata["key\x07\nbell"] = statepack::MetaValue::of_string("value\x1b[0m");
  const BlobFile blob = packed(dir, c);

  const std::string table = statepack::describe_blob_table(blob);
  for (const char ch : table) {
    CHECK(((static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f) || ch == '\n'));
  }
  const std::vector<std::string> lines = lines_of(table);
  REQUIRE(lines.size() == 5 + 3 + 3);
  CHECK(lines[5].rfind("evil\\x1B[2J\\x0Aname ", 0) == 0);
  CHECK(lines[6].rfind(std::string(57, 'x') + "...  U8 ", 0) == 0);  // cut to 60 columns
  CHECK(lines[7].rfind(wide + std::string(56, ' ') + "  U8 ", 0) == 0);
  for (size_t row = 5; row < 8; ++row) {
    CAPTURE(row);
    const size_t at = lines[row].find("  U8 ");
    REQUIRE(at != std::string::npos);
    CHECK(statepack::display_width(lines[row].substr(0, at)) == 60);
  }
  CHECK(lines[10] == "  key\\x07\\x0Abell = \"value\\u001b[0m\"");

  const std::string text = statepack::describe_blob_json(blob);
  const auto doc = nlohmann::json::parse(text);
  CHECK(doc["tensors"][0]["name"] == escapes);
  CHECK(text.find("\"evil\\u001b[2J\\nname\"") != std::string::npos);
  CHECK(doc["tensors"][1]["name"] == std::string(70, 'x'));
  CHECK(doc["tensors"][2]["name"] == wide);
  CHECK(doc["metadata"]["key\x07\nbell"] == "value\x1b[0m");
}
