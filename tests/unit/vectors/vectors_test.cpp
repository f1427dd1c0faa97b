// Every captured gossip vector in ../shared/vectors/*.jsonl, decoded with our
// codec and compared with the fields written beside the bytes, then
// re-encoded: byte-identical where Go's output is deterministic (everything
// here: memberlist bodies carry Serf tags only as opaque Meta bytes), and
// decoding back to the same values where AES-GCM's random nonce differs.
//
// The iterator walks the directory, so a vector file added later is checked
// without new code; files that belong to other modules are skipped BY NAME,
// and a file nobody claims fails the test.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/decode.hpp"
#include "swim/codec.hpp"
#include "swim/crc32.hpp"
#include "swim/keyring.hpp"
#include "swim/lzw.hpp"
#include "swim/packet.hpp"
#include "swim/stream.hpp"
#include "unit/vectors/serf_check.hpp"
#include "unit/vectors/vector_util.hpp"

using namespace chorus::swim;
using json = nlohmann::json;
using namespace chorus::test_vectors;

namespace {

// ---------------------------------------------------------------------------
// Rendering our decoded values with the vector files' field names.

json bytes_field(const bytes& b) { return to_hex(b); }

json fields_of(const message& m) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        json j;
        if constexpr (std::is_same_v<T, ping>) {
          j["Node"] = v.node;
          j["SeqNo"] = v.seq_no;
          if (!v.source_addr.empty()) j["SourceAddr"] = bytes_field(v.source_addr);
          if (!v.source_node.empty()) j["SourceNode"] = v.source_node;
          if (v.source_port) j["SourcePort"] = v.source_port;
        } else if constexpr (std::is_same_v<T, indirect_ping>) {
          j["Nack"] = v.nack;
          j["Node"] = v.node;
          j["Port"] = v.port;
          j["SeqNo"] = v.seq_no;
          if (!v.source_addr.empty()) j["SourceAddr"] = bytes_field(v.source_addr);
          if (!v.source_node.empty()) j["SourceNode"] = v.source_node;
          if (v.source_port) j["SourcePort"] = v.source_port;
          j["Target"] = bytes_field(v.target);
        } else if constexpr (std::is_same_v<T, ack>) {
          j["Payload"] = bytes_field(v.payload);
          j["SeqNo"] = v.seq_no;
        } else if constexpr (std::is_same_v<T, nack>) {
          j["SeqNo"] = v.seq_no;
        } else if constexpr (std::is_same_v<T, suspect> || std::is_same_v<T, dead>) {
          j["From"] = v.from;
          j["Incarnation"] = v.incarnation;
          j["Node"] = v.node;
        } else if constexpr (std::is_same_v<T, alive>) {
          j["Addr"] = bytes_field(v.addr);
          j["Incarnation"] = v.incarnation;
          j["Meta"] = bytes_field(v.meta);
          j["Node"] = v.node;
          j["Port"] = v.port;
          j["Vsn"] = bytes_field(v.vsn);
        } else if constexpr (std::is_same_v<T, err>) {
          j["Error"] = v.error;
        } else {
          j["payload"] = bytes_field(v.payload);
        }
        return j;
      },
      m);
}

json fields_of(const push_node_state& s) {
  return {{"Addr", to_hex(s.addr)}, {"Incarnation", s.incarnation},       {"Meta", to_hex(s.meta)}, {"Name", s.name},
          {"Port", s.port},         {"State", static_cast<int>(s.state)}, {"Vsn", to_hex(s.vsn)}};
}

// The vector files write byte fields as {hex, ...} objects (or null for nil)
// and Vsn as a list of numbers; everything else as plain JSON values.
json normalise(const json& v) {
  if (v.is_null()) return "";
  if (v.is_object() && v.contains("hex")) return v["hex"];
  if (v.is_array()) {
    bytes b;
    for (const auto& x : v) b.push_back(x.get<std::uint8_t>());
    return to_hex(b);
  }
  return v;
}

void check_fields(const json& expected, const json& ours) {
  std::vector<std::string> ek, ok;
  for (auto it = expected.begin(); it != expected.end(); ++it) ek.push_back(it.key());
  for (auto it = ours.begin(); it != ours.end(); ++it) ok.push_back(it.key());
  std::sort(ek.begin(), ek.end());
  std::sort(ok.begin(), ok.end());
  CHECK(ek == ok);
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    INFO("field " << it.key());
    if (ours.contains(it.key())) CHECK(ours[it.key()] == normalise(it.value()));
  }
}

std::string strip_encrypted(std::string path) {
  const std::string p = "encrypted/";
  if (path.rfind(p, 0) == 0) path.erase(0, p.size());
  if (path == "encrypted") path.clear();
  return path;
}

// ---------------------------------------------------------------------------
// Rebuilding a packet's plaintext from what open() produced.

std::string join_path(const std::string& a, const std::string& b) { return a.empty() ? b : a + "/" + b; }

const packet_layer* layer_at(const opened_packet& p, const std::string& path) {
  for (const auto& l : p.layers)
    if (l.path == path) return &l;
  return nullptr;
}

bytes rebuild(const opened_packet& p, const std::string& path) {
  if (layer_at(p, join_path(path, "compress"))) {
    bytes out;
    encode_compress(rebuild(p, join_path(path, "compress")), out);
    return out;
  }
  if (const auto* c = layer_at(p, join_path(path, "compound"))) {
    std::vector<bytes> parts;
    for (std::size_t i = 0; i < c->count - c->truncated; ++i)
      parts.push_back(rebuild(p, join_path(path, "compound") + "[" + std::to_string(i) + "]"));
    bytes out;
    encode_compound(parts, out);
    return out;
  }
  for (const auto& m : p.messages) {
    const auto slash = m.path.rfind('/');
    const std::string parent = slash == std::string::npos ? "" : m.path.substr(0, slash);
    if (parent == path) return encode(m.msg);
  }
  FAIL("nothing to rebuild at " << path);
  return {};
}

bytes rebuild_plaintext(const opened_packet& p) {
  if (const auto* crc = layer_at(p, "hasCrc")) {
    (void)crc;
    bytes inner = rebuild(p, "hasCrc");
    const std::uint32_t c = crc32(inner);
    bytes out{0x0c, static_cast<std::uint8_t>(c >> 24), static_cast<std::uint8_t>(c >> 16),
              static_cast<std::uint8_t>(c >> 8), static_cast<std::uint8_t>(c)};
    out.insert(out.end(), inner.begin(), inner.end());
    return out;
  }
  return rebuild(p, "");
}

// ---------------------------------------------------------------------------

struct context {
  keyring ring;                                     // KEY1, KEY2 from keys.txt
  std::map<std::string, bytes> key_by_b64;          // for "which key decrypted it"
  std::map<std::string, std::size_t> serf_checked;  // per file
};

bool encrypted_capture(const json& line) { return line.value("capture", "") == "encrypted.pcap"; }

opened_packet open_udp(const json& line, context& ctx) {
  open_options oo;
  if (encrypted_capture(line)) oo.keys = &ctx.ring;
  auto p = open(from_hex(line["packet_hex"].get<std::string>()), oo);
  INFO("open: " << p.error.what);
  REQUIRE(p.ok());
  for (const auto& e : p.part_errors) FAIL_CHECK("part error at " << e.path << ": " << e.error.what);
  return p;
}

const packet_message* message_at(const opened_packet& p, const std::string& path) {
  for (const auto& m : p.messages)
    if (m.path == path) return &m;
  return nullptr;
}

void check_key_used(const opened_packet& p, const std::string& key_b64, context& ctx) {
  REQUIRE(p.encrypted);
  REQUIRE(ctx.key_by_b64.count(key_b64));
  CHECK(ctx.ring.keys().at(p.key_index) == ctx.key_by_b64[key_b64]);
}

// Re-encode: plaintext byte-identical, and an encrypted packet re-sealed with
// the same key opens to the same messages.
void check_udp_reencode(const json& line, const opened_packet& p, context& ctx) {
  CHECK(to_hex(rebuild_plaintext(p)) == to_hex(p.plaintext));
  if (p.encrypted) {
    keyring one;
    REQUIRE(one.install(ctx.ring.keys().at(p.key_index)).empty());
    auto env = seal_envelope(one, p.plaintext, {});
    REQUIRE(env.ok());
    CHECK(env.data.size() == line["packet_hex"].get<std::string>().size() / 2);
    open_options oo;
    oo.keys = &one;
    auto again = open(env.data, oo);
    REQUIRE(again.ok());
    REQUIRE(again.messages.size() == p.messages.size());
    for (std::size_t i = 0; i < p.messages.size(); ++i) CHECK(again.messages[i].msg == p.messages[i].msg);
  }
}

void check_udp_line(const json& line, context& ctx, const std::string& file) {
  auto p = open_udp(line, ctx);
  if (line.contains("plaintext_hex")) CHECK(to_hex(p.plaintext) == line["plaintext_hex"].get<std::string>());
  if (line.contains("encryption")) {
    CHECK(p.encryption_version == line["encryption"]["version"].get<int>());
    check_key_used(p, line["encryption"]["key_b64"], ctx);
  }
  // Single-message lines: the message at `path` with its fields.
  if (line.contains("message_hex") || line.contains("serf_message_hex")) {
    const std::string path = strip_encrypted(line["path"]);
    const auto* m = message_at(p, path);
    INFO("path " << path);
    REQUIRE(m != nullptr);
    CHECK(to_hex(m->wire) == line["message_hex"].get<std::string>());
    CHECK(to_hex(encode(m->msg)) == line["message_hex"].get<std::string>());
    if (line.contains("message_type")) CHECK(static_cast<int>(type_of(m->msg)) == line["message_type"].get<int>());
    if (line.contains("decoded")) {
      check_fields(line["decoded"], fields_of(m->msg));
      CHECK(chorus::cli::message_json(m->msg) == line["decoded"]);
    }
    if (line.contains("serf_message_hex")) {
      const auto* u = std::get_if<user>(&m->msg);
      REQUIRE(u != nullptr);
      CHECK(to_hex(u->payload) == line["serf_message_hex"].get<std::string>());
      if (check_serf_message(u->payload, line["serf"])) ++ctx.serf_checked[file];
    }
  }
  // Dissected packets: every layer.
  if (line.contains("layers")) {
    for (const auto& l : line["layers"]) {
      const std::string path = strip_encrypted(l["path"]);
      INFO("layer " << l["path"]);
      if (!l.contains("name") || l["name"].is_null()) {  // the encryption envelope
        CHECK(p.encryption_version == l["version"].get<int>());
        check_key_used(p, l["key_b64"], ctx);
        CHECK(to_hex(p.plaintext) == l["plaintext_hex"].get<std::string>());
        continue;
      }
      const std::string name = l["name"];
      if (name == "hasCrc" || name == "compress" || name == "compound") {
        const auto* ours = layer_at(p, path);
        REQUIRE(ours != nullptr);
        CHECK(static_cast<int>(ours->type) == l["type"].get<int>());
        if (name == "hasCrc") {
          CHECK(ours->crc == std::stoul(l["crc"].get<std::string>(), nullptr, 16));
          CHECK(ours->crc_ok == l["crc_ok"].get<bool>());
        } else if (name == "compress") {
          CHECK(ours->compressed_len == l["decoded"]["Buf_len"].get<std::size_t>());
          CHECK(ours->decompressed_len * 2 == l["decompressed_hex"].get<std::string>().size());
          auto d = decode_compress(from_hex(l["hex"].get<std::string>()));
          REQUIRE(d.ok());
          CHECK(to_hex(d.value.data) == l["decompressed_hex"].get<std::string>());
        } else {
          CHECK(ours->count == l["count"].get<std::size_t>());
          CHECK(ours->lengths == l["lengths"].get<std::vector<std::size_t>>());
          CHECK(ours->truncated == 0);
        }
        continue;
      }
      const auto* m = message_at(p, path);
      REQUIRE(m != nullptr);
      CHECK(static_cast<int>(type_of(m->msg)) == l["type"].get<int>());
      if (l.contains("hex")) CHECK(to_hex(m->wire) == l["hex"].get<std::string>());
      if (l.contains("decoded")) {
        check_fields(l["decoded"], fields_of(m->msg));
        CHECK(chorus::cli::message_json(m->msg) == l["decoded"]);
      }
      if (l.contains("serf")) {
        CHECK(chorus::cli::message_json(m->msg)["serf"] == l["serf"]);
        const auto& u = std::get<user>(m->msg);
        if (check_serf_message(u.payload, l["serf"])) ++ctx.serf_checked[file];
      }
    }
  }
  check_udp_reencode(line, p, ctx);
}

bool stream_type_supported(int t) { return t == 0 || t == 2 || t == 6 || t == 8 || t == 13; }

void check_stream_direction(const json& dir, const std::string& hex, context& ctx, const std::string& file) {
  if (hex.empty()) return;
  const bytes wire = from_hex(hex);
  stream_open_options oo;
  if (dir.contains("encrypt")) oo.keys = &ctx.ring;
  auto d = decode_stream(wire, oo);
  INFO("stream: " << d.error.what);
  if (!dir.contains("type") || !stream_type_supported(dir["type"].get<int>())) {
    // Bogus encrypt header without keys, a suspect on a stream: memberlist
    // refuses these, so must we.
    CHECK_FALSE(d.ok());
    CHECK_FALSE(d.incomplete);
    if (dir.value("first_byte", -1) == 10 && !oo.keys) CHECK(d.error.what == remote_encrypted_error);
    return;
  }
  REQUIRE(d.ok());
  CHECK(static_cast<int>(d.layers.inner.at(0)) == dir["type"].get<int>());
  if (dir.contains("trailing_after_message"))
    CHECK(d.consumed + dir["trailing_after_message"].get<std::size_t>() == wire.size());
  if (dir.contains("encrypt")) {
    CHECK(d.layers.encrypted);
    CHECK(d.layers.encrypted_length == dir["encrypt"]["length_field"].get<std::uint32_t>());
    CHECK(d.layers.encryption_version == dir["encrypt"]["version"].get<int>());
    CHECK(ctx.ring.keys().at(d.layers.key_index) == ctx.key_by_b64.at(dir["encrypt"]["key_b64"]));
  }
  if (dir.contains("compress")) {
    CHECK(d.layers.compressed);
    CHECK(d.layers.compressed_len == dir["compress"]["Buf_len"].get<std::size_t>());
  }
  if (dir.contains("decompressed_hex")) CHECK(to_hex(d.layers.inner) == dir["decompressed_hex"].get<std::string>());
  if (dir.contains("decoded")) {
    const json ours = std::visit(
        [](const auto& v) -> json {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, ping> || std::is_same_v<T, ack> || std::is_same_v<T, err>)
            return fields_of(message{v});
          else
            return json::object();
        },
        d.msg);
    check_fields(dir["decoded"], ours);
    CHECK(chorus::cli::message_json(std::visit(
              [](const auto& v) -> message {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, ping> || std::is_same_v<T, ack> || std::is_same_v<T, err>)
                  return v;
                else
                  return err{};
              },
              d.msg)) == dir["decoded"]);
  }
  if (dir.contains("header")) {
    const auto& pp = std::get<push_pull>(d.msg);
    CHECK(pp.join == dir["header"]["Join"].get<bool>());
    CHECK(pp.nodes.size() == dir["header"]["Nodes"].get<std::size_t>());
    CHECK(pp.user_state.size() == dir["header"]["UserStateLen"].get<std::size_t>());
    REQUIRE(dir["nodes"].size() == pp.nodes.size());
    for (std::size_t i = 0; i < pp.nodes.size(); ++i) {
      check_fields(dir["nodes"][i]["decoded"], fields_of(pp.nodes[i]));
      CHECK(chorus::cli::push_node_state_json(pp.nodes[i]) == dir["nodes"][i]["decoded"]);
      bytes one;
      encode_push_node_state(pp.nodes[i], one);
      CHECK(to_hex(one) == dir["nodes"][i]["hex"].get<std::string>());
    }
    CHECK(to_hex(pp.user_state) == dir["user_state_hex"].get<std::string>());
    if (dir.contains("user_state") && check_serf_message(pp.user_state, dir["user_state"])) ++ctx.serf_checked[file];
  }
  // Re-encode: the bare message byte-identical, the compress layer too, and
  // the encrypted direction decodes back to the same message.
  bytes body;
  encode_stream_body(d.msg, body);
  CHECK(to_hex(body) == to_hex(d.layers.inner));
  bytes layered = body;
  if (d.layers.compressed) {
    layered.clear();
    encode_compress(body, layered);
  }
  if (dir.contains("plaintext_hex"))
    CHECK(to_hex(layered) == dir["plaintext_hex"].get<std::string>());
  else
    CHECK(to_hex(layered) == to_hex(std::span<const std::uint8_t>(wire.data(), d.consumed)));
  stream_options so;
  so.compress = d.layers.compressed;
  so.keys = oo.keys;
  auto again_wire = encode_stream(d.msg, so);
  REQUIRE(again_wire.ok());
  CHECK(again_wire.data.size() == d.consumed);
  auto again = decode_stream(again_wire.data, oo);
  REQUIRE(again.ok());
  CHECK(again.msg == d.msg);
}

void check_memberlist_line(const json& line, context& ctx, const std::string& file) {
  if (line.contains("packet_hex")) return check_udp_line(line, ctx, file);
  if (line.contains("client_to_server_hex")) {
    {
      INFO("client_to_server");
      check_stream_direction(line["client_to_server"], line["client_to_server_hex"], ctx, file);
    }
    INFO("server_to_client");
    check_stream_direction(line["server_to_client"], line["server_to_client_hex"], ctx, file);
    return;
  }
  FAIL("memberlist vector line without packet_hex or stream hex");
}

void check_serf_line(const json& line, context& ctx, const std::string& file) {
  if (line.contains("packet_hex")) return check_udp_line(line, ctx, file);
  // serf-pushpull-state: the user state of a push/pull, Serf-only content.
  REQUIRE(line.contains("user_state_hex"));
  if (check_serf_message(from_hex(line["user_state_hex"].get<std::string>()), line["decoded"]))
    ++ctx.serf_checked[file];
}

void check_lzw_line(const json& line) {
  const bytes plain = from_hex(line["plain_hex"].get<std::string>());
  const bytes packed = from_hex(line["lzw_hex"].get<std::string>());
  CHECK(to_hex(lzw::compress(plain)) == line["lzw_hex"].get<std::string>());
  auto d = decode_compress(from_hex(line["compress_message_hex"].get<std::string>()));
  REQUIRE(d.ok());
  CHECK(d.value.data == plain);
  bytes msg;
  encode_compress(plain, msg);
  CHECK(to_hex(msg) == line["compress_message_hex"].get<std::string>());
  (void)packed;
}

// Files other modules test: skipped by name, so nothing new slips through.
bool owned_elsewhere(const std::string& name) {
  return name.rfind("rpc-", 0) == 0             // RPC protocol (rpc module's tests)
         || name == "vivaldi-reference.jsonl";  // Vivaldi math (vivaldi module's tests)
}

}  // namespace

TEST_CASE("every gossip vector file decodes to its recorded fields and re-encodes identically") {
  const std::filesystem::path dir = std::filesystem::path(CHORUS_SHARED_DIR) / "vectors";
  context ctx;
  for (const auto& [name, b64] : read_keys(dir / "keys.txt")) {
    auto k = key_from_base64(b64);
    REQUIRE(k.ok());
    REQUIRE(ctx.ring.install(k.key).empty());
    ctx.key_by_b64[b64] = k.key;
  }
  REQUIRE(ctx.ring.size() == 2);

  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 20);

  std::size_t total = 0;
  for (const auto& f : files) {
    const std::string name = f.filename().string();
    if (owned_elsewhere(name)) {
      std::cout << "vectors: " << name << " skipped (owned by another module)\n";
      continue;
    }
    std::size_t n = 0;
    std::ifstream in(f);
    std::string text;
    while (std::getline(in, text)) {
      if (text.empty()) continue;
      ++n;
      INFO(name << " line " << n);
      const json line = json::parse(text);
      INFO("kind: " << line.value("kind", ""));
      if (name.rfind("memberlist-", 0) == 0)
        check_memberlist_line(line, ctx, name);
      else if (name.rfind("serf-", 0) == 0)
        check_serf_line(line, ctx, name);
      else if (name == "lzw.jsonl")
        check_lzw_line(line);
      else
        FAIL("no checker for vector file " << name << ": add one or skip it by name");
    }
    CHECK(n > 0);
    total += n;
    std::cout << "vectors: " << name << ": " << n << " lines checked";
    if (ctx.serf_checked.count(name)) std::cout << " (" << ctx.serf_checked[name] << " Serf messages decoded)";
    std::cout << "\n";
  }
  CHECK(total > 200);
}
