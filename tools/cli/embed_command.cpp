// `statepack embed`: a verified blob as C source (OUT.c + OUT.h) for linking into firmware.
#include <cstdio>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "statepack/tools/blob_embed.hpp"

namespace statepack::cli {

Command add_embed_command(CLI::App &parent) {
  struct Args {
    std::string input, output;
    EmbedOptions options;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "embed", "Write a blob as C source: OUT.c (aligned const array and size) and OUT.h");
  app->add_option("FILE", args->input, "Blob to embed (verified first)")->required();
  app->add_option("-o,--output", args->output,
                  "Output .c file; the header goes beside it as .h (both written atomically)")
      ->required()
      ->type_name("FILE");
  app->add_option("--symbol", args->options.symbol,
                  "C name of the array (default: from the output name); NAME_size holds its size")
      ->type_name("NAME");
  app->add_option("--section", args->options.section,
                  "Linker section for the array, e.g. .rodata.model or .flash_blob")
      ->type_name("NAME");
  app->add_flag("--quiet", args->quiet,
                "No progress bar on stderr (it is drawn only when stderr is a terminal)");
  return Command{app, [args] {
                   ProgressBar progress(!args->quiet, "verifying");
                   EmbedOptions options = args->options;
                   options.progress = [&progress](uint64_t done, uint64_t total) {
                     progress.update(done, total);
                   };
                   const std::string symbol = write_embed(args->input, args->output, options);
                   progress.finish();
                   std::printf("%s: %s and %s_size\n", args->output.c_str(), symbol.c_str(),
                               symbol.c_str());
                   return 0;
                 }};
}

}  // namespace statepack::cli
