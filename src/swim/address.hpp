#pragma once
// A peer's transport address as memberlist carries it: the raw 4- or 16-byte
// IP and a port (memberlist.md section 1). Fixed-size so member entries stay
// small (a 10,000-node table exists once per node in the simulator).
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "swim/messages.hpp"

namespace chorus::swim {

struct address {
  std::array<std::uint8_t, 16> ip{};
  std::uint8_t ip_len = 0;  // 4 (IPv4) or 16 (IPv6 / IPv4-mapped); 0 = unset
  std::uint16_t port = 0;

  static address from(std::span<const std::uint8_t> ip_bytes, std::uint16_t port) {
    address a;
    a.ip_len = static_cast<std::uint8_t>(std::min<std::size_t>(ip_bytes.size(), 16));
    std::copy_n(ip_bytes.begin(), a.ip_len, a.ip.begin());
    a.port = port;
    return a;
  }
  static address v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port) {
    const std::uint8_t ip4[4] = {a, b, c, d};
    return from(ip4, port);
  }
  bytes ip_bytes() const { return bytes(ip.begin(), ip.begin() + ip_len); }
  bool empty() const { return ip_len == 0; }
  bool same_ip(std::span<const std::uint8_t> other) const {
    return other.size() == ip_len && std::equal(other.begin(), other.end(), ip.begin());
  }

  // "a.b.c.d:port" or "[hex:...]:port"; for logs and traces only.
  std::string to_string() const {
    std::string s;
    if (ip_len == 4) {
      for (int i = 0; i < 4; ++i) s += (i ? "." : "") + std::to_string(ip[i]);
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      s += '[';
      for (int i = 0; i < ip_len; ++i) {
        if (i && i % 2 == 0) s += ':';
        s += hex[ip[i] >> 4];
        s += hex[ip[i] & 15];
      }
      s += ']';
    }
    return s + ":" + std::to_string(port);
  }

  bool operator==(const address& o) const {
    return ip_len == o.ip_len && port == o.port && std::equal(ip.begin(), ip.begin() + ip_len, o.ip.begin());
  }
};

struct address_hash {
  std::size_t operator()(const address& a) const {
    std::uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < a.ip_len; ++i) h = (h ^ a.ip[i]) * 1099511628211ULL;
    h = (h ^ a.port) * 1099511628211ULL;
    return static_cast<std::size_t>(h);
  }
};

}  // namespace chorus::swim
