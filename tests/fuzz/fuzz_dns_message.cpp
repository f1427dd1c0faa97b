// DNS messages (dns_message.hpp: mDNS discovery and the unicast SRV lookup
// of `-join srv:NAME`, srv_reply.hpp). Properties: parsing never crashes or
// reads out of bounds; a parsed message re-encodes and parses again with the
// same sections; the SRV reply reader, given the datagram's own ID and
// question, never crashes and answers only with targets that have a host and
// addresses of 4 or 16 bytes.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "agent/dns_message.hpp"
#include "agent/srv_reply.hpp"

namespace dns = chorus::agent::dns;
namespace srv = chorus::agent::srv;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  const auto parsed = dns::parse(in);
  if (parsed.msg.has_value() == !parsed.error.empty()) std::abort();
  dns::name qname{"_serf", "_udp", "test"};
  std::uint16_t id = size >= 2 ? static_cast<std::uint16_t>(data[0] << 8 | data[1]) : 0;
  if (parsed.msg) {
    const auto& m = *parsed.msg;
    if (!m.questions.empty()) qname = m.questions[0].qname;
    const auto bytes = dns::encode(m);
    if (!bytes.empty()) {
      const auto again = dns::parse(bytes);
      if (!again.msg || again.msg->id != m.id || again.msg->questions.size() != m.questions.size() ||
          again.msg->answers.size() != m.answers.size() || again.msg->additional.size() != m.additional.size())
        std::abort();
    }
  }
  const auto r = srv::read_reply(in, id, qname);
  if (r.verdict == srv::reply::kind::answered) {
    if (r.targets.empty()) std::abort();
    for (const auto& t : r.targets) {
      if (t.host.empty()) std::abort();
      for (const auto& a : t.addresses)
        if (a.size() != 4 && a.size() != 16) std::abort();
    }
  } else if (r.error.empty()) {
    std::abort();
  }
  return 0;
}
