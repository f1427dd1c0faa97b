#include "swim/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace chorus::swim {

bool cidr::contains(const address& a) const {
  if (a.ip_len != ip_len) return false;
  const int full = prefix / 8, rest = prefix % 8;
  for (int i = 0; i < full; ++i)
    if (a.ip[i] != ip[i]) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a.ip[full] & mask) == ip[full];
}

std::string cidr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ip_len == 4 ? AF_INET : AF_INET6, ip.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

std::string parse_cidr(std::string_view text, cidr& out) {
  const auto bad = [&](const std::string& why) { return "invalid CIDR '" + std::string(text) + "': " + why; };
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return bad("expected IP/PREFIX, e.g. 10.0.0.0/8");
  const std::string ip(text.substr(0, slash));
  const std::string_view bits = text.substr(slash + 1);
  cidr c;
  if (inet_pton(AF_INET, ip.c_str(), c.ip.data()) == 1)
    c.ip_len = 4;
  else if (inet_pton(AF_INET6, ip.c_str(), c.ip.data()) == 1)
    c.ip_len = 16;
  else
    return bad("'" + ip + "' is not an IPv4 or IPv6 address");
  const int max_bits = c.ip_len * 8;
  const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), c.prefix);
  if (bits.empty() || ec != std::errc() || end != bits.data() + bits.size() || c.prefix < 0 || c.prefix > max_bits)
    return bad("prefix length must be a number from 0 to " + std::to_string(max_bits));
  // Clear the host bits, as Go's net.ParseCIDR does for the network.
  for (int i = 0; i < c.ip_len; ++i) {
    const int keep = std::clamp(c.prefix - 8 * i, 0, 8);
    c.ip[static_cast<std::size_t>(i)] &= static_cast<std::uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
  out = c;
  return {};
}

std::string parse_cidr_list(const std::vector<std::string>& texts, std::vector<cidr>& out) {
  std::vector<cidr> ranges;
  for (const auto& t : texts) {
    std::string_view rest = t;
    while (true) {
      const auto comma = rest.find(',');
      std::string_view one = rest.substr(0, comma);
      while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
      while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
      cidr c;
      if (auto e = parse_cidr(one, c); !e.empty()) return e;
      ranges.push_back(c);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  out = std::move(ranges);
  return {};
}

bool allowed(const std::vector<cidr>& ranges, const address& a) {
  if (ranges.empty()) return true;
  for (const auto& r : ranges)
    if (r.contains(a)) return true;
  return false;
}

}  // namespace chorus::swim
