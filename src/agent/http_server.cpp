#include "agent/http_server.hpp"

#include <asio/write.hpp>
#include <nlohmann/json.hpp>

#include "common/tcp_listen.hpp"
#include "swim/transport/connection.hpp"

namespace chorus::agent {

namespace {
std::string json_error(std::string_view message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}
}  // namespace

class http_server::connection final : public http_exchange, public std::enable_shared_from_this<connection> {
 public:
  connection(http_server& s, asio::ip::tcp::socket sock)
      : s_(s), alive_(s.alive_), sock_(std::move(sock)), timer_(s.io_), parser_(s.opt_.max_head, s.opt_.max_body) {}
  ~connection() override {
    if (*alive_) --s_.open_;
  }

  void start() {
    arm_deadline();
    read();
  }

  // --- http_exchange ---------------------------------------------------------
  using http_exchange::reply;
  void reply(int code, std::string_view content_type, std::string_view body,
             const std::vector<std::string>& extra) override {
    if (!open() || answered_) return;
    count(code);
    answered_ = true;
    enqueue(http_response(code, content_type, body, request_.method == "HEAD", extra));
    finish_after_write();
  }
  void begin_stream(int code, std::string_view content_type) override {
    if (!open() || answered_) return;
    count(code);
    answered_ = streaming_ = true;
    timer_.cancel();  // a stream lives as long as its reader
    enqueue(http_stream_head(code, content_type));
  }
  bool send(std::string_view data) override {
    if (!open() || !streaming_ || closing_) return false;
    auto chunk = http_chunk(data);
    if (queued_ + chunk.size() > s_.opt_.max_write_queue) {
      ++s_.counters_.dropped_chunks;
      return false;
    }
    enqueue(std::move(chunk));
    return true;
  }
  void end_stream() override {
    if (!open() || !streaming_ || closing_) return;
    enqueue(http_chunk(""));
    finish_after_write();
  }
  bool open() const override { return *alive_ && !done_; }
  void on_close(std::function<void()> f) override { on_close_ = std::move(f); }

 private:
  void count(int code) {
    ++s_.counters_.requests;
    if (code >= 400) ++s_.counters_.errors;
  }

  void arm_deadline() {
    timer_.expires_after(s_.opt_.timeout);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || !self->open()) return;
      if (!self->answered_) ++self->s_.counters_.timeouts;
      self->finish();
    });
  }

  void read() {
    chunk_.resize(2048);
    sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (!self->open()) return;
      if (ec) return self->read_ended(ec);
      if (self->have_request_) {
        // After the request: read only to notice the client leaving.
        self->drained_ += n;
        if (self->drained_ > max_drain) return self->finish();
        return self->read();
      }
      switch (self->parser_.feed(std::string_view(self->chunk_.data(), n))) {
        case http_parse_status::incomplete:
          return self->read();
        case http_parse_status::head_too_large:
          return self->refuse(431, "request head too large");
        case http_parse_status::body_too_large:
          return self->refuse(413, "request body too large");
        case http_parse_status::malformed:
          return self->refuse(400, "malformed HTTP request");
        case http_parse_status::complete:
          break;
      }
      self->have_request_ = true;
      self->request_ = self->parser_.request();
      self->read();
      if (self->request_.version != "HTTP/1.1" && self->request_.version != "HTTP/1.0")
        return self->refuse(505, "HTTP version not supported");
      self->timer_.cancel();  // the handler owns the time from here (a query may take its timeout)
      self->s_.handler_(self->request_, self->shared_from_this());
    });
  }

  void read_ended(const asio::error_code& ec) {
    // A client that half-closes after its request still gets its answer;
    // one that leaves a stream, or before sending a request, is gone.
    if (ec == asio::error::eof && have_request_ && !streaming_ && !closing_) return;
    finish();
  }

  void refuse(int code, std::string_view why) {
    have_request_ = true;
    reply(code, "application/json", json_error(why));
  }

  void enqueue(std::string data) {
    queued_ += data.size();
    queue_.push_back(std::move(data));
    if (!writing_) write_next();
  }

  void write_next() {
    if (queue_.empty()) {
      writing_ = false;
      if (closing_) half_close();
      return;
    }
    writing_ = true;
    asio::async_write(sock_, asio::buffer(queue_.front()),
                      [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
                        if (!self->open()) return;
                        if (ec) return self->finish();
                        self->queued_ -= self->queue_.front().size();
                        self->queue_.pop_front();
                        self->write_next();
                      });
  }

  void finish_after_write() {
    closing_ = true;
    arm_deadline();
    if (!writing_) write_next();
  }

  // Half-close, then read what the client still sends until it closes:
  // closing with unread data would reset the connection and could destroy
  // the response before it is read. The deadline bounds the wait.
  void half_close() {
    asio::error_code ignored;
    sock_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    if (!have_request_) read();
  }

  void finish() {
    swim::transport::close_once(done_, sock_, timer_);
    if (auto f = std::move(on_close_)) {
      on_close_ = nullptr;
      f();
    }
  }

  http_server& s_;
  std::shared_ptr<bool> alive_;
  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  http_request_parser parser_;
  http_request request_;
  std::vector<char> chunk_;
  std::deque<std::string> queue_;
  std::size_t queued_ = 0, drained_ = 0;
  std::function<void()> on_close_;
  bool done_ = false, have_request_ = false, answered_ = false, streaming_ = false, closing_ = false, writing_ = false;
  static constexpr std::size_t max_drain = 64 * 1024;
};

http_server::http_server(asio::io_context& io, options opt, handler h, std::string name, log_fn log)
    : io_(io),
      opt_(opt),
      handler_(std::move(h)),
      name_(std::move(name)),
      log_(std::move(log)),
      acceptor_(io),
      retry_(io) {}

http_server::~http_server() {
  *alive_ = false;
  close();
}

std::string http_server::listen(const asio::ip::tcp::endpoint& ep) {
  auto ec = listen_tcp(acceptor_, ep, true);
  if (ec) return ec.message();
  port_ = acceptor_.local_endpoint(ec).port();
  accept();
  return {};
}

void http_server::close() {
  asio::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

void http_server::accept() {
  acceptor_.async_accept([this, alive = alive_](const asio::error_code& ec, asio::ip::tcp::socket s) {
    if (!*alive || !acceptor_.is_open()) return;
    if (!ec) {
      if (open_ >= opt_.max_connections) {
        ++counters_.refused;
        if (log_ && (counters_.refused <= 10 || counters_.refused % 1000 == 0))
          log_(2, "agent: " + name_ + ": too many connections, refused one (" + std::to_string(counters_.refused) +
                      " so far)");
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
