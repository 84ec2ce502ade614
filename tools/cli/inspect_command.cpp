// SPDX-License-Identifier: Apache-2.0
// `statepack inspect`: what a blob (or an input checkpoint) holds, as a table or JSON.
#include <cstdio>

#include "commands.hpp"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/formats/checkpoint_reader.hpp"
#include "statepack/tools/report/blob_inspect.hpp"
#include "statepack/tools/report/checkpoint_inspect.hpp"

namespace statepack::cli {

Command add_inspect_command(CLI::App &parent) {
  struct Args {
    std::string file;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "inspect", "List the tensors and metadata of a blob or of an input checkpoint");
  app->add_option("FILE", args->file,
                  "Blob (.spk) or any input checkpoint. For a blob, the header is checked but "
                  "not the data's checksums (statepack verify does that)")
      ->required();
  app->add_flag("--json", args->json, "Print JSON instead of a table");
  return Command{
      app, [args] {
        std::string text;
        const InputFormat format = detect_format(args->file);
        if (format == InputFormat::kBlob) {
          const BlobFile blob = BlobFile::open(args->file);
          text = args->json ? describe_blob_json(blob) : describe_blob_table(blob);
        } else {
          const Checkpoint checkpoint = read_checkpoint(args->file);
          text = args->json
                     ? describe_checkpoint_json(args->file, format_name(format), checkpoint)
                     : describe_checkpoint_table(args->file, format_name(format), checkpoint);
        }
        std::fwrite(text.data(), 1, text.size(), stdout);
        return 0;
      }};
}

}  // namespace statepack::cli
