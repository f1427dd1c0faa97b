#pragma once
// The subcommands that talk to an agent over RPC (members, join, event, ...).
// Kept apart from main.cpp so the two CLI11-heavy files compile in parallel.
namespace CLI {
class App;
}

namespace chorus::cli {

// Adds the RPC client subcommands to `app`; each sets `rc` to its exit code.
void add_rpc_commands(CLI::App& app, int& rc);

}  // namespace chorus::cli
