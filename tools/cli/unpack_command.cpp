// SPDX-License-Identifier: Apache-2.0
// `statepack unpack`: a blob's tensors back to safetensors, bit for bit as stored.
#include <unistd.h>

#include <cstdio>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_unpack.hpp"
#include "statepack/tools/core/error.hpp"
#include "statepack/tools/formats/safetensors_writer.hpp"
#include "statepack/tools/io/file_identity.hpp"

namespace statepack::cli {

Command add_unpack_command(CLI::App &parent) {
  struct Args {
    std::string input, output;
    bool dequantize = false;
    std::string dtype = "f32";
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand("unpack", "Write a blob's tensors to a .safetensors file");
  app->add_option("FILE", args->input, "Blob to unpack")->required();
  app->add_option("-o,--output", args->output,
                  "Output .safetensors: a file is replaced atomically (a symlink's target; mode "
                  "and owner kept); a device or FIFO is written into directly; - is standard "
                  "output")
      ->required()
      ->type_name("FILE");
  CLI::Option *dequantize =
      app->add_flag("--dequantize", args->dequantize,
                    "Write quantized tensors as floats, decoded by the device runtime");
  // Without --dequantize there is nothing for --dtype to choose: a usage error, not ignored.
  app->add_option("--dtype", args->dtype,
                  "Only with --dequantize: f32 (default) or source (the checkpoint's own float "
                  "type)")
      ->needs(dequantize)
      ->type_name("f32|source");
  app->add_flag("--quiet", args->quiet,
                "No progress bar on stderr (it is drawn only when stderr is a terminal)");
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
                   const auto report = [](ProgressBar &bar) {
                     return [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
                   };
                   {
                     // Unpacked bytes must be the packed bytes: check them before copying.
                     ProgressBar progress(!args->quiet, "verifying");
                     blob.verify(0, report(progress));
                   }
                   UnpackOptions options;
                   options.dequantize = args->dequantize;
                   options.source_dtype = args->dtype == "source";
                   const Checkpoint checkpoint = blob_to_checkpoint(blob, options);
                   {
                     ProgressBar progress(!args->quiet, "writing");
                     write_safetensors(args->output, checkpoint, report(progress));
                   }
                   // Standard output carries the file: the summary goes beside it.
                   std::fprintf(args->output == "-" ? stderr : stdout, "%s: %zu tensors written\n",
                                args->output == "-" ? "standard output" : args->output.c_str(),
                                checkpoint.tensors.size());
                   return 0;
                 }};
}

}  // namespace statepack::cli
