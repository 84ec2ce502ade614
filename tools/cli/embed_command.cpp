// `statepack embed`: a verified blob as C source (OUT.c + OUT.h) or assembler (OUT.S + OUT.h)
// for linking into firmware.
#include <cstdio>

#include "commands.hpp"
#include "statepack/tools/blob_embed.hpp"
#include "statepack/tools/error.hpp"

namespace statepack::cli {

Command add_embed_command(CLI::App &parent) {
  struct Args {
    std::string input, output, format = "c";
    EmbedOptions options;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "embed",
      "Write a blob as C source: OUT.c (aligned const array and size) and OUT.h; or, with "
      "--format incbin, as OUT.S (assembler that reads the blob with .incbin) and OUT.h");
  app->add_option("file", args->input, "Blob to embed (verified first)")->required();
  app->add_option("-o,--output", args->output,
                  "Output .c (.S with --format incbin); the header goes beside it as .h. Files "
                  "are replaced atomically (a symlink's target; mode and owner kept); devices "
                  "and FIFOs are written into directly. - writes the source alone, without "
                  "header, to standard output")
      ->required();
  app->add_option("--format", args->format,
                  "c (default): the bytes as a C array, for any C compiler. incbin: a .S file "
                  "that gcc, clang or arm-none-eabi-gcc builds in seconds and little memory "
                  "whatever the blob's size; it names the blob by its absolute path, so keep "
                  "the blob there");
  app->add_option("--symbol", args->options.symbol,
                  "C name of the array (default: from the output name, or the input's for -o -); "
                  "NAME_size holds its size");
  app->add_option("--section", args->options.section,
                  "Linker section for the array, e.g. .rodata.model or .flash_blob");
  return Command{app, [args] {
                   if (args->format != "c" && args->format != "incbin") {
                     fail_usage("--format must be c or incbin, got \"" + args->format + "\"");
                   }
                   args->options.format =
                       args->format == "incbin" ? EmbedFormat::kIncbin : EmbedFormat::kC;
                   const std::string symbol = write_embed(args->input, args->output, args->options);
                   // Standard output carries the source: the summary goes beside it.
                   std::fprintf(args->output == "-" ? stderr : stdout, "%s: %s and %s_size\n",
                                args->output == "-" ? "standard output" : args->output.c_str(),
                                symbol.c_str(), symbol.c_str());
                   return 0;
                 }};
}

}  // namespace statepack::cli
