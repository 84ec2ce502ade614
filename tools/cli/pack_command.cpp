// `statepack pack`: read inputs, merge them, add provenance and metadata, write one blob.
#include <cstdio>
#include <map>
#include <set>

#include "commands.hpp"
#include "statepack/tools/blob_file.hpp"
#include "statepack/tools/blob_inspect.hpp"
#include "statepack/tools/blob_writer.hpp"
#include "statepack/tools/checkpoint_reader.hpp"
#include "statepack/tools/error.hpp"
#include "statepack/tools/file_identity.hpp"

namespace statepack::cli {
namespace {

struct PackArgs {
  std::vector<std::string> inputs;
  std::string output;
  std::string checksum = "xxh64";
  uint32_t alignment = 64;
  std::vector<std::string> meta;
  std::string select;
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
BlobOptions parse_options(const PackArgs &args, std::map<std::string, MetaValue> *extra_meta) {
  BlobOptions options;
  const auto algo = checksum_from_name(args.checksum);
  if (!algo) fail_usage("--checksum must be xxh64 or xxh32, got \"" + args.checksum + "\"");
  options.checksum = *algo;
  options.alignment = args.alignment;
  check_blob_options(options);
  for (const std::string &entry : args.meta) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      fail_usage("--meta expects KEY=VALUE, got \"" + entry + "\"");
    }
    const std::string key = entry.substr(0, eq);
    if (key.rfind("statepack.", 0) == 0) {
      fail_usage("--meta keys starting with \"statepack.\" are reserved");
    }
    (*extra_meta)[key] = MetaValue::of_string(entry.substr(eq + 1));
  }
  for (const std::string &input : args.inputs) {
    if (input == args.output || same_file(input, args.output)) {
      fail_usage("the output " + args.output + " is also an input (" + input + ")");
    }
  }
  return options;
}

int run_pack(const PackArgs &args) {
  std::map<std::string, MetaValue> extra_meta;
  const BlobOptions options = parse_options(args, &extra_meta);
  Checkpoint checkpoint = merge_inputs(args.inputs, args.select);
  for (auto &[key, value] : extra_meta) checkpoint.metadata[key] = std::move(value);
  add_provenance(checkpoint, args.inputs);
  try {
    write_blob_file(args.output, checkpoint, options);
  } catch (const Error &e) {
    // The writer refuses tensors and metadata the format cannot hold: name where they came from.
    if (e.kind() != ErrorKind::kInput) throw;
    std::string inputs;
    for (const std::string &input : args.inputs) inputs += (inputs.empty() ? "" : ", ") + input;
    throw Error(ErrorKind::kInput, inputs + ": " + e.what());
  }

  const BlobFile blob = BlobFile::open(args.output);
  const uint64_t data = segment_bytes(blob);
  std::printf("%s: %u tensors in %u segments, %llu bytes (%llu tensor data + %llu overhead), %s\n",
              args.output.c_str(), spk_tensor_count(&blob.blob()), blob.blob().segment_count,
              static_cast<unsigned long long>(blob.blob().size),
              static_cast<unsigned long long>(data),
              static_cast<unsigned long long>(blob.blob().size - data), args.checksum.c_str());
  return 0;
}

}  // namespace

Command add_pack_command(CLI::App &parent) {
  auto args = std::make_shared<PackArgs>();
  CLI::App *app = parent.add_subcommand("pack", "Pack checkpoint files into one blob");
  app->add_option("inputs", args->inputs,
                  "Input checkpoints: .safetensors, torch.save .pt/.pth/.bin (zip or legacy), "
                  ".npz/.npy, or a sharded *.index.json")
      ->required();
  app->add_option("-o,--output", args->output, "Output blob (written atomically)")->required();
  app->add_option("--checksum", args->checksum, "Checksum algorithm: xxh64 (default) or xxh32");
  app->add_option("--align", args->alignment,
                  "Segment alignment in bytes (power of two, 8..65536)");
  app->add_option("--meta", args->meta, "Extra metadata KEY=VALUE (repeatable)");
  app->add_option("--select", args->select,
                  "Pack only the sub-dict KEY of each input (e.g. model), names relative to it");
  return Command{app, [args] { return run_pack(*args); }};
}

}  // namespace statepack::cli
