#include "agent/metrics_server.hpp"

#include "agent/prometheus.hpp"
#include "common/tcp_listen.hpp"
#include "swim/transport/connection.hpp"

namespace chorus::agent {

namespace {

const char* reason(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

bool token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' ||
         c == '^' || c == '`' || c == '|' || c == '~';
}

}  // namespace

http_head_status parse_http_head(std::string_view buf, std::size_t max_head, http_request_head& out) {
  std::size_t end = buf.find("\r\n\r\n");
  std::size_t head_len = end == std::string_view::npos ? std::string_view::npos : end + 4;
  if (const auto lf = buf.find("\n\n");
      lf != std::string_view::npos && (head_len == std::string_view::npos || lf + 2 < head_len))
    head_len = lf + 2;
  if (head_len == std::string_view::npos)
    return buf.size() >= max_head ? http_head_status::too_large : http_head_status::incomplete;
  if (head_len > max_head) return http_head_status::too_large;
  // Request line: METHOD SP TARGET SP HTTP/1.x
  std::string_view line = buf.substr(0, buf.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return http_head_status::malformed;
  const auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || sp2 == sp1 + 1) return http_head_status::malformed;
  out.method = std::string(line.substr(0, sp1));
  out.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  out.version = std::string(line.substr(sp2 + 1));
  for (char c : out.method)
    if (!token_char(c)) return http_head_status::malformed;
  for (char c : out.target)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return http_head_status::malformed;
  if (out.version.rfind("HTTP/", 0) != 0 || out.version.size() != 8) return http_head_status::malformed;
  return http_head_status::complete;
}

std::string http_response(int code, std::string_view content_type, std::string_view body, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + reason(code) + "\r\n";
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (code == 405) out += "Allow: GET, HEAD\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

http_reply route_metrics_request(const http_request_head& h, const std::function<std::string()>& render) {
  const std::string text = "text/plain; charset=utf-8";
  if (h.version != "HTTP/1.1" && h.version != "HTTP/1.0") return {505, text, "HTTP version not supported\n"};
  std::string_view path = h.target;
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path != "/metrics") return {404, text, "404 page not found\n"};
  if (h.method != "GET" && h.method != "HEAD") return {405, text, "method not allowed\n"};
  return {200, std::string(prometheus::content_type), render ? render() : std::string()};
}

// ---------------------------------------------------------------------------

struct metrics_server::connection : std::enable_shared_from_this<metrics_server::connection> {
  connection(metrics_server& s, asio::ip::tcp::socket sock)
      : s_(s), alive_(s.alive_), sock_(std::move(sock)), timer_(s.io_) {}
  ~connection() {
    if (*alive_) --s_.open_;
  }

  void start() {
    timer_.expires_after(s_.opt_.timeout);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || !*self->alive_ || self->done_) return;
      if (!self->responded_) ++self->s_.counters_.timeouts;  // not after an answer (draining)
      self->finish();
    });
    read();
  }

  void read() {
    chunk_.resize(2048);
    sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (!*self->alive_ || self->done_) return;
      if (ec) return self->finish();
      self->buf_.append(self->chunk_.data(), n);
      http_request_head h;
      switch (parse_http_head(self->buf_, self->s_.opt_.max_head, h)) {
        case http_head_status::incomplete:
          return self->read();
        case http_head_status::too_large:
          return self->respond({431, "text/plain; charset=utf-8", "request head too large\n"}, false);
        case http_head_status::malformed:
          return self->respond({400, "text/plain; charset=utf-8", "bad request\n"}, false);
        case http_head_status::complete:
          return self->respond(route_metrics_request(h, self->s_.render_), h.method == "HEAD");
      }
    });
  }

  void respond(const http_reply& r, bool head_only) {
    responded_ = true;
    ++s_.counters_.requests;
    if (r.code >= 400) ++s_.counters_.errors;
    buf_.clear();
    buf_.shrink_to_fit();
    out_ = http_response(r.code, r.content_type, r.body, head_only);
    asio::async_write(sock_, asio::buffer(out_), [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
      if (!*self->alive_) return;
      if (ec) return self->finish();
      // Half-close, then read what the client still sends (an oversized
      // head, a body) until it closes: closing with unread data would reset
      // the connection and could destroy the response before it is read.
      asio::error_code ignored;
      self->sock_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      self->drain();
    });
  }

  void drain() {
    sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (!*self->alive_ || self->done_) return;
      self->drained_ += n;
      if (ec || self->drained_ > max_drain) return self->finish();
      self->drain();
    });
  }

  void finish() { swim::transport::close_once(done_, sock_, timer_); }

  metrics_server& s_;
  std::shared_ptr<bool> alive_;
  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  std::string buf_, out_;
  std::vector<char> chunk_;
  std::size_t drained_ = 0;
  bool done_ = false, responded_ = false;
  static constexpr std::size_t max_drain = 64 * 1024;
};

metrics_server::metrics_server(asio::io_context& io, options opt, render_fn render, log_fn log)
    : io_(io), opt_(opt), render_(std::move(render)), log_(std::move(log)), acceptor_(io), retry_(io) {}

metrics_server::~metrics_server() {
  *alive_ = false;
  close();
}

std::string metrics_server::listen(const asio::ip::tcp::endpoint& ep) {
  auto ec = listen_tcp(acceptor_, ep, true);
  if (ec) return ec.message();
  port_ = acceptor_.local_endpoint(ec).port();
  accept();
  return {};
}

void metrics_server::close() {
  asio::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

void metrics_server::accept() {
  acceptor_.async_accept([this, alive = alive_](const asio::error_code& ec, asio::ip::tcp::socket s) {
    if (!*alive || !acceptor_.is_open()) return;
    if (!ec) {
      if (open_ >= opt_.max_connections) {
        ++counters_.refused;
        if (log_ && (counters_.refused <= 10 || counters_.refused % 1000 == 0))
          log_(2,
               "agent: metrics: too many connections, refused one (" + std::to_string(counters_.refused) + " so far)");
        asio::error_code ignored;
        s.close(ignored);
      } else {
        ++open_;
        std::make_shared<connection>(*this, std::move(s))->start();
      }
    }
    if (ec == asio::error::operation_aborted) return;
    if (!ec) return accept();
    // Out of descriptors and the like: back off instead of spinning.
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([this, alive](const asio::error_code& e) {
      if (!e && *alive && acceptor_.is_open()) accept();
    });
  });
}

}  // namespace chorus::agent
