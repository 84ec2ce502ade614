// SPDX-License-Identifier: Apache-2.0
// The CLI's subcommands. Each adds itself to the app and returns the function that runs it;
// every function returns the process exit code or throws statepack::Error.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace statepack::cli {

/// A registered subcommand and what runs it after parsing.
struct Command {
  CLI::App *app;
  std::function<int()> run;
};

/// `statepack pack INPUT... -o OUT.spk [--checksum] [--align] [--meta]...`
Command add_pack_command(CLI::App &parent);
/// `statepack inspect FILE [--json]`
Command add_inspect_command(CLI::App &parent);
/// `statepack verify FILE [--key NAME.pub]`
Command add_verify_command(CLI::App &parent);
/// `statepack unpack FILE -o OUT.safetensors`
Command add_unpack_command(CLI::App &parent);
/// `statepack embed FILE -o OUT.c [--symbol NAME] [--section NAME]`
Command add_embed_command(CLI::App &parent);

/// `statepack keygen -o NAME [--force]`
Command add_keygen_command(CLI::App &parent);
/// `statepack pubkey NAME.pub [--symbol NAME]`
Command add_pubkey_command(CLI::App &parent);
/// `statepack sign BLOB --key NAME.key [-o OUT]`
Command add_sign_command(CLI::App &parent);

}  // namespace statepack::cli
