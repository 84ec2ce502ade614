// SPDX-License-Identifier: Apache-2.0
// What `statepack pack` does between reading its inputs and reporting on the blob: parse the
// options, quantize (by rules or --quant auto), find lossless grids, add metadata and
// provenance, write the blob. The CLI and the Python module both call it, so they pack alike.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/blob/signing_key.hpp"
#include "statepack/tools/core/progress.hpp"
#include "statepack/tools/core/tensor.hpp"
#include "statepack/tools/quant/auto_quant.hpp"
#include "statepack/tools/quant/lossless_grid_pass.hpp"
#include "statepack/tools/quant/quant_rules.hpp"

namespace statepack {

/// The pack options as the CLI spells them.
struct PackSettings {
  /// xxh64, xxh32, or either followed by "+sha256" ("sha256" alone: xxh64+sha256): format
  /// 1.1's SHA-256 digests on top of the xxHash checksums.
  std::string checksum = "xxh64";
  /// A PEM Ed25519 private key file: sign the blob (implies the SHA-256 digests).
  std::string sign_key;
  uint32_t alignment = 64;
  /// KEY[:TYPE]=VALUE entries (parse_meta_argument).
  std::vector<std::string> meta;
  /// Typed entries given directly (the Python module); applied after `meta`.
  std::map<std::string, MetaValue> meta_values;
  std::string quant;
  std::vector<std::string> rules;
  double bpw = 0;  ///< 0 = not given
  /// A sensitivity JSON file, or (when set) the values themselves; at most one of the two.
  std::string sensitivity_file;
  std::optional<std::map<std::string, double>> sensitivity_values;
  std::string compress = "none";
  std::string max_chunk;  ///< --max-chunk ("64K", "2M"); empty = the default
  std::string lossless_grids = "auto";
  unsigned threads = 0;
  double min_sqnr = -std::numeric_limits<double>::infinity();
};

/// Settings checked and parsed: every usage Error comes from parse_pack_settings, before any
/// input is read or output created.
struct ParsedPack {
  PackSettings settings;
  BlobOptions options;
  QuantPlan plan;
  std::map<std::string, MetaValue> extra_meta;
  /// Seal the blob with SHA-256 digests (--checksum ...sha256, or --sign).
  bool seal = false;
  /// The signing key (--sign), read while parsing.
  std::shared_ptr<const SecretKey> key;
  /// The sensitivities, read from the file or given.
  std::optional<std::map<std::string, double>> sensitivities;
};

/// Parses and checks `settings` for writing `output` from `inputs` (an output that is also an
/// input is refused), and reads the sensitivity file. Throws a usage Error naming the option,
/// an input Error for a bad sensitivity file.
ParsedPack parse_pack_settings(const PackSettings &settings, const std::vector<std::string> &inputs,
                               const std::string &output);

/// Reads every input (sub-dict `select` of each, if not empty) into one checkpoint; a tensor
/// name appearing in two inputs is an input Error.
Checkpoint merge_inputs(const std::vector<std::string> &inputs, const std::string &select);

/// Where the pipeline's reports go, as they happen (each may be left empty).
struct PackHooks {
  /// Text for the user's report (the quantization and grid tables).
  std::function<void(const std::string &text)> report;
  /// One warning line, without the "statepack: warning: " prefix.
  std::function<void(const std::string &line)> warning;
  /// One note line, without the "statepack: note: " prefix.
  std::function<void(const std::string &line)> note;
  /// A stage ("choosing schemes", "quantizing", "writing") starts; returns its progress sink.
  std::function<ProgressCallback(const char *stage)> stage_begin;
  /// The stage started last ends (also when it fails).
  std::function<void()> stage_end;
};

/// What packing did.
struct PackOutcome {
  QuantReport quant;
  bool automatic = false;
  AutoQuantPlan auto_plan;
  double achieved_bpw = 0;  ///< with `automatic`: bits per weight as stored
  std::vector<GridReportRow> grids;
  uint64_t written = 0;  ///< the blob's size in bytes
  size_t tensor_count = 0;
};

/// Quantizes, applies grids and metadata, and writes `checkpoint` (read from `inputs`, which
/// provenance names; none for tensors given in memory) to `output` atomically. Throws the
/// input Error of --min-sqnr (nothing written), and writer input Errors prefixed by the
/// inputs' names.
PackOutcome pack_checkpoint(Checkpoint &checkpoint, const ParsedPack &parsed,
                            const std::vector<std::string> &inputs, const std::string &output,
                            const PackHooks &hooks = {});

}  // namespace statepack
