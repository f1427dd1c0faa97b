#pragma once
// The agent's HTTP/1.1 listener, on the daemon's io_context: used by the
// HTTP API (`-http-addr`, http_api.hpp) and by `-metrics-addr`. Requests are
// parsed by http_message.hpp (Debian's http_parser); a handler answers each
// one through its `http_exchange`, at once or later (a query, a join), or
// streams (Server-Sent Events, JSON lines).
//
// Bounded so that a scraper, a port scanner or an attacker never harms
// gossip: at most `max_connections` at once (more are closed at accept), a
// request head of at most `max_head` bytes (431) and a body of at most
// `max_body` (413), a deadline to receive the request and another to write
// a whole answer, one request per connection (Connection: close), and per
// connection a bounded write queue: a stream whose reader is too slow loses
// chunks (counted), never grows memory. Everything async.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/http_message.hpp"

namespace chorus::agent {

class http_server;

// One request's answer. Methods run on the io thread; after the client went
// away they do nothing (see open()).
class http_exchange {
 public:
  virtual ~http_exchange() = default;
  // A complete response, then the connection closes. `extra_headers`: whole
  // header lines without CRLF ("Allow: GET").
  virtual void reply(int code, std::string_view content_type, std::string_view body,
                     const std::vector<std::string>& extra_headers) = 0;
  void reply(int code, std::string_view content_type, std::string_view body) { reply(code, content_type, body, {}); }
  // Starts a chunked response; `send` appends a chunk, `end` finishes it.
  // send() returns false when the chunk was dropped (queue full, or closed).
  virtual void begin_stream(int code, std::string_view content_type) = 0;
  virtual bool send(std::string_view data) = 0;
  virtual void end_stream() = 0;
  virtual bool open() const = 0;
  // Runs once when the connection closes (client gone, or after the answer).
  virtual void on_close(std::function<void()> f) = 0;
};

class http_server {
 public:
  struct options {
    std::size_t max_head = 8 * 1024;
    std::size_t max_body = 1u << 20;
    std::chrono::milliseconds timeout{5000};  // to receive a request, and to write a whole reply
    std::size_t max_connections = 16;
    std::size_t max_write_queue = 256 * 1024;  // bytes queued per streaming connection
  };
  struct counters {
    std::uint64_t requests = 0;        // answered, any status
    std::uint64_t errors = 0;          // answered with 4xx/5xx
    std::uint64_t refused = 0;         // over max_connections
    std::uint64_t timeouts = 0;        // closed at the deadline before a request arrived
    std::uint64_t dropped_chunks = 0;  // stream chunks dropped for slow readers
  };
  using handler = std::function<void(const http_request&, std::shared_ptr<http_exchange>)>;
  using log_fn = std::function<void(int level, const std::string&)>;  // 0 debug, 1 info, 2 warn

  http_server(asio::io_context& io, options opt, handler h, std::string name, log_fn log = {});
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // "" on success, else why the listener could not be opened.
  std::string listen(const asio::ip::tcp::endpoint& ep);
  std::uint16_t port() const { return port_; }
  void close();
  const counters& stats() const { return counters_; }
  std::size_t connections() const { return open_; }

 private:
  class connection;
  void accept();

  asio::io_context& io_;
  options opt_;
  handler handler_;
  std::string name_;  // for log lines: "metrics", "http"
  log_fn log_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::uint16_t port_ = 0;
  std::size_t open_ = 0;
  counters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chorus::agent
