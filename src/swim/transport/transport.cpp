// The transport's own object: sockets, UDP in and out, the timer heap, and
// the address conversions. TCP: tcp_inbound.cpp (accept side),
// tcp_outbound.cpp (exchanges we start).
#include "swim/transport/transport.hpp"

#include <algorithm>
#include <asio/ip/v6_only.hpp>

#include "swim/codec.hpp"
#include "swim/packet.hpp"
#include "swim/transport/connection.hpp"

namespace chorus::swim::transport {

time_point now() {
  return time_point(std::chrono::duration_cast<duration>(std::chrono::steady_clock::now().time_since_epoch()));
}

const char* message_counts::label(std::size_t slot) {
  static constexpr std::array<const char*, slots> names{"ping",    "indirect_ping", "ack",      "suspect", "alive",
                                                        "dead",    "push_pull",     "compound", "user",    "compress",
                                                        "encrypt", "nack",          "has_crc",  "err",     "other"};
  return slot < slots ? names[slot] : "other";
}

void message_counts::add(const stream_message& m, std::size_t size) {
  static constexpr std::array<message_type, 5> types{message_type::push_pull, message_type::ping, message_type::ack,
                                                     message_type::user, message_type::err};
  static_assert(std::variant_size_v<stream_message> == types.size());
  add(static_cast<std::uint8_t>(types[m.index()]), size);
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

transport::transport(asio::io_context& io, options opt, driver& d, log_function log)
    : io_(io),
      opt_(std::move(opt)),
      driver_(d),
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
                            if (!ec) {
                              on_datagram({rx_.data(), n}, sender_);
                              last_rx_ = now();
                            }
                            if (ec == asio::error::operation_aborted) return;
                            receive();
                          });
}

void transport::on_datagram(std::span<const std::uint8_t> data, const asio::ip::udp::endpoint& sender) {
  const std::size_t n = data.size();
  if (n == 0) return;  // memberlist ignores empty datagrams
  ++stats_.udp_received;
  stats_.udp_bytes_received += n;
  // `sender`, not sender_: a datagram read by drain_before_timers is not the
  // one the pending async receive has (or will have) in sender_.
  const address from = to_address(sender.address(), sender.port());
  if (!allowed(opt_.allowed_cidrs, from)) {
    ++stats_.udp_not_allowed;
    if (stats_.udp_not_allowed <= 10 || stats_.udp_not_allowed % 1000 == 0)
      log(2, "transport: dropped datagram from " + from.to_string() + ": source not in allowed CIDRs (" +
                 std::to_string(stats_.udp_not_allowed) + " so far)");
    return;
  }
  open_options o;
  o.keys = opt_.keys && !opt_.keys->empty() ? opt_.keys : nullptr;
  o.label = opt_.label;
  o.skip_label_check = opt_.skip_label_check;
  auto p = swim::open(data, o);
  if (!p.ok()) {
    ++stats_.udp_malformed;
    ++stats_.udp_faults[static_cast<std::size_t>(p.error.fault)];
    // Count always, log sparingly: a flood must not become a log flood.
    if (stats_.udp_malformed <= 10 || stats_.udp_malformed % 1000 == 0)
      log(0, "transport: dropped datagram from " + from.to_string() + ": " + p.error.what + " (" +
                 std::to_string(stats_.udp_malformed) + " so far)");
    return;
  }
  if (!p.part_errors.empty()) ++stats_.udp_malformed;
  for (const auto& e : p.part_errors) ++stats_.udp_faults[static_cast<std::size_t>(e.error.fault)];
  const time_point t = now();
  // Decoded once, here: the layers above get the messages, not the bytes.
  for (const auto& m : p.messages) {
    if (!m.wire.empty()) stats_.in.add(m.wire[0], m.wire.size());
    driver_.on_message(t, from, m.msg);
  }
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

send_result transport::send_packet(const address& to, bytes packet, bool crc) {
  seal_options o;
  o.compress = opt_.compress;
  o.crc = crc;
  o.keys = opt_.keys && !opt_.keys->empty() ? opt_.keys : nullptr;
  o.label = opt_.label;
  auto s = seal(packet, o);
  if (!s.ok()) {
    ++stats_.udp_seal_errors;
    log(2, "transport: cannot seal packet: " + s.error);
    return send_result::dropped;
  }
  asio::error_code ec;
  udp_.send_to(asio::buffer(s.data), asio::ip::udp::endpoint(to_ip(to), to.port), 0, ec);
  if (ec) {
    // Non-blocking: a full kernel queue drops the packet, as UDP may anyway
    // (SWIM tolerates loss); any other error is about the destination.
    ++stats_.udp_send_dropped;
    const bool local = ec == asio::error::would_block || ec == asio::error::try_again ||
                       ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
    if (!local) {
      ++stats_.udp_send_unreachable;
      if (stats_.udp_send_unreachable <= 10 || stats_.udp_send_unreachable % 1000 == 0)
        log(2, "transport: cannot send to " + to.to_string() + ": " + ec.message() + " (" +
                   std::to_string(stats_.udp_send_unreachable) + " so far)");
    }
    return local ? send_result::dropped : send_result::unreachable;
  }
  ++stats_.udp_sent;
  stats_.udp_bytes_sent += s.data.size();
  if (packet.empty()) return send_result::sent;
  if (packet[0] != static_cast<std::uint8_t>(message_type::compound)) {
    stats_.out.add(packet[0], packet.size());
    return send_result::sent;
  }
  if (auto parts = split_compound(packet); parts.ok())
    for (const auto& part : parts.value.parts)
      if (!part.empty()) stats_.out.add(part[0], part.size());
  return send_result::sent;
}

void transport::set_timer(time_point at, timer_token token) {
  if (auto [it, fresh] = timer_due_.try_emplace(token, at); !fresh) {
    timers_.erase({it->second, token});  // a token set again moves
    it->second = at;
  }
  timers_.emplace(at, token);
  arm_timer();
}

void transport::cancel_timer(timer_token token) {
  const auto it = timer_due_.find(token);
  if (it == timer_due_.end()) return;  // fired already, or never ours
  timers_.erase({it->second, token});
  timer_due_.erase(it);
  // Only the armed deadline matters: if it now has nothing left to fire,
  // moving the steady_timer later (one timerfd update) is cheaper than a
  // wake-up for nothing (epoll_wait, the timerfd re-armed, a clock read).
  if (!armed_at_) return;
  if (timers_.empty()) {
    timer_.cancel();
    armed_at_.reset();
  } else if (timers_.begin()->first > *armed_at_) {
    armed_at_.reset();
    arm_timer();
  }
}

void transport::arm_timer() {
  // While due timers run, the timers they set are armed once at the end: a
  // re-arm cancels the pending wait, whose aborted handler costs one more
  // trip through the reactor (epoll_wait).
  if (timers_.empty() || firing_) return;
  const time_point first = timers_.begin()->first;
  if (armed_at_ && *armed_at_ <= first) return;
  armed_at_ = first;
  timer_.expires_at(to_steady(first));
  timer_.async_wait([this, alive = alive_](const asio::error_code& ec) {
    if (!*alive || ec) return;  // cancelled: a re-arm replaced this wait
    armed_at_.reset();
    on_timer_fired();
  });
}

void transport::drain_before_timers() {
  // Bounded: a flood must not hold the timers back forever either.
  constexpr int max_datagrams = 256;
  asio::error_code ec;
  for (int i = 0; i < max_datagrams && udp_.is_open(); ++i) {
    asio::ip::udp::endpoint sender;
    // Allocated on first use (starvation is rare); its own buffer: rx_ may hold a datagram the pending async receive
    // has read and not yet handed over.
    if (drain_rx_.empty()) drain_rx_.resize(udp_receive_buffer);
    // Non-blocking, into a buffer as large as a datagram can be: no need to
    // ask the size first (FIONREAD); would_block ends the loop.
    const std::size_t n = udp_.receive_from(asio::buffer(drain_rx_), sender, 0, ec);
    if (ec) return;
    ++stats_.udp_read_before_timers;
    on_datagram({drain_rx_.data(), n}, sender);
  }
}

bool needs_drain_before_timers(time_point due, std::optional<time_point> last_rx) {
  // Asio handles what a poll found readable before the timers it found due,
  // and any datagram the async receive read ahead before the next poll: if
  // the socket was readable when the poll that ran this timer returned (at
  // or after `due`), a datagram has been handed over since. If none has,
  // whatever waits now arrived after the deadline.
  return last_rx && *last_rx >= due;
}

void transport::on_timer_fired() {
  ++stats_.timer_wakeups;
  if (timers_.empty() || !needs_drain_before_timers(timers_.begin()->first, last_rx_)) return fire_due_timers();
  drain_before_timers();
  // The async receive may also hold a datagram it read ahead, its handler
  // queued behind this one (Asio reads the next datagram as soon as a
  // receive is started): let the handlers queued so far run first.
  asio::post(io_, [this, alive = alive_] {
    if (*alive) fire_due_timers();
  });
}

void transport::fire_due_timers() {
  const time_point t = now();
  // Pop what is due first: handlers may add timers to the heap.
  std::vector<timer_token> due;
  while (!timers_.empty() && timers_.begin()->first <= t) {
    due.push_back(timers_.begin()->second);
    timer_due_.erase(timers_.begin()->second);
    timers_.erase(timers_.begin());
  }
  {
    struct firing_scope {
      bool& flag;
      ~firing_scope() { flag = false; }
    } scope{firing_ = true};
    for (auto token : due) driver_.on_timer(t, token);
  }
  arm_timer();
}

}  // namespace chorus::swim::transport
