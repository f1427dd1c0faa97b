// Loopback addresses for the tests' agents (loopback.hpp).
#include "support/loopback.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace test_support {

bool tcp_port_free(const std::string& ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) throw std::runtime_error("not an IPv4 address: " + ip);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket");
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return free;
}

void require_free(const std::string& ip, std::initializer_list<std::uint16_t> ports) {
  for (const auto port : ports)
    if (!tcp_port_free(ip, port))
      throw std::runtime_error(ip + ":" + std::to_string(port) +
                               " is taken (a leftover agent of an earlier run?): the test cannot own this address");
}

}  // namespace test_support
