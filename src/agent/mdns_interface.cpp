#include "agent/mdns_interface.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

namespace chorus::agent::mdns {

std::string find_interface(const std::string& name, interface_info& out) {
  const std::string what = "Failed to use mDNS interface '" + name + "': ";
  out = {};
  out.name = name;
  out.index = name.empty() ? 0 : if_nametoindex(name.c_str());
  if (out.index == 0) return what + "no such network interface";
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return what + "cannot list addresses: " + std::strerror(errno);
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || name != i->ifa_name) continue;
    if (i->ifa_addr->sa_family == AF_INET && !out.ipv4) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.ipv4 = asio::ip::address_v4(ntohl(sin->sin_addr.s_addr));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      out.has_ipv6 = true;
    }
  }
  freeifaddrs(list);
  if (!out.ipv4 && !out.has_ipv6) return what + "it has no IPv4 or IPv6 address";
  return {};
}

unsigned interface_holding(const asio::ip::address& ip) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return 0;
  unsigned found = 0;
  for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr || !i->ifa_name) continue;
    if (ip.is_v6() && i->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &sin6->sin6_addr, b.size());
      if (asio::ip::address_v6(b) == asio::ip::address_v6(ip.to_v6().to_bytes())) found = if_nametoindex(i->ifa_name);
    } else if (ip.is_v4() && i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if (asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)) == ip.to_v4()) found = if_nametoindex(i->ifa_name);
    }
  }
  freeifaddrs(list);
  return found;
}

}  // namespace chorus::agent::mdns
