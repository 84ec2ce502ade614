// SPDX-License-Identifier: Apache-2.0
// `statepack embed`: a verified blob as C source (OUT.c + OUT.h) or assembler (OUT.S + OUT.h)
// for linking into firmware.
#include <cstdio>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "statepack/tools/blob/blob_embed.hpp"
#include "statepack/tools/core/error.hpp"

namespace statepack::cli {

Command add_embed_command(CLI::App &parent) {
  struct Args {
    std::string input, output, format = "c";
    EmbedOptions options;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "embed",
      "Write a blob as C source: OUT.c (aligned const array and size) and OUT.h; or, with "
      "--format incbin, as OUT.S (assembler that reads the blob with .incbin) and OUT.h");
  app->add_option("FILE", args->input, "Blob to embed (verified first)")->required();
  app->add_option("-o,--output", args->output,
                  "Output .c (.S with --format incbin); the header goes beside it as .h. Files "
                  "are replaced atomically (a symlink's target; mode and owner kept); devices "
                  "and FIFOs are written into directly. - writes the source alone, without "
                  "header, to standard output")
      ->required()
      ->type_name("FILE");
  app->add_option("--format", args->format,
                  "c (default): the bytes as a C array, for any C compiler. incbin: a .S file "
                  "that gcc, clang or arm-none-eabi-gcc builds in seconds and little memory "
                  "whatever the blob's size; it names the blob by its absolute path, so keep "
                  "the blob there")
      ->type_name("c|incbin");
  app->add_option("--symbol", args->options.symbol,
                  "C name of the array (default: from the output name, or the input's for -o -); "
                  "NAME_size holds its size")
      ->type_name("NAME");
  app->add_option("--section", args->options.section,
                  "Linker section for the array, e.g. .rodata.model or .flash_blob")
      ->type_name("NAME");
  app->add_flag("--quiet", args->quiet,
                "No progress bar on stderr (it is drawn only when stderr is a terminal)");
  return Command{app, [args] {
                   if (args->format != "c" && args->format != "incbin") {
                     fail_usage("--format must be c or incbin, got \"" + args->format + "\"");
                   }
                   ProgressBar progress(!args->quiet, "verifying");
                   EmbedOptions options = args->options;
                   options.format =
                       args->format == "incbin" ? EmbedFormat::kIncbin : EmbedFormat::kC;
                   options.progress = [&progress](uint64_t done, uint64_t total) {
                     progress.update(done, total);
                   };
                   const std::string symbol = write_embed(args->input, args->output, options);
                   progress.finish();
                   // Standard output carries the source: the summary goes beside it.
                   std::fprintf(args->output == "-" ? stderr : stdout, "%s: %s and %s_size\n",
                                args->output == "-" ? "standard output" : args->output.c_str(),
                                symbol.c_str(), symbol.c_str());
                   return 0;
                 }};
}

}  // namespace statepack::cli
