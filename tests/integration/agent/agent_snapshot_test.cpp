// Snapshots (serf.md 12) with real agents on 127.65.0.x / 127.65.1.x:
// kill -9 and restart from the snapshot (rejoin without -join, same
// coordinate, clocks not behind), graceful leave vs -rejoin, and snapshot
// files exchanged with Debian's `serf agent` in both directions.
#include <catch2/catch.hpp>

#include "agent/snapshot.hpp"
#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

std::string ip(int i) { return "127.65.0." + std::to_string(i); }

std::optional<chorus::rpc::coordinate> coordinate_of(const std::string& rpc, const std::string& node) {
  chorus::rpc::client c;
  if (!c.connect(rpc, "", 2s).empty()) return std::nullopt;
  chorus::rpc::coordinate_response r;
  chorus::rpc::get_coordinate_request req;
  req.node = node;
  if (!c.get_coordinate(req, r).empty() || !r.ok) return std::nullopt;
  return r.coord;
}

struct clocks {
  std::uint64_t member = 0, event = 0, query = 0;
};
clocks clocks_of(const std::string& rpc) {
  auto s = stats_section(rpc, "serf");
  if (s.empty()) return {};
  return {std::stoull(s["member_time"]), std::stoull(s["event_time"]), std::stoull(s["query_time"])};
}

bool sees_alive(const std::string& rpc, int n, std::chrono::milliseconds limit) {
  return eventually([&] { return count_status(rpc, "alive") == n; }, limit);
}

}  // namespace

TEST_CASE("an agent killed with -9 restarts from its snapshot, rejoins, keeps its coordinate and clocks",
          "[agent][snapshot]") {
  cluster c("agent-snap");
  auto snap = [&](int i) { return "-snapshot=" + c.dir() + "/n" + std::to_string(i) + ".snap"; };
  c.chorus("n1", ip(1), {snap(1), "-rejoin"});
  for (int i = 2; i <= 5; ++i) c.chorus("n" + std::to_string(i), ip(i), {snap(i), "-rejoin", "-join=" + ip(1)});
  for (int i = 1; i <= 5; ++i) REQUIRE(sees_alive(rpc_of(ip(i)), 5, 20s));

  // Move the event and query clocks of n3 past their start values.
  for (int k = 0; k < 3; ++k)
    REQUIRE(run_chorus({"event", "-rpc-addr=" + rpc_of(ip(1)), "deploy-" + std::to_string(k), "x"}, 10s).exit_code ==
            0);
  REQUIRE(run_chorus({"query", "-rpc-addr=" + rpc_of(ip(2)), "-timeout=1s", "ping"}, 10s).exit_code == 0);
  REQUIRE(eventually([&] { return clocks_of(rpc_of(ip(3))).event >= 4 && clocks_of(rpc_of(ip(3))).query >= 2; }, 10s));
  // Probes move n3's coordinate away from the origin.
  REQUIRE(eventually(
      [&] {
        auto co = coordinate_of(rpc_of(ip(3)), "n3");
        return co && co->vec && std::any_of(co->vec->begin(), co->vec->end(), [](double v) { return v != 0.0; });
      },
      20s));

  // Freeze the others so n3's coordinate and clocks stand still (no acks, no
  // gossip), let its 500 ms flush run, then read what it had.
  for (int i : {1, 2, 4, 5}) c.signal("n" + std::to_string(i), SIGSTOP);
  struct resume {
    cluster& c;
    ~resume() {
      for (int i : {1, 2, 4, 5}) c.signal("n" + std::to_string(i), SIGCONT);
    }
  } resume_on_exit{c};
  std::this_thread::sleep_for(1500ms);
  const auto before = coordinate_of(rpc_of(ip(3)), "n3");
  const auto clocks_before = clocks_of(rpc_of(ip(3)));
  REQUIRE(before);
  std::this_thread::sleep_for(600ms);
  REQUIRE(coordinate_of(rpc_of(ip(3)), "n3") == before);  // really standing still

  c.kill9("n3");
  // Same snapshot, no -join: the previously alive members are the way back.
  c.chorus("n3", ip(3), {snap(3), "-rejoin"});
  const auto after = coordinate_of(rpc_of(ip(3)), "n3");
  const auto clocks_after = clocks_of(rpc_of(ip(3)));
  REQUIRE(after);
  CHECK(*after == *before);  // bit-identical doubles
  CHECK(clocks_after.member >= clocks_before.member);
  CHECK(clocks_after.event >= clocks_before.event);
  CHECK(clocks_after.query >= clocks_before.query);
  CHECK(clocks_before.event >= 4);

  for (int i : {1, 2, 4, 5}) c.signal("n" + std::to_string(i), SIGCONT);
  CHECK(sees_alive(rpc_of(ip(3)), 5, 30s));
  CHECK(eventually([&] { return status_of(rpc_of(ip(1)), "n3") == "alive"; }, 30s));
  CHECK(c.log_of("n3").find("Re-joined to previously known node") != std::string::npos);
  // `chorus rtt` works once n3 has probed n1 again (coordinates ride on acks).
  CHECK(eventually(
      [&] {
        auto rtt = run_chorus({"rtt", "-rpc-addr=" + rpc_of(ip(3)), "n3", "n1"}, 10s);
        return rtt.exit_code == 0 && rtt.out.find("Estimated n3 <-> n1 rtt:") != std::string::npos;
      },
      20s));
}

TEST_CASE("after a graceful leave a restart stays out, unless -rejoin", "[agent][snapshot]") {
  cluster c("agent-snap-leave");
  const std::string snap = "-snapshot=" + c.dir() + "/n2.snap";
  c.chorus("n1", ip(11));
  c.chorus("n2", ip(12), {snap, "-join=" + ip(11)});
  REQUIRE(sees_alive(rpc_of(ip(11)), 2, 15s));
  c.signal("n2", SIGINT);  // graceful leave
  REQUIRE(c.wait_exit("n2", 15s) == 0);
  const auto text = read_text(c.dir() + "/n2.snap");
  CHECK(text.find("alive: n1 " + ip(11) + ":7946\n") != std::string::npos);
  CHECK(text.find("\nleave\n") != std::string::npos);
  REQUIRE(eventually([&] { return status_of(rpc_of(ip(11)), "n2") == "left"; }, 15s));

  // Serf: a node that left does not rejoin on its own.
  c.chorus("n2", ip(12), {snap});
  std::this_thread::sleep_for(3s);
  CHECK(count_status(rpc_of(ip(12)), "alive") == 1);
  CHECK(status_of(rpc_of(ip(11)), "n2") == "left");
  for (auto& line : lines(c.log_of("n2"))) CHECK(line.find("Attempting re-join") == std::string::npos);
  c.kill9("n2");

  // -rejoin (rejoin_after_leave): the leave is ignored and it comes back.
  c.chorus("n2", ip(12), {snap, "-rejoin"});
  CHECK(sees_alive(rpc_of(ip(12)), 2, 20s));
  CHECK(eventually([&] { return status_of(rpc_of(ip(11)), "n2") == "alive"; }, 20s));
}

TEST_CASE("snapshot files move between serf agent and chorus agent", "[agent][snapshot][interop]") {
  cluster c("agent-snap-serf");
  const std::string serf_snap = c.dir() + "/s1.snap";
  const std::string a = "127.65.1.1", b = "127.65.1.2";
  c.serf("s1", a, {"-snapshot=" + serf_snap});
  c.chorus("c1", b, {"-join=" + a});
  REQUIRE(sees_alive(rpc_of(a), 2, 15s));
  REQUIRE(run_serf({"event", "-rpc-addr=" + rpc_of(a), "e1"}, 10s).exit_code == 0);
  REQUIRE(run_serf({"event", "-rpc-addr=" + rpc_of(a), "e2"}, 10s).exit_code == 0);
  const auto serf_clocks = clocks_of(rpc_of(a));
  // serf writes its snapshot through a buffer that it flushes only when it
  // appends a line more than 500 ms after the last flush: lines written in
  // a quick burst stay in the buffer until something else happens. Another
  // user event once a second gives it that next line (and a newer clock).
  auto last_nudge = std::chrono::steady_clock::now();
  CHECK(eventually(
      [&] {
        const auto t = read_text(serf_snap);
        std::uint64_t event_clock = 0;
        for (const auto& line : lines(t))
          if (line.rfind("event-clock: ", 0) == 0)
            event_clock = std::max<std::uint64_t>(event_clock, std::stoull(line.substr(13)));
        if (t.find("alive: c1 ") != std::string::npos && event_clock + 1 >= serf_clocks.event) return true;
        if (std::chrono::steady_clock::now() - last_nudge > 1s) {
          run_serf({"event", "-rpc-addr=" + rpc_of(a), "nudge"}, 10s);
          last_nudge = std::chrono::steady_clock::now();
        }
        return false;
      },
      20s));
  c.kill9("s1");

  // What serf wrote, read by chorus's parser.
  INFO(read_text(serf_snap));
  auto r = chorus::agent::replay_snapshot(read_text(serf_snap), false);
  CHECK(r.warnings.empty());
  CHECK(r.state.alive["s1"] == a + ":7946");
  CHECK(r.state.alive["c1"] == b + ":7946");
  CHECK(r.state.event_clock + 1 >= serf_clocks.event);

  // A chorus agent takes over s1's identity from serf's snapshot: it finds c1
  // without -join and its event clock continues from serf's.
  c.chorus("s1", a, {"-snapshot=" + serf_snap});
  CHECK(clocks_of(rpc_of(a)).event >= serf_clocks.event);
  CHECK(sees_alive(rpc_of(a), 2, 20s));
  CHECK(eventually([&] { return status_of(rpc_of(b), "s1") == "alive"; }, 20s));
  std::this_thread::sleep_for(1500ms);  // a coordinate line reaches the file
  c.kill9("s1");
  CHECK(read_text(serf_snap).find("coordinate: {\"Vec\":") != std::string::npos);

  // And back: serf agent restarts from the file chorus appended to (with
  // its coordinate lines, which serf ignores) and rejoins c1 by itself.
  c.serf("s1", a, {"-snapshot=" + serf_snap});
  CHECK(sees_alive(rpc_of(a), 2, 20s));
  CHECK(eventually([&] { return status_of(rpc_of(b), "s1") == "alive"; }, 20s));
}
