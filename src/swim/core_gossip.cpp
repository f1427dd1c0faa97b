// Gossip rounds and piggybacking (memberlist.md 13.7), and push/pull
// anti-entropy (13.10): when it runs, with whom, and what it reports.
#include <algorithm>
#include <cmath>

#include "swim/codec.hpp"
#include "swim/core.hpp"

namespace chorus::swim {

namespace {
// Per part: the u16 length in the compound header (5).
constexpr std::size_t part_overhead = compound_overhead_per_part;
// AES-GCM version 1 envelope: version + nonce + tag (8.2).
constexpr std::size_t encryption_overhead = 29;
// One packet carries at most this many messages (5: 0.2.2 mis-parses >= 128).
constexpr std::size_t max_parts = max_compound_parts;
}  // namespace

// A random point in [0, interval): memberlist staggers its tickers so that
// nodes started together do not probe and gossip in lockstep.
duration core::stagger(random_source& rng, duration interval) {
  return duration{
      static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(std::max<std::int64_t>(1, interval.count()))))};
}

std::size_t core::take_broadcasts(std::size_t limit, std::vector<bytes>& parts, core_sink rt) {
  (void)rt;
  const int tl = transmit_limit();
  // Membership first, but hold back up to user_packet_share of the packet
  // for user messages when some are waiting: ours or the layer above's
  // (Serf's events and queries). Without the share, a user event sent just
  // after a join storm waits until every queued alive has been sent its
  // transmit limit (~1.5 s at N = 100).
  std::size_t reserve = 0;
  if (!user_broadcasts_.empty() || (delegate_ && delegate_->has_user_broadcasts()))
    reserve = static_cast<std::size_t>(static_cast<double>(limit) * cfg_.user_packet_share);
  std::size_t used = 0;
  if (!broadcasts_.empty()) used += broadcasts_.take(part_overhead, limit - reserve, tl, parts, finished_);
  if (!user_broadcasts_.empty() && limit > used + part_overhead + 1)
    used += user_broadcasts_.take(part_overhead, limit - used, tl, parts, finished_);
  // The layer above (Serf) keeps its own queues; they get the rest.
  if (delegate_ && delegate_->has_broadcasts() && limit > used + part_overhead + 1)
    used += delegate_->broadcasts(part_overhead, limit - used, parts);
  if (parts.size() > max_parts - 1) parts.resize(max_parts - 1);  // 1 slot kept for the carrier message
  return used;
}

send_result core::send_raw(const address& to, bytes packet, bool crc, core_sink rt) {
  ++stats_.packets_sent;
  stats_.bytes_sent += packet.size();
  return rt.out.send_packet(to, std::move(packet), crc);
}

send_result core::send_message(const address& to, const message& m, core_sink rt) {
  bytes msg;
  encode(m, msg);
  const std::size_t budget = cfg_.udp_buffer_size - (cfg_.encryption ? encryption_overhead : 0);
  std::vector<bytes> parts;
  if (budget > msg.size() + part_overhead + compound_header_len)
    take_broadcasts(budget - msg.size() - part_overhead - compound_header_len, parts, rt);
  if (parts.empty()) return send_raw(to, std::move(msg), false, rt);
  parts.insert(parts.begin(), std::move(msg));
  bytes packet;
  encode_compound(parts, packet);
  return send_raw(to, std::move(packet), false, rt);
}

void core::gossip_now(time_point now, core_sink rt) {
  if (last_eager_gossip_ && now - *last_eager_gossip_ < cfg_.gossip_interval / 4) return;
  last_eager_gossip_ = now;
  gossip_tick(now, rt);
}

bool core::has_gossip() const {
  return !broadcasts_.empty() || !user_broadcasts_.empty() || (delegate_ && delegate_->has_broadcasts());
}

void core::wake_gossip(time_point now, core_sink rt) {
  if (!gossip_parked_at_ || gossip_timer_ != 0 || !has_gossip()) return;
  // The next tick of the parked timer's phase, as if it had kept ticking.
  const auto ticks = (now - *gossip_parked_at_) / cfg_.gossip_interval + 1;
  gossip_timer_ = arm(*gossip_parked_at_ + ticks * cfg_.gossip_interval, {timer_kind::gossip_tick}, rt);
  gossip_parked_at_.reset();
}

void core::gossip_tick(time_point now, core_sink rt) {
  if (!has_gossip()) return;
  const auto targets = random_members(static_cast<std::size_t>(std::max(0, cfg_.gossip_nodes)),
                                      [&](const member_entry& m, std::string_view n) {
                                        if (is_self(n)) return true;
                                        switch (m.state) {
                                          case member_state::alive:
                                          case member_state::suspect:
                                            return false;
                                          case member_state::dead:
                                            return now - m.state_change() > cfg_.gossip_to_the_dead_time;
                                          default:
                                            return true;
                                        }
                                      });
  std::vector<std::pair<address, bool>> to;
  for (auto idx : targets) to.emplace_back(members_.addr(members_.at(idx)), members_.pmax(members_.at(idx)) >= 5);
  const std::size_t budget = cfg_.udp_buffer_size - compound_header_len - (cfg_.encryption ? encryption_overhead : 0);
  for (const auto& [addr, crc] : to) {
    std::vector<bytes> parts;
    take_broadcasts(budget, parts, rt);
    if (parts.empty()) break;
    ++stats_.gossip_packets;
    if (parts.size() == 1) {
      send_raw(addr, std::move(parts[0]), crc, rt);
    } else {
      bytes packet;
      encode_compound(parts, packet);
      send_raw(addr, std::move(packet), crc, rt);
    }
  }
}

duration core::push_pull_interval() const {
  // Scale for big clusters so the total sync load stays bounded (13.10).
  const std::size_t n = members_.size();
  if (n <= 32) return cfg_.push_pull_interval;
  const double mult = std::ceil(std::log2(static_cast<double>(n)) - std::log2(32.0)) + 1.0;
  return cfg_.push_pull_interval * static_cast<std::int64_t>(mult);
}

void core::restagger_push_pull(time_point now, core_sink rt) {
  if (push_pull_timer_ == 0) return;
  disarm(push_pull_timer_, rt);
  push_pull_timer_ = arm(now + stagger(rng_, push_pull_interval()), {timer_kind::push_pull_tick}, rt);
}

void core::sync_soon_after_join(time_point now, core_sink rt) {
  if (push_pull_timer_ == 0) return;
  // The nodes of a join storm gossip each other's alives for about this
  // long; what we missed by then only a push/pull brings.
  const duration spent = cfg_.gossip_interval * transmit_limit();
  disarm(push_pull_timer_, rt);
  push_pull_timer_ = arm(now + spent + stagger(rng_, spent), {timer_kind::push_pull_tick}, rt);
}

void core::push_pull_tick(time_point now, core_sink rt) {
  const auto peer = random_members(
      1, [&](const member_entry& m, std::string_view n) { return is_self(n) || m.state != member_state::alive; });
  if (peer.empty()) return;
  start_sync(now, members_.addr(members_.at(peer[0])), rt);
}

void core::start_sync(time_point now, const address& to, core_sink rt) {
  if (push_pulls_in_flight_ >= cfg_.max_concurrent_push_pulls) {
    ++stats_.push_pulls_skipped;
    return;
  }
  const exchange_id id = next_exchange_++;
  exchanges_[id] = exchange{0, false, 0, to};
  ++push_pulls_in_flight_;
  ++stats_.push_pulls_started;
  rt.out.start_push_pull(to, id, local_state(false), now + cfg_.tcp_timeout);
}

void core::push_pull_completed(time_point now, exchange_id id, const push_pull& remote, core_sink rt) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end() || it->second.tcp_ping) return;
  const std::uint64_t join_id = it->second.join_id;
  const address peer = it->second.peer;
  exchanges_.erase(it);
  --push_pulls_in_flight_;
  const bool ok = accept_remote(now, peer, remote, rt);
  if (join_id) join_exchange_ended(now, join_id, ok, rt);
  finish_tokens(rt);
}

void core::push_pull_failed(time_point now, exchange_id id, core_sink rt) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end() || it->second.tcp_ping) return;
  const std::uint64_t join_id = it->second.join_id;
  exchanges_.erase(it);
  --push_pulls_in_flight_;
  if (join_id) join_exchange_ended(now, join_id, false, rt);
}

void core::join_exchange_ended(time_point now, std::uint64_t join_id, bool ok, core_sink rt) {
  auto js = joins_.find(join_id);
  if (js == joins_.end()) return;
  if (ok && js->second.ok == 0 && cfg_.early_sync_after_join) sync_soon_after_join(now, rt);
  (ok ? js->second.ok : js->second.failed)++;
  if (--js->second.pending == 0) {
    const join_state done = js->second;
    joins_.erase(js);
    rt.on.join_finished(join_id, done.ok, done.failed);
  }
}

push_pull core::handle_push_pull(time_point now, const address& from, const push_pull& remote, core_sink rt) {
  push_pull reply = local_state(remote.join);
  accept_remote(now, from, remote, rt);
  finish_tokens(rt);
  return reply;
}

}  // namespace chorus::swim
