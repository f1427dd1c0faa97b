#pragma once
// Real `chorus agent` (and `serf agent`) processes for the agent integration
// and interop tests, over the shared process harness (support/process.hpp).
// Each agent gets its own loopback address with the default ports (7946
// gossip, 7373 RPC); every process started is killed by PID when the
// cluster object goes away, whatever path the test takes. The netns and CLI
// harnesses build on `cluster` too.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rpc/client.hpp"
#include "support/agents.hpp"
#include "support/files.hpp"
#include "support/loopback.hpp"
#include "support/process.hpp"

namespace agent_test {

using namespace test_support;

// One agent process.
struct node {
  std::string name;
  std::string ip;        // empty when started from a raw command line
  std::string rpc_addr;  // where its RPC answers (ip:7373 for an agent started by name)
  process proc;
  std::string rpc() const { return rpc_addr; }
  pid_t pid() const { return proc.pid(); }
};

inline std::string rpc_of(const std::string& addr) { return addr + ":7373"; }

// Whether an RPC handshake (and auth, if given) succeeds at `rpc` now.
inline bool rpc_answers(const std::string& rpc, const std::string& auth = {}) {
  chorus::rpc::client c;
  return c.connect(rpc, auth, 1s).empty();
}

// Sends one datagram to to_ip:7946 (an agent's gossip port), from from_ip
// when given (a loopback address no agent uses, so logs name the sender).
// False if the socket could not be set up or the send failed.
inline bool send_udp(const std::string& to_ip, std::span<const std::uint8_t> datagram,
                     const std::string& from_ip = {}) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  if (!from_ip.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, from_ip.c_str(), &src.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      close(fd);
      return false;
    }
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(7946);
  inet_pton(AF_INET, to_ip.c_str(), &dst.sin_addr);
  const auto n = sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
  close(fd);
  return n == static_cast<ssize_t>(datagram.size());
}

inline std::string read_text(const std::string& path) { return read_file(path); }

// Agents started by one test, their logs in one scratch directory.
class cluster {
 public:
  explicit cluster(const char* tag) : dir_(tag) {}
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  const std::string& dir() const { return dir_.path(); }
  void keep_dir() { dir_.keep(); }

  // Starts `binary agent ...` on ip (see agent_argv) and, if `wait_rpc`,
  // waits until its RPC answers (with `auth`, if set).
  node& start(const std::string& binary, const std::string& name, const std::string& ip, std::vector<std::string> flags,
              bool wait_rpc = true, const std::string& auth = {}) {
    require_free(ip, {7946, 7373});
    return spawn(name, ip, agent_argv(binary, name, ip, flags), ip + ":7373", wait_rpc, auth);
  }
  node& chorus(const std::string& name, const std::string& ip, std::vector<std::string> flags = {},
               bool wait_rpc = true) {
    return start(chorus_binary, name, ip, std::move(flags), wait_rpc);
  }
  node& serf(const std::string& name, const std::string& ip, std::vector<std::string> flags = {}) {
    return start(serf_binary, name, ip, std::move(flags));
  }

  // Starts `argv` as agent `name`, output to DIR/name.log; with `wait_rpc`,
  // waits (15 s at most) until its RPC answers at `rpc`, and throws with its
  // log if it does not or the process exits first.
  node& spawn(const std::string& name, const std::string& ip, const std::vector<std::string>& argv,
              const std::string& rpc, bool wait_rpc, const std::string& auth = {}, const spawn_options& options = {}) {
    nodes_.push_back({name, ip, rpc, process(argv, dir() + "/" + name + ".log", options)});
    node& n = nodes_.back();
    if (wait_rpc && !n.proc.wait_ready([&] { return rpc_answers(rpc, auth); }, 15s))
      throw std::runtime_error(name + " did not come up: " + n.proc.output());
    return n;
  }

  // The latest node started under that name (a restarted agent reuses it).
  node& get(const std::string& name) {
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it)
      if (it->name == name) return *it;
    throw std::runtime_error("no node " + name);
  }
  std::string log_of(const std::string& name) { return get(name).proc.output(); }
  // The last `count` lines of every agent's log, for a failing test's report.
  std::string log_tails(std::size_t count = 40) {
    std::string out;
    for (const auto& n : nodes_) {
      const auto all = lines(n.proc.output());
      out += "---- " + n.name + " (" + n.ip + ")\n";
      for (std::size_t i = all.size() > count ? all.size() - count : 0; i < all.size(); ++i) out += all[i] + "\n";
    }
    return out;
  }
  void kill9(const std::string& name) { get(name).proc.kill_now(); }
  void signal(const std::string& name, int sig) { get(name).proc.signal(sig); }
  bool running(const std::string& name) { return get(name).proc.running(); }
  // Waits for the agent to exit by itself; its exit code, or -1 on timeout.
  int wait_exit(const std::string& name, std::chrono::milliseconds limit) {
    return get(name).proc.wait_exit(limit).value_or(-1);
  }

 private:
  temp_dir dir_;            // declared first: removed after every agent is gone
  std::deque<node> nodes_;  // a deque: node references stay valid as agents start
};

// name -> (status, tags) as the agent at `rpc` sees the cluster; empty on error.
struct seen {
  std::string status;
  std::map<std::string, std::string> tags;
};
inline std::map<std::string, seen> members_of(const std::string& rpc) {
  std::map<std::string, seen> out;
  chorus::rpc::client c;
  if (!c.connect(rpc, "", 2s).empty()) return out;
  chorus::rpc::members_response r;
  if (!c.members(r).empty() || !r.members) return out;
  for (const auto& m : *r.members) out[m.name] = {m.status, m.tags.value_or(std::map<std::string, std::string>{})};
  return out;
}

inline int count_status(const std::string& rpc, const std::string& status) {
  int n = 0;
  for (const auto& [name, s] : members_of(rpc)) n += s.status == status;
  return n;
}

inline std::string status_of(const std::string& rpc, const std::string& name) {
  auto m = members_of(rpc);
  auto it = m.find(name);
  return it == m.end() ? "" : it->second.status;
}

// One section of `stats`, or of chorus-stats for the chorus-only sections
// ("metrics", "failures").
inline std::map<std::string, std::string> stats_section(const std::string& rpc, const std::string& section) {
  chorus::rpc::client c;
  if (!c.connect(rpc, "", 2s).empty()) return {};
  chorus::rpc::stats_response r;
  const bool chorus_only = section == "metrics" || section == "failures";
  if (!(chorus_only ? c.chorus_stats(r) : c.stats(r)).empty()) return {};
  return r[section];
}

// One counter of the chorus-only "metrics" section; -1 if the agent does not
// answer or has no such counter.
inline double metric_value(const std::string& rpc, const std::string& key) {
  const auto m = stats_section(rpc, "metrics");
  const auto it = m.find(key);
  return it == m.end() ? -1 : std::stod(it->second);
}

}  // namespace agent_test
