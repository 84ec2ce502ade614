// SPDX-License-Identifier: Apache-2.0
// The pack pipeline the CLI and the Python module share: options parsed with the CLI's usage
// errors before anything is read, typed metadata given directly, reports through the hooks in
// the order `pack` prints them, stages always ended, and dequantized_f32 / stored_bytes (what
// the Python module reads tensors with).
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_unpack.hpp"
#include "statepack/tools/blob/pack_pipeline.hpp"
#include "statepack/tools/core/error.hpp"
#include "support/sample_checkpoint.hpp"
#include "support/temp_dir.hpp"

namespace {

using statepack::Error;
using statepack::ErrorKind;
using statepack::PackSettings;

// The usage Error's message for `settings`, or "" if they parse.
std::string usage_problem(const PackSettings &settings) {
  try {
    statepack::parse_pack_settings(settings, {}, "out.spk");
  } catch (const Error &e) {
    CHECK(e.kind() == ErrorKind::kUsage);
    return e.what();
  }
  return "";
}

statepack::Checkpoint weights() {
  statepack::Checkpoint c;
  std::vector<uint8_t> bytes(64 * 64 * 4);
  for (size_t i = 0; i < 64 * 64; ++i) {
    const float v = static_cast<float>(static_cast<int>(i * 7919 % 201) - 100) / 37.0f;
    std::memcpy(bytes.data() + 4 * i, &v, 4);
  }
  c.tensors.push_back(statepack::test::owned_tensor("w", statepack::DType::kF32, {64, 64}, bytes));
  return c;
}

}  // namespace

TEST_CASE("pack settings: the CLI's usage errors") {
  PackSettings s;
  CHECK(usage_problem(s).empty());
  s.quant = "auto";
  CHECK(usage_problem(s) == "--quant auto needs --bpw BITS");
  s = {};
  s.bpw = 4;
  CHECK(usage_problem(s) == "--bpw applies only to --quant auto");
  s = {};
  s.sensitivity_values = std::map<std::string, double>{{"w", 1.0}};
  CHECK(usage_problem(s) == "--sensitivity applies only to --quant auto");
  s = {};
  s.compress = "lz4";
  CHECK(usage_problem(s).find("--compress must be") == 0);
  s = {};
  s.meta_values["statepack.x"] = statepack::MetaValue::of_int(1);
  CHECK(usage_problem(s) == "--meta keys starting with \"statepack.\" are reserved");
  s = {};
  s.quant = "auto";
  s.bpw = 5;
  s.sensitivity_file = "s.json";
  s.sensitivity_values = std::map<std::string, double>{{"w", 1.0}};
  CHECK(usage_problem(s) == "give sensitivities as a file or as values, not both");
}

TEST_CASE("pack_checkpoint: reports through the hooks, metadata, stages balanced") {
  statepack::test::TempDir dir;
  const std::string path = dir.file("m.spk");
  PackSettings settings;
  settings.quant = "int8";
  settings.rules = {"nothing.*=keep"};
  settings.meta_values["epoch"] = statepack::MetaValue::of_int(3);
  const auto parsed = statepack::parse_pack_settings(settings, {}, path);
  std::vector<std::string> events;
  int open_stages = 0;
  statepack::PackHooks hooks;
  hooks.report = [&](const std::string &text) {
    (void)text;
    events.push_back("report:");
  };
  hooks.warning = [&](const std::string &line) { events.push_back("warning:" + line); };
  hooks.stage_begin = [&](const char *stage) -> statepack::ProgressCallback {
    ++open_stages;
    events.push_back(std::string("stage:") + stage);
    return {};
  };
  hooks.stage_end = [&] { --open_stages; };
  statepack::Checkpoint c = weights();
  const statepack::PackOutcome outcome = statepack::pack_checkpoint(c, parsed, {}, path, hooks);
  CHECK(open_stages == 0);
  REQUIRE(outcome.quant.rows.size() == 1);
  CHECK(outcome.quant.rows[0].scheme == "int8");
  CHECK(outcome.tensor_count == 1);
  const std::vector<std::string> expected = {
      "stage:quantizing", "report:", "warning:--rule nothing.*=keep matched no tensor",
      "stage:writing"};
  CHECK(events == expected);
  const statepack::BlobFile blob = statepack::BlobFile::open(path);
  CHECK(outcome.written == blob.file_size());
  CHECK(blob.metadata().at("epoch").int_value == 3);

  // The runtime's decode of the stored tensor, and its stored bytes (int8 levels).
  spk_tensor t{};
  REQUIRE(spk_find(&blob.blob(), "w", &t) == SPK_OK);
  const statepack::LoadedBytes values = statepack::dequantized_f32(blob, t);
  std::vector<float> expected_values(64 * 64);
  REQUIRE(spk_dequantize(&t, expected_values.data(), expected_values.size()) == SPK_OK);
  CHECK(std::memcmp(values.data, expected_values.data(), 64 * 64 * 4) == 0);
  const statepack::LoadedBytes stored = statepack::stored_bytes(blob, t);
  CHECK(stored.data == static_cast<const uint8_t *>(t.data));
  CHECK(stored.owner == blob.mapping());
}

TEST_CASE("pack_checkpoint: --min-sqnr fails with nothing written and every stage ended") {
  statepack::test::TempDir dir;
  const std::string path = dir.file("m.spk");
  PackSettings settings;
  settings.quant = "int4-g128";
  settings.min_sqnr = 80;
  const auto parsed = statepack::parse_pack_settings(settings, {}, path);
  int open_stages = 0;
  statepack::PackHooks hooks;
  hooks.stage_begin = [&](const char *) -> statepack::ProgressCallback {
    ++open_stages;
    return {};
  };
  hooks.stage_end = [&] { --open_stages; };
  statepack::Checkpoint c = weights();
  CHECK_THROWS_AS(statepack::pack_checkpoint(c, parsed, {}, path, hooks), Error);
  CHECK(open_stages == 0);
  std::ifstream written(path);
  CHECK(!written.good());
}
