#pragma once
// `-join srv:NAME`: a unicast DNS SRV lookup on the agent's Asio loop, then
// the targets' addresses (the reply's additional section, else a normal host
// lookup of each target), as the join's seed addresses. Nothing blocks the
// loop: the query goes over a UDP socket to the first nameserver of
// /etc/resolv.conf, resent after `options timeout:N` up to `attempts:N`
// times (glibc's defaults 5 s and 2 when not set); replies that do not answer
// it (srv_reply.hpp) are counted and dropped.
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "agent/srv_reply.hpp"
#include "swim/address.hpp"

namespace chorus::agent::srv {

struct lookup_options {
  asio::ip::udp::endpoint server;
  std::chrono::milliseconds timeout{5000};
  int attempts = 2;
};
struct lookup_result {
  reply answer;             // verdict answered or failed (never ignored)
  std::size_t ignored = 0;  // datagrams dropped: malformed, wrong ID, other question
};
// One SRV lookup; `done` runs on `io` exactly once (unless `io` stops first).
void lookup(asio::io_context& io, const dns::name& qname, const lookup_options& options,
            std::function<void(lookup_result)> done);

// The seeds of one "srv:NAME" join argument. Every failure is one entry
// "Failed to resolve srv:NAME: WHY" (join_text.hpp), in target order.
struct join_seeds {
  std::vector<swim::address> addresses;
  std::vector<std::string> errors;
  std::size_t ignored_replies = 0;
};
// `resolv_conf` names the nameserver file (tests point it elsewhere).
void resolve_join_argument(asio::io_context& io, const std::string& arg, std::function<void(join_seeds)> done,
                           const std::string& resolv_conf = "/etc/resolv.conf");

}  // namespace chorus::agent::srv
