#pragma once
// Internal to the transport: one inbound TCP exchange (tcp_inbound.cpp).
#include <chrono>
#include <list>
#include <memory>
#include <vector>

#include "swim/stream_framer.hpp"
#include "swim/transport/transport.hpp"

namespace chorus::swim::transport {

// One inbound TCP exchange: frame one stream message as it arrives (each
// byte looked at once), decode it once, answer, close. Owns its socket,
// buffer and timer (STYLE #15). The timer enforces, in this order of expiry,
// the first-byte deadline, the minimum average rate and the overall timeout.
struct transport::inbound : std::enable_shared_from_this<transport::inbound> {
  using steady = std::chrono::steady_clock;

  inbound(transport& t, asio::ip::tcp::socket s, asio::ip::address source, bool member);
  ~inbound() { release(); }

  // Gives the slot back (once): when the socket closes, not when the last
  // handler lets go of this object, so an evicted connection's slot is free
  // at once.
  void release();
  // A stranger that has not sent a byte yet: the first to make room.
  bool evictable() const { return !member_ && reading_ && received_ == 0 && !done_; }

  void start() {
    arm(next_check());
    read();
  }
  // When the timer has to look next: the overall deadline, or earlier the
  // moment the bytes so far stop satisfying the first-byte deadline or the
  // minimum rate.
  steady::time_point next_check() const;
  void arm(steady::time_point at);
  void on_timer();
  void read();
  void on_bytes(std::size_t n);
  // The framer found the end of the message (or a layer fault): decode it,
  // once, and act on it.
  void decode();
  // Layer faults memberlist answers with an err message (stream.hpp's texts).
  void refuse(const decode_error& e, bool incomplete);
  // One more malformed stream (tcp_malformed), of this kind (tcp_faults).
  void count_malformed(decode_fault f);
  void reply(stream_message m);
  void finish();

  steady::duration as_steady(duration d) const { return std::chrono::duration_cast<steady::duration>(d); }
  address remote_address() const;
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

}  // namespace chorus::swim::transport
