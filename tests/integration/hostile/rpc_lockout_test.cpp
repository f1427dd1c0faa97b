// Issue 18, item 5: RPC connections that never handshake must not lock the
// CLI out. A real `chorus agent` on 127.80.5.x; the hostile side is plain
// TCP sockets that connect and send nothing. Every socket and process is
// closed or killed by this test, by descriptor and PID.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;
using clock_type = std::chrono::steady_clock;

namespace {

// The agent's handshake deadline (rpc::server_options::handshake_timeout)
// and how late past it the agent may close a connection on a loaded host.
constexpr auto handshake_deadline = 5s;
constexpr auto close_slack = 3s;

// TCP connections that never send a byte; closed when the object goes away.
class silent_connections {
 public:
  silent_connections() = default;
  silent_connections(const silent_connections&) = delete;
  silent_connections& operator=(const silent_connections&) = delete;
  ~silent_connections() {
    for (int fd : fds_) ::close(fd);
  }

  // Opens `count` connections to ip:port; the number that connected.
  std::size_t open(const std::string& ip, std::uint16_t port, std::size_t count) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
    std::size_t ok = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      // The kernel completes the connect from its backlog whether or not the
      // agent has accepted yet, so this does not wait on the agent.
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        continue;
      }
      fds_.push_back(fd);
      ++ok;
    }
    return ok;
  }

  const std::vector<int>& fds() const { return fds_; }

 private:
  std::vector<int> fds_;
};

// Waits until the peer closes `fd` (EOF or reset); how long that took, or
// nullopt if it stayed open for `limit`.
std::optional<std::chrono::milliseconds> time_until_closed(int fd, std::chrono::milliseconds limit) {
  const auto start = clock_type::now();
  while (clock_type::now() - start < limit) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(limit - (clock_type::now() - start));
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 1))) <= 0) continue;
    char byte;
    const ssize_t n = ::recv(fd, &byte, 1, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
      return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  }
  return std::nullopt;
}

// One sample of the agent's metrics (chorus-stats), 0 if absent.
std::uint64_t metric(const std::string& rpc, const std::string& key, const std::string& token = {}) {
  chorus::rpc::client c;
  if (!c.connect(rpc, token, 2s).empty()) return 0;
  chorus::rpc::stats_response r;
  if (!c.chorus_stats(r).empty()) return 0;
  auto it = r["metrics"].find(key);
  return it == r["metrics"].end() ? 0 : std::stoull(it->second);
}

}  // namespace

TEST_CASE("rpc lockout: the CLI still works while 300 connections sit silent on the RPC port", "[hostile][rpc]") {
  cluster c("hostile-rpc-flood");
  auto& n = c.chorus("flood1", "127.80.5.1");

  silent_connections hostile;
  const auto opened_at = clock_type::now();
  REQUIRE(hostile.open(n.ip, 7373, 300) == 300);

  // The real CLI binary, while every hostile socket is still open on our side.
  const auto r = run_chorus({"members", "-rpc-addr=" + n.rpc()}, 10s);
  const auto cli_done = clock_type::now() - opened_at;
  INFO("chorus members: exit " << r.exit_code << "\n" << r.out << r.err << "\n" << c.log_tails(10));
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("flood1") != std::string::npos);
  CHECK(r.out.find("alive") != std::string::npos);
  // Before any deadline fired: the CLI got in because the full table made
  // room, not because the silent connections had timed out.
  CHECK(cli_done < handshake_deadline);

  // The oldest silent connections were the ones closed to make room: 300
  // silent + the CLI's against a table of 256 (the harness's own start-up
  // probe had already gone).
  const auto evicted = metric(n.rpc(), "chorus_rpc_clients_pending_closed_total{reason=\"evicted\"}");
  CHECK(evicted >= 300 + 1 - 256);
  CHECK(time_until_closed(hostile.fds().front(), 100ms).has_value());

  // Later, the rest time out, and the agent says so in its log, once.
  CHECK(time_until_closed(hostile.fds().back(), handshake_deadline + close_slack).has_value());
  CHECK(eventually(
      [&] { return metric(n.rpc(), "chorus_rpc_clients_pending_closed_total{reason=\"timeout\"}") >= 250; }, 5s));
  const std::string log = c.log_of("flood1");
  CHECK(log.find("had not completed the handshake") != std::string::npos);
}

TEST_CASE("rpc lockout: a silent connection is closed at the handshake deadline, a handshaken one is not",
          "[hostile][rpc]") {
  cluster c("hostile-rpc-deadline");
  auto& n = c.chorus("deadline1", "127.80.5.2");

  // A client that handshook (no token on this agent) may stay quiet for
  // long: streams and monitors do.
  chorus::rpc::client quiet;
  REQUIRE(quiet.connect(n.rpc(), "", 2s).empty());

  silent_connections silent;
  REQUIRE(silent.open(n.ip, 7373, 1) == 1);
  const auto closed_after = time_until_closed(silent.fds().front(), handshake_deadline + close_slack);
  REQUIRE(closed_after.has_value());
  CHECK(*closed_after >= handshake_deadline - 1s);  // not closed before its time

  std::this_thread::sleep_for(1s);
  chorus::rpc::members_response m;
  CHECK(quiet.members(m).empty());
  CHECK(m.members.has_value());
}

TEST_CASE("rpc lockout: with -rpc-auth a handshaken client that never authenticates is closed at the deadline",
          "[hostile][rpc]") {
  cluster c("hostile-rpc-auth");
  const std::string token = "s3cret";
  auto& n = c.chorus("auth1", "127.80.5.3", {"-rpc-auth=" + token}, false);
  REQUIRE(eventually(
      [&] {
        chorus::rpc::client probe;
        return probe.connect(n.rpc(), token, 1s).empty();
      },
      15s));

  chorus::rpc::client authed, unauthed;
  REQUIRE(authed.connect(n.rpc(), token, 2s).empty());
  REQUIRE(unauthed.connect(n.rpc(), "", 2s).empty());  // handshake only

  // Before the deadline the agent answers it (with an error), after it the
  // connection is gone.
  chorus::rpc::members_response m;
  CHECK(unauthed.members(m) == "Authentication required");
  std::this_thread::sleep_for(handshake_deadline + close_slack);
  CHECK(unauthed.members(m) == "client closed");
  chorus::rpc::members_response m2;
  CHECK(authed.members(m2).empty());
  CHECK(metric(n.rpc(), "chorus_rpc_clients_pending_closed_total{reason=\"timeout\"}", token) >= 1);
}
