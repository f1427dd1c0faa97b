#pragma once
// Network ranges in CIDR notation ("10.0.0.0/8", "fd00::/8"), for
// memberlist's CIDRsAllowed (`-allowed-cidrs`, Consul's
// serf_lan_allowed_cidrs): gossip from addresses outside every range is
// dropped. Parsing is strict (a clear error names the bad text), so a typo
// stops the agent instead of silently locking it out of its cluster.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "swim/address.hpp"

namespace chorus::swim {

struct cidr {
  std::array<std::uint8_t, 16> ip{};  // host bits cleared
  std::uint8_t ip_len = 0;            // 4 or 16
  int prefix = 0;                     // 0..32 or 0..128

  // Whether `a`'s IP (port ignored) lies in the range. An IPv4 range only
  // holds 4-byte addresses; the transport reports IPv4-mapped IPv6 peers as
  // IPv4, so "10.0.0.0/8" covers them too.
  bool contains(const address& a) const;
  std::string to_string() const;
};

// Parses "IP/PREFIX". Empty on success, else what is wrong, naming `text`.
std::string parse_cidr(std::string_view text, cidr& out);

// A list as a config holds it: every entry, each possibly a comma-separated
// list itself ("10.0.0.0/8,192.168.0.0/16"). Empty on success, else the
// first bad entry's error. An empty result means "all sources allowed".
std::string parse_cidr_list(const std::vector<std::string>& texts, std::vector<cidr>& out);

// True if `ranges` is empty (no restriction) or one of them contains `a`.
bool allowed(const std::vector<cidr>& ranges, const address& a);

}  // namespace chorus::swim
