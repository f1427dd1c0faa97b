// Joining (-join, -retry-join, the RPC join, mDNS), leaving, and the
// snapshot: open and replay, periodic flush, rejoin of the previous members.
#include <asio/ip/udp.hpp>

#include "agent/address_resolver.hpp"
#include "agent/daemon_impl.hpp"
#include "agent/srv_resolver.hpp"

namespace chorus::agent {

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
    std::vector<std::vector<std::string>> errors;  // per argument: why it did not (fully) resolve
    std::vector<std::vector<address>> found;       // per argument
    std::size_t left = 0;                          // answers still to come
  };
  auto p = std::make_shared<pending>();
  p->errors.resize(addrs.size());
  p->found.resize(addrs.size());
  p->left = 1;  // the plain arguments' lookups, plus one per "srv:" argument
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
        all.insert(all.end(), p->errors[i].begin(), p->errors[i].end());
        all.insert(all.end(), per_arg[i].begin(), per_arg[i].end());
      }
      done(0, all.empty() ? std::string("no addresses to join") : join_text::multierror(all));
    };
    if (seeds.empty()) return report(join_result{});
    joins_[serf_->join(swim::transport::now(), seeds, replay, sink())] = report;
  };
  // memberlist's default port is its own bind port.
  const std::uint16_t default_port = transport_ ? transport_->port() : 7946;
  std::vector<lookup_item> lookups;
  std::vector<std::size_t> arg_of_lookup;
  for (std::size_t i = 0; i < addrs.size(); ++i) {
    // "srv:NAME" (a chorus extension): the SRV targets, looked up again on
    // every call, so each -retry-join attempt sees the current records.
    if (srv::is_srv_argument(addrs[i])) {
      ++p->left;
      srv::resolve_join_argument(io_, addrs[i], [this, p, i, finish](srv::join_seeds s) {
        if (s.ignored_replies > 0)
          log_->warn("agent: dropped {} DNS replies that did not answer the SRV query", s.ignored_replies);
        p->found[i] = std::move(s.addresses);
        p->errors[i] = std::move(s.errors);
        if (--p->left == 0) finish();
      });
      continue;
    }
    const auto t = join_text::parse(addrs[i], default_port);
    asio::error_code not_ip;
    if (t.error.empty()) asio::ip::make_address(t.host, not_ip);
    if (!t.error.empty() || (not_ip && !join_text::is_domain_name(t.host))) {
      p->errors[i].push_back(
          join_text::resolve_failure(addrs[i], t.error.empty() ? join_text::lookup_error(t.host, true) : t.error));
      continue;
    }
    lookups.push_back({addrs[i], t.host, t.port});
    arg_of_lookup.push_back(i);
  }
  // Reports on the io loop even when nothing is looked up, never from
  // inside the caller (which may be a Serf callback).
  resolve_addresses(io_, std::move(lookups), [p, arg_of_lookup, finish](std::vector<lookup_outcome> outcomes) {
    for (std::size_t k = 0; k < outcomes.size(); ++k) {
      p->found[arg_of_lookup[k]] = std::move(outcomes[k].addresses);
      if (!outcomes[k].error.empty()) p->errors[arg_of_lookup[k]].push_back(std::move(outcomes[k].error));
    }
    if (--p->left == 0) finish();
  });
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
  serf_->leave(swim::transport::now(), sink());
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

}  // namespace chorus::agent
