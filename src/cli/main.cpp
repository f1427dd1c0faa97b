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

  // Which flags take a value, from what was registered above.
  auto kinds = [&app](const std::string& subcommand, const std::string& name) {
    using chorus::cli::flag_kind;
    const CLI::App* owner = &app;
    if (!subcommand.empty()) {
      const auto found = app.get_subcommands([&](CLI::App* s) { return s->get_name() == subcommand; });
      if (found.empty()) return flag_kind::unknown;
      owner = found.front();
    }
    const CLI::Option* o = owner->get_option_no_throw("--" + name);
    if (!o) return flag_kind::unknown;
    if (o->get_items_expected_max() == 0) return flag_kind::boolean;
    // CLI11's type name, less any ":validator" suffix.
    const std::string full = o->get_type_name();
    const std::string type = full.substr(0, full.find(':'));
    return type == "INT" || type == "UINT" || type == "FLOAT" ? flag_kind::number : flag_kind::value;
  };
  const auto normalized = chorus::cli::normalize_args(std::vector<std::string>(argv, argv + argc), kinds);
  if (!normalized.error.empty()) {
    std::fprintf(stderr, "%s\n", normalized.error.c_str());
    return 1;  // Serf's exit code for a usage error
  }
  std::vector<const char*> cargs;
  for (const auto& a : normalized.args) cargs.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::ParseError& e) {
    // Serf exits 1 on every usage error (scripts test for it); --help stays 0.
    return app.exit(e) == 0 ? 0 : 1;
  }
  return rc;
}
