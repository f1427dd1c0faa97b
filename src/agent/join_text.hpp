#pragma once
// The text of a failed join, as Serf's agent words it (observed from Debian's
// serf 0.9.4: `serf join` prints the RPC error after "Error joining the
// cluster: "). Every address argument is resolved on its own; each failure
// (resolution, or the push/pull with one resolved IP) is one entry, in the
// order of the arguments, and the entries are listed like Go's multierror:
//
//   1 error occurred:
//   \t* Failed to join 127.0.0.9: dial tcp 127.0.0.9:7946: connect: connection refused
//   \n
//
// Only when no address answered does the join fail (one success clears the
// errors). Address parsing follows memberlist (memberlist.md 13.11): an
// optional "name/" prefix, a single colon or a bracketed host means a port,
// otherwise the default (our bind) port; a host that is not an IP is looked
// up, and a string that is not a domain name is refused without a query.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "swim/address.hpp"
#include "swim/errors.hpp"

namespace chorus::agent::join_text {

struct target {
  std::string host;  // IP text or a name to look up
  std::uint16_t port = 0;
  std::string error;  // non-empty: cannot be parsed (Go's wording)
};
target parse(std::string_view text, std::uint16_t default_port);

// A literal IP (Go's net.ParseIP: dotted IPv4 or IPv6, no zone).
bool is_ip_literal(std::string_view host);
// Go's rule for names it will send to DNS.
bool is_domain_name(std::string_view host);

// "lookup HOST[ on SERVER]: REASON" for a failed lookup: `not_found` for a
// name that does not exist, else `other` is the resolver's message.
std::string lookup_error(std::string_view host, bool not_found, std::string_view other = {});
// The first nameserver of /etc/resolv.conf as "IP:53" (Go names the server).
std::string dns_server(const std::string& resolv_conf_path = "/etc/resolv.conf");

// "Failed to resolve TEXT: WHY".
std::string resolve_failure(std::string_view text, std::string_view why);
// "Failed to join IP: WHY", why the push/pull with `to` failed in Go's words.
std::string join_failure(const swim::address& to, const swim::exchange_error& why);
// Why an exchange with `to` failed, in Go's words ("dial tcp IP:PORT:
// connect: connection refused", "EOF", ...).
std::string go_reason(const swim::address& to, const swim::exchange_error& why);
// Go's multierror list ("N errors occurred:\n\t* a\n\t* b\n\n"); "" if none.
std::string multierror(const std::vector<std::string>& errors);

// IP as Go prints it ("127.0.0.1", "::1"; IPv4-mapped as IPv4), and
// "IP:PORT" / "[IP]:PORT".
std::string ip_text(const swim::address& a);
std::string host_port_text(const swim::address& a);

}  // namespace chorus::agent::join_text
