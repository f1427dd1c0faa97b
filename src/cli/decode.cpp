#include "cli/decode.hpp"

#include <istream>
#include <iterator>
#include <ostream>

#include "cli/serf_json.hpp"
#include "swim/codec.hpp"
#include "swim/keyring.hpp"
#include "swim/packet.hpp"
#include "swim/stream.hpp"

namespace chorus::cli {
namespace {

using json = nlohmann::json;
using namespace chorus::swim;

json vsn_json(const bytes& v) {
  json a = json::array();
  for (auto x : v) a.push_back(x);
  return a;
}

json error_json(const decode_error& e) { return {{"what", e.what}, {"offset", e.offset}}; }

json layer_json(const packet_layer& l) {
  json j{{"path", l.path}, {"type", static_cast<int>(l.type)}, {"name", type_name(static_cast<std::uint8_t>(l.type))}};
  switch (l.type) {
    case message_type::has_crc:
      j["crc"] = hex_string(
          std::vector<std::uint8_t>{static_cast<std::uint8_t>(l.crc >> 24), static_cast<std::uint8_t>(l.crc >> 16),
                                    static_cast<std::uint8_t>(l.crc >> 8), static_cast<std::uint8_t>(l.crc)});
      j["crc_ok"] = l.crc_ok;
      break;
    case message_type::compress:
      j["algo"] = "lzw";
      j["Buf_len"] = l.compressed_len;
      j["decompressed_len"] = l.decompressed_len;
      break;
    default:
      j["count"] = l.count;
      j["lengths"] = l.lengths;
      if (l.truncated) j["truncated"] = l.truncated;
      break;
  }
  return j;
}

// Keys from --key; an unusable key is reported, not fatal for the others.
bool load_keys(const decode_options& opt, keyring& ring, json& doc) {
  for (const auto& k : opt.keys_base64) {
    auto d = key_from_base64(k);
    std::string e = d.ok() ? ring.install(d.key) : d.error;
    if (!e.empty()) {
      doc["error"] = {{"what", "key " + k + ": " + e}, {"offset", 0}};
      return false;
    }
  }
  return true;
}

// Open options that show what is there: whatever label, and the plaintext
// when a --key decrypts it.
template <class Options>
Options inspecting(const keyring& ring) {
  Options o;
  o.skip_label_check = true;
  if (!ring.empty()) o.keys = &ring;
  return o;
}

void packet_report(std::span<const std::uint8_t> in, const keyring& ring, decode_report& r) {
  json& doc = r.doc;
  auto p = open(in, inspecting<open_options>(ring));
  if (p.label) doc["label"] = *p.label;
  if (p.encrypted) {
    doc["encryption"] = {{"version", p.encryption_version},
                         {"key_index", p.key_index},
                         {"key", key_to_base64(ring.keys().at(p.key_index))},
                         {"overhead", in.size() - p.plaintext.size() - (p.label ? p.label->size() + 2 : 0)}};
    doc["plaintext_hex"] = hex_string(p.plaintext);
  }
  json layers = json::array();
  for (const auto& l : p.layers) layers.push_back(layer_json(l));
  doc["layers"] = layers;
  json msgs = json::array();
  for (const auto& m : p.messages) {
    const auto t = static_cast<std::uint8_t>(type_of(m.msg));
    msgs.push_back({{"path", m.path},
                    {"type", t},
                    {"name", type_name(t)},
                    {"hex", hex_string(m.wire)},
                    {"decoded", message_json(m.msg)}});
  }
  doc["messages"] = msgs;
  if (!p.part_errors.empty()) {
    json errs = json::array();
    for (const auto& e : p.part_errors)
      errs.push_back({{"path", e.path}, {"what", e.error.what}, {"offset", e.error.offset}});
    doc["part_errors"] = errs;
  }
  if (!p.ok()) {
    doc["error"] = error_json(p.error);
    if (ring.empty() && !in.empty() && (in[0] == 0 || in[0] == 1) && in.size() >= encryption_overhead_v1)
      doc["hint"] = "this may be an encrypted packet (version byte " + std::to_string(in[0]) + "): pass --key";
  }
  r.ok = p.ok() && p.part_errors.empty();
}

json stream_message_json(const stream_message& m) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, push_pull>) {
          json nodes = json::array();
          for (const auto& s : v.nodes) nodes.push_back(push_node_state_json(s));
          json j{{"header", {{"Join", v.join}, {"Nodes", v.nodes.size()}, {"UserStateLen", v.user_state.size()}}},
                 {"nodes", nodes},
                 {"user_state_hex", hex_string(v.user_state)}};
          if (!v.user_state.empty()) j["user_state"] = serf_bytes_json(v.user_state);
          return j;
        } else if constexpr (std::is_same_v<T, user>) {
          json j{{"UserMsgLen", v.payload.size()}, {"hex", hex_string(v.payload)}};
          if (!v.payload.empty()) j["serf"] = serf_bytes_json(v.payload);
          return j;
        } else {
          return {{"decoded", message_json(message{v})}};
        }
      },
      m);
}

void stream_report(std::span<const std::uint8_t> in, const keyring& ring, decode_report& r) {
  json& doc = r.doc;
  auto d = decode_stream(in, inspecting<stream_open_options>(ring));
  const auto& l = d.layers;
  if (l.label) doc["label"] = *l.label;
  if (l.encrypted)
    doc["encrypt"] = {{"length_field", l.encrypted_length},
                      {"version", l.encryption_version},
                      {"key_index", l.key_index},
                      {"key", key_to_base64(ring.keys().at(l.key_index))}};
  if (l.compressed)
    doc["compress"] = {{"Algo", 0}, {"Buf_len", l.compressed_len}, {"decompressed_len", l.decompressed_len}};
  if (!l.inner.empty()) {
    doc["type"] = l.inner[0];
    doc["name"] = type_name(l.inner[0]);
  }
  if (!d.ok() && d.error.fault == decode_fault::unknown_type && !l.inner.empty()) {
    // A gossip message sent on a stream (a suspect, say): memberlist reads
    // it, answers with an error message and closes. Shown decoded, with why
    // it is refused, rather than as an undecodable stream.
    std::size_t used = 0;
    auto m = decode_body(static_cast<message_type>(l.inner[0]), std::span(l.inner).subspan(1), &used);
    if (m.ok()) {
      doc["decoded"] = message_json(m.value);
      doc["note"] = "type " + std::to_string(l.inner[0]) + " (" + type_name(l.inner[0]) +
                    ") is not valid on a stream: memberlist answers it with an error message";
      if (1 + used < l.inner.size()) doc["trailing_bytes"] = l.inner.size() - 1 - used;
      r.ok = true;
      return;
    }
  }
  if (!d.ok()) {
    doc["error"] = error_json(d.error);
    if (d.incomplete) doc["incomplete"] = true;
    if (!l.inner.empty()) doc["inner_hex"] = hex_string(l.inner);
    return;
  }
  const json fields = stream_message_json(d.msg);
  for (auto it = fields.begin(); it != fields.end(); ++it) doc[it.key()] = it.value();
  if (d.consumed < in.size()) doc["trailing_bytes"] = in.size() - d.consumed;
  r.ok = true;
}

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

json message_json(const message& m) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        json j = json::object();
        if constexpr (std::is_same_v<T, ping> || std::is_same_v<T, indirect_ping>) {
          if constexpr (std::is_same_v<T, indirect_ping>) {
            j["Nack"] = v.nack;
            j["Port"] = v.port;
            j["Target"] = ip_json(v.target);
          }
          j["Node"] = v.node;
          j["SeqNo"] = v.seq_no;
          if (!v.source_addr.empty()) j["SourceAddr"] = ip_json(v.source_addr);
          if (!v.source_node.empty()) j["SourceNode"] = v.source_node;
          if (v.source_port) j["SourcePort"] = v.source_port;
        } else if constexpr (std::is_same_v<T, ack>) {
          j["Payload"] = ack_payload_json(v.payload);
          j["SeqNo"] = v.seq_no;
        } else if constexpr (std::is_same_v<T, nack>) {
          j["SeqNo"] = v.seq_no;
        } else if constexpr (std::is_same_v<T, suspect> || std::is_same_v<T, dead>) {
          j["From"] = v.from;
          j["Incarnation"] = v.incarnation;
          j["Node"] = v.node;
        } else if constexpr (std::is_same_v<T, alive>) {
          j["Addr"] = ip_json(v.addr);
          j["Incarnation"] = v.incarnation;
          j["Meta"] = meta_json(v.meta);
          j["Node"] = v.node;
          j["Port"] = v.port;
          j["Vsn"] = vsn_json(v.vsn);
        } else if constexpr (std::is_same_v<T, user>) {
          j["serf"] = serf_bytes_json(v.payload);
        } else {
          j["Error"] = v.error;
        }
        return j;
      },
      m);
}

json push_node_state_json(const push_node_state& s) {
  return {
      {"Addr", ip_json(s.addr)}, {"Incarnation", s.incarnation},       {"Meta", meta_json(s.meta)}, {"Name", s.name},
      {"Port", s.port},          {"State", static_cast<int>(s.state)}, {"Vsn", vsn_json(s.vsn)}};
}

decode_report decode_capture(std::span<const std::uint8_t> input, const decode_options& opt) {
  decode_report r;
  r.doc["transport"] = opt.stream ? "tcp" : "udp";
  r.doc["length"] = input.size();
  keyring ring;
  if (!load_keys(opt, ring, r.doc)) return r;
  if (opt.stream)
    stream_report(input, ring, r);
  else
    packet_report(input, ring, r);
  return r;
}

parsed_input parse_input(const std::string& text, bool allow_raw) {
  parsed_input p;
  std::string digits;
  bool is_hex = true;
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (text.compare(i, 2, "0x") == 0) i += 2;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (hexval(c) < 0) {
      is_hex = false;
      break;
    }
    digits += c;
  }
  if (is_hex && digits.size() % 2 == 0 && !digits.empty()) {
    for (std::size_t k = 0; k < digits.size(); k += 2)
      p.data.push_back(static_cast<std::uint8_t>(hexval(digits[k]) * 16 + hexval(digits[k + 1])));
    return p;
  }
  if (is_hex && !digits.empty()) {
    p.error = "odd number of hex digits";
    return p;
  }
  if (!allow_raw) {
    p.error = "input is not hex";
    return p;
  }
  p.data.assign(text.begin(), text.end());  // raw bytes (binary on stdin)
  if (p.data.empty()) p.error = "no input";
  return p;
}

int run_decode(const std::string& arg, const decode_options& opt, std::istream& in, std::ostream& out,
               std::ostream& err) {
  std::string text = arg;
  if (arg == "-") text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  auto p = parse_input(text, arg == "-");
  if (!p.error.empty()) {
    err << "chorus decode: " << p.error << "\n";
    return 1;
  }
  auto r = decode_capture(p.data, opt);
  out << r.doc.dump(2) << "\n";
  return r.ok ? 0 : 1;
}

}  // namespace chorus::cli
