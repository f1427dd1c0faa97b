#pragma once
// A member as JSON, the shape of `chorus members -format json` (Serf's, plus
// `coordinate` and `estimated_rtt_ms` when sorted by -near), and Vivaldi
// RTT estimates between RPC coordinates. Shared by the CLI and the HTTP API
// so that both print the same thing.
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "rpc/protocol.hpp"

namespace chorus::agent {

// "ip:port" as Go prints a member's address: IPv4-mapped IPv6 as IPv4, an IP
// of another length as "?" and its hex digits.
std::string member_addr_text(const std::vector<std::uint8_t>& addr, std::uint16_t port);

// The estimated RTT in seconds (Go's Duration.Seconds() of the truncated
// nanoseconds); nullopt when a coordinate is missing or they do not fit.
std::optional<double> estimate_rtt_seconds(const rpc::coordinate& a, const rpc::coordinate& b);

nlohmann::ordered_json coordinate_json(const rpc::coordinate& c);

// A member with its coordinate and its estimated RTT from a -near origin
// (either may be unknown).
struct placed_member {
  rpc::member m;
  std::optional<rpc::coordinate> coord;
  std::optional<double> rtt_seconds;
};
// Nearest first; members without an estimate last; ties by name.
void sort_nearest_first(std::vector<placed_member>& members);

// `with_rtt`: adds "coordinate" and "estimated_rtt_ms" (null when unknown).
nlohmann::ordered_json member_json(const rpc::member& m, bool with_rtt,
                                   const std::optional<rpc::coordinate>& coord = {},
                                   std::optional<double> rtt_seconds = {});

}  // namespace chorus::agent
