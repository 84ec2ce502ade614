// SPDX-License-Identifier: Apache-2.0
// What `statepack inspect` prints for an input checkpoint: the table (summary, one row per tensor
// in file order, metadata by key) and the JSON document, with hostile tensor names and keys
// escaped so they cannot move the terminal's cursor, break a row or make the JSON invalid.
#include <doctest/doctest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "statepack/tools/report/checkpoint_inspect.hpp"
#include "statepack/tools/text/text_cell.hpp"
#include "support/sample_checkpoint.hpp"
#include "support/text_lines.hpp"

namespace {

using statepack::Checkpoint;
using statepack::DType;
using statepack::MetaValue;
using statepack::test::lines_of;
using statepack::test::owned_tensor;

Checkpoint small_checkpoint() {
  Checkpoint c;
  c.tensors.push_back(owned_tensor("w", DType::kF32, {2, 3}, std::vector<uint8_t>(24)));
  c.tensors.push_back(owned_tensor("bias", DType::kBF16, {3}, std::vector<uint8_t>(6)));
  c.tensors.push_back(owned_tensor("step", DType::kI64, {}, std::vector<uint8_t>(8)));
  c.metadata["epoch"] = MetaValue::of_int(3);
  c.metadata["arch"] = MetaValue::of_string("tiny \"v2\"");
  return c;
}

// Hostile names: terminal escapes and a newline, bytes that are not UTF-8, a name too long for
// the column, and wide characters.
const std::string kEscapes = "evil\x1b[2J\nname";
const std::string kNotUtf8 = "bad\xff\xfe";
const std::string kLong(80, 'x');
const std::string kWide = "\xe9\x87\x8d\xe3\x81\xbf";  // 重み: 2 characters, 4 columns

Checkpoint hostile_checkpoint() {
  Checkpoint c;
  for (const std::string &name : {kEscapes, kNotUtf8, kLong, kWide, std::string("plain")}) {
    c.tensors.push_back(owned_tensor(name, DType::kU8, {1}, {0}));
  }
  c.metadata["key\x07\nbell"] = MetaValue::of_string("value\x1b[0m\xff");
  return c;
}

}  // namespace

TEST_CASE("checkpoint table: summary, rows in file order, metadata by key") {
  const std::string table =
      statepack::describe_checkpoint_table("model.safetensors", "safetensors", small_checkpoint());
  const std::vector<std::string> expected = {
      "model.safetensors: safetensors, 3 tensors, 38 bytes of tensor data",
      "",
      "name  dtype    shape                         bytes",
      "w     F32      [2, 3]                           24",
      "bias  BF16     [3]                               6",
      "step  I64      []                                8",
      "",
      "metadata",
      "  arch = \"tiny \\\"v2\\\"\"",
      "  epoch = 3",
  };
  CHECK(lines_of(table) == expected);
  CHECK(table.back() == '\n');
}

TEST_CASE("checkpoint table of the sample checkpoint: widths follow the longest name") {
  const Checkpoint c = statepack::test::sample_checkpoint();
  const std::vector<std::string> lines =
      lines_of(statepack::describe_checkpoint_table("m.pt", "torch zip", c));
  REQUIRE(lines.size() == 3 + c.tensors.size() + 2 + c.metadata.size());
  CHECK(lines[0] == "m.pt: torch zip, 9 tensors, 89 bytes of tensor data");
  CHECK(lines[2].rfind("name          dtype    shape", 0) == 0);  // "layer.weight" is 12 wide
  CHECK(lines[3] == "layer.weight  F32      [3, 4]                           48");
  CHECK(lines[7] == "steps         I64      []                                8");
  CHECK(lines[8] == "empty         F32      [0, 5]                            0");
  CHECK(lines[11] == "fp8           F8_E4M3  [2]                               2");
  CHECK(lines[13] == "metadata");
  CHECK(lines[14] == "  arch = \"tiny\"");
  CHECK(lines[15] == "  epoch = 3");
  CHECK(lines[16] == "  finetuned = true");
  CHECK(lines[17] == "  loss = 0.125");
}

TEST_CASE("checkpoint table without metadata has no metadata section") {
  Checkpoint c = small_checkpoint();
  c.metadata.clear();
  const std::string table = statepack::describe_checkpoint_table("a", "npz", c);
  CHECK(table.find("metadata") == std::string::npos);
  CHECK(lines_of(table).size() == 6);
}

TEST_CASE("checkpoint JSON: the same facts with stable keys and typed metadata") {
  const auto doc = nlohmann::json::parse(
      statepack::describe_checkpoint_json("dir/model.npz", "npz", small_checkpoint()));
  CHECK(doc["file"] == "dir/model.npz");
  CHECK(doc["format"] == "npz");
  REQUIRE(doc["tensors"].size() == 3);
  CHECK(doc["tensors"][0] ==
        nlohmann::json{{"name", "w"}, {"dtype", "F32"}, {"shape", {2, 3}}, {"bytes", 24}});
  CHECK(doc["tensors"][1]["name"] == "bias");
  CHECK(doc["tensors"][1]["dtype"] == "BF16");
  CHECK(doc["tensors"][2]["shape"] == nlohmann::json::array());
  CHECK(doc["metadata"] == nlohmann::json{{"arch", "tiny \"v2\""}, {"epoch", 3}});
  CHECK(doc["metadata"]["epoch"].is_number_integer());

  const auto sample = nlohmann::json::parse(
      statepack::describe_checkpoint_json("m", "torch zip", statepack::test::sample_checkpoint()));
  CHECK(sample["metadata"]["loss"].get<double>() == 0.125);
  CHECK(sample["metadata"]["finetuned"] == true);
  CHECK(sample["tensors"].size() == 9);
}

TEST_CASE("checkpoint table escapes hostile names and keys and keeps its columns") {
  const std::string table =
      statepack::describe_checkpoint_table("x.safetensors", "safetensors", hostile_checkpoint());
  // No escape, bell or stray byte reaches the terminal, and every row stays one line.
  for (const char c : table) {
    CHECK(((static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) || c == '\n'));
  }
  CHECK(table.find('\xff') == std::string::npos);
  const std::vector<std::string> lines = lines_of(table);
  REQUIRE(lines.size() == 3 + 5 + 2 + 1);
  CHECK(lines[3].rfind("evil\\x1B[2J\\x0Aname ", 0) == 0);
  CHECK(lines[4].rfind("bad\\xFF\\xFE ", 0) == 0);
  CHECK(lines[5].rfind(std::string(57, 'x') + "...  U8 ", 0) == 0);  // cut to 60 columns
  CHECK(lines[6].rfind(kWide + std::string(56, ' ') + "  U8 ", 0) == 0);
  // Every row's dtype column starts 62 terminal columns in.
  for (size_t row = 3; row < 8; ++row) {
    CAPTURE(row);
    const size_t at = lines[row].find("  U8 ");
    REQUIRE(at != std::string::npos);
    CHECK(statepack::display_width(lines[row].substr(0, at)) == 60);
  }
  CHECK(lines[10] == "  key\\x07\\x0Abell = \"value\\u001b[0m\xef\xbf\xbd\"");
}

TEST_CASE("checkpoint JSON stays valid with hostile names and keys") {
  const std::string text =
      statepack::describe_checkpoint_json("x.safetensors", "safetensors", hostile_checkpoint());
  const auto doc = nlohmann::json::parse(text);  // throws if the document is not valid JSON
  REQUIRE(doc["tensors"].size() == 5);
  CHECK(doc["tensors"][0]["name"] == kEscapes);  // control characters round-trip, escaped
  CHECK(text.find("evil\\u001b[2J\\nname") != std::string::npos);
  CHECK(doc["tensors"][1]["name"] == "bad\xef\xbf\xbd\xef\xbf\xbd");  // U+FFFD for each bad byte
  CHECK(doc["tensors"][2]["name"] == kLong);                          // never cut
  CHECK(doc["tensors"][3]["name"] == kWide);
  CHECK(doc["metadata"]["key\x07\nbell"] == "value\x1b[0m\xef\xbf\xbd");
}
