// Issue 18 item 4 against running agents: idle TCP connections to the gossip
// port, reopened as the agent closes them. Before the fix 128 of them took
// every inbound slot, so joins, push/pulls and TCP fallback pings through
// that node failed ("Failed to join ...: EOF"). Now one address gets a
// small share, idle connections are closed after the first-byte timeout,
// and known members have slots of their own.
// Agents on 127.80.2.31-38, the idle connections from 127.80.4.200-212 and 220;
// bounded in time, every process killed by PID (agent_harness.hpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

std::string ip(int i) { return "127.80.2." + std::to_string(i); }

// Holds `count` idle TCP connections from each of `sources` to `to`:7946 on
// a thread of its own, reopening every one the agent closes (at most
// `reopen_per_round` per 10 ms round, so the loop stays bounded), until
// destroyed. Never writes a byte.
class idle_connections {
 public:
  idle_connections(std::vector<std::string> sources, std::string to, std::size_t count,
                   std::size_t reopen_per_round = 64)
      : sources_(std::move(sources)), to_(std::move(to)), count_(count), per_round_(reopen_per_round) {
    thread_ = std::thread([this] { run(); });
  }
  ~idle_connections() {
    stop_ = true;
    thread_.join();
  }
  idle_connections(const idle_connections&) = delete;
  idle_connections& operator=(const idle_connections&) = delete;

  // Connections established and not (yet) seen closed.
  std::size_t open() const { return open_; }
  // Connections the agent closed (and that were reopened).
  std::size_t closed() const { return closed_; }

 private:
  struct conn {
    int fd = -1;
    std::size_t source = 0;
    bool connected = false;
  };

  int connect_from(const std::string& from) const {
    const int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    sockaddr_in src{}, dst{};
    src.sin_family = dst.sin_family = AF_INET;
    inet_pton(AF_INET, from.c_str(), &src.sin_addr);
    inet_pton(AF_INET, to_.c_str(), &dst.sin_addr);
    dst.sin_port = htons(7946);
    if (bind(s, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
        (connect(s, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)) {
      close(s);
      return -1;
    }
    return s;
  }

  void run() {
    std::vector<conn> conns;
    for (std::size_t src = 0; src < sources_.size(); ++src)
      for (std::size_t i = 0; i < count_; ++i) conns.push_back({connect_from(sources_[src]), src, false});
    std::vector<pollfd> fds(conns.size());
    while (!stop_) {
      for (std::size_t i = 0; i < conns.size(); ++i)
        fds[i] = {conns[i].fd, static_cast<short>(conns[i].connected ? POLLIN | POLLRDHUP : POLLOUT), 0};
      poll(fds.data(), fds.size(), 10);
      std::size_t reopened = 0, open = 0;
      for (std::size_t i = 0; i < conns.size(); ++i) {
        auto& c = conns[i];
        bool dead = c.fd < 0;
        if (!dead && fds[i].revents) {
          int err = 0;
          socklen_t len = sizeof err;
          getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
          char b;
          if (err || (fds[i].revents & (POLLHUP | POLLERR | POLLRDHUP)) ||
              (c.connected && recv(c.fd, &b, 1, MSG_DONTWAIT) <= 0))
            dead = true;
          else if (fds[i].revents & POLLOUT)
            c.connected = true;
        }
        if (dead && reopened < per_round_) {
          if (c.fd >= 0) {
            close(c.fd);
            ++closed_;
          }
          c = {connect_from(sources_[c.source]), c.source, false};
          ++reopened;
        }
        open += c.fd >= 0 && c.connected && !dead;
      }
      open_ = open;
    }
    for (auto& c : conns)
      if (c.fd >= 0) close(c.fd);
  }

  std::vector<std::string> sources_;
  std::string to_;
  std::size_t count_, per_round_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> open_{0}, closed_{0};
  std::thread thread_;
};

double metric(const std::string& rpc, const std::string& key) {
  auto m = stats_section(rpc, "metrics");
  auto it = m.find(key);
  return it == m.end() ? -1 : std::stod(it->second);
}

bool all_see(const std::vector<std::string>& rpcs, int alive, std::chrono::milliseconds limit) {
  return eventually(
      [&] {
        for (const auto& r : rpcs)
          if (count_status(r, "alive") != alive) return false;
        return true;
      },
      limit);
}

// `chorus join` through the agent at `rpc`; its run time in seconds, or -1 if it failed.
double timed_join(const std::string& rpc, const std::string& seed, std::string& out) {
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run({chorus_binary, "join", "-rpc-addr=" + rpc, seed}, 20s);
  out = r.out + r.err;
  if (r.exit_code != 0) return -1;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("240 idle connections from one address do not lock joins or push/pulls out", "[hostile][slowloris]") {
  cluster c("hostile-slowloris");
  c.chorus("s1", ip(31));
  c.chorus("s2", ip(32), {"-join=" + ip(31)});
  const std::string rpc1 = ip(31) + ":7373", rpc2 = ip(32) + ":7373";
  REQUIRE(all_see({rpc1, rpc2}, 2, 15s));

  idle_connections idle({"127.80.4.200"}, ip(31), 240);
  // Wait until they are in (the agent has taken what it takes and refused
  // the rest, which keep coming back).
  REQUIRE(eventually([&] { return idle.open() + idle.closed() >= 240; }, 10s));
  std::this_thread::sleep_for(1s);

  // A fresh agent joins through s1, within a few seconds.
  c.chorus("s3", ip(33));
  std::string out;
  const double join_s = timed_join(ip(33) + ":7373", ip(31), out);
  INFO("fresh join: " << join_s << " s: " << out);
  CHECK(join_s >= 0);
  CHECK(join_s < 5.0);

  // An existing member's push/pull (a join is one) goes through too.
  const double member_s = timed_join(rpc2, ip(31), out);
  INFO("member push/pull: " << member_s << " s: " << out);
  CHECK(member_s >= 0);
  CHECK(member_s < 5.0);

  // A serf agent joins through chorus as well.
  c.serf("s4", ip(34));
  const auto serf_join = run_serf({"join", "-rpc-addr=" + ip(34) + ":7373", ip(31)}, 20s);
  INFO("serf join: " << serf_join.out << serf_join.err);
  CHECK(serf_join.exit_code == 0);

  INFO(c.log_tails(20));
  CHECK(all_see({rpc1, rpc2, ip(33) + ":7373", ip(34) + ":7373"}, 4, 15s));
  // The one address got its share and no more; the rest was refused.
  CHECK(metric(rpc1, "chorus_dropped_packets_total{reason=\"tcp_source_limit\"}") > 0);
  CHECK(idle.closed() > 0);
}

TEST_CASE("idle connections from many addresses leave room for members and newcomers", "[hostile][slowloris]") {
  cluster c("hostile-reserve");
  c.chorus("r1", ip(35));
  c.chorus("r2", ip(36), {"-join=" + ip(35)});
  const std::string rpc1 = ip(35) + ":7373", rpc2 = ip(36) + ":7373";
  REQUIRE(all_see({rpc1, rpc2}, 2, 15s));

  // 13 addresses x 20 connections: more than the strangers' 96 slots.
  std::vector<std::string> sources;
  for (int i = 200; i <= 212; ++i) sources.push_back("127.80.4." + std::to_string(i));
  idle_connections idle(sources, ip(35), 20);
  REQUIRE(eventually([&] { return idle.open() + idle.closed() >= 260; }, 10s));
  std::this_thread::sleep_for(1s);

  // r2 is a member of r1's cluster: its push/pulls use the reserved slots.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string out;
    const double s = timed_join(rpc2, ip(35), out);
    INFO("member push/pull " << attempt << ": " << s << " s: " << out);
    CHECK(s >= 0);
    CHECK(s < 5.0);
  }
  // A newcomer is a stranger too: an idle stranger's connection makes room
  // for its join.
  c.chorus("r3", ip(37));
  std::string out;
  const double join_s = timed_join(ip(37) + ":7373", ip(35), out);
  INFO("fresh join: " << join_s << " s: " << out);
  CHECK(join_s >= 0);
  CHECK(join_s < 5.0);

  INFO(c.log_tails(20));
  CHECK(all_see({rpc1, rpc2, ip(37) + ":7373"}, 3, 15s));
  CHECK(metric(rpc1, "chorus_dropped_packets_total{reason=\"tcp_evicted_idle\"}") > 0);
}

TEST_CASE("an idle connection and a trickle are closed long before the 10 s TCP timeout", "[hostile][slowloris]") {
  cluster c("hostile-trickle");
  c.chorus("t1", ip(38));
  const std::string rpc1 = ip(38) + ":7373";
  // Seconds until the agent closed a connection that sends `first` and then
  // one more byte every 500 ms (nothing at all when `first` is empty).
  auto held_for = [&](const std::vector<std::uint8_t>& first) {
    const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in src{}, dst{};
    src.sin_family = dst.sin_family = AF_INET;
    inet_pton(AF_INET, "127.80.4.220", &src.sin_addr);
    inet_pton(AF_INET, ip(38).c_str(), &dst.sin_addr);
    dst.sin_port = htons(7946);
    if (bind(s, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
        connect(s, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
      close(s);
      return -1.0;
    }
    const auto t0 = std::chrono::steady_clock::now();
    if (!first.empty()) (void)!send(s, first.data(), first.size(), MSG_NOSIGNAL);
    // A push/pull header, one byte at a time: 0x83 then "Join"...
    const std::uint8_t trickle[] = {0x83, 0xa4, 'J', 'o', 'i', 'n', 0xc2, 0xa5, 'N', 'o', 'd', 'e', 's'};
    std::size_t next = 0;
    double held = -1;
    while (std::chrono::steady_clock::now() - t0 < 12s) {
      pollfd p{s, POLLIN | POLLRDHUP, 0};
      if (poll(&p, 1, 500) > 0) {
        char b;
        if (recv(s, &b, 1, MSG_DONTWAIT) <= 0) {
          held = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          break;
        }
      }
      if (!first.empty() && next < sizeof trickle && send(s, &trickle[next++], 1, MSG_NOSIGNAL) < 0) {
        held = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        break;
      }
    }
    close(s);
    return held;
  };
  const double idle = held_for({});
  const double trickle = held_for({6});
  INFO("idle held " << idle << " s, trickle held " << trickle << " s");
  CHECK(idle > 0);
  CHECK(idle < 4.0);
  CHECK(trickle > 0);
  CHECK(trickle < 5.0);
  CHECK(metric(rpc1, "chorus_dropped_packets_total{reason=\"tcp_idle\"}") >= 1);
  CHECK(metric(rpc1, "chorus_dropped_packets_total{reason=\"tcp_too_slow\"}") >= 1);
}
