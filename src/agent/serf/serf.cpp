// The Serf layer: commands (join, leave, user events, tags), broadcast
// queues, leave, reaping and timers (../shared/protocol/serf.md 3-8, 14), and
// the public facade. What comes in from memberlist (notifications, intents,
// events, push/pull state, coordinates) is in inbound.cpp, queries in
// queries.cpp. See serf.hpp for the shape and impl.hpp for the state.
#include "agent/serf/serf.hpp"

#include <algorithm>

#include "agent/serf/codec.hpp"
#include "agent/serf/coordinate_payload.hpp"
#include "agent/serf/impl.hpp"
#include "agent/serf/tags.hpp"
#include "common/enum_names.hpp"
#include "swim/keyring.hpp"

namespace chorus::agent {

const char* to_string(member_event_type t) {
  return enum_name<member_event_type::reap>(
      t, {"member-join", "member-leave", "member-failed", "member-update", "member-reap"});
}

std::map<std::string, std::string> serf_stats::as_map() const {
  return {
      {"members", std::to_string(members)},
      {"failed", std::to_string(failed)},
      {"left", std::to_string(left)},
      {"health_score", std::to_string(health_score)},
      {"member_time", std::to_string(member_time)},
      {"event_time", std::to_string(event_time)},
      {"query_time", std::to_string(query_time)},
      {"intent_queue", std::to_string(intent_queue)},
      {"event_queue", std::to_string(event_queue)},
      {"query_queue", std::to_string(query_queue)},
      {"encrypted", encrypted ? "true" : "false"},
      {"coordinate_resets", std::to_string(coordinate_resets)},
  };
}

namespace {
swim::config memberlist_config(const serf_config& c) {
  swim::config m = c.memberlist;
  // Vsn: memberlist protocol 1..5 at 2, Serf protocol 2..5 at ours (serf.md 1).
  m.vsn = {1, 5, 2, 2, 5, c.protocol};
  auto t = encode_tags(c.tags, c.protocol);
  if (t.ok()) m.meta = std::move(t.meta);
  return m;
}
}  // namespace

serf_impl::serf_impl(serf_config cfg, std::uint64_t seed, swim::keyring* ring)
    : cfg_(std::move(cfg)),
      rng_(seed),
      keyring_(ring),
      tags_(cfg_.tags),
      members_(cfg_.memberlist.name),
      events_(cfg_.event_buffer),
      queries_(cfg_.query_buffer),
      intents_q_(cfg_.max_queue_depth),
      queries_q_(cfg_.max_queue_depth),
      events_q_(cfg_.max_queue_depth),
      coord_client_(cfg_.coordinates),
      member_coalescing_{member_coalescer(cfg_.repeat_member_updates)} {
  auto mc = memberlist_config(cfg_);
  mc.encryption = mc.encryption || (ring != nullptr && !ring->empty());
  core_ = std::make_unique<swim::core>(std::move(mc), rng_.fork_seed(), this);
}

swim::timer_token serf_impl::arm(time_point at, timer_kind kind, std::uint64_t arg) {
  const swim::timer_token t = next_token_++;
  timers_.emplace(t, serf_timer{kind, arg});
  io_->set_timer(at, t);
  return t;
}

// ---------------------------------------------------------------------------
// Commands.

void serf_impl::start(const std::optional<restored_clocks>& restored) {
  member_clock_.increment();
  event_clock_.increment();
  query_clock_.increment();
  if (restored) {
    member_clock_.witness(restored->member_clock);
    event_clock_.witness(restored->event_clock);
    query_clock_.witness(restored->query_clock);
    events_.raise_min_time(restored->event_clock + 1);
    queries_.raise_min_time(restored->query_clock + 1);
  }
  core_->start(now_, sink());
  arm(now_ + cfg_.reap_interval, timer_kind::reap);
  arm(now_ + cfg_.reconnect_interval, timer_kind::reconnect);
  arm(now_ + cfg_.queue_check_interval, timer_kind::queue_check);
}

std::uint64_t serf_impl::join(std::span<const address> addrs, bool replay) {
  // The join id is known only once core::join returns, but a join with no
  // address reports at once; both sets are keyed after the call. The core
  // started one exchange per address, in order, numbered from the join id:
  // each address's failure is reported by its exchange.
  const auto id = core_->join(now_, addrs, sink());
  if (!addrs.empty()) {
    user_joins_.insert(id);
    if (!replay) ignore_old_joins_.insert(id);
    join_track& t = join_tracks_[id];
    t.seeds.assign(addrs.begin(), addrs.end());
    t.reasons.resize(addrs.size());
    for (std::size_t i = 0; i < addrs.size(); ++i) join_exchanges_[id + i] = {id, i};
  }
  return id;
}

void serf_impl::join_exchange_failed(swim::exchange_id id, const swim::exchange_error& why) {
  auto it = join_exchanges_.find(id);
  if (it == join_exchanges_.end()) return;
  auto t = join_tracks_.find(it->second.first);
  if (t != join_tracks_.end() && it->second.second < t->second.reasons.size())
    t->second.reasons[it->second.second] = why;
  join_exchanges_.erase(it);
}

void serf_impl::push_pull_completed(swim::exchange_id id, const swim::push_pull& remote) {
  const std::uint64_t refused = core_->stats().push_pulls_refused;
  completing_ = {id, refused};
  core_->push_pull_completed(now_, id, remote, sink());
  completing_.reset();
  if (core_->stats().push_pulls_refused != refused) join_exchange_failed(id, {swim::exchange_fault::incompatible});
  join_exchanges_.erase(id);
}

void serf_impl::join_finished(std::uint64_t join_id, int ok, int failed) {
  if (reconnect_joins_.erase(join_id) > 0) return;  // ours, not the agent's
  // The last exchange's completion is still inside the core: a refused merge
  // is known from the core's counter already.
  if (completing_ && core_->stats().push_pulls_refused != completing_->second)
    join_exchange_failed(completing_->first, {swim::exchange_fault::incompatible});
  join_result r{ok, failed, {}};
  if (auto t = join_tracks_.find(join_id); t != join_tracks_.end()) {
    for (std::size_t i = 0; i < t->second.reasons.size(); ++i)
      if (t->second.reasons[i]) r.failures.push_back({i, t->second.seeds[i], *t->second.reasons[i]});
    join_tracks_.erase(t);
  }
  const bool user = user_joins_.erase(join_id) > 0;
  ignore_old_joins_.erase(join_id);
  if (user && ok > 0 && state_ == serf_state::alive) broadcast_join(member_clock_.time());
  rt_->join_done(join_id, r);
}

void serf_impl::broadcast_join(std::uint64_t ltime) {
  join_intent j{ltime, cfg_.memberlist.name};
  member_clock_.witness(ltime);
  handle_join_intent(j);
  queue_intent(encode(serf_message{j}));
}

void serf_impl::leave() {
  if (state_ != serf_state::alive) return;
  state_ = serf_state::leaving;
  leave_intent l{member_clock_.time(), cfg_.memberlist.name, false};
  member_clock_.increment();
  handle_leave_intent(l);
  if (members_.any_other_alive()) {
    leave_token_ = next_broadcast_token_++;
    queue_intent(encode(serf_message{l}), leave_token_);
    leave_stage_ = 1;
    leave_timer_ = arm(now_ + cfg_.broadcast_timeout, timer_kind::leave_intent_timeout);
    return;
  }
  leave_stage(2);
}

void serf_impl::leave_stage(int stage) {
  leave_stage_ = stage;
  timers_.erase(leave_timer_);
  leave_timer_ = 0;
  if (stage == 2) {
    leave_timer_ = arm(now_ + cfg_.broadcast_timeout, timer_kind::leave_memberlist_timeout);
    core_->leave(now_, sink());  // may call leave_finished() at once
  } else if (stage == 3) {
    leave_timer_ = arm(now_ + cfg_.leave_propagate_delay, timer_kind::leave_propagated);
  } else if (stage == 4) {
    state_ = serf_state::left;
    leave_stage_ = 0;
    rt_->leave_done(leave_error_);
  }
}

void serf_impl::leave_finished() {
  if (leave_stage_ == 2) leave_stage(3);
}

std::string serf_impl::force_leave(std::string_view node, bool prune) {
  leave_intent l{member_clock_.time(), std::string(node), prune};
  member_clock_.increment();
  handle_leave_intent(l);
  if (!members_.any_other_alive()) {
    rt_->force_leave_done(node, "");
    return {};
  }
  const auto token = next_broadcast_token_++;
  force_leaves_[token] = std::string(node);
  queue_intent(encode(serf_message{l}), token);
  arm(now_ + cfg_.broadcast_timeout, timer_kind::force_leave_timeout, token);
  return {};
}

std::string serf_impl::user_event(std::string_view name, std::span<const std::uint8_t> payload, bool coalesce) {
  const std::size_t limit = cfg_.user_event_size_limit;
  constexpr std::size_t sane_limit = 9 * 1024;
  if (name.size() + payload.size() > limit)
    return "user event exceeds configured limit of " + std::to_string(limit) + " bytes before encoding";
  if (name.size() + payload.size() > sane_limit)
    return "user event exceeds sane limit of " + std::to_string(sane_limit) + " bytes before encoding";
  agent::user_event e{event_clock_.time(), std::string(name), bytes(payload.begin(), payload.end()), coalesce};
  bytes raw = encode(serf_message{e});
  if (raw.size() > limit)
    return "encoded user event exceeds configured limit of " + std::to_string(limit) + " bytes after encoding";
  if (raw.size() > sane_limit)
    return "encoded user event exceeds sane limit of " + std::to_string(sane_limit) + " bytes after encoding";
  event_clock_.increment();
  handle_user_event(e);
  queue(events_q_, std::move(raw));
  return {};
}

std::string serf_impl::set_tags(tag_map tags) {
  auto t = encode_tags(tags, cfg_.protocol);
  if (!t.ok()) return t.error;
  if (!core_->set_meta(now_, std::move(t.meta), sink())) return std::string(tags_too_long_error);
  tags_ = std::move(tags);
  return {};
}

// ---------------------------------------------------------------------------
// Broadcast queues (6.3): intents, then queries, then events.

void serf_impl::queue(swim::broadcast_queue& q, bytes raw, std::uint64_t token) {
  bytes msg;
  msg.reserve(raw.size() + 1);
  msg.push_back(static_cast<std::uint8_t>(swim::message_type::user));
  msg.insert(msg.end(), raw.begin(), raw.end());
  q.push({}, std::move(msg), token, finished_tokens_);
  if (&q != &intents_q_) gossip_now_ = true;
}

void serf_impl::queue_intent(bytes raw, std::uint64_t token) { queue(intents_q_, std::move(raw), token); }

std::size_t serf_impl::broadcasts(std::size_t overhead, std::size_t limit, std::vector<bytes>& out) {
  const int tl = swim::retransmit_limit(cfg_.memberlist.retransmit_mult, members_.size());
  // Serf's order: intents, then queries, then events. After a join storm
  // the intents queue holds one join intent per member, each to be sent its
  // transmit limit; so when queries or events wait, intents take at most
  // half of the space and the rest goes to them first.
  std::size_t used = 0;
  const bool user_waiting = !queries_q_.empty() || !events_q_.empty();
  if (!intents_q_.empty()) {
    const std::size_t intent_limit = user_waiting ? limit / 2 : limit;
    if (intent_limit > overhead) used += intents_q_.take(overhead, intent_limit, tl, out, finished_tokens_);
  }
  const int user_tl = std::max(tl, cfg_.min_user_transmits);
  for (auto* q : {&queries_q_, &events_q_, &intents_q_}) {
    if (q->empty() || used + overhead >= limit) continue;
    used += q->take(overhead, limit - used, q == &intents_q_ ? tl : user_tl, out, finished_tokens_);
  }
  return used;
}

void serf_impl::finish() {
  if (gossip_now_ && core_) {
    gossip_now_ = false;
    core_->gossip_now(now_, sink());
  }
  while (!finished_tokens_.empty()) {
    auto tokens = std::move(finished_tokens_);
    finished_tokens_.clear();
    for (auto t : tokens) {
      if (t == leave_token_ && leave_stage_ == 1) {
        leave_token_ = 0;
        leave_stage(2);
      } else if (auto it = force_leaves_.find(t); it != force_leaves_.end()) {
        const std::string node = it->second;
        force_leaves_.erase(it);
        rt_->force_leave_done(node, "");
      }
    }
  }
  // After the tokens: finishing a leave stage may queue an intent.
  if (core_) core_->wake_gossip(now_, sink());
}

// ---------------------------------------------------------------------------
// Timers, reaping, reconnecting, queue checks (6.3, 6.5).

void serf_impl::handle_timer(swim::timer_token token) {
  if ((token & serf_timer_bit) == 0) {
    core_->handle_timer(now_, token, sink());
    return;
  }
  auto it = timers_.find(token);
  if (it == timers_.end()) return;  // stale
  const serf_timer t = it->second;
  timers_.erase(it);
  switch (t.kind) {
    case timer_kind::reap:
      arm(now_ + cfg_.reap_interval, timer_kind::reap);
      reap_tick();
      break;
    case timer_kind::reconnect:
      arm(now_ + cfg_.reconnect_interval, timer_kind::reconnect);
      reconnect_tick();
      break;
    case timer_kind::queue_check:
      arm(now_ + cfg_.queue_check_interval, timer_kind::queue_check);
      queue_check_tick();
      break;
    case timer_kind::query_collect_end:
      collection_ended(t.arg);
      break;
    case timer_kind::query_expire:
      pending_.erase(t.arg);
      break;
    case timer_kind::member_flush:
      flush_members();
      break;
    case timer_kind::user_flush:
      flush_users();
      break;
    case timer_kind::leave_intent_timeout:
      leave_timer_ = 0;
      if (leave_stage_ == 1) {
        leave_error_ = "timeout while waiting for graceful leave";
        log(log_level::warn, "serf: " + leave_error_);
        leave_stage(2);
      }
      break;
    case timer_kind::leave_memberlist_timeout:
      leave_timer_ = 0;
      if (leave_stage_ == 2) {
        if (leave_error_.empty()) leave_error_ = "timeout waiting for leave broadcast";
        leave_stage(3);
      }
      break;
    case timer_kind::leave_propagated:
      leave_timer_ = 0;
      if (leave_stage_ == 3) leave_stage(4);
      break;
    case timer_kind::force_leave_timeout:
      if (auto f = force_leaves_.find(t.arg); f != force_leaves_.end()) {
        const std::string node = f->second;
        force_leaves_.erase(f);
        rt_->force_leave_done(node, "timed out broadcasting node removal");
      }
      break;
  }
}

void serf_impl::reap_tick() {
  for (const auto& e :
       members_.reap(now_, cfg_.reconnect_timeout, cfg_.tombstone_timeout, cfg_.recent_intent_timeout)) {
    log(log_level::info, "serf: EventMemberReap: " + e.members.front().name);
    on_reap(e);
  }
}

void serf_impl::reconnect_tick() {
  const auto& failed = members_.failed();
  if (failed.empty() || state_ != serf_state::alive) return;
  std::size_t alive = members_.size() - failed.size() - members_.left().size();
  if (alive == 0) alive = 1;
  const double prob = static_cast<double>(failed.size()) / static_cast<double>(alive);
  if (rng_.unit() > prob) return;
  const std::string name = failed[rng_.below(failed.size())];
  const auto* e = members_.find(name);
  if (e == nullptr) return;
  log(log_level::info, "serf: attempting reconnect to " + name + " " + e->m.addr.to_string());
  const address to = e->m.addr;
  reconnect_joins_.insert(core_->join(now_, std::span<const address>(&to, 1), sink()));
}

void serf_impl::queue_check_tick() {
  std::size_t max = cfg_.max_queue_depth;
  if (cfg_.min_queue_depth > 0) max = std::max(2 * members_.size(), cfg_.min_queue_depth);
  const std::pair<const char*, swim::broadcast_queue*> qs[] = {
      {"Intent", &intents_q_}, {"Event", &events_q_}, {"Query", &queries_q_}};
  for (const auto& [name, q] : qs) {
    if (q->size() >= cfg_.queue_depth_warning)
      log(log_level::warn, std::string("serf: ") + name + " queue depth: " + std::to_string(q->size()));
    if (q->size() > max)
      log(log_level::warn, std::string("serf: ") + name + " queue depth (" + std::to_string(q->size()) +
                               ") exceeds limit (" + std::to_string(max) + "), dropping messages!");
    // The queue prunes to its bound on the next push.
    q->set_max_items(max);
  }
}

serf_stats serf_impl::stats() const {
  serf_stats s;
  s.members = members_.size();
  s.failed = members_.failed().size();
  s.left = members_.left().size();
  s.health_score = core_->health_score();
  s.member_time = member_clock_.time();
  s.event_time = event_clock_.time();
  s.query_time = query_clock_.time();
  s.intent_queue = intents_q_.size();
  s.event_queue = events_q_.size();
  s.query_queue = queries_q_.size();
  s.encrypted = keyring_ != nullptr && !keyring_->empty();
  s.coordinate_resets = coord_client_.resets();
  s.oversized_refused = oversized_refused_;
  return s;
}

// ---------------------------------------------------------------------------
// The public facade.

serf::serf(serf_config cfg, std::uint64_t seed, swim::keyring* keyring)
    : impl_(std::make_unique<serf_impl>(std::move(cfg), seed, keyring)) {}
serf::~serf() = default;

namespace {
template <class F>
auto call(serf_impl& s, time_point now, serf_sink rt, F f) {
  s.enter(now, rt);
  if constexpr (std::is_void_v<decltype(f())>) {
    f();
    s.finish();
  } else {
    auto r = f();
    s.finish();
    return r;
  }
}
}  // namespace

void serf::start(time_point now, serf_sink rt, const std::optional<restored_clocks>& restored) {
  call(*impl_, now, rt, [&] { impl_->start(restored); });
}
std::uint64_t serf::join(time_point now, std::span<const address> addrs, bool replay, serf_sink rt) {
  return call(*impl_, now, rt, [&] { return impl_->join(addrs, replay); });
}
void serf::leave(time_point now, serf_sink rt) {
  call(*impl_, now, rt, [&] { impl_->leave(); });
}
std::string serf::force_leave(time_point now, std::string_view node, bool prune, serf_sink rt) {
  return call(*impl_, now, rt, [&] { return impl_->force_leave(node, prune); });
}
std::string serf::user_event(time_point now, std::string_view name, std::span<const std::uint8_t> payload,
                             bool coalesce, serf_sink rt) {
  return call(*impl_, now, rt, [&] { return impl_->user_event(name, payload, coalesce); });
}
query_started serf::query(time_point now, const query_params& params, serf_sink rt) {
  return call(*impl_, now, rt, [&] { return impl_->start_query(params, serf_impl::query_purpose::user); });
}
std::string serf::respond(time_point now, query_handle h, std::span<const std::uint8_t> payload, serf_sink rt) {
  return call(*impl_, now, rt, [&] { return impl_->respond(h, payload); });
}
std::string serf::set_tags(time_point now, tag_map tags, serf_sink rt) {
  return call(*impl_, now, rt, [&] { return impl_->set_tags(std::move(tags)); });
}
std::uint64_t serf::key_operation(time_point now, key_op op, std::span<const std::uint8_t> key, serf_sink rt) {
  return call(*impl_, now, rt, [&] { return impl_->key_operation(op, key); });
}
void serf::handle_message(time_point now, const address& from, const swim::message& m, serf_sink rt) {
  call(*impl_, now, rt, [&] { impl_->core_->handle_message(now, from, m, impl_->sink()); });
}
void serf::handle_packet(time_point now, const address& from, std::span<const std::uint8_t> data, serf_sink rt) {
  call(*impl_, now, rt, [&] { impl_->core_->handle_packet(now, from, data, impl_->sink()); });
}
void serf::handle_timer(time_point now, swim::timer_token token, serf_sink rt) {
  call(*impl_, now, rt, [&] { impl_->handle_timer(token); });
}
swim::push_pull serf::handle_push_pull(time_point now, const address& from, const swim::push_pull& remote,
                                       serf_sink rt) {
  return call(*impl_, now, rt, [&] { return impl_->core_->handle_push_pull(now, from, remote, impl_->sink()); });
}
std::optional<swim::ack> serf::handle_stream_ping(const swim::ping& p) const {
  return impl_->core_->handle_stream_ping(p);
}
void serf::push_pull_completed(time_point now, swim::exchange_id id, const swim::push_pull& remote, serf_sink rt) {
  call(*impl_, now, rt, [&] { impl_->push_pull_completed(id, remote); });
}
void serf::push_pull_failed(time_point now, swim::exchange_id id, serf_sink rt, const swim::exchange_error& why) {
  call(*impl_, now, rt, [&] {
    impl_->join_exchange_failed(id, why);
    impl_->core_->push_pull_failed(now, id, impl_->sink());
  });
}
void serf::tcp_ping_completed(time_point now, swim::exchange_id id, bool ok, serf_sink rt) {
  call(*impl_, now, rt, [&] { impl_->core_->tcp_ping_completed(now, id, ok, impl_->sink()); });
}

const std::string& serf::name() const { return impl_->cfg_.memberlist.name; }
const serf_config& serf::cfg() const { return impl_->cfg_; }
const tag_map& serf::tags() const { return impl_->tags_; }
std::vector<member> serf::members() const {
  std::vector<member> out;
  for (const auto& [name, e] : impl_->members_.all()) out.push_back(impl_->with_report(e.m));
  return out;
}
std::optional<member> serf::find_member(std::string_view name) const {
  const auto* e = impl_->members_.find(std::string(name));
  if (e == nullptr) return std::nullopt;
  return impl_->with_report(e->m);
}
member_status serf::local_status() const {
  switch (impl_->state_) {
    case serf_state::alive:
      return member_status::alive;
    case serf_state::leaving:
      return member_status::leaving;
    case serf_state::left:
      return member_status::left;
  }
  return member_status::none;
}
std::optional<vivaldi::coordinate> serf::coordinate_of(std::string_view name) const {
  if (name == impl_->cfg_.memberlist.name) return impl_->coord_client_.get_coordinate();
  auto it = impl_->coord_cache_.find(std::string(name));
  if (it == impl_->coord_cache_.end()) return std::nullopt;
  return it->second;
}
bool serf::restore_coordinate(const vivaldi::coordinate& c) {
  if (impl_->cfg_.disable_coordinates) return false;
  if (impl_->coord_client_.set_coordinate(c) != vivaldi::error::none) return false;
  impl_->coord_cache_[impl_->cfg_.memberlist.name] = impl_->coord_client_.get_coordinate();
  return true;
}
vivaldi::coordinate serf::local_coordinate() const { return impl_->coord_client_.get_coordinate(); }
restored_clocks serf::clocks() const {
  return {impl_->member_clock_.time(), impl_->event_clock_.time(), impl_->query_clock_.time()};
}
serf_stats serf::stats() const { return impl_->stats(); }
const swim::core& serf::core() const { return *impl_->core_; }
bool serf::encrypted() const { return impl_->keyring_ != nullptr && !impl_->keyring_->empty(); }

}  // namespace chorus::agent
