// Every Serf message captured from real Serf 0.9.4 agents (vectors/serf-*.jsonl)
// decodes to the field values written beside it and re-encodes to the same
// bytes (or, where Serf wrote a Go map in random order, to bytes that decode
// to the same values).
#include <catch2/catch.hpp>

#include "agent/serf/codec.hpp"
#include "unit/lzw/vector_file.hpp"

using chorus::test::from_hex;
using chorus::test::read_jsonl;
using chorus::test::to_hex;
using namespace chorus::agent;
using json = nlohmann::json;

namespace {

// {hex, ...} or null, as the vectors write byte fields.
bytes jbytes(const json& j) {
  if (j.is_null()) return {};
  return from_hex(j.at("hex").get<std::string>());
}

std::vector<std::string> jstrings(const json& j) {
  if (j.is_null()) return {};
  return j.get<std::vector<std::string>>();
}

void check_member(const member_info& m, const json& b) {
  CHECK(m.addr == jbytes(b["Addr"]));
  CHECK(m.delegate_cur == b["DelegateCur"].get<int>());
  CHECK(m.delegate_max == b["DelegateMax"].get<int>());
  CHECK(m.delegate_min == b["DelegateMin"].get<int>());
  CHECK(m.name == b["Name"].get<std::string>());
  CHECK(m.port == b["Port"].get<int>());
  CHECK(m.protocol_cur == b["ProtocolCur"].get<int>());
  CHECK(m.protocol_max == b["ProtocolMax"].get<int>());
  CHECK(m.protocol_min == b["ProtocolMin"].get<int>());
  CHECK(static_cast<int>(m.status) == b["Status"].get<int>());
  CHECK(m.tags == b["Tags"].get<tag_map>());
}

void check_filters(const std::vector<query_filter>& filters, const json& j) {
  if (j.is_null()) {
    CHECK(filters.empty());
    return;
  }
  REQUIRE(filters.size() == j.size());
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const json& f = j[i];
    bytes raw;
    encode_filter(filters[i], raw);
    CHECK(to_hex(raw) == f["hex"].get<std::string>());
    if (f["kind"] == "node") {
      const auto* n = std::get_if<node_filter>(&filters[i]);
      REQUIRE(n != nullptr);
      CHECK(n->nodes == f["nodes"].get<std::vector<std::string>>());
    } else {
      REQUIRE(f["kind"] == "tag");
      const auto* t = std::get_if<tag_filter>(&filters[i]);
      REQUIRE(t != nullptr);
      CHECK(t->tag == f["value"]["Tag"].get<std::string>());
      CHECK(t->expr == f["value"]["Expr"].get<std::string>());
    }
  }
}

void check_push_pull(const push_pull_state& m, const json& b) {
  CHECK(m.event_ltime == b["EventLTime"].get<std::uint64_t>());
  CHECK(m.ltime == b["LTime"].get<std::uint64_t>());
  CHECK(m.query_ltime == b["QueryLTime"].get<std::uint64_t>());
  CHECK(m.left_members == jstrings(b["LeftMembers"]));
  CHECK(m.status_ltimes == b["StatusLTimes"].get<std::map<std::string, std::uint64_t>>());
  const json& evs = b["Events"];
  REQUIRE(m.events.size() == evs["array_len"].get<std::size_t>());
  std::size_t nils = 0;
  for (const auto& slot : m.events) nils += slot ? 0 : 1;
  CHECK(nils == evs["nil_entries"].get<std::size_t>());
  for (const json& nn : evs["non_nil"]) {
    const auto& slot = m.events.at(nn["index"].get<std::size_t>());
    REQUIRE(slot.has_value());
    CHECK(slot->ltime == nn["LTime"].get<std::uint64_t>());
    REQUIRE(slot->events.size() == nn["Events"].size());
    for (std::size_t i = 0; i < slot->events.size(); ++i) {
      CHECK(slot->events[i].name == nn["Events"][i]["Name"].get<std::string>());
      CHECK(slot->events[i].payload == jbytes(nn["Events"][i]["Payload"]));
    }
  }
}

// Compares a decoded message with a vector's {serf_type, body, ...} object.
void check_message(const serf_message& msg, const json& serf) {
  REQUIRE(static_cast<int>(msg.index()) == serf["serf_type"].get<int>());
  CHECK(serf_type_name(static_cast<std::uint8_t>(msg.index())) == serf["serf_name"].get<std::string>());
  const json& b = serf.contains("body") ? serf["body"] : json();
  switch (type_of(msg)) {
    case serf_message_type::leave: {
      const auto& m = std::get<leave_intent>(msg);
      CHECK(m.ltime == b["LTime"].get<std::uint64_t>());
      CHECK(m.node == b["Node"].get<std::string>());
      CHECK(m.prune == b["Prune"].get<bool>());
      break;
    }
    case serf_message_type::join: {
      const auto& m = std::get<join_intent>(msg);
      CHECK(m.ltime == b["LTime"].get<std::uint64_t>());
      CHECK(m.node == b["Node"].get<std::string>());
      break;
    }
    case serf_message_type::push_pull:
      check_push_pull(std::get<push_pull_state>(msg), b);
      break;
    case serf_message_type::user_event: {
      const auto& m = std::get<user_event>(msg);
      CHECK(m.cc == b["CC"].get<bool>());
      CHECK(m.ltime == b["LTime"].get<std::uint64_t>());
      CHECK(m.name == b["Name"].get<std::string>());
      CHECK(m.payload == jbytes(b["Payload"]));
      break;
    }
    case serf_message_type::query: {
      const auto& m = std::get<query>(msg);
      CHECK(m.addr == jbytes(b["Addr"]));
      check_filters(m.filters, b["Filters"]);
      CHECK(m.flags == b["Flags"].get<std::uint32_t>());
      CHECK(m.id == b["ID"].get<std::uint32_t>());
      CHECK(m.ltime == b["LTime"].get<std::uint64_t>());
      CHECK(m.name == b["Name"].get<std::string>());
      CHECK(m.payload == jbytes(b["Payload"]));
      CHECK(m.port == b["Port"].get<int>());
      CHECK(m.relay_factor == b["RelayFactor"].get<int>());
      CHECK(m.source_node == b["SourceNode"].get<std::string>());
      CHECK(m.timeout.count() == b["Timeout"].get<std::int64_t>());
      break;
    }
    case serf_message_type::query_response: {
      const auto& m = std::get<query_response>(msg);
      CHECK(m.flags == b["Flags"].get<std::uint32_t>());
      CHECK(m.from == b["From"].get<std::string>());
      CHECK(m.id == b["ID"].get<std::uint32_t>());
      CHECK(m.ltime == b["LTime"].get<std::uint64_t>());
      CHECK(m.payload == jbytes(b["Payload"]));
      CHECK(m.is_ack() == (m.flags == 1));
      break;
    }
    case serf_message_type::conflict_response: {
      const auto& m = std::get<conflict_response>(msg);
      if (b.is_null()) {
        CHECK_FALSE(m.member.has_value());
      } else {
        REQUIRE(m.member.has_value());
        check_member(*m.member, b);
      }
      break;
    }
    case serf_message_type::key_request:
      CHECK(std::get<key_request>(msg).key == jbytes(b["Key"]));
      break;
    case serf_message_type::key_response: {
      const auto& m = std::get<key_response>(msg);
      CHECK(m.keys == jstrings(b["Keys"]));
      CHECK(m.message == b["Message"].get<std::string>());
      CHECK(m.primary_key == b["PrimaryKey"].get<std::string>());
      CHECK(m.result == b["Result"].get<bool>());
      break;
    }
    case serf_message_type::relay: {
      const auto& m = std::get<relay>(msg);
      const json& h = serf["relay_header"];
      CHECK(m.header.dest_ip == jbytes(h["DestAddr"]["IP"]));
      CHECK(m.header.dest_port == h["DestAddr"]["Port"].get<int>());
      CHECK(m.header.dest_zone == h["DestAddr"]["Zone"].get<std::string>());
      CHECK(m.header.dest_name == h["DestName"].get<std::string>());
      const auto inner = decode_serf_message(m.inner);
      REQUIRE(inner.ok());
      check_message(inner.value, serf["inner"]);
      break;
    }
  }
}

// Re-encoding: byte-identical, or (when `go_map` may be involved) the same
// length and the same values.
void check_reencode(const bytes& original, const serf_message& decoded_msg, bool may_hold_go_map) {
  const bytes again = encode(decoded_msg);
  if (!may_hold_go_map) {
    CHECK(to_hex(again) == to_hex(original));
    return;
  }
  CHECK(again.size() == original.size());
  const auto round = decode_serf_message(again);
  REQUIRE(round.ok());
  CHECK(round.value == decoded_msg);
}

struct totals {
  std::size_t lines = 0;
  std::size_t payloads = 0;
  std::size_t byte_identical = 0;
};

totals check_file(const char* file) {
  totals t;
  for (const auto& line : read_jsonl(file)) {
    INFO(file << " frame " << line.value("frame", 0) << " " << line["kind"]);
    const bytes raw = from_hex(line["serf_message_hex"].get<std::string>());
    // The memberlist user message is 0x08 + this.
    CHECK(line["message_hex"].get<std::string>() == "08" + to_hex(raw));
    const auto d = decode_serf_message(raw);
    INFO(d.error.what);
    REQUIRE(d.ok());
    check_message(d.value, line["serf"]);
    check_reencode(raw, d.value, false);
    ++t.byte_identical;
    if (line["serf"].contains("payload_decoded")) {
      const auto* q = std::get_if<query>(&d.value);
      const auto* r = std::get_if<query_response>(&d.value);
      const bytes payload = q ? q->payload : r->payload;
      const auto p = decode_serf_message(payload);
      REQUIRE(p.ok());
      check_message(p.value, line["serf"]["payload_decoded"]);
      // A conflict response carries Serf's tag map (random order).
      check_reencode(payload, p.value, std::holds_alternative<conflict_response>(p.value));
      ++t.payloads;
    }
    ++t.lines;
  }
  return t;
}

}  // namespace

TEST_CASE("captured join intents") { CHECK(check_file("vectors/serf-join-intent.jsonl").lines == 4); }
TEST_CASE("captured leave intents") { CHECK(check_file("vectors/serf-leave-intent.jsonl").lines == 4); }
TEST_CASE("captured user events") { CHECK(check_file("vectors/serf-user-event.jsonl").lines == 12); }
TEST_CASE("captured relays with their inner query responses") {
  CHECK(check_file("vectors/serf-relay.jsonl").lines == 4);
}

TEST_CASE("captured queries, including filters and internal key-query payloads") {
  const auto t = check_file("vectors/serf-query.jsonl");
  CHECK(t.lines == 28);
  CHECK(t.payloads == 7);  // key requests: list-keys in each capture, install/use/remove in the encrypted one
}

TEST_CASE("captured query responses, including key and conflict responses") {
  const auto t = check_file("vectors/serf-query-response.jsonl");
  CHECK(t.lines == 14);
  CHECK(t.payloads == 6);  // five key responses, one conflict response
}

TEST_CASE("captured push/pull user states decode to the dissected fields") {
  // The dissection of each state sits with its TCP stream.
  std::map<std::string, json> dissected;
  for (const auto& line : read_jsonl("vectors/memberlist-pushpull-tcp.jsonl"))
    for (const char* dir : {"client_to_server", "server_to_client"})
      if (line[dir].contains("user_state"))
        dissected[line[dir]["user_state_hex"].get<std::string>()] = line[dir]["user_state"];
  REQUIRE(dissected.size() >= 6);

  std::size_t checked = 0;
  for (const auto& [hex, serf] : dissected) {
    const bytes raw = from_hex(hex);
    const auto d = decode_serf_message(raw);
    INFO(d.error.what);
    REQUIRE(d.ok());
    check_message(d.value, serf);
    // StatusLTimes is a Go map: same values, same size.
    check_reencode(raw, d.value, serf["body"]["StatusLTimes"].size() > 1);
    ++checked;
  }
  CHECK(checked == dissected.size());

  std::size_t lines = 0;
  for (const auto& line : read_jsonl("vectors/serf-pushpull-state.jsonl")) {
    const std::string hex = line["user_state_hex"].get<std::string>();
    INFO(line["kind"]);
    CHECK(dissected.count(hex) == 1);
    const auto d = decode_serf_message(from_hex(hex));
    REQUIRE(d.ok());
    const auto& pp = std::get<push_pull_state>(d.value);
    CHECK(pp.events.size() == 512);
    ++lines;
  }
  CHECK(lines == 6);
}
