// The daemon's two HTTP listeners: -metrics-addr (/metrics only) and
// -http-addr (the HTTP/JSON API, docs/http.md), both http_servers on io_.
#include "agent/daemon_impl.hpp"

namespace chorus::agent {

namespace {
std::string url_host(const asio::ip::address& ip) { return ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string(); }
}  // namespace

std::string daemon_impl::start_metrics() {
  if (cfg_.metrics_addr.empty()) return {};
  host_port mp;
  if (auto e = split_host_port(cfg_.metrics_addr, mp); !e.empty())
    return "Invalid metrics address '" + cfg_.metrics_addr + "': " + e;
  asio::error_code ec;
  const auto ip = asio::ip::make_address(mp.host.empty() ? "0.0.0.0" : mp.host, ec);
  if (ec) return "Invalid metrics address '" + cfg_.metrics_addr + "': not an IP address";
  metrics_ = std::make_unique<http_server>(io_, http_server::options{},
                                           metrics_handler([this] { return prometheus::render(collect_metrics()); }),
                                           "metrics", leveled_log());
  if (auto e = metrics_->listen({ip, mp.port}); !e.empty())
    return "Error starting the metrics listener on " + cfg_.metrics_addr + ": " + e;
  log_->info("agent: serving Prometheus metrics at http://{}:{}/metrics", url_host(ip), metrics_->port());
  return {};
}

std::string daemon_impl::start_http() {
  if (cfg_.http_addr.empty()) return {};
  host_port hp;
  if (auto e = parse_http_addr(cfg_.http_addr, hp); !e.empty()) return e;
  asio::error_code ec;
  const auto ip = asio::ip::make_address(hp.host, ec);
  if (ec) return "Invalid HTTP address '" + cfg_.http_addr + "': not an IP address";
  http_api::host h;
  h.node_name = cfg_.node_name;
  h.render_metrics = [this] { return prometheus::render(collect_metrics()); };
  http_api_ = std::make_unique<http_api>(*this, std::move(h), cfg_.rpc_auth);
  http_server::options opt;
  opt.max_connections = 64;  // event streams stay connected
  http_ = std::make_unique<http_server>(io_, opt, http_api_->handler(), "http", leveled_log());
  if (auto e = http_->listen({ip, hp.port}); !e.empty())
    return "Error starting the HTTP API listener on " + cfg_.http_addr + ": " + e;
  log_->info("agent: serving the HTTP API at http://{}:{}/v1/", url_host(ip), http_->port());
  return {};
}

}  // namespace chorus::agent
