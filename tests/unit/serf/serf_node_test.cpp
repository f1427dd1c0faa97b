// One agent::serf driven by hand: packets in, effects recorded. Checks the
// rules that need the whole layer (refutation, de-dup on the wire path,
// push/pull merge, size limits, respond once).
#include <catch2/catch.hpp>

#include "agent/serf/codec.hpp"
#include "agent/serf/serf.hpp"
#include "swim/codec.hpp"
#include "swim/core.hpp"

using namespace chorus;
using namespace chorus::agent;
using namespace std::chrono_literals;

namespace {

struct recorder : serf_runtime {
  std::vector<std::pair<swim::address, bytes>> packets;
  std::vector<std::pair<time_point, swim::timer_token>> timers;
  std::vector<std::pair<swim::exchange_id, swim::push_pull>> push_pulls;
  std::vector<user_event_data> user_events;
  std::vector<query_event> queries;
  std::vector<agent::member_event> member_events;
  swim::send_result send_packet(const address& to, bytes p, bool) override {
    packets.emplace_back(to, std::move(p));
    return swim::send_result::sent;
  }
  void set_timer(time_point at, swim::timer_token t) override { timers.emplace_back(at, t); }
  void start_push_pull(const address&, swim::exchange_id id, const swim::push_pull& r, time_point) override {
    push_pulls.emplace_back(id, r);
  }
  void start_tcp_ping(const address&, swim::exchange_id, const swim::ping&, time_point) override {}
  void user_event(const user_event_data& e) override { user_events.push_back(e); }
  void query(const query_event& e) override { queries.push_back(e); }
  void member_event(const agent::member_event& e) override { member_events.push_back(e); }
};

serf_config config() {
  serf_config c;
  c.memberlist = swim::config::lan("self", swim::address::v4(127, 0, 0, 1, 7946));
  c.coalesce_period = 0s;  // deliver at once
  c.user_coalesce_period = 0s;
  return c;
}

const address peer = swim::address::v4(127, 0, 0, 2, 7946);

// A memberlist user message carrying `m`.
bytes user_packet(const serf_message& m) {
  bytes out{static_cast<std::uint8_t>(swim::message_type::user)};
  encode(m, out);
  return out;
}

}  // namespace

TEST_CASE("user events are checked against the size limit", "[serf][events]") {
  serf s(config(), 1);
  recorder rt;
  s.start(time_point{}, rt);
  const bytes big(600, 'x');
  CHECK(s.user_event(time_point{}, "e", big, false, rt) ==
        "user event exceeds configured limit of 512 bytes before encoding");
  const bytes edge(505, 'x');  // 512 before encoding, more after
  CHECK(s.user_event(time_point{}, "abcdefg", edge, false, rt) ==
        "encoded user event exceeds configured limit of 512 bytes after encoding");
  CHECK(s.user_event(time_point{}, "deploy", bytes{'1'}, false, rt).empty());
  REQUIRE(rt.user_events.size() == 1);  // the sender gets its own event
  CHECK(rt.user_events[0].ltime == 1);
  CHECK(s.clocks().event_clock == 2);
  CHECK(s.stats().event_queue == 1);
}

TEST_CASE("a received user event is delivered once and old ones are rejected", "[serf][events]") {
  serf s(config(), 2);
  recorder rt;
  s.start(time_point{}, rt);
  const auto pkt = user_packet(agent::user_event{40, "deploy", {'a'}, false});
  s.handle_packet(time_point{}, peer, pkt, rt);
  s.handle_packet(time_point{}, peer, pkt, rt);
  REQUIRE(rt.user_events.size() == 1);
  CHECK(s.clocks().event_clock == 41);
  CHECK(s.stats().event_queue == 1);  // rebroadcast once
  s.handle_packet(time_point{}, peer, user_packet(agent::user_event{1000, "x", {}, false}), rt);
  s.handle_packet(time_point{}, peer, user_packet(agent::user_event{41, "late", {}, false}), rt);
  CHECK(rt.user_events.size() == 2);  // "late" is older than 1001 - 512
}

TEST_CASE("a leave intent about ourselves is refuted with a join intent", "[serf][intents]") {
  serf s(config(), 3);
  recorder rt;
  s.start(time_point{}, rt);
  REQUIRE(s.find_member("self"));
  s.handle_packet(time_point{}, peer, user_packet(leave_intent{7, "self", false}), rt);
  auto me = s.find_member("self");
  REQUIRE(me);
  CHECK(me->status == member_status::alive);
  CHECK(me->status_ltime >= 8);  // our join intent, stamped after witnessing 7
  CHECK(s.stats().intent_queue == 1);
  CHECK(s.local_status() == member_status::alive);
}

TEST_CASE("push/pull state merges clocks, intents and events", "[serf][pushpull]") {
  for (bool replay : {false, true}) {
    serf s(config(), 4);
    recorder rt;
    s.start(time_point{}, rt);
    s.join(time_point{}, std::span<const address>(&peer, 1), replay, rt);
    REQUIRE(rt.push_pulls.size() == 1);
    // Our own state goes out: a Serf push/pull with the whole event ring.
    auto ours = decode_serf_message(rt.push_pulls[0].second.user_state);
    REQUIRE(ours.ok());
    CHECK(std::get<push_pull_state>(ours.value).events.size() == 512);

    push_pull_state pp;
    pp.ltime = 10;
    pp.status_ltimes = {{"peer", 3}, {"gone", 4}};
    pp.left_members = {"gone"};
    pp.event_ltime = 20;
    pp.query_ltime = 30;
    pp.events.resize(512);
    pp.events[15] = event_slot{15, {event_entry{"ev", {'p'}}}};
    swim::push_pull remote;
    remote.join = true;
    swim::push_node_state n;
    n.name = "peer";
    n.addr = peer.ip_bytes();
    n.port = peer.port;
    n.incarnation = 1;
    n.vsn = {1, 5, 2, 2, 5, 5};
    n.meta = {0xff, 0x80};
    remote.nodes.push_back(n);
    remote.user_state = encode(serf_message{pp});
    s.push_pull_completed(time_point{} + 10ms, rt.push_pulls[0].first, remote, rt);

    INFO("replay " << replay);
    const auto c = s.clocks();
    CHECK(c.member_clock >= 10);
    CHECK(c.event_clock >= 20);
    CHECK(c.query_clock >= 30);
    CHECK(s.find_member("peer")->status == member_status::alive);
    CHECK_FALSE(s.find_member("gone"));  // unknown: only a buffered intent
    // replay=false: events older than the peer's clock are not replayed.
    CHECK(rt.user_events.size() == (replay ? 1u : 0u));
  }
}

TEST_CASE("a query is answered at most once and before its deadline", "[serf][queries]") {
  serf s(config(), 5);
  recorder rt;
  s.start(time_point{}, rt);
  query q;
  q.ltime = 3;
  q.id = 42;
  q.addr = peer.ip_bytes();
  q.port = peer.port;
  q.source_node = "peer";
  q.flags = query_flag_ack;
  q.timeout = 1s;
  q.name = "hello";
  rt.packets.clear();
  s.handle_packet(time_point{}, peer, user_packet(q), rt);
  REQUIRE(rt.queries.size() == 1);
  // The ack went straight back: 0x08 + queryResponse with the ack flag.
  REQUIRE(rt.packets.size() == 1);
  CHECK(rt.packets[0].first == peer);
  auto ack = decode_serf_message(std::span<const std::uint8_t>(rt.packets[0].second).subspan(1));
  REQUIRE(ack.ok());
  CHECK(std::get<query_response>(ack.value).is_ack());
  const auto h = rt.queries[0].handle;
  CHECK(s.respond(time_point{} + 2s, h, bytes{'x'}, rt) ==
        "failed to respond to key query: response is past the deadline");
  CHECK(s.respond(time_point{} + 100ms, h, bytes(2000, 'x'), rt) ==
        "failed to respond to key query: response exceeds limit of 1024 bytes");
  CHECK(s.respond(time_point{} + 100ms, h, bytes{'x'}, rt).empty());
  CHECK(s.respond(time_point{} + 200ms, h, bytes{'y'}, rt) == "failed to respond to key query: response already sent");
  // The same query again (a rebroadcast copy) is not delivered twice.
  s.handle_packet(time_point{}, peer, user_packet(q), rt);
  CHECK(rt.queries.size() == 1);
  // Internal queries never reach the agent.
  q.ltime = 4;
  q.name = "_serf_ping";
  s.handle_packet(time_point{}, peer, user_packet(q), rt);
  CHECK(rt.queries.size() == 1);
}

TEST_CASE("queries: limits and the node filter", "[serf][queries]") {
  serf s(config(), 6);
  recorder rt;
  s.start(time_point{}, rt);
  query_params p;
  p.name = "big";
  p.payload = bytes(1100, 'x');
  CHECK(s.query(time_point{}, p, rt).error == "query exceeds limit of 1024 bytes");
  p.payload = {};
  p.filter_nodes = {"someone-else"};
  auto started = s.query(time_point{}, p, rt);
  REQUIRE(started.ok());
  CHECK(started.deadline == time_point{} + 3200ms);
  CHECK(rt.queries.empty());  // filtered out locally
  p.filter_nodes = {"self"};
  REQUIRE(s.query(time_point{}, p, rt).ok());
  CHECK(rt.queries.size() == 1);
}

TEST_CASE("tags go into Meta and changes are refused past 512 bytes", "[serf][tags]") {
  auto cfg = config();
  cfg.tags = {{"role", "web"}};
  serf s(cfg, 7);
  recorder rt;
  s.start(time_point{}, rt);
  CHECK(s.find_member("self")->tags == tag_map{{"role", "web"}});
  CHECK(s.set_tags(time_point{}, {{"role", std::string(600, 'x')}}, rt) ==
        "Encoded length of tags exceeds limit of 512 bytes");
  CHECK(s.set_tags(time_point{}, {{"role", "db"}}, rt).empty());
  CHECK(s.find_member("self")->tags == tag_map{{"role", "db"}});
  bool update = false;
  for (const auto& e : rt.member_events) update |= e.type == member_event_type::update;
  CHECK(update);
}

TEST_CASE("received events and queries over the size limits are refused", "[serf][limits]") {
  // A 6.7 KB LZW datagram used to become a 10 MiB user event, kept in the
  // event buffer, the rebroadcast queue and every push/pull.
  serf s(config(), 7);
  recorder rt;
  s.start(time_point{}, rt);
  s.handle_packet(time_point{}, peer, user_packet(agent::user_event{5, "big", bytes(600, 'x'), false}), rt);
  CHECK(rt.user_events.empty());
  CHECK(s.stats().event_queue == 0);
  CHECK(s.stats().oversized_refused == 1);
  s.handle_packet(time_point{}, peer, user_packet(agent::user_event{6, "ok", bytes(400, 'x'), false}), rt);
  CHECK(rt.user_events.size() == 1);

  query q;
  q.ltime = 3;
  q.id = 1;
  q.addr = peer.ip_bytes();
  q.port = peer.port;
  q.source_node = "peer";
  q.timeout = 1s;
  q.name = "big";
  q.payload = bytes(1100, 'x');
  s.handle_packet(time_point{}, peer, user_packet(q), rt);
  CHECK(rt.queries.empty());
  CHECK(s.stats().query_queue == 0);
  CHECK(s.stats().oversized_refused == 2);

  // Events carried in a push/pull state are held to the same limit.
  s.join(time_point{}, std::span<const address>(&peer, 1), true, rt);
  REQUIRE(rt.push_pulls.size() == 1);
  push_pull_state pp;
  pp.ltime = 2;
  pp.event_ltime = 20;
  pp.events.resize(512);
  pp.events[15] = event_slot{15, {event_entry{"huge", bytes(600, 'x')}, event_entry{"fine", {'p'}}}};
  swim::push_pull remote;
  remote.join = true;
  remote.user_state = encode(serf_message{pp});
  s.push_pull_completed(time_point{} + 10ms, rt.push_pulls[0].first, remote, rt);
  REQUIRE(rt.user_events.size() == 2);
  CHECK(rt.user_events[1].name == "fine");
  CHECK(s.stats().oversized_refused == 3);
}

TEST_CASE("a Lamport time of 2^64 - 1 from the wire is refused and the clock keeps counting", "[serf][clocks]") {
  serf s(config(), 8);
  recorder rt;
  s.start(time_point{}, rt);
  s.handle_packet(time_point{}, peer, user_packet(agent::user_event{UINT64_MAX, "wrap", {}, false}), rt);
  s.handle_packet(time_point{}, peer, user_packet(join_intent{UINT64_MAX, "peer"}), rt);
  CHECK(rt.user_events.empty());
  CHECK(s.clocks().event_clock < 100);
  CHECK(s.clocks().member_clock < 100);
  // Later events are still delivered (in Serf the wrapped clock drops them).
  s.handle_packet(time_point{}, peer, user_packet(agent::user_event{7, "after", {}, false}), rt);
  CHECK(rt.user_events.size() == 1);
}
