#pragma once
// Network namespaces for the fault tests. Every namespace is named `chnf...`,
// created by the test and deleted when its owner goes away (also when a
// REQUIRE fails). Two layouts:
//
//   lan: one namespace per agent ("host"), each with one veth whose peer is a
//        port of a bridge in a "switch" namespace. The switch namespace also
//        has an address (.254), and the test thread enters it, so the test
//        reaches every agent's RPC. Each host has exactly one address, so a
//        packet's source says which agent sent it (UDP and TCP alike) and
//        iptables rules inside a host namespace express loss (-m statistic)
//        and partitions (address-matched DROP). The kernel has no netem.
//   pair: two namespaces joined by one veth pair (multicast works across it).
//
// `namespaces` also owns /etc/netns/NAME/ (files such as `hosts` there are
// bind-mounted over /etc/ by `ip netns exec NAME`).
//
// Agents are forked from the test thread and moved into their namespace
// before exec (the shared process harness, support/process.hpp); every
// process is killed by PID at the end.
#include <sched.h>

#include "integration/agent/agent_harness.hpp"

namespace netns_test {

using namespace agent_test;

inline const std::string ip_binary = "/usr/sbin/ip";

// Runs a setup command; throws with its output if it fails.
inline void must(const std::vector<std::string>& argv) {
  auto r = run(argv, 20s);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("setup failed: " + cmd + ": " + r.out + r.err);
  }
}

inline run_result in_ns(const std::string& ns, std::vector<std::string> argv, std::chrono::milliseconds limit = 20s) {
  argv.insert(argv.begin(), {ip_binary, "netns", "exec", ns});
  return run(argv, limit);
}

inline void iptables(const std::string& ns, std::vector<std::string> rule) {
  rule.insert(rule.begin(), {ip_binary, "netns", "exec", ns, "iptables", "-w"});
  must(rule);
}

// Owns network namespaces: created now, deleted (with everything in them) in
// the destructor.
class namespaces {
 public:
  namespaces() = default;
  namespaces(const namespaces&) = delete;
  namespaces& operator=(const namespaces&) = delete;
  ~namespaces() {
    std::error_code ec;
    for (auto it = names_.rbegin(); it != names_.rend(); ++it) {
      run({ip_binary, "netns", "del", *it}, 10s);
      fs::remove_all("/etc/netns/" + *it, ec);  // files `ip netns exec` bind-mounts
    }
  }
  // `name` must start with "chnf" (or "chdns": netns_dns_test.cpp); a stale
  // namespace of that name (a crashed earlier run) is deleted first.
  const std::string& add(const std::string& name) {
    if (name.rfind("chnf", 0) != 0 && name.rfind("chdns", 0) != 0)
      throw std::runtime_error("namespace names must start with chnf or chdns");
    run({ip_binary, "netns", "del", name}, 10s);
    must({ip_binary, "netns", "add", name});
    names_.push_back(name);
    std::error_code ec;
    fs::remove_all("/etc/netns/" + name, ec);
    must({ip_binary, "-n", name, "link", "set", "lo", "up"});
    return names_.back();
  }

 private:
  std::vector<std::string> names_;
};

// The calling thread's network namespace is `ns` until this goes away.
class enter_ns {
 public:
  explicit enter_ns(const std::string& ns) {
    saved_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int fd = open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (saved_ < 0 || fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      if (fd >= 0) close(fd);
      throw std::runtime_error("cannot enter namespace " + ns);
    }
    close(fd);
  }
  ~enter_ns() {
    setns(saved_, CLONE_NEWNET);
    close(saved_);
  }
  enter_ns(const enter_ns&) = delete;
  enter_ns& operator=(const enter_ns&) = delete;

 private:
  int saved_ = -1;
};

// N host namespaces on one bridge: host i (0-based) is 10.201.<subnet>.<i+1>/24,
// the switch namespace is .254.
class lan {
 public:
  lan(const std::string& tag, int hosts, int subnet) : subnet_(subnet) {
    const std::string base = "chnf" + tag + std::to_string(getpid() % 100000);
    switch_ = ns_.add(base + "sw");
    must({ip_binary, "-n", switch_, "link", "add", "br0", "type", "bridge"});
    for (int i = 0; i < hosts; ++i) {
      const auto& h = ns_.add(base + "h" + std::to_string(i));
      hosts_.push_back(h);
      const std::string port = "p" + std::to_string(i);
      must({ip_binary, "link", "add", "veth0", "netns", h, "type", "veth", "peer", "name", port, "netns", switch_});
      must({ip_binary, "-n", switch_, "link", "set", port, "master", "br0"});
      must({ip_binary, "-n", switch_, "link", "set", port, "up"});
      must({ip_binary, "-n", h, "addr", "add", ip(i) + "/24", "dev", "veth0"});
      must({ip_binary, "-n", h, "link", "set", "veth0", "up"});
    }
    must({ip_binary, "-n", switch_, "addr", "add", "10.201." + std::to_string(subnet_) + ".254/24", "dev", "br0"});
    must({ip_binary, "-n", switch_, "link", "set", "br0", "up"});
  }
  std::string ip(int i) const { return "10.201." + std::to_string(subnet_) + "." + std::to_string(i + 1); }
  const std::string& host(int i) const { return hosts_.at(static_cast<std::size_t>(i)); }
  const std::string& switch_ns() const { return switch_; }
  int size() const { return static_cast<int>(hosts_.size()); }

 private:
  namespaces ns_;
  int subnet_;
  std::string switch_;
  std::vector<std::string> hosts_;
};

// Agent processes, each exec'd inside a namespace: a cluster
// (agent_harness.hpp) whose agents enter their namespace before exec.
class agents : public cluster {
 public:
  using cluster::cluster;

  // Starts `argv` inside namespace `ns` (empty: the test thread's), output to
  // DIR/name.log. If `rpc` is set, waits until the agent's RPC answers there
  // (reachable from the test thread's namespace).
  node& start(const std::string& ns, const std::string& name, const std::vector<std::string>& argv,
              const std::string& rpc = "") {
    spawn_options options;
    if (!ns.empty())
      options.before_exec = [path = "/var/run/netns/" + ns] {
        const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        return fd >= 0 && setns(fd, CLONE_NEWNET) == 0;
      };
    return spawn(name, "", argv, rpc, !rpc.empty(), {}, options);
  }

  // `chorus agent` bound to ip:7946 with RPC on ip:7373.
  node& chorus(const std::string& ns, const std::string& name, const std::string& ip,
               std::vector<std::string> flags = {}) {
    return start(ns, name, agent_argv(chorus_binary, name, ip, flags), ip + ":7373");
  }
  // The same through `ip netns exec ns`, which also bind-mounts the
  // namespace's /etc/netns/NS files (its own /etc/hosts). Without `wait`,
  // returns at once (for agents expected to exit).
  node& chorus_exec(const std::string& ns, const std::string& name, const std::string& ip,
                    const std::vector<std::string>& flags, bool wait = true) {
    std::vector<std::string> argv{ip_binary, "netns", "exec", ns};
    const auto rest = agent_argv(chorus_binary, name, ip, flags);
    argv.insert(argv.end(), rest.begin(), rest.end());
    return start("", name, argv, wait ? ip + ":7373" : "");
  }
};

// Resident set size of a process in kB (VmRSS), 0 if unreadable.
inline long rss_kb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

// Packets a rule matching `needle` in `iptables -L -v -x` of `ns` has dropped.
inline long dropped_by(const std::string& ns, const std::string& needle) {
  auto r = in_ns(ns, {"iptables", "-w", "-L", "INPUT", "-v", "-x", "-n"});
  long total = 0;
  for (const auto& l : lines(r.out))
    if (l.find("DROP") != std::string::npos && l.find(needle) != std::string::npos) total += std::atol(l.c_str());
  return total;
}

// An event handler script that appends "SELF EVENT member-line" for every
// member line on stdin (and "SELF EVENT" for other events) to `file`.
inline std::string write_event_logger(const std::string& dir, const std::string& file) {
  const std::string path = dir + "/log-events.sh";
  std::ofstream h(path);
  h << "#!/bin/sh\n"
       "got=0\n"
       "while read -r line; do got=1; echo \"$SERF_SELF_NAME $SERF_EVENT $line\" >> \""
    << file
    << "\"; done\n"
       "[ $got = 1 ] || echo \"$SERF_SELF_NAME $SERF_EVENT\" >> \""
    << file << "\"\n";
  h.close();
  chmod(path.c_str(), 0755);
  return path;
}

}  // namespace netns_test
