#include "agent/daemon.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <asio.hpp>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>

#include "agent/handlers.hpp"
#include "agent/join_text.hpp"
#include "agent/logging.hpp"
#include "agent/mdns.hpp"
#include "agent/metrics_server.hpp"
#include "agent/prometheus.hpp"
#include "agent/serf/failure.hpp"
#include "agent/serf/serf.hpp"
#include "agent/snapshot.hpp"
#include "chorus/version.hpp"
#include "rpc/go_base64.hpp"
#include "rpc/server.hpp"
#include "swim/core.hpp"
#include "swim/keyring.hpp"
#include "swim/transport/transport.hpp"

namespace chorus::agent {

namespace {

using steady = std::chrono::steady_clock;

const char* status_name(member_status s) {
  switch (s) {
    case member_status::alive:
      return "alive";
    case member_status::leaving:
      return "leaving";
    case member_status::left:
      return "left";
    case member_status::failed:
      return "failed";
    default:
      return "none";
  }
}

std::string ip_text(const address& a) {
  if (a.empty()) return "";
  return swim::transport::to_ip(a).to_string();
}

rpc::member to_rpc(const member& m) {
  rpc::member r;
  r.addr = m.addr.ip_bytes();
  r.port = m.addr.port;
  r.name = m.name;
  r.tags = rpc::string_map(m.tags.begin(), m.tags.end());
  r.status = status_name(m.status);
  r.protocol_min = m.vsn[0];
  r.protocol_max = m.vsn[1];
  r.protocol_cur = m.vsn[2];
  r.delegate_min = m.vsn[3];
  r.delegate_max = m.vsn[4];
  r.delegate_cur = m.vsn[5];
  return r;
}

// First non-loopback IPv4 of the machine (Serf advertises a private IP when
// bound to 0.0.0.0), or of one interface (-iface).
std::optional<asio::ip::address> interface_ip(const std::string& iface) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<asio::ip::address> found;
  for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    if (!iface.empty() && iface != i->ifa_name) continue;
    if (iface.empty() && (i->ifa_flags & IFF_LOOPBACK)) continue;
    const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    found = asio::ip::address_v4(ntohl(sin->sin_addr.s_addr));
  }
  freeifaddrs(list);
  return found;
}

// A keyring file: a JSON array of base64 keys, the primary first.
std::string read_keyring_file(const std::string& path, std::vector<swim::key_bytes>& out) {
  std::ifstream f(path);
  if (!f) return "Error reading keyring file '" + path + "'";
  auto doc = nlohmann::json::parse(f, nullptr, false);
  if (doc.is_discarded() || !doc.is_array() || doc.empty())
    return "Error decoding keyring file '" + path + "': expected a non-empty JSON array of keys";
  for (const auto& v : doc) {
    if (!v.is_string()) return "Error decoding keyring file: keys must be base64 strings";
    auto k = swim::key_from_base64(v.get<std::string>());
    if (!k.ok()) return "Invalid key in keyring file: " + k.error;
    out.push_back(k.key);
  }
  return {};
}

}  // namespace

class daemon_impl final : public serf_runtime, public swim::transport::driver, public rpc::agent_api {
 public:
  explicit daemon_impl(agent_config cfg)
      : cfg_(std::move(cfg)), signals_(io_), retry_timer_(io_), snapshot_timer_(io_) {}

  int run();

  // --- serf_runtime -----------------------------------------------------------
  void send_packet(const address& to, bytes packet, bool crc) override {
    transport_->send_packet(to, std::move(packet), crc);
  }
  void set_timer(time_point at, swim::timer_token token) override { transport_->set_timer(at, token); }
  void start_push_pull(const address& to, swim::exchange_id id, const swim::push_pull& req, time_point dl) override {
    transport_->start_push_pull(to, id, req, dl);
  }
  void start_tcp_ping(const address& to, swim::exchange_id id, const swim::ping& req, time_point dl) override {
    transport_->start_tcp_ping(to, id, req, dl);
  }
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
      if (level >= 2)
        log_->warn("{}", text);
      else if (level == 1)
        log_->info("{}", text);
      else
        log_->debug("{}", text);
    };
  }
  void log(log_level level, std::string_view text) override {
    switch (level) {
      case log_level::trace:
        log_->trace("{}", text);
        break;
      case log_level::debug:
        log_->debug("{}", text);
        break;
      case log_level::info:
        log_->info("{}", text);
        break;
      case log_level::warn:
        log_->warn("{}", text);
        break;
      default:
        log_->error("{}", text);
        break;
    }
  }

  // --- transport driver -------------------------------------------------------
  void on_message(time_point now, const address& from, const swim::message&, std::span<const std::uint8_t> wire,
                  swim::runtime&) override {
    serf_->handle_packet(now, from, wire, *this);
  }
  void on_timer(time_point now, swim::timer_token token, swim::runtime&) override {
    serf_->handle_timer(now, token, *this);
  }
  swim::push_pull on_push_pull(time_point now, const address& from, const swim::push_pull& remote,
                               swim::runtime&) override {
    return serf_->handle_push_pull(now, from, remote, *this);
  }
  std::optional<swim::ack> on_stream_ping(const swim::ping& p) override { return serf_->handle_stream_ping(p); }
  void on_push_pull_done(time_point now, swim::exchange_id id, const swim::push_pull* reply, swim::runtime&) override {
    if (reply)
      serf_->push_pull_completed(now, id, *reply, *this);
    else
      serf_->push_pull_failed(now, id, *this, join_text::after_address(transport_->last_exchange_error()));
  }
  void on_tcp_ping_done(time_point now, swim::exchange_id id, bool ok, swim::runtime&) override {
    serf_->tcp_ping_completed(now, id, ok, *this);
  }
  void on_stream_user(time_point now, std::span<const std::uint8_t> payload, swim::runtime&) override {
    bytes b{static_cast<std::uint8_t>(swim::message_type::user)};
    b.insert(b.end(), payload.begin(), payload.end());
    serf_->handle_packet(now, address{}, b, *this);
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
    return serf_->force_leave(swim::transport::now(), node, prune, *this);
  }
  std::string user_event(const std::string& name, const bytes& payload, bool coalesce) override {
    return serf_->user_event(swim::transport::now(), name, payload, coalesce, *this);
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
    return serf_->respond(swim::transport::now(), handle, payload, *this);
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
  std::string setup();
  std::string resolve_bind(asio::ip::address& ip, std::uint16_t& port);
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
  // What /metrics serves and `chorus info` shows (section "metrics").
  std::vector<prometheus::family> collect_metrics() const;
  std::string start_metrics();

  agent_config cfg_;
  asio::io_context io_;
  log_hub hub_;
  std::shared_ptr<spdlog::logger> log_ = hub_.logger();
  swim::keyring keys_;
  std::unique_ptr<serf> serf_;
  std::unique_ptr<swim::transport::transport> transport_;
  std::unique_ptr<rpc::server> rpc_;
  std::unique_ptr<handler_runner> handlers_;
  std::unique_ptr<mdns::discovery> mdns_;    // -discover
  std::unique_ptr<metrics_server> metrics_;  // -metrics-addr
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

bool daemon_impl::is_member_ip(const address& ip) {
  if (!serf_) return false;
  // Every accepted gossip connection asks, a flood of them too: walk the
  // member table at most once a second (a member that joined meanwhile is a
  // stranger for that long: it still gets a stranger's share).
  const auto t = steady::now();
  if (t >= member_ips_expire_) {
    member_ips_.clear();
    const auto& table = serf_->core().members();
    for (std::size_t i = 0; i < table.size(); ++i) {
      const auto& e = table.at(i);
      if (e.state == swim::member_state::left) continue;
      auto a = table.addr(e);
      a.port = 0;
      member_ips_.insert(a);
    }
    member_ips_expire_ = t + std::chrono::seconds(1);
  }
  auto key = ip;
  key.port = 0;
  return member_ips_.count(key) > 0;
}

std::string daemon_impl::resolve_bind(asio::ip::address& ip, std::uint16_t& port) {
  host_port hp;
  if (auto e = split_host_port(cfg_.bind, hp); !e.empty()) return "Invalid bind address: " + e;
  port = hp.has_port ? hp.port : 7946;
  asio::error_code ec;
  ip = asio::ip::make_address(hp.host.empty() ? "0.0.0.0" : hp.host, ec);
  if (ec) return "Invalid bind address '" + cfg_.bind + "': not an IP address";
  if (!cfg_.iface.empty()) {
    auto found = interface_ip(cfg_.iface);
    if (!found) return "Failed to get interface address for '" + cfg_.iface + "'";
    ip = *found;
  }
  return {};
}

std::string daemon_impl::setup() {
  hub_.set_level(*rpc::parse_log_level(cfg_.log_level));

  // Encryption.
  if (!cfg_.encrypt_key.empty() || !cfg_.keyring_file.empty()) {
    const auto aes = swim::aes_gcm_status();
    if (!aes.available) return "Encryption is configured but unavailable on this machine: " + aes.message;
  }
  if (!cfg_.encrypt_key.empty()) {
    auto k = swim::key_from_base64(cfg_.encrypt_key);
    if (!k.ok()) return "Invalid encryption key: " + k.error;
    if (auto e = keys_.install(k.key); !e.empty()) return "Invalid encryption key: " + e;
  }
  if (!cfg_.keyring_file.empty()) {
    std::vector<swim::key_bytes> file_keys;
    if (auto e = read_keyring_file(cfg_.keyring_file, file_keys); !e.empty()) return e;
    for (const auto& k : file_keys)
      if (auto e = keys_.install(k); !e.empty()) return "Invalid key in keyring file: " + e;
  }

  // Addresses.
  asio::ip::address bind_ip;
  std::uint16_t port = 0;
  if (auto e = resolve_bind(bind_ip, port); !e.empty()) return e;
  asio::ip::address adv_ip = bind_ip;
  std::uint16_t adv_port = port;
  if (!cfg_.advertise.empty()) {
    host_port hp;
    split_host_port(cfg_.advertise, hp);
    asio::error_code ec;
    adv_ip = asio::ip::make_address(hp.host, ec);
    if (ec) {
      asio::ip::tcp::resolver res(io_);
      auto results = res.resolve(hp.host, "", ec);
      if (ec || results.empty()) return "Failed to resolve advertise address '" + hp.host + "'";
      adv_ip = results.begin()->endpoint().address();
    }
    if (hp.has_port) adv_port = hp.port;
  } else if (bind_ip.is_unspecified()) {
    auto found = interface_ip("");
    adv_ip = found ? *found : asio::ip::address(asio::ip::address_v4::loopback());
  }

  // Transport.
  swim::transport::options topt;
  topt.bind_ip = bind_ip;
  topt.port = port;
  topt.compress = cfg_.enable_compression;
  topt.keys = &keys_;
  topt.label = cfg_.label;
  swim::config ml = cfg_.profile == "wan"     ? swim::config::wan("", {})
                    : cfg_.profile == "local" ? swim::config::local("", {})
                                              : swim::config::lan("", {});
  topt.tcp_timeout = ml.tcp_timeout;
  if (cfg_.gossip_tcp_max_inbound) topt.max_inbound_tcp = *cfg_.gossip_tcp_max_inbound;
  if (cfg_.gossip_tcp_member_reserve) topt.inbound_tcp_member_reserve = *cfg_.gossip_tcp_member_reserve;
  if (cfg_.gossip_tcp_max_per_source) topt.max_inbound_tcp_per_source = *cfg_.gossip_tcp_max_per_source;
  if (cfg_.gossip_tcp_first_byte_timeout)
    topt.tcp_first_byte_timeout = std::chrono::duration_cast<duration>(*cfg_.gossip_tcp_first_byte_timeout);
  if (cfg_.gossip_tcp_min_bytes_per_second) topt.tcp_min_bytes_per_second = *cfg_.gossip_tcp_min_bytes_per_second;
  transport_ = std::make_unique<swim::transport::transport>(io_, topt, *this, nullptr, leveled_log());
  if (auto e = transport_->open(); !e.empty()) return "Failed to start the Serf agent: " + e;
  if (port == 0) adv_port = transport_->port();
  bind_text_ = (bind_ip.is_v6() ? "[" + bind_ip.to_string() + "]" : bind_ip.to_string()) + ":" +
               std::to_string(transport_->port());

  // Serf.
  serf_config sc;
  ml.name = cfg_.node_name;
  ml.advertise = swim::transport::to_address(adv_ip, adv_port);
  ml.encryption = !keys_.empty();
  sc.memberlist = ml;
  sc.tags = cfg_.tags;
  sc.protocol = static_cast<std::uint8_t>(cfg_.protocol);
  sc.query_response_size_limit = cfg_.query_response_size_limit;
  sc.query_size_limit = cfg_.query_size_limit;
  sc.user_event_size_limit = cfg_.user_event_size_limit;
  sc.broadcast_timeout = std::chrono::duration_cast<duration>(cfg_.broadcast_timeout);
  if (cfg_.reconnect_interval.count())
    sc.reconnect_interval = std::chrono::duration_cast<duration>(cfg_.reconnect_interval);
  if (cfg_.reconnect_timeout.count())
    sc.reconnect_timeout = std::chrono::duration_cast<duration>(cfg_.reconnect_timeout);
  if (cfg_.tombstone_timeout.count())
    sc.tombstone_timeout = std::chrono::duration_cast<duration>(cfg_.tombstone_timeout);
  sc.enable_name_resolution = !cfg_.disable_name_resolution;
  sc.disable_coordinates = cfg_.disable_coordinates;
  serf_ = std::make_unique<serf>(sc, std::random_device{}() ^ (std::uint64_t(std::random_device{}()) << 32),
                                 keys_.empty() ? nullptr : &keys_);

  // mDNS discovery (-discover, mdns.hpp): advertise the gossip address, join
  // the agents found. Browsing starts once io_ runs, after serf_->start.
  if (!cfg_.discover.empty()) {
    mdns::discovery::options mo;
    mo.self.cluster = cfg_.discover;
    mo.self.node = cfg_.node_name;
    if (adv_ip.is_v4()) {
      const auto b = adv_ip.to_v4().to_bytes();
      mo.self.address.assign(b.begin(), b.end());
    } else {
      const auto b = adv_ip.to_v6().to_bytes();
      mo.self.address.assign(b.begin(), b.end());
    }
    mo.self.gossip_port = adv_port;
    if (bind_ip.is_v4() && !bind_ip.is_unspecified()) mo.interface_ip = bind_ip.to_v4();
    mdns_ = std::make_unique<mdns::discovery>(
        io_, mo,
        [this](std::vector<std::string> addrs, std::function<void(int)> done) {
          if (stopping_) return;
          join_addresses(std::move(addrs), cfg_.replay_on_join, [done](int n, std::string) { done(n); });
        },
        leveled_log());
    if (auto e = mdns_->start(); !e.empty()) return "Error starting mDNS listener: " + e;
  }

  // Event handlers.
  std::vector<handler_spec> specs;
  for (const auto& h : cfg_.event_handlers) {
    handler_spec s;
    if (auto e = parse_handler_spec(h, s); !e.empty()) return e;
    specs.push_back(std::move(s));
  }
  handlers_ = std::make_unique<handler_runner>([this](const handler_result& r) {
    ++handler_runs_;
    if (r.exit_code != 0) ++handler_failures_;
    if (r.elapsed > handler_slow_warning) log_->warn("agent: Script '{}' slow, execution exceeding {}", r.script, "1s");
    if (r.exit_code != 0) log_->error("agent: Error invoking script '{}': exit status {}", r.script, r.exit_code);
    if (!r.output.empty()) log_->debug("agent: Event '{}' script output: {}", r.event.event, r.output);
    if (r.event.event == "query" && r.exit_code == 0 && !r.output.empty()) {
      asio::post(io_, [this, h = r.event.query_handle, out = r.output] {
        if (!serf_) return;
        auto e = serf_->respond(swim::transport::now(), h, bytes(out.begin(), out.end()), *this);
        if (!e.empty()) log_->warn("agent: failed to respond to query: {}", e);
      });
    }
  });
  handlers_->configure(specs, cfg_.node_name, cfg_.tags);

  // RPC.
  host_port rp;
  split_host_port(cfg_.rpc_addr, rp);
  asio::error_code ec;
  const auto rpc_ip = asio::ip::make_address(rp.host, ec);
  if (ec) return "Invalid RPC address '" + cfg_.rpc_addr + "': not an IP address";
  rpc::server_options ro;
  ro.auth_key = cfg_.rpc_auth;
  rpc_ = std::make_unique<rpc::server>(io_, *this, ro, [this](rpc::log_level l, const std::string& text) {
    // Serf's levels: "Accepted client" is INFO, decode failures ERR.
    if (l >= rpc::log_level::err)
      log_->error("{}", text);
    else if (l == rpc::log_level::warn)
      log_->warn("{}", text);
    else if (l == rpc::log_level::info)
      log_->info("{}", text);
    else
      log_->debug("{}", text);
  });
  if (auto e = rpc_->listen({rpc_ip, rp.has_port ? rp.port : std::uint16_t{7373}}); !e.empty()) return e;
  rpc_->set_log_history([this] { return hub_.history(); });
  if (auto e = start_metrics(); !e.empty()) return e;
  hub_.set_listener([this](rpc::log_level l, const std::string& line) {
    asio::post(io_, [this, l, line] {
      if (rpc_) rpc_->publish_log(l, line);
    });
  });
  return {};
}

void daemon_impl::print_banner() {
  std::printf("==> Starting Serf agent...\n==> Starting Serf agent RPC...\n==> Serf agent running!\n");
  std::printf("                      Node name: '%s'\n", cfg_.node_name.c_str());
  std::printf("                      Bind addr: '%s'\n", bind_text_.c_str());
  std::printf("                       RPC addr: '%s'\n", cfg_.rpc_addr.c_str());
  std::printf("                      Encrypted: %s\n", keys_.empty() ? "false" : "true");
  std::printf("                       Snapshot: %s\n", cfg_.snapshot_path.empty() ? "false" : "true");
  std::printf("                        Profile: %s\n", cfg_.profile.c_str());
  std::printf("    Message Compression Enabled: %s\n", cfg_.enable_compression ? "true" : "false");
  if (!cfg_.label.empty()) std::printf("                          Label: '%s'\n", cfg_.label.c_str());
  if (metrics_) std::printf("                   Metrics addr: '%s'\n", cfg_.metrics_addr.c_str());
  std::printf("\n==> Log data will now stream in as it occurs:\n\n");
  std::fflush(stdout);
}

int daemon_impl::run() {
  if (auto e = setup(); !e.empty()) {
    std::printf("==> %s\n", e.c_str());
    std::fflush(stdout);
    return 1;
  }
  if (auto e = open_snapshot(); !e.empty()) {
    std::printf("==> %s\n", e.c_str());
    std::fflush(stdout);
    return 1;
  }
  print_banner();
  std::optional<restored_clocks> restored;
  if (snapshot_) {
    const auto& st = snapshot_->restored();
    restored = restored_clocks{st.member_clock, st.event_clock, st.query_clock};
  }
  serf_->start(swim::transport::now(), *this, restored);
  if (snapshot_) {
    const auto& st = snapshot_->restored();
    if (st.coordinate && !cfg_.disable_coordinates) {
      if (serf_->restore_coordinate(*st.coordinate))
        log_->info("agent: restored the local coordinate from the snapshot");
      else
        log_->warn("agent: the snapshot's coordinate is not usable; starting from the origin");
    }
    arm_snapshot_timer();
    auto prev = std::make_shared<std::vector<std::string>>();
    for (const auto& [name, addr] : st.alive)
      if (name != cfg_.node_name) prev->push_back(name + "/" + addr);
    std::shuffle(prev->begin(), prev->end(), std::mt19937_64(std::random_device{}()));
    if (!prev->empty()) asio::post(io_, [this, prev] { rejoin_previous(prev, 0); });
  }
  log_->info("agent: chorus {} started as '{}' on {}", chorus::version, cfg_.node_name, bind_text_);

  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.add(SIGHUP);
  std::function<void(const asio::error_code&, int)> on_sig = [this, &on_sig](const asio::error_code& ec, int sig) {
    if (ec) return;
    on_signal(sig);
    signals_.async_wait(on_sig);
  };
  signals_.async_wait(on_sig);

  if (!cfg_.start_join.empty()) {
    join_addresses(cfg_.start_join, cfg_.replay_on_join, [this](int num, std::string error) {
      if (num == 0) {
        log_->error("agent: startup join failed: {}", error);
        std::printf("==> Failed to join: %s\n", error.c_str());
        shutdown(1);
      } else {
        log_->info("agent: joined {} nodes", num);
      }
    });
  }
  if (!cfg_.retry_join.empty()) asio::post(io_, [this] { retry_join_attempt(); });

  io_.run();
  return exit_code_;
}

void daemon_impl::retry_join_attempt() {
  if (stopping_) return;
  ++retry_attempts_;
  log_->info("agent: Joining cluster... (attempt {})", retry_attempts_);
  join_addresses(cfg_.retry_join, cfg_.replay_on_join, [this](int num, std::string error) {
    if (stopping_) return;
    if (num > 0) {
      log_->info("agent: Join completed. Synced with {} initial agents", num);
      return;
    }
    log_->warn("agent: Join failed: {}, retrying in {}", error, format_go_duration(cfg_.retry_interval));
    if (cfg_.retry_max_attempts > 0 && retry_attempts_ >= cfg_.retry_max_attempts) {
      log_->error("agent: max join retry exhausted, exiting");
      return shutdown(1);
    }
    retry_timer_.expires_after(cfg_.retry_interval);
    retry_timer_.async_wait([this](const asio::error_code& ec) {
      if (!ec) retry_join_attempt();
    });
  });
}

void daemon_impl::join_addresses(std::vector<std::string> addrs, bool replay,
                                 std::function<void(int, std::string)> done) {
  // Each argument resolves on its own; Serf lists every failure in argument
  // order and fails only when no address answered (serf_join.hpp).
  struct pending {
    std::vector<std::string> errors;          // per argument: why it did not resolve
    std::vector<std::vector<address>> found;  // per argument
    std::size_t left = 0;
  };
  auto p = std::make_shared<pending>();
  p->errors.resize(addrs.size());
  p->found.resize(addrs.size());
  p->left = addrs.size();
  auto finish = [this, p, replay, done]() {
    if (stopping_) return;
    std::vector<address> seeds;
    std::vector<std::size_t> arg_of;
    for (std::size_t i = 0; i < p->found.size(); ++i)
      for (const auto& a : p->found[i]) seeds.push_back(a), arg_of.push_back(i);
    auto report = [p, arg_of, done](const join_result& r) {
      if (r.ok > 0) return done(r.ok, std::string());
      std::vector<std::vector<std::string>> per_arg(p->errors.size());
      for (const auto& f : r.failures) per_arg[arg_of[f.index]].push_back(join_text::join_failure(f.addr, f.reason));
      std::vector<std::string> all;
      for (std::size_t i = 0; i < per_arg.size(); ++i) {
        if (!p->errors[i].empty()) all.push_back(p->errors[i]);
        all.insert(all.end(), per_arg[i].begin(), per_arg[i].end());
      }
      done(0, all.empty() ? std::string("no addresses to join") : join_text::multierror(all));
    };
    if (seeds.empty()) return report(join_result{});
    joins_[serf_->join(swim::transport::now(), seeds, replay, *this)] = report;
  };
  // memberlist's default port is its own bind port.
  const std::uint16_t default_port = transport_ ? transport_->port() : 7946;
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    const auto t = join_text::parse(addrs[i], default_port);
    asio::error_code ec;
    const auto ip = t.error.empty() ? asio::ip::make_address(t.host, ec) : asio::ip::address{};
    if (!t.error.empty() || !ec || !join_text::is_domain_name(t.host)) {
      if (!t.error.empty())
        p->errors[i] = join_text::resolve_failure(addrs[i], t.error);
      else if (!ec)
        p->found[i].push_back(swim::transport::to_address(ip, t.port));
      else
        p->errors[i] = join_text::resolve_failure(addrs[i], join_text::lookup_error(t.host, true));
      --p->left;
      continue;
    }
    auto res = std::make_shared<asio::ip::udp::resolver>(io_);
    res->async_resolve(
        t.host, std::to_string(t.port),
        [p, res, i, text = addrs[i], host = t.host, finish](const asio::error_code& ec,
                                                            asio::ip::udp::resolver::results_type r) {
          const bool not_found = ec == asio::error::host_not_found || ec == asio::error::no_data;
          if (ec)
            p->errors[i] = join_text::resolve_failure(
                text, join_text::lookup_error(host, not_found, not_found ? "" : ec.message()));
          else
            for (const auto& e : r)
              p->found[i].push_back(swim::transport::to_address(e.endpoint().address(), e.endpoint().port()));
          if (--p->left == 0) finish();
        });
  }
  // Nothing to wait for: still report from the io loop, never from inside
  // the caller (which may be a Serf callback).
  if (p->left == 0) asio::post(io_, finish);
}

void daemon_impl::join_done(std::uint64_t id, const join_result& r) {
  auto it = joins_.find(id);
  if (it == joins_.end()) return;
  auto fn = std::move(it->second);
  joins_.erase(it);
  asio::post(io_, [fn, r] { fn(r); });
}

void daemon_impl::start_leave() {
  if (leaving_) return;
  leaving_ = true;
  if (snapshot_) snapshot_->leave();
  log_->info("agent: requesting graceful leave from Serf");
  serf_->leave(swim::transport::now(), *this);
  // Graceful shutdown gives up after 3 s (serf.md 14) plus the broadcast wait.
  retry_timer_.cancel();
  auto guard = std::make_shared<asio::steady_timer>(io_, cfg_.broadcast_timeout + std::chrono::seconds(3));
  guard->async_wait([this, guard](const asio::error_code& ec) {
    if (ec || stopping_) return;
    log_->warn("agent: graceful leave timed out");
    leave_done("leave timed out");
  });
}

void daemon_impl::leave_done(std::string_view error) {
  if (stopping_) return;
  auto waiters = std::move(leave_waiters_);
  leave_waiters_.clear();
  const std::string e(error);
  if (e.empty()) log_->info("agent: graceful leave complete");
  asio::post(io_, [this, waiters, e] {
    for (auto& w : waiters) w(e);
    // Let the replies drain, then stop.
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
    t->async_wait([this, t](const asio::error_code&) { shutdown(0); });
  });
}

void daemon_impl::shutdown(int code) {
  if (stopping_) return;
  stopping_ = true;
  exit_code_ = code;
  log_->info("agent: shutdown");
  retry_timer_.cancel();
  asio::error_code ec;
  signals_.cancel(ec);
  if (rpc_) rpc_->close();
  if (metrics_) metrics_->close();
  if (transport_) transport_->close();
  if (snapshot_) {
    snapshot_tick();
    snapshot_->close();  // flush + fsync
    snapshot_timer_.cancel();
  }
  if (mdns_) mdns_->stop();
  handlers_.reset();
  io_.stop();
}

void daemon_impl::on_signal(int sig) {
  if (sig == SIGHUP) return reload();
  if (leaving_ || stopping_) {
    log_->warn("agent: second signal, exiting now");
    return shutdown(1);
  }
  const bool graceful = sig == SIGINT ? !cfg_.skip_leave_on_interrupt : cfg_.leave_on_terminate;
  log_->info("agent: caught signal: {}", sig == SIGINT ? "interrupt" : "terminated");
  if (!graceful) return shutdown(sig == SIGINT ? 1 : 0);
  start_leave();
}

void daemon_impl::reload() {
  log_->info("agent: reloading configuration (SIGHUP)");
  // The same command line with the files read again: precedence rules are
  // load_config's (flags win, lists accumulate, a tags file replaces tags).
  agent_flags f;
  if (cfg_.origin) {
    f = *cfg_.origin;
  } else {
    f.config_files = cfg_.config_files;
    f.config_dirs = cfg_.config_dirs;
  }
  auto r = load_config(f);
  if (!r.ok()) {
    log_->error("agent: reload failed, keeping the old configuration: {}", r.error);
    return;
  }
  const agent_config& next = r.config;

  if (auto l = rpc::parse_log_level(next.log_level); l && next.log_level != cfg_.log_level) {
    log_->info("agent: log level {} -> {}", cfg_.log_level, next.log_level);
    cfg_.log_level = next.log_level;
    hub_.set_level(*l);
  }

  // Tags: the new set replaces the old one, so removed tags disappear too.
  if (next.tags != serf_->tags()) {
    if (auto e = serf_->set_tags(swim::transport::now(), next.tags, *this); !e.empty()) {
      log_->error("agent: reload: {}", e);
    } else {
      log_->info("agent: reload: tags updated ({} tags)", next.tags.size());
      cfg_.tags = next.tags;
    }
  }

  // Event handlers: exactly the reloaded list (one removed from a file stops).
  std::vector<handler_spec> specs;
  for (const auto& h : next.event_handlers) {
    handler_spec s;
    if (parse_handler_spec(h, s).empty()) specs.push_back(s);
  }
  cfg_.event_handlers = next.event_handlers;
  handlers_->configure(specs, cfg_.node_name, serf_->tags());
  log_->info("agent: reload: {} event handlers", specs.size());

  reload_keyring();
}

void daemon_impl::reload_keyring() {
  if (cfg_.keyring_file.empty()) return;
  if (keys_.empty()) {
    log_->warn("agent: reload: encryption was off at start; the keyring file is not applied until a restart");
    return;
  }
  std::vector<swim::key_bytes> file_keys;
  if (auto e = read_keyring_file(cfg_.keyring_file, file_keys); !e.empty()) {
    log_->error("agent: reload: {}; keeping the current keyring", e);
    return;
  }
  auto installed = keys_.keys();
  auto has = [](const std::vector<swim::key_bytes>& v, const swim::key_bytes& k) {
    return std::find(v.begin(), v.end(), k) != v.end();
  };
  for (const auto& k : file_keys)
    if (!has(installed, k)) {
      if (auto e = keys_.install(k); !e.empty()) {
        log_->error("agent: reload: cannot install a key: {}", e);
        return;
      }
      log_->info("agent: reload: installed key {}", swim::key_to_base64(k));
    }
  // The file's first key is the primary, as at start.
  if (keys_.keys().front() != file_keys.front()) {
    if (auto e = keys_.use(file_keys.front()); e.empty())
      log_->info("agent: reload: primary key is now {}", swim::key_to_base64(file_keys.front()));
  }
  for (const auto& k : keys_.keys())
    if (!has(file_keys, k)) {
      if (auto e = keys_.remove(k); e.empty()) log_->info("agent: reload: removed key {}", swim::key_to_base64(k));
    }
}

void daemon_impl::save_keyring() {
  if (cfg_.keyring_file.empty()) return;
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& k : keys_.keys()) arr.push_back(swim::key_to_base64(k));
  std::ofstream f(cfg_.keyring_file, std::ios::trunc);
  f << arr.dump() << "\n";
  if (!f) log_->error("agent: failed to write keyring file {}", cfg_.keyring_file);
}

std::string daemon_impl::set_tags(const rpc::string_map& set, const std::vector<std::string>& del) {
  tag_map t = serf_->tags();
  for (const auto& d : del) t.erase(d);
  for (const auto& [k, v] : set) t[k] = v;
  if (auto e = serf_->set_tags(swim::transport::now(), t, *this); !e.empty()) return e;
  handlers_->configure(handlers_->specs(), cfg_.node_name, t);
  if (!cfg_.tags_file.empty()) {
    nlohmann::json j = t;
    std::ofstream f(cfg_.tags_file, std::ios::trunc);
    f << j.dump(2) << "\n";
    if (!f) return "Failed to write tags file " + cfg_.tags_file;
  }
  return {};
}

namespace {
// Threads of this process, from /proc/self/status ("Threads:\tN"); 0 if unreadable.
int process_thread_count() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  return 0;
}
}  // namespace

rpc::stats_response daemon_impl::stats() {
  rpc::stats_response s;
  s["agent"]["name"] = cfg_.node_name;
  utsname u{};
  uname(&u);
  s["runtime"]["os"] = "linux";
  s["runtime"]["arch"] = std::string(u.machine) == "x86_64" ? "amd64" : u.machine;
  s["runtime"]["version"] = std::string("chorus ") + chorus::version;
  s["runtime"]["max_procs"] = std::to_string(std::thread::hardware_concurrency());
  // Serf reports its goroutine count here; ours is the process's thread count.
  s["runtime"]["goroutines"] = std::to_string(process_thread_count());
  s["runtime"]["cpu_count"] = std::to_string(std::thread::hardware_concurrency());
  for (const auto& [k, v] : serf_->stats().as_map()) s["serf"][k] = v;
  for (const auto& [k, v] : serf_->tags()) s["tags"][k] = v;
  for (const auto& h : handlers_->specs()) {
    std::string key = h.filter_text.empty() ? "*:" : h.filter_text;
    if (key.find(':') == std::string::npos) key += ":";
    s["event_handlers"][key] = h.script;
  }
  return s;
}

rpc::stats_response daemon_impl::chorus_stats() {
  rpc::stats_response s;
  for (auto& [k, v] : prometheus::flatten(collect_metrics())) s["metrics"][k] = std::move(v);
  // Why each troubled member is suspect/failed, from our point of view:
  // only members that were suspected or declared failed (a lost probe alone
  // is not a failure).
  const auto now = swim::transport::now();
  const auto wall = std::chrono::system_clock::now();
  for (const auto& m : serf_->members())
    if (m.name != cfg_.node_name && m.status != member_status::left && (m.failure.suspected_at || m.failure.failed_at))
      s["failures"][m.name] = describe_failure(m.failure, now, wall);
  return s;
}

std::vector<prometheus::family> daemon_impl::collect_metrics() const {
  using prometheus::family;
  using prometheus::metric_type;
  std::vector<family> out;
  auto add = [&](metric_type type, std::string name, std::string help) -> family& {
    out.push_back(family{std::move(name), std::move(help), type, {}});
    return out.back();
  };
  auto counter = [&](std::string name, std::string help, double v) { add(metric_type::counter, name, help).add(v); };
  auto gauge = [&](std::string name, std::string help, double v) { add(metric_type::gauge, name, help).add(v); };
  const auto& cs = serf_->core().stats();
  const auto& ts = transport_->stats();
  const auto ss = serf_->stats();

  // Membership.
  std::map<std::string, double> by_status{{"alive", 0}, {"leaving", 0}, {"left", 0}, {"failed", 0}};
  for (const auto& m : serf_->members())
    if (auto it = by_status.find(status_name(m.status)); it != by_status.end()) ++it->second;
  auto& members =
      add(metric_type::gauge, "chorus_members", "Members known to this agent (itself included), by Serf status.");
  for (const auto& [status, n] : by_status) members.add(n, {{"status", status}});
  double suspect = 0;
  const auto& table = serf_->core().members();
  for (std::size_t i = 0; i < table.size(); ++i) suspect += table.at(i).state == swim::member_state::suspect;
  gauge("chorus_members_suspect", "Members currently suspected by the failure detector (counted as alive above).",
        suspect);

  // Failure detection.
  counter("chorus_probes_total", "Failure-detector probes this agent started.", cs.probes);
  counter("chorus_probes_failed_total", "Probes that got no ack (direct, indirect or TCP).", cs.probe_failures);
  counter("chorus_probes_indirect_total", "Probes that went on to ask other members (ping-req).", cs.indirect_probes);
  counter("chorus_probes_tcp_fallback_total", "Probes that went on to the TCP fallback ping.", cs.tcp_pings);
  counter("chorus_suspicions_raised_total", "Suspicions this agent raised after its own failed probes.",
          cs.suspicions_raised);
  counter("chorus_suspicions_observed_total", "Members this agent started to suspect (raised by anyone).",
          suspicions_observed_);
  counter("chorus_suspicions_refuted_total", "Suspected members that refuted and were alive again.",
          suspicions_refuted_);
  counter("chorus_self_refutations_total", "Suspicions about this agent that it refuted.", cs.refutations);

  // Traffic.
  auto by_type = [&](const char* name, const char* help, const swim::transport::message_counts& c, bool bytes) {
    auto& f = add(metric_type::counter, name, help);
    for (std::size_t i = 0; i < swim::transport::message_counts::slots; ++i) {
      const char* type = swim::transport::message_counts::label(i);
      const auto v = bytes ? c.bytes[i] : c.messages[i];
      // The message types that exist alone always; layer types only if seen.
      static const std::set<std::string> usual{"ping",  "indirect_ping", "ack",  "nack",     "suspect",
                                               "alive", "dead",          "user", "push_pull"};
      if (v || usual.count(type)) f.add(static_cast<double>(v), {{"type", type}});
    }
  };
  by_type("chorus_messages_received_total", "Gossip messages received (UDP, and TCP streams), by message type.", ts.in,
          false);
  by_type("chorus_messages_sent_total", "Gossip messages sent (UDP, and TCP streams), by message type.", ts.out, false);
  by_type("chorus_message_bytes_received_total",
          "Bytes of gossip messages received, by message type (a TCP stream counts whole).", ts.in, true);
  by_type("chorus_message_bytes_sent_total",
          "Bytes of gossip messages sent, by message type, before compression and encryption.", ts.out, true);
  counter("chorus_udp_packets_received_total", "UDP datagrams received on the gossip port.", ts.udp_received);
  counter("chorus_udp_bytes_received_total", "UDP bytes received on the gossip port.", ts.udp_bytes_received);
  counter("chorus_udp_packets_sent_total", "UDP datagrams sent.", ts.udp_sent);
  counter("chorus_udp_bytes_sent_total", "UDP bytes sent (after compression and encryption).", ts.udp_bytes_sent);
  auto& malformed = add(metric_type::counter, "chorus_malformed_packets_total",
                        "Datagrams and TCP streams dropped as malformed (label, decryption, CRC, decoding).");
  malformed.add(static_cast<double>(ts.udp_malformed), {{"transport", "udp"}});
  malformed.add(static_cast<double>(ts.tcp_malformed), {{"transport", "tcp"}});
  auto& bad_messages = add(metric_type::counter, "chorus_malformed_messages_total",
                           "Messages dropped inside otherwise valid packets and streams, by reason.");
  bad_messages.add(static_cast<double>(cs.decode_errors), {{"reason", "undecodable"}});
  bad_messages.add(static_cast<double>(cs.refused), {{"reason", "refused_fields"}});
  bad_messages.add(static_cast<double>(ss.oversized_refused), {{"reason", "oversized"}});
  auto& dropped = add(metric_type::counter, "chorus_dropped_packets_total", "Traffic dropped, by reason.");
  dropped.add(static_cast<double>(ts.udp_send_dropped), {{"reason", "send_failed"}});
  dropped.add(static_cast<double>(ts.udp_seal_errors), {{"reason", "seal_failed"}});
  dropped.add(static_cast<double>(ts.tcp_refused), {{"reason", "tcp_over_limit"}});
  dropped.add(static_cast<double>(ts.tcp_refused_source), {{"reason", "tcp_source_limit"}});
  dropped.add(static_cast<double>(ts.tcp_idle_closed), {{"reason", "tcp_idle"}});
  dropped.add(static_cast<double>(ts.tcp_slow_closed), {{"reason", "tcp_too_slow"}});
  dropped.add(static_cast<double>(ts.tcp_evicted), {{"reason", "tcp_evicted_idle"}});
  dropped.add(static_cast<double>(ts.tcp_timeouts), {{"reason", "tcp_timeout"}});
  gauge("chorus_tcp_connections_inbound", "Inbound gossip TCP connections open now.",
        static_cast<double>(transport_->inbound_tcp()));

  // Push/pull (anti-entropy).
  auto& pp = add(metric_type::counter, "chorus_push_pulls_total", "Push/pull state exchanges, by direction.");
  pp.add(static_cast<double>(ts.push_pulls_started), {{"direction", "outbound"}});
  pp.add(static_cast<double>(ts.push_pulls_served), {{"direction", "inbound"}});
  counter("chorus_push_pulls_failed_total", "Outbound push/pull exchanges that failed.", ts.push_pulls_failed);
  prometheus::histogram_data h;
  h.bounds.assign(ts.push_pull_seconds.bounds.begin(), ts.push_pull_seconds.bounds.end());
  h.counts.assign(ts.push_pull_seconds.counts.begin(), ts.push_pull_seconds.counts.end());
  h.sum = ts.push_pull_seconds.sum;
  h.count = ts.push_pull_seconds.count;
  prometheus::add_histogram(add(metric_type::histogram, "chorus_push_pull_duration_seconds",
                                "Duration of completed outbound push/pull exchanges."),
                            h);

  // Broadcasts.
  auto& q = add(metric_type::gauge, "chorus_broadcast_queue_depth", "Broadcasts waiting to be gossiped, by queue.");
  q.add(static_cast<double>(serf_->core().pending_broadcasts()), {{"queue", "memberlist"}});
  q.add(static_cast<double>(ss.intent_queue), {{"queue", "intent"}});
  q.add(static_cast<double>(ss.event_queue), {{"queue", "event"}});
  q.add(static_cast<double>(ss.query_queue), {{"queue", "query"}});
  counter("chorus_broadcasts_dropped_total", "Broadcasts dropped from full queues.",
          static_cast<double>(serf_->core().dropped_broadcasts()));

  // Event handlers.
  counter("chorus_event_handler_runs_total", "Event handler script runs.", handler_runs_.load());
  counter("chorus_event_handler_failures_total", "Event handler runs that exited non-zero or could not start.",
          handler_failures_.load());
  counter("chorus_event_handler_dropped_total", "Events not handed to handlers because the queue was full.",
          handler_dropped_);
  gauge("chorus_event_handler_queue", "Handler runs waiting.", handlers_ ? handlers_->queued() : 0);

  // RPC, coordinates, health.
  gauge("chorus_rpc_clients", "RPC clients connected.", rpc_ ? rpc_->clients() : 0);
  counter("chorus_rpc_clients_dropped_total", "RPC clients dropped as too slow to read their streams.",
          rpc_ ? rpc_->dropped_slow_clients() : 0);
  auto& pending = add(metric_type::counter, "chorus_rpc_clients_pending_closed_total",
                      "RPC connections closed before completing the handshake (and auth), by reason.");
  pending.add(static_cast<double>(rpc_ ? rpc_->pending_timed_out() : 0), {{"reason", "timeout"}});
  pending.add(static_cast<double>(rpc_ ? rpc_->pending_evicted() : 0), {{"reason", "evicted"}});
  gauge("chorus_coordinate_error", "Estimated error of this agent's Vivaldi coordinate.",
        cfg_.disable_coordinates ? std::numeric_limits<double>::quiet_NaN() : serf_->local_coordinate().error);
  counter("chorus_coordinate_resets_total", "Times the local Vivaldi coordinate was reset.", ss.coordinate_resets);
  gauge("chorus_health_score", "Lifeguard local health (0 = healthy; higher = this agent is slow).", ss.health_score);
  if (metrics_) {
    auto& r = add(metric_type::counter, "chorus_metrics_requests_total", "HTTP requests to the metrics listener.");
    r.add(static_cast<double>(metrics_->stats().requests - metrics_->stats().errors), {{"result", "ok"}});
    r.add(static_cast<double>(metrics_->stats().errors), {{"result", "error"}});
    r.add(static_cast<double>(metrics_->stats().refused), {{"result", "refused"}});
    r.add(static_cast<double>(metrics_->stats().timeouts), {{"result", "timeout"}});
  }
  return out;
}

std::string daemon_impl::start_metrics() {
  if (cfg_.metrics_addr.empty()) return {};
  host_port mp;
  if (auto e = split_host_port(cfg_.metrics_addr, mp); !e.empty())
    return "Invalid metrics address '" + cfg_.metrics_addr + "': " + e;
  asio::error_code ec;
  const auto ip = asio::ip::make_address(mp.host.empty() ? "0.0.0.0" : mp.host, ec);
  if (ec) return "Invalid metrics address '" + cfg_.metrics_addr + "': not an IP address";
  metrics_ = std::make_unique<metrics_server>(
      io_, metrics_server::options{}, [this] { return prometheus::render(collect_metrics()); }, leveled_log());
  if (auto e = metrics_->listen({ip, mp.port}); !e.empty())
    return "Error starting the metrics listener on " + cfg_.metrics_addr + ": " + e;
  log_->info("agent: serving Prometheus metrics at http://{}:{}/metrics",
             ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string(), metrics_->port());
  return {};
}

void daemon_impl::key_operation(rpc::command c, const std::string& key,
                                std::function<void(rpc::key_response, std::string)> done) {
  key_op op = key_op::list;
  if (c == rpc::command::install_key) op = key_op::install;
  if (c == rpc::command::use_key) op = key_op::use;
  if (c == rpc::command::remove_key) op = key_op::remove;
  swim::key_bytes raw;
  if (op != key_op::list) {
    // Any size goes to the cluster, as Serf does: each member answers for
    // itself ("key size must be 16, 24 or 32 bytes").
    if (auto e = rpc::go_base64_error(key); !e.empty()) {
      asio::post(io_, [done, e] { done(rpc::key_response{}, e); });
      return;
    }
    const auto k = rpc::go_base64_decode(key);
    raw.assign(k.begin(), k.end());
  }
  const auto id = serf_->key_operation(swim::transport::now(), op, raw, *this);
  key_ops_[id] = {c, std::move(done)};
  if (pending_key_result_ && pending_key_result_->first == id) {
    auto r = std::move(pending_key_result_->second);
    pending_key_result_.reset();
    key_operation_done(id, r);
  }
}

void daemon_impl::key_operation_done(std::uint64_t op, const key_result& r) {
  auto it = key_ops_.find(op);
  if (it == key_ops_.end()) {
    // Delivered synchronously from inside key_operation (nothing started).
    pending_key_result_ = std::make_pair(op, r);
    return;
  }
  auto [cmd, fn] = std::move(it->second);
  key_ops_.erase(it);
  rpc::key_response resp;
  resp.num_nodes = r.num_nodes;
  resp.num_resp = r.num_resp;
  resp.num_err = r.num_err;
  resp.messages = rpc::string_map(r.messages.begin(), r.messages.end());
  if (cmd == rpc::command::list_keys) {
    resp.keys.emplace();
    for (const auto& [k, n] : r.keys) (*resp.keys)[k] = n;
  }
  asio::post(io_, [fn = std::move(fn), resp, e = r.error] { fn(resp, e); });
}

std::string daemon_impl::query(const rpc::query_request& q, std::function<void(const rpc::query_record&)> rec) {
  query_params p;
  p.name = q.name;
  p.payload = q.payload.value_or(bytes{});
  p.filter_nodes = q.filter_nodes.value_or(std::vector<std::string>{});
  if (q.filter_tags) p.filter_tags = std::map<std::string, std::string>(q.filter_tags->begin(), q.filter_tags->end());
  p.request_ack = q.request_ack;
  p.relay_factor = q.relay_factor;
  p.timeout = std::chrono::duration_cast<duration>(std::chrono::nanoseconds(q.timeout_ns));
  auto started = serf_->query(swim::transport::now(), p, *this);
  if (!started.ok()) return started.error;
  queries_[started.handle] = std::move(rec);
  return {};
}

void daemon_impl::record(query_handle h, const rpc::query_record& r, bool last) {
  auto it = queries_.find(h);
  if (it == queries_.end()) return;
  auto fn = it->second;
  if (last) queries_.erase(it);
  // Posted: the RPC reply must follow the query's ack header, and the
  // callback must not run inside serf's call.
  asio::post(io_, [fn, r] { fn(r); });
}

std::string daemon_impl::open_snapshot() {
  if (cfg_.snapshot_path.empty()) return {};
  snapshot_options o;
  o.path = cfg_.snapshot_path;
  o.rejoin_after_leave = cfg_.rejoin_after_leave;
  // Called from the writer thread too: spdlog loggers are thread-safe.
  o.log = [log = log_](bool warning, const std::string& text) {
    if (warning)
      log->warn("agent: {}", text);
    else
      log->info("agent: {}", text);
  };
  std::string error;
  snapshot_ = snapshotter::open(std::move(o), error);
  if (!snapshot_) return "Failed to setup snapshot: " + error;
  const auto& st = snapshot_->restored();
  log_->info("agent: snapshot {}: {} previously alive members, clock {}, event clock {}, query clock {}{}",
             cfg_.snapshot_path, st.alive.size(), st.member_clock, st.event_clock, st.query_clock,
             st.left ? " (left gracefully)" : "");
  return {};
}

void daemon_impl::arm_snapshot_timer() {
  // Serf's snapshotter flushes and checks the clocks every 500 ms.
  snapshot_timer_.expires_after(std::chrono::milliseconds(500));
  snapshot_timer_.async_wait([this](const asio::error_code& ec) {
    if (ec || stopping_ || !snapshot_) return;
    snapshot_tick();
    arm_snapshot_timer();
  });
}

void daemon_impl::snapshot_tick() {
  const auto c = serf_->clocks();
  snapshot_->clocks(c.member_clock, c.event_clock, c.query_clock);
  if (!cfg_.disable_coordinates) snapshot_->coordinate(serf_->local_coordinate());
  snapshot_->flush();
}

void daemon_impl::rejoin_previous(std::shared_ptr<std::vector<std::string>> addrs, std::size_t next) {
  if (stopping_ || leaving_) return;
  if (next >= addrs->size()) {
    log_->warn("serf: Failed to re-join any previously known node");
    return;
  }
  const auto target = (*addrs)[next];
  log_->info("serf: Attempting re-join to previously known node: {}", target);
  join_addresses({target}, false, [this, addrs, next, target](int num, std::string error) {
    if (num > 0) {
      log_->info("serf: Re-joined to previously known node: {}", target);
      return;
    }
    log_->warn("serf: Failed to re-join {}: {}", target, error);
    rejoin_previous(addrs, next + 1);
  });
}

void daemon_impl::member_event_raw(const agent::member_event& e) {
  // What happened to whom, at once (the serf: EventMember... lines come
  // after coalescing).
  for (const auto& m : e.members) {
    const auto addr = m.addr.to_string();
    if (e.type == member_event_type::join) {
      log_->info("{}", member_news_line(member_news::joined, m.name, addr));
    } else if (e.type == member_event_type::leave) {
      log_->info("{}", member_news_line(member_news::left, m.name, addr));
    } else if (e.type == member_event_type::failed) {
      const auto cur = serf_->find_member(m.name);
      log_->warn("{}", member_news_line(member_news::failed, m.name, addr, {}, cur ? &cur->failure : nullptr));
    }
  }
  if (!snapshot_) return;
  for (const auto& m : e.members) {
    if (e.type == member_event_type::join) {
      const auto ip = swim::transport::to_ip(m.addr);
      snapshot_->member_alive(
          m.name, (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" + std::to_string(m.addr.port));
    } else if (e.type == member_event_type::leave || e.type == member_event_type::failed) {
      snapshot_->member_not_alive(m.name);
    }
  }
  const auto c = serf_->clocks();
  snapshot_->clocks(c.member_clock, c.event_clock, c.query_clock);
}

void daemon_impl::member_event(const agent::member_event& e) {
  rpc::member_event_record rec;
  rec.event = to_string(e.type);
  handler_event he;
  he.event = rec.event;
  for (const auto& m : e.members) {
    rec.members.push_back(to_rpc(m));
    handler_member hm;
    hm.name = m.name;
    hm.ip = ip_text(m.addr);
    if (auto it = m.tags.find("role"); it != m.tags.end()) hm.role = it->second;
    hm.tags = m.tags;
    he.members.push_back(std::move(hm));
    // A failure says why (who suspected, who confirmed, who declared it).
    std::string why;
    if (e.type == member_event_type::failed)
      if (auto cur = serf_->find_member(m.name))
        if (auto text = describe_failure(cur->failure, swim::transport::now(), std::chrono::system_clock::now());
            !text.empty())
          why = " (" + text + ")";
    log_->info("serf: {}: {} {}{}",
               rec.event == "member-join"     ? "EventMemberJoin"
               : rec.event == "member-leave"  ? "EventMemberLeave"
               : rec.event == "member-failed" ? "EventMemberFailed"
               : rec.event == "member-update" ? "EventMemberUpdate"
                                              : "EventMemberReap",
               m.name, ip_text(m.addr), why);
  }
  asio::post(io_, [this, rec] {
    if (rpc_) rpc_->publish(rec);
  });
  if (handlers_ && !handlers_->submit(he)) {
    ++handler_dropped_;
    log_->warn("agent: event handler queue full, dropped {}", he.event);
  }
}

void daemon_impl::user_event(const user_event_data& e) {
  log_->info("agent: Received event: user-event: {}", e.name);
  rpc::user_event_record rec;
  rec.coalesce = e.coalesce;
  rec.ltime = e.ltime;
  rec.name = e.name;
  rec.payload = e.payload;
  asio::post(io_, [this, rec] {
    if (rpc_) rpc_->publish(rec);
  });
  handler_event he;
  he.event = "user";
  he.name = e.name;
  he.ltime = e.ltime;
  he.payload.assign(e.payload.begin(), e.payload.end());
  if (handlers_ && !handlers_->submit(he)) {
    ++handler_dropped_;
    log_->warn("agent: event handler queue full, dropped user event");
  }
}

void daemon_impl::query(const query_event& e) {
  log_->info("agent: Received event: query: {}", e.name);
  rpc::query_event_record rec;
  rec.ltime = e.ltime;
  rec.name = e.name;
  rec.payload = e.payload;
  const auto left = e.deadline - swim::transport::now();
  const auto deadline = steady::now() + std::chrono::duration_cast<steady::duration>(left);
  asio::post(io_, [this, rec, h = e.handle, deadline] {
    if (rpc_) rpc_->publish_query(h, rec, deadline);
  });
  handler_event he;
  he.event = "query";
  he.name = e.name;
  he.ltime = e.ltime;
  he.payload.assign(e.payload.begin(), e.payload.end());
  he.query_handle = e.handle;
  he.deadline = deadline;
  if (handlers_ && !handlers_->submit(he)) ++handler_dropped_;
}

daemon::daemon(agent_config cfg) : impl_(std::make_unique<daemon_impl>(std::move(cfg))) {}
daemon::~daemon() = default;
int daemon::run() { return impl_->run(); }

}  // namespace chorus::agent
