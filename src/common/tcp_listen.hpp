#pragma once
// Opening a listening TCP socket, the same steps for every Asio listener
// (the RPC server, the metrics server). Header-only and for the Asio layers
// only: the pure layers never include it.
#include <asio/error_code.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/socket_base.hpp>

namespace chorus {

// Opens `acceptor` on `ep` and listens. SO_REUSEADDR lets a restarted agent
// take its port back while old connections linger in TIME_WAIT, as Go's
// listeners do. `v6_only` keeps an IPv6 listener off IPv4 (a dual-stack
// socket otherwise). On failure the acceptor is closed again and the error
// returned.
inline asio::error_code listen_tcp(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& ep, bool v6_only) {
  asio::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && v6_only && ep.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    asio::error_code ignored;
    acceptor.close(ignored);
  }
  return ec;
}

}  // namespace chorus
