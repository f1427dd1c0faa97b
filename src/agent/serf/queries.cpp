// Queries (../shared/protocol/serf.md 9), internal queries (9.4), key
// operations and name-conflict resolution (10). See serf_impl.hpp.
#include <algorithm>

#include "agent/serf/codec.hpp"
#include "agent/serf/impl.hpp"
#include "agent/serf/key_queries.hpp"
#include "swim/keyring.hpp"

namespace chorus::agent {

namespace {
constexpr std::string_view respond_prefix = "failed to respond to key query: ";  // sic, for every query

member_info conflict_view(const member& m) {
  member_info i;
  i.name = m.name;
  i.addr = m.addr.ip_bytes();
  i.port = m.addr.port;
  i.tags = m.tags;
  i.status = m.status;
  set_vsn_fields(i, m.vsn);
  return i;
}
}  // namespace

void serf_impl::send_user_message(const address& to, const bytes& serf_msg) {
  bytes p;
  p.reserve(serf_msg.size() + 1);
  p.push_back(static_cast<std::uint8_t>(swim::message_type::user));
  p.insert(p.end(), serf_msg.begin(), serf_msg.end());
  io_->send_packet(to, std::move(p), false);
}

void serf_impl::relay_response(std::uint8_t relay_factor, const address& to, const std::string& dest_name,
                               const bytes& serf_msg) {
  if (relay_factor == 0 || members_.size() < static_cast<std::size_t>(relay_factor) + 1) return;
  bytes raw;
  encode_relay(relay_header{to.ip_bytes(), to.port, {}, dest_name}, serf_msg, raw);
  if (raw.size() > cfg_.query_response_size_limit) {
    log(log_level::error,
        "serf: encoded relay message exceeds limit of " + std::to_string(cfg_.query_response_size_limit) + " bytes");
    return;
  }
  std::vector<const member*> candidates;
  for (const auto& [name, e] : members_.all())
    if (e.m.status == member_status::alive && e.m.vsn[1] >= 5 && name != cfg_.memberlist.name)
      candidates.push_back(&e.m);
  for (std::size_t i = 0; i < relay_factor && !candidates.empty(); ++i) {
    const std::size_t k = rng_.below(candidates.size());
    send_user_message(candidates[k]->addr, raw);
    candidates.erase(candidates.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

// ---------------------------------------------------------------------------
// Receiving (9.2).

bool serf_impl::handle_query(const query& q, bool local) {
  (void)local;
  query_clock_.witness(q.ltime);
  const auto v = queries_.add(q.ltime, q.id, query_clock_.time());
  if (v == buffer_verdict::old)
    log(log_level::warn, "serf: received old query " + q.name + " from time " + std::to_string(q.ltime) +
                             " (current: " + std::to_string(query_clock_.time()) + ")");
  if (v != buffer_verdict::fresh) return false;
  const bool rebroadcast = !q.no_broadcast();
  if (!filters_match(q.filters, cfg_.memberlist.name, tags_)) return rebroadcast;

  const address to = address::from(q.addr, q.port);
  if (q.ack_requested()) {
    const bytes raw =
        encode(serf_message{query_response{q.ltime, q.id, cfg_.memberlist.name, query_response_flag_ack, {}}});
    send_user_message(to, raw);
    relay_response(q.relay_factor, to, q.source_node, raw);
  }
  const query_handle h = next_handle_++;
  const auto timeout = std::chrono::duration_cast<duration>(q.timeout);
  pending_query p{q, now_ + timeout, false};
  p.q.filters.clear();
  p.q.payload.clear();
  pending_.emplace(h, std::move(p));
  // Kept a little past the deadline so a late respond() says "past the deadline".
  arm(now_ + timeout + 1s, timer_kind::query_expire, h);
  if (is_internal_query(q.name)) {
    internal_query(q, h);
  } else {
    rt_->query(query_event{h, q.ltime, q.id, q.name, q.payload, q.source_node, now_ + timeout});
  }
  return rebroadcast;
}

std::string serf_impl::respond(query_handle h, std::span<const std::uint8_t> payload) {
  auto it = pending_.find(h);
  if (it == pending_.end()) return "No pending queries matching ID";
  auto& p = it->second;
  const bytes raw = encode(
      serf_message{query_response{p.q.ltime, p.q.id, cfg_.memberlist.name, 0, bytes(payload.begin(), payload.end())}});
  if (raw.size() > cfg_.query_response_size_limit)
    return std::string(respond_prefix) + "response exceeds limit of " + std::to_string(cfg_.query_response_size_limit) +
           " bytes";
  if (p.responded) return std::string(respond_prefix) + "response already sent";
  if (now_ > p.deadline) return std::string(respond_prefix) + "response is past the deadline";
  const address to = address::from(p.q.addr, p.q.port);
  send_user_message(to, raw);
  relay_response(p.q.relay_factor, to, p.q.source_node, raw);
  p.responded = true;
  return {};
}

void serf_impl::handle_relay(const relay& r) {
  // Forward the inner message as is: no other checks (2.1).
  send_user_message(address::from(r.header.dest_ip, r.header.dest_port), r.inner);
}

// ---------------------------------------------------------------------------
// Internal queries (9.4).

void serf_impl::internal_query(const query& q, query_handle h) {
  if (q.name == ping_query) return;  // the ack (if requested) is the answer
  if (q.name == conflict_query) {
    const std::string contested(q.payload.begin(), q.payload.end());
    if (contested == cfg_.memberlist.name) return;
    conflict_response cr;
    if (const auto* e = members_.find(contested)) cr.member = conflict_view(e->m);
    if (auto err = respond(h, encode(serf_message{cr})); !err.empty())
      log(log_level::error, "serf: failed to respond to conflict query: " + err);
    return;
  }
  if (is_key_query(q.name)) {
    // Serf's line: "Received install-key query" (the name without "_serf_").
    log(log_level::info, "serf: Received " + q.name.substr(std::min<std::size_t>(q.name.size(), 6)) + " query");
    auto fits = [&](const bytes& payload) {
      return encode(serf_message{query_response{q.ltime, q.id, cfg_.memberlist.name, 0, payload}}).size() <=
             cfg_.query_response_size_limit;
    };
    auto out = handle_key_query(q.name, q.payload, keyring_, fits);
    if (out.keyring_changed) rt_->keyring_changed();
    if (!out.response.message.empty() && !out.response.result)
      log(log_level::error, "serf: " + std::string(q.name) + ": " + out.response.message);
    if (auto err = respond(h, encode(serf_message{out.response})); !err.empty())
      log(log_level::error, "serf: failed to respond to key query: " + err);
    return;
  }
  log(log_level::warn, "serf: Unhandled internal query '" + q.name + "'");
}

// ---------------------------------------------------------------------------
// Sending and collecting (9.1).

query_started serf_impl::start_query(const query_params& p, query_purpose purpose, std::uint64_t op) {
  query_started out;
  if (cfg_.protocol < 4) {
    out.error = "Feature not supported";
    return out;
  }
  const duration timeout =
      p.timeout > duration::zero()
          ? p.timeout
          : default_query_timeout(cfg_.memberlist.gossip_interval, cfg_.query_timeout_mult, core_->num_alive());
  query q;
  q.ltime = query_clock_.time();
  q.id = static_cast<std::uint32_t>(rng_.below(1ULL << 31));
  q.addr = cfg_.memberlist.advertise.ip_bytes();
  q.port = cfg_.memberlist.advertise.port;
  q.source_node = cfg_.memberlist.name;
  q.filters = make_filters(p.filter_nodes, p.filter_tags);
  q.flags = p.request_ack ? query_flag_ack : 0;
  q.relay_factor = p.relay_factor;
  q.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout);
  q.name = p.name;
  q.payload = p.payload;
  bytes raw = encode(serf_message{q});
  if (raw.size() > cfg_.query_size_limit) {
    out.error = "query exceeds limit of " + std::to_string(cfg_.query_size_limit) + " bytes";
    return out;
  }
  out.handle = next_handle_++;
  out.deadline = now_ + timeout;
  collectors_.insert_or_assign(q.ltime,
                               collector{response_collector(q.ltime, q.id, out.deadline), out.handle, purpose, op});
  arm(out.deadline, timer_kind::query_collect_end, q.ltime);
  handle_query(q, true);
  queue(queries_q_, std::move(raw));
  return out;
}

void serf_impl::handle_query_response(const query_response& r) {
  auto it = collectors_.find(r.ltime);
  if (it == collectors_.end()) {
    log(log_level::warn, "serf: reply for non-running query (LTime: " + std::to_string(r.ltime) +
                             ", ID: " + std::to_string(r.id) + ") From: " + r.from);
    return;
  }
  auto& c = it->second;
  const auto v = c.c.add(r, now_);
  if (v == response_collector::verdict::wrong_id) {
    log(log_level::warn, "serf: Query reply ID mismatch (Local: " + std::to_string(c.c.id()) +
                             ", Response: " + std::to_string(r.id) + ")");
    return;
  }
  if (v != response_collector::verdict::accepted) return;
  switch (c.purpose) {
    case query_purpose::user:
      if (r.is_ack())
        rt_->query_ack(c.handle, r.from);
      else
        rt_->query_response(c.handle, r.from, r.payload);
      break;
    case query_purpose::key_op: {
      if (r.is_ack()) break;
      auto k = key_ops_.find(c.op);
      if (k == key_ops_.end()) break;
      tally_key_response(k->second, r.from, r.payload);
      if (k->second.num_resp >= k->second.num_nodes) {  // everyone answered: done early
        key_result res = std::move(k->second);
        key_ops_.erase(k);
        finish_key_result(res);
        rt_->key_operation_done(c.op, res);
      }
      break;
    }
    case query_purpose::conflict: {
      if (r.is_ack()) break;
      auto t = conflicts_.find(c.op);
      if (t == conflicts_.end()) break;
      if (r.payload.empty() || r.payload[0] != static_cast<std::uint8_t>(serf_message_type::conflict_response)) {
        log(log_level::error, "serf: Invalid conflict query response type");
        break;
      }
      auto d = decode_serf_message(r.payload);
      const auto* cr = d.ok() ? std::get_if<conflict_response>(&d.value) : nullptr;
      if (cr == nullptr) {
        log(log_level::error, "serf: Failed to decode conflict query response");
        break;
      }
      ++t->second.responses;
      const auto& self = cfg_.memberlist.advertise;
      if (cr->member && self.same_ip(cr->member->addr) && cr->member->port == self.port) ++t->second.matching;
      break;
    }
  }
}

void serf_impl::collection_ended(std::uint64_t ltime) {
  auto it = collectors_.find(ltime);
  if (it == collectors_.end()) return;
  const collector c = it->second;
  collectors_.erase(it);
  switch (c.purpose) {
    case query_purpose::user:
      rt_->query_done(c.handle);
      break;
    case query_purpose::key_op:
      if (auto k = key_ops_.find(c.op); k != key_ops_.end()) {
        key_result res = std::move(k->second);
        key_ops_.erase(k);
        finish_key_result(res);
        rt_->key_operation_done(c.op, res);
      }
      break;
    case query_purpose::conflict:
      if (auto t = conflicts_.find(c.op); t != conflicts_.end()) {
        const auto tally = t->second;
        conflicts_.erase(t);
        const int majority = tally.responses / 2 + 1;
        const std::string counts = "[" + std::to_string(tally.matching) + " / " + std::to_string(tally.responses) + "]";
        if (tally.matching >= majority) {
          log(log_level::info, "serf: majority in name conflict resolution " + counts);
        } else {
          log(log_level::warn, "serf: minority in name conflict resolution, quitting " + counts);
          rt_->shutdown_requested("minority in name conflict resolution, quitting " + counts);
        }
      }
      break;
  }
}

std::uint64_t serf_impl::key_operation(key_op op, std::span<const std::uint8_t> key) {
  const std::uint64_t id = next_op_++;
  key_result r;
  r.num_nodes = static_cast<int>(core_->num_alive());
  query_params p;
  p.name = std::string(key_query_name(op));
  p.payload = encode(serf_message{key_request{bytes(key.begin(), key.end())}});
  key_ops_[id] = r;
  auto started = start_query(p, query_purpose::key_op, id);
  if (!started.ok()) {
    key_ops_.erase(id);
    r.error = started.error;
    rt_->key_operation_done(0, r);
    return 0;
  }
  return id;
}

void serf_impl::resolve_conflict() {
  const std::uint64_t id = next_op_++;
  conflicts_[id] = {};
  query_params p;
  p.name = std::string(conflict_query);
  p.payload = bytes(cfg_.memberlist.name.begin(), cfg_.memberlist.name.end());
  auto started = start_query(p, query_purpose::conflict, id);
  if (!started.ok()) {
    conflicts_.erase(id);
    log(log_level::error, "serf: Failed to start name resolution query: " + started.error);
  }
}

}  // namespace chorus::agent
