// SPDX-License-Identifier: Apache-2.0
// The pack pipeline shared by the CLI and the Python module (pack_pipeline.hpp).
#include "statepack/tools/blob/pack_pipeline.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <filesystem>
#include <set>
#include <string_view>

#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_seal.hpp"
#include "statepack/tools/codec/segment_codec.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/checkpoint_reader.hpp"
#include "statepack/tools/formats/checkpoint_select.hpp"
#include "statepack/tools/io/file_identity.hpp"
#include "statepack/tools/io/spill_file.hpp"
#include "statepack/tools/text/meta_argument.hpp"
#include "statepack/tools/text/text_cell.hpp"

namespace statepack {
namespace {

// Where tensors computed while packing wait for the writer (see spill_file.hpp): beside the
// output, which needs that much room anyway; the temporary directory when the output is not
// a regular file in a directory (a device, a FIFO, stdout).
std::string spill_directory_for(const std::string &output) {
  struct stat status {};
  if (::stat(output.c_str(), &status) == 0 && !S_ISREG(status.st_mode)) return "";
  const std::string parent = std::filesystem::path(output).parent_path().string();
  return parent.empty() ? "." : parent;
}

// A blob with format 1.1's digests (and signature, with a key): written plainly to a temporary
// file beside the output, then sealed into the output atomically (blob_seal.hpp). The
// temporary file is unlinked as soon as it is mapped, and on any failure.
uint64_t write_sealed_blob_file(const std::string &output, const Checkpoint &checkpoint,
                                const BlobOptions &options, const SecretKey *key) {
  std::string directory = spill_directory_for(output);
  if (directory.empty()) {
    const char *tmp = std::getenv("TMPDIR");
    directory = tmp != nullptr && *tmp != 0 ? tmp : "/tmp";
  }
  std::string temp = directory + "/.statepack-seal-XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) fail_output(output, "cannot create a temporary file in " + directory);
  ::close(fd);
  struct Remove {
    std::string path;
    ~Remove() { ::unlink(path.c_str()); }
  } remove{temp};
  write_blob_file(temp, checkpoint, options);
  const BlobFile blob = BlobFile::open(temp);
  ::unlink(temp.c_str());
  return seal_blob(blob, key, output);
}

// A stage of the hooks, ended however the scope is left.
class Stage {
 public:
  Stage(const PackHooks &hooks, const char *name) : hooks_(hooks) {
    if (hooks_.stage_begin) progress_ = hooks_.stage_begin(name);
  }
  ~Stage() {
    if (hooks_.stage_end) hooks_.stage_end();
  }
  Stage(const Stage &) = delete;
  Stage &operator=(const Stage &) = delete;
  const ProgressCallback &progress() const { return progress_; }

 private:
  const PackHooks &hooks_;
  ProgressCallback progress_;
};

void emit(const std::function<void(const std::string &)> &sink, const std::string &text) {
  if (sink) sink(text);
}

}  // namespace

ParsedPack parse_pack_settings(const PackSettings &settings, const std::vector<std::string> &inputs,
                               const std::string &output) {
  ParsedPack parsed;
  parsed.settings = settings;
  QuantPlan &plan = parsed.plan;
  plan = parse_quant_plan(settings.quant, settings.rules);
  plan.threads = settings.threads;
  const bool has_sensitivity =
      !settings.sensitivity_file.empty() || settings.sensitivity_values.has_value();
  if (plan.automatic && settings.bpw == 0) fail_usage("--quant auto needs --bpw BITS");
  if (!plan.automatic && (settings.bpw != 0 || has_sensitivity)) {
    fail_usage(std::string(settings.bpw != 0 ? "--bpw" : "--sensitivity") +
               " applies only to --quant auto");
  }
  if (plan.automatic && !(settings.bpw > 0 && settings.bpw < 64)) {
    fail_usage("--bpw must be a number of bits per weight above 0 and below 64");
  }
  BlobOptions &options = parsed.options;
  std::string base = settings.checksum;
  if (base == "sha256") base = "xxh64+sha256";
  constexpr std::string_view kSha = "+sha256";
  if (base.size() > kSha.size() &&
      base.compare(base.size() - kSha.size(), kSha.size(), kSha) == 0) {
    parsed.seal = true;
    base.resize(base.size() - kSha.size());
  }
  const auto algo = checksum_from_name(base);
  if (!algo) {
    fail_usage("--checksum must be xxh64, xxh32, sha256, xxh64+sha256 or xxh32+sha256, got \"" +
               settings.checksum + "\"");
  }
  if (!settings.sign_key.empty()) {
    parsed.seal = true;
    parsed.key = std::make_shared<const SecretKey>(read_secret_key(settings.sign_key));
  }
  options.checksum = *algo;
  options.alignment = settings.alignment;
  const auto compression = parse_compression(settings.compress);
  if (!compression) {
    fail_usage("--compress must be none, zstd or zstd:LEVEL (1..22), got \"" + settings.compress +
               "\"");
  }
  options.compression = *compression;
  if (!settings.max_chunk.empty()) {
    const auto limit = parse_chunk_limit(settings.max_chunk);
    if (!limit) {
      fail_usage(
          "--max-chunk must be a size from 4K to 16M (bytes, or with suffix K or M), got \"" +
          settings.max_chunk + "\"");
    }
    if (!compression->zstd) fail_usage("--max-chunk applies only to --compress zstd");
    options.compression.max_chunk = *limit;
  }
  if (settings.lossless_grids != "auto" && settings.lossless_grids != "on" &&
      settings.lossless_grids != "off") {
    fail_usage("--lossless-grids must be auto, on or off, got \"" + settings.lossless_grids + "\"");
  }
  options.threads = settings.threads;
  check_blob_options(options);
  std::vector<std::pair<std::string, MetaValue>> entries;
  for (const std::string &entry : settings.meta) entries.push_back(parse_meta_argument(entry));
  for (const auto &entry : settings.meta_values) entries.push_back(entry);
  for (auto &[key, value] : entries) {
    if (key.rfind("statepack.", 0) == 0) {
      fail_usage("--meta keys starting with \"statepack.\" are reserved");
    }
    parsed.extra_meta[key] = std::move(value);
  }
  for (const std::string &input : inputs) {
    if (input == output || same_file(input, output)) {
      fail_usage("the output " + output + " is also an input (" + input + ")");
    }
  }
  parsed.sensitivities = settings.sensitivity_values;
  if (!settings.sensitivity_file.empty()) {
    if (settings.sensitivity_values)
      fail_usage("give sensitivities as a file or as values, not both");
    parsed.sensitivities = read_sensitivity_file(settings.sensitivity_file);
  }
  return parsed;
}

Checkpoint merge_inputs(const std::vector<std::string> &inputs, const std::string &select) {
  Checkpoint merged;
  std::set<std::string> names;
  for (const std::string &path : inputs) {
    Checkpoint part = read_checkpoint(path);
    if (!select.empty()) part = select_subtree(std::move(part), select, path);
    for (Tensor &t : part.tensors) {
      if (!names.insert(t.name).second) {
        fail_input(path, "tensor \"" + t.name + "\" also appears in an earlier input");
      }
      merged.tensors.push_back(std::move(t));
    }
    for (auto &[key, value] : part.metadata) merged.metadata[key] = std::move(value);
  }
  return merged;
}

PackOutcome pack_checkpoint(Checkpoint &checkpoint, const ParsedPack &parsed,
                            const std::vector<std::string> &inputs, const std::string &output,
                            const PackHooks &hooks) {
  const PackSettings &settings = parsed.settings;
  const QuantPlan &parsed_plan = parsed.plan;
  QuantPlan plan = parsed_plan;
  PackOutcome outcome;
  set_spill_directory(spill_directory_for(output));
  const auto &sensitivities = parsed.sensitivities;
  const std::string sensitivity_source = settings.sensitivity_file.empty() && sensitivities
                                             ? "the sensitivity argument"
                                             : settings.sensitivity_file;
  if (!plan.empty()) {
    if (plan.automatic) {
      Stage stage(hooks, "choosing schemes");
      outcome.auto_plan =
          plan_auto_quant(checkpoint, plan, settings.bpw, sensitivities ? &*sensitivities : nullptr,
                          sensitivity_source, stage.progress());
    }
    {
      Stage stage(hooks, "quantizing");
      outcome.quant = apply_quant_plan(checkpoint, plan, stage.progress());
    }
    std::string table = format_quant_report(outcome.quant);
    if (plan.automatic) {
      // Measured on what the blob will store, and recorded in it (FORMAT.md, "Header").
      outcome.automatic = true;
      outcome.achieved_bpw = stored_bpw(checkpoint, outcome.auto_plan.names);
      table += format_auto_summary(outcome.auto_plan, outcome.achieved_bpw);
      checkpoint.metadata[kMetaBpwBudget] = MetaValue::of_float(settings.bpw);
      checkpoint.metadata[kMetaBpw] = MetaValue::of_float(outcome.achieved_bpw);
    }
    emit(hooks.report, table);
    for (const std::string &rule : outcome.quant.unused_rules) {
      emit(hooks.warning, "--rule " + rule + " matched no tensor");
    }
    // The gate first: below --min-sqnr is an error, so its tensors are not warned about too.
    check_min_sqnr(outcome.quant, settings.min_sqnr);
    for (const std::string &line : quality_warnings(outcome.quant, kSqnrWarningFloorDb)) {
      emit(hooks.warning, line);
    }
  }
  // Lossless grids change the stored dtype (I8 + scales): on by default only where the user
  // already asked for an encoded blob (--compress), where they also compress best.
  if (settings.lossless_grids == "on" ||
      (settings.lossless_grids == "auto" && parsed.options.compression.zstd)) {
    CodedSize coded_size;
    const Compression &compression = parsed.options.compression;
    if (compression.zstd) {
      coded_size = [compression](const uint8_t *data, uint64_t size, DType dtype) {
        return estimate_coded_size(data, size, dtype, compression.level, compression.max_chunk);
      };
    }
    outcome.grids = apply_lossless_grids(checkpoint, plan, coded_size);
    emit(hooks.report, format_grid_report(outcome.grids));
  }
  for (const auto &[key, value] : parsed.extra_meta) {
    const auto existing = checkpoint.metadata.find(key);
    if (existing != checkpoint.metadata.end()) {
      emit(hooks.note, "--meta " + printable_text(key) + " replaces the input's own value " +
                           printable_text(existing->second.to_text()));
    }
    checkpoint.metadata[key] = value;
  }
  Stage stage(hooks, "writing");
  BlobOptions write_options = parsed.options;
  // The inputs' hashes are computed while the blob is written.
  write_options.pending = add_provenance(checkpoint, inputs);
  write_options.progress = stage.progress();
  try {
    outcome.written =
        parsed.seal ? write_sealed_blob_file(output, checkpoint, write_options, parsed.key.get())
                    : write_blob_file(output, checkpoint, write_options);
  } catch (const Error &e) {
    // The writer refuses tensors and metadata the format cannot hold: name where they came from.
    if (e.kind() != ErrorKind::kInput || inputs.empty()) throw;
    std::string names;
    for (const std::string &input : inputs) names += (names.empty() ? "" : ", ") + input;
    throw Error(ErrorKind::kInput, names + ": " + e.what());
  }
  outcome.tensor_count = checkpoint.tensors.size();
  return outcome;
}

}  // namespace statepack
