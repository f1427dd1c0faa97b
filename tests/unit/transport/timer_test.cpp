// The Asio transport's timers (issue 16, idle wake-ups): a cancelled timer
// neither reaches the driver nor wakes the process, and datagrams that
// waited in the socket while a timer was late are still handled before it.
// One transport on 127.151.0.1 (port chosen by the kernel), bounded runs.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "swim/codec.hpp"
#include "swim/transport/transport.hpp"

using namespace chorus::swim;
using namespace std::chrono_literals;

namespace {

// Records what the transport hands over, in order: "timer N" / "ping N".
struct recorder final : transport::driver {
  asio::io_context* io = nullptr;
  std::vector<std::string> seen;
  timer_token stop_after = 0;
  void on_message(time_point, const address&, const message& m) override {
    if (const auto* p = std::get_if<ping>(&m)) seen.push_back("ping " + std::to_string(p->seq_no));
  }
  void on_timer(time_point, timer_token token) override {
    seen.push_back("timer " + std::to_string(token));
    if (token == stop_after) io->stop();
  }
  push_pull on_push_pull(time_point, const address&, const push_pull&) override { return {}; }
  std::optional<ack> on_stream_ping(const ping&) override { return std::nullopt; }
  void on_push_pull_done(time_point, exchange_id, const push_pull&) override {}
  void on_push_pull_failed(time_point, exchange_id, const exchange_error&) override {}
  void on_tcp_ping_done(time_point, exchange_id, bool) override {}
};

struct bench {
  asio::io_context io;
  recorder d;
  transport::transport t;
  explicit bench() : t(io, opts(), d) {
    d.io = &io;
    REQUIRE(t.open().empty());
  }
  static transport::options opts() {
    transport::options o;
    o.bind_ip = asio::ip::make_address("127.151.0.1");
    o.port = 0;
    return o;
  }
};

}  // namespace

TEST_CASE("a cancelled timer neither reaches the driver nor wakes the transport", "[transport][timer]") {
  bench b;
  const time_point t0 = transport::now();
  b.t.set_timer(t0 + 10ms, 1);  // a probe timeout, cancelled by its ack
  b.t.set_timer(t0 + 40ms, 2);
  b.t.set_timer(t0 + 40ms, 3);  // due with 2: one wake-up for both
  b.t.cancel_timer(1);
  b.t.cancel_timer(99);  // unknown: ignored
  b.d.stop_after = 3;
  b.io.run_for(2s);
  CHECK(b.d.seen == std::vector<std::string>{"timer 2", "timer 3"});
  CHECK(b.t.stats().timer_wakeups == 1);
}

TEST_CASE("cancelling the only timer leaves nothing to wake up for", "[transport][timer]") {
  bench b;
  b.t.set_timer(transport::now() + 5ms, 1);
  b.t.cancel_timer(1);
  b.io.run_for(60ms);
  CHECK(b.d.seen.empty());
  CHECK(b.t.stats().timer_wakeups == 0);
}

TEST_CASE("datagrams waiting while a timer runs late are handled before it", "[transport][timer]") {
  bench b;
  b.t.set_timer(transport::now() + 20ms, 7);
  b.d.stop_after = 7;
  // Both pings arrive before the deadline while the io thread is busy (a
  // handler that takes 60 ms): the async receive hands over the first and
  // reads the second ahead, its handler queued behind the late timer's.
  asio::ip::udp::socket peer(b.io, asio::ip::udp::endpoint(asio::ip::make_address("127.151.0.2"), 0));
  const asio::ip::udp::endpoint to(asio::ip::make_address("127.151.0.1"), b.t.port());
  asio::post(b.io, [&] {
    for (std::uint32_t seq : {1u, 2u}) {
      ping p;
      p.seq_no = seq;
      p.node = "n1";
      peer.send_to(asio::buffer(encode(message{p})), to);
    }
    std::this_thread::sleep_for(60ms);
  });
  b.io.run_for(2s);
  CHECK(b.d.seen == std::vector<std::string>{"ping 1", "ping 2", "timer 7"});
}

TEST_CASE("a timer skips the drain unless a datagram was handed over since its deadline", "[transport][timer]") {
  const time_point due = time_point(10s);
  CHECK_FALSE(transport::needs_drain_before_timers(due, std::nullopt));
  CHECK_FALSE(transport::needs_drain_before_timers(due, due - 1us));
  // Handed over after the deadline: the socket was readable when the poll
  // saw it pass, and more may wait (or be read ahead behind this timer).
  CHECK(transport::needs_drain_before_timers(due, due));
  CHECK(transport::needs_drain_before_timers(due, due + 2s));
}
