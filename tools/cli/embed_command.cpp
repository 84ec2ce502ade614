// `statepack embed`: a verified blob as C source (OUT.c + OUT.h) for linking into firmware.
#include <cstdio>

#include "commands.hpp"
#include "statepack/tools/blob_embed.hpp"

namespace statepack::cli {

Command add_embed_command(CLI::App &parent) {
  struct Args {
    std::string input, output;
    EmbedOptions options;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "embed", "Write a blob as C source: OUT.c (aligned const array and size) and OUT.h");
  app->add_option("file", args->input, "Blob to embed (verified first)")->required();
  app->add_option("-o,--output", args->output,
                  "Output .c file; the header goes beside it as .h (both written atomically)")
      ->required();
  app->add_option("--symbol", args->options.symbol,
                  "C name of the array (default: from the output name); NAME_size holds its size");
  app->add_option("--section", args->options.section,
                  "Linker section for the array, e.g. .rodata.model or .flash_blob");
  return Command{app, [args] {
                   const std::string symbol = write_embed(args->input, args->output, args->options);
                   std::printf("%s: %s and %s_size\n", args->output.c_str(), symbol.c_str(),
                               symbol.c_str());
                   return 0;
                 }};
}

}  // namespace statepack::cli
