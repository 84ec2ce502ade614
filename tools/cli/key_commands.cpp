// SPDX-License-Identifier: Apache-2.0
// `statepack keygen`, `statepack sign` and `statepack pubkey`: Ed25519 keys and signed blobs
// (schemas/FORMAT.md, "Digests and signatures"). Keys are PEM as OpenSSL writes them.
#include <cstdio>

#include "commands.hpp"
#include "statepack/tools/blob/blob_file.hpp"
#include "statepack/tools/blob/blob_seal.hpp"
#include "statepack/tools/blob/signing_key.hpp"
#include "statepack/tools/core/error.hpp"

namespace statepack::cli {

Command add_keygen_command(CLI::App &parent) {
  struct Args {
    std::string name;
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "keygen",
      "Make an Ed25519 key pair for signing blobs: NAME.key (secret, mode 0600) and "
      "NAME.pub (PEM, as openssl writes them); prints the public key as a C array");
  app->add_option("-o,--output", args->name, "NAME: writes NAME.key and NAME.pub")
      ->required()
      ->type_name("NAME");
  app->add_flag("--force", args->force,
                "Replace existing NAME.key / NAME.pub (regular files only; never a symlink, "
                "FIFO or device)");
  return Command{app, [args] {
                   const SecretKey key = generate_key();
                   write_key_files(args->name, key, args->force);
                   const KeyId id = key_id(key.public_key);
                   std::printf("%s.key, %s.pub: Ed25519 key id %s\n%s", args->name.c_str(),
                               args->name.c_str(), hex_bytes(id.data(), id.size()).c_str(),
                               public_key_c_array(key.public_key, "statepack_public_key").c_str());
                   return 0;
                 }};
}

Command add_pubkey_command(CLI::App &parent) {
  struct Args {
    std::string file;
    std::string symbol = "statepack_public_key";
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "pubkey",
      "Print a public key (NAME.pub, or the public half of NAME.key) as a C array "
      "for spk_verify_signature");
  app->add_option("KEY", args->file, "PEM public key (or private key) file")->required();
  app->add_option("--symbol", args->symbol, "Name of the C array")->type_name("NAME");
  return Command{app, [args] {
                   PublicKey key;
                   try {
                     key = read_public_key(args->file);
                   } catch (const Error &) {
                     key = read_secret_key(args->file).public_key;
                   }
                   const KeyId id = key_id(key);
                   std::printf("/* Ed25519 public key, key id %s */\n%s",
                               hex_bytes(id.data(), id.size()).c_str(),
                               public_key_c_array(key, args->symbol).c_str());
                   return 0;
                 }};
}

Command add_sign_command(CLI::App &parent) {
  struct Args {
    std::string file;
    std::string key;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  CLI::App *app = parent.add_subcommand(
      "sign",
      "Sign a blob with an Ed25519 key (checks it first; adds SHA-256 digests if it "
      "has none). Written atomically");
  app->add_option("BLOB", args->file, "Blob to sign")->required();
  app->add_option("--key", args->key,
                  "PEM Ed25519 private key (statepack keygen, or openssl "
                  "genpkey -algorithm ed25519)")
      ->required()
      ->type_name("NAME.key");
  app->add_option("-o,--output", args->output,
                  "Where to write the signed blob (default: replace BLOB, atomically; a "
                  "symlink's target, mode kept)")
      ->type_name("FILE");
  return Command{app, [args] {
                   const SecretKey key = read_secret_key(args->key);
                   const BlobFile blob = BlobFile::open(args->file);
                   const std::string output = args->output.empty() ? args->file : args->output;
                   const uint64_t size = sign_blob(blob, key, output);
                   const KeyId id = key_id(key.public_key);
                   std::printf("%s: signed, Ed25519 key id %s, %llu bytes\n", output.c_str(),
                               hex_bytes(id.data(), id.size()).c_str(),
                               static_cast<unsigned long long>(size));
                   return 0;
                 }};
}

}  // namespace statepack::cli
