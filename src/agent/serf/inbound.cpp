// The Serf layer's input from memberlist: member notifications and failure
// reports (serf.md 6.1), intents and user events from gossip (6.2, 7), the
// push/pull user state (11), coordinates on acks (5), refused input and name
// conflicts (10); and the agent's events through the coalescers (7, 8).
#include <algorithm>

#include "agent/serf/codec.hpp"
#include "agent/serf/coordinate_payload.hpp"
#include "agent/serf/impl.hpp"
#include "agent/serf/tags.hpp"

namespace chorus::agent {

// ---------------------------------------------------------------------------
// memberlist notifications (6.1) and failure reports.

void serf_impl::member_changed(const swim::member_event& e) {
  std::optional<member_event> ev;
  switch (e.kind) {
    case swim::member_event_kind::join:
      ev = members_.on_join(e.member, now_);
      if (auto it = failures_.find(e.member.name); it != failures_.end()) it->second.refuted = true;
      break;
    case swim::member_event_kind::update:
      ev = members_.on_update(e.member);
      break;
    case swim::member_event_kind::leave:
    case swim::member_event_kind::failed: {
      ev = members_.on_leave(e.member, now_, e.kind == swim::member_event_kind::leave);
      if (e.kind == swim::member_event_kind::failed) {
        auto& f = failures_[e.member.name];
        f.failed_at = now_;
        f.failed_by = e.from;
        f.refuted = false;
      }
      break;
    }
  }
  if (ev) emit_member_event(*ev);
}

void serf_impl::member_suspected(const swim::member_info& m, std::string_view from) {
  failure_report f;
  f.suspected_at = now_;
  f.suspected_by = std::string(from);
  failures_[m.name] = std::move(f);
  rt_->member_suspected(m.name, m.addr, from);
}

void serf_impl::suspicion_refuted(const swim::member_info& m) {
  std::string by;
  if (auto it = failures_.find(m.name); it != failures_.end()) {
    it->second.refuted = true;
    by = it->second.suspected_by;
  }
  rt_->member_alive_again(m.name, m.addr, by);
}

void serf_impl::suspicion_confirmed(std::string_view member, std::string_view from) {
  auto& f = failures_[std::string(member)];
  f.confirmed_by.emplace_back(from);
}

void serf_impl::probe_finished(const swim::probe_report& r) {
  probe_outcome o;
  o.at = r.started;
  o.ok = r.ok;
  o.direct = r.direct;
  o.indirect_asked = static_cast<int>(r.helpers.size());
  o.nacks = r.nacks;
  o.tcp_attempted = r.tcp_attempted;
  o.tcp_ok = r.tcp_ok;
  o.send_failed = r.send_failed;
  auto& h = probes_[r.target];
  h.push_back(o);
  while (h.size() > probe_history) h.pop_front();
}

member serf_impl::with_report(const member& m) const {
  member out = m;
  if (auto it = failures_.find(m.name); it != failures_.end()) out.failure = it->second;
  if (auto it = probes_.find(m.name); it != probes_.end()) {
    const bool troubled = out.failure.suspected_at || out.failure.failed_at ||
                          std::any_of(it->second.begin(), it->second.end(), [](auto& p) { return !p.ok; });
    if (troubled) out.failure.our_probes.assign(it->second.begin(), it->second.end());
  }
  return out;
}

// ---------------------------------------------------------------------------
// Events to the agent, through the coalescers (7, 8).

template <class Coalescer, class Event>
bool serf_impl::hold(coalescing<Coalescer>& c, const Event& e, duration quantum, duration quiescent, timer_kind kind) {
  if (quantum <= duration::zero() || !Coalescer::handles(e)) return false;
  c.events.add(e);
  if (c.quantum == 0) c.quantum = arm(now_ + quantum, kind);
  timers_.erase(c.quiescent);
  c.quiescent = arm(now_ + quiescent, kind);
  return true;
}

template <class Coalescer>
auto serf_impl::release(coalescing<Coalescer>& c) {
  timers_.erase(c.quantum);
  timers_.erase(c.quiescent);
  c.quantum = c.quiescent = 0;
  return c.events.flush();
}

void serf_impl::emit_member_event(const member_event& e) {
  rt_->member_event_raw(e);
  if (!hold(member_coalescing_, e, cfg_.coalesce_period, cfg_.quiescent_period, timer_kind::member_flush))
    rt_->member_event(e);
}

void serf_impl::flush_members() {
  for (const auto& e : release(member_coalescing_)) rt_->member_event(e);
}

void serf_impl::emit_user_event(const user_event_data& e) {
  if (!hold(user_coalescing_, e, cfg_.user_coalesce_period, cfg_.user_quiescent_period, timer_kind::user_flush))
    rt_->user_event(e);
}

void serf_impl::flush_users() {
  for (const auto& e : release(user_coalescing_)) rt_->user_event(e);
}

// ---------------------------------------------------------------------------
// Intents (6.2) and user events (7).

bool serf_impl::handle_join_intent(const join_intent& j) {
  member_clock_.witness(j.ltime);
  return members_.join_intent(j, now_).rebroadcast;
}

bool serf_impl::handle_leave_intent(const leave_intent& l) {
  member_clock_.witness(l.ltime);
  auto out = members_.leave_intent(l, state_ != serf_state::alive, now_);
  if (out.refute) {
    log(log_level::debug, "serf: refuting an older leave intent");
    broadcast_join(member_clock_.time());
    return false;
  }
  for (const auto& e : out.events) {
    log(log_level::info, "serf: EventMemberLeave (forced): " + l.node);
    emit_member_event(e);
  }
  if (out.prune) prune(l.node);
  return out.rebroadcast;
}

void serf_impl::prune(const std::string& name) {
  // 0.9.4 sleeps BroadcastTimeout + LeavePropagateDelay here for a leaving
  // member, holding its member lock; we erase at once.
  log(log_level::info, "serf: EventMemberReap (forced): " + name);
  if (auto ev = members_.erase(name)) on_reap(*ev);
}

void serf_impl::on_reap(const member_event& e) {
  for (const auto& m : e.members) {
    coord_client_.forget(m.name);
    coord_cache_.erase(m.name);
    failures_.erase(m.name);
    probes_.erase(m.name);
  }
  emit_member_event(e);
}

bool serf_impl::handle_user_event(const agent::user_event& e) {
  event_clock_.witness(e.ltime);
  const auto v = events_.add(e.ltime, e.name, e.payload, event_clock_.time());
  if (v == buffer_verdict::old)
    log(log_level::warn, "serf: received old event " + e.name + " from time " + std::to_string(e.ltime) +
                             " (current: " + std::to_string(event_clock_.time()) + ")");
  if (v != buffer_verdict::fresh) return false;
  emit_user_event(user_event_data{e.ltime, e.name, e.payload, e.cc});
  return true;
}

// ---------------------------------------------------------------------------
// Gossip input.

void serf_impl::user_message(std::span<const std::uint8_t> payload) { process_serf_message(payload); }

void serf_impl::process_serf_message(std::span<const std::uint8_t> payload) {
  if (payload.empty()) return;
  auto decoded = decode_serf_message(payload);
  if (!decoded.ok()) {
    log(log_level::warn, "serf: failed to decode message " + serf_type_name(payload[0]) + ": " + decoded.error.what);
    return;
  }
  bool rebroadcast = false;
  swim::broadcast_queue* q = &intents_q_;
  // Events, queries and responses are held to the limits their senders must
  // keep (serf.md 7, 9): a larger one could only come from a hostile or
  // misconfigured sender, and would be kept in the buffers, the rebroadcast
  // queue (where it never fits a packet) and every push/pull.
  const std::size_t size = payload.size();
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, leave_intent>) {
          rebroadcast = handle_leave_intent(m);
        } else if constexpr (std::is_same_v<T, join_intent>) {
          rebroadcast = handle_join_intent(m);
        } else if constexpr (std::is_same_v<T, agent::user_event>) {
          if (!within_limit("user event", size, cfg_.user_event_size_limit)) return;
          rebroadcast = handle_user_event(m);
          q = &events_q_;
        } else if constexpr (std::is_same_v<T, query>) {
          if (!within_limit("query", size, cfg_.query_size_limit)) return;
          rebroadcast = handle_query(m, false);
          q = &queries_q_;
        } else if constexpr (std::is_same_v<T, query_response>) {
          if (!within_limit("query response", size, cfg_.query_response_size_limit)) return;
          handle_query_response(m);
        } else if constexpr (std::is_same_v<T, relay>) {
          if (!within_limit("relayed query response", size, cfg_.query_response_size_limit)) return;
          handle_relay(m);
        } else {
          log(log_level::warn, "serf: received message of unexpected type " + serf_type_name(payload[0]));
        }
      },
      decoded.value);
  // Rebroadcast the exact bytes received (only the message: a relay's or
  // trailing bytes never get here for these types).
  if (rebroadcast) queue(*q, bytes(payload.begin(), payload.end()));
}

// ---------------------------------------------------------------------------
// Push/pull user state (11).

bytes serf_impl::local_state(bool join) {
  (void)join;
  push_pull_state pp;
  pp.ltime = member_clock_.time();
  for (const auto& [name, e] : members_.all()) pp.status_ltimes[name] = e.m.status_ltime;
  pp.left_members = members_.left();
  pp.event_ltime = event_clock_.time();
  pp.events = events_.slots();
  pp.query_ltime = query_clock_.time();
  return encode(serf_message{std::move(pp)});
}

void serf_impl::remote_state(std::span<const std::uint8_t> state, bool join) {
  auto decoded = decode_serf_message(state);
  const auto* pp = decoded.ok() ? std::get_if<push_pull_state>(&decoded.value) : nullptr;
  if (pp == nullptr) {
    log(log_level::error,
        "serf: remote state is not a push/pull message" + (decoded.ok() ? std::string() : ": " + decoded.error.what));
    return;
  }
  if (pp->ltime > 0) member_clock_.witness(pp->ltime - 1);
  if (pp->event_ltime > 0) event_clock_.witness(pp->event_ltime - 1);
  if (pp->query_ltime > 0) query_clock_.witness(pp->query_ltime - 1);
  std::set<std::string> left(pp->left_members.begin(), pp->left_members.end());
  for (const auto& name : pp->left_members) {
    auto it = pp->status_ltimes.find(name);
    const std::uint64_t lt = it == pp->status_ltimes.end() ? 0 : it->second;
    handle_leave_intent(leave_intent{lt + 1, name, false});
  }
  for (const auto& [name, lt] : pp->status_ltimes)
    if (!left.contains(name)) handle_join_intent(join_intent{lt, name});
  if (join && !ignore_old_joins_.empty()) events_.raise_min_time(pp->event_ltime);
  for (const auto& slot : pp->events) {
    if (!slot) continue;
    for (const auto& e : slot->events)
      if (within_limit("user event in push/pull state", e.name.size() + e.payload.size(), cfg_.user_event_size_limit))
        handle_user_event(agent::user_event{slot->ltime, e.name, e.payload, false});
  }
}

bool serf_impl::within_limit(std::string_view what, std::size_t size, std::size_t limit) {
  if (size <= limit) return true;
  // Count always, log sparingly: a flood must not become a log flood.
  if (++oversized_refused_ <= 10 || oversized_refused_ % 1000 == 0)
    log(log_level::warn, "serf: refused a received " + std::string(what) + " of " + std::to_string(size) +
                             " bytes: over the limit of " + std::to_string(limit) + " (" +
                             std::to_string(oversized_refused_) + " so far)");
  return false;
}

// ---------------------------------------------------------------------------
// Coordinates (5).

bytes serf_impl::ack_payload() {
  if (cfg_.disable_coordinates) return {};
  return encode_coordinate_payload(coord_client_.get_coordinate());
}

void serf_impl::ping_complete(std::string_view node, duration rtt, std::span<const std::uint8_t> payload) {
  if (cfg_.disable_coordinates || payload.empty()) return;
  auto c = decode_coordinate_payload(payload);
  if (!c.ok()) {
    log(log_level::error, "serf: rejected coordinate from " + std::string(node) + ": " + c.error.what);
    return;
  }
  const auto err = coord_client_.update(node, c.value, std::chrono::duration_cast<std::chrono::nanoseconds>(rtt));
  if (err != vivaldi::error::none) {
    log(log_level::debug,
        "serf: rejected coordinate from " + std::string(node) + ": " + std::string(vivaldi::to_string(err)));
    return;
  }
  coord_cache_[std::string(node)] = c.value;
  coord_cache_[cfg_.memberlist.name] = coord_client_.get_coordinate();
}

// ---------------------------------------------------------------------------
// Refused input (swim/admission.hpp).

void serf_impl::refused(const address& from, std::string_view node, std::string_view why) {
  // Bounded: a flood from spoofed sources stops adding entries (and lines).
  constexpr std::size_t max_logged_sources = 1024;
  if (refused_sources_.size() >= max_logged_sources || !refused_sources_.insert(from).second) return;
  std::string name(node);  // hostile bytes: no control characters into the log
  for (char& ch : name)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  log(log_level::warn, "memberlist: refused a message about '" + name + "' from " + from.to_string() + ": " +
                           std::string(why) + " (further ones from this source are only counted)");
}

// ---------------------------------------------------------------------------
// Name conflicts (10).

void serf_impl::name_conflict(const swim::member_info& existing, const swim::member_info& other) {
  if (existing.name != cfg_.memberlist.name) {
    log(log_level::warn, "serf: Name conflict for '" + existing.name + "' both " + existing.addr.to_string() + " and " +
                             other.addr.to_string() + " are claiming");
    return;
  }
  log(log_level::error,
      "serf: Node name conflicts with another node at " + other.addr.to_string() +
          ". Names must be unique! (Resolution enabled: " + (cfg_.enable_name_resolution ? "true" : "false") + ")");
  if (cfg_.enable_name_resolution) resolve_conflict();
}

}  // namespace chorus::agent
