#pragma once
// Test harness for the CLI interop tests: runs programs with a time bound
// and captures their output, and owns real `serf agent` processes on
// 127.60.0.x (killed by PID when the guard goes out of scope, whatever path
// the test takes).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "rpc/client.hpp"

namespace cli_interop {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline const std::string chorus_binary = std::string(CHORUS_BINARY_DIR) + "/src/cli/chorus";
inline const std::string serf_binary = "/usr/bin/serf";

struct run_result {
  int exit_code = -1;  // -1: killed after the time bound
  std::string out;
  std::string err;
};

// Runs argv[0] with the given arguments, waits at most `limit`, returns its
// output. `env` entries ("K=V") are added to the environment.
inline run_result run(const std::vector<std::string>& argv, std::chrono::milliseconds limit = 30s,
                      const std::vector<std::string>& env = {}) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  run_result r;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = killed ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline run_result run_chorus(std::vector<std::string> args, std::chrono::milliseconds limit = 30s,
                             const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), chorus_binary);
  return run(args, limit, env);
}

inline run_result run_serf(std::vector<std::string> args, std::chrono::milliseconds limit = 30s,
                           const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), serf_binary);
  return run(args, limit, env);
}

inline std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Retries `pred` every 100 ms until it holds or `limit` passes.
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

struct agent_spec {
  std::string name;
  std::string ip;                        // 127.60.0.x
  std::vector<std::string> tags;         // key=value
  std::vector<std::string> extra_flags;  // e.g. -encrypt=KEY, -config-file=F
};

// Up to a few real agents (`serf agent`, or `chorus agent` with the same
// flags); the destructor kills every one it started.
class serf_cluster {
 public:
  serf_cluster() {
    char tmpl[] = "/tmp/chorus-cli-interop-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    // The handler appends one line per event: node, event, name.
    const std::string handler = dir_ + "/handler.sh";
    std::ofstream h(handler);
    h << "#!/bin/sh\n"
         "echo \"$SERF_SELF_NAME $SERF_EVENT $SERF_USER_EVENT$SERF_QUERY_NAME\" >> \""
      << dir_
      << "/events.log\"\n"
         "if [ \"$SERF_EVENT\" = query ]; then echo \"reply from $SERF_SELF_NAME\"; fi\n";
    h.close();
    chmod(handler.c_str(), 0755);
  }
  ~serf_cluster() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  serf_cluster(const serf_cluster&) = delete;
  serf_cluster& operator=(const serf_cluster&) = delete;

  const std::string& dir() const { return dir_; }
  std::string handler() const { return dir_ + "/handler.sh"; }
  std::string events_log() const {
    std::ifstream f(dir_ + "/events.log");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  // Starts an agent and waits until its RPC port answers a handshake.
  pid_t start(const agent_spec& a, const std::string& auth = {}, const std::string& binary = serf_binary) {
    std::vector<std::string> argv{binary,
                                  "agent",
                                  "-node=" + a.name,
                                  "-bind=" + a.ip + ":7946",
                                  "-rpc-addr=" + a.ip + ":7373",
                                  "-event-handler=" + handler(),
                                  "-log-level=debug"};
    for (const auto& t : a.tags) argv.push_back("-tag=" + t);
    for (const auto& f : a.extra_flags) argv.push_back(f);
    const std::string log = dir_ + "/" + a.name + ".log";
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
    pids_.push_back(pid);
    const bool up = eventually(
        [&] {
          chorus::rpc::client c;
          return c.connect(a.ip + ":7373", auth, 1s).empty();
        },
        15s);
    if (!up) throw std::runtime_error(binary + " agent " + a.name + " did not come up; see " + log);
    return pid;
  }

  // Kills one agent hard (for failure scenarios).
  void kill_agent(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    std::erase(pids_, pid);
  }
  // Waits for an agent that exits by itself (after `leave`).
  bool wait_exit(pid_t pid, std::chrono::milliseconds limit) {
    const bool gone = eventually([&] { return waitpid(pid, nullptr, WNOHANG) == pid; }, limit);
    if (gone) std::erase(pids_, pid);
    return gone;
  }

  // The number of members with `status` as seen by the agent at `rpc`.
  static int count_status(const std::string& rpc, const std::string& status, const std::string& auth = {}) {
    chorus::rpc::client c;
    if (!c.connect(rpc, auth, 2s).empty()) return -1;
    chorus::rpc::members_response r;
    if (!c.members(r).empty() || !r.members) return -1;
    int n = 0;
    for (const auto& m : *r.members) n += m.status == status;
    return n;
  }

 private:
  std::string dir_;
  std::vector<pid_t> pids_;
};

}  // namespace cli_interop
