// Probing, ping-req with nacks, the TCP fallback, awareness and the
// suspicion timer (memberlist.md 13.3, 13.4, 13.8, 13.9).
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

TEST_CASE("probe_acked_directly_reports_rtt_and_lowers_awareness", "[probe]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  auto [p, to] = next_probe(n);
  CHECK(to == addr_of(id_of(p.node)));
  CHECK(p.source_node == name_of(0));
  n.now += 3ms;
  n.receive(id_of(p.node), ack{p.seq_no, bytes{1, 2}});
  REQUIRE(n.rt.pings_completed.size() == 1);
  CHECK(n.rt.pings_completed[0].second == 3ms);
  n.responsive = {1, 2, 3, 4, 5};
  n.advance(5s);
  CHECK(n.rt.suspected.empty());
}

TEST_CASE("unanswered_probe_asks_k_peers_then_tcp_then_suspects", "[probe]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  auto [p, to] = next_probe(n);
  const int target = id_of(p.node);
  n.rt.clear();
  n.advance(500ms);  // probe_timeout
  auto reqs = n.rt.sent_of<indirect_ping>();
  REQUIRE(reqs.size() == 3);  // indirect_checks
  for (auto& r : reqs) {
    CHECK(r.seq_no == p.seq_no);  // the requester's sequence number
    CHECK(r.node == p.node);
    CHECK(r.nack);  // peers at protocol max 5 >= 4 can send nacks
  }
  std::set<std::string> helpers;
  for (auto& pk : n.rt.packets) helpers.insert(pk.to.to_string());
  CHECK(helpers.size() == 3);
  CHECK_FALSE(helpers.count(addr_of(target).to_string()));
  REQUIRE(n.rt.exchanges.size() == 1);
  CHECK(n.rt.exchanges[0].tcp_ping);
  const auto tcp = n.rt.exchanges[0];
  // Nobody answers: the TCP ping fails at its deadline, the window closes.
  n.advance(400ms);
  n.node.tcp_ping_completed(n.now, tcp.id, false, n.rt);
  n.advance(200ms);
  CHECK(n.state(target) == member_state::suspect);
  CHECK(n.rt.suspected == std::vector<std::string>{p.node});
  // Three nacks were expected and none came: awareness + 3.
  CHECK(n.node.health_score() == 3);
}

TEST_CASE("nacks_from_helpers_spare_our_health_score", "[probe][awareness]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  auto [p, to] = next_probe(n);
  n.advance(500ms);
  for (int i = 1; i <= 3; ++i) n.receive(i, nack{p.seq_no});
  for (auto& e : n.rt.exchanges)
    if (e.tcp_ping) n.node.tcp_ping_completed(n.now, e.id, false, n.rt);
  n.advance(600ms);
  CHECK(n.state(id_of(p.node)) == member_state::suspect);
  CHECK(n.node.health_score() == 0);
}

TEST_CASE("forwarded_ack_completes_the_probe", "[probe]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  auto [p, to] = next_probe(n);
  n.advance(600ms);
  n.receive(1, ack{p.seq_no, {}});
  n.advance(2s);
  CHECK(n.state(id_of(p.node)) == member_state::alive);
  CHECK(n.rt.pings_completed.empty());  // no RTT from an indirect path
}

TEST_CASE("successful_tcp_fallback_completes_the_probe", "[probe]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  auto [p, to] = next_probe(n);
  n.advance(600ms);
  for (auto& e : n.rt.exchanges)
    if (e.tcp_ping) n.node.tcp_ping_completed(n.now, e.id, true, n.rt);
  n.advance(2s);
  CHECK(n.state(id_of(p.node)) == member_state::alive);
}

TEST_CASE("awareness_stretches_the_probe_window", "[awareness]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  n.receive(1, suspect{1, name_of(0), name_of(1)});  // refute: +1
  n.receive(1, suspect{2, name_of(0), name_of(1)});  // +1 -> score 2
  REQUIRE(n.node.health_score() == 2);
  auto [p, to] = next_probe(n);
  n.advance(500ms);
  for (auto& e : n.rt.exchanges)
    if (e.tcp_ping) {
      CHECK(e.deadline == n.now - 500ms + 3s);  // probe_interval * (score + 1)
      n.node.tcp_ping_completed(n.now, e.id, false, n.rt);
    }
  n.advance(2s);  // still inside the 3 s window
  CHECK(n.state(id_of(p.node)) == member_state::alive);
  n.advance(600ms);
  CHECK(n.state(id_of(p.node)) == member_state::suspect);
}

TEST_CASE("suspect_target_is_pinged_with_the_accusation_attached", "[probe][lifeguard]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  for (int i = 1; i <= 5; ++i) n.receive(5, suspect{1, name_of(i), name_of(5)});
  for (int round = 0; round < 10; ++round) {
    auto [p, to] = next_probe(n);
    if (id_of(p.node) == 5) {
      n.receive(5, ack{p.seq_no, {}});
      continue;
    }
    // ping + suspect in one compound, straight to the suspect, with CRC.
    bool has_suspect = false;
    for (auto& pk : n.rt.packets)
      if (pk.to == to)
        for (auto& m : pk.messages())
          if (auto* s = std::get_if<suspect>(&m); s && s->node == p.node && s->from == name_of(0)) {
            has_suspect = true;
            CHECK(pk.crc);
          }
    CHECK(has_suspect);
    n.receive(id_of(p.node), ack{p.seq_no, {}});
    return;
  }
  FAIL("never probed a suspect");
}

namespace {
// memberlist's behaviour: an expired suspicion is dead at once (the chorus
// re-check of unconfirmed suspicions is tested in recheck_test.cpp).
config without_recheck() {
  config c = config::lan(name_of(0), addr_of(0));
  c.lifeguard.recheck_unconfirmed = false;
  return c;
}
}  // namespace

TEST_CASE("suspicion_expires_into_dead_after_the_lifeguard_timeout", "[suspicion]") {
  one_node n(without_recheck());
  for (int i = 1; i <= 9; ++i) n.learn(i);  // 10 nodes: k = 2, min 4 s, max 24 s
  n.receive(2, suspect{1, name_of(1), name_of(2)});
  const time_point t0 = n.now;
  n.advance(23s);
  CHECK(n.state(1) == member_state::suspect);
  n.advance(1100ms);
  CHECK(n.state(1) == member_state::dead);
  CHECK(n.rt.events.back().kind == member_event_kind::failed);
  (void)t0;
}

// Lifeguard's formula at memberlist's floor (chorus's 0.4 floor:
// confirmed_floor_test.cpp).
TEST_CASE("independent_confirmations_shorten_the_suspicion", "[suspicion]") {
  config c = without_recheck();
  c.suspicion_confirmed_min_scale = memberlist_confirmed_min_scale;
  one_node n(c);
  for (int i = 1; i <= 9; ++i) n.learn(i);
  n.receive(2, suspect{1, name_of(1), name_of(2)});
  n.advance(2s);
  n.receive(3, suspect{1, name_of(1), name_of(3)});  // T(1) = 11.381 s
  n.advance(9s);
  CHECK(n.state(1) == member_state::suspect);
  n.advance(500ms);
  CHECK(n.state(1) == member_state::dead);

  n.receive(4, suspect{1, name_of(5), name_of(4)});
  n.receive(6, suspect{1, name_of(5), name_of(6)});
  n.receive(7, suspect{1, name_of(5), name_of(7)});  // k reached: T = min = 4 s
  n.advance(3900ms);
  CHECK(n.state(5) == member_state::suspect);
  n.advance(200ms);
  CHECK(n.state(5) == member_state::dead);
}

TEST_CASE("without_lifeguard_suspicion_is_fixed_at_min", "[suspicion][lifeguard]") {
  config c = config::lan(name_of(0), addr_of(0));
  c.lifeguard = lifeguard_config::off();
  one_node n(c);
  for (int i = 1; i <= 9; ++i) n.learn(i);
  n.receive(2, suspect{1, name_of(1), name_of(2)});
  n.advance(3900ms);
  CHECK(n.state(1) == member_state::suspect);
  n.advance(200ms);
  CHECK(n.state(1) == member_state::dead);
}

TEST_CASE("ping_req_is_relayed_and_the_ack_forwarded_with_the_requester_seq", "[probe]") {
  one_node n;
  n.learn(1);
  n.learn(2);
  indirect_ping ind;
  ind.seq_no = 77;
  ind.target = addr_of(2).ip_bytes();
  ind.port = 7946;
  ind.node = name_of(2);
  ind.nack = true;
  ind.source_addr = addr_of(1).ip_bytes();
  ind.source_port = 7946;
  ind.source_node = name_of(1);
  n.rt.clear();
  n.receive(1, ind);
  auto pings = n.rt.sent_of<ping>(addr_of(2));
  REQUIRE(pings.size() == 1);
  CHECK(pings[0].seq_no != 77);  // our own sequence number
  n.receive(2, ack{pings[0].seq_no, bytes{5}});
  auto acks = n.rt.sent_of<ack>(addr_of(1));
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].seq_no == 77);
  CHECK(acks[0].payload.empty());  // forwarded acks carry no payload
  n.advance(1s);
  CHECK(n.rt.sent_of<nack>().empty());
}

TEST_CASE("ping_req_without_answer_sends_a_nack", "[probe]") {
  one_node n;
  n.learn(1);
  n.learn(2);
  indirect_ping ind;
  ind.seq_no = 9;
  ind.target = addr_of(2).ip_bytes();
  ind.port = 7946;
  ind.node = name_of(2);
  ind.nack = true;
  n.receive(1, ind);
  n.rt.clear();
  n.advance(499ms);
  CHECK(n.rt.sent_of<nack>().empty());
  n.advance(2ms);
  auto nacks = n.rt.sent_of<nack>(addr_of(1));  // no Source*: reply to the packet's sender
  REQUIRE(nacks.size() == 1);
  CHECK(nacks[0].seq_no == 9);
}

TEST_CASE("ping_for_another_node_name_is_dropped", "[probe]") {
  one_node n;
  n.learn(1);
  n.rt.clear();
  n.receive(1, ping{5, "someone-else", {}, 0, {}});
  CHECK(n.rt.packets.empty());
  n.receive(1, ping{6, name_of(0), {}, 0, {}});
  auto acks = n.rt.sent_of<ack>(addr_of(1));
  REQUIRE(acks.size() == 1);
  CHECK(acks[0].seq_no == 6);
}

TEST_CASE("gossip_packets_fit_the_udp_budget_and_carry_user_messages_too", "[gossip]") {
  one_node n;
  for (int i = 1; i <= 200; ++i) n.learn(i);  // 200 alives queued (cap 1024)
  for (int i = 0; i < 50; ++i) n.node.queue_user_broadcast(n.now, bytes(40, static_cast<std::uint8_t>(i)), n.rt);
  n.rt.clear();
  n.advance(200ms);
  REQUIRE_FALSE(n.rt.packets.empty());
  for (const auto& p : n.rt.packets) {
    CHECK(p.data.size() <= 1400);
    auto msgs = p.messages();
    CHECK(msgs.size() < 128);
    int alives = 0, users = 0;
    for (auto& m : msgs) {
      alives += std::holds_alternative<alive>(m);
      users += std::holds_alternative<user>(m);
    }
    CHECK(alives > 0);  // membership keeps priority ...
    CHECK(users > 0);   // ... but users get their share
  }
}

TEST_CASE("bad_packets_are_counted_and_dropped", "[robustness]") {
  one_node n;
  n.receive_packet(1, bytes{0xff, 0x00});
  n.receive_packet(1, bytes{7, 3, 0, 10});
  n.receive_packet(1, bytes{0, 0x85});
  CHECK(n.node.stats().decode_errors == 3);
}

TEST_CASE("same_seed_same_inputs_same_outputs", "[determinism]") {
  auto run = [] {
    one_node n(config::lan(name_of(0), addr_of(0)), 1234);
    for (int i = 1; i <= 20; ++i) n.learn(i);
    n.advance(30s);
    return n.rt.log;
  };
  CHECK(run() == run());
}

// Nothing to gossip: the gossip timer parks instead of waking the agent 5
// times a second for nothing (half an idle agent's CPU); a message queued
// later goes out within a gossip interval.
TEST_CASE("an_idle_node_parks_its_gossip_timer_and_a_queued_message_restarts_it_on_phase", "[gossip]") {
  one_node n;
  for (int i = 1; i <= 3; ++i) {
    n.learn(i);
    n.responsive.insert(i);
  }
  n.advance(30s);  // every alive has been sent its transmit limit
  const std::size_t fired = n.advance(10s);
  // Probe rounds (tick, ack deadline, window end): 30. The 200 ms gossip
  // tick would add 50.
  CHECK(fired <= 40);

  n.rt.clear();
  const bytes payload(10, 0x42);
  n.node.queue_user_broadcast(n.now, payload, n.rt);
  n.advance(200ms);  // at most one gossip interval
  std::size_t carried = 0;
  for (auto& p : n.rt.packets)
    for (auto& m : p.messages())
      if (auto* u = std::get_if<user>(&m); u && u->payload == payload) ++carried;
  CHECK(carried > 0);
}
