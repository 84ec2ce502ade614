// SPDX-License-Identifier: Apache-2.0
// `statepack pack`: read inputs, merge them, add provenance and metadata, write one blob.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "statepack/format.h"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_seal.hpp"
#include "statepack/tools/blob/blob_writer.hpp"
#include "statepack/tools/blob/pack_pipeline.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/quant/mixed_precision.hpp"
#include "statepack/tools/report/blob_inspect.hpp"

namespace statepack::cli {
namespace {

struct PackArgs {
  std::vector<std::string> inputs;
  std::string output;
  std::string select;
  bool quiet = false;
  PackSettings settings;
};

// Whether `path` names a regular file (through symlinks), which can be opened again to report
// on what was written; devices, FIFOs and standard output cannot.
bool is_regular_file(const std::string &path) {
  struct stat st {};
  return path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The blob's checks as one phrase: "xxh64", "xxh32, sha256", "xxh64, sha256, signed (key id ..)".
std::string integrity(const BlobFile &blob) {
  std::string text = checksum_name(static_cast<ChecksumAlgo>(blob.blob().checksum));
  const std::optional<DigestBlock> block = read_digest_block(blob);
  if (!block) return text;
  text += ", sha256";
  if (block->signature_algo != SPK_SIGNATURE_NONE) {
    text += ", signed (key id " + hex_bytes(block->key_id.data(), block->key_id.size()) + ")";
  }
  return text;
}

int run_pack(const PackArgs &args) {
  if (args.output == "-" && ::isatty(STDOUT_FILENO)) {
    fail_usage("refusing to write a blob to a terminal: redirect standard output or give -o FILE");
  }
  // Standard output carries the blob: reports go beside it.
  FILE *out = args.output == "-" ? stderr : stdout;
  const ParsedPack parsed = parse_pack_settings(args.settings, args.inputs, args.output);
  Checkpoint checkpoint = merge_inputs(args.inputs, args.select);
  std::optional<ProgressBar> progress;
  PackHooks hooks;
  hooks.report = [out](const std::string &text) {
    std::fwrite(text.data(), 1, text.size(), out);
    std::fflush(out);
  };
  hooks.warning = [](const std::string &line) {
    std::fprintf(stderr, "statepack: warning: %s\n", line.c_str());
  };
  hooks.note = [](const std::string &line) {
    std::fprintf(stderr, "statepack: note: %s\n", line.c_str());
  };
  hooks.stage_begin = [&progress, &args](const char *stage) -> ProgressCallback {
    progress.emplace(!args.quiet, stage);
    return [&progress](uint64_t done, uint64_t total) { progress->update(done, total); };
  };
  hooks.stage_end = [&progress] { progress.reset(); };
  const PackOutcome outcome = pack_checkpoint(checkpoint, parsed, args.inputs, args.output, hooks);

  if (!is_regular_file(args.output)) {
    std::fprintf(out, "%s: %zu tensors, %llu bytes written\n",
                 args.output == "-" ? "standard output" : args.output.c_str(), outcome.tensor_count,
                 static_cast<unsigned long long>(outcome.written));
    return 0;
  }
  const BlobFile blob = BlobFile::open(args.output);
  const uint64_t data = segment_bytes(blob);
  std::printf("%s: %u tensors in %u segments, %llu bytes (%llu tensor data + %llu overhead), %s\n",
              args.output.c_str(), spk_tensor_count(&blob.blob()), blob.blob().segment_count,
              static_cast<unsigned long long>(blob.blob().size),
              static_cast<unsigned long long>(data),
              static_cast<unsigned long long>(blob.blob().size - data), integrity(blob).c_str());
  if (parsed.options.compression.zstd) {
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
  app->add_option("--checksum", args->settings.checksum,
                  "Checksum algorithm: xxh64 (default) or xxh32; sha256 (= xxh64+sha256) or "
                  "xxh32+sha256 add SHA-256 digests of the header and every segment (format 1.1, "
                  "for signing)")
      ->type_name("NAME");
  app->add_option("--sign", args->settings.sign_key,
                  "Sign the blob with this Ed25519 private key (PEM; statepack keygen or openssl "
                  "genpkey -algorithm ed25519); implies the SHA-256 digests")
      ->type_name("NAME.key");
  app->add_option("--align", args->settings.alignment,
                  "Segment alignment in bytes (power of two, 8..65536)")
      ->type_name("BYTES");
  // One value per occurrence, so `--meta x=1 in.pt` leaves in.pt to INPUT.
  app->add_option("--meta", args->settings.meta,
                  "Extra metadata KEY=VALUE (repeatable). The value keeps its type: true/false "
                  "is a bool, 12 an int, 0.5 or 3e-4 a float, anything else a string; "
                  "KEY:str=007 (or :int, :float, :bool) forces one. Replacing an input's own "
                  "key is noted on stderr")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  app->add_option("--quant", args->settings.quant,
                  "Scheme for the default rule (floating tensors, rank >= 2, >= 1024 elements): "
                  "f16, bf16, int8, int8-tensor, int8-asym, int8-g32, int4-g32/-g64/-g128 "
                  "(and -asym), int4-k (two-level 4-bit, 4.5 bits per weight), keep; or auto: a "
                  "scheme per tensor within --bpw")
      ->type_name("SCHEME");
  app->add_option("--bpw", args->settings.bpw,
                  "With --quant auto: the most bits per weight (levels, scales and zero points) "
                  "over the default rule's tensors; pack chooses among " +
                      auto_candidate_names() +
                      " and keep per tensor, minimising sensitivity x relative squared error. "
                      "--rule choices count with their scheme")
      ->type_name("BITS");
  app->add_option("--sensitivity", args->settings.sensitivity_file,
                  "With --quant auto: JSON object {\"tensor name\": weight} of measured "
                  "sensitivities (python3 -m statepack.sensitivity); tensors not in it take the "
                  "data-free default, rescaled to the file's median")
      ->type_name("FILE.json");
  app->add_option("--rule", args->settings.rules,
                  "GLOB=SCHEME for matching tensor names (repeatable); first match wins, before "
                  "the default rule; SCHEME 'keep' leaves a tensor as it is. A rule applies to "
                  "any floating tensor it matches, whatever its rank or size; the ones its "
                  "scheme cannot apply to (integer or bool, a scalar under a group-wise scheme, "
                  "empty, or too small to shrink: data + scales >= the original bytes) are kept "
                  "as they are, and pack says how many per rule")
      ->allow_extra_args(false)
      ->type_name("GLOB=SCHEME");
  app->add_option("--min-sqnr", args->settings.min_sqnr,
                  "Fail (exit 1, nothing written) if a quantized tensor's SQNR is below DB. "
                  "Without it, pack warns below 10 dB (error power a tenth of the signal's) "
                  "and when scales underflow to 0")
      ->type_name("DB");
  app->add_option("--compress", args->settings.compress,
                  "none (default), or zstd[:LEVEL]: per-tensor zstd after byte grouping; "
                  "a tensor that does not shrink stays raw. LEVEL (1..22, default 19) applies to "
                  "chunks where sampling finds structure")
      ->type_name("CODEC");
  app->add_option("--max-chunk", args->settings.max_chunk,
                  "With --compress zstd: the most decoded bytes in one chunk (4K..16M, default "
                  "2M). Tensors with structure that code smaller so get chunks this large, so "
                  "matches reach further; a device decoding the blob needs "
                  "spk_zstd_workspace_bound(SIZE) of workspace (context + 2 x SIZE), so cap it "
                  "for small devices (64K: the size noise-like tensors get)")
      ->type_name("SIZE");
  app->add_option("--lossless-grids", args->settings.lossless_grids,
                  "auto (default: on with --compress zstd), on or off: store a floating tensor "
                  "(F32/F16/BF16) whose values are exactly integers times a scale per tensor or "
                  "per channel (fake-quantized / QAT weights) as int8 plus scales, checked bit "
                  "for bit; likewise one with at most 256 distinct values as a palette plus "
                  "4- or 8-bit indices where that codes smaller; unpack restores it exactly. "
                  "--quant and --rule win")
      ->type_name("MODE");
  app->add_option("--threads", args->settings.threads,
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
