#pragma once
// An IP and port as text the way Go's net.JoinHostPort writes them: the agent
// prints what mDNS found and the CLI prints members' addresses, and both must
// read like Serf's output.
#include <cstdint>
#include <span>
#include <string>

namespace chorus::agent {

// "a.b.c.d:port" for a 4-byte IP, "[v6]:port" for a 16-byte one (IPv4-mapped
// addresses included: callers that print those as IPv4 pass the last four
// bytes).
std::string ip_port_text(std::span<const std::uint8_t> ip, std::uint16_t port);

}  // namespace chorus::agent
