#include "swim/transport/transport.hpp"

#include <algorithm>

#include "swim/codec.hpp"
#include "swim/packet.hpp"
#include "swim/stream_framer.hpp"

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
// One inbound TCP exchange: frame one stream message as it arrives (each byte
// looked at once), decode it once, answer, close. Owns its socket, buffer and
// timer (STYLE #15). The timer enforces, in this order of expiry, the
// first-byte deadline, the minimum average rate and the overall timeout.
struct transport::inbound : std::enable_shared_from_this<transport::inbound> {
  inbound(transport& t, asio::ip::tcp::socket s, asio::ip::address source, bool member)
      : t_(t),
        alive_(t.alive_),
        sock_(std::move(s)),
        timer_(t.io_),
        source_(std::move(source)),
        member_(member),
        framer_(t.in_stream_opts()),
        accepted_(std::chrono::steady_clock::now()) {
    listed_ = t_.open_inbound_.insert(t_.open_inbound_.end(), this);
  }
  ~inbound() { release(); }

  // Gives the slot back (once): when the socket closes, not when the last
  // handler lets go of this object, so an evicted connection's slot is free
  // at once.
  void release() {
    if (released_ || !*alive_) return;
    released_ = true;
    t_.open_inbound_.erase(listed_);
    --t_.inbound_;
    if (!member_) --t_.strangers_;
    if (auto it = t_.per_source_.find(source_); it != t_.per_source_.end() && --it->second == 0)
      t_.per_source_.erase(it);
  }

  // A stranger that has not sent a byte yet: the first to make room.
  bool evictable() const { return !member_ && reading_ && received_ == 0 && !done_; }

  using steady = std::chrono::steady_clock;
  steady::duration as_steady(duration d) const { return std::chrono::duration_cast<steady::duration>(d); }

  void start() {
    arm(next_check());
    read();
  }

  // When the timer has to look next: the overall deadline, or earlier the
  // moment the bytes so far stop satisfying the first-byte deadline or the
  // minimum rate.
  steady::time_point next_check() const {
    const auto overall = accepted_ + as_steady(t_.opt_.tcp_timeout);
    if (!reading_) return overall;
    const auto grace = as_steady(t_.opt_.tcp_first_byte_timeout);
    // The rate is owed from the end of the grace on: without a grace
    // (first-byte timeout off) there is no rate check either.
    if (grace.count() <= 0) return overall;
    if (received_ == 0) return std::min(overall, accepted_ + grace);
    if (t_.opt_.tcp_min_bytes_per_second == 0) return overall;
    // Each byte received buys 1/rate s after the grace.
    const auto bought = std::chrono::duration_cast<steady::duration>(
        std::chrono::duration<double>(static_cast<double>(received_) / t_.opt_.tcp_min_bytes_per_second));
    return std::min(overall, accepted_ + grace + bought);
  }

  void arm(steady::time_point at) {
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || !*self->alive_ || self->done_) return;
      self->on_timer();
    });
  }

  void on_timer() {
    const auto n = steady::now();
    if (n >= accepted_ + as_steady(t_.opt_.tcp_timeout)) {
      ++t_.stats_.tcp_timeouts;
      return finish();
    }
    const auto check = next_check();
    if (n < check) return arm(check);  // bytes came in meanwhile
    // Count always, log sparingly: a flood must not become a log flood.
    auto& count = received_ == 0 ? t_.stats_.tcp_idle_closed : t_.stats_.tcp_slow_closed;
    ++count;
    if (count <= 10 || count % 1000 == 0)
      t_.log(0, "transport: closing " + peer() + ": " +
                    (received_ == 0 ? std::string("no request within the first-byte timeout")
                                    : std::to_string(received_) + " bytes is below the minimum rate") +
                    " (" + std::to_string(count) + " so far)");
    finish();
  }

  void read() {
    chunk_.resize(16 * 1024);
    sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (!*self->alive_ || self->done_) return;
      if (ec) return self->finish();
      self->on_bytes(n);
    });
  }

  void on_bytes(std::size_t n) {
    received_ += n;
    const std::span<const std::uint8_t> got(chunk_.data(), n);
    const auto st = framer_.feed(got);
    // Keep only the message's bytes (a peer may not send more, but its
    // next bytes are not ours to decode).
    const std::size_t keep = static_cast<std::size_t>(framer_.size() - buf_.size());
    buf_.insert(buf_.end(), got.begin(), got.begin() + static_cast<std::ptrdiff_t>(keep));
    if (st == stream_framer::status::bad) {
      ++t_.stats_.tcp_malformed;
      t_.log(0, "transport: bad stream from " + peer() + ": " + framer_.error());
      return finish();
    }
    if (st == stream_framer::status::more) {
      if (buf_.size() >= t_.opt_.max_stream_bytes) {
        ++t_.stats_.tcp_malformed;
        t_.log(0,
               "transport: stream from " + peer() + " exceeds " + std::to_string(t_.opt_.max_stream_bytes) + " bytes");
        return finish();
      }
      return read();
    }
    reading_ = false;
    decode();
  }

  // The framer found the end of the message (or a layer fault): decode it,
  // once.
  void decode() {
    stream_open_options o = t_.in_stream_opts();
    o.keep_inner = false;
    auto opened = decode_stream(buf_, o);
    if (!opened.ok()) {
      ++t_.stats_.tcp_malformed;
      t_.log(0, "transport: bad stream from " + peer() + ": " + opened.error.what);
      // Layer failures (encryption policy, decryption, label) get an err
      // reply, as memberlist sends; anything else is closed silently.
      const auto& w = opened.error.what;
      if (!opened.incomplete && (w == remote_encrypted_error || w == remote_not_encrypted_error ||
                                 w.rfind("decrypt", 0) == 0 || w.find("label") != std::string::npos)) {
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
    // Only the overall deadline bounds the reply's write.
    arm(next_check());
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
    release();
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
  asio::ip::address source_;
  bool member_;
  stream_framer framer_;
  steady::time_point accepted_;
  std::uint64_t received_ = 0;
  bool reading_ = true;
  std::vector<std::uint8_t> buf_, chunk_, out_;
  bool done_ = false;
  bool released_ = false;
  std::list<inbound*>::iterator listed_;  // in t_.open_inbound_
};

// ---------------------------------------------------------------------------
// One outbound exchange (push/pull or TCP ping): connect, write, read the
// reply, report exactly once (success, failure or deadline).
struct transport::outbound : std::enable_shared_from_this<transport::outbound> {
  outbound(transport& t, exchange_id id, bool is_ping, std::uint32_t seq)
      : t_(t),
        alive_(t.alive_),
        id_(id),
        is_ping_(is_ping),
        seq_(seq),
        sock_(t.io_),
        timer_(t.io_),
        framer_(t.in_stream_opts()) {}

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
    bind_source(ep);
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

  // Connect from the bind address when there is one, as our UDP packets
  // come from it: the peer then sees the address it knows us by and gives
  // our exchanges a member's admission (transport::admit). With a wildcard
  // bind (or another address family) the kernel picks, as before.
  void bind_source(const asio::ip::tcp::endpoint& to) {
    const auto& ip = t_.opt_.bind_ip;
    if (ip.is_unspecified() || ip.is_v4() != to.address().is_v4()) return;
    asio::error_code ec;
    sock_.open(to.protocol(), ec);
    if (!ec) sock_.bind(asio::ip::tcp::endpoint(ip, 0), ec);
    if (ec) {
      t_.log(0, "transport: connecting to " + to_.to_string() + " from any address: cannot bind " + ip.to_string() +
                    ": " + ec.message());
      sock_.close(ec);
    }
  }

  // The reply is framed as it arrives, like an inbound stream (a malicious
  // or broken peer may answer slowly or endlessly), and decoded once.
  void read() {
    chunk_.resize(16 * 1024);
    sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (!*self->alive_ || self->done_) return;
      if (ec) {
        if (self->buf_.empty()) return self->fail("read: " + ec.message());
        // Cut short: decode what came for the precise reason (once).
        auto partial = decode_stream(self->buf_, self->t_.in_stream_opts());
        return self->fail("reply: " + (partial.ok() ? "unexpected end of stream" : partial.error.what));
      }
      const std::span<const std::uint8_t> got(self->chunk_.data(), n);
      const auto st = self->framer_.feed(got);
      const std::size_t keep = static_cast<std::size_t>(self->framer_.size() - self->buf_.size());
      self->buf_.insert(self->buf_.end(), got.begin(), got.begin() + static_cast<std::ptrdiff_t>(keep));
      if (st == stream_framer::status::bad) return self->fail("reply: " + self->framer_.error());
      if (st == stream_framer::status::more) {
        if (self->buf_.size() >= self->t_.opt_.max_stream_bytes)
          return self->fail("reply: longer than " + std::to_string(self->t_.opt_.max_stream_bytes) + " bytes");
        return self->read();
      }
      stream_open_options o = self->t_.in_stream_opts();
      o.keep_inner = false;
      auto opened = decode_stream(self->buf_, o);
      if (!opened.ok()) return self->fail("reply: " + opened.error.what);
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
  stream_framer framer_;
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
      timer_(io),
      accept_retry_(io) {}

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
  accept_retry_.cancel();
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
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      admit(std::move(s));
      return accept();
    }
    // Out of descriptors (EMFILE, ENFILE) or buffers: accepting again at
    // once would fail again at once, a busy loop on the io thread. The
    // kernel keeps queueing connections meanwhile.
    log(2, "transport: accept failed: " + ec.message());
    accept_retry_.expires_after(std::chrono::milliseconds(100));
    accept_retry_.async_wait([this, alive](const asio::error_code& wec) {
      if (wec || !*alive || !acceptor_.is_open()) return;
      accept();
    });
  });
}

bool transport::evict_idle_stranger() {
  inbound* victim = nullptr;
  for (auto* c : open_inbound_)
    if (c->evictable() && (!victim || c->accepted_ < victim->accepted_)) victim = c;
  if (!victim) return false;
  ++stats_.tcp_evicted;
  victim->finish();
  return true;
}

std::size_t transport::inbound_tcp_from(const asio::ip::address& ip) const {
  const auto it = per_source_.find(ip);
  return it == per_source_.end() ? 0 : it->second;
}

// Admission (options: max_inbound_tcp, inbound_tcp_member_reserve,
// max_inbound_tcp_per_source): one address cannot take more than its share,
// strangers together cannot take the members' reserve.
void transport::admit(asio::ip::tcp::socket s) {
  asio::error_code ec;
  const auto ep = s.remote_endpoint(ec);
  if (ec) return;  // already gone: the socket closes as it goes out of scope
  const address from = to_address(ep.address(), ep.port());
  const asio::ip::address ip = to_ip(from);  // IPv4-mapped IPv6 counts as its IPv4 address
  const bool member = driver_.is_member_ip(from);
  const std::size_t reserve = std::min(opt_.inbound_tcp_member_reserve, opt_.max_inbound_tcp);
  bool refuse = inbound_ >= opt_.max_inbound_tcp;
  if (!member && !refuse) {
    if (inbound_tcp_from(ip) >= opt_.max_inbound_tcp_per_source) {
      ++stats_.tcp_refused_source;
      // Count always, log sparingly: a flood must not become a log flood.
      if (stats_.tcp_refused_source <= 10 || stats_.tcp_refused_source % 1000 == 0)
        log(0, "transport: refused a connection from " + from.to_string() + ": " +
                   std::to_string(inbound_tcp_from(ip)) + " open from that address (" +
                   std::to_string(stats_.tcp_refused_source) + " refused so far)");
      s.close(ec);
      return;
    }
    refuse = strangers_ >= opt_.max_inbound_tcp - reserve;
  }
  // Full: a stranger that has sent nothing yet gives way, oldest first (a
  // peer writes its request right after connecting, so an idle connection
  // is the likeliest to be hostile). Many addresses holding idle
  // connections, each within its share, cannot lock newcomers out this way.
  if (refuse && evict_idle_stranger()) refuse = false;
  if (refuse) {
    ++stats_.tcp_refused;
    if (stats_.tcp_refused <= 10 || stats_.tcp_refused % 1000 == 0)
      log(0, "transport: refused a connection from " + from.to_string() + ": " + std::to_string(inbound_) +
                 " inbound connections open (" + std::to_string(stats_.tcp_refused) + " refused so far)");
    s.close(ec);
    return;
  }
  ++stats_.tcp_accepted;
  if (member) ++stats_.tcp_member_accepted;
  ++inbound_;
  if (!member) ++strangers_;
  ++per_source_[ip];
  std::make_shared<inbound>(*this, std::move(s), ip, member)->start();
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
