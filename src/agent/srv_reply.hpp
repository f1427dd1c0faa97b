#pragma once
// The bytes of a unicast DNS SRV lookup (RFC 1035, RFC 2782) for
// `-join srv:NAME`: the query, the checks on the reply, and the nameserver
// settings from resolv.conf. No I/O here (srv_resolver.hpp sends and
// receives); the wire format itself is dns_message.hpp.
//
// A reply is only believed when it answers our query: same ID, QR set, the
// same single question. Anything else (garbage, a stray or forged datagram)
// is `ignored` and the lookup keeps waiting for the real reply; a reply that
// does answer it either fails the lookup (NXDOMAIN, SERVFAIL, ...) or gives
// the SRV targets, each with the addresses the server put in the
// additional section (none: the caller resolves the host itself).
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/dns_message.hpp"

namespace chorus::agent::srv {

// A join argument "srv:NAME" (a chorus extension; Serf has no "srv:"). Not
// "srv:DIGITS", which stays a host named "srv" with a port, as in Serf.
bool is_srv_argument(std::string_view arg);
// "srv:NAME" -> "NAME".
std::string_view srv_name(std::string_view arg);
// The labels of a textual name ("a.b.c" or "a.b.c."); empty on a name that
// cannot be encoded (empty label, label over 63 bytes, name over 255 bytes).
dns::name parse_name(std::string_view text);

// The first `nameserver` and the `options timeout:N attempts:N` of a
// resolv.conf; glibc's defaults (5 s, 2 attempts) when not given.
struct resolver_config {
  std::string nameserver;  // IP text; empty if the file names none
  std::chrono::seconds timeout{5};
  int attempts = 2;
};
resolver_config parse_resolv_conf(std::string_view text);
// Reads the file; a missing file gives the defaults with no nameserver.
resolver_config read_resolv_conf(const std::string& path = "/etc/resolv.conf");

// A recursive (RD) query for the SRV records of `qname`.
std::vector<std::uint8_t> query(const dns::name& qname, std::uint16_t id);

struct target {
  std::string host;  // "node1.example.internal" (no trailing dot)
  std::uint16_t port = 0;
  std::uint16_t priority = 0, weight = 0;
  std::vector<std::vector<std::uint8_t>> addresses;  // A (4 bytes) / AAAA (16 bytes) glue
};

struct reply {
  enum class kind { ignored, failed, answered } verdict = kind::ignored;
  std::string error;            // ignored: why (for a debug log); failed: why, in words
  std::vector<target> targets;  // answered: by priority, then weight (highest first), then host
};
reply read_reply(std::span<const std::uint8_t> bytes, std::uint16_t id, const dns::name& qname);

}  // namespace chorus::agent::srv
