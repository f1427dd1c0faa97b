// A failed join reports every address's failure, in argument order (the
// agent words them with agent/join_text.hpp, tested in unit/agent).
#include <catch2/catch.hpp>

#include "agent/serf/serf.hpp"
#include "swim/core.hpp"

using namespace chorus;
using namespace chorus::agent;
using namespace std::chrono_literals;

namespace {

struct recorder : serf_runtime {
  std::vector<std::pair<address, swim::exchange_id>> started;
  std::vector<std::pair<std::uint64_t, join_result>> joins;
  swim::send_result send_packet(const address&, bytes, bool) override { return swim::send_result::sent; }
  void set_timer(time_point, swim::timer_token) override {}
  void start_push_pull(const address& to, swim::exchange_id id, const swim::push_pull&, time_point) override {
    started.emplace_back(to, id);
  }
  void start_tcp_ping(const address&, swim::exchange_id, const swim::ping&, time_point) override {}
  void join_done(std::uint64_t id, const join_result& r) override { joins.emplace_back(id, r); }
};

serf_config config() {
  serf_config c;
  c.memberlist = swim::config::lan("self", swim::address::v4(127, 0, 0, 1, 7946));
  return c;
}

}  // namespace

TEST_CASE("serf::join reports each failed address with its reason, in order", "[serf][join]") {
  serf s(config(), 1);
  recorder rt;
  s.start(time_point{}, rt);
  const std::vector<address> seeds{swim::address::v4(127, 0, 0, 2, 7946), swim::address::v4(127, 0, 0, 3, 7946),
                                   swim::address::v4(127, 0, 0, 4, 7946)};
  const auto id = s.join(time_point{}, seeds, false, rt);
  REQUIRE(rt.started.size() == 3);
  // Failures arrive out of order; the report keeps the order of the seeds.
  using swim::exchange_fault;
  s.push_pull_failed(time_point{} + 1s, rt.started[2].second, rt, {exchange_fault::connect, "Connection refused"});
  s.push_pull_failed(time_point{} + 1s, rt.started[0].second, rt, {exchange_fault::timeout});
  CHECK(rt.joins.empty());
  s.push_pull_failed(time_point{} + 2s, rt.started[1].second, rt, {exchange_fault::eof});
  REQUIRE(rt.joins.size() == 1);
  CHECK(rt.joins[0].first == id);
  const auto& r = rt.joins[0].second;
  CHECK(r.ok == 0);
  CHECK(r.failed == 3);
  REQUIRE(r.failures.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(r.failures[i].index == i);
    CHECK(r.failures[i].addr == seeds[i]);
  }
  CHECK(to_string(r.failures[0].reason) == "deadline passed");
  CHECK(to_string(r.failures[1].reason) == "read: End of file");
  CHECK(to_string(r.failures[2].reason) == "connect: Connection refused");
}
