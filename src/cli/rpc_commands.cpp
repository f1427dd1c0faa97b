#include "cli/rpc_commands.hpp"

#include <CLI/CLI.hpp>

namespace chorus::cli {

void add_rpc_commands(CLI::App& /*app*/, int& /*rc*/) {}

}  // namespace chorus::cli
