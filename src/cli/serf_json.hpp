#pragma once
// Serf messages, tags and coordinates as JSON for `chorus decode`, in the
// shape the captured vectors use (../shared/vectors/README.md): Go field
// names, byte fields as {hex, text} (text only when printable ASCII), IPs as
// {hex, len, ip}, nil as null, durations as integer nanoseconds.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "agent/serf/messages.hpp"

namespace chorus::cli {

// Lowercase hex of `b`.
std::string hex_string(std::span<const std::uint8_t> b);
// {hex, text?}; null when empty and `nil_when_empty`.
nlohmann::json bytes_json(std::span<const std::uint8_t> b, bool nil_when_empty = true);
// {hex, len, ip}: 4 bytes dotted, 16 bytes IPv6 (or the IPv4 inside ::ffff:0:0/96).
nlohmann::json ip_json(std::span<const std::uint8_t> b);
// Node Meta (serf.md §4): {hex, len, magic?, tags} or {hex, len, error}.
nlohmann::json meta_json(std::span<const std::uint8_t> meta);
// Ack payload (serf.md §5): {hex, len, ping_version, coordinate} or with error.
nlohmann::json ack_payload_json(std::span<const std::uint8_t> payload);

// {serf_type, serf_name, body, [payload_decoded | relay_header + inner]}.
nlohmann::json serf_json(const agent::serf_message& m);
inline nlohmann::json to_json(const agent::serf_message& m) { return serf_json(m); }
// Decodes then renders; on failure {serf_type, error, offset}.
nlohmann::json serf_bytes_json(std::span<const std::uint8_t> raw);

}  // namespace chorus::cli
