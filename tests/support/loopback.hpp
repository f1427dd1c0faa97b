#pragma once
// Loopback addresses for the tests' agents. Each test owns a fixed block
// of 127.x.y.z addresses (named in its header comment), and an agent there
// takes the default ports. The test cases of one executable take turns
// (tests/CMakeLists.txt: RESOURCE_LOCK), but different executables run at
// the same time under `ctest -j`, so no two executables share a block:
//
//   integration_agent    127.62.0, 127.65.0-3, 127.71.1, 127.83.0
//   integration_hostile  127.80.x
//   integration_http     127.84.0
//   integration_metrics  127.70.0
//   integration_netns    only inside its own namespaces (names carry the PID)
//   interop_agent        127.63.x
//   interop_cli          127.60.0, 127.66.x (join_dns: its own namespace)
//   interop_codec        127.61.0
//   hostile_suite        127.93.x (tests/hostile/cluster.py)
//
// Unit tests bind 127.0.0.1 or 127.17.0.1 on ephemeral ports only.
#include <cstdint>
#include <initializer_list>
#include <string>

namespace test_support {

// Whether a TCP socket could bind ip:port now (SO_REUSEADDR, as agents
// bind: a connection of a just-killed agent in TIME_WAIT does not count).
bool tcp_port_free(const std::string& ip, std::uint16_t port);

// Throws, naming the port, unless every port is free at ip. An address held
// by a leftover agent (a killed earlier run) otherwise fails a test far from
// its cause, or worse, lets it talk to the wrong agent.
void require_free(const std::string& ip, std::initializer_list<std::uint16_t> ports);

}  // namespace test_support
