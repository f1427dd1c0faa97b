#pragma once
// An agent::serf in the simulator: the host's inputs go to the Serf layer
// (which drives its own core), its runtime calls to the simulator
// (node_sink), and the agent-facing events to the driver's serf_hooks and,
// when recording, to the node's `observed` log. The only place that
// implements agent::serf_runtime for simulations (its I/O half in
// adapter.hpp).
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/serf/serf.hpp"
#include "sim/adapter.hpp"

namespace chorus::sim {

// What the Serf nodes of a run tell its driver, with the node and the time.
struct serf_hooks {
  // Before coalescing (serf_runtime::member_event_raw): one call per change.
  std::function<void(time_point, node_id, const agent::member_event&)> member_event;
  std::function<void(time_point, node_id, const agent::user_event_data&)> user_event;
  std::function<void(time_point, node_id, const agent::query_event&)> query;
  std::function<void(time_point, node_id, agent::query_handle, std::string_view from)> query_ack;
  std::function<void(time_point, node_id, agent::query_handle, std::string_view from,
                     std::span<const std::uint8_t> payload)>
      query_response;
  // How a node answers a user query (nullopt: it does not). The answer goes
  // out through serf::respond right after the event, as an agent's handler
  // would send it.
  std::function<std::optional<std::string>(node_id, const agent::query_event&)> responder;
};

// Everything one Serf node reported, for assertions (options::record_serf).
struct observed {
  std::vector<agent::member_event> member_events;  // after coalescing
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

class serf_host final : public adapter<agent::serf, agent::serf_runtime> {
 public:
  // keys: the node's keyring (the transport's, in an agent), acted on by
  // key queries; must outlive the host. record: keep an `observed` log.
  serf_host(agent::serf_config cfg, std::uint64_t seed, swim::keyring* keys, node_id id, node_sink& sink,
            const serf_hooks& hooks, bool record)
      : adapter(id, sink, std::move(cfg), seed, keys), hooks_(hooks), record_(record) {}

  // --- host ---------------------------------------------------------------
  void join(time_point now, std::span<const swim::address> seeds, bool replay) override {
    machine_.join(now, seeds, replay, rt());
  }
  // Decoded once, by the network's open: the Serf layer takes the message
  // as the transport hands it over in an agent.
  void handle_message(time_point now, const swim::address& from, const swim::packet_message& m) override {
    machine_.handle_message(now, from, m.msg, rt());
  }
  const swim::core& core() const override { return machine_.core(); }

  agent::serf& serf() { return machine_; }
  // The sink to pass to serf commands.
  agent::serf_runtime& runtime() { return *this; }
  observed& seen() { return seen_; }

 private:
  // --- agent::serf_runtime: events for the agent ----------------------------
  void member_event(const agent::member_event& e) override;
  void member_event_raw(const agent::member_event& e) override;
  void user_event(const agent::user_event_data& e) override;
  void query(const agent::query_event& e) override;
  void query_ack(agent::query_handle h, std::string_view from) override;
  void query_response(agent::query_handle h, std::string_view from, std::span<const std::uint8_t> p) override;
  void query_done(agent::query_handle h) override;
  void key_operation_done(std::uint64_t op, const agent::key_result& r) override;
  void keyring_changed() override;
  void leave_done(std::string_view error) override;
  void shutdown_requested(std::string_view reason) override;
  void log(agent::log_level level, std::string_view text) override;

  const serf_hooks& hooks_;
  bool record_;
  observed seen_;
};

}  // namespace chorus::sim
