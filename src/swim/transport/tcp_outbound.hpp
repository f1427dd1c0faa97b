#pragma once
// Internal to the transport: one outbound TCP exchange (tcp_outbound.cpp).
#include <chrono>
#include <memory>
#include <vector>

#include "swim/stream_framer.hpp"
#include "swim/transport/transport.hpp"

namespace chorus::swim::transport {

// One outbound exchange (push/pull or TCP ping): connect, write, read the
// reply, report exactly once (success, failure or deadline).
struct transport::outbound : std::enable_shared_from_this<transport::outbound> {
  outbound(transport& t, exchange_id id, bool is_ping, std::uint32_t seq);

  void start(const address& to, bytes request, time_point deadline);
  // Connect from the bind address when there is one, as our UDP packets
  // come from it: the peer then sees the address it knows us by and gives
  // our exchanges a member's admission (transport::admit). With a wildcard
  // bind (or another address family) the kernel picks, as before.
  void bind_source(const asio::ip::tcp::endpoint& to);
  // The reply is framed as it arrives, like an inbound stream (a malicious
  // or broken peer may answer slowly or endlessly), and decoded once.
  void read();
  void on_bytes(std::size_t n);
  // The connection ended (`ec`) before the reply was whole.
  void on_read_error(const asio::error_code& ec);
  void complete(const stream_message& m);
  void fail(exchange_error why);
  void close();

  transport& t_;
  std::shared_ptr<bool> alive_;
  exchange_id id_;
  bool is_ping_;
  std::uint32_t seq_;
  address to_;
  std::chrono::steady_clock::time_point started_{};
  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  stream_framer framer_;
  std::vector<std::uint8_t> out_, buf_, chunk_;
  bool done_ = false;
};

}  // namespace chorus::swim::transport
