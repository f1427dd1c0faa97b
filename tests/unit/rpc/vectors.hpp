#pragma once
// Helpers shared by the RPC vector tests: hex, JSON views of our structs in
// the vectors' vocabulary, and normalisation of the vectors' byte notation.
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "rpc/protocol.hpp"

namespace rpc_test {

using chorus::rpc::bytes;
using nlohmann::json;

inline bytes from_hex(const std::string& h) {
  bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string to_hex(const bytes& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (auto c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

inline std::vector<json> read_jsonl(const std::string& name) {
  std::ifstream f(std::string(CHORUS_SHARED_DIR) + "/vectors/" + name);
  std::vector<json> out;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// Vectors write byte fields as {"bytes_hex": h}, {"bytes_utf8": s}, {"hex": h}
// or (rpc-cli-streams) a plain string; we compare them all as {"hex": h}.
inline json normalize(const json& j, const std::string& key = {}) {
  if (j.is_object()) {
    if (j.size() == 1 && j.contains("bytes_hex")) return json{{"hex", j["bytes_hex"]}};
    if (j.size() == 1 && j.contains("hex")) return j;
    if (j.size() == 1 && j.contains("bytes_utf8")) {
      const std::string s = j["bytes_utf8"];
      return json{{"hex", to_hex(bytes(s.begin(), s.end()))}};
    }
    json out = json::object();
    for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = normalize(it.value(), it.key());
    return out;
  }
  if (j.is_array()) {
    json out = json::array();
    for (const auto& e : j) out.push_back(normalize(e));
    return out;
  }
  if (j.is_string() && (key == "Payload" || key == "Addr")) {
    const std::string s = j;
    return json{{"hex", to_hex(bytes(s.begin(), s.end()))}};
  }
  return j;
}

template <class T>
json opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}
inline json bin(const bytes& b) { return json{{"hex", to_hex(b)}}; }
inline json bin(const std::optional<bytes>& b) { return b ? bin(*b) : json(nullptr); }

namespace r = chorus::rpc;

inline json view(const r::request_header& v) { return {{"Command", v.command}, {"Seq", v.seq}}; }
inline json view(const r::response_header& v) { return {{"Error", v.error}, {"Seq", v.seq}}; }
inline json view(const r::handshake_request& v) { return {{"Version", v.version}}; }
inline json view(const r::auth_request& v) { return {{"AuthKey", v.auth_key}}; }
inline json view(const r::event_request& v) {
  return {{"Coalesce", v.coalesce}, {"Name", v.name}, {"Payload", bin(v.payload)}};
}
inline json view(const r::force_leave_request& v) { return {{"Node", v.node}, {"Prune", v.prune}}; }
inline json view(const r::join_request& v) { return {{"Existing", opt(v.existing)}, {"Replay", v.replay}}; }
inline json view(const r::members_filtered_request& v) {
  return {{"Name", v.name}, {"Status", v.status}, {"Tags", opt(v.tags)}};
}
inline json view(const r::tags_request& v) { return {{"DeleteTags", opt(v.delete_tags)}, {"Tags", opt(v.tags)}}; }
inline json view(const r::stream_request& v) { return {{"Type", v.type}}; }
inline json view(const r::monitor_request& v) { return {{"LogLevel", v.log_level}}; }
inline json view(const r::stop_request& v) { return {{"Stop", v.stop}}; }
inline json view(const r::query_request& v) {
  return {{"FilterNodes", opt(v.filter_nodes)},
          {"FilterTags", opt(v.filter_tags)},
          {"Name", v.name},
          {"Payload", bin(v.payload)},
          {"RelayFactor", v.relay_factor},
          {"RequestAck", v.request_ack},
          {"Timeout", v.timeout_ns}};
}
inline json view(const r::respond_request& v) { return {{"ID", v.id}, {"Payload", bin(v.payload)}}; }
inline json view(const r::key_request& v) { return {{"Key", v.key}}; }
inline json view(const r::get_coordinate_request& v) { return {{"Node", v.node}}; }
inline json view(const r::member& m) {
  return {{"Addr", bin(m.addr)},
          {"DelegateCur", m.delegate_cur},
          {"DelegateMax", m.delegate_max},
          {"DelegateMin", m.delegate_min},
          {"Name", m.name},
          {"Port", m.port},
          {"ProtocolCur", m.protocol_cur},
          {"ProtocolMax", m.protocol_max},
          {"ProtocolMin", m.protocol_min},
          {"Status", m.status},
          {"Tags", opt(m.tags)}};
}
inline json view(const std::vector<r::member>& ms) {
  json a = json::array();
  for (const auto& m : ms) a.push_back(view(m));
  return a;
}
inline json view(const r::join_response& v) { return {{"Num", v.num}}; }
inline json view(const r::members_response& v) { return {{"Members", v.members ? view(*v.members) : json(nullptr)}}; }
inline json view(const r::key_response& v) {
  return {{"Keys", opt(v.keys)},
          {"Messages", opt(v.messages)},
          {"NumErr", v.num_err},
          {"NumNodes", v.num_nodes},
          {"NumResp", v.num_resp}};
}
inline json view(const r::stats_response& v) { return json(v); }
inline json view(const r::coordinate_response& v) {
  return {{"Coord",
           {{"Adjustment", v.coord.adjustment},
            {"Error", v.coord.error},
            {"Height", v.coord.height},
            {"Vec", opt(v.coord.vec)}}},
          {"Ok", v.ok}};
}
inline json view(const r::member_event_record& v) { return {{"Event", v.event}, {"Members", view(v.members)}}; }
inline json view(const r::user_event_record& v) {
  return {
      {"Coalesce", v.coalesce}, {"Event", "user"}, {"LTime", v.ltime}, {"Name", v.name}, {"Payload", bin(v.payload)}};
}
inline json view(const r::query_event_record& v) {
  return {{"Event", "query"}, {"ID", v.id}, {"LTime", v.ltime}, {"Name", v.name}, {"Payload", bin(v.payload)}};
}
inline json view(const r::event_record& v) {
  return std::visit([](const auto& x) { return view(x); }, v);
}
inline json view(const r::log_record& v) { return {{"Log", v.log}}; }
inline json view(const r::query_record& v) { return {{"From", v.from}, {"Payload", bin(v.payload)}, {"Type", v.type}}; }

// True when every map in the msgpack object has its keys in ascending byte
// order: then Go's encoding was deterministic (struct fields, or maps that
// happen to iterate sorted) and ours must equal it byte for byte.
inline bool maps_sorted(const chorus::msgpack::value& v) {
  using chorus::msgpack::kind;
  if (v.k == kind::map) {
    for (std::size_t i = 2; i + 1 < v.items.size(); i += 2)
      if (!(v.items[i - 2].text() < v.items[i].text())) return false;
  }
  for (const auto& c : v.items)
    if (!maps_sorted(c)) return false;
  return true;
}

}  // namespace rpc_test
