// `statepack unpack`: a blob's tensors back to safetensors, bit for bit as stored.
#include <unistd.h>

#include <cstdio>

#include "commands.hpp"
#include "statepack/tools/blob_file.hpp"
#include "statepack/tools/blob_unpack.hpp"
#include "statepack/tools/error.hpp"
#include "statepack/tools/file_identity.hpp"
#include "statepack/tools/safetensors_writer.hpp"

namespace statepack::cli {

Command add_unpack_command(CLI::App &parent) {
  struct Args {
    std::string input, output;
    bool dequantize = false;
    std::string dtype = "f32";
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand("unpack", "Write a blob's tensors to a .safetensors file");
  app->add_option("file", args->input, "Blob to unpack")->required();
  app->add_option("-o,--output", args->output,
                  "Output .safetensors: a file is replaced atomically (a symlink's target; mode "
                  "and owner kept); a device or FIFO is written into directly; - is standard "
                  "output")
      ->required();
  app->add_flag("--dequantize", args->dequantize,
                "Write quantized tensors as floats, decoded by the device runtime");
  app->add_option("--dtype", args->dtype,
                  "With --dequantize: f32 (default) or source (the checkpoint's own float type)");
  return Command{app, [args] {
                   if (args->output == "-" && ::isatty(STDOUT_FILENO)) {
                     fail_usage(
                         "refusing to write safetensors to a terminal: redirect standard "
                         "output or give -o FILE");
                   }
                   if (args->input == args->output || same_file(args->input, args->output)) {
                     fail_usage("the output " + args->output + " is also the input");
                   }
                   if (args->dtype != "f32" && args->dtype != "source") {
                     fail_usage("--dtype must be f32 or source, got \"" + args->dtype + "\"");
                   }
                   const BlobFile blob = BlobFile::open(args->input);
                   // Unpacked bytes must be the packed bytes: check them before copying.
                   blob.verify();
                   UnpackOptions options;
                   options.dequantize = args->dequantize;
                   options.source_dtype = args->dtype == "source";
                   const Checkpoint checkpoint = blob_to_checkpoint(blob, options);
                   write_safetensors(args->output, checkpoint);
                   // Standard output carries the file: the summary goes beside it.
                   std::fprintf(args->output == "-" ? stderr : stdout, "%s: %zu tensors written\n",
                                args->output == "-" ? "standard output" : args->output.c_str(),
                                checkpoint.tensors.size());
                   return 0;
                 }};
}

}  // namespace statepack::cli
