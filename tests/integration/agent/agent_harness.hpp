#pragma once
// Real `chorus agent` (and `serf agent`) processes for the agent integration
// and interop tests. Each agent gets its own loopback address with the default
// ports (7946 gossip, 7373 RPC); every process started is killed by PID when
// the cluster object goes away, whatever path the test takes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <span>

#include "interop/cli/harness.hpp"

namespace agent_test {

using namespace cli_interop;

struct node {
  std::string name;
  std::string ip;
  pid_t pid = -1;
  std::string log;
  std::string rpc() const { return ip + ":7373"; }
};

inline std::string rpc_of(const std::string& addr) { return addr + ":7373"; }

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

// Write then rename: an agent reloading the file never reads half of it.
inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp", std::ios::trunc) << text;
  fs::rename(path + ".tmp", path);
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class cluster {
 public:
  explicit cluster(const char* tag) {
    std::string tmpl = std::string("/tmp/chorus-") + tag + "-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
  }
  ~cluster() {
    for (auto& n : nodes_)
      if (n.pid > 0) kill(n.pid, SIGKILL);
    for (auto& n : nodes_)
      if (n.pid > 0) waitpid(n.pid, nullptr, 0);
    std::error_code ec;
    if (!keep_) fs::remove_all(dir_, ec);
  }
  cluster(const cluster&) = delete;
  cluster& operator=(const cluster&) = delete;

  const std::string& dir() const { return dir_; }

  // Starts `binary agent ...` and, if `wait_rpc`, waits until its RPC answers.
  node& start(const std::string& binary, const std::string& name, const std::string& ip, std::vector<std::string> flags,
              bool wait_rpc = true) {
    std::vector<std::string> argv{binary, "agent", "-node=" + name, "-bind=" + ip + ":7946",
                                  "-rpc-addr=" + ip + ":7373"};
    // Debug logs unless the test sets the level itself (or leaves it to a
    // config file or directory: the command line would win over it).
    if (std::none_of(flags.begin(), flags.end(), [](const std::string& f) {
          return f.rfind("-log-level", 0) == 0 || f.rfind("-config-file", 0) == 0 || f.rfind("-config-dir", 0) == 0;
        }))
      argv.push_back("-log-level=debug");
    argv.insert(argv.end(), flags.begin(), flags.end());
    node n{name, ip, -1, dir_ + "/" + name + ".log"};
    n.pid = spawn(argv, n.log);
    nodes_.push_back(n);
    if (wait_rpc) {
      const bool up = eventually(
          [&] {
            if (waitpid(nodes_.back().pid, nullptr, WNOHANG) == nodes_.back().pid) {
              nodes_.back().pid = -1;
              return true;  // exited: reported below
            }
            chorus::rpc::client c;
            return c.connect(ip + ":7373", "", 1s).empty();
          },
          15s);
      if (!up || nodes_.back().pid < 0) throw std::runtime_error(name + " did not come up: " + log_of(name));
    }
    return nodes_.back();
  }
  node& chorus(const std::string& name, const std::string& ip, std::vector<std::string> flags = {},
               bool wait_rpc = true) {
    return start(chorus_binary, name, ip, std::move(flags), wait_rpc);
  }
  node& serf(const std::string& name, const std::string& ip, std::vector<std::string> flags = {}) {
    return start(serf_binary, name, ip, std::move(flags));
  }

  // The latest node started under that name (a restarted agent reuses it).
  node& get(const std::string& name) {
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it)
      if (it->name == name) return *it;
    throw std::runtime_error("no node " + name);
  }
  std::string log_of(const std::string& name) {
    std::ifstream f(get(name).log);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  // The last `count` lines of every agent's log, for a failing test's report.
  std::string log_tails(std::size_t count = 40) {
    std::string out;
    for (const auto& n : nodes_) {
      std::ifstream f(n.log);
      std::vector<std::string> all;
      for (std::string line; std::getline(f, line);) all.push_back(line);
      out += "---- " + n.name + " (" + n.ip + ")\n";
      for (std::size_t i = all.size() > count ? all.size() - count : 0; i < all.size(); ++i) out += all[i] + "\n";
    }
    return out;
  }
  void kill9(const std::string& name) {
    auto& n = get(name);
    if (n.pid <= 0) return;  // never kill(-1, ...)
    kill(n.pid, SIGKILL);
    waitpid(n.pid, nullptr, 0);
    n.pid = -1;
  }
  void signal(const std::string& name, int sig) {
    if (get(name).pid > 0) kill(get(name).pid, sig);
  }
  // Waits for the agent to exit by itself; its exit code, or -1 on timeout.
  int wait_exit(const std::string& name, std::chrono::milliseconds limit) {
    auto& n = get(name);
    int status = 0;
    const bool gone = eventually([&] { return waitpid(n.pid, &status, WNOHANG) == n.pid; }, limit);
    if (!gone) return -1;
    n.pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void keep_dir() { keep_ = true; }

 private:
  static pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> args;
      for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    return pid;
  }

  std::string dir_;
  std::vector<node> nodes_;
  bool keep_ = false;
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

}  // namespace agent_test
