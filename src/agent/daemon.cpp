// The daemon process: set-up, the run loop, signals, shutdown and SIGHUP
// reload (daemon_impl.hpp says where the rest lives).
#include "agent/daemon.hpp"

#include <ifaddrs.h>
#include <net/if.h>

#include <asio/ip/tcp.hpp>

#include "agent/daemon_impl.hpp"
#include "agent/keyring_file.hpp"

namespace chorus::agent {

namespace {

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

}  // namespace

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

// Start-up in the order its parts depend on each other: keys before the
// transport (it encrypts), the transport before Serf (its port), Serf before
// mDNS, handlers and RPC (they call into it). Each step returns the error
// that stops the agent, or "".
std::string daemon_impl::setup() {
  hub_.set_level(*rpc::parse_log_level(cfg_.log_level));
  if (auto e = setup_keyring(); !e.empty()) return e;
  endpoints ep;
  if (auto e = resolve_bind(ep.bind_ip, ep.port); !e.empty()) return e;
  if (auto e = resolve_advertise(ep); !e.empty()) return e;
  swim::config ml = cfg_.profile == "wan"     ? swim::config::wan("", {})
                    : cfg_.profile == "local" ? swim::config::local("", {})
                                              : swim::config::lan("", {});
  ml.purge_left_nodes = cfg_.purge_left_members;
  ml.validate_node_names = cfg_.validate_node_names;
  if (cfg_.confirmed_suspicion_floor) ml.suspicion_confirmed_min_scale = *cfg_.confirmed_suspicion_floor;
  if (auto e = swim::parse_cidr_list(cfg_.allowed_cidrs, ml.allowed_cidrs); !e.empty()) return e;  // checked at load
  if (auto e = start_transport(ep, ml); !e.empty()) return e;
  create_serf(ep, ml);
  if (auto e = start_mdns(ep); !e.empty()) return e;
  if (auto e = start_handlers(); !e.empty()) return e;
  if (auto e = start_rpc(); !e.empty()) return e;
  if (auto e = start_metrics(); !e.empty()) return e;
  if (auto e = start_http(); !e.empty()) return e;
  hub_.set_listener([this](rpc::log_level l, const std::string& line) {
    asio::post(io_, [this, l, line] {
      if (rpc_) rpc_->publish_log(l, line);
    });
  });
  return {};
}

std::string daemon_impl::setup_keyring() {
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
  return {};
}

// -advertise (an IP or a name to resolve, optional port), else the bind
// address, else (bound to 0.0.0.0) the first private IPv4 as Serf does.
std::string daemon_impl::resolve_advertise(endpoints& ep) {
  ep.adv_ip = ep.bind_ip;
  ep.adv_port = ep.port;
  if (!cfg_.advertise.empty()) {
    host_port hp;
    split_host_port(cfg_.advertise, hp);
    asio::error_code ec;
    ep.adv_ip = asio::ip::make_address(hp.host, ec);
    if (ec) {
      asio::ip::tcp::resolver res(io_);
      auto results = res.resolve(hp.host, "", ec);
      if (ec || results.empty()) return "Failed to resolve advertise address '" + hp.host + "'";
      ep.adv_ip = results.begin()->endpoint().address();
    }
    if (hp.has_port) ep.adv_port = hp.port;
  } else if (ep.bind_ip.is_unspecified()) {
    auto found = interface_ip("");
    ep.adv_ip = found ? *found : asio::ip::address(asio::ip::address_v4::loopback());
  }
  return {};
}

std::string daemon_impl::start_transport(endpoints& ep, const swim::config& ml) {
  swim::transport::options topt;
  topt.bind_ip = ep.bind_ip;
  topt.port = ep.port;
  topt.compress = cfg_.enable_compression;
  topt.keys = &keys_;
  topt.label = cfg_.label;
  topt.tcp_timeout = ml.tcp_timeout;
  if (cfg_.gossip_tcp_max_inbound) topt.max_inbound_tcp = *cfg_.gossip_tcp_max_inbound;
  if (cfg_.gossip_tcp_member_reserve) topt.inbound_tcp_member_reserve = *cfg_.gossip_tcp_member_reserve;
  if (cfg_.gossip_tcp_max_per_source) topt.max_inbound_tcp_per_source = *cfg_.gossip_tcp_max_per_source;
  if (cfg_.gossip_tcp_first_byte_timeout)
    topt.tcp_first_byte_timeout = std::chrono::duration_cast<duration>(*cfg_.gossip_tcp_first_byte_timeout);
  if (cfg_.gossip_tcp_min_bytes_per_second) topt.tcp_min_bytes_per_second = *cfg_.gossip_tcp_min_bytes_per_second;
  topt.allowed_cidrs = ml.allowed_cidrs;
  transport_ = std::make_unique<swim::transport::transport>(io_, topt, *this, leveled_log());
  if (auto e = transport_->open(); !e.empty()) return "Failed to start the Serf agent: " + e;
  if (ep.port == 0) ep.adv_port = transport_->port();  // -bind with port 0: the kernel chose
  bind_text_ = (ep.bind_ip.is_v6() ? "[" + ep.bind_ip.to_string() + "]" : ep.bind_ip.to_string()) + ":" +
               std::to_string(transport_->port());
  return {};
}

void daemon_impl::create_serf(const endpoints& ep, swim::config ml) {
  serf_config sc;
  ml.name = cfg_.node_name;
  ml.advertise = swim::transport::to_address(ep.adv_ip, ep.adv_port);
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
}

// mDNS discovery (-discover, mdns.hpp): advertise the gossip address, join
// the agents found. Browsing starts once io_ runs, after serf_->start.
std::string daemon_impl::start_mdns(const endpoints& ep) {
  if (cfg_.discover.empty()) return {};
  mdns::discovery::options mo;
  mo.self.cluster = cfg_.discover;
  mo.self.node = cfg_.node_name;
  if (ep.adv_ip.is_v4()) {
    const auto b = ep.adv_ip.to_v4().to_bytes();
    mo.self.address.assign(b.begin(), b.end());
  } else {
    const auto b = ep.adv_ip.to_v6().to_bytes();
    mo.self.address.assign(b.begin(), b.end());
  }
  mo.self.gossip_port = ep.adv_port;
  if (auto e = choose_mdns_interface(ep, mo); !e.empty()) return e;
  mdns_ = std::make_unique<mdns::discovery>(
      io_, mo,
      [this](std::vector<std::string> addrs, std::function<void(int)> done) {
        if (stopping_) return;
        join_addresses(std::move(addrs), cfg_.replay_on_join, [done](int n, std::string) { done(n); });
      },
      leveled_log());
  if (auto e = mdns_->start(); !e.empty()) return "Error starting mDNS listener: " + e;
  return {};
}

// The interface -discover runs on: -mdns-iface, else -iface (as Serf 0.10),
// else the bind address's own (IPv4 as before; IPv6 when bound to one IPv6
// address), else the kernel's choice for each family. A named interface
// must exist and hold an address; lacking one family it runs on the other.
std::string daemon_impl::choose_mdns_interface(const endpoints& ep, mdns::discovery::options& mo) {
  const std::string& name = cfg_.mdns_iface.empty() ? cfg_.iface : cfg_.mdns_iface;
  if (name.empty()) {
    if (ep.bind_ip.is_v4() && !ep.bind_ip.is_unspecified()) mo.interface_ip = ep.bind_ip.to_v4();
    if (ep.bind_ip.is_v6() && !ep.bind_ip.is_unspecified()) mo.ipv6_index = mdns::interface_holding(ep.bind_ip);
    return {};
  }
  mdns::interface_info info;
  if (auto e = mdns::find_interface(name, info); !e.empty()) return e;
  mo.iface = name;
  mo.ipv4 = info.ipv4.has_value();
  if (info.ipv4) mo.interface_ip = *info.ipv4;
  mo.ipv6 = info.has_ipv6;
  mo.ipv6_index = info.index;
  auto log = leveled_log();
  if (!mo.ipv4) log(2, "agent.mdns: interface " + name + " has no IPv4 address: mDNS on IPv6 only");
  if (!mo.ipv6) log(2, "agent.mdns: interface " + name + " has no IPv6 address: mDNS on IPv4 only");
  return {};
}

std::string daemon_impl::start_handlers() {
  std::vector<handler_spec> specs;
  for (const auto& h : cfg_.event_handlers) {
    handler_spec s;
    if (auto e = parse_handler_spec(h, s); !e.empty()) return e;
    specs.push_back(std::move(s));
  }
  // Runs on the handler worker's thread: counters are atomics, and a query's
  // answer is posted to the io thread.
  handlers_ = std::make_unique<handler_runner>([this](const handler_result& r) {
    ++handler_runs_;
    if (r.exit_code != 0) ++handler_failures_;
    if (r.elapsed > handler_slow_warning) log_->warn("agent: Script '{}' slow, execution exceeding {}", r.script, "1s");
    if (r.exit_code != 0) log_->error("agent: Error invoking script '{}': exit status {}", r.script, r.exit_code);
    if (!r.output.empty()) log_->debug("agent: Event '{}' script output: {}", r.event.event, r.output);
    if (r.event.event == "query" && r.exit_code == 0 && !r.output.empty()) {
      asio::post(io_, [this, h = r.event.query_handle, out = r.output] {
        if (!serf_) return;
        auto e = serf_->respond(swim::transport::now(), h, bytes(out.begin(), out.end()), sink());
        if (!e.empty()) log_->warn("agent: failed to respond to query: {}", e);
      });
    }
  });
  handlers_->configure(specs, cfg_.node_name, cfg_.tags);
  return {};
}

std::string daemon_impl::start_rpc() {
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
  if (http_) std::printf("                      HTTP addr: '%s'\n", cfg_.http_addr.c_str());
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
  serf_->start(swim::transport::now(), sink(), restored);
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
  if (http_) http_->close();
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
    if (auto e = serf_->set_tags(swim::transport::now(), next.tags, sink()); !e.empty()) {
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
  std::ofstream f(cfg_.keyring_file, std::ios::trunc);
  f << keyring_file_text(keys_.keys());
  if (!f) log_->error("agent: failed to write keyring file {}", cfg_.keyring_file);
}

daemon::daemon(agent_config cfg) : impl_(std::make_unique<daemon_impl>(std::move(cfg))) {}
daemon::~daemon() = default;
int daemon::run() { return impl_->run(); }

}  // namespace chorus::agent
