#pragma once
// chorus's SWIM core: memberlist's protocol (SWIM + Lifeguard) as a value you
// call.
//
// What SWIM is. Each node keeps the list of members. Once per probe interval
// it *probes* one of them, in a shuffled round-robin order: a ping, and if no
// ack comes within the probe timeout, *ping-req*s through k other members
// (who ping for us and forward the ack), plus a TCP ping as a fallback. A
// probe that fails makes the target *suspect*, not dead: the suspicion is
// gossiped, and the suspect, if alive, *refutes* it by gossiping an alive
// with a higher *incarnation* number. A suspicion that nobody refutes in time
// becomes dead. Membership news (alive, suspect, dead) travels *piggybacked*
// on probe traffic and in periodic gossip rounds, each item sent about
// retransmit_mult * log10(N) times, which reaches all N nodes with high
// probability in O(log N) rounds. Failure detection load per node is constant
// in N, and so is the expected time until some node first probes a failed one.
//
// The extensions, all from memberlist (memberlist.md section 13):
//  * Lifeguard (Dadgar et al. 2018): local health awareness stretches our
//    probe interval while our own acks go missing (awareness.hpp); the
//    suspicion timeout starts long and shrinks as independent peers confirm
//    (suspicion.hpp); a suspect is pinged with the accusation attached
//    ("buddy system") so it can refute at once; ping-req helpers send nacks so
//    we can tell "target silent" from "we are sick".
//  * Push/pull anti-entropy over TCP, periodic and at join, merged by the same
//    incarnation rules, which repairs anything gossip lost.
//  * Graceful leave as a dead message about ourselves (From == Node).
//  * Meta (Serf tags) carried in alive messages; name conflicts reported.
//
// Why sans-I/O. The core owns no socket, thread or clock. Inputs: packets
// received, timers fired, TCP exchange results, commands, each with `now`.
// Outputs go to a sink (runtime.hpp): packets, timers with tokens and TCP
// exchanges to start to its io (io.hpp), member events to its listener. Randomness is a seeded generator
// owned by the core. So the same inputs give the same outputs, 10,000 cores
// run in one simulator process over virtual time, and the Asio transport is a
// thin adapter. Incoming messages are processed immediately (memberlist's
// receive queues exist only to hand off between goroutines).
//
// Untrusted input never throws: undecodable packets are counted and dropped.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/random.hpp"
#include "swim/admission.hpp"
#include "swim/awareness.hpp"
#include "swim/broadcast_queue.hpp"
#include "swim/config.hpp"
#include "swim/member_table.hpp"
#include "swim/messages.hpp"
#include "swim/runtime.hpp"
#include "swim/suspicion.hpp"

namespace chorus::swim {

// Counters for tests, benchmarks and the agent's metrics.
struct core_stats {
  std::uint64_t packets_sent = 0, bytes_sent = 0;
  // handle_packet only: a driver that decodes (the agent's transport) counts
  // its own datagrams and malformed ones.
  std::uint64_t packets_received = 0, bytes_received = 0;
  std::uint64_t decode_errors = 0;  // undecodable packets or parts, dropped
  std::uint64_t probes = 0, probe_failures = 0;
  // Probe pings the io could not send to their target (send_result::unreachable).
  std::uint64_t probe_send_errors = 0;
  std::uint64_t indirect_probes = 0, tcp_pings = 0;
  std::uint64_t suspicions_raised = 0;  // by our own failed probes
  // Unconfirmed suspicions re-checked at expiry (lifeguard.recheck_unconfirmed),
  // and those whose suspect answered (each a false failure avoided).
  // Confirmed suspicions are probed in the last probe interval before their
  // deadline instead (prechecks); answers to either count in rechecks_answered.
  std::uint64_t suspicion_rechecks = 0, suspicion_prechecks = 0, rechecks_answered = 0;
  std::uint64_t refutations = 0;
  // Dead records sent to a member that announced itself alive below them
  // (lifeguard.tell_stale).
  std::uint64_t stale_told = 0;
  // Failed probes not held against the target: our own timers fired late
  // (lifeguard.late_timers_are_local).
  std::uint64_t probes_late = 0;
  std::uint64_t push_pulls_started = 0, push_pulls_skipped = 0, push_pulls_refused = 0;
  std::uint64_t gossip_packets = 0;
  std::uint64_t conflicts = 0;
  // Alive, suspect and dead messages and push/pull entries refused for
  // their fields (admission.hpp): counted, dropped, never stored.
  std::uint64_t refused = 0;
};

class core {
 public:
  // seed: this node's PRNG seed (a simulator derives one per node).
  core(config cfg, std::uint64_t seed, delegate* d = nullptr);

  // --- commands -----------------------------------------------------------
  // Becomes a one-node cluster: our own alive (incarnation 1), timers armed.
  void start(time_point now, core_sink rt);
  // Push/pull with Join=true to each address (13.11). Returns the join id
  // later reported to listener::join_finished. The exchanges it starts have
  // the ids join id, join id + 1, ..., one per address in the order given
  // (the Serf layer reports each address's failure by them).
  std::uint64_t join(time_point now, std::span<const address> seeds, core_sink rt);
  // Gossips a dead message about ourselves (13.11); listener::leave_finished
  // fires once it has been sent its full retransmit count.
  void leave(time_point now, core_sink rt);
  // New meta (Serf tags): incarnation + 1, gossiped as an alive. False (and
  // nothing changed) if meta exceeds config::meta_max_size.
  bool set_meta(time_point now, bytes meta, core_sink rt);
  // Queues a user (Serf) broadcast to piggyback; `name` != "" replaces the
  // queued one of that name. Payload excludes the 0x08 type byte.
  void queue_user_broadcast(time_point now, std::span<const std::uint8_t> payload, core_sink rt, std::string name = {});
  // Restarts the gossip timer if it is parked and anything is queued, here
  // or outside the core (Serf's queues, read through
  // delegate::has_broadcasts).
  void wake_gossip(time_point now, core_sink rt);
  // A gossip round now, not at the next tick, for news users wait on (a
  // user event or query just queued): each hop then costs a network delay
  // instead of up to a gossip interval. Transmits count as usual, so the
  // copies sent stay within the transmit limit; rounds closer together than
  // a quarter interval are skipped (the tick sends those).
  void gossip_now(time_point now, core_sink rt);

  // Installs members from a snapshot (e.g. a converged cluster's table) as
  // if learned long ago: no gossip queued, no events. For simulations that
  // start from a formed cluster, where replaying an N-node join storm (N^2
  // alive receipts) would dominate the run. Unknown names only; self skipped.
  // Also moves our push/pull timer to a random phase of the interval scaled
  // for the new table size.
  void restore(time_point now, std::span<const push_node_state> nodes, core_sink rt);

  // --- inputs -------------------------------------------------------------
  // One message, decoded: the agent's transport opens each datagram once
  // (packet.hpp) and hands over its messages in order, and a reliable user
  // message from a TCP stream the same way.
  void handle_message(time_point now, const address& from, const message& m, core_sink rt);
  // The same from bytes: one UDP datagram after the packet layer
  // (decryption, CRC, decompression), a message or a compound, decoded here
  // and counted in core_stats (packets, bytes, decode errors). For drivers
  // that skip the packet layer (the simulator, tests).
  void handle_packet(time_point now, const address& from, std::span<const std::uint8_t> data, core_sink rt);
  void handle_timer(time_point now, timer_token token, core_sink rt);
  // A peer's push/pull request (we are the responder). Returns our state to
  // send back (built before merging, as memberlist does), then merges theirs.
  push_pull handle_push_pull(time_point now, const address& from, const push_pull& remote, core_sink rt);
  // A TCP ping from a peer (10.3): the ack to send back, or nothing if it is
  // not for us.
  std::optional<ack> handle_stream_ping(const ping& p) const;
  void push_pull_completed(time_point now, exchange_id id, const push_pull& remote, core_sink rt);
  void push_pull_failed(time_point now, exchange_id id, core_sink rt);
  void tcp_ping_completed(time_point now, exchange_id id, bool ok, core_sink rt);

  // --- observers ----------------------------------------------------------
  const config& cfg() const { return cfg_; }
  const std::string& name() const { return cfg_.name; }
  const member_table& members() const { return members_; }
  std::optional<member_info> member(std::string_view name) const;
  std::size_t num_alive() const;  // alive + suspect, including ourselves
  std::uint32_t incarnation() const { return incarnation_; }
  int health_score() const { return awareness_.score(); }
  const core_stats& stats() const { return stats_; }
  std::size_t pending_broadcasts() const { return broadcasts_.size(); }
  std::uint64_t dropped_broadcasts() const { return broadcasts_.dropped() + user_broadcasts_.dropped(); }
  bool has_left() const { return leaving_; }
  // The state we would send in a push/pull.
  push_pull local_state(bool join) const;
  // Current formulas, for tests and tools.
  int transmit_limit() const { return retransmit_limit(cfg_.retransmit_mult, members_.size()); }
  duration push_pull_interval() const;
  std::size_t memory_bytes() const;

 private:
  // What a pending timer token stands for.
  enum class timer_kind : std::uint8_t {
    probe_tick,
    gossip_tick,
    push_pull_tick,
    probe_direct,
    probe_window,
    relay_timeout,
    suspicion,
    recheck_direct,
    precheck
  };
  struct pending_timer {
    pending_timer(timer_kind k, std::uint32_t s = 0, std::string n = {}) : kind(k), seq(s), node(std::move(n)) {}
    timer_kind kind;
    std::uint32_t seq = 0;  // probe/relay/recheck sequence number
    std::string node;       // suspicion, recheck: the suspect
  };
  // Pending timers by token: open addressing with linear probing and
  // backward-shift deletion (no tombstones). Every node arms and fires ~10
  // timers a second; std::unordered_map's node per entry made that an
  // allocation and a cache miss each (10,000-node simulation profile).
  class timer_table {
   public:
    void emplace(timer_token token, pending_timer t) {
      if ((size_ + 1) * 2 > slots_.size()) grow();
      std::size_t i = home(token);
      while (slots_[i].token != 0) i = (i + 1) & mask();
      slots_[i].token = token;
      slots_[i].value = std::move(t);
      ++size_;
    }
    // Removes the timer and returns it; nullopt when unknown (stale).
    std::optional<pending_timer> take(timer_token token) {
      if (token == 0 || slots_.empty()) return std::nullopt;
      for (std::size_t i = home(token);; i = (i + 1) & mask()) {
        if (slots_[i].token == 0) return std::nullopt;
        if (slots_[i].token == token) {
          std::optional<pending_timer> out{std::move(slots_[i].value)};
          remove_at(i);
          return out;
        }
      }
    }
    void erase(timer_token token) { (void)take(token); }
    std::size_t size() const { return size_; }

   private:
    struct slot {
      timer_token token = 0;  // 0 = empty (tokens start at 1)
      pending_timer value{timer_kind::probe_tick};
    };
    std::size_t mask() const { return slots_.size() - 1; }
    std::size_t home(timer_token t) const {
      return static_cast<std::size_t>((t * 0x9E3779B97F4A7C15ULL) >> 32) & mask();
    }
    void remove_at(std::size_t i) {
      for (std::size_t j = (i + 1) & mask(); slots_[j].token != 0; j = (j + 1) & mask()) {
        const std::size_t k = home(slots_[j].token);
        // Move j back into the hole at i unless its home lies cyclically in (i, j].
        const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        slots_[i] = std::move(slots_[j]);
        i = j;
      }
      slots_[i].token = 0;
      slots_[i].value = pending_timer{timer_kind::probe_tick};
      --size_;
    }
    void grow() {
      std::vector<slot> old = std::move(slots_);
      slots_.clear();
      slots_.resize(old.empty() ? 16 : old.size() * 2);
      size_ = 0;
      for (auto& s : old)
        if (s.token != 0) emplace(s.token, std::move(s.value));
    }
    std::vector<slot> slots_;
    std::size_t size_ = 0;
  };
  struct probe_state {
    bool active = false;
    std::uint32_t seq = 0;
    std::string target;
    address target_addr;
    time_point sent;
    time_point direct_due, window_due;  // when the probe's timers should fire
    bool late = false;                  // one of them fired late: we were starved
    bool direct_stage = true;           // before probe_timeout: an ack here carries a usable RTT
    bool send_failed = false;           // the io reported the ping unreachable
    int expected_nacks = 0, nacks = 0;
    bool tcp_pending = false, tcp_ok = false, window_over = false;
    exchange_id tcp_id = 0;
    std::vector<std::string> helpers;  // ping-req helpers (for probe_report)
  };
  struct relay_state {  // a ping-req we are serving
    address requester;
    std::uint32_t requester_seq = 0;
    bool want_nack = false;
    timer_token timer = 0;
  };
  // An unconfirmed suspicion's life (lifeguard.recheck_unconfirmed): it
  // waits its timeout (waiting), then is re-checked by one probe whose
  // window end is the suspicion timer (rechecking); if the suspect answered,
  // it waits a bounded time for the push/pull with it, or a refutation, to
  // clear it (reprieve). Dead at the end of rechecking or reprieve.
  enum class suspicion_stage : std::uint8_t { waiting, rechecking, reprieve };
  struct suspicion_state {
    suspicion s;
    std::uint32_t incarnation;
    time_point state_change;
    timer_token timer = 0;
    suspicion_stage stage = suspicion_stage::waiting;
    // The re-check probe (rechecking), or a confirmed suspicion's precheck
    // (waiting; recheck_direct_timer first starts it, then its ping-reqs).
    std::uint32_t recheck_seq = 0;
    timer_token recheck_direct_timer = 0;
    exchange_id recheck_tcp_id = 0;
    bool recheck_tcp_pending = false, recheck_window_over = false;
  };
  struct exchange {
    std::uint64_t join_id = 0;  // 0 = periodic push/pull
    bool tcp_ping = false;
    std::uint32_t recheck_seq = 0;  // a TCP ping of a suspicion re-check
    address peer;                   // whom we exchange with (for refusal reports)
  };
  struct join_state {
    int pending = 0, ok = 0, failed = 0;
  };

  // timers
  timer_token arm(time_point at, pending_timer t, core_sink rt);
  void disarm(timer_token& token) {
    timers_.erase(token);
    token = 0;
  }
  // The same, and tells the io, which need not wake up for it.
  void disarm(timer_token& token, core_sink rt) {
    if (token != 0) rt.out.cancel_timer(token);
    disarm(token);
  }

  // probing (core.cpp)
  void probe_tick(time_point now, core_sink rt);
  // Marks the running probe late when a timer due at `due` fires at `now`
  // more than half a probe timeout after it.
  void note_lateness(time_point now, time_point due);
  void probe_node(time_point now, std::size_t idx, core_sink rt);
  void probe_direct_timeout(time_point now, std::uint32_t seq, core_sink rt);
  void probe_window_end(time_point now, std::uint32_t seq, core_sink rt);
  void probe_finish(time_point now, bool ok, core_sink rt);
  void on_ping(time_point now, const address& from, const ping& p, core_sink rt);
  void on_indirect_ping(time_point now, const address& from, const indirect_ping& p, core_sink rt);
  void on_ack(time_point now, const ack& a, core_sink rt);
  void on_nack(const nack& n);
  void relay_timeout(std::uint32_t seq, core_sink rt);
  // A ping for `target` with our address as its source (10.1).
  ping make_ping(std::uint32_t seq, const std::string& target) const;
  send_result send_probe_ping(std::uint32_t seq, const member_entry& e, const std::string& target, const address& to,
                              core_sink rt);
  // Ping-reqs for `target` through up to indirect_checks alive members;
  // returns the helpers' indices and counts the nacks asked for.
  std::vector<std::size_t> send_ping_reqs(std::uint32_t seq, const std::string& target, const member_entry& te,
                                          bool want_nacks, int& expected_nacks, core_sink rt);
  std::optional<exchange_id> start_tcp_ping(std::uint32_t seq, const std::string& target, const member_entry& te,
                                            const address& to, time_point deadline, core_sink rt);

  // gossip (core.cpp)
  void gossip_tick(time_point now, core_sink rt);
  bool has_gossip() const;
  void push_pull_tick(time_point now, core_sink rt);
  // An anti-entropy push/pull with `to`, unless max_concurrent_push_pulls
  // are in flight (then counted as skipped).
  void start_sync(time_point now, const address& to, core_sink rt);
  void restagger_push_pull(time_point now, core_sink rt);
  static duration stagger(random_source& rng, duration interval);
  // config::early_sync_after_join: the next periodic push/pull once the
  // join's gossip is spent.
  void sync_soon_after_join(time_point now, core_sink rt);
  // One push/pull of a join ended: counts it; the join's first success
  // brings the next periodic push/pull forward, the last exchange reports
  // the join (listener::join_finished).
  void join_exchange_ended(time_point now, std::uint64_t join_id, bool ok, core_sink rt);
  send_result send_message(const address& to, const message& m, core_sink rt);
  send_result send_raw(const address& to, bytes packet, bool crc, core_sink rt);
  // Fills `parts` with broadcasts within `limit` bytes (2 bytes of compound
  // overhead counted per part); returns bytes used.
  std::size_t take_broadcasts(std::size_t limit, std::vector<bytes>& parts, core_sink rt);
  void finish_tokens(core_sink rt);
  template <class F>
  std::vector<std::size_t> random_members(std::size_t k, F exclude);

  // state transitions (core_state.cpp)
  void alive_node(time_point now, const alive& a, bool bootstrap, core_sink rt);
  void suspect_node(time_point now, const suspect& s, core_sink rt);
  // A third party's dead message that no one else backs (lifeguard.corroborate_dead).
  bool uncorroborated(const dead& d) const;
  void dead_node(time_point now, const dead& d, core_sink rt);
  void refute(time_point now, std::size_t idx, std::uint32_t accused, core_sink rt);
  // An alive about a member we hold dead or left, at no higher incarnation:
  // the member runs again (restarted) but does not know it was declared
  // dead, so everyone ignores its alive. Tell it, once per probe interval.
  void tell_stale(time_point now, std::size_t idx, const address& to, core_sink rt);
  // A dead message about us below our incarnation: send `from` our alive.
  void answer_stale(time_point now, std::size_t self_idx, const std::string& from, core_sink rt);
  // True if `key` was told within the last probe interval; else notes `now`
  // in `last_told` as its time and returns false (the caller tells it).
  bool stale_told_recently(std::unordered_map<std::string, time_point>& last_told, time_point now,
                           const std::string& key) const;
  // We refuted a dead record about us: our alive to every live member.
  void announce_return(time_point now, std::size_t self_idx, core_sink rt);
  // The floor a new suspicion of `node` reaches when fully confirmed.
  duration confirmed_floor(time_point now, const std::string& node, duration memberlist_min) const;
  void note_refuted(time_point now, const std::string& node);
  alive self_alive(std::size_t self_idx) const;  // our alive at our incarnation
  void suspicion_fired(time_point now, const std::string& node, core_sink rt);
  void start_recheck(time_point now, const std::string& node, suspicion_state& st, core_sink rt);
  void recheck_direct_timeout(time_point now, const std::string& node, std::uint32_t seq, core_sink rt);
  void precheck(time_point now, const std::string& node, core_sink rt);
  void recheck_answered(time_point now, const std::string& node, std::uint32_t seq, core_sink rt);
  void drop_suspicion(std::unordered_map<std::string, suspicion_state>::iterator it);
  void broadcast(time_point now, std::string key, const message& m, core_sink rt, std::uint64_t token = 0);
  void notify(member_event_kind kind, member_state previous, std::size_t idx, core_sink rt);
  member_info info(std::size_t idx) const;
  // Entries of a remote table that admission.hpp refuses (empty: none), each
  // counted and reported; verify_protocol and merge_remote skip them.
  std::vector<bool> refused_entries(const address& from, const push_pull& remote, core_sink rt);
  bool verify_protocol(const push_pull& remote, const std::vector<bool>& refused) const;
  void merge_remote(time_point now, const push_pull& remote, const std::vector<bool>& refused, core_sink rt);
  // What admission.hpp enforces beyond its fixed rules, from the config.
  admission_rules admission() const { return {cfg_.meta_max_size, cfg_.validate_node_names, &cfg_.allowed_cidrs}; }
  // Counts and reports (listener::refused) a refusal; true if `why` is one.
  bool refuse(const address& from, std::string_view node, refusal why, core_sink rt);
  // Verifies and merges a remote table; false if its protocol range is refused.
  bool accept_remote(time_point now, const address& from, const push_pull& remote, core_sink rt);
  void reset_members(time_point now);
  bool is_self(std::string_view n) const { return n == cfg_.name; }

  config cfg_;
  random_source rng_;
  delegate* delegate_;
  awareness awareness_;
  member_table members_;
  broadcast_queue broadcasts_;
  broadcast_queue user_broadcasts_;
  std::vector<std::uint64_t> finished_;  // scratch: broadcast tokens that completed

  std::uint32_t seq_no_ = 0;
  std::uint32_t incarnation_ = 0;
  bool started_ = false;
  bool leaving_ = false;
  std::size_t probe_index_ = 0;
  probe_state probe_;
  std::unordered_map<std::uint32_t, relay_state> relays_;  // by our local seq
  std::unordered_map<std::string, suspicion_state> suspicions_;
  std::unordered_map<std::uint32_t, std::string> rechecks_;  // re-check probe seq -> suspect
  timer_table timers_;
  timer_token next_token_ = 1;
  timer_token probe_timer_ = 0, gossip_timer_ = 0, push_pull_timer_ = 0;
  std::optional<time_point> last_eager_gossip_;
  // The rate limits of tell_stale (by the stale member's name) and of
  // answer_stale (by the dead message's sender), apart: telling a restarted
  // member it is dead must not hold back our answer to that member's stale
  // dead about us, nor the other way round.
  std::unordered_map<std::string, time_point> stale_subjects_told_;
  std::unordered_map<std::string, time_point> stale_senders_answered_;
  // Members we saw refute a suspicion or come back from dead: name -> when.
  // Their next suspicions keep memberlist's floor (suspect_node).
  std::unordered_map<std::string, time_point> refuted_at_;
  std::optional<time_point> announced_at_;  // announce_return's rate limit
  // The gossip timer parks (gossip_timer_ == 0) when a tick finds nothing
  // queued, and restarts on the same phase when something is: an idle agent
  // then wakes ~4 times a second instead of 9 (half its idle CPU).
  std::optional<time_point> gossip_parked_at_;
  timer_token probe_direct_timer_ = 0, probe_window_timer_ = 0;
  std::unordered_map<exchange_id, exchange> exchanges_;
  std::unordered_map<std::uint64_t, join_state> joins_;
  exchange_id next_exchange_ = 1;
  int push_pulls_in_flight_ = 0;
  std::uint64_t leave_token_ = 0, meta_token_ = 0, next_broadcast_token_ = 1;
  core_stats stats_;
};

// Up to k distinct random members that `exclude` does not rule out (used by
// probing for ping-req helpers, by gossip for its targets and by push/pull).
// memberlist's 3n random draws first (memberlist.md 13.7), which is cheap in
// a big table; when they find fewer than k, the eligible members they missed
// are added in random order. Draws alone miss the one eligible helper of a
// 3-node cluster (2 of 3 entries excluded) (2/3)^9 = 2.6 % of the time: the
// probe then asks nobody, expects no nack and blames our own health
// (memberlist #350).
template <class F>
std::vector<std::size_t> core::random_members(std::size_t k, F exclude) {
  std::vector<std::size_t> out;
  const std::size_t n = members_.size();
  for (std::size_t i = 0; i < 3 * n && out.size() < k; ++i) {
    const std::size_t idx = rng_.below(n);
    if (exclude(members_.at(idx), members_.name(idx))) continue;
    if (std::find(out.begin(), out.end(), idx) != out.end()) continue;
    out.push_back(idx);
  }
  if (out.size() >= k) return out;
  std::vector<std::size_t> missed;
  for (std::size_t idx = 0; idx < n; ++idx)
    if (!exclude(members_.at(idx), members_.name(idx)) && std::find(out.begin(), out.end(), idx) == out.end())
      missed.push_back(idx);
  while (out.size() < k && !missed.empty()) {
    const std::size_t pick = rng_.below(missed.size());
    out.push_back(missed[pick]);
    missed[pick] = missed.back();
    missed.pop_back();
  }
  return out;
}

}  // namespace chorus::swim
