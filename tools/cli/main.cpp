// SPDX-License-Identifier: Apache-2.0
// `statepack`: one binary, one subcommand per job. This file owns the error boundary: every
// failure becomes one line on stderr and an exit code (0 ok, 1 bad input or output, 2 usage).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.hpp"
#include "statepack/tools/core/error.hpp"
#include "usage_errors.hpp"

int main(int argc, char **argv) {
  using namespace statepack;
  CLI::App app{"statepack " STATEPACK_VERSION
               ": pack PyTorch state dicts into checksummed blobs for devices"};
  app.set_version_flag("--version", "statepack " STATEPACK_VERSION);
  app.require_subcommand(1);
  const std::vector<cli::Command> commands = {
      cli::add_pack_command(app),   cli::add_inspect_command(app), cli::add_verify_command(app),
      cli::add_unpack_command(app), cli::add_embed_command(app),   cli::add_keygen_command(app),
      cli::add_sign_command(app),   cli::add_pubkey_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success &e) {
    return app.exit(e);  // --help, --version: printed on stdout, exit 0
  } catch (const CLI::ParseError &e) {
    const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    std::fprintf(stderr, "statepack: %s\n", cli::usage_error_message(app, e, args).c_str());
    return 2;
  }
  try {
    for (const cli::Command &command : commands) {
      if (command.app->parsed()) return command.run();
    }
    return 2;
  } catch (const Error &e) {
    std::fprintf(stderr, "statepack: %s\n", e.what());
    return e.kind() == ErrorKind::kUsage ? 2 : 1;
  } catch (const std::bad_alloc &) {
    std::fprintf(stderr, "statepack: out of memory\n");
    return 1;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "statepack: internal error: %s\n", e.what());
    return 1;
  }
}
