#pragma once
// The network interface mDNS runs on (`-mdns-iface`, else `-iface`): its
// index (IPV6_JOIN_GROUP / IPV6_MULTICAST_IF take that) and its IPv4 address
// (IP_ADD_MEMBERSHIP / IP_MULTICAST_IF take that), read from getifaddrs().
// Kept apart from the socket code so a unit test can ask about `lo`.
#include <asio/ip/address.hpp>
#include <optional>
#include <string>

namespace chorus::agent::mdns {

struct interface_info {
  std::string name;
  unsigned index = 0;                        // 0: no such interface
  std::optional<asio::ip::address_v4> ipv4;  // first IPv4 address, if any
  bool has_ipv6 = false;                     // any IPv6 address (link-local counts)
};

// Empty error and `out` filled when `name` exists and has an IPv4 or an IPv6
// address; else the reason, naming the interface.
std::string find_interface(const std::string& name, interface_info& out);

// The index of the interface holding `ip` (0 if none does): an agent bound
// to one IPv6 address runs IPv6 mDNS on that address's link.
unsigned interface_holding(const asio::ip::address& ip);

}  // namespace chorus::agent::mdns
