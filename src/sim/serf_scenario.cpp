// run_serf_scenario: one scripted run of Serf nodes, as a class whose members
// are what the Serf hooks keep and whose methods are the run's steps.
#include "sim/serf_scenario.hpp"

#include <algorithm>
#include <stdexcept>

#include "sim/bootstrap.hpp"

namespace chorus::sim {

namespace {

const std::string event_name = "chorus-sim-event";
const std::string query_name = "chorus-sim-query";
constexpr node_id event_node = 0, query_node = 1, tag_node = 2, leave_node = 3;

options simulator_options(const serf_scenario_params& p) {
  options o = options_for(p, node_layer::serf);
  o.seal = p.seal;
  return o;
}

swim::bytes to_bytes(const std::string& s) { return swim::bytes(s.begin(), s.end()); }

// When each node first had one piece of news, in seconds after it started.
class arrivals {
 public:
  void start(time_point t, std::size_t nodes) {
    at_ = t;
    seen_.assign(nodes, false);
  }
  void saw(time_point t, node_id n) {
    if (n >= seen_.size() || seen_[n]) return;
    seen_[n] = true;
    times_.push_back(secs(t - at_));
  }
  spread result(std::size_t of) const { return make_spread(times_, of); }

 private:
  time_point at_{};
  std::vector<bool> seen_;  // empty until started: news before that is not counted
  std::vector<double> times_;
};

class serf_run {
 public:
  explicit serf_run(const serf_scenario_params& p) : p_(p), sim_(simulator_options(p)), rng_(p.seed ^ 0x5e7f5ce7ULL) {
    sim_.net().use_latency(p.latency_matrix, p.latency);
    auto& h = sim_.serf_events;
    h.member_event = [this](time_point t, node_id obs, const agent::member_event& e) { member_event(t, obs, e); };
    h.user_event = [this](time_point t, node_id n, const agent::user_event_data& e) {
      if (e.name == event_name && n != event_node) event_.saw(t, n);
    };
    // One query runs: everything n1 hears back belongs to it.
    h.query_ack = [this](time_point t, node_id n, agent::query_handle, std::string_view from) {
      if (n == query_node) acks_.saw(t, sim_.id_of(from));
    };
    h.query_response = [this](time_point t, node_id n, agent::query_handle, std::string_view from,
                              std::span<const std::uint8_t>) {
      if (n == query_node) responses_.saw(t, sim_.id_of(from));
    };
    h.responder = [](node_id n, const agent::query_event& q) -> std::optional<std::string> {
      if (q.name != query_name) return std::nullopt;
      return simulator::name_of(n);
    };
  }

  serf_scenario_result run() {
    if (p_.warm_start)
      form();
    else
      join_storm();
    window();
    return results();
  }

 private:
  void member_event(time_point t, node_id obs, const agent::member_event& e) {
    for (const auto& m : e.members) {
      if (e.type == agent::member_event_type::join) alive_.add(obs, 1);
      if (e.type == agent::member_event_type::leave || e.type == agent::member_event_type::failed) alive_.add(obs, -1);
      const node_id subject = sim_.id_of(m.name);
      if (e.type == agent::member_event_type::update && subject == tag_node && obs != tag_node) tags_.saw(t, obs);
      if (e.type == agent::member_event_type::leave && subject == leave_node && obs != leave_node) left_.saw(t, obs);
    }
  }

  // A formed cluster whose gossip is left to settle.
  void form() {
    for (std::size_t i = 0; i < p_.nodes; ++i) sim_.add_node();
    sim_.restore_full_membership();
    sim_.run_for(p_.settle);
    converge();
  }

  // Node i joins a random earlier node at i * spacing.
  void join_storm() {
    sim::join_storm(sim_, p_, [this](node_id n) { return static_cast<node_id>(rng_.below(n)); });
    converge();
  }

  // Until every node holds every node alive.
  void converge() {
    const auto w =
        sim::converge(sim_, p_, [this] { return alive_.everywhere(sim_, static_cast<std::int64_t>(p_.nodes)); });
    r_.converged = w.converged;
    r_.warmup_s = w.seconds;
  }

  void window() {
    const time_point start = sim_.now();
    end_ = start + p_.measure;
    sim_.net().set_loss(p_.loss);
    totals0_ = sim_.stats();
    event_.start(sim_.now(), sim_.size());
    sim_.with_serf(event_node, [&](agent::serf& s, agent::serf_runtime& rt, time_point now) {
      return s.user_event(now, event_name, to_bytes(event_name), false, rt);
    });
    sim_.run_until(start + p_.measure / 6);
    start_query();
    sim_.run_until(start + p_.measure / 2);
    tags_.start(sim_.now(), sim_.size());
    sim_.with_serf(tag_node, [&](agent::serf& s, agent::serf_runtime& rt, time_point now) {
      return s.set_tags(now, {{"role", "updated"}}, rt);
    });
    sim_.run_until(start + p_.measure * 2 / 3);
    leave();
    sim_.run_until(end_);
  }

  void start_query() {
    acks_.start(sim_.now(), sim_.size());
    responses_.start(sim_.now(), sim_.size());
    for (node_id n = 0; n < sim_.size(); ++n) r_.query.expected += sim_.up(n) ? 1 : 0;
    agent::query_params q;
    q.name = query_name;
    q.request_ack = true;
    const auto started = sim_.with_serf(
        query_node, [&](agent::serf& s, agent::serf_runtime& rt, time_point now) { return s.query(now, q, rt); });
    r_.query.timeout_s = secs(started.deadline - sim_.now());
  }

  // The leave intent changes a member's status without an event of its own:
  // watch the status at every other node until all have it.
  void leave() {
    const time_point start = sim_.now();
    intent_.start(start, sim_.size());
    left_.start(start, sim_.size());
    sim_.with_serf(leave_node, [&](agent::serf& s, agent::serf_runtime& rt, time_point now) { s.leave(now, rt); });
    std::vector<node_id> pending;
    for (node_id n = 0; n < sim_.size(); ++n)
      if (n != leave_node && sim_.up(n)) pending.push_back(n);
    auto all_heard = [&] {
      std::erase_if(pending, [&](node_id n) {
        const auto s = sim_.status_in(n, leave_node);
        if (s != agent::member_status::leaving && s != agent::member_status::left) return false;
        intent_.saw(sim_.now(), n);
        return true;
      });
      return pending.empty();
    };
    sim_.run_until_true(all_heard, end_ - sim_.now(), 50ms);
  }

  serf_scenario_result results() {
    std::size_t up = 0;
    for (node_id n = 0; n < sim_.size(); ++n) up += sim_.up(n) ? 1 : 0;
    // Each figure counts the nodes other than the one the news is from.
    r_.user_event = event_.result(up - 1);
    r_.query.acks = acks_.result(r_.query.expected);
    r_.query.responses = responses_.result(r_.query.expected);
    r_.tag_update = tags_.result(up - 1);
    r_.leave_intent = intent_.result(up - 1);
    r_.leave = left_.result(up - 1);
    static_cast<totals&>(r_) = sim_.stats();
    static_cast<window_load&>(r_) = load_between(totals0_, r_, p_.measure, sim_.size());
    r_.trace_hash = sim_.trace_hash();
    return std::move(r_);
  }

  const serf_scenario_params& p_;
  serf_scenario_result r_;
  simulator sim_;
  chorus::random_source rng_;
  alive_counts alive_;
  arrivals event_, acks_, responses_, tags_, intent_, left_;
  time_point end_{};
  totals totals0_;
};

}  // namespace

serf_scenario_result run_serf_scenario(const serf_scenario_params& p) {
  if (p.nodes <= leave_node) throw std::invalid_argument("the Serf scenario needs at least 4 nodes");
  return timed([&] { return serf_run(p).run(); });
}

}  // namespace chorus::sim
