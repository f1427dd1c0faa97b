#include "agent/ip_port_text.hpp"

#include <arpa/inet.h>

namespace chorus::agent {

std::string ip_port_text(std::span<const std::uint8_t> ip, std::uint16_t port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ip.size() == 4) {
    inet_ntop(AF_INET, ip.data(), buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port);
  }
  inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(port);
}

}  // namespace chorus::agent
