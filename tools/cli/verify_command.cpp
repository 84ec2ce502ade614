// SPDX-License-Identifier: Apache-2.0
// `statepack verify`: every check the runtime has, over the whole file.
#include <cstdio>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/core/checksum.hpp"

namespace statepack::cli {

Command add_verify_command(CLI::App &parent) {
  struct Args {
    std::string file;
    bool quiet = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "verify", "Check a blob: structure, every checksum and padding (exit 0 only if all pass)");
  app->add_option("FILE", args->file, "Blob to verify")->required();
  app->add_flag("--quiet", args->quiet,
                "No progress bar on stderr (it is drawn only when stderr is a terminal)");
  return Command{
      app, [args] {
        const BlobFile blob = BlobFile::open(args->file);
        {
          ProgressBar progress(!args->quiet, "verifying");
          blob.verify(0,
                      [&progress](uint64_t done, uint64_t total) { progress.update(done, total); });
        }
        std::printf("%s: OK (%u tensors, %u segments, %llu bytes, %s)\n", args->file.c_str(),
                    spk_tensor_count(&blob.blob()), blob.blob().segment_count,
                    static_cast<unsigned long long>(blob.blob().size),
                    checksum_name(static_cast<ChecksumAlgo>(blob.blob().checksum)).c_str());
        return 0;
      }};
}

}  // namespace statepack::cli
