#pragma once
// The core's configuration: memberlist's three named presets (memberlist.md
// section 12) plus the few chorus knobs memberlist does not have. Pick a
// preset and change little (STYLE #14); the timeouts that must grow with the
// cluster (suspicion, retransmits, push/pull) scale with log(N) by formula,
// not by configuration.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "swim/address.hpp"
#include "swim/cidr.hpp"
#include "swim/messages.hpp"
#include "swim/protocol_version.hpp"
#include "swim/time.hpp"

namespace chorus::swim {

// Lifeguard's three pieces (Dadgar et al., "Lifeguard: Local Health Awareness
// for More Accurate Failure Detection", 2018). All on in memberlist; the
// switches exist so the simulator can show what each one buys.
struct lifeguard_config {
  // LHA: scale the probe interval by our own health score (13.9).
  bool local_health = true;
  // LHA-Suspicion: start at max and shrink with independent confirmations
  // (13.8). Off = plain SWIM: a fixed timeout of `min`.
  bool dynamic_suspicion = true;
  // Buddy system: ping a suspect with the accusation attached so it can
  // refute at once (13.3 step 3). Off = the suspect only hears by gossip.
  bool buddy_system = true;
  // Nacks from ping-req intermediaries feed the health score (13.4).
  bool nacks = true;
  // chorus refinement, not in memberlist (wire-compatible): a suspicion that
  // expires without its k independent confirmations (so it ran the full,
  // unshrunk timeout on one accuser's word) is re-checked with one probe
  // before it becomes dead. If the suspect answers, we hold a stale view (we
  // missed its refutation): a push/pull with it repairs that instead of a
  // false failure. Confirmed suspicions (the usual crash) die at once as
  // before. See docs/swim.md, "10 % loss".
  bool recheck_unconfirmed = true;
  // chorus refinement, not in memberlist (local only): a failed probe whose
  // timers fired late (by more than half the probe timeout) measured our own
  // CPU starvation, not the target: the acks may be unread in our socket.
  // It raises our health score (+1, which stretches later probes) instead of
  // accusing the target. Once the score is at its maximum, failed probes
  // count again, so a node that stays starved still detects failures, with
  // 8x windows. Without it an overloaded fleet's suspicions and refutations
  // feed the overload (issue 16).
  bool late_timers_are_local = true;
  // chorus refinement, not in memberlist (wire-compatible, a local
  // decision): a dead message from a third party about a member we hold
  // alive, or hold suspect on that same party's word alone, is taken as that
  // party's suspicion, not as a death: our own suspicion timer (and the
  // re-check above) decides. A second, independent accuser makes it dead at
  // once as before. One node with a broken link (80 % loss, issue 15's
  // lossy node) otherwise declares healthy peers dead whose refutation it
  // never heard, and its dead message wins everywhere the suspicion had not
  // spread. See docs/swim.md, "Hard faults".
  bool corroborate_dead = true;
  // chorus refinement, not in memberlist (wire-compatible: an existing dead
  // message, sent where an alive came from): an alive about a member we hold
  // dead or left, at no higher incarnation, means it restarted without
  // learning it was declared dead; everyone drops such an alive. We send it
  // our dead record directly (once per probe interval per member) so it
  // refutes at once instead of at its next push/pull with a survivor (up to
  // 20 s at N = 50 after a mass crash). See docs/swim.md, "Hard faults".
  bool tell_stale = true;

  // Plain SWIM with memberlist's rules (docs/swim.md, "Lifeguard on and
  // off"): every piece above off, chorus's refinements included. Each field
  // is named: a field added above must be added here too (one left out
  // keeps its default, on).
  static lifeguard_config off() {
    return {.local_health = false,
            .dynamic_suspicion = false,
            .buddy_system = false,
            .nacks = false,
            .recheck_unconfirmed = false,
            .late_timers_are_local = false,
            .corroborate_dead = false,
            .tell_stale = false};
  }
};

// config::suspicion_confirmed_min_scale: chorus's default, and memberlist's.
inline constexpr double chorus_confirmed_min_scale = 0.4;
inline constexpr double memberlist_confirmed_min_scale = 1.0;

struct config {
  // --- identity -----------------------------------------------------------
  std::string name;   // unique node name
  address advertise;  // IP and port peers reach us on (UDP and TCP)
  bytes vsn = default_vsn();
  bytes meta;  // initial node Meta (Serf tags), sent in our first alive

  // --- probing (13.3) -----------------------------------------------------
  // How often we probe one peer. Detection time of a failure is roughly
  // N_probers-independent: each node probes once per interval, so some node
  // probes any given peer about once per interval.
  duration probe_interval = 1s;
  // How long to wait for a direct ack before asking others (ping-req). Must
  // cover a LAN round trip with margin, and be well under probe_interval.
  duration probe_timeout = 500ms;
  // Peers asked to probe indirectly. 3 tolerates a lossy path or two; more
  // mostly adds load.
  int indirect_checks = 3;
  // The TCP fallback ping catches UDP-only trouble (firewalls, loss bursts).
  bool disable_tcp_pings = false;
  // memberlist 0.3+ (#242): when the io reports the probe's ping as
  // send_result::unreachable (no route, firewall), the ping-reqs and the TCP
  // ping go out at once instead of after probe_timeout, and the target is
  // suspected at the window's end unless they reach it. memberlist 0.2.2
  // (Serf 0.9.4) abandoned such a probe: a node it could not send to was
  // never suspected by it. Off: the error is ignored and the ping counts as
  // lost (the same outcome, probe_timeout later).
  bool probe_indirectly_on_send_error = true;
  // Deadline for any TCP exchange (push/pull, fallback ping).
  duration tcp_timeout = 10s;

  // --- suspicion (13.8) ---------------------------------------------------
  // min timeout = suspicion_mult * max(1, log10(N)) * probe_interval: long
  // enough that a falsely suspected node hears of it (via gossip, which takes
  // ~log N rounds) and refutes.
  int suspicion_mult = 4;
  // max = this * min: the starting timeout while no one else has confirmed.
  int suspicion_max_timeout_mult = 6;
  // chorus knob, not in memberlist (a local decision, no wire change): the
  // floor a suspicion reaches with all k independent confirmations, as a
  // fraction of memberlist's min. max stays 6 x memberlist's min, so a lone
  // accuser waits as long as before; only a suspicion that k other members
  // confirmed by their own failed probes ends sooner: a crash is detected in
  // ~0.55 x memberlist's time. 1.0 = memberlist (the agent's
  // `confirmed_suspicion_floor`). The sweep and the fault scenarios behind
  // the default: docs/swim.md, "Detection time vs false failures".
  double suspicion_confirmed_min_scale = chorus_confirmed_min_scale;
  // How long a member that refuted a suspicion (its incarnation rose with
  // the same meta) or came back from dead keeps memberlist's floor
  // (core::confirmed_floor): such a member answers after looking dead, as a
  // lossy, starved or paused node does, and a crashed healthy one does not,
  // so crash detection is unchanged by it. 300 s (10 push/pull intervals):
  // in chorus-sim (seeds 1-10) the only window swept that kept issue 15's
  // lossy node's flaps at or under memberlist's at N = 20 and 50 (the max
  // suspicion timeout, 60 s, 120 s: up to 1.25 x); noisy, see docs/swim.md,
  // "Detection time vs false failures". 0: no guard.
  duration refuted_floor_window = 300s;

  // --- local health (13.9) ------------------------------------------------
  // Probe intervals stretch up to this factor when our own acks go missing.
  int awareness_max_multiplier = 8;

  // --- gossip (13.7) ------------------------------------------------------
  // Each broadcast goes out retransmit_mult * ceil(log10(N + 1)) times: enough
  // for epidemic spread to reach everyone with high probability.
  int retransmit_mult = 4;
  int gossip_nodes = 3;                    // fan-out per gossip round
  duration gossip_interval = 200ms;        // gossip round period
  duration gossip_to_the_dead_time = 30s;  // keep telling the dead, so they can refute
  std::size_t udp_buffer_size = 1400;      // below a typical 1500-byte MTU with IP/UDP headers
  // Reserve the AES-GCM envelope (29 bytes, 8.2) in every packet budget.
  bool encryption = false;

  // --- anti-entropy (13.10) -----------------------------------------------
  // Full-state sync repairs anything gossip missed; scaled up for N > 32.
  duration push_pull_interval = 30s;
  // 0 = dead entries conflict until purged (memberlist/Serf default). > 0: an
  // alive with a new address may take over a name dead for this long.
  duration dead_node_reclaim_time = 0s;
  // memberlist 0.3+ (#254): left entries are purged from the table like dead
  // ones, gossip_to_the_dead_time after they left. Off = memberlist 0.2.2
  // (Serf 0.9.4): left entries stay forever and ride in every push/pull,
  // so a cluster with churn carries every node that ever left. Serf's own
  // member list (left members until tombstone_timeout) is not affected.
  bool purge_left_nodes = false;

  lifeguard_config lifeguard;

  // --- chorus bounds (not in memberlist) ----------------------------------
  // Queued membership broadcasts. memberlist's queue is unbounded; under a
  // join storm of N nodes each node would queue N alives. Pruning drops the
  // most-transmitted, shortest, oldest items first (13.7 "pruned").
  std::size_t max_broadcasts = 1024;
  // Queued user (Serf) broadcasts; Serf itself prunes at 4096 per queue.
  std::size_t max_user_broadcasts = 1024;
  // Share of a packet's budget user messages may claim before membership
  // messages have filled theirs: membership keeps priority, users don't starve.
  double user_packet_share = 0.25;
  // memberlist refuses the 129th concurrent push/pull (10.2); we also cap the
  // ones we start.
  int max_concurrent_push_pulls = 128;
  // After a successful join, the first periodic push/pull comes early: at a
  // random point within [1, 2) x (transmit limit x gossip interval), when
  // the gossip of a join storm is spent. A node that joined before others
  // of a storm and missed their alives otherwise waits for a random point
  // of the 30-60 s push/pull interval. It moves a push/pull, adds none.
  bool early_sync_after_join = true;
  // memberlist's receive queues hold 1024 messages each (13.2).
  std::size_t handoff_queue_depth = 1024;
  // A node's meta (Serf tags) may not exceed this (section 12).
  std::size_t meta_max_size = 512;
  // Serf 0.10 (serf #612, ValidateNodeNames): alive messages and push/pull
  // entries whose node name is not 1-128 characters of [A-Za-z0-9.-] are
  // refused and counted (admission.hpp). Off (Serf 0.9.4): any non-empty
  // name is taken. Address length and meta size are checked either way.
  bool validate_node_names = false;
  // memberlist's CIDRsAllowed (`-allowed-cidrs`): members advertising an
  // address outside these ranges are refused (the transport drops their
  // traffic anyway, so they could only ever look failed). Empty = all.
  std::vector<cidr> allowed_cidrs;

  static bytes default_vsn();
  // memberlist's DefaultLANConfig: tuned for a data centre (sub-ms RTT).
  static config lan(std::string name, address advertise);
  // DefaultWANConfig: RTTs of hundreds of ms and more loss: longer probe
  // timeouts and intervals, slower suspicion, wider fan-out.
  static config wan(std::string name, address advertise);
  // DefaultLocalConfig: loopback / one host: tight timeouts, little redundancy.
  static config local(std::string name, address advertise);
};

inline bytes config::default_vsn() {
  return {protocol_min, protocol_max, protocol_cur, delegate_min, delegate_max, delegate_cur};
}

inline config config::lan(std::string name, address advertise) {
  config c;
  c.name = std::move(name);
  c.advertise = advertise;
  return c;
}

inline config config::wan(std::string name, address advertise) {
  config c = lan(std::move(name), advertise);
  c.tcp_timeout = 30s;
  c.suspicion_mult = 6;
  c.push_pull_interval = 60s;
  c.probe_timeout = 3s;
  c.probe_interval = 5s;
  c.gossip_nodes = 4;
  c.gossip_interval = 500ms;
  c.gossip_to_the_dead_time = 60s;
  return c;
}

inline config config::local(std::string name, address advertise) {
  config c = lan(std::move(name), advertise);
  c.tcp_timeout = 1s;
  c.indirect_checks = 1;
  c.retransmit_mult = 2;
  c.suspicion_mult = 3;
  c.push_pull_interval = 15s;
  c.probe_timeout = 200ms;
  c.probe_interval = 1s;
  c.gossip_interval = 100ms;
  c.gossip_to_the_dead_time = 15s;
  return c;
}

}  // namespace chorus::swim
