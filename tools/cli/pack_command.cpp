// `statepack pack`: read inputs, merge them, add provenance and metadata, write one blob.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/checkpoint_reader.hpp"
#include "statepack/tools/formats/checkpoint_select.hpp"
#include "statepack/tools/io/file_identity.hpp"
#include "statepack/tools/io/spill_file.hpp"
#include "statepack/tools/quant/auto_quant.hpp"
#include "statepack/tools/quant/lossless_grid_pass.hpp"
#include "statepack/tools/quant/mixed_precision.hpp"
#include "statepack/tools/quant/quant_rules.hpp"
#include "statepack/tools/report/blob_inspect.hpp"
#include "statepack/tools/text/meta_argument.hpp"
#include "statepack/tools/text/text_cell.hpp"

namespace statepack::cli {
namespace {

struct PackArgs {
  std::vector<std::string> inputs;
  std::string output;
  std::string checksum = "xxh64";
  uint32_t alignment = 64;
  std::vector<std::string> meta;
  std::string select;
  std::string quant;
  std::vector<std::string> rules;
  double bpw = 0;           // --bpw, 0 = not given
  std::string sensitivity;  // --sensitivity FILE.json
  std::string compress = "none";
  std::string max_chunk;  // --max-chunk, empty = the default
  std::string lossless_grids = "auto";
  unsigned threads = 0;
  bool quiet = false;
  double min_sqnr = -std::numeric_limits<double>::infinity();
};

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

// Usage errors come first, before any input is read or any output created.
BlobOptions parse_options(const PackArgs &args, std::map<std::string, MetaValue> *extra_meta,
                          QuantPlan *plan) {
  *plan = parse_quant_plan(args.quant, args.rules);
  plan->threads = args.threads;
  if (plan->automatic && args.bpw == 0) fail_usage("--quant auto needs --bpw BITS");
  if (!plan->automatic && (args.bpw != 0 || !args.sensitivity.empty())) {
    fail_usage(std::string(args.bpw != 0 ? "--bpw" : "--sensitivity") +
               " applies only to --quant auto");
  }
  if (plan->automatic && !(args.bpw > 0 && args.bpw < 64)) {
    fail_usage("--bpw must be a number of bits per weight above 0 and below 64");
  }
  BlobOptions options;
  const auto algo = checksum_from_name(args.checksum);
  if (!algo) fail_usage("--checksum must be xxh64 or xxh32, got \"" + args.checksum + "\"");
  options.checksum = *algo;
  options.alignment = args.alignment;
  const auto compression = parse_compression(args.compress);
  if (!compression) {
    fail_usage("--compress must be none, zstd or zstd:LEVEL (1..22), got \"" + args.compress +
               "\"");
  }
  options.compression = *compression;
  if (!args.max_chunk.empty()) {
    const auto limit = parse_chunk_limit(args.max_chunk);
    if (!limit) {
      fail_usage(
          "--max-chunk must be a size from 4K to 16M (bytes, or with suffix K or M), got \"" +
          args.max_chunk + "\"");
    }
    if (!compression->zstd) fail_usage("--max-chunk applies only to --compress zstd");
    options.compression.max_chunk = *limit;
  }
  if (args.lossless_grids != "auto" && args.lossless_grids != "on" &&
      args.lossless_grids != "off") {
    fail_usage("--lossless-grids must be auto, on or off, got \"" + args.lossless_grids + "\"");
  }
  options.threads = args.threads;
  check_blob_options(options);
  for (const std::string &entry : args.meta) {
    auto [key, value] = parse_meta_argument(entry);
    if (key.rfind("statepack.", 0) == 0) {
      fail_usage("--meta keys starting with \"statepack.\" are reserved");
    }
    (*extra_meta)[key] = std::move(value);
  }
  for (const std::string &input : args.inputs) {
    if (input == args.output || same_file(input, args.output)) {
      fail_usage("the output " + args.output + " is also an input (" + input + ")");
    }
  }
  return options;
}

// Whether `path` names a regular file (through symlinks), which can be opened again to report
// on what was written; devices, FIFOs and standard output cannot.
bool is_regular_file(const std::string &path) {
  struct stat st {};
  return path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Where tensors computed while packing wait for the writer (see spill_file.hpp): beside the
// output, which needs that much room anyway; the temporary directory when the output is not
// a regular file in a directory (a device, a FIFO, stdout).
std::string spill_directory_for(const std::string &output) {
  struct stat status {};
  if (::stat(output.c_str(), &status) == 0 && !S_ISREG(status.st_mode)) return "";
  const std::string parent = std::filesystem::path(output).parent_path().string();
  return parent.empty() ? "." : parent;
}

int run_pack(const PackArgs &args) {
  if (args.output == "-" && ::isatty(STDOUT_FILENO)) {
    fail_usage("refusing to write a blob to a terminal: redirect standard output or give -o FILE");
  }
  // Standard output carries the blob: reports go beside it.
  FILE *out = args.output == "-" ? stderr : stdout;
  std::map<std::string, MetaValue> extra_meta;
  QuantPlan plan;
  const BlobOptions options = parse_options(args, &extra_meta, &plan);
  set_spill_directory(spill_directory_for(args.output));
  std::optional<std::map<std::string, double>> sensitivities;
  if (!args.sensitivity.empty()) sensitivities = read_sensitivity_file(args.sensitivity);
  Checkpoint checkpoint = merge_inputs(args.inputs, args.select);
  if (!plan.empty()) {
    QuantReport report;
    AutoQuantPlan automatic;
    if (plan.automatic) {
      ProgressBar progress(!args.quiet, "choosing schemes");
      automatic = plan_auto_quant(
          checkpoint, plan, args.bpw, sensitivities ? &*sensitivities : nullptr, args.sensitivity,
          [&progress](uint64_t done, uint64_t total) { progress.update(done, total); });
    }
    {
      ProgressBar progress(!args.quiet, "quantizing");
      report = apply_quant_plan(checkpoint, plan, [&progress](uint64_t done, uint64_t total) {
        progress.update(done, total);
      });
    }
    std::string table = format_quant_report(report);
    if (plan.automatic) {
      // Measured on what the blob will store, and recorded in it (FORMAT.md, "Header").
      const double achieved = stored_bpw(checkpoint, automatic.names);
      table += format_auto_summary(automatic, achieved);
      checkpoint.metadata[kMetaBpwBudget] = MetaValue::of_float(args.bpw);
      checkpoint.metadata[kMetaBpw] = MetaValue::of_float(achieved);
    }
    std::fwrite(table.data(), 1, table.size(), out);
    std::fflush(out);
    for (const std::string &rule : report.unused_rules) {
      std::fprintf(stderr, "statepack: warning: --rule %s matched no tensor\n", rule.c_str());
    }
    // The gate first: below --min-sqnr is an error, so its tensors are not warned about too.
    check_min_sqnr(report, args.min_sqnr);
    for (const std::string &line : quality_warnings(report, kSqnrWarningFloorDb)) {
      std::fprintf(stderr, "statepack: warning: %s\n", line.c_str());
    }
  }
  // Lossless grids change the stored dtype (I8 + scales): on by default only where the user
  // already asked for an encoded blob (--compress), where they also compress best.
  if (args.lossless_grids == "on" || (args.lossless_grids == "auto" && options.compression.zstd)) {
    const std::string grids = format_grid_report(apply_lossless_grids(checkpoint, plan));
    std::fwrite(grids.data(), 1, grids.size(), out);
    std::fflush(out);
  }
  for (auto &[key, value] : extra_meta) {
    const auto existing = checkpoint.metadata.find(key);
    if (existing != checkpoint.metadata.end()) {
      std::fprintf(stderr, "statepack: note: --meta %s replaces the input's own value %s\n",
                   printable_text(key).c_str(), printable_text(existing->second.to_text()).c_str());
    }
    checkpoint.metadata[key] = std::move(value);
  }
  ProgressBar progress(!args.quiet, "writing");
  BlobOptions write_options = options;
  // The inputs' hashes are computed while the blob is written.
  write_options.pending = add_provenance(checkpoint, args.inputs);
  write_options.progress = [&progress](uint64_t done, uint64_t total) {
    progress.update(done, total);
  };
  uint64_t written = 0;
  try {
    written = write_blob_file(args.output, checkpoint, write_options);
    progress.finish();
  } catch (const Error &e) {
    progress.finish();
    // The writer refuses tensors and metadata the format cannot hold: name where they came from.
    if (e.kind() != ErrorKind::kInput) throw;
    std::string inputs;
    for (const std::string &input : args.inputs) inputs += (inputs.empty() ? "" : ", ") + input;
    throw Error(ErrorKind::kInput, inputs + ": " + e.what());
  }

  if (!is_regular_file(args.output)) {
    std::fprintf(out, "%s: %zu tensors, %llu bytes written\n",
                 args.output == "-" ? "standard output" : args.output.c_str(),
                 checkpoint.tensors.size(), static_cast<unsigned long long>(written));
    return 0;
  }
  const BlobFile blob = BlobFile::open(args.output);
  const uint64_t data = segment_bytes(blob);
  std::printf("%s: %u tensors in %u segments, %llu bytes (%llu tensor data + %llu overhead), %s\n",
              args.output.c_str(), spk_tensor_count(&blob.blob()), blob.blob().segment_count,
              static_cast<unsigned long long>(blob.blob().size),
              static_cast<unsigned long long>(data),
              static_cast<unsigned long long>(blob.blob().size - data), args.checksum.c_str());
  if (options.compression.zstd) {
    // Each segment once: its stored size against the bytes it decodes to.
    std::map<uint32_t, std::pair<uint64_t, uint64_t>> segments;
    size_t compressed = 0;
    for (const spk_tensor &t : blob.tensors()) {
      segments[t.segment] = {t.stored_size, t.decoded_size};
      if (t.codec != SPK_CODEC_RAW) ++compressed;
    }
    uint64_t stored = 0, decoded = 0;
    for (const auto &entry : segments) {
      stored += entry.second.first;
      decoded += entry.second.second;
    }
    std::printf(
        "zstd: %zu tensors compressed, tensor data %llu of %llu bytes (%.1f%%)\n", compressed,
        static_cast<unsigned long long>(stored), static_cast<unsigned long long>(decoded),
        decoded == 0 ? 100.0 : 100.0 * static_cast<double>(stored) / static_cast<double>(decoded));
  }
  return 0;
}

// The candidates of --quant auto, from their one table, for the help text.
std::string auto_candidate_names() {
  std::string names;
  for (const AutoCandidate &c : auto_candidates()) {
    names += (names.empty() ? "" : ", ") + scheme_name(c.spec);
  }
  return names;
}

}  // namespace

Command add_pack_command(CLI::App &parent) {
  auto args = std::make_shared<PackArgs>();
  CLI::App *app = parent.add_subcommand("pack", "Pack checkpoint files into one blob");
  app->add_option("INPUT", args->inputs,
                  "Input checkpoints: .safetensors, torch.save .pt/.pth/.bin (zip or legacy), "
                  ".npz/.npy, or a sharded *.index.json")
      ->required();
  app->add_option("-o,--output", args->output,
                  "Output blob. A file is replaced atomically (a symlink's target; mode and owner "
                  "kept). A device (e.g. /dev/mmcblk0) is written in place from offset 0, not "
                  "atomically. A FIFO, or - for standard output, gets the blob once it is "
                  "complete (it is built in $TMPDIR first, since its header comes last)")
      ->required()
      ->type_name("FILE");
  app->add_option("--checksum", args->checksum, "Checksum algorithm: xxh64 (default) or xxh32")
      ->type_name("NAME");
  app->add_option("--align", args->alignment, "Segment alignment in bytes (power of two, 8..65536)")
      ->type_name("BYTES");
  // One value per occurrence, so `--meta x=1 in.pt` leaves in.pt to INPUT.
  app->add_option("--meta", args->meta,
                  "Extra metadata KEY=VALUE (repeatable). The value keeps its type: true/false "
                  "is a bool, 12 an int, 0.5 or 3e-4 a float, anything else a string; "
                  "KEY:str=007 (or :int, :float, :bool) forces one. Replacing an input's own "
                  "key is noted on stderr")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  app->add_option("--quant", args->quant,
                  "Scheme for the default rule (floating tensors, rank >= 2, >= 1024 elements): "
                  "f16, bf16, int8, int8-tensor, int8-asym, int8-g32, int4-g32/-g64/-g128 "
                  "(and -asym), int4-k (two-level 4-bit, 4.5 bits per weight), keep; or auto: a "
                  "scheme per tensor within --bpw")
      ->type_name("SCHEME");
  app->add_option("--bpw", args->bpw,
                  "With --quant auto: the most bits per weight (levels, scales and zero points) "
                  "over the default rule's tensors; pack chooses among " +
                      auto_candidate_names() +
                      " and keep per tensor, minimising sensitivity x relative squared error. "
                      "--rule choices count with their scheme")
      ->type_name("BITS");
  app->add_option("--sensitivity", args->sensitivity,
                  "With --quant auto: JSON object {\"tensor name\": weight} of measured "
                  "sensitivities (python3 -m statepack.sensitivity); tensors not in it take the "
                  "data-free default, rescaled to the file's median")
      ->type_name("FILE.json");
  app->add_option("--rule", args->rules,
                  "GLOB=SCHEME for matching tensor names (repeatable); first match wins, before "
                  "the default rule; SCHEME 'keep' leaves a tensor as it is. A rule applies to "
                  "any floating tensor it matches, whatever its rank or size; the ones its "
                  "scheme cannot apply to (integer or bool, a scalar under a group-wise scheme, "
                  "empty, or too small to shrink: data + scales >= the original bytes) are kept "
                  "as they are, and pack says how many per rule")
      ->allow_extra_args(false)
      ->type_name("GLOB=SCHEME");
  app->add_option("--min-sqnr", args->min_sqnr,
                  "Fail (exit 1, nothing written) if a quantized tensor's SQNR is below DB. "
                  "Without it, pack warns below 10 dB (error power a tenth of the signal's) "
                  "and when scales underflow to 0")
      ->type_name("DB");
  app->add_option("--compress", args->compress,
                  "none (default), or zstd[:LEVEL]: per-tensor zstd after byte grouping; "
                  "a tensor that does not shrink stays raw. LEVEL (1..22, default 19) applies to "
                  "chunks where sampling finds structure")
      ->type_name("CODEC");
  app->add_option("--max-chunk", args->max_chunk,
                  "With --compress zstd: the most decoded bytes in one chunk (4K..16M, default "
                  "2M). Tensors with structure that code smaller so get chunks this large, so "
                  "matches reach further; "
                  "a device decoding the blob needs spk_zstd_workspace_bound(SIZE) of "
                  "workspace (context + 2 x SIZE), so cap it for small devices (64K: the "
                  "size noise-like tensors get)")
      ->type_name("SIZE");
  app->add_option("--lossless-grids", args->lossless_grids,
                  "auto (default: on with --compress zstd), on or off: store a floating tensor "
                  "(F32/F16/BF16) whose values are exactly integers times a scale per tensor or "
                  "per channel (fake-quantized / QAT weights) as int8 plus scales, checked bit "
                  "for bit; unpack restores it exactly. --quant and --rule win")
      ->type_name("MODE");
  app->add_option("--threads", args->threads,
                  "Threads for quantization, hashing and compression (default: every core); the "
                  "output is the same for any number")
      ->type_name("N");
  app->add_flag("--quiet", args->quiet,
                "No progress bar on stderr (it is drawn only when stderr is a terminal)");
  app->add_option("--select", args->select,
                  "Pack only the sub-dict KEY of each input (e.g. model), names relative to it")
      ->type_name("KEY");
  return Command{app, [args] { return run_pack(*args); }};
}

}  // namespace statepack::cli
