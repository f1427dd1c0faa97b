// The rpc::agent_api bridge: the RPC commands that are more than one call
// into the Serf layer (tags, stats, key operations, queries).
#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "agent/daemon_impl.hpp"

namespace chorus::agent {

std::string daemon_impl::set_tags(const rpc::string_map& set, const std::vector<std::string>& del) {
  tag_map t = serf_->tags();
  for (const auto& d : del) t.erase(d);
  for (const auto& [k, v] : set) t[k] = v;
  if (auto e = serf_->set_tags(swim::transport::now(), t, sink()); !e.empty()) return e;
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
  const auto id = serf_->key_operation(swim::transport::now(), op, raw, sink());
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
  auto started = serf_->query(swim::transport::now(), p, sink());
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

}  // namespace chorus::agent
