#pragma once
// What every RPC subcommand does first: connect, handshake, authenticate,
// and the output conventions they share.
#include <cstdio>
#include <string_view>

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

// A Vivaldi distance between two RPC coordinates in Serf's arithmetic
// (vivaldi.md section 3): nullopt if either is missing or they are not
// comparable.
struct rtt_estimate {
  bool ok = false;
  double seconds = 0;  // Go's Duration.Seconds() of the truncated nanoseconds
};
rtt_estimate estimate(const rpc::coordinate& a, const rpc::coordinate& b);

}  // namespace chorus::cli
