#include "sim/scenario.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

namespace chorus::sim {

namespace {
double secs(duration d) { return static_cast<double>(d.count()) / 1e6; }

struct crash_record {
  node_id subject;
  time_point at;
  double first_suspect = -1;
  std::unordered_map<node_id, double> failed;  // observer -> seconds after the crash
};

spread make_spread(std::vector<double> times, std::size_t of) {
  spread s;
  s.of = of;
  s.reached = times.size();
  std::sort(times.begin(), times.end());
  auto at = [&](double share) -> double {
    const auto need = static_cast<std::size_t>(std::ceil(share * static_cast<double>(of)));
    if (need == 0) return 0;
    return need <= times.size() ? times[need - 1] : -1;
  };
  s.t50 = at(0.5);
  s.t99 = at(0.99);
  s.t100 = at(1.0);
  return s;
}
}  // namespace

summary summarize(std::vector<double> v) {
  summary s;
  s.count = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto q = [&](double p) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
  };
  s.median = q(0.5);
  s.p99 = q(0.99);
  s.max = v.back();
  return s;
}

double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

scenario_result run_scenario(const scenario_params& p) {
  const auto wall_start = std::chrono::steady_clock::now();
  scenario_result r;
  options o;
  o.seed = p.seed;
  o.profile = p.profile;
  o.lifeguard = p.lifeguard ? swim::lifeguard_config{} : swim::lifeguard_config::off();
  o.dead_node_reclaim_time = p.dead_node_reclaim_time;
  o.max_broadcasts = p.max_broadcasts;
  o.record_trace = p.record_trace;
  o.wire_every = p.wire_every;
  simulator sim(o);
  if (!p.latency_matrix.empty()) {
    std::string err;
    if (!sim.net().load_rtt_matrix(p.latency_matrix, err)) throw std::runtime_error(err);
  } else {
    sim.net().set_latency(p.latency);
  }
  chorus::random_source rng(p.seed ^ 0x5ce7a210ULL);

  // --- bookkeeping through the simulator's hooks ---------------------------
  std::vector<std::int64_t> alive_count;  // per observer: members it holds alive or suspect
  std::size_t up_count = 0;
  std::vector<crash_record> crashes;
  std::unordered_map<node_id, std::size_t> active_crash;  // subject -> index in crashes
  std::vector<time_point> last_stall_end;
  std::set<node_id> false_failed;
  std::map<std::pair<node_id, std::uint32_t>, std::size_t> false_deaths;  // (node, incarnation) -> observers
  node_id probe_node = ~node_id{0};
  std::vector<double> join_times, bcast_times;
  time_point window_start{};
  bool measuring = false;
  const duration stall_grace = 120s;  // a node stalled this recently is not "healthy"

  auto healthy = [&](node_id n, time_point t) {
    if (!sim.up(n) || sim.stalled(n)) return false;
    return n >= last_stall_end.size() || last_stall_end[n] == time_point{} || t - last_stall_end[n] > stall_grace;
  };
  sim.on_member_event = [&](time_point t, node_id obs, const swim::member_event& e) {
    const node_id subj = sim.id_of(e.member.name);
    if (alive_count.size() <= obs) alive_count.resize(obs + 1, 0);
    const bool was_alive = e.previous == swim::member_state::alive || e.previous == swim::member_state::suspect;
    if (e.kind == swim::member_event_kind::join && !was_alive) ++alive_count[obs];
    if ((e.kind == swim::member_event_kind::failed || e.kind == swim::member_event_kind::leave) && was_alive)
      --alive_count[obs];
    if (!measuring) return;
    if (e.kind == swim::member_event_kind::join && subj == probe_node && obs != probe_node)
      join_times.push_back(secs(t - window_start));
    if (e.kind == swim::member_event_kind::failed) {
      if (auto it = active_crash.find(subj); it != active_crash.end()) {
        auto& c = crashes[it->second];
        c.failed.emplace(obs, secs(t - c.at));
      } else if (subj < sim.size() && healthy(subj, t)) {
        ++r.false_failures;
        false_failed.insert(subj);
        r.false_failure_max_observers =
            std::max(r.false_failure_max_observers, ++false_deaths[{subj, e.member.incarnation}]);
      }
    }
  };
  sim.on_suspect = [&](time_point t, node_id, node_id subj) {
    if (!measuring) return;
    if (auto it = active_crash.find(subj); it != active_crash.end()) {
      auto& c = crashes[it->second];
      if (c.first_suspect < 0) c.first_suspect = secs(t - c.at);
    } else if (subj < sim.size() && healthy(subj, t)) {
      ++r.false_suspicions;
    }
  };
  const std::string bcast_payload = "chorus-sim-broadcast";
  std::vector<bool> got_bcast;
  sim.on_user_message = [&](time_point t, node_id n, std::span<const std::uint8_t> payload) {
    if (std::string(payload.begin(), payload.end()) != bcast_payload) return;
    if (got_bcast.size() <= n) got_bcast.resize(n + 1, false);
    if (got_bcast[n]) return;
    got_bcast[n] = true;
    if (n != 0) bcast_times.push_back(secs(t - window_start));
    // Serf re-broadcasts an event it sees for the first time; do it as an
    // action so the core is not re-entered from its own runtime call.
    sim.at(t, [&, n] {
      if (sim.up(n))
        sim.queue_user_broadcast(
            n, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bcast_payload.data()),
                                             bcast_payload.size()));
    });
  };

  // --- bootstrap -------------------------------------------------------------
  if (p.warm_start) {
    for (std::size_t i = 0; i < p.nodes; ++i) sim.add_node();
    up_count = p.nodes;
    sim.restore_full_membership();
    alive_count.assign(p.nodes, static_cast<std::int64_t>(p.nodes));
  }
  for (std::size_t i = 0; i < (p.warm_start ? 0 : p.nodes); ++i) {
    sim.at(time_point{p.join_spacing * static_cast<std::int64_t>(i)}, [&] {
      const node_id n = sim.add_node();
      ++up_count;
      if (n == 0) return;
      const node_id seed = p.chain_join ? n - 1 : static_cast<node_id>(rng.below(n));
      sim.join(n, {seed});
    });
  }
  if (!p.warm_start) sim.run_until(time_point{p.join_spacing * static_cast<std::int64_t>(p.nodes)});
  auto all_converged = [&] {
    if (alive_count.size() < sim.size()) return false;
    for (node_id n = 0; n < sim.size(); ++n)
      if (sim.up(n) && alive_count[n] != static_cast<std::int64_t>(up_count)) return false;
    return true;
  };
  r.converged = sim.run_until_true(all_converged, p.max_warmup, 500ms);
  r.warmup_s = secs(sim.now().time_since_epoch());

  // --- measurement window ------------------------------------------------------
  window_start = sim.now();
  measuring = true;
  last_stall_end.assign(p.nodes + 1, time_point{});
  sim.net().set_loss(p.loss);
  const auto totals0 = sim.stats();
  const time_point end = window_start + p.measure;

  probe_node = sim.add_node();
  ++up_count;
  sim.join(probe_node, {static_cast<node_id>(rng.below(p.nodes))});
  sim.queue_user_broadcast(0, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bcast_payload.data()),
                                                            bcast_payload.size()));

  auto pick_victim = [&]() -> std::optional<node_id> {
    for (int tries = 0; tries < 100; ++tries) {
      const auto n = static_cast<node_id>(1 + rng.below(p.nodes - 1));
      if (sim.up(n) && !active_crash.count(n)) return n;
    }
    return std::nullopt;
  };
  if (p.crash_every > duration::zero() && p.nodes > 2) {
    // No crash in the last 30 s: detection (a suspicion timeout, ~8-16 s at
    // LAN) must be able to finish inside the window to be measured.
    for (time_point t = window_start + p.crash_every; t + 30s < end; t += p.crash_every) {
      sim.at(t, [&] {
        auto v = pick_victim();
        if (!v) return;
        sim.crash(*v);
        --up_count;
        active_crash[*v] = crashes.size();
        crashes.push_back(crash_record{*v, sim.now(), -1, {}});
        if (p.restart_crashed) {
          const node_id victim = *v;
          sim.at(sim.now() + p.restart_after, [&, victim] {
            active_crash.erase(victim);
            sim.restart(victim);
            ++up_count;
          });
        }
      });
    }
  }
  if (p.stall_every > duration::zero() && p.nodes > 2) {
    for (time_point t = window_start + p.stall_every; t < end; t += p.stall_every) {
      sim.at(t, [&] {
        auto v = pick_victim();
        if (!v) return;
        sim.stall(*v, p.stall_for, p.stall_mode);
        last_stall_end[*v] = sim.now() + p.stall_for;
        ++r.stalls;
      });
    }
  }
  if (p.partition_at) {
    sim.at(window_start + *p.partition_at, [&] {
      for (node_id n = 0; n < sim.size(); ++n) sim.net().set_group(n, n < p.nodes / 2 ? 1 : 2);
    });
  }
  if (p.heal_at) {
    sim.at(window_start + *p.heal_at, [&] { sim.net().heal(); });
    sim.run_until(window_start + *p.heal_at);
    auto everyone_alive = [&] {
      for (node_id a = 0; a < sim.size(); ++a) {
        if (!sim.up(a)) continue;
        for (node_id b = 0; b < sim.size(); ++b) {
          if (!sim.up(b)) continue;
          auto s = sim.state_in(a, b);
          if (!s || *s != swim::member_state::alive) return false;
        }
      }
      return true;
    };
    if (sim.run_until_true(everyone_alive, end - sim.now(), 1s))
      r.healed_s = secs(sim.now() - (window_start + *p.heal_at));
  }
  sim.run_until(end);

  // --- results -----------------------------------------------------------------
  r.join = make_spread(join_times, p.nodes);
  std::size_t bcast_of = 0;
  for (node_id n = 1; n < sim.size(); ++n) bcast_of += sim.up(n) ? 1 : 0;
  r.broadcast = make_spread(bcast_times, bcast_of);
  std::vector<double> first, det, det_all;
  for (const auto& c : crashes) {
    ++r.crashes;
    if (c.first_suspect >= 0) first.push_back(c.first_suspect);
    double last = 0;
    bool complete = true;
    for (node_id n = 0; n < sim.size(); ++n) {
      if (n == c.subject || !sim.up(n)) continue;
      auto it = c.failed.find(n);
      if (it == c.failed.end()) {
        ++r.undetected;
        complete = false;
        continue;
      }
      det.push_back(it->second);
      last = std::max(last, it->second);
    }
    if (complete) det_all.push_back(last);
  }
  r.first_suspect = summarize(first);
  r.detection = summarize(det);
  r.detection_all = summarize(det_all);
  r.false_failed_nodes = false_failed.size();

  const auto& t1 = sim.stats();
  const double node_seconds = secs(p.measure) * static_cast<double>(sim.size());
  r.msgs_per_node_s = static_cast<double>(t1.udp_packets - totals0.udp_packets) / node_seconds;
  r.bytes_per_node_s = static_cast<double>(t1.udp_bytes - totals0.udp_bytes) / node_seconds;
  r.tcp_bytes_per_node_s = static_cast<double>(t1.tcp_bytes - totals0.tcp_bytes) / node_seconds;
  r.events = t1.events;
  r.decode_errors = t1.decode_errors;
  r.push_pull_tables = t1.push_pull_tables;
  r.push_pull_tables_encoded = t1.push_pull_tables_encoded;
  r.stall_dropped = t1.stall_dropped;
  r.udp_oversize = t1.udp_oversize;
  r.trace_hash = sim.trace_hash();
  r.trace = sim.trace();
  for (node_id n = 0; n < sim.size(); ++n) {
    r.member_table_bytes += sim.core(n).members().memory_bytes();
    r.member_entries += sim.core(n).members().size();
  }
  r.peak_rss_mib = peak_rss_mib();
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

}  // namespace chorus::sim
