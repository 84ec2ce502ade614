// `statepack verify`: every check the runtime has, over the whole file.
#include <cstdio>

#include "commands.hpp"
#include "statepack/tools/blob_file.hpp"
#include "statepack/tools/checksum.hpp"

namespace statepack::cli {

Command add_verify_command(CLI::App &parent) {
  auto path = std::make_shared<std::string>();
  CLI::App *app = parent.add_subcommand(
      "verify", "Check a blob: structure, every checksum and padding (exit 0 only if all pass)");
  app->add_option("file", *path, "Blob to verify")->required();
  return Command{app, [path] {
                   const BlobFile blob = BlobFile::open(*path);
                   blob.verify();
                   std::printf(
                       "%s: OK (%u tensors, %u segments, %llu bytes, %s)\n", path->c_str(),
                       spk_tensor_count(&blob.blob()), blob.blob().segment_count,
                       static_cast<unsigned long long>(blob.blob().size),
                       checksum_name(static_cast<ChecksumAlgo>(blob.blob().checksum)).c_str());
                   return 0;
                 }};
}

}  // namespace statepack::cli
