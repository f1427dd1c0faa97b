// The TCP accept side of the transport: admission (who may hold a
// connection) and the inbound exchange itself (frame, decode once, answer).
#include "swim/transport/tcp_inbound.hpp"

#include <algorithm>
#include <asio/write.hpp>

#include "swim/transport/connection.hpp"

namespace chorus::swim::transport {

// ---------------------------------------------------------------------------
// Admission (options: max_inbound_tcp, inbound_tcp_member_reserve,
// max_inbound_tcp_per_source).

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

// One address cannot take more than its share, strangers together cannot
// take the members' reserve.
void transport::admit(asio::ip::tcp::socket s) {
  asio::error_code ec;
  const auto ep = s.remote_endpoint(ec);
  if (ec) return;  // already gone: the socket closes as it goes out of scope
  const address from = to_address(ep.address(), ep.port());
  if (!allowed(opt_.allowed_cidrs, from)) {
    ++stats_.tcp_not_allowed;
    if (stats_.tcp_not_allowed <= 10 || stats_.tcp_not_allowed % 1000 == 0)
      log(2, "transport: refused a connection from " + from.to_string() + ": source not in allowed CIDRs (" +
                 std::to_string(stats_.tcp_not_allowed) + " so far)");
    s.close(ec);
    return;
  }
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

// ---------------------------------------------------------------------------
// One inbound exchange.

transport::inbound::inbound(transport& t, asio::ip::tcp::socket s, asio::ip::address source, bool member)
    : t_(t),
      alive_(t.alive_),
      sock_(std::move(s)),
      timer_(t.io_),
      source_(std::move(source)),
      member_(member),
      framer_(t.in_stream_opts()),
      accepted_(steady::now()) {
  listed_ = t_.open_inbound_.insert(t_.open_inbound_.end(), this);
}

void transport::inbound::release() {
  if (released_ || !*alive_) return;
  released_ = true;
  t_.open_inbound_.erase(listed_);
  --t_.inbound_;
  if (!member_) --t_.strangers_;
  if (auto it = t_.per_source_.find(source_); it != t_.per_source_.end() && --it->second == 0) t_.per_source_.erase(it);
}

transport::inbound::steady::time_point transport::inbound::next_check() const {
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

void transport::inbound::arm(steady::time_point at) {
  timer_.expires_at(at);
  timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec || !*self->alive_ || self->done_) return;
    self->on_timer();
  });
}

void transport::inbound::on_timer() {
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

void transport::inbound::read() {
  chunk_.resize(16 * 1024);
  sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
    if (!*self->alive_ || self->done_) return;
    if (ec) {
      // The peer ended (or reset) the connection inside a message.
      if (self->received_ > 0) {
        self->count_malformed(decode_fault::truncated);
        self->t_.log(0, "transport: stream from " + self->peer() + " ended after " + std::to_string(self->received_) +
                            " bytes, inside a message");
      }
      return self->finish();
    }
    self->on_bytes(n);
  });
}

void transport::inbound::on_bytes(std::size_t n) {
  received_ += n;
  const auto st = frame(framer_, buf_, std::span<const std::uint8_t>(chunk_.data(), n));
  if (st == stream_framer::status::bad) {
    count_malformed(framer_.fault());
    t_.log(0, "transport: bad stream from " + peer() + ": " + framer_.error());
    return finish();
  }
  if (st == stream_framer::status::more) {
    if (buf_.size() >= t_.opt_.max_stream_bytes) {
      count_malformed(decode_fault::over_limit);
      t_.log(0, "transport: stream from " + peer() + " exceeds " + std::to_string(t_.opt_.max_stream_bytes) + " bytes");
      return finish();
    }
    return read();
  }
  reading_ = false;
  decode();
}

void transport::inbound::decode() {
  stream_open_options o = t_.in_stream_opts();
  o.keep_inner = false;
  auto opened = decode_stream(buf_, o);
  if (!opened.ok()) return refuse(opened.error, opened.incomplete);
  const time_point n = now();
  const address from = remote_address();
  t_.stats_.in.add(opened.msg, buf_.size());
  if (auto* pp = std::get_if<push_pull>(&opened.msg)) {
    ++t_.stats_.push_pulls_served;
    return reply(t_.driver_.on_push_pull(n, from, *pp));
  }
  if (auto* p = std::get_if<ping>(&opened.msg)) {
    ++t_.stats_.tcp_pings_served;
    if (auto a = t_.driver_.on_stream_ping(*p)) return reply(*a);
    return finish();
  }
  if (auto* u = std::get_if<user>(&opened.msg)) {
    ++t_.stats_.stream_user_messages;
    // The same path as a user message in a datagram: decoded here, once.
    t_.driver_.on_message(n, from, message{std::move(*u)});
    return finish();
  }
  count_malformed(decode_fault::unknown_type);  // ack/err are replies only
  finish();
}

void transport::inbound::count_malformed(decode_fault f) {
  ++t_.stats_.tcp_malformed;
  ++t_.stats_.tcp_faults[static_cast<std::size_t>(f)];
}

void transport::inbound::refuse(const decode_error& e, bool incomplete) {
  count_malformed(incomplete ? decode_fault::truncated : e.fault);
  t_.log(0, "transport: bad stream from " + peer() + ": " + e.what);
  // Layer failures get an err reply, as memberlist sends (its peers log the
  // text); anything else is closed silently. A stream cut short is no layer
  // failure, whatever it was cut in.
  switch (incomplete ? decode_fault::truncated : e.fault) {
    case decode_fault::label:
    case decode_fault::encryption:
    case decode_fault::decrypt:
      ++t_.stats_.tcp_err_replies;
      return reply(err{e.what});
    case decode_fault::none:
    case decode_fault::truncated:
    case decode_fault::malformed:
    case decode_fault::over_limit:
    case decode_fault::unknown_type:
    case decode_fault::crc:
      return finish();
  }
  finish();
}

void transport::inbound::reply(stream_message m) {
  auto enc = encode_stream(m, t_.out_stream_opts());
  if (!enc.ok()) {
    t_.log(2, "transport: cannot encode stream reply: " + enc.error);
    return finish();
  }
  t_.stats_.out.add(m, enc.data.size());
  out_ = std::move(enc.data);
  // Only the overall deadline bounds the reply's write.
  arm(next_check());
  asio::async_write(sock_, asio::buffer(out_), [self = shared_from_this()](const asio::error_code&, std::size_t) {
    if (!*self->alive_) return;
    self->finish();
  });
}

void transport::inbound::finish() {
  close_once(done_, sock_, timer_);
  release();
}

address transport::inbound::remote_address() const {
  asio::error_code ec;
  auto ep = sock_.remote_endpoint(ec);
  return ec ? address{} : to_address(ep.address(), ep.port());
}

}  // namespace chorus::swim::transport
