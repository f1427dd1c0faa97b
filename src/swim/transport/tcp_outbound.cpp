// The TCP exchanges we start: push/pull (anti-entropy, joins) and the
// fallback ping. Each reports once, with an exchange_error when it failed.
#include "swim/transport/tcp_outbound.hpp"

#include <asio/post.hpp>
#include <asio/write.hpp>

#include "swim/transport/connection.hpp"

namespace chorus::swim::transport {

void transport::start_push_pull(const address& to, exchange_id id, const push_pull& request, time_point deadline) {
  ++stats_.push_pulls_started;
  start_exchange(to, id, false, 0, encode_stream(request, out_stream_opts()), deadline);
}

void transport::start_tcp_ping(const address& to, exchange_id id, const ping& request, time_point deadline) {
  ++stats_.tcp_pings_started;
  start_exchange(to, id, true, request.seq_no, encode_stream(request, out_stream_opts()), deadline);
}

void transport::start_exchange(const address& to, exchange_id id, bool is_ping, std::uint32_t seq, sealed request,
                               time_point deadline) {
  ++stats_.exchanges_started;
  auto ex = std::make_shared<outbound>(*this, id, is_ping, seq);
  if (!request.ok()) {
    // Report asynchronously: the caller (the core) must not be re-entered
    // from inside its own call.
    asio::post(io_, [ex, why = std::move(request.error)] { ex->fail({exchange_fault::encode, why}); });
    return;
  }
  ex->start(to, std::move(request.data), deadline);
}

transport::outbound::outbound(transport& t, exchange_id id, bool is_ping, std::uint32_t seq)
    : t_(t),
      alive_(t.alive_),
      id_(id),
      is_ping_(is_ping),
      seq_(seq),
      sock_(t.io_),
      timer_(t.io_),
      framer_(t.in_stream_opts()) {}

void transport::outbound::start(const address& to, bytes request, time_point deadline) {
  out_ = std::move(request);
  to_ = to;
  started_ = std::chrono::steady_clock::now();
  t_.stats_.out.add(static_cast<std::uint8_t>(is_ping_ ? message_type::ping : message_type::push_pull), out_.size());
  timer_.expires_at(to_steady(deadline));
  timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
    if (ec || !*self->alive_) return;
    self->fail({exchange_fault::timeout});
  });
  const asio::ip::tcp::endpoint ep(to_ip(to), to.port);
  bind_source(ep);
  sock_.async_connect(ep, [self = shared_from_this()](const asio::error_code& ec) {
    if (!*self->alive_ || self->done_) return;
    if (ec) return self->fail({exchange_fault::connect, ec.message()});
    asio::async_write(self->sock_, asio::buffer(self->out_), [self](const asio::error_code& ec2, std::size_t) {
      if (!*self->alive_ || self->done_) return;
      if (ec2) return self->fail({exchange_fault::write, ec2.message()});
      self->read();
    });
  });
}

void transport::outbound::bind_source(const asio::ip::tcp::endpoint& to) {
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

void transport::outbound::read() {
  chunk_.resize(16 * 1024);
  sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
    if (!*self->alive_ || self->done_) return;
    if (ec) return self->on_read_error(ec);
    self->on_bytes(n);
  });
}

void transport::outbound::on_read_error(const asio::error_code& ec) {
  if (buf_.empty()) {
    if (ec == asio::error::eof) return fail({exchange_fault::eof});
    return fail({exchange_fault::read, ec.message()});
  }
  // Cut short: decode what came for the precise reason (once).
  auto partial = decode_stream(buf_, t_.in_stream_opts());
  fail(exchange_error::refused_reply(
      partial.ok() ? decode_error{decode_fault::truncated, buf_.size(), "unexpected end of stream"}
                   : std::move(partial.error)));
}

void transport::outbound::on_bytes(std::size_t n) {
  const auto st = frame(framer_, buf_, std::span<const std::uint8_t>(chunk_.data(), n));
  if (st == stream_framer::status::bad)
    return fail(exchange_error::refused_reply({decode_fault::malformed, buf_.size(), framer_.error()}));
  if (st == stream_framer::status::more) {
    if (buf_.size() >= t_.opt_.max_stream_bytes)
      return fail(
          exchange_error::refused_reply({decode_fault::over_limit, buf_.size(),
                                         "longer than " + std::to_string(t_.opt_.max_stream_bytes) + " bytes"}));
    return read();
  }
  stream_open_options o = t_.in_stream_opts();
  o.keep_inner = false;
  auto opened = decode_stream(buf_, o);
  if (!opened.ok()) return fail(exchange_error::refused_reply(std::move(opened.error)));
  complete(opened.msg);
}

void transport::outbound::complete(const stream_message& m) {
  t_.stats_.in.add(m, buf_.size());
  if (auto* e = std::get_if<err>(&m)) return fail({exchange_fault::remote, e->error});
  if (is_ping_) {
    const auto* a = std::get_if<ack>(&m);
    if (!a || a->seq_no != seq_) return fail({exchange_fault::unexpected, "TCP ping"});
    close();
    t_.driver_.on_tcp_ping_done(now(), id_, true);
    return;
  }
  const auto* pp = std::get_if<push_pull>(&m);
  if (!pp) return fail({exchange_fault::unexpected, "push/pull"});
  close();
  t_.stats_.push_pull_seconds.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
  t_.driver_.on_push_pull_done(now(), id_, *pp);
}

void transport::outbound::fail(exchange_error why) {
  if (done_) return;
  close();
  ++t_.stats_.exchanges_failed;
  ++(is_ping_ ? t_.stats_.tcp_pings_failed : t_.stats_.push_pulls_failed);
  t_.log(0,
         std::string(is_ping_ ? "TCP ping" : "push/pull") + " with " + to_.to_string() + " failed: " + to_string(why));
  if (is_ping_)
    t_.driver_.on_tcp_ping_done(now(), id_, false);
  else
    t_.driver_.on_push_pull_failed(now(), id_, why);
}

// Marks the exchange done first: handlers still queued for it see that and
// do nothing.
void transport::outbound::close() {
  done_ = true;
  asio::error_code ec;
  timer_.cancel();
  sock_.close(ec);
}

}  // namespace chorus::swim::transport
