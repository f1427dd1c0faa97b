#include "swim/transport/transport.hpp"

#include <algorithm>

#include "swim/codec.hpp"
#include "swim/packet.hpp"

namespace chorus::swim::transport {

time_point now() {
  return time_point(std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch()));
}

namespace {

std::chrono::steady_clock::time_point to_steady(time_point t) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(t.time_since_epoch()));
}

std::uint8_t stream_type(const stream_message& m) {
  static constexpr std::array<message_type, 5> types{message_type::push_pull, message_type::ping, message_type::ack,
                                                     message_type::user, message_type::err};
  return static_cast<std::uint8_t>(types[m.index()]);
}

}  // namespace

const char* message_counts::label(std::size_t slot) {
  static constexpr std::array<const char*, slots> names{"ping",    "indirect_ping", "ack",      "suspect", "alive",
                                                        "dead",    "push_pull",     "compound", "user",    "compress",
                                                        "encrypt", "nack",          "has_crc",  "err",     "other"};
  return slot < slots ? names[slot] : "other";
}

void duration_histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  ++counts[i];
  sum += seconds;
  ++count;
}

address to_address(const asio::ip::address& ip, std::uint16_t port) {
  if (ip.is_v4()) {
    const auto b = ip.to_v4().to_bytes();
    return address::from(b, port);
  }
  const auto v6 = ip.to_v6();
  if (v6.is_v4_mapped()) {
    const auto b = asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes();
    return address::from(b, port);
  }
  const auto b = v6.to_bytes();
  return address::from(b, port);
}

asio::ip::address to_ip(const address& a) {
  if (a.ip_len == 4) return asio::ip::address_v4({a.ip[0], a.ip[1], a.ip[2], a.ip[3]});
  asio::ip::address_v6::bytes_type b{};
  std::copy_n(a.ip.begin(), 16, b.begin());
  return asio::ip::address_v6(b);
}

// ---------------------------------------------------------------------------
// One inbound TCP exchange: read one stream message under a deadline, answer,
// close. Owns its socket, buffer and timer (STYLE #15).
struct transport::inbound : std::enable_shared_from_this<transport::inbound> {
  inbound(transport& t, asio::ip::tcp::socket s) : t_(t), alive_(t.alive_), sock_(std::move(s)), timer_(t.io_) {}
  ~inbound() {
    if (*alive_) --t_.inbound_;
  }

  void start() {
    timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(t_.opt_.tcp_timeout));
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || !*self->alive_ || self->done_) return;
      ++self->t_.stats_.tcp_timeouts;
      self->finish();
    });
    read();
  }

  void read() {
    chunk_.resize(16 * 1024);
    sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (!*self->alive_ || self->done_) return;
      if (ec) return self->finish();
      self->buf_.insert(self->buf_.end(), self->chunk_.begin(), self->chunk_.begin() + static_cast<std::ptrdiff_t>(n));
      self->try_decode();
    });
  }

  void try_decode() {
    auto opened = decode_stream(buf_, t_.in_stream_opts());
    if (!opened.ok()) {
      if (opened.incomplete && buf_.size() < t_.opt_.max_stream_bytes) return read();
      ++t_.stats_.tcp_malformed;
      t_.log(0, "transport: bad stream from " + peer() + ": " + opened.error.what);
      // Layer failures (encryption policy, decryption, label) get an err
      // reply, as memberlist sends; anything else is closed silently.
      const auto& w = opened.error.what;
      if (w == remote_encrypted_error || w == remote_not_encrypted_error || w.rfind("decrypt", 0) == 0 ||
          w.find("label") != std::string::npos) {
        ++t_.stats_.tcp_err_replies;
        return reply(err{w});
      }
      return finish();
    }
    const time_point n = now();
    const address from = remote_address();
    t_.stats_.in.add(stream_type(opened.msg), buf_.size());
    if (auto* pp = std::get_if<push_pull>(&opened.msg)) {
      ++t_.stats_.push_pulls_served;
      push_pull mine = t_.driver_.on_push_pull(n, from, *pp, t_);
      return reply(std::move(mine));
    }
    if (auto* p = std::get_if<ping>(&opened.msg)) {
      ++t_.stats_.tcp_pings_served;
      if (auto a = t_.driver_.on_stream_ping(*p)) return reply(*a);
      return finish();
    }
    if (auto* u = std::get_if<user>(&opened.msg)) {
      ++t_.stats_.stream_user_messages;
      t_.driver_.on_stream_user(n, u->payload, t_);
      return finish();
    }
    ++t_.stats_.tcp_malformed;  // ack/err are replies only
    finish();
  }

  void reply(stream_message m) {
    auto enc = encode_stream(m, t_.out_stream_opts());
    if (!enc.ok()) {
      t_.log(2, "transport: cannot encode stream reply: " + enc.error);
      return finish();
    }
    t_.stats_.out.add(stream_type(m), enc.data.size());
    out_ = std::move(enc.data);
    asio::async_write(sock_, asio::buffer(out_), [self = shared_from_this()](const asio::error_code&, std::size_t) {
      if (!*self->alive_) return;
      self->finish();
    });
  }

  void finish() {
    if (done_) return;
    done_ = true;
    asio::error_code ec;
    timer_.cancel();
    sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }

  address remote_address() const {
    asio::error_code ec;
    auto ep = sock_.remote_endpoint(ec);
    return ec ? address{} : to_address(ep.address(), ep.port());
  }
  std::string peer() const { return remote_address().to_string(); }

  transport& t_;
  std::shared_ptr<bool> alive_;
  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  std::vector<std::uint8_t> buf_, chunk_, out_;
  bool done_ = false;
};

// ---------------------------------------------------------------------------
// One outbound exchange (push/pull or TCP ping): connect, write, read the
// reply, report exactly once (success, failure or deadline).
struct transport::outbound : std::enable_shared_from_this<transport::outbound> {
  outbound(transport& t, exchange_id id, bool is_ping, std::uint32_t seq)
      : t_(t), alive_(t.alive_), id_(id), is_ping_(is_ping), seq_(seq), sock_(t.io_), timer_(t.io_) {}

  void start(const address& to, bytes request, time_point deadline) {
    out_ = std::move(request);
    to_ = to;
    started_ = std::chrono::steady_clock::now();
    t_.stats_.out.add(static_cast<std::uint8_t>(is_ping_ ? message_type::ping : message_type::push_pull), out_.size());
    timer_.expires_at(to_steady(deadline));
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || !*self->alive_) return;
      self->fail("deadline passed");
    });
    const asio::ip::tcp::endpoint ep(to_ip(to), to.port);
    sock_.async_connect(ep, [self = shared_from_this()](const asio::error_code& ec) {
      if (!*self->alive_ || self->done_) return;
      if (ec) return self->fail("connect: " + ec.message());
      asio::async_write(self->sock_, asio::buffer(self->out_), [self](const asio::error_code& ec2, std::size_t) {
        if (!*self->alive_ || self->done_) return;
        if (ec2) return self->fail("write: " + ec2.message());
        self->read();
      });
    });
  }

  void read() {
    chunk_.resize(16 * 1024);
    sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (!*self->alive_ || self->done_) return;
      if (!ec)
        self->buf_.insert(self->buf_.end(), self->chunk_.begin(),
                          self->chunk_.begin() + static_cast<std::ptrdiff_t>(n));
      auto opened = decode_stream(self->buf_, self->t_.in_stream_opts());
      if (!opened.ok()) {
        if (opened.incomplete && !ec && self->buf_.size() < self->t_.opt_.max_stream_bytes) return self->read();
        return self->fail(ec && self->buf_.empty() ? "read: " + ec.message() : "reply: " + opened.error.what);
      }
      self->complete(opened.msg);
    });
  }

  void complete(const stream_message& m) {
    t_.stats_.in.add(stream_type(m), buf_.size());
    if (auto* e = std::get_if<err>(&m)) return fail("remote error: " + e->error);
    if (is_ping_) {
      const auto* a = std::get_if<ack>(&m);
      if (!a || a->seq_no != seq_) return fail("unexpected reply to TCP ping");
      close();
      t_.driver_.on_tcp_ping_done(now(), id_, true, t_);
      return;
    }
    const auto* pp = std::get_if<push_pull>(&m);
    if (!pp) return fail("unexpected reply to push/pull");
    close();
    t_.stats_.push_pull_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    t_.driver_.on_push_pull_done(now(), id_, pp, t_);
  }

  void fail(const std::string& why) {
    if (done_) return;
    close();
    ++t_.stats_.exchanges_failed;
    ++(is_ping_ ? t_.stats_.tcp_pings_failed : t_.stats_.push_pulls_failed);
    t_.last_exchange_error_ = to_.to_string() + ": " + why;
    t_.log(0, std::string(is_ping_ ? "TCP ping" : "push/pull") + " with " + to_.to_string() + " failed: " + why);
    if (is_ping_)
      t_.driver_.on_tcp_ping_done(now(), id_, false, t_);
    else
      t_.driver_.on_push_pull_done(now(), id_, nullptr, t_);
  }

  void close() {
    done_ = true;
    asio::error_code ec;
    timer_.cancel();
    sock_.close(ec);
  }

  transport& t_;
  std::shared_ptr<bool> alive_;
  exchange_id id_;
  bool is_ping_;
  std::uint32_t seq_;
  address to_;
  std::chrono::steady_clock::time_point started_{};
  asio::ip::tcp::socket sock_;
  asio::steady_timer timer_;
  std::vector<std::uint8_t> out_, buf_, chunk_;
  bool done_ = false;
};

// ---------------------------------------------------------------------------

transport::transport(asio::io_context& io, options opt, driver& d, runtime* upper, log_function log)
    : io_(io),
      opt_(std::move(opt)),
      driver_(d),
      upper_(upper),
      log_(std::move(log)),
      udp_(io),
      acceptor_(io),
      rx_(udp_receive_buffer),
      timer_(io) {}

transport::~transport() {
  *alive_ = false;
  close();
}

void transport::log(int level, const std::string& text) const {
  if (log_) log_(level, text);
}

std::string transport::open() {
  asio::error_code ec;
  const asio::ip::udp::endpoint uep(opt_.bind_ip, opt_.port);
  udp_.open(uep.protocol(), ec);
  if (!ec && opt_.bind_ip.is_v6()) udp_.set_option(asio::ip::v6_only(true), ec);
  if (!ec) udp_.bind(uep, ec);
  if (ec) return "failed to bind UDP " + fmt_endpoint() + ": " + ec.message();
  port_ = udp_.local_endpoint(ec).port();
  udp_.non_blocking(true, ec);
  // A larger kernel buffer absorbs bursts (memberlist asks for 2 MiB).
  udp_.set_option(asio::socket_base::receive_buffer_size(2 << 20), ec);
  ec.clear();

  const asio::ip::tcp::endpoint tep(opt_.bind_ip, port_);
  acceptor_.open(tep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && opt_.bind_ip.is_v6()) acceptor_.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor_.bind(tep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    udp_.close(ec);
    return "failed to bind TCP " + fmt_endpoint() + ": " + ec.message();
  }
  receive();
  accept();
  return {};
}

std::string transport::fmt_endpoint() const {
  const std::string ip = opt_.bind_ip.to_string();
  return (opt_.bind_ip.is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(opt_.port);
}

void transport::close() {
  asio::error_code ec;
  udp_.close(ec);
  acceptor_.close(ec);
  timer_.cancel();
}

void transport::receive() {
  udp_.async_receive_from(asio::buffer(rx_), sender_,
                          [this, alive = alive_](const asio::error_code& ec, std::size_t n) {
                            if (!*alive || !udp_.is_open()) return;
                            if (!ec) on_datagram(n);
                            if (ec == asio::error::operation_aborted) return;
                            receive();
                          });
}

void transport::on_datagram(std::size_t n) {
  if (n == 0) return;  // memberlist ignores empty datagrams
  ++stats_.udp_received;
  stats_.udp_bytes_received += n;
  open_options o;
  o.keys = opt_.keys && !opt_.keys->empty() ? opt_.keys : nullptr;
  o.label = opt_.label;
  o.skip_label_check = opt_.skip_label_check;
  auto p = swim::open(std::span<const std::uint8_t>(rx_.data(), n), o);
  if (!p.ok()) {
    ++stats_.udp_malformed;
    // Count always, log sparingly: a flood must not become a log flood.
    if (stats_.udp_malformed <= 10 || stats_.udp_malformed % 1000 == 0)
      log(0, "transport: dropped datagram from " + to_address(sender_.address(), sender_.port()).to_string() + ": " +
                 p.error.what + " (" + std::to_string(stats_.udp_malformed) + " so far)");
    return;
  }
  if (!p.part_errors.empty()) ++stats_.udp_malformed;
  const address from = to_address(sender_.address(), sender_.port());
  const time_point t = now();
  for (const auto& m : p.messages) {
    if (!m.wire.empty()) stats_.in.add(m.wire[0], m.wire.size());
    driver_.on_message(t, from, m.msg, m.wire, *this);
  }
}

void transport::accept() {
  acceptor_.async_accept([this, alive = alive_](const asio::error_code& ec, asio::ip::tcp::socket s) {
    if (!*alive || !acceptor_.is_open()) return;
    if (!ec) {
      if (inbound_ >= opt_.max_inbound_tcp) {
        ++stats_.tcp_refused;
        asio::error_code ignored;
        s.close(ignored);
      } else {
        ++stats_.tcp_accepted;
        ++inbound_;
        std::make_shared<inbound>(*this, std::move(s))->start();
      }
    }
    if (ec == asio::error::operation_aborted) return;
    accept();
  });
}

stream_options transport::out_stream_opts() const {
  stream_options o;
  o.compress = opt_.compress;
  o.keys = opt_.keys && !opt_.keys->empty() ? opt_.keys : nullptr;
  o.label = opt_.label;
  return o;
}

stream_open_options transport::in_stream_opts() const {
  stream_open_options o;
  o.keys = opt_.keys && !opt_.keys->empty() ? opt_.keys : nullptr;
  o.label = opt_.label;
  o.skip_label_check = opt_.skip_label_check;
  return o;
}

void transport::send_packet(const address& to, bytes packet, bool crc) {
  seal_options o;
  o.compress = opt_.compress;
  o.crc = crc;
  o.keys = opt_.keys && !opt_.keys->empty() ? opt_.keys : nullptr;
  o.label = opt_.label;
  auto s = seal(packet, o);
  if (!s.ok()) {
    ++stats_.udp_seal_errors;
    log(2, "transport: cannot seal packet: " + s.error);
    return;
  }
  asio::error_code ec;
  udp_.send_to(asio::buffer(s.data), asio::ip::udp::endpoint(to_ip(to), to.port), 0, ec);
  if (ec) {
    // Non-blocking: a full kernel queue or an unreachable family drops the
    // packet, as UDP may anyway; SWIM tolerates loss.
    ++stats_.udp_send_dropped;
    return;
  }
  ++stats_.udp_sent;
  stats_.udp_bytes_sent += s.data.size();
  if (packet.empty()) return;
  if (packet[0] != static_cast<std::uint8_t>(message_type::compound)) return stats_.out.add(packet[0], packet.size());
  if (auto parts = split_compound(packet); parts.ok())
    for (const auto& part : parts.value.parts)
      if (!part.empty()) stats_.out.add(part[0], part.size());
}

void transport::set_timer(time_point at, timer_token token) {
  timers_.emplace(at, token);
  arm_timer();
}

void transport::arm_timer() {
  if (timers_.empty()) return;
  const time_point first = timers_.top().first;
  if (armed_at_ && *armed_at_ <= first) return;
  armed_at_ = first;
  timer_.expires_at(to_steady(first));
  timer_.async_wait([this, alive = alive_](const asio::error_code& ec) {
    if (!*alive || ec) return;  // cancelled: a re-arm replaced this wait
    armed_at_.reset();
    on_timer_fired();
  });
}

void transport::on_timer_fired() {
  const time_point t = now();
  // Pop what is due first: handlers may add timers to the heap.
  std::vector<timer_token> due;
  while (!timers_.empty() && timers_.top().first <= t) {
    due.push_back(timers_.top().second);
    timers_.pop();
  }
  for (auto token : due) driver_.on_timer(t, token, *this);
  arm_timer();
}

void transport::start_push_pull(const address& to, exchange_id id, const push_pull& request, time_point deadline) {
  ++stats_.exchanges_started;
  ++stats_.push_pulls_started;
  auto enc = encode_stream(request, out_stream_opts());
  auto ex = std::make_shared<outbound>(*this, id, false, 0);
  if (!enc.ok()) {
    // Report asynchronously: the core must not be re-entered from here.
    asio::post(io_, [ex, why = enc.error] { ex->fail("encode: " + why); });
    return;
  }
  ex->start(to, std::move(enc.data), deadline);
}

void transport::start_tcp_ping(const address& to, exchange_id id, const ping& request, time_point deadline) {
  ++stats_.exchanges_started;
  ++stats_.tcp_pings_started;
  auto enc = encode_stream(request, out_stream_opts());
  auto ex = std::make_shared<outbound>(*this, id, true, request.seq_no);
  if (!enc.ok()) {
    asio::post(io_, [ex, why = enc.error] { ex->fail("encode: " + why); });
    return;
  }
  ex->start(to, std::move(enc.data), deadline);
}

}  // namespace chorus::swim::transport
