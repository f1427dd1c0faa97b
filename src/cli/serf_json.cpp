#include "cli/serf_json.hpp"

#include <cstdio>

#include "agent/serf/codec.hpp"
#include "agent/serf/coordinate_payload.hpp"
#include "agent/serf/tags.hpp"

namespace chorus::cli {
namespace {

using json = nlohmann::json;

}  // namespace

std::string hex_string(std::span<const std::uint8_t> b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (auto x : b) {
    s += digits[x >> 4];
    s += digits[x & 15];
  }
  return s;
}

namespace {

bool printable(std::span<const std::uint8_t> b) {
  for (auto x : b)
    if (x < 0x20 || x > 0x7e) return false;
  return true;
}

json filter_json(const agent::query_filter& f) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        agent::bytes raw;
        if constexpr (std::is_same_v<T, agent::node_filter>) {
          agent::encode_filter(v, raw);
          return {{"type", 0}, {"kind", "node"}, {"hex", hex_string(raw)}, {"nodes", v.nodes}};
        } else if constexpr (std::is_same_v<T, agent::tag_filter>) {
          agent::encode_filter(v, raw);
          return {
              {"type", 1}, {"kind", "tag"}, {"hex", hex_string(raw)}, {"value", {{"Expr", v.expr}, {"Tag", v.tag}}}};
        } else {
          json j{{"kind", "undecodable"}, {"hex", hex_string(v.raw)}, {"error", v.error}};
          if (!v.raw.empty()) j["type"] = v.raw[0];
          return j;
        }
      },
      f);
}

json member_json(const agent::member_info& m) {
  return {{"Addr", ip_json(m.addr)},
          {"DelegateCur", m.delegate_cur},
          {"DelegateMax", m.delegate_max},
          {"DelegateMin", m.delegate_min},
          {"Name", m.name},
          {"Port", m.port},
          {"ProtocolCur", m.protocol_cur},
          {"ProtocolMax", m.protocol_max},
          {"ProtocolMin", m.protocol_min},
          {"Status", static_cast<int>(m.status)},
          {"Tags", m.tags}};
}

bool is_key_query(const std::string& name) {
  return name == agent::install_key_query || name == agent::use_key_query || name == agent::remove_key_query ||
         name == agent::list_keys_query;
}

json body_json(const agent::serf_message& m, json& extra) {
  return std::visit(
      [&](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, agent::leave_intent>) {
          return {{"LTime", v.ltime}, {"Node", v.node}, {"Prune", v.prune}};
        } else if constexpr (std::is_same_v<T, agent::join_intent>) {
          return {{"LTime", v.ltime}, {"Node", v.node}};
        } else if constexpr (std::is_same_v<T, agent::push_pull_state>) {
          json events{{"array_len", v.events.size()}, {"nil_entries", 0}, {"non_nil", json::array()}};
          std::size_t nils = 0;
          for (std::size_t i = 0; i < v.events.size(); ++i) {
            if (!v.events[i]) {
              ++nils;
              continue;
            }
            json list = json::array();
            for (const auto& e : v.events[i]->events)
              list.push_back({{"Name", e.name}, {"Payload", bytes_json(e.payload)}});
            events["non_nil"].push_back({{"index", i}, {"LTime", v.events[i]->ltime}, {"Events", list}});
          }
          events["nil_entries"] = nils;
          return {{"EventLTime", v.event_ltime},
                  {"Events", events},
                  {"LTime", v.ltime},
                  {"LeftMembers", v.left_members},
                  {"QueryLTime", v.query_ltime},
                  {"StatusLTimes", v.status_ltimes}};
        } else if constexpr (std::is_same_v<T, agent::user_event>) {
          return {{"CC", v.cc}, {"LTime", v.ltime}, {"Name", v.name}, {"Payload", bytes_json(v.payload)}};
        } else if constexpr (std::is_same_v<T, agent::query>) {
          json filters = nullptr;
          if (!v.filters.empty()) {
            filters = json::array();
            for (const auto& f : v.filters) filters.push_back(filter_json(f));
          }
          if (is_key_query(v.name) && !v.payload.empty()) extra["payload_decoded"] = serf_bytes_json(v.payload);
          return {{"Addr", ip_json(v.addr)},
                  {"Filters", filters},
                  {"Flags", v.flags},
                  {"ID", v.id},
                  {"LTime", v.ltime},
                  {"Name", v.name},
                  {"Payload", bytes_json(v.payload)},
                  {"Port", v.port},
                  {"RelayFactor", v.relay_factor},
                  {"SourceNode", v.source_node},
                  {"Timeout", v.timeout.count()}};
        } else if constexpr (std::is_same_v<T, agent::query_response>) {
          // Internal query answers carry a Serf message (keyResponse 8,
          // conflictResponse 6) as payload; show it when it decodes as one.
          if (!v.payload.empty() && (v.payload[0] == 6 || v.payload[0] == 8)) {
            auto inner = agent::decode_serf_message(v.payload);
            if (inner.ok()) extra["payload_decoded"] = serf_json(inner.value);
          }
          return {{"Flags", v.flags},
                  {"From", v.from},
                  {"ID", v.id},
                  {"LTime", v.ltime},
                  {"Payload", bytes_json(v.payload)}};
        } else if constexpr (std::is_same_v<T, agent::conflict_response>) {
          if (!v.member) return nullptr;
          return member_json(*v.member);
        } else if constexpr (std::is_same_v<T, agent::key_request>) {
          return {{"Key", bytes_json(v.key, false)}};
        } else if constexpr (std::is_same_v<T, agent::key_response>) {
          json keys = nullptr;
          if (!v.keys.empty()) keys = v.keys;
          return {{"Keys", keys}, {"Message", v.message}, {"PrimaryKey", v.primary_key}, {"Result", v.result}};
        } else {  // relay
          extra["relay_header"] = {
              {"DestAddr",
               {{"IP", ip_json(v.header.dest_ip)}, {"Port", v.header.dest_port}, {"Zone", v.header.dest_zone}}},
              {"DestName", v.header.dest_name}};
          extra["inner"] = serf_bytes_json(v.inner);
          return nullptr;
        }
      },
      m);
}

}  // namespace

json bytes_json(std::span<const std::uint8_t> b, bool nil_when_empty) {
  if (b.empty() && nil_when_empty) return nullptr;
  json j{{"hex", hex_string(b)}};
  if (printable(b)) j["text"] = std::string(b.begin(), b.end());
  return j;
}

json ip_json(std::span<const std::uint8_t> b) {
  if (b.empty()) return nullptr;
  json j{{"hex", hex_string(b)}, {"len", b.size()}};
  char buf[64];
  static const std::uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (b.size() == 4 || (b.size() == 16 && std::equal(b.begin(), b.begin() + 12, v4_mapped))) {
    const auto* p = b.data() + (b.size() - 4);
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    j["ip"] = buf;
  } else if (b.size() == 16) {
    std::string s;
    for (int i = 0; i < 8; ++i) {
      std::snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", (b[2 * i] << 8) | b[2 * i + 1]);
      s += buf;
    }
    j["ip"] = s;
  } else {
    j["error"] = "not a 4- or 16-byte IP address";
  }
  return j;
}

json meta_json(std::span<const std::uint8_t> meta) {
  if (meta.empty()) return nullptr;
  json j{{"hex", hex_string(meta)}, {"len", meta.size()}};
  if (meta[0] == agent::tag_magic_byte) j["magic"] = "0xff";
  auto t = agent::decode_tags(meta);
  if (t.ok())
    j["tags"] = t.value;
  else
    j["error"] = t.error.what;
  return j;
}

json ack_payload_json(std::span<const std::uint8_t> payload) {
  if (payload.empty()) return nullptr;
  json j{{"hex", hex_string(payload)}, {"len", payload.size()}, {"ping_version", payload[0]}};
  auto c = agent::decode_coordinate_payload(payload);
  if (!c.ok()) {
    j["error"] = c.error.what;
    return j;
  }
  j["coordinate"] = {
      {"Adjustment", c.value.adjustment}, {"Error", c.value.error}, {"Height", c.value.height}, {"Vec", c.value.vec}};
  return j;
}

json serf_json(const agent::serf_message& m) {
  const auto t = static_cast<std::uint8_t>(m.index());
  json extra = json::object();
  json j{{"serf_type", t}, {"serf_name", agent::serf_type_name(t)}};
  json body = body_json(m, extra);
  if (!std::holds_alternative<agent::relay>(m)) j["body"] = body;
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  return j;
}

json serf_bytes_json(std::span<const std::uint8_t> raw) {
  auto d = agent::decode_serf_message(raw);
  if (d.ok()) return serf_json(d.value);
  json j{{"error", d.error.what}, {"offset", d.error.offset}, {"hex", hex_string(raw)}};
  if (!raw.empty()) {
    j["serf_type"] = raw[0];
    j["serf_name"] = agent::serf_type_name(raw[0]);
  }
  return j;
}

}  // namespace chorus::cli
