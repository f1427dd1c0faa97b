#pragma once
// "Failure detection that explains itself": one line of text for a member's
// failure_report, as `chorus members -detailed`, `chorus info` (section
// "failures") and the agent's EventMemberFailed log line show it, e.g.
//
//   suspected by n1 at 05:10:01.250Z (6.2s ago), confirmed by n2, n4;
//   failed: declared by n1 at 05:10:05.830Z (1.6s ago); our probes: 3 failed
//   (last: no direct ack, 3 indirect asked, 0 nacks, TCP failed)
#include <chrono>
#include <string>

#include "agent/serf/types.hpp"

namespace chorus::agent {

// Empty when the report says nothing (never suspected, probes all fine).
// `now` is the serf clock the report's times come from; `wall_now` the wall
// clock at the same instant, to print absolute UTC times.
std::string describe_failure(const failure_report& f, time_point now, std::chrono::system_clock::time_point wall_now);

}  // namespace chorus::agent
