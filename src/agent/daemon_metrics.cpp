// What /metrics serves and `chorus info` shows (section "metrics").
#include <set>

#include "agent/daemon_impl.hpp"

namespace chorus::agent {

namespace {
using prometheus::family;
using prometheus::metric_type;
}  // namespace

// The families of one scrape, in the order they are added.
struct metric_list {
  std::vector<family> out;
  family& add(metric_type type, std::string name, std::string help) {
    out.push_back(family{std::move(name), std::move(help), type, {}});
    return out.back();
  }
  void counter(std::string name, std::string help, double v) { add(metric_type::counter, name, help).add(v); }
  void gauge(std::string name, std::string help, double v) { add(metric_type::gauge, name, help).add(v); }
  // One sample per message type: the types that exist alone always, layer
  // types (compound, compress, ...) only once seen.
  void by_type(const char* name, const char* help, const swim::transport::message_counts& c, bool bytes) {
    auto& f = add(metric_type::counter, name, help);
    static const std::set<std::string> usual{"ping",  "indirect_ping", "ack",  "nack",     "suspect",
                                             "alive", "dead",          "user", "push_pull"};
    for (std::size_t i = 0; i < swim::transport::message_counts::slots; ++i) {
      const char* type = swim::transport::message_counts::label(i);
      const auto v = bytes ? c.bytes[i] : c.messages[i];
      if (v || usual.count(type)) f.add(static_cast<double>(v), {{"type", type}});
    }
  }
};

std::vector<prometheus::family> daemon_impl::collect_metrics() const {
  metric_list m;
  // One serf_stats per scrape, shared by the three sections that read it:
  // each used to build its own copy, and one snapshot keeps the sections
  // consistent with each other.
  const serf_stats ss = serf_->stats();
  membership_metrics(m);
  detection_metrics(m);
  traffic_metrics(m, ss);
  sync_and_broadcast_metrics(m, ss);
  agent_metrics(m, ss);
  return std::move(m.out);
}

void daemon_impl::membership_metrics(metric_list& m) const {
  // Membership.
  std::map<std::string, double> by_status{{"alive", 0}, {"leaving", 0}, {"left", 0}, {"failed", 0}};
  for (const auto& m : serf_->members())
    if (auto it = by_status.find(status_name(m.status)); it != by_status.end()) ++it->second;
  auto& members =
      m.add(metric_type::gauge, "chorus_members", "Members known to this agent (itself included), by Serf status.");
  for (const auto& [status, n] : by_status) members.add(n, {{"status", status}});
  double suspect = 0;
  const auto& table = serf_->core().members();
  for (std::size_t i = 0; i < table.size(); ++i) suspect += table.at(i).state == swim::member_state::suspect;
  m.gauge("chorus_members_suspect", "Members currently suspected by the failure detector (counted as alive above).",
          suspect);
}

void daemon_impl::detection_metrics(metric_list& m) const {
  const auto& cs = serf_->core().stats();
  // Failure detection.
  m.counter("chorus_probes_total", "Failure-detector probes this agent started.", cs.probes);
  m.counter("chorus_probes_failed_total", "Probes that got no ack (direct, indirect or TCP).", cs.probe_failures);
  m.counter("chorus_probes_indirect_total", "Probes that went on to ask other members (ping-req).", cs.indirect_probes);
  m.counter("chorus_probes_tcp_fallback_total", "Probes that went on to the TCP fallback ping.", cs.tcp_pings);
  m.counter("chorus_suspicions_raised_total", "Suspicions this agent raised after its own failed probes.",
            cs.suspicions_raised);
  m.counter("chorus_suspicions_observed_total", "Members this agent started to suspect (raised by anyone).",
            suspicions_observed_);
  m.counter("chorus_suspicions_refuted_total", "Suspected members that refuted and were alive again.",
            suspicions_refuted_);
  m.counter("chorus_self_refutations_total", "Suspicions about this agent that it refuted.", cs.refutations);
  m.counter("chorus_probes_late_total",
            "Failed probes not held against their target: this agent's timers fired late (CPU starvation).",
            cs.probes_late);
}

void daemon_impl::traffic_metrics(metric_list& m, const serf_stats& ss) const {
  const auto& cs = serf_->core().stats();
  const auto& ts = transport_->stats();
  // Traffic.
  m.by_type("chorus_messages_received_total", "Gossip messages received (UDP, and TCP streams), by message type.",
            ts.in, false);
  m.by_type("chorus_messages_sent_total", "Gossip messages sent (UDP, and TCP streams), by message type.", ts.out,
            false);
  m.by_type("chorus_message_bytes_received_total",
            "Bytes of gossip messages received, by message type (a TCP stream counts whole).", ts.in, true);
  m.by_type("chorus_message_bytes_sent_total",
            "Bytes of gossip messages sent, by message type, before compression and encryption.", ts.out, true);
  m.counter("chorus_udp_packets_received_total", "UDP datagrams received on the gossip port.", ts.udp_received);
  m.counter("chorus_udp_bytes_received_total", "UDP bytes received on the gossip port.", ts.udp_bytes_received);
  m.counter("chorus_udp_read_before_timers_total",
            "UDP datagrams found waiting when timers fired late, read before firing them.", ts.udp_read_before_timers);
  m.counter("chorus_udp_packets_sent_total", "UDP datagrams sent.", ts.udp_sent);
  m.counter("chorus_udp_bytes_sent_total", "UDP bytes sent (after compression and encryption).", ts.udp_bytes_sent);
  auto& malformed = m.add(metric_type::counter, "chorus_malformed_packets_total",
                          "Datagrams and TCP streams dropped as malformed (label, decryption, CRC, decoding).");
  malformed.add(static_cast<double>(ts.udp_malformed), {{"transport", "udp"}});
  malformed.add(static_cast<double>(ts.tcp_malformed), {{"transport", "tcp"}});
  auto& faults = m.add(metric_type::counter, "chorus_malformed_faults_total",
                       "Malformed datagrams, compound parts and TCP streams, by what the decoder refused.");
  for (std::size_t f = 1; f < swim::transport::decode_fault_kinds; ++f) {
    const std::string fault(swim::to_string(static_cast<swim::decode_fault>(f)));
    faults.add(static_cast<double>(ts.udp_faults[f]), {{"transport", "udp"}, {"fault", fault}});
    faults.add(static_cast<double>(ts.tcp_faults[f]), {{"transport", "tcp"}, {"fault", fault}});
  }
  auto& bad_messages = m.add(metric_type::counter, "chorus_malformed_messages_total",
                             "Messages dropped inside otherwise valid packets and streams, by reason.");
  bad_messages.add(static_cast<double>(cs.decode_errors), {{"reason", "undecodable"}});
  bad_messages.add(static_cast<double>(cs.refused), {{"reason", "refused_fields"}});
  bad_messages.add(static_cast<double>(ss.oversized_refused), {{"reason", "oversized"}});
  auto& dropped = m.add(metric_type::counter, "chorus_dropped_packets_total", "Traffic dropped, by reason.");
  dropped.add(static_cast<double>(ts.udp_send_dropped), {{"reason", "send_failed"}});
  dropped.add(static_cast<double>(ts.udp_seal_errors), {{"reason", "seal_failed"}});
  dropped.add(static_cast<double>(ts.tcp_refused), {{"reason", "tcp_over_limit"}});
  dropped.add(static_cast<double>(ts.tcp_refused_source), {{"reason", "tcp_source_limit"}});
  dropped.add(static_cast<double>(ts.tcp_idle_closed), {{"reason", "tcp_idle"}});
  dropped.add(static_cast<double>(ts.tcp_slow_closed), {{"reason", "tcp_too_slow"}});
  dropped.add(static_cast<double>(ts.tcp_evicted), {{"reason", "tcp_evicted_idle"}});
  dropped.add(static_cast<double>(ts.tcp_timeouts), {{"reason", "tcp_timeout"}});
  dropped.add(static_cast<double>(ts.udp_not_allowed), {{"reason", "udp_source_not_allowed"}});
  dropped.add(static_cast<double>(ts.tcp_not_allowed), {{"reason", "tcp_source_not_allowed"}});
  m.gauge("chorus_tcp_connections_inbound", "Inbound gossip TCP connections open now.",
          static_cast<double>(transport_->inbound_tcp()));
}

void daemon_impl::sync_and_broadcast_metrics(metric_list& m, const serf_stats& ss) const {
  const auto& ts = transport_->stats();
  // Push/pull (anti-entropy).
  auto& pp = m.add(metric_type::counter, "chorus_push_pulls_total", "Push/pull state exchanges, by direction.");
  pp.add(static_cast<double>(ts.push_pulls_started), {{"direction", "outbound"}});
  pp.add(static_cast<double>(ts.push_pulls_served), {{"direction", "inbound"}});
  m.counter("chorus_push_pulls_failed_total", "Outbound push/pull exchanges that failed.", ts.push_pulls_failed);
  prometheus::histogram_data h;
  h.bounds.assign(ts.push_pull_seconds.bounds.begin(), ts.push_pull_seconds.bounds.end());
  h.counts.assign(ts.push_pull_seconds.counts.begin(), ts.push_pull_seconds.counts.end());
  h.sum = ts.push_pull_seconds.sum;
  h.count = ts.push_pull_seconds.count;
  prometheus::add_histogram(m.add(metric_type::histogram, "chorus_push_pull_duration_seconds",
                                  "Duration of completed outbound push/pull exchanges."),
                            h);

  // Broadcasts.
  auto& q = m.add(metric_type::gauge, "chorus_broadcast_queue_depth", "Broadcasts waiting to be gossiped, by queue.");
  q.add(static_cast<double>(serf_->core().pending_broadcasts()), {{"queue", "memberlist"}});
  q.add(static_cast<double>(ss.intent_queue), {{"queue", "intent"}});
  q.add(static_cast<double>(ss.event_queue), {{"queue", "event"}});
  q.add(static_cast<double>(ss.query_queue), {{"queue", "query"}});
  m.counter("chorus_broadcasts_dropped_total", "Broadcasts dropped from full queues.",
            static_cast<double>(serf_->core().dropped_broadcasts()));
}

void daemon_impl::agent_metrics(metric_list& m, const serf_stats& ss) const {
  // Event handlers.
  m.counter("chorus_event_handler_runs_total", "Event handler script runs.", handler_runs_.load());
  m.counter("chorus_event_handler_failures_total", "Event handler runs that exited non-zero or could not start.",
            handler_failures_.load());
  m.counter("chorus_event_handler_dropped_total", "Events not handed to handlers because the queue was full.",
            handler_dropped_);
  m.gauge("chorus_event_handler_queue", "Handler runs waiting.", handlers_ ? handlers_->queued() : 0);

  // RPC, coordinates, health.
  m.gauge("chorus_rpc_clients", "RPC clients connected.", rpc_ ? rpc_->clients() : 0);
  m.counter("chorus_rpc_clients_dropped_total", "RPC clients dropped as too slow to read their streams.",
            rpc_ ? rpc_->dropped_slow_clients() : 0);
  auto& pending = m.add(metric_type::counter, "chorus_rpc_clients_pending_closed_total",
                        "RPC connections closed before completing the handshake (and auth), by reason.");
  pending.add(static_cast<double>(rpc_ ? rpc_->pending_timed_out() : 0), {{"reason", "timeout"}});
  pending.add(static_cast<double>(rpc_ ? rpc_->pending_evicted() : 0), {{"reason", "evicted"}});
  auto& refused = m.add(metric_type::counter, "chorus_rpc_requests_refused_total",
                        "RPC requests and connections refused, by reason.");
  for (std::size_t r = 0; r < rpc::refusal_count; ++r)
    refused.add(static_cast<double>(rpc_ ? rpc_->refused(static_cast<rpc::refusal>(r)) : 0),
                {{"reason", std::string(rpc::to_string(static_cast<rpc::refusal>(r)))}});
  m.gauge("chorus_coordinate_error", "Estimated error of this agent's Vivaldi coordinate.",
          cfg_.disable_coordinates ? std::numeric_limits<double>::quiet_NaN() : serf_->local_coordinate().error);
  m.counter("chorus_coordinate_resets_total", "Times the local Vivaldi coordinate was reset.", ss.coordinate_resets);
  m.gauge("chorus_health_score", "Lifeguard local health (0 = healthy; higher = this agent is slow).", ss.health_score);
  for (const auto& [server, name, help] :
       {std::tuple{metrics_.get(), "chorus_metrics_requests_total", "HTTP requests to the metrics listener."},
        std::tuple{http_.get(), "chorus_http_requests_total", "HTTP requests to the HTTP API (-http-addr)."}}) {
    if (!server) continue;
    auto& r = m.add(metric_type::counter, name, help);
    r.add(static_cast<double>(server->stats().requests - server->stats().errors), {{"result", "ok"}});
    r.add(static_cast<double>(server->stats().errors), {{"result", "error"}});
    r.add(static_cast<double>(server->stats().refused), {{"result", "refused"}});
    r.add(static_cast<double>(server->stats().timeouts), {{"result", "timeout"}});
  }
  if (http_api_) {
    m.gauge("chorus_http_event_streams", "Readers of GET /v1/events connected.", http_api_->event_streams());
    m.counter("chorus_http_events_dropped_total", "Events not sent to a /v1/events reader too slow to take them.",
              http_api_->dropped_events());
  }
}

}  // namespace chorus::agent
