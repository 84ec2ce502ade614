// SPDX-License-Identifier: Apache-2.0
// `statepack verify`: every check the runtime has, over the whole file.
#include <cstdio>
#include <optional>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_seal.hpp"
#include "statepack/tools/core/checksum.hpp"
#include "statepack/tools/core/error.hpp"

namespace statepack::cli {

Command add_verify_command(CLI::App &parent) {
  struct Args {
    std::string file;
    bool quiet = false;
    std::string key;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "verify", "Check a blob: structure, every checksum and padding (exit 0 only if all pass)");
  app->add_option("FILE", args->file, "Blob to verify")->required();
  app->add_flag("--quiet", args->quiet,
                "No progress bar on stderr (it is drawn only when stderr is a terminal)");
  app->add_option("--key", args->key,
                  "Also require a valid Ed25519 signature by this public key (PEM): exit 1 for "
                  "an unsigned blob, another key, or any changed byte")
      ->type_name("NAME.pub");
  return Command{
      app, [args] {
        // The key first: a bad key file is reported before the blob is read.
        std::optional<PublicKey> key;
        if (!args->key.empty()) key = read_public_key(args->key);
        const BlobFile blob = BlobFile::open(args->file);
        const std::optional<DigestBlock> block = read_digest_block(blob);
        if (key) {
          if (!block) fail_input(args->file, "not signed (no digest block)");
          check_signature(blob, *block, *key, args->key);
        }
        {
          ProgressBar progress(!args->quiet, "verifying");
          blob.verify(0,
                      [&progress](uint64_t done, uint64_t total) { progress.update(done, total); });
        }
        if (block) verify_digests(blob, *block);
        std::string kind = checksum_name(static_cast<ChecksumAlgo>(blob.blob().checksum));
        if (block) kind += ", sha256";
        if (key) kind += ", signed by key " + hex_bytes(block->key_id.data(), block->key_id.size());
        std::printf("%s: OK (%u tensors, %u segments, %llu bytes, %s)\n", args->file.c_str(),
                    spk_tensor_count(&blob.blob()), blob.blob().segment_count,
                    static_cast<unsigned long long>(blob.blob().size), kind.c_str());
        return 0;
      }};
}

}  // namespace statepack::cli
