#include "serf_cluster.hpp"

#include "swim/packet.hpp"

namespace chorus::serf_sim {

class cluster::node_rt final : public agent::serf_runtime {
 public:
  node_rt(cluster& c, std::size_t id) : c_(c), id_(id) {}

  void send_packet(const swim::address& to, swim::bytes packet, bool crc) override {
    auto& self = *c_.nodes_[id_];
    swim::seal_options opt;
    opt.compress = true;
    opt.crc = crc;
    if (!self.ring.empty()) opt.keys = &self.ring;
    auto sealed = swim::seal(packet, opt);
    if (!sealed.ok()) return;
    const std::size_t dest = c_.id_of(to);
    ++c_.udp_packets;
    c_.udp_bytes += sealed.data.size();
    if (dest >= c_.nodes_.size() || c_.dropped()) return;
    c_.push(
        {c_.now_ + c_.latency, 0, ev::packet, dest, id_, c_.nodes_[dest]->epoch, 0, {}, std::move(sealed.data), {}});
  }
  void set_timer(time_point at, swim::timer_token token) override {
    c_.push({at, 0, ev::timer, id_, id_, c_.nodes_[id_]->epoch, token, {}, {}, {}});
  }
  void start_push_pull(const swim::address& to, swim::exchange_id id, const swim::push_pull& request,
                       time_point deadline) override {
    exchange(to, id, swim::stream_message{request}, deadline, ev::pp_request);
  }
  void start_tcp_ping(const swim::address& to, swim::exchange_id id, const swim::ping& request,
                      time_point deadline) override {
    exchange(to, id, swim::stream_message{request}, deadline, ev::ping_request);
  }

  void member_event(const agent::member_event& e) override { seen().member_events.push_back(e); }
  void user_event(const agent::user_event_data& e) override { seen().user_events.push_back(e); }
  void query(const agent::query_event& e) override {
    seen().queries.push_back(e);
    if (!c_.responder) return;
    auto answer = c_.responder(id_, e);
    if (!answer) return;
    // Not from inside the callback: the serf object is mid-call.
    const std::size_t id = id_;
    const auto h = e.handle;
    const std::uint32_t epoch = c_.nodes_[id_]->epoch;
    c_.push({c_.now_, 0, ev::action, id_, id_, epoch, 0, {}, {}, [this, id, h, a = *answer] {
               c_.with(id, [&](agent::serf& s, agent::serf_runtime& rt, time_point now) {
                 s.respond(now, h, swim::bytes(a.begin(), a.end()), rt);
               });
             }});
  }
  void query_ack(agent::query_handle h, std::string_view from) override { seen().acks[h].emplace_back(from); }
  void query_response(agent::query_handle h, std::string_view from, std::span<const std::uint8_t> p) override {
    seen().responses[h].emplace_back(std::string(from), std::string(p.begin(), p.end()));
  }
  void query_done(agent::query_handle h) override { seen().done.push_back(h); }
  void key_operation_done(std::uint64_t op, const agent::key_result& r) override { seen().key_results[op] = r; }
  void keyring_changed() override { ++seen().keyring_changes; }
  void leave_done(std::string_view error) override { seen().leave_result = std::string(error); }
  void shutdown_requested(std::string_view reason) override { seen().shutdown = std::string(reason); }
  void log(agent::log_level, std::string_view text) override { seen().logs.emplace_back(text); }

 private:
  observed& seen() { return c_.nodes_[id_]->seen; }
  void exchange(const swim::address& to, swim::exchange_id id, const swim::stream_message& m, time_point deadline,
                ev kind) {
    auto& self = *c_.nodes_[id_];
    swim::stream_options opt;
    if (!self.ring.empty()) opt.keys = &self.ring;
    auto sealed = swim::encode_stream(m, opt);
    const std::size_t dest = c_.id_of(to);
    if (!sealed.ok() || dest >= c_.nodes_.size() || !c_.nodes_[dest]->up) {
      c_.push({deadline,
               0,
               kind == ev::pp_request ? ev::pp_failed : ev::ping_result,
               id_,
               dest,
               self.epoch,
               id,
               {},
               {},
               {}});
      return;
    }
    c_.push(
        {c_.now_ + c_.latency, 0, kind, dest, id_, c_.nodes_[dest]->epoch, id, deadline, std::move(sealed.data), {}});
  }

  cluster& c_;
  std::size_t id_;
};

cluster::~cluster() = default;
cluster::node_state::node_state() = default;
cluster::node_state::~node_state() = default;

agent::serf_runtime& cluster::sink(std::size_t n) { return *nodes_[n]->rt; }

swim::address cluster::address_of(std::size_t n) {
  return swim::address::v4(10, 0, static_cast<std::uint8_t>(n / 250), static_cast<std::uint8_t>(n % 250 + 1), 7946);
}

std::size_t cluster::id_of(const swim::address& a) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (address_of(i) == a) return i;
  return nodes_.size();
}

std::size_t cluster::add_node(agent::tag_map tags, const swim::keyring* ring) {
  auto st = std::make_unique<node_state>();
  st->tags = std::move(tags);
  if (ring) st->ring = *ring;
  nodes_.push_back(std::move(st));
  const std::size_t n = nodes_.size() - 1;
  make(n);
  return n;
}

void cluster::make(std::size_t n) {
  auto& st = *nodes_[n];
  agent::serf_config cfg;
  cfg.memberlist = swim::config::lan(name_of(n), address_of(n));
  cfg.tags = st.tags;
  if (configure) configure(cfg, n);
  st.serf = std::make_unique<agent::serf>(cfg, rng_.fork_seed(), &st.ring);
  st.rt = std::make_unique<node_rt>(*this, n);
  st.up = true;
  st.serf->start(now_, *st.rt);
}

void cluster::join(std::size_t n, std::size_t seed_node, bool replay) {
  const auto to = address_of(seed_node);
  nodes_[n]->serf->join(now_, std::span<const swim::address>(&to, 1), replay, *nodes_[n]->rt);
}

void cluster::crash(std::size_t n) {
  nodes_[n]->up = false;
  ++nodes_[n]->epoch;
}

void cluster::restart(std::size_t n, std::size_t seed_node) {
  ++nodes_[n]->epoch;
  nodes_[n]->seen = {};
  make(n);
  join(n, seed_node, false);
}

void cluster::push(event e) {
  e.seq = seq_++;
  queue_.push(std::move(e));
}

void cluster::run_until(time_point t) {
  while (!queue_.empty() && queue_.top().at <= t) {
    event e = queue_.top();
    queue_.pop();
    now_ = std::max(now_, e.at);
    dispatch(e);
  }
  now_ = std::max(now_, t);
}

bool cluster::run_until_true(const std::function<bool()>& pred, duration timeout, duration step) {
  const time_point end = now_ + timeout;
  while (now_ < end) {
    if (pred()) return true;
    run_for(step);
  }
  return pred();
}

void cluster::dispatch(event& e) {
  auto& st = *nodes_[e.node];
  // Results of exchanges and timers belong to one life of a node.
  if (!st.up || e.epoch != st.epoch) {
    if (e.kind == ev::pp_request && nodes_[e.from]->up)  // the initiator learns of the failure
      push({e.deadline, 0, ev::pp_failed, e.from, e.node, nodes_[e.from]->epoch, e.token, {}, {}, {}});
    if (e.kind == ev::ping_request && nodes_[e.from]->up)
      push({e.deadline, 0, ev::ping_result, e.from, e.node, nodes_[e.from]->epoch, e.token, {}, {0}, {}});
    return;
  }
  auto& s = *st.serf;
  auto& rt = *st.rt;
  const swim::keyring* keys = st.ring.empty() ? nullptr : &st.ring;
  switch (e.kind) {
    case ev::packet: {
      swim::open_options opt;
      opt.keys = keys;
      auto opened = swim::open(e.data, opt);
      if (!opened.ok()) {
        ++decode_errors;
        return;
      }
      for (const auto& m : opened.messages) s.handle_packet(now_, address_of(e.from), m.wire, rt);
      break;
    }
    case ev::timer:
      s.handle_timer(now_, e.token, rt);
      break;
    case ev::pp_request: {
      swim::stream_open_options opt;
      opt.keys = keys;
      auto req = swim::decode_stream(e.data, opt);
      const auto* pp = req.ok() ? std::get_if<swim::push_pull>(&req.msg) : nullptr;
      if (pp == nullptr) {
        ++decode_errors;
        push({e.deadline, 0, ev::pp_failed, e.from, e.node, nodes_[e.from]->epoch, e.token, {}, {}, {}});
        return;
      }
      auto reply = s.handle_push_pull(now_, address_of(e.from), *pp, rt);
      swim::stream_options so;
      so.keys = keys;
      auto sealed = swim::encode_stream(swim::stream_message{reply}, so);
      push({now_ + latency,
            0,
            ev::pp_response,
            e.from,
            e.node,
            nodes_[e.from]->epoch,
            e.token,
            {},
            std::move(sealed.data),
            {}});
      break;
    }
    case ev::pp_response: {
      swim::stream_open_options opt;
      opt.keys = keys;
      auto resp = swim::decode_stream(e.data, opt);
      const auto* pp = resp.ok() ? std::get_if<swim::push_pull>(&resp.msg) : nullptr;
      if (pp == nullptr) {
        ++decode_errors;
        s.push_pull_failed(now_, e.token, rt);
        return;
      }
      s.push_pull_completed(now_, e.token, *pp, rt);
      break;
    }
    case ev::pp_failed:
      s.push_pull_failed(now_, e.token, rt);
      break;
    case ev::ping_request: {
      swim::stream_open_options opt;
      opt.keys = keys;
      auto req = swim::decode_stream(e.data, opt);
      const auto* p = req.ok() ? std::get_if<swim::ping>(&req.msg) : nullptr;
      const bool ok = p != nullptr && s.handle_stream_ping(*p).has_value();
      push({now_ + latency,
            0,
            ev::ping_result,
            e.from,
            e.node,
            nodes_[e.from]->epoch,
            e.token,
            {},
            {static_cast<std::uint8_t>(ok)},
            {}});
      break;
    }
    case ev::ping_result:
      s.tcp_ping_completed(now_, e.token, !e.data.empty() && e.data[0] != 0, rt);
      break;
    case ev::action:
      e.fn();
      break;
  }
}

member_status cluster::status_in(std::size_t observer, std::size_t subject) {
  auto m = nodes_[observer]->serf->find_member(name_of(subject));
  return m ? m->status : member_status::none;
}

bool cluster::status_everywhere(std::size_t subject, member_status s) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i == subject || !nodes_[i]->up) continue;
    if (status_in(i, subject) != s) return false;
  }
  return true;
}

}  // namespace chorus::serf_sim
