// The `chorus` command: one binary, one subcommand per verb, Serf's flags.
// CLI11 is the slowest header to compile (BUILD-NOTES pitfall 8): keep it in
// this file and put each subcommand's work in its own file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "chorus/version.hpp"
#include "cli/dashes.hpp"
#include "cli/decode.hpp"
#include "cli/rpc_commands.hpp"
#include "swim/protocol_version.hpp"

namespace chorus::cli {
void add_agent_command(CLI::App& app, int& rc);  // agent_command.cpp
}

namespace {

int print_version() {
  std::printf("chorus v%s\n", chorus::version);
  std::printf("Agent Protocol: %d (Understands back to: %d)\n", chorus::swim::delegate_cur, chorus::swim::delegate_min);
  std::printf("Gossip Protocol: %d (Understands %d to %d; Serf 0.9 compatible)\n", chorus::swim::protocol_cur,
              chorus::swim::protocol_min, chorus::swim::protocol_max);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"chorus: cluster membership, failure detection and network coordinates (Serf 0.9 compatible)"};
  app.require_subcommand(1);
  int rc = 0;

  auto* version = app.add_subcommand("version", "Print the chorus version and the protocol versions it speaks");
  version->callback([&] { rc = print_version(); });

  chorus::cli::add_rpc_commands(app, rc);
  chorus::cli::add_agent_command(app, rc);

  // decode: dissect a captured gossip packet / stream (logic in cli/decode.cpp).
  chorus::cli::decode_options decode_opt;
  std::string decode_input;
  auto* decode = app.add_subcommand("decode", "Print a captured gossip packet (or TCP stream with --stream) as JSON");
  decode->add_option("--key", decode_opt.keys_base64, "Base64 encryption key (repeatable, primary first)");
  decode->add_flag("--stream", decode_opt.stream, "The input is one direction of a gossip TCP stream");
  decode->add_option("input", decode_input, "Hex bytes, or - to read hex or raw bytes from stdin")->required();
  decode->callback([&] { rc = chorus::cli::run_decode(decode_input, decode_opt, std::cin, std::cout, std::cerr); });

  const auto args = chorus::cli::normalize_dashes(argc, argv);
  std::vector<const char*> cargs;
  for (const auto& a : args) cargs.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::ParseError& e) {
    // Serf exits 1 on every usage error (scripts test for it); --help stays 0.
    return app.exit(e) == 0 ? 0 : 1;
  }
  return rc;
}
