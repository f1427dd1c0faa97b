#pragma once
// Internal: the daemon's one object, daemon_impl, shared by the files that
// implement it (one concern each):
//   daemon.cpp          process set-up, run loop, signals, shutdown, SIGHUP reload
//   daemon_join.cpp     joins (-join, -retry-join, RPC; srv: via srv_resolver), leave, snapshot and rejoin
//   daemon_api.cpp      the rpc::agent_api bridge: tags, stats, key operations, queries
//   daemon_events.cpp   Serf's events out to logs, handlers, RPC streams and the snapshot
//   daemon_metrics.cpp  what /metrics and `chorus info` show
//   daemon_http.cpp     the HTTP listeners: -metrics-addr and the HTTP API (-http-addr)
// It is the Serf layer's listener (serf_listener), the transport's driver
// and the RPC server's agent_api at once; the transport is the Serf layer's
// io (sink()), so packets and timers go from the core straight to it.
// Everything runs on io_'s thread except the handler worker's result
// callback and the snapshot writer's log lines.
#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>

#include "agent/config.hpp"
#include "agent/handlers.hpp"
#include "agent/http_api.hpp"
#include "agent/http_server.hpp"
#include "agent/join_text.hpp"
#include "agent/logging.hpp"
#include "agent/mdns.hpp"
#include "agent/mdns_interface.hpp"
#include "agent/metrics_server.hpp"
#include "agent/prometheus.hpp"
#include "agent/serf/failure.hpp"
#include "agent/serf/serf.hpp"
#include "agent/snapshot.hpp"
#include "chorus/version.hpp"
#include "common/enum_names.hpp"
#include "rpc/go_base64.hpp"
#include "rpc/server.hpp"
#include "swim/core.hpp"
#include "swim/keyring.hpp"
#include "swim/transport/transport.hpp"

namespace chorus::agent {

inline const char* status_name(member_status s) {
  return enum_name<member_status::failed>(s, {"none", "alive", "leaving", "left", "failed"}, "none");
}

inline std::string ip_text(const address& a) {
  if (a.empty()) return "";
  return swim::transport::to_ip(a).to_string();
}

inline rpc::member to_rpc(const member& m) {
  rpc::member r;
  r.addr = m.addr.ip_bytes();
  r.port = m.addr.port;
  r.name = m.name;
  r.tags = rpc::string_map(m.tags.begin(), m.tags.end());
  r.status = status_name(m.status);
  set_vsn_fields(r, m.vsn);
  return r;
}

// Builds the metric families of one scrape (daemon_metrics.cpp).
struct metric_list;

using steady = std::chrono::steady_clock;

class daemon_impl final : public serf_listener, public swim::transport::driver, public rpc::agent_api {
 public:
  explicit daemon_impl(agent_config cfg)
      : cfg_(std::move(cfg)), signals_(io_), retry_timer_(io_), snapshot_timer_(io_) {}

  int run();

  // What each call into the Serf layer writes to: the transport does the
  // I/O, we hear the rest.
  serf_sink sink() { return {*transport_, *this}; }

  // --- serf_listener ----------------------------------------------------------
  void member_event(const agent::member_event& e) override;
  void member_event_raw(const agent::member_event& e) override;
  void user_event(const user_event_data& e) override;
  void query(const query_event& e) override;
  void query_ack(query_handle h, std::string_view from) override {
    record(h, rpc::query_record{std::string(from), std::nullopt, "ack"}, false);
  }
  void query_response(query_handle h, std::string_view from, std::span<const std::uint8_t> payload) override {
    record(h, rpc::query_record{std::string(from), bytes(payload.begin(), payload.end()), "response"}, false);
  }
  void query_done(query_handle h) override { record(h, rpc::query_record{"", std::nullopt, "done"}, true); }
  void key_operation_done(std::uint64_t op, const key_result& r) override;
  void keyring_changed() override { save_keyring(); }
  void join_done(std::uint64_t id, const join_result& r) override;
  void leave_done(std::string_view error) override;
  void force_leave_done(std::string_view node, std::string_view error) override {
    if (!error.empty()) log_->warn("agent: force-leave of {} : {}", node, error);
  }
  void shutdown_requested(std::string_view reason) override {
    log_->error("agent: shutting down: {}", reason);
    asio::post(io_, [this] { shutdown(1); });
  }
  void member_suspected(std::string_view name, const address& addr, std::string_view by) override {
    ++suspicions_observed_;
    log_->warn("{}", member_news_line(member_news::suspected, name, addr.to_string(), by));
  }
  void member_alive_again(std::string_view name, const address& addr, std::string_view suspected_by) override {
    ++suspicions_refuted_;
    log_->info("{}", member_news_line(member_news::alive_again, name, addr.to_string(), suspected_by));
  }
  // The transport's, mDNS's and the metrics listener's log callback: 0 debug, 1 info, 2+ warn.
  std::function<void(int, const std::string&)> leveled_log() {
    return [this](int level, const std::string& text) {
      using spdlog::level::level_enum;
      log_->log(level >= 2 ? level_enum::warn : level == 1 ? level_enum::info : level_enum::debug, "{}", text);
    };
  }
  // spdlog's level for each log_level, in log_level's order; a value past the
  // table is logged as an error rather than dropped.
  void log(log_level level, std::string_view text) override {
    using spdlog::level::level_enum;
    static constexpr level_enum levels[] = {level_enum::trace, level_enum::debug, level_enum::info, level_enum::warn,
                                            level_enum::err};
    const auto i = static_cast<std::size_t>(level);
    log_->log(i < std::size(levels) ? levels[i] : level_enum::err, "{}", text);
  }

  // --- transport driver -------------------------------------------------------
  void on_message(time_point now, const address& from, const swim::message& m) override {
    serf_->handle_message(now, from, m, sink());
  }
  void on_timer(time_point now, swim::timer_token token) override { serf_->handle_timer(now, token, sink()); }
  swim::push_pull on_push_pull(time_point now, const address& from, const swim::push_pull& remote) override {
    return serf_->handle_push_pull(now, from, remote, sink());
  }
  std::optional<swim::ack> on_stream_ping(const swim::ping& p) override { return serf_->handle_stream_ping(p); }
  void on_push_pull_done(time_point now, swim::exchange_id id, const swim::push_pull& reply) override {
    serf_->push_pull_completed(now, id, reply, sink());
  }
  void on_push_pull_failed(time_point now, swim::exchange_id id, const swim::exchange_error& why) override {
    serf_->push_pull_failed(now, id, sink(), why);
  }
  void on_tcp_ping_done(time_point now, swim::exchange_id id, bool ok) override {
    serf_->tcp_ping_completed(now, id, ok, sink());
  }
  bool is_member_ip(const address& ip) override;

  // --- RPC --------------------------------------------------------------------
  std::vector<rpc::member> members() override {
    std::vector<rpc::member> out;
    for (const auto& m : serf_->members()) out.push_back(to_rpc(m));
    return out;
  }
  void join(std::vector<std::string> addrs, bool replay, std::function<void(int, std::string)> done) override {
    join_addresses(std::move(addrs), replay, std::move(done));
  }
  void leave(std::function<void(std::string)> done) override {
    leave_waiters_.push_back(std::move(done));
    start_leave();
  }
  std::string force_leave(const std::string& node, bool prune) override {
    return serf_->force_leave(swim::transport::now(), node, prune, sink());
  }
  std::string user_event(const std::string& name, const bytes& payload, bool coalesce) override {
    return serf_->user_event(swim::transport::now(), name, payload, coalesce, sink());
  }
  std::string set_tags(const rpc::string_map& set, const std::vector<std::string>& del) override;
  rpc::stats_response stats() override;
  rpc::stats_response chorus_stats() override;
  rpc::coordinate_response get_coordinate(const std::string& node) override {
    rpc::coordinate_response r;
    if (auto c = serf_->coordinate_of(node)) {
      r.ok = true;
      r.coord = {c->adjustment, c->error, c->height, c->vec};
    }
    return r;
  }
  void key_operation(rpc::command c, const std::string& key,
                     std::function<void(rpc::key_response, std::string)> done) override;
  std::string query(const rpc::query_request& q, std::function<void(const rpc::query_record&)> rec) override;
  std::string respond(std::uint64_t handle, const bytes& payload) override {
    return serf_->respond(swim::transport::now(), handle, payload, sink());
  }
  bool valid_filter(const std::string& filter) override {
    std::vector<event_filter> f;
    return parse_event_filters(filter, f);
  }
  bool filter_matches(const std::string& filter, const std::string& event, const std::string& name) override {
    std::vector<event_filter> f;
    return parse_event_filters(filter, f) && filters_match(f, event, name);
  }

 private:
  // Where we listen and what we advertise (setup, daemon.cpp).
  struct endpoints {
    asio::ip::address bind_ip, adv_ip;
    std::uint16_t port = 0, adv_port = 0;
  };
  std::string setup();
  std::string setup_keyring();
  std::string resolve_bind(asio::ip::address& ip, std::uint16_t& port);
  std::string resolve_advertise(endpoints& ep);
  std::string start_transport(endpoints& ep, const swim::config& ml);
  void create_serf(const endpoints& ep, swim::config ml);
  std::string start_mdns(const endpoints& ep);
  std::string choose_mdns_interface(const endpoints& ep, mdns::discovery::options& mo);
  std::string start_handlers();
  std::string start_rpc();
  void print_banner();
  void on_signal(int sig);
  void start_leave();
  void shutdown(int code);
  void reload();
  void reload_keyring();
  void save_keyring();
  void record(query_handle h, const rpc::query_record& r, bool last);
  // Resolves "host", "host:port" or "name/host:port" (every A/AAAA address).
  void join_addresses(std::vector<std::string> addrs, bool replay, std::function<void(int, std::string)> done);
  void retry_join_attempt();
  // Snapshot (serf.md 12): open+replay, periodic clock/coordinate/flush, rejoin.
  std::string open_snapshot();
  void snapshot_tick();
  void arm_snapshot_timer();
  void rejoin_previous(std::shared_ptr<std::vector<std::string>> addrs, std::size_t next);
  // What /metrics serves and `chorus info` shows (section "metrics"), one
  // section per concern (daemon_metrics.cpp).
  std::vector<prometheus::family> collect_metrics() const;
  void membership_metrics(metric_list& m) const;
  void detection_metrics(metric_list& m) const;
  void traffic_metrics(metric_list& m, const serf_stats& ss) const;
  void sync_and_broadcast_metrics(metric_list& m, const serf_stats& ss) const;
  void agent_metrics(metric_list& m, const serf_stats& ss) const;
  std::string start_metrics();
  std::string start_http();

  agent_config cfg_;
  asio::io_context io_;
  log_hub hub_;
  std::shared_ptr<spdlog::logger> log_ = hub_.logger();
  swim::keyring keys_;
  std::unique_ptr<serf> serf_;
  std::unique_ptr<swim::transport::transport> transport_;
  std::unique_ptr<rpc::server> rpc_;
  std::unique_ptr<handler_runner> handlers_;
  std::unique_ptr<mdns::discovery> mdns_;  // -discover
  std::unique_ptr<http_server> metrics_;   // -metrics-addr
  std::unique_ptr<http_api> http_api_;     // -http-addr: routes
  std::unique_ptr<http_server> http_;      // -http-addr: listener (destroyed before http_api_)
  asio::signal_set signals_;
  asio::steady_timer retry_timer_;
  std::unique_ptr<snapshotter> snapshot_;
  asio::steady_timer snapshot_timer_;
  int retry_attempts_ = 0;
  std::map<std::uint64_t, std::function<void(const join_result&)>> joins_;
  std::map<query_handle, std::function<void(const rpc::query_record&)>> queries_;
  std::map<std::uint64_t, std::pair<rpc::command, std::function<void(rpc::key_response, std::string)>>> key_ops_;
  std::vector<std::function<void(std::string)>> leave_waiters_;
  std::optional<std::pair<std::uint64_t, key_result>> pending_key_result_;
  bool leaving_ = false, stopping_ = false;
  // Counted here: failure-detector news (io thread) and handler runs (the
  // handler worker's thread, hence atomics).
  std::uint64_t suspicions_observed_ = 0, suspicions_refuted_ = 0, handler_dropped_ = 0;
  std::atomic<std::uint64_t> handler_runs_{0}, handler_failures_{0};
  int exit_code_ = 0;
  std::string bind_text_;
  // The IPs (port 0) of the members not left, for is_member_ip; collected
  // again when older than a second.
  std::unordered_set<address, swim::address_hash> member_ips_;
  steady::time_point member_ips_expire_{};
};

}  // namespace chorus::agent
