#pragma once
// `-metrics-addr`: a deliberately small HTTP/1.x server on the daemon's
// io_context that answers GET (or HEAD) /metrics with the Prometheus text
// exposition (prometheus.hpp) and nothing else.
//
// Bounded so that a scraper, a port scanner or an attacker never harms
// gossip: at most `max_connections` at once (more are closed at accept), a
// request head of at most `max_head` bytes (else 431), one deadline for the
// whole exchange (read + write), one request per connection (Connection:
// close), request bodies ignored. Other paths get 404, other methods 405, an
// unparsable head 400. Everything async; the render callback runs on the io
// thread between two gossip events and only reads counters.
#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace chorus::agent {

struct http_request_head {
  std::string method, target, version;
};

enum class http_head_status { incomplete, complete, malformed, too_large };

// Looks for a complete request head ("...\r\n\r\n", bare "\n\n" accepted) in
// `buf` and parses its request line. too_large when no head ends within
// `max_head` bytes.
http_head_status parse_http_head(std::string_view buf, std::size_t max_head, http_request_head& out);

// A complete HTTP/1.1 response with Content-Length and Connection: close.
// `head_only`: headers only (HEAD requests).
std::string http_response(int code, std::string_view content_type, std::string_view body, bool head_only = false);

// What a request gets: status code, content type and body.
struct http_reply {
  int code = 200;
  std::string content_type;
  std::string body;
};
http_reply route_metrics_request(const http_request_head& h, const std::function<std::string()>& render);

class metrics_server {
 public:
  struct options {
    std::size_t max_head = 8 * 1024;
    std::chrono::milliseconds timeout{5000};  // whole exchange
    std::size_t max_connections = 16;
  };
  struct counters {
    std::uint64_t requests = 0;  // answered, any status
    std::uint64_t errors = 0;    // answered with 4xx
    std::uint64_t refused = 0;   // over max_connections
    std::uint64_t timeouts = 0;  // closed at the deadline before a request head arrived
  };
  using render_fn = std::function<std::string()>;
  using log_fn = std::function<void(int level, const std::string&)>;  // 0 debug, 1 info, 2 warn

  metrics_server(asio::io_context& io, options opt, render_fn render, log_fn log = {});
  ~metrics_server();
  metrics_server(const metrics_server&) = delete;
  metrics_server& operator=(const metrics_server&) = delete;

  // "" on success, else why the listener could not be opened.
  std::string listen(const asio::ip::tcp::endpoint& ep);
  std::uint16_t port() const { return port_; }
  void close();
  const counters& stats() const { return counters_; }
  std::size_t connections() const { return open_; }

 private:
  struct connection;
  void accept();

  asio::io_context& io_;
  options opt_;
  render_fn render_;
  log_fn log_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::uint16_t port_ = 0;
  std::size_t open_ = 0;
  counters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chorus::agent
