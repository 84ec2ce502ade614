// SPDX-License-Identifier: Apache-2.0
// select_subtree (tools/src/formats/checkpoint_select.cpp), the `--select` of `statepack pack`:
// keeps the tensors and metadata under a dotted key with the key stripped from their names, matches
// whole name components only, and refuses a key with nothing under it by listing the top-level
// keys.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/checkpoint_select.hpp"
#include "support/sample_checkpoint.hpp"

using statepack::Checkpoint;
using statepack::DType;
using statepack::ErrorKind;
using statepack::MetaValue;
using statepack::select_subtree;
using statepack::test::owned_tensor;

namespace {

// A training checkpoint, flattened: model weights, optimizer state, a tensor whose name only
// starts like "model", and scalars at every level.
Checkpoint training_checkpoint() {
  Checkpoint c;
  c.tensors.push_back(
      owned_tensor("model.encoder.weight", DType::kF32, {2}, {1, 2, 3, 4, 5, 6, 7, 8}));
  c.tensors.push_back(owned_tensor("model.encoder.bias", DType::kF32, {1}, {9, 9, 9, 9}));
  c.tensors.push_back(owned_tensor("model.head", DType::kI8, {3}, {1, 2, 3}));
  c.tensors.push_back(owned_tensor("models_backup.head", DType::kI8, {1}, {4}));
  c.tensors.push_back(owned_tensor("optimizer.state.0.exp_avg", DType::kF32, {1}, {0, 0, 0, 0}));
  c.tensors.push_back(owned_tensor("model", DType::kU8, {1}, {5}));
  c.metadata["epoch"] = MetaValue::of_int(3);
  c.metadata["model.encoder.layers"] = MetaValue::of_int(2);
  c.metadata["optimizer.param_groups.0.lr"] = MetaValue::of_float(0.001);
  return c;
}

std::vector<std::string> names(const Checkpoint &c) {
  std::vector<std::string> out;
  for (const auto &t : c.tensors) out.push_back(t.name);
  return out;
}

}  // namespace

TEST_CASE("select_subtree keeps what is under the key, with the key stripped") {
  const Checkpoint selected = select_subtree(training_checkpoint(), "model", "ckpt.pt");
  // "models_backup.head" only starts with the same letters; "model" itself has nothing below.
  CHECK(names(selected) == std::vector<std::string>{"encoder.weight", "encoder.bias", "head"});
  CHECK(selected.tensors[0].size == 8);
  CHECK(selected.tensors[0].data[7] == 8);  // the bytes travel with the tensor
  CHECK(selected.tensors[2].dtype == DType::kI8);
  REQUIRE(selected.metadata.size() == 1);
  CHECK(selected.metadata.at("encoder.layers").int_value == 2);
}

TEST_CASE("select_subtree takes dotted keys deeper than the top level") {
  const Checkpoint selected = select_subtree(training_checkpoint(), "model.encoder", "ckpt.pt");
  CHECK(names(selected) == std::vector<std::string>{"weight", "bias"});
  CHECK(selected.metadata.size() == 1);
  CHECK(selected.metadata.count("layers") == 1);
  const Checkpoint optimizer = select_subtree(training_checkpoint(), "optimizer", "ckpt.pt");
  CHECK(names(optimizer) == std::vector<std::string>{"state.0.exp_avg"});
  CHECK(optimizer.metadata.count("param_groups.0.lr") == 1);
}

TEST_CASE("select_subtree refuses a key with no tensors under it, listing the top-level keys") {
  for (const std::string key : {"nosuch", "mod", "model.encoder.weight", "epoch"}) {
    CAPTURE(key);
    try {
      select_subtree(training_checkpoint(), key, "ckpt.pt");
      FAIL_CHECK("accepted");
    } catch (const statepack::Error &error) {
      CHECK(error.kind() == ErrorKind::kUsage);
      CHECK(std::string(error.what()) ==
            "--select " + key + ": ckpt.pt has no tensors under \"" + key +
                "\"; its top-level keys are: epoch, model, models_backup, optimizer");
    }
  }
  CHECK_THROWS_WITH_AS(select_subtree(training_checkpoint(), "", "ckpt.pt"),
                       "--select needs a key, e.g. --select model", statepack::Error);
}
