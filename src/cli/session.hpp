#pragma once
// What every RPC subcommand does first: connect, handshake, authenticate,
// and the output conventions they share.
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "rpc/client.hpp"

namespace chorus::cli {

// Connects `c` to the agent; on failure prints Serf's
// "Error connecting to Serf agent: ..." line and returns false.
bool open_session(rpc::client& c, const rpc_target& target);

// Writes `s` plus a newline to stdout (Serf writes everything, errors too, there).
inline void out_line(std::string_view s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fputc('\n', stdout);
}
inline void out_raw(std::string_view s) { std::fwrite(s.data(), 1, s.size(), stdout); }

// How every command reports a failed request, in Serf's words: when `error`
// is not empty, prints "<what>: <error>" and returns true (the command then
// exits 1).
inline bool failed(std::string_view what, const std::string& error) {
  if (error.empty()) return false;
  out_line(std::string(what) + ": " + error);
  return true;
}

// Adds the KEY=VALUE (or KEY=REGEXP) flags to `into`; on one without '='
// prints Serf's "Error: Invalid tag: '...'" and returns false.
bool read_tag_flags(const std::vector<std::string>& flags, rpc::string_map& into);

}  // namespace chorus::cli
