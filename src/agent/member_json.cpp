#include "agent/member_json.hpp"

#include <algorithm>
#include <limits>

#include "agent/ip_port_text.hpp"
#include "vivaldi/coordinate.hpp"

namespace chorus::agent {

std::string member_addr_text(const std::vector<std::uint8_t>& addr, std::uint16_t port) {
  if (addr.size() == 16) {
    // An IPv4-mapped address prints as plain IPv4, as Go's net.IP does.
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(mapped, mapped + 12, addr.begin())) return ip_port_text(std::span(addr).subspan(12), port);
  }
  if (addr.size() == 4 || addr.size() == 16) return ip_port_text(addr, port);
  // Go prints an IP of another length as "?" followed by its hex digits.
  std::string s = "?";
  static const char* hex = "0123456789abcdef";
  for (auto b : addr) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s + ":" + std::to_string(port);
}

std::optional<double> estimate_rtt_seconds(const rpc::coordinate& a, const rpc::coordinate& b) {
  if (!a.vec || !b.vec) return std::nullopt;
  vivaldi::coordinate ca, cb;
  ca.vec = *a.vec;
  ca.error = a.error;
  ca.adjustment = a.adjustment;
  ca.height = a.height;
  cb.vec = *b.vec;
  cb.error = b.error;
  cb.adjustment = b.adjustment;
  cb.height = b.height;
  const auto d = vivaldi::estimate_rtt(ca, cb);
  if (!d) return std::nullopt;
  return vivaldi::to_seconds(*d);
}

void sort_nearest_first(std::vector<placed_member>& members) {
  std::stable_sort(members.begin(), members.end(), [](const placed_member& a, const placed_member& b) {
    const double ra = a.rtt_seconds.value_or(std::numeric_limits<double>::infinity());
    const double rb = b.rtt_seconds.value_or(std::numeric_limits<double>::infinity());
    if (ra != rb) return ra < rb;
    return a.m.name < b.m.name;
  });
}

nlohmann::ordered_json coordinate_json(const rpc::coordinate& c) {
  if (!c.vec) return nullptr;
  return {{"adjustment", c.adjustment}, {"error", c.error}, {"height", c.height}, {"vec", *c.vec}};
}

nlohmann::ordered_json member_json(const rpc::member& m, bool with_rtt, const std::optional<rpc::coordinate>& coord,
                                   std::optional<double> rtt_seconds) {
  nlohmann::ordered_json j;
  j["name"] = m.name;
  j["addr"] = member_addr_text(m.addr, m.port);
  j["port"] = m.port;
  if (m.tags) {
    nlohmann::ordered_json tags = nlohmann::ordered_json::object();
    for (const auto& [k, v] : *m.tags) tags[k] = v;
    j["tags"] = tags;
  } else {
    j["tags"] = nullptr;
  }
  j["status"] = m.status;
  j["protocol"] = {{"max", m.delegate_max}, {"min", m.delegate_min}, {"version", m.delegate_cur}};
  if (with_rtt) {
    j["coordinate"] = coord ? coordinate_json(*coord) : nlohmann::ordered_json(nullptr);
    if (rtt_seconds)
      j["estimated_rtt_ms"] = *rtt_seconds * 1000.0;
    else
      j["estimated_rtt_ms"] = nullptr;
  }
  return j;
}

}  // namespace chorus::agent
