// The one-line failure explanation (serf_failure.hpp) shown by
// `members -detailed`, `info` and the EventMemberFailed log line.
#include <catch2/catch.hpp>

#include "agent/serf/failure.hpp"

using namespace chorus::agent;
using namespace std::chrono_literals;

TEST_CASE("failure explanation names accusers, confirmers and the declarer", "[failure]") {
  const time_point t0{std::chrono::seconds(1000)};
  // 05:10:07 UTC (time of day) at t0 + 7 s.
  const auto wall = std::chrono::system_clock::time_point{std::chrono::seconds(1795237807)};
  failure_report f;
  f.suspected_at = t0;
  f.suspected_by = "n1";
  f.confirmed_by = {"n2", "n3"};
  f.failed_at = t0 + 4500ms;
  f.failed_by = "n1";
  probe_outcome p;
  p.at = t0;
  p.indirect_asked = 3;
  p.nacks = 1;
  p.tcp_attempted = true;
  f.our_probes = {p};
  const auto text = describe_failure(f, t0 + 7s, wall);
  CHECK(text ==
        "suspected by n1 at 05:10:00.000Z (7.0s ago), confirmed by n2, n3; failed: declared by n1 at 05:10:04.500Z "
        "(2.5s ago); our probes: 1 of 1 failed (last: no direct ack, 3 indirect asked, 1 nacks, TCP failed)");
  // A ping that could not be sent (send_result::unreachable) says so.
  f.our_probes[0].send_failed = true;
  CHECK(describe_failure(f, t0 + 7s, wall).find("(last: ping could not be sent, 3 indirect asked") !=
        std::string::npos);
}

TEST_CASE("failure explanation is empty when nothing went wrong", "[failure]") {
  failure_report f;
  CHECK(describe_failure(f, time_point{}, std::chrono::system_clock::now()).empty());
  probe_outcome ok;
  ok.ok = ok.direct = true;
  f.our_probes = {ok};
  CHECK(describe_failure(f, time_point{}, std::chrono::system_clock::now()) ==
        "our probes: 0 of 1 failed (last: direct ack)");
  f = {};
  f.failed_at = time_point{};
  CHECK(describe_failure(f, time_point{}, std::chrono::system_clock::now()).find("declared by ?") != std::string::npos);
}
