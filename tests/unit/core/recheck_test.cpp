// The re-check of unconfirmed suspicions (lifeguard.recheck_unconfirmed, a
// chorus refinement over memberlist; docs/swim.md "10 % loss"): a suspicion
// that expires without its k independent confirmations is probed once more
// before it becomes dead; an answer means our view is stale and starts a
// push/pull with the suspect instead.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

namespace {
// At memberlist's confirmed floor (min 4 s), which these timings assume;
// chorus's 0.4 floor has its own test (confirmed_floor_test.cpp).
config lan0() {
  config c = config::lan(name_of(0), addr_of(0));
  c.suspicion_confirmed_min_scale = memberlist_confirmed_min_scale;
  return c;
}

// 10 nodes: k = 2, min 4 s, max 24 s. n2 accuses n1 at t0.
struct fixture {
  explicit fixture(config c = lan0(), bool n1_answers = true) : n(std::move(c)) {
    for (int i = 1; i <= 9; ++i) n.learn(i);
    for (int i = 2; i <= 9; ++i) n.responsive.insert(i);
    if (n1_answers) n.responsive.insert(1);
    n.receive(2, suspect{1, name_of(1), name_of(2)});
    t0 = n.now;
  }
  // Advances in 10 ms steps until the re-check starts (false if not within
  // `limit`). The packets of that step stay in rt.
  bool until_recheck(duration limit) {
    const time_point end = n.now + limit;
    while (n.now < end) {
      n.rt.clear();
      n.advance(10ms);
      if (n.node.stats().suspicion_rechecks > 0) return true;
    }
    return false;
  }
  std::vector<recording_runtime::exchange_rec> push_pulls_to(int i) const {
    std::vector<recording_runtime::exchange_rec> out;
    for (const auto& e : n.rt.exchanges)
      if (!e.tcp_ping && e.to == addr_of(i)) out.push_back(e);
    return out;
  }
  int failed_events() const {
    int c = 0;
    for (const auto& e : n.rt.events) c += e.kind == member_event_kind::failed;
    return c;
  }
  one_node n;
  time_point t0;
};

push_pull state_of_n1_alive(std::uint32_t inc) {
  push_pull p;
  push_node_state s;
  s.name = name_of(1);
  s.addr = addr_of(1).ip_bytes();
  s.port = addr_of(1).port;
  s.incarnation = inc;
  s.state = node_state::alive;
  s.vsn = config::default_vsn();
  p.nodes.push_back(s);
  return p;
}
}  // namespace

TEST_CASE("unconfirmed_suspicion_is_reprobed_at_expiry_with_the_accusation_attached", "[suspicion][recheck]") {
  fixture f(lan0(), false);

  REQUIRE(f.until_recheck(30s));
  // Our own failed probes of n1 may have confirmed once (T(1) = 11.4 s); k
  // = 2 was never reached, or it would be dead by now.
  CHECK(f.n.now - f.t0 >= 11s);
  CHECK(f.n.state(1) == member_state::suspect);
  // A ping to n1 with the suspect message in the same packet (buddy system).
  std::optional<std::uint32_t> seq;
  for (const auto& pk : f.n.rt.packets) {
    if (pk.to != addr_of(1)) continue;
    bool has_suspect = false;
    std::optional<std::uint32_t> s;
    for (auto& m : pk.messages()) {
      if (auto* p = std::get_if<ping>(&m); p && p->node == name_of(1)) s = p->seq_no;
      if (auto* x = std::get_if<suspect>(&m); x && x->node == name_of(1) && x->from == name_of(0)) has_suspect = true;
    }
    if (s && has_suspect) seq = s;
  }
  REQUIRE(seq);
  // After probe_timeout: ping-reqs through 3 members (no nacks asked) and
  // the TCP fallback, all with the re-check's sequence number.
  f.n.rt.clear();
  f.n.advance(500ms);
  int reqs = 0;
  for (auto& r : f.n.rt.sent_of<indirect_ping>())
    if (r.seq_no == *seq) {
      ++reqs;
      CHECK(r.node == name_of(1));
      CHECK_FALSE(r.nack);
    }
  CHECK(reqs == 3);
  bool tcp = false;
  for (const auto& e : f.n.rt.exchanges)
    if (e.tcp_ping && e.ping_request.seq_no == *seq && e.to == addr_of(1)) tcp = true;
  CHECK(tcp);
  CHECK(f.n.state(1) == member_state::suspect);
}

TEST_CASE("recheck_answered_starts_a_push_pull_with_the_suspect_and_its_state_clears_the_suspicion",
          "[suspicion][recheck]") {
  fixture f;
  REQUIRE(f.until_recheck(30s));
  CHECK(f.n.now - f.t0 >= 24s);  // nobody confirmed: the full 24 s maximum
  // n1 answered the re-check ping at once: no dead, a push/pull with n1.
  CHECK(f.n.node.stats().rechecks_answered == 1);
  CHECK(f.n.state(1) == member_state::suspect);
  CHECK(f.failed_events() == 0);
  const auto pp = f.push_pulls_to(1);
  REQUIRE(pp.size() == 1);
  CHECK_FALSE(pp[0].request.join);
  // n1's reply holds its refutation (incarnation 2): merged, suspicion gone.
  f.n.node.push_pull_completed(f.n.now, pp[0].id, state_of_n1_alive(2), f.n.rt);
  CHECK(f.n.state(1) == member_state::alive);
  CHECK(f.n.incarnation(1) == 2);
  f.n.advance(120s);
  CHECK(f.n.state(1) == member_state::alive);
  CHECK(f.failed_events() == 0);
}

TEST_CASE("recheck_answered_but_no_state_obtained_is_dead_after_one_more_max_timeout", "[suspicion][recheck]") {
  fixture f;
  REQUIRE(f.until_recheck(30s));
  const time_point answered = f.n.now;
  const auto pp = f.push_pulls_to(1);
  REQUIRE(pp.size() == 1);
  f.n.node.push_pull_failed(f.n.now, pp[0].id, f.n.rt);
  f.n.advance(23s);
  CHECK(f.n.state(1) == member_state::suspect);
  f.n.advance(1200ms);
  CHECK(f.n.state(1) == member_state::dead);
  CHECK(f.failed_events() == 1);
  CHECK(f.n.now - answered <= 24s + 1200ms);
}

TEST_CASE("recheck_without_an_answer_declares_dead_at_the_end_of_the_probe_window", "[suspicion][recheck]") {
  fixture f(lan0(), false);
  REQUIRE(f.until_recheck(30s));
  const time_point started = f.n.now;
  CHECK(f.n.state(1) == member_state::suspect);
  f.n.advance(500ms);
  // The re-check's TCP fallback fails too.
  for (const auto& e : f.n.rt.exchanges)
    if (e.tcp_ping && e.to == addr_of(1)) f.n.node.tcp_ping_completed(f.n.now, e.id, false, f.n.rt);
  CHECK(f.n.state(1) == member_state::suspect);
  // The window is probe_interval scaled by our health score, which n1's
  // failed regular probes raised (at most 8 s).
  for (int i = 0; i < 100 && f.n.state(1) == member_state::suspect; ++i) f.n.advance(100ms);
  CHECK(f.n.state(1) == member_state::dead);
  CHECK(f.n.now - started <= 9s);
  CHECK(f.n.rt.events.back().kind == member_event_kind::failed);
  CHECK(f.n.rt.events.back().from == name_of(0));
  CHECK(f.n.node.stats().rechecks_answered == 0);
  CHECK(f.push_pulls_to(1).empty());
}

TEST_CASE("suspicion_with_k_confirmations_of_a_silent_node_is_dead_at_its_deadline_as_before", "[suspicion][recheck]") {
  fixture f(lan0(), false);  // n1 crashed
  f.n.receive(3, suspect{1, name_of(1), name_of(3)});
  f.n.receive(4, suspect{1, name_of(1), name_of(4)});  // k = 2 reached: T = min = 4 s
  f.n.rt.clear();
  f.n.advance(3900ms);
  CHECK(f.n.state(1) == member_state::suspect);
  // The precheck ran inside the last probe interval: no TCP ping, no delay.
  CHECK(f.n.node.stats().suspicion_prechecks == 1);
  int reqs = 0;
  for (auto& r : f.n.rt.sent_of<indirect_ping>()) reqs += r.node == name_of(1) && !r.nack;
  CHECK(reqs == 3);
  f.n.advance(200ms);
  CHECK(f.n.state(1) == member_state::dead);
  CHECK(f.failed_events() == 1);
  CHECK(f.n.node.stats().suspicion_rechecks == 0);
  CHECK(f.n.node.stats().rechecks_answered == 0);
}

TEST_CASE("confirmed_suspicion_of_a_node_that_answers_the_precheck_is_reprieved", "[suspicion][recheck]") {
  fixture f;  // n1 alive; we missed its refutation, the confirmers suspected it before they heard it
  f.n.receive(3, suspect{1, name_of(1), name_of(3)});
  f.n.receive(4, suspect{1, name_of(1), name_of(4)});
  f.n.advance(4100ms);
  CHECK(f.n.state(1) == member_state::suspect);
  CHECK(f.n.node.stats().rechecks_answered == 1);
  CHECK(f.failed_events() == 0);
  const auto pp = f.push_pulls_to(1);
  REQUIRE(pp.size() == 1);
  f.n.node.push_pull_completed(f.n.now, pp[0].id, state_of_n1_alive(2), f.n.rt);
  CHECK(f.n.state(1) == member_state::alive);
  f.n.advance(60s);
  CHECK(f.failed_events() == 0);
}

TEST_CASE("with_recheck_off_an_unconfirmed_suspicion_is_dead_at_its_timeout", "[suspicion][recheck][lifeguard]") {
  config c = lan0();
  c.lifeguard.recheck_unconfirmed = false;
  fixture f(c);
  f.n.advance(23900ms);
  CHECK(f.n.state(1) == member_state::suspect);
  f.n.advance(200ms);
  CHECK(f.n.state(1) == member_state::dead);
  CHECK(f.n.node.stats().suspicion_rechecks == 0);

  // Plain SWIM (the simulator's --lifeguard off) never re-checks either.
  config plain = lan0();
  plain.lifeguard = lifeguard_config::off();
  fixture g(plain);
  CHECK_FALSE(g.n.node.cfg().lifeguard.recheck_unconfirmed);
  g.n.advance(3900ms);
  CHECK(g.n.state(1) == member_state::suspect);
  g.n.advance(200ms);
  CHECK(g.n.state(1) == member_state::dead);
  CHECK(g.n.node.stats().suspicion_rechecks == 0);
}

TEST_CASE("recheck_is_on_in_every_preset", "[recheck]") {
  CHECK(config::lan("a", {}).lifeguard.recheck_unconfirmed);
  CHECK(config::wan("a", {}).lifeguard.recheck_unconfirmed);
  CHECK(config::local("a", {}).lifeguard.recheck_unconfirmed);
}
