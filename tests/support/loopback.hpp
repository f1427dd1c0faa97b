#pragma once
// Loopback addresses for the tests' agents. Each test owns a fixed block
// of 127.x.y.z addresses (named in its header comment; integration and
// interop tests run serially), and an agent there takes the default ports.
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
