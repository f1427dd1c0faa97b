// Every RPC object captured from real Serf agents and the real Go CLI decodes
// to exactly the values the capture tool decoded, and re-encodes to the same
// bytes whenever Go's encoding was deterministic (all maps sorted).
#include <catch2/catch.hpp>
#include <map>
#include <tuple>

#include "rpc/framing.hpp"
#include "vectors.hpp"

using namespace rpc_test;
namespace rpc = chorus::rpc;
namespace mp = chorus::msgpack;

namespace {

enum class role { request_body, response_body, record };

struct tally {
  int objects = 0;
  int reencoded = 0;  // compared byte for byte
  int unsorted = 0;   // Python's insertion order or Go map order: values only
};

template <class T>
void check_as(const bytes& raw, const json& expected, tally& t) {
  INFO("object " << to_hex(raw));
  auto r = mp::read(raw);
  REQUIRE(r.ok());
  REQUIRE(r.consumed == raw.size());
  T v;
  const auto err = rpc::decode(r.v, v);
  REQUIRE(err.empty());
  CHECK(view(v) == normalize(expected));
  ++t.objects;
  if (maps_sorted(r.v)) {
    CHECK(to_hex(rpc::encode(v)) == to_hex(raw));
    ++t.reencoded;
  } else {
    ++t.unsorted;
  }
}

void check_body(role ro, rpc::command c, const bytes& raw, const json& expected, tally& t) {
  using rpc::command;
  if (ro == role::record) {
    switch (c) {
      case command::stream:
        return check_as<rpc::event_record>(raw, expected, t);
      case command::monitor:
        return check_as<rpc::log_record>(raw, expected, t);
      case command::query:
        return check_as<rpc::query_record>(raw, expected, t);
      default:
        FAIL("record for a non-streaming command");
    }
  }
  if (ro == role::response_body) {
    switch (c) {
      case command::join:
        return check_as<rpc::join_response>(raw, expected, t);
      case command::members:
      case command::members_filtered:
        return check_as<rpc::members_response>(raw, expected, t);
      case command::install_key:
      case command::use_key:
      case command::remove_key:
      case command::list_keys:
        return check_as<rpc::key_response>(raw, expected, t);
      case command::stats:
        return check_as<rpc::stats_response>(raw, expected, t);
      case command::get_coordinate:
        return check_as<rpc::coordinate_response>(raw, expected, t);
      default:
        FAIL("response body for " << rpc::command_name(c));
    }
  }
  switch (c) {
    case command::handshake:
      return check_as<rpc::handshake_request>(raw, expected, t);
    case command::auth:
      return check_as<rpc::auth_request>(raw, expected, t);
    case command::event:
      return check_as<rpc::event_request>(raw, expected, t);
    case command::force_leave:
      return check_as<rpc::force_leave_request>(raw, expected, t);
    case command::join:
      return check_as<rpc::join_request>(raw, expected, t);
    case command::members_filtered:
      return check_as<rpc::members_filtered_request>(raw, expected, t);
    case command::tags:
      return check_as<rpc::tags_request>(raw, expected, t);
    case command::stream:
      return check_as<rpc::stream_request>(raw, expected, t);
    case command::monitor:
      return check_as<rpc::monitor_request>(raw, expected, t);
    case command::stop:
      return check_as<rpc::stop_request>(raw, expected, t);
    case command::query:
      return check_as<rpc::query_request>(raw, expected, t);
    case command::respond:
      return check_as<rpc::respond_request>(raw, expected, t);
    case command::install_key:
    case command::use_key:
    case command::remove_key:
      return check_as<rpc::key_request>(raw, expected, t);
    case command::get_coordinate:
      return check_as<rpc::get_coordinate_request>(raw, expected, t);
    default:
      FAIL("request body for " << rpc::command_name(c));
  }
}

template <class Header>
Header check_header(const bytes& raw, const json& expected, tally& t) {
  check_as<Header>(raw, expected, t);
  auto r = mp::read(raw);
  Header h;
  (void)rpc::decode(r.v, h);
  return h;
}

// Tracks which command each Seq of one connection belongs to, and whether a
// stream's acknowledgement has been seen.
struct connection {
  std::map<std::uint64_t, rpc::command> commands;
  std::map<std::uint64_t, bool> acked;
};

}  // namespace

TEST_CASE("every rpc-session.jsonl object decodes to its recorded values") {
  const auto lines = read_jsonl("rpc-session.jsonl");
  REQUIRE(lines.size() > 200);
  std::map<std::pair<std::string, std::string>, connection> conns;
  tally t;
  int headers = 0;
  for (const auto& l : lines) {
    if (!l.contains("header_hex")) continue;
    INFO("session " << l["session"] << " " << l.value("what", l.value("command", "")));
    auto& conn = conns[{l["capture"], l["session"]}];
    const bytes head = from_hex(l["header_hex"]);
    const bytes body = from_hex(l["body_hex"]);
    ++headers;
    if (l["dir"] == "client->agent") {
      const auto h = check_header<rpc::request_header>(head, l["decoded_header"], t);
      const auto c = rpc::parse_command(h.command);
      if (!c) {
        CHECK(h.command == "bogus-command");
        CHECK(body.empty());
        continue;
      }
      CHECK(rpc::request_has_body(*c) == !body.empty());
      conn.commands[h.seq] = *c;
      if (!body.empty()) check_body(role::request_body, *c, body, l["decoded_body"], t);
    } else {
      const auto h = check_header<rpc::response_header>(head, l["decoded_header"], t);
      auto it = conn.commands.find(h.seq);
      if (it == conn.commands.end()) {  // replies to unknown or pre-handshake commands
        CHECK(body.empty());
        continue;
      }
      const rpc::command c = it->second;
      if (rpc::is_streaming(c) && conn.acked[h.seq]) {
        REQUIRE(!body.empty());
        check_body(role::record, c, body, l["decoded_body"], t);
        continue;
      }
      if (rpc::is_streaming(c)) conn.acked[h.seq] = h.error.empty();
      const bool expect_body = rpc::response_has_body(c) && !rpc::reply_error_has_no_body(h.error);
      CHECK(expect_body == !body.empty());
      if (!body.empty()) check_body(role::response_body, c, body, l["decoded_body"], t);
    }
  }
  CHECK(headers == 192);
  CHECK(t.objects > 250);
  CHECK(t.reencoded > 150);
  WARN("rpc-session: " << t.objects << " objects decoded, " << t.reencoded << " re-encoded byte-identically, "
                       << t.unsorted << " compared by value only");
}

TEST_CASE("every rpc-cli-streams.jsonl object decodes and the Go CLI's requests re-encode byte-identically") {
  const auto lines = read_jsonl("rpc-cli-streams.jsonl");
  REQUIRE(lines.size() == 15);
  tally t;
  int client_objects = 0;
  for (const auto& l : lines) {
    INFO("stream " << l["kind"]);
    connection conn;
    // Client side: header, then a body iff the command takes one.
    const auto& cs = l["client_to_server_objects"];
    bytes client_concat;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      const bytes raw = from_hex(cs[i]["hex"]);
      client_concat.insert(client_concat.end(), raw.begin(), raw.end());
      const auto h = check_header<rpc::request_header>(raw, cs[i]["value"], t);
      const auto c = rpc::parse_command(h.command);
      REQUIRE(c);
      conn.commands[h.seq] = *c;
      ++client_objects;
      if (rpc::request_has_body(*c)) {
        REQUIRE(i + 1 < cs.size());
        ++i;
        const bytes b = from_hex(cs[i]["hex"]);
        client_concat.insert(client_concat.end(), b.begin(), b.end());
        check_body(role::request_body, *c, b, cs[i]["value"], t);
        ++client_objects;
      }
    }
    CHECK(to_hex(client_concat) == l["client_to_server_hex"].get<std::string>());
    // Agent side: the framing walk must find exactly the captured objects.
    const bytes stream = from_hex(l["server_to_client_hex"]);
    const auto& ss = l["server_to_client_objects"];
    std::size_t pos = 0;
    for (std::size_t i = 0; i < ss.size(); ++i) {
      const bytes raw = from_hex(ss[i]["hex"]);
      const auto f = rpc::next_object(mp::byte_view(stream).subspan(pos));
      REQUIRE(f.status == rpc::frame_status::complete);
      CHECK(f.size == raw.size());
      pos += f.size;
      const auto h = check_header<rpc::response_header>(raw, ss[i]["value"], t);
      REQUIRE(conn.commands.count(h.seq));
      const rpc::command c = conn.commands[h.seq];
      role ro = role::response_body;
      bool has_body = rpc::response_has_body(c) && !rpc::reply_error_has_no_body(h.error);
      if (rpc::is_streaming(c)) {
        has_body = conn.acked[h.seq];
        conn.acked[h.seq] = true;
        ro = role::record;
      }
      if (has_body) {
        REQUIRE(i + 1 < ss.size());
        ++i;
        const bytes b = from_hex(ss[i]["hex"]);
        const auto fb = rpc::next_object(mp::byte_view(stream).subspan(pos));
        REQUIRE(fb.status == rpc::frame_status::complete);
        pos += fb.size;
        check_body(ro, c, b, ss[i]["value"], t);
      }
    }
    CHECK(pos == stream.size());
  }
  CHECK(client_objects > 50);
  WARN("rpc-cli-streams: " << t.objects << " objects decoded, " << t.reencoded << " re-encoded byte-identically, "
                           << t.unsorted << " compared by value only");
}
