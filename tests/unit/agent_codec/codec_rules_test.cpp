// Tags in Meta, the ack coordinate payload, and how the Serf codec treats
// hand-made and hostile input.
#include <catch2/catch.hpp>
#include <random>

#include "agent/serf/codec.hpp"
#include "agent/serf/coordinate_payload.hpp"
#include "agent/serf/lamport_clock.hpp"
#include "agent/serf/tags.hpp"
#include "unit/lzw/vector_file.hpp"

using chorus::test::from_hex;
using chorus::test::read_jsonl;
using chorus::test::to_hex;
using namespace chorus::agent;
using json = nlohmann::json;

namespace {
bytes hex(std::string_view h) {
  std::string digits;
  for (char c : h)
    if (c != ' ') digits += c;
  return from_hex(digits);
}
}  // namespace

TEST_CASE("every captured alive Meta decodes to its tags") {
  std::size_t count = 0;
  for (const auto& line : read_jsonl("vectors/memberlist-alive.jsonl")) {
    const json& meta = line["decoded"]["Meta"];
    const bytes raw = from_hex(meta["hex"].get<std::string>());
    INFO(line["kind"]);
    const auto d = decode_tags(raw);
    REQUIRE(d.ok());
    CHECK(d.value == meta["tags"].get<tag_map>());
    // Re-encoding writes sorted keys where Go wrote random order: same
    // length, same tags; identical bytes when Go happened to sort them.
    const auto again = encode_tags(d.value);
    REQUIRE(again.ok());
    CHECK(again.meta.size() == raw.size());
    CHECK(decode_tags(again.meta).value == d.value);
    ++count;
  }
  CHECK(count == 14);
}

TEST_CASE("tags encode as 0xff + map, the serf.md example and the empty map") {
  CHECK(to_hex(encode_tags({{"dc", "east"}, {"role", "web"}}).meta) == "ff82a26463a465617374a4726f6c65a3776562");
  CHECK(to_hex(encode_tags({}).meta) == "ff80");
  // A 40-byte value goes in str16, as Serf writes it.
  const auto long_tag = encode_tags({{"x", std::string(40, 'v')}});
  CHECK(to_hex(long_tag.meta).substr(0, 12) == "ff81a178da00");
}

TEST_CASE("Meta without the magic byte is the role") {
  CHECK(decode_tags({}).value == tag_map{{"role", ""}});
  const bytes web{'w', 'e', 'b'};
  CHECK(decode_tags(web).value == tag_map{{"role", "web"}});
  // Serf protocol 2 writes only the role.
  CHECK(encode_tags({{"role", "db"}, {"dc", "x"}}, 2).meta == bytes{'d', 'b'});
}

TEST_CASE("tags longer than 512 encoded bytes are refused with Serf's message") {
  tag_map big;
  for (int i = 0; i < 40; ++i) big["key" + std::to_string(i)] = std::string(10, 'x');
  const auto r = encode_tags(big);
  CHECK_FALSE(r.ok());
  CHECK(r.error == "Encoded length of tags exceeds limit of 512 bytes");
  // Just at the limit is fine: 0xff + fixmap + fixstr key + str16 value = 512.
  const auto edge = encode_tags({{"k", std::string(512 - 1 - 1 - 2 - 3, 'v')}});
  CHECK(edge.ok());
  CHECK(edge.meta.size() == 512);
}

TEST_CASE("bad tag maps are errors, not crashes") {
  CHECK_FALSE(decode_tags(hex("ff")).ok());
  CHECK_FALSE(decode_tags(hex("ff 81 a1 61")).ok());     // value missing
  CHECK_FALSE(decode_tags(hex("ff 81 01 a1 61")).ok());  // integer key
  CHECK_FALSE(decode_tags(hex("ff 91 a1 61")).ok());     // array, not map
  // A bin value in a Go string is a decode error (memberlist.md 2.3).
  CHECK_FALSE(decode_tags(hex("ff 81 a1 61 c4 01 62")).ok());
  // nil map: no tags.
  CHECK(decode_tags(hex("ff c0")).value.empty());
}

TEST_CASE("every captured ack payload decodes to its coordinate and re-encodes byte-identically") {
  std::size_t count = 0;
  for (const auto& line : read_jsonl("vectors/memberlist-ack.jsonl")) {
    const json& p = line["decoded"]["Payload"];
    const bytes raw = from_hex(p["hex"].get<std::string>());
    CHECK(raw.size() == 130);
    const auto d = decode_coordinate_payload(raw);
    REQUIRE(d.ok());
    const json& c = p["coordinate"];
    CHECK(d.value.adjustment == c["Adjustment"].get<double>());
    CHECK(d.value.error == c["Error"].get<double>());
    CHECK(d.value.height == c["Height"].get<double>());
    CHECK(d.value.vec == c["Vec"].get<std::vector<double>>());
    CHECK(to_hex(encode_coordinate_payload(d.value)) == to_hex(raw));
    ++count;
  }
  CHECK(count == 4);
}

TEST_CASE("a fresh coordinate is serf.md's 130-byte example") {
  const bytes p = encode_coordinate_payload(chorus::vivaldi::coordinate{});
  CHECK(p.size() == 130);
  CHECK(to_hex(p).substr(0, 60) == "0184aa41646a7573746d656e74cb0000000000000000a54572726f72cb3f");
}

TEST_CASE("coordinate payloads with another version or bad fields are refused") {
  bytes p = encode_coordinate_payload(chorus::vivaldi::coordinate{});
  p[0] = 2;
  CHECK(decode_coordinate_payload(p).error.what == "unsupported ping payload version 2");
  CHECK_FALSE(decode_coordinate_payload({}).ok());
  CHECK_FALSE(decode_coordinate_payload(hex("01")).ok());
  CHECK_FALSE(decode_coordinate_payload(hex("01 81 a3 566563 a1 78")).ok());  // Vec is a string
  // Integers are accepted for float fields, as Go does.
  const auto ints = decode_coordinate_payload(
      hex("01 84 aa 41646a7573746d656e74 00 a5 4572726f72 01 a6 486569676874 00 a3 566563 92 01 ff"));
  REQUIRE(ints.ok());
  CHECK(ints.value.error == 1.0);
  CHECK(ints.value.vec == std::vector<double>{1.0, -1.0});
}

TEST_CASE("serf.md section 2 examples encode byte-identically") {
  CHECK(to_hex(encode(leave_intent{3, "n3", false})) ==
        to_hex(hex("00 83 a5 4c54696d65 03 a4 4e6f6465 a2 6e33 a5 5072756e65 c2")));
  CHECK(to_hex(encode(join_intent{1, "n2"})) == to_hex(hex("01 82 a5 4c54696d65 01 a4 4e6f6465 a2 6e32")));
  user_event ev;
  ev.ltime = 1;
  ev.name = "deploy";
  ev.payload = {'v', '1', '.', '2', '.', '3'};
  ev.cc = true;
  CHECK(to_hex(encode(ev)) ==
        to_hex(hex("03 84 a2 4343 c3 a5 4c54696d65 01 a4 4e616d65 a6 6465706c6f79 a7 5061796c6f6164 a6 76312e322e33")));
  // list-keys sends an empty but non-nil key.
  CHECK(to_hex(encode(key_request{})) == "0781a34b6579a0");
  // Unknown name in a conflict query: nil member.
  CHECK(to_hex(encode(conflict_response{})) == "06c0");
  const auto d = decode_serf_message(hex("06 c0"));
  REQUIRE(d.ok());
  CHECK_FALSE(std::get<conflict_response>(d.value).member.has_value());
}

TEST_CASE("query filters: node and tag filters as serf.md writes them") {
  bytes raw;
  encode_filter(node_filter{{"n2"}}, raw);
  CHECK(to_hex(raw) == "0091a26e32");
  raw.clear();
  encode_filter(tag_filter{"role", "db"}, raw);
  CHECK(to_hex(raw) == "0182a445787072a26462a3546167a4726f6c65");
  CHECK(decode_filter(raw) == query_filter{tag_filter{"role", "db"}});
}

TEST_CASE("filters Serf could not interpret stay opaque and the query still decodes") {
  for (const char* h : {"07 91 a1 61", "00 a1 61", "00", "01 92 01 02", ""}) {
    const bytes raw = hex(h);
    INFO(h);
    const auto f = decode_filter(raw);
    const auto* o = std::get_if<opaque_filter>(&f);
    REQUIRE(o != nullptr);
    CHECK(o->raw == raw);
    CHECK_FALSE(o->error.empty());
    bytes again;
    encode_filter(f, again);
    CHECK(again == raw);
  }
  query q;
  q.name = "q";
  q.filters = {node_filter{{"a", "b"}}, opaque_filter{hex("09 c0"), "unknown filter type 9"}, tag_filter{"t", "^x$"}};
  const auto d = decode_serf_message(encode(q));
  REQUIRE(d.ok());
  CHECK(std::get<query>(d.value) == q);
}

TEST_CASE("every message type round trips through encode and decode") {
  member_info m;
  m.name = "n2";
  m.addr = {127, 0, 0, 2};
  m.port = 7946;
  m.tags = {{"role", "db"}};
  m.status = member_status::alive;
  m.protocol_min = 1;
  m.protocol_max = 5;
  m.protocol_cur = 2;
  m.delegate_min = 2;
  m.delegate_max = 5;
  m.delegate_cur = 5;
  push_pull_state pp;
  pp.ltime = 7;
  pp.event_ltime = 3;
  pp.query_ltime = 9;
  pp.left_members = {"gone"};
  pp.status_ltimes = {{"a", 1}, {"gone", 4}};
  pp.events.resize(512);
  pp.events[2] = event_slot{2, {{"deploy", {1, 2}}, {"other", {}}}};
  query q;
  q.ltime = 1;
  q.id = 0x7fffffff;
  q.addr = bytes(16, 1);
  q.port = 65535;
  q.source_node = "src";
  q.flags = query_flag_ack | query_flag_no_broadcast;
  q.relay_factor = 255;
  q.timeout = std::chrono::seconds(-1);
  q.name = "n";
  q.payload = bytes(300, 9);
  relay rl;
  rl.header = {{127, 0, 0, 1}, 7946, "eth0", "n1"};
  rl.inner = encode(query_response{5, 6, "n2", 0, {'h', 'i'}});
  const std::vector<serf_message> all = {leave_intent{1, "a", true},
                                         join_intent{2, "b"},
                                         pp,
                                         user_event{3, "e", {}, false},
                                         q,
                                         query_response{4, 5, "c", 1, {}},
                                         conflict_response{m},
                                         key_request{bytes(32, 3)},
                                         key_response{true, "", {"k1", "k2"}, "k1"},
                                         rl};
  for (const auto& msg : all) {
    INFO(serf_type_name(static_cast<std::uint8_t>(msg.index())));
    const bytes raw = encode(msg);
    CHECK(raw[0] == msg.index());
    const auto d = decode_serf_message(raw);
    INFO(d.error.what);
    REQUIRE(d.ok());
    CHECK(d.value == msg);
    CHECK(encode(d.value) == raw);
  }
}

TEST_CASE("bad Serf messages are errors with a reason") {
  CHECK(decode_serf_message({}).error.what == "empty serf message");
  CHECK(decode_serf_message(hex("0a 80")).error.what == "unknown serf message type 10");
  CHECK_FALSE(decode_serf_message(hex("01")).ok());
  CHECK_FALSE(decode_serf_message(hex("01 82 a5 4c54696d65")).ok());
  // LTime as a string.
  CHECK_FALSE(decode_serf_message(hex("01 81 a5 4c54696d65 a1 31")).ok());
  // A bin Node (Go string field): hard error.
  CHECK_FALSE(decode_serf_message(hex("01 81 a4 4e6f6465 c4 01 61")).ok());
  // Port 70000 does not fit u16.
  CHECK_FALSE(decode_serf_message(hex("04 81 a4 506f7274 ce 00011170")).ok());
  // A relay must carry an inner message.
  relay_header h{{127, 0, 0, 1}, 1, "", "x"};
  bytes only_header;
  encode_relay(h, {}, only_header);
  CHECK(decode_serf_message(only_header).error.what == "relay: no inner message");
  // Unknown keys are skipped, missing keys stay zero.
  const auto d = decode_serf_message(hex("01 82 a3 466f6f 01 a4 4e6f6465 a1 78"));
  REQUIRE(d.ok());
  CHECK(std::get<join_intent>(d.value) == join_intent{0, "x"});
}

TEST_CASE("every truncation of every captured message is an error, never a crash") {
  std::size_t tried = 0;
  for (const char* file :
       {"vectors/serf-query.jsonl", "vectors/serf-query-response.jsonl", "vectors/serf-user-event.jsonl",
        "vectors/serf-join-intent.jsonl", "vectors/serf-leave-intent.jsonl", "vectors/serf-relay.jsonl"}) {
    for (const auto& line : read_jsonl(file)) {
      const bytes raw = from_hex(line["serf_message_hex"].get<std::string>());
      // For a relay, cutting the inner message still leaves a valid relay
      // (its inner bytes are forwarded verbatim); only cuts inside the
      // header must fail.
      const bool is_relay = raw[0] == 9;
      std::size_t header_end = raw.size();
      if (is_relay) header_end = raw.size() - std::get<relay>(decode_serf_message(raw).value).inner.size();
      for (std::size_t n = 0; n < header_end; ++n) {
        CHECK_FALSE(decode_serf_message(std::span(raw).first(n)).ok());
        ++tried;
      }
    }
  }
  CHECK(tried > 1000);
}

TEST_CASE("random bytes never crash the decoders") {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    bytes junk(rng() % 64);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (!junk.empty()) junk[0] = static_cast<std::uint8_t>(rng() % 11);
    const auto d = decode_serf_message(junk);
    if (d.ok()) (void)encode(d.value);
    (void)decode_tags(junk);
    (void)decode_coordinate_payload(junk);
  }
}

TEST_CASE("internal query names") {
  CHECK(is_internal_query("_serf_ping"));
  CHECK_FALSE(is_internal_query("uptime"));
  CHECK(is_key_query("_serf_list-keys"));
  CHECK_FALSE(is_key_query("_serf_conflict"));
}

TEST_CASE("Lamport times above 2^63 - 1 are refused on decode and the clock saturates") {
  // Witnessing 2^64 - 1 wraps a Serf 0.9 clock to 0, and every later event
  // is then dropped as old.
  auto round_trip = [](const serf_message& m) { return decode_serf_message(encode(m)); };
  CHECK(round_trip(serf_message{user_event{max_wire_ltime, "e", {}, false}}).ok());
  CHECK_FALSE(round_trip(serf_message{user_event{max_wire_ltime + 1, "e", {}, false}}).ok());
  CHECK_FALSE(round_trip(serf_message{join_intent{UINT64_MAX, "n"}}).ok());
  CHECK_FALSE(round_trip(serf_message{leave_intent{UINT64_MAX, "n", false}}).ok());
  push_pull_state pp;
  pp.status_ltimes = {{"n", UINT64_MAX}};
  CHECK_FALSE(round_trip(serf_message{pp}).ok());
  pp.status_ltimes = {{"n", 5}};
  pp.query_ltime = UINT64_MAX;
  CHECK_FALSE(round_trip(serf_message{pp}).ok());

  lamport_clock c;
  c.witness(UINT64_MAX - 1);
  CHECK(c.time() == UINT64_MAX);
  c.witness(UINT64_MAX);
  CHECK(c.time() == UINT64_MAX);  // saturated, not wrapped to 0
}
