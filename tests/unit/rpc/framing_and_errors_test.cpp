// Object boundaries in the RPC byte stream, the command table, and decoders
// refusing malformed input without crashing.
#include <catch2/catch.hpp>
#include <random>

#include "rpc/framing.hpp"
#include "rpc/protocol.hpp"
#include "vectors.hpp"

using namespace rpc_test;
namespace rpc = chorus::rpc;
namespace mp = chorus::msgpack;

TEST_CASE("every strict prefix of a captured reply stream is incomplete, the whole is complete") {
  const auto lines = read_jsonl("rpc-cli-streams.jsonl");
  for (const auto& l : lines) {
    const bytes stream = from_hex(l["server_to_client_hex"]);
    std::size_t pos = 0;
    while (pos < stream.size()) {
      const auto rest = mp::byte_view(stream).subspan(pos);
      const auto f = rpc::next_object(rest);
      REQUIRE(f.status == rpc::frame_status::complete);
      for (std::size_t cut = 0; cut < f.size; ++cut)
        REQUIRE(rpc::next_object(rest.subspan(0, cut)).status == rpc::frame_status::incomplete);
      pos += f.size;
    }
  }
}

TEST_CASE("framing refuses 0xc1 and absurd nesting, and waits on huge announced lengths") {
  const bytes c1{0x81, 0xa1, 'a', 0xc1};
  CHECK(rpc::next_object(c1).status == rpc::frame_status::invalid);
  const bytes deep(100, 0x91);  // [[[[...
  CHECK(rpc::next_object(deep).status == rpc::frame_status::invalid);
  const bytes huge_map{0xdf, 0xff, 0xff, 0xff, 0xff, 0x01};
  CHECK(rpc::next_object(huge_map).status == rpc::frame_status::incomplete);
  const bytes huge_str{0xdb, 0xff, 0xff, 0xff, 0xff, 'x'};
  CHECK(rpc::next_object(huge_str).status == rpc::frame_status::incomplete);
  const bytes two{0x01, 0x02};
  const auto f = rpc::next_object(two);
  CHECK(f.status == rpc::frame_status::complete);
  CHECK(f.size == 1);
}

TEST_CASE("the request reader fed a byte at a time finds the requests next_request finds") {
  for (const auto& l : read_jsonl("rpc-cli-streams.jsonl")) {
    const bytes stream = from_hex(l["client_to_server_hex"]);
    rpc::request_reader reader;
    bytes buf;
    std::size_t requests = 0;
    for (std::size_t i = 0; i < stream.size(); ++i) {
      buf.push_back(stream[i]);
      const auto f = reader.next(buf);
      REQUIRE(f.status != rpc::frame_status::invalid);
      if (f.status == rpc::frame_status::incomplete) continue;
      const auto whole = rpc::next_request(buf);
      REQUIRE(whole.status == rpc::frame_status::complete);
      CHECK(f.size() == whole.size());
      CHECK(f.header_size == whole.header_size);
      CHECK(f.header.command == whole.header.command);
      CHECK(f.header.seq == whole.header.seq);
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(f.size()));
      reader.reset();
      ++requests;
    }
    CHECK(buf.empty());
    CHECK(requests > 0);
    // Each byte was looked at once, however the stream was split.
    CHECK(reader.bytes_examined() == stream.size());
  }
}

TEST_CASE("a trickled 1 MiB request costs the reader each byte once, not a re-walk per piece") {
  // {Command: "event", Seq: 1} then a body that is one array of 2^20
  // one-byte elements, given 128 bytes more per call, as reads deliver it.
  bytes in{0x82, 0xa7, 'C', 'o', 'm', 'm', 'a', 'n', 'd', 0xa5, 'e', 'v', 'e', 'n', 't', 0xa3, 'S', 'e', 'q', 0x01};
  const std::size_t header = in.size();
  in.insert(in.end(), {0xdd, 0x00, 0x01, 0x00, 0x00});
  in.resize(in.size() + (1u << 20), 0x01);
  rpc::request_reader reader;
  rpc::request_frame f;
  std::size_t given = 0;
  while (given < in.size()) {
    given = std::min(in.size(), given + 128);
    f = reader.next(mp::byte_view(in).first(given));
    if (f.status != rpc::frame_status::incomplete) break;
  }
  // 2^20 values are more than msgpack::read takes: refused when the count
  // is read, not after a megabyte.
  CHECK(f.status == rpc::frame_status::invalid);
  CHECK(given <= header + 5 + 128);
  CHECK(reader.bytes_examined() <= given);

  // Within the value limit, the reader completes it looking at each byte once.
  bytes ok(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(header));
  ok.insert(ok.end(), {0xdc, 0xea, 0x60});  // array of 60,000
  ok.resize(ok.size() + 60000, 0x01);
  rpc::request_reader r2;
  given = 0;
  rpc::request_frame g;
  while (given < ok.size()) {
    given = std::min(ok.size(), given + 128);
    g = r2.next(mp::byte_view(ok).first(given));
    if (g.status != rpc::frame_status::incomplete) break;
  }
  REQUIRE(g.status == rpc::frame_status::complete);
  CHECK(g.size() == ok.size());
  CHECK(r2.bytes_examined() == ok.size());
}

TEST_CASE("command table follows serf-rpc.md section 4") {
  CHECK(rpc::parse_command("members-filtered") == rpc::command::members_filtered);
  CHECK(!rpc::parse_command("bogus-command"));
  CHECK(rpc::command_name(rpc::command::get_coordinate) == "get-coordinate");
  CHECK(!rpc::request_has_body(rpc::command::members));
  CHECK(!rpc::request_has_body(rpc::command::leave));
  CHECK(rpc::request_has_body(rpc::command::stop));
  CHECK(rpc::response_has_body(rpc::command::join));
  CHECK(!rpc::response_has_body(rpc::command::event));
  CHECK(rpc::is_streaming(rpc::command::monitor));
  CHECK(!rpc::is_streaming(rpc::command::stop));
  CHECK(rpc::reply_error_has_no_body("Authentication required"));
  CHECK(!rpc::reply_error_has_no_body("3/3 nodes reported failure"));
}

TEST_CASE("decoders refuse wrong types the way the agent does, and never throw") {
  rpc::auth_request a;
  // A string field given as bin: Serf refuses it.
  CHECK(!rpc::decode_bytes(from_hex("81a7417574684b6579c403616263"), a).empty());
  // A byte field accepts str as well as bin.
  rpc::event_request e;
  CHECK(rpc::decode_bytes(from_hex("82a44e616d65a161a75061796c6f6164a3616263"), e).empty());
  CHECK(e.payload == bytes{'a', 'b', 'c'});
  // Unknown keys are skipped, missing ones are zero.
  rpc::force_leave_request fl;
  CHECK(rpc::decode_bytes(from_hex("82a44e6f6465a26e32a3466f6fc3"), fl).empty());
  CHECK(fl.node == "n2");
  CHECK(!fl.prune);
  // Out-of-range integers are refused.
  rpc::member m;
  CHECK(!rpc::decode_bytes(from_hex("81a4506f7274ce00010000"), m).empty());
  rpc::handshake_request h;
  CHECK(!rpc::decode_bytes(from_hex("81a756657273696f6ecf0000000100000000"), h).empty());
  // Not a map at all.
  rpc::members_response mr;
  CHECK(!rpc::decode_bytes(from_hex("93010203"), mr).empty());

  // Random mutations of real objects: decoding either succeeds or reports.
  const auto lines = read_jsonl("rpc-session.jsonl");
  std::mt19937 rng(20261122);
  int decoded = 0, refused = 0;
  for (const auto& l : lines) {
    if (!l.contains("body_hex") || l["body_hex"].get<std::string>().empty()) continue;
    const bytes body = from_hex(l["body_hex"]);
    for (int round = 0; round < 40; ++round) {
      bytes b = body;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
      if (rng() % 4 == 0) b.resize(rng() % b.size());
      rpc::members_response m1;
      rpc::event_record m2;
      rpc::query_request m3;
      rpc::coordinate_response m4;
      rpc::stats_response m5;
      rpc::key_response m6;
      for (const std::string& err : {rpc::decode_bytes(b, m1), rpc::decode_bytes(b, m2), rpc::decode_bytes(b, m3),
                                     rpc::decode_bytes(b, m4), rpc::decode_bytes(b, m5), rpc::decode_bytes(b, m6)})
        (err.empty() ? decoded : refused)++;
    }
  }
  CHECK(refused > 0);
  CHECK(decoded + refused > 10000);
}

TEST_CASE("nil and empty containers and byte slices encode as Go does") {
  rpc::query_request q;  // nil filters and payload: what `serf reachability` sends
  q.name = "_serf_ping";
  q.request_ack = true;
  CHECK(to_hex(rpc::encode(q)) ==
        "87ab46696c7465724e6f646573c0aa46696c74657254616773c0a44e616d65aa5f736572665f70696e67a75061796c6f6164c0ab52656c"
        "6179466163746f7200aa5265717565737441636bc3a754696d656f757400");
  rpc::event_request e;
  e.name = "ev";
  e.payload = bytes{};  // `serf event ev ""`: an empty, non-nil payload
  CHECK(to_hex(rpc::encode(e)) == "83a8436f616c65736365c3a44e616d65a26576a75061796c6f6164c400");
  rpc::stream_request s{std::string(40, 'x')};  // 32..255-byte strings use str8 in RPC
  const auto enc = rpc::encode(s);
  CHECK(enc[6] == 0xd9);
  CHECK(enc[7] == 40);
}
