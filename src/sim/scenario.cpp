// run_scenario: one scripted run of bare cores, as a class whose members are
// what the simulator's hooks keep and whose methods are the run's steps.
#include "sim/scenario.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "sim/bootstrap.hpp"

namespace chorus::sim {

namespace {

struct crash_record {
  node_id subject;
  time_point at;
  double first_suspect = -1;
  std::unordered_map<node_id, double> failed;  // observer -> seconds after the crash
};

options simulator_options(const scenario_params& p) {
  options o = options_for(p, node_layer::swim);
  o.lifeguard = p.lifeguard ? swim::lifeguard_config{} : swim::lifeguard_config::off();
  if (p.lifeguard) o.lifeguard.corroborate_dead = p.corroborate_dead;
  if (p.lifeguard) o.lifeguard.tell_stale = p.tell_stale;
  o.dead_node_reclaim_time = p.dead_node_reclaim_time;
  o.max_broadcasts = p.max_broadcasts;
  o.suspicion_confirmed_min_scale = p.confirmed_min_scale;
  o.refuted_floor_window = p.refuted_floor_window;
  return o;
}

const std::string bcast_payload = "chorus-sim-broadcast";
std::span<const std::uint8_t> bcast_bytes() {
  return {reinterpret_cast<const std::uint8_t*>(bcast_payload.data()), bcast_payload.size()};
}

class swim_run {
 public:
  explicit swim_run(const scenario_params& p) : p_(p), sim_(simulator_options(p)), rng_(p.seed ^ 0x5ce7a210ULL) {
    sim_.net().use_latency(p.latency_matrix, p.latency);
    sim_.on_member_event = [this](time_point t, node_id obs, const swim::member_event& e) { member_event(t, obs, e); };
    sim_.on_suspect = [this](time_point t, node_id, node_id subj) { suspected(t, subj); };
    sim_.on_user_message = [this](time_point t, node_id n, std::span<const std::uint8_t> p) { user_message(t, n, p); };
  }

  scenario_result run() {
    bootstrap();
    window();
    return results();
  }

 private:
  // --- bookkeeping through the simulator's hooks ---------------------------
  // A node stalled this recently is not "healthy": its false failure is
  // the stall's doing.
  bool healthy(node_id n, time_point t) const {
    constexpr duration stall_grace = 120s;
    if (!sim_.up(n) || sim_.stalled(n) || faulty(n)) return false;
    return n >= last_stall_end_.size() || last_stall_end_[n] == time_point{} || t - last_stall_end_[n] > stall_grace;
  }

  bool faulty(node_id n) const { return std::find(faulty_.begin(), faulty_.end(), n) != faulty_.end(); }

  void member_event(time_point t, node_id obs, const swim::member_event& e) {
    const node_id subj = sim_.id_of(e.member.name);
    const bool was_alive = e.previous == swim::member_state::alive || e.previous == swim::member_state::suspect;
    if (e.kind == swim::member_event_kind::join && !was_alive) alive_.add(obs, 1);
    if ((e.kind == swim::member_event_kind::failed || e.kind == swim::member_event_kind::leave) && was_alive)
      alive_.add(obs, -1);
    if (!measuring_) return;
    if (e.kind == swim::member_event_kind::join && subj == probe_node_ && obs != probe_node_)
      join_times_.push_back(secs(t - window_start_));
    if (e.kind == swim::member_event_kind::join) return rejoined(t, obs, subj, e.previous);
    if (e.kind != swim::member_event_kind::failed) return;
    if (auto it = active_crash_.find(subj); it != active_crash_.end()) {
      auto& c = crashes_[it->second];
      c.failed.emplace(obs, secs(t - c.at));
    } else if (faulty(subj) && obs != subj) {
      ++r_.faulty_failed;
      faulty_first_failed_.emplace(std::pair{obs, subj}, secs(t - (window_start_ + p_.fault.start)));
    } else if (subj < sim_.size() && healthy(subj, t) && faulty(obs)) {
      ++r_.false_failures_at_faulty;  // the faulty node's own view of the healthy ones
    } else if (subj < sim_.size() && healthy(subj, t)) {
      ++r_.false_failures;
      ++r_.false_failures_by_observer[obs];
      ++r_.false_failure_accusers[sim_.id_of(e.from)];
      false_failed_.insert(subj);
      r_.false_failure_max_observers =
          std::max(r_.false_failure_max_observers, ++false_deaths_[{subj, e.member.incarnation}]);
    }
  }

  // Alive again: a flap when the subject is a faulty node, a rejoin when it
  // is a restarted one.
  void rejoined(time_point t, node_id obs, node_id subj, swim::member_state previous) {
    if (previous != swim::member_state::dead || obs == subj) return;
    if (faulty(subj) && faulty_first_failed_.count({obs, subj})) {
      ++r_.flaps;
      r_.flaps_max_per_observer = std::max(r_.flaps_max_per_observer, ++flaps_[obs]);
    }
    if (auto it = restarted_.find(subj); it != restarted_.end() && !restarted_.count(obs))
      it->second.second.emplace(obs, secs(t - it->second.first));
  }

  void suspected(time_point t, node_id subj) {
    if (!measuring_) return;
    if (auto it = active_crash_.find(subj); it != active_crash_.end()) {
      auto& c = crashes_[it->second];
      if (c.first_suspect < 0) c.first_suspect = secs(t - c.at);
    } else if (subj < sim_.size() && healthy(subj, t)) {
      ++r_.false_suspicions;
    }
  }

  void user_message(time_point t, node_id n, std::span<const std::uint8_t> payload) {
    if (std::string(payload.begin(), payload.end()) != bcast_payload) return;
    if (got_bcast_.size() <= n) got_bcast_.resize(n + 1, false);
    if (got_bcast_[n]) return;
    got_bcast_[n] = true;
    if (n != 0) bcast_times_.push_back(secs(t - window_start_));
    // Serf re-broadcasts an event it sees for the first time; do it as an
    // action so the core is not re-entered from its own runtime call.
    sim_.at(t, [this, n] {
      if (sim_.up(n)) sim_.queue_user_broadcast(n, bcast_bytes());
    });
  }

  // --- bootstrap -------------------------------------------------------------
  void bootstrap() {
    if (p_.warm_start) {
      for (std::size_t i = 0; i < p_.nodes; ++i) sim_.add_node();
      up_count_ = p_.nodes;
      sim_.restore_full_membership();
      alive_.assign(p_.nodes, static_cast<std::int64_t>(p_.nodes));
      converge();
      return;
    }
    join_storm(
        sim_, p_, [this](node_id n) { return p_.chain_join ? n - 1 : static_cast<node_id>(rng_.below(n)); },
        [this](node_id) { ++up_count_; });
    converge();
  }

  // Until every up node holds every up node alive.
  void converge() {
    const auto w =
        sim::converge(sim_, p_, [this] { return alive_.everywhere(sim_, static_cast<std::int64_t>(up_count_)); });
    r_.converged = w.converged;
    r_.warmup_s = w.seconds;
  }

  // --- measurement window ------------------------------------------------------
  void window() {
    window_start_ = sim_.now();
    measuring_ = true;
    last_stall_end_.assign(p_.nodes + 1, time_point{});
    sim_.net().set_loss(p_.loss);
    totals0_ = sim_.stats();
    end_ = window_start_ + p_.measure;
    probe_node_ = sim_.add_node();
    ++up_count_;
    sim_.join(probe_node_, {static_cast<node_id>(rng_.below(p_.nodes))});
    sim_.queue_user_broadcast(0, bcast_bytes());
    schedule_crashes();
    schedule_stalls();
    faulty_ = faulty_nodes(p_.fault);
    schedule_fault(sim_, p_.fault, window_start_ + p_.fault.start, end_);
    if (p_.fault.kind == fault_kind::mass_crash) sim_.at(window_start_ + p_.fault.start, [this] { mass_crash(); });
    if (p_.partition_at) {
      sim_.at(window_start_ + *p_.partition_at, [this] {
        for (node_id n = 0; n < sim_.size(); ++n) sim_.net().set_group(n, n < p_.nodes / 2 ? 1 : 2);
      });
    }
    if (p_.heal_at) heal();
    sim_.run_until(end_);
  }

  std::optional<node_id> pick_victim() {
    for (int tries = 0; tries < 100; ++tries) {
      const auto n = static_cast<node_id>(1 + rng_.below(p_.nodes - 1));
      if (sim_.up(n) && !active_crash_.count(n)) return n;
    }
    return std::nullopt;
  }

  void schedule_crashes() {
    if (p_.crash_every <= duration::zero() || p_.nodes <= 2) return;
    // No crash in the last 30 s: detection (a suspicion timeout, ~8-16 s at
    // LAN) must be able to finish inside the window to be measured.
    for (time_point t = window_start_ + p_.crash_every; t + 30s < end_; t += p_.crash_every)
      sim_.at(t, [this] { crash_one(); });
  }

  // Kills `v` and starts timing its detection.
  void crash(node_id v) {
    sim_.crash(v);
    --up_count_;
    active_crash_[v] = crashes_.size();
    crashes_.push_back(crash_record{v, sim_.now(), -1, {}});
  }

  // Brings `v` back: same name, fresh state.
  void restart(node_id v) {
    active_crash_.erase(v);
    sim_.restart(v);
    ++up_count_;
  }

  void crash_one() {
    auto v = pick_victim();
    if (!v) return;
    crash(*v);
    if (!p_.restart_crashed) return;
    sim_.at(sim_.now() + p_.restart_after, [this, victim = *v] { restart(victim); });
  }

  // fault_plan::crash_count nodes killed at once, restarted restart_after
  // later.
  void mass_crash() {
    std::vector<node_id> victims;
    for (std::size_t i = 0; i < p_.fault.crash_count; ++i) {
      auto v = pick_victim();
      if (!v) break;
      crash(*v);
      victims.push_back(*v);
    }
    sim_.at(sim_.now() + p_.restart_after, [this, victims] {
      for (node_id v : victims) {
        restart(v);
        restarted_[v] = {sim_.now(), {}};
      }
    });
  }

  void schedule_stalls() {
    if (p_.stall_every <= duration::zero() || p_.nodes <= 2) return;
    for (time_point t = window_start_ + p_.stall_every; t < end_; t += p_.stall_every) {
      sim_.at(t, [this] {
        auto v = pick_victim();
        if (!v) return;
        sim_.stall(*v, p_.stall_for, p_.stall_mode);
        last_stall_end_[*v] = sim_.now() + p_.stall_for;
        ++r_.stalls;
      });
    }
  }

  // Heals at heal_at and measures until all up nodes are alive everywhere.
  void heal() {
    sim_.at(window_start_ + *p_.heal_at, [this] { sim_.net().heal(); });
    sim_.run_until(window_start_ + *p_.heal_at);
    auto everyone_alive = [this] {
      for (node_id a = 0; a < sim_.size(); ++a) {
        if (!sim_.up(a)) continue;
        for (node_id b = 0; b < sim_.size(); ++b) {
          if (!sim_.up(b)) continue;
          auto s = sim_.state_in(a, b);
          if (!s || *s != swim::member_state::alive) return false;
        }
      }
      return true;
    };
    if (sim_.run_until_true(everyone_alive, end_ - sim_.now(), 1s))
      r_.healed_s = secs(sim_.now() - (window_start_ + *p_.heal_at));
  }

  // --- results -----------------------------------------------------------------
  scenario_result results() {
    r_.join = make_spread(join_times_, p_.nodes);
    std::size_t bcast_of = 0;
    for (node_id n = 1; n < sim_.size(); ++n) bcast_of += sim_.up(n) ? 1 : 0;
    r_.broadcast = make_spread(bcast_times_, bcast_of);
    detection_results();
    r_.false_failed_nodes = false_failed_.size();
    fault_results();
    static_cast<totals&>(r_) = sim_.stats();
    static_cast<window_load&>(r_) = load_between(totals0_, r_, p_.measure, sim_.size());
    r_.trace_hash = sim_.trace_hash();
    r_.trace = sim_.trace();
    for (node_id n = 0; n < sim_.size(); ++n) {
      r_.member_table_bytes += sim_.core(n).members().memory_bytes();
      r_.member_entries += sim_.core(n).members().size();
    }
    return std::move(r_);
  }

  void fault_results() {
    std::vector<double> det, rejoin;
    for (const auto& [key, s] : faulty_first_failed_) det.push_back(s);
    r_.faulty_detection = summarize(det);
    for (const auto& [subj, r] : restarted_) {
      for (node_id n = 0; n < sim_.size(); ++n) {
        if (n == subj || !sim_.up(n) || restarted_.count(n)) continue;  // the survivors' view
        auto it = r.second.find(n);
        if (it == r.second.end())
          ++r_.not_rejoined;
        else
          rejoin.push_back(it->second);
      }
    }
    r_.rejoin = summarize(rejoin);
  }

  void detection_results() {
    std::vector<double> first, det, det_all;
    for (const auto& c : crashes_) {
      ++r_.crashes;
      if (c.first_suspect >= 0) first.push_back(c.first_suspect);
      double last = 0;
      bool complete = true;
      for (node_id n = 0; n < sim_.size(); ++n) {
        // A node restarted after a mass crash is a fresh observer: it never
        // held the others alive.
        if (n == c.subject || !sim_.up(n) || restarted_.count(n)) continue;
        auto it = c.failed.find(n);
        if (it == c.failed.end()) {
          ++r_.undetected;
          complete = false;
          continue;
        }
        det.push_back(it->second);
        last = std::max(last, it->second);
      }
      if (complete) det_all.push_back(last);
    }
    r_.first_suspect = summarize(first);
    r_.detection = summarize(det);
    r_.detection_all = summarize(det_all);
  }

  const scenario_params& p_;
  scenario_result r_;
  simulator sim_;
  chorus::random_source rng_;
  alive_counts alive_;  // per observer: members it holds alive or suspect
  std::size_t up_count_ = 0;
  std::vector<crash_record> crashes_;
  std::unordered_map<node_id, std::size_t> active_crash_;  // subject -> index in crashes_
  std::vector<time_point> last_stall_end_;
  std::set<node_id> false_failed_;
  std::map<std::pair<node_id, std::uint32_t>, std::size_t> false_deaths_;  // (node, incarnation) -> observers
  std::vector<node_id> faulty_;
  // (observer, faulty node) -> s after the fault start, at the first failed
  // event there (so a later alive there is a flap)
  std::map<std::pair<node_id, node_id>, double> faulty_first_failed_;
  std::map<node_id, std::size_t> flaps_;  // observer -> flaps of faulty nodes
  // restarted node -> (restart time, observer -> s until it held it alive)
  std::map<node_id, std::pair<time_point, std::map<node_id, double>>> restarted_;
  node_id probe_node_ = ~node_id{0};
  std::vector<double> join_times_, bcast_times_;
  std::vector<bool> got_bcast_;
  time_point window_start_{}, end_{};
  bool measuring_ = false;
  totals totals0_;
};

}  // namespace

scenario_result run_scenario(const scenario_params& p) {
  return timed([&] { return swim_run(p).run(); });
}

}  // namespace chorus::sim
