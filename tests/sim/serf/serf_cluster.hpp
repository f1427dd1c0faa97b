#pragma once
// A small simulator for N Serf nodes over virtual time: one event queue
// ordered by (time, sequence), bytes between nodes always through the real
// codecs (memberlist packet/compound encoding for UDP, the stream codec for
// push/pull and TCP pings), per-node seeded randomness, crash and restart.
// src/sim hosts bare swim::cores; Serf needs its own hooks (user messages,
// remote state, point-to-point replies), so this harness drives agent::serf.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "agent/serf/serf.hpp"
#include "common/random.hpp"
#include "swim/keyring.hpp"
#include "swim/stream.hpp"

namespace chorus::serf_sim {

using agent::member_status;
using swim::duration;
using swim::time_point;
using namespace std::chrono_literals;

class cluster;

// What one node saw, for assertions.
struct observed {
  std::vector<agent::member_event> member_events;
  std::vector<agent::user_event_data> user_events;
  std::vector<agent::query_event> queries;
  std::map<agent::query_handle, std::vector<std::string>> acks;
  std::map<agent::query_handle, std::vector<std::pair<std::string, std::string>>> responses;
  std::vector<agent::query_handle> done;
  std::map<std::uint64_t, agent::key_result> key_results;
  std::vector<std::string> logs;
  std::optional<std::string> leave_result;
  std::optional<std::string> shutdown;
  int keyring_changes = 0;
};

class cluster {
 public:
  explicit cluster(std::uint64_t seed) : rng_(seed) {}
  ~cluster();

  // Tweaks applied to every node's config before it is created.
  std::function<void(agent::serf_config&, std::size_t index)> configure;
  // How nodes answer user queries (empty optional: no answer).
  std::function<std::optional<std::string>(std::size_t node, const agent::query_event&)> responder;
  double loss = 0.0;
  duration latency = 1ms;

  std::size_t add_node(agent::tag_map tags = {}, const swim::keyring* ring = nullptr);
  void join(std::size_t n, std::size_t seed_node, bool replay = false);
  void crash(std::size_t n);
  // A fresh agent (no snapshot) with the same name and address joins `seed_node`.
  void restart(std::size_t n, std::size_t seed_node);

  void run_for(duration d) { run_until(now_ + d); }
  void run_until(time_point t);
  bool run_until_true(const std::function<bool()>& pred, duration timeout, duration step = 100ms);
  time_point now() const { return now_; }

  std::size_t size() const { return nodes_.size(); }
  agent::serf& node(std::size_t n) { return *nodes_[n]->serf; }
  observed& seen(std::size_t n) { return nodes_[n]->seen; }
  swim::keyring& keyring(std::size_t n) { return nodes_[n]->ring; }
  bool up(std::size_t n) const { return nodes_[n]->up; }
  static std::string name_of(std::size_t n) { return "n" + std::to_string(n); }
  static swim::address address_of(std::size_t n);
  member_status status_in(std::size_t observer, std::size_t subject);
  bool status_everywhere(std::size_t subject, member_status s);

  // Runs `fn` on node n's serf with the node's sink, at the current time.
  template <class F>
  auto with(std::size_t n, F fn) {
    return fn(*nodes_[n]->serf, sink(n), now_);
  }
  agent::serf_runtime& sink(std::size_t n);

  std::uint64_t udp_packets = 0, udp_bytes = 0, decode_errors = 0;

 private:
  enum class ev : std::uint8_t { packet, timer, pp_request, pp_response, pp_failed, ping_request, ping_result, action };
  struct event {
    time_point at;
    std::uint64_t seq;
    ev kind;
    std::size_t node;
    std::size_t from;
    std::uint32_t epoch;
    std::uint64_t token;
    time_point deadline;
    swim::bytes data;
    std::function<void()> fn;
  };
  struct later {
    bool operator()(const event& a, const event& b) const { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }
  };
  class node_rt;
  struct node_state {
    node_state();
    ~node_state();
    std::unique_ptr<agent::serf> serf;
    std::unique_ptr<node_rt> rt;
    swim::keyring ring;
    agent::tag_map tags;
    observed seen;
    bool up = true;
    bool encrypted = false;
    std::uint32_t epoch = 0;
  };

  void make(std::size_t n);
  void push(event e);
  void dispatch(event& e);
  std::size_t id_of(const swim::address& a) const;
  bool dropped() { return loss > 0 && rng_.unit() < loss; }

  chorus::random_source rng_;
  std::vector<std::unique_ptr<node_state>> nodes_;
  std::priority_queue<event, std::vector<event>, later> queue_;
  time_point now_{};
  std::uint64_t seq_ = 0;
};

}  // namespace chorus::serf_sim
