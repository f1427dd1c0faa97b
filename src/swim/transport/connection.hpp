#pragma once
// What the TCP connection objects on the io thread share: the transport's
// inbound and outbound exchanges (tcp_inbound.cpp, tcp_outbound.cpp) and the
// agent's metrics connections (agent/http_server.cpp). Each such object
// owns its socket and a deadline timer, and ends exactly once.
#include <asio/error_code.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "swim/stream_framer.hpp"
#include "swim/time.hpp"

namespace chorus::swim::transport {

// A protocol time on the steady clock (the transport's timeline, now()).
inline std::chrono::steady_clock::time_point to_steady(time_point t) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(t.time_since_epoch()));
}

// Ends a connection once: cancels its deadline timer, shuts the socket down
// both ways and closes it. False (nothing done) when `done` was already set.
// Errors are ignored: the peer may be gone already, and there is nothing
// left to tell it.
inline bool close_once(bool& done, asio::ip::tcp::socket& sock, asio::steady_timer& timer) {
  if (done) return false;
  done = true;
  asio::error_code ec;
  timer.cancel();
  sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  sock.close(ec);
  return true;
}

// Feeds bytes just read to the framer and keeps in `message` only those that
// belong to the message (a peer may send more, but its next bytes are not
// ours to decode).
inline stream_framer::status frame(stream_framer& framer, std::vector<std::uint8_t>& message,
                                   std::span<const std::uint8_t> got) {
  const auto st = framer.feed(got);
  const auto keep = static_cast<std::ptrdiff_t>(framer.size() - message.size());
  message.insert(message.end(), got.begin(), got.begin() + keep);
  return st;
}

}  // namespace chorus::swim::transport
