#pragma once
// Child processes for the integration and interop tests, which start real
// agents (chorus's and Debian's `serf`) and CLI commands. One rule holds
// whatever path a test takes, a failed REQUIRE or an exception included:
// every process a test starts is killed (SIGKILL) and reaped by its PID when
// its owner goes away, and nothing else is ever signalled. Every wait is
// bounded. The layers over this (integration/agent/agent_harness.hpp,
// integration/netns/netns_harness.hpp, interop/cli/harness.hpp) add what
// their tests need: agent command lines, RPC readiness, namespaces.
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace test_support {

using namespace std::chrono_literals;

// Retries `pred` every 100 ms until it holds or `limit` passes (then asks
// once more, so a slow last step still counts).
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 15s);

struct spawn_options {
  std::vector<std::string> env;  // "K=V" added to the environment
  bool truncate_log = false;     // default: append (a restarted agent keeps one log)
  // Runs in the child between fork and exec (e.g. entering a network
  // namespace); false makes the child exit with status 126.
  std::function<bool()> before_exec;
};

// One child process, its stdout and stderr appended to a log file.
class process {
 public:
  process() = default;
  // Starts argv[0] (a path, not searched in PATH). Throws if fork fails; a
  // failed exec shows as exit status 127.
  process(const std::vector<std::string>& argv, std::string log, const spawn_options& options = {});
  ~process() { kill_now(); }
  process(process&& o) noexcept;
  process& operator=(process&& o) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  // -1 once reaped (or never started).
  pid_t pid() const { return pid_; }
  // False once it has exited (then reaped, its status kept).
  bool running();
  // Sends `sig` if it still runs (never to a reaped PID, which may be reused).
  void signal(int sig);
  // SIGKILL and reap; its exit code (as wait_exit), or -1 if never started.
  int kill_now();
  // Its exit code if it exits within `limit`: 0..255, or 128 + the signal
  // that ended it. The status stays readable after the process is reaped.
  std::optional<int> wait_exit(std::chrono::milliseconds limit);
  // Sends `sig`, waits up to `grace` for an exit, then SIGKILL: the exit code.
  int stop(int sig, std::chrono::milliseconds grace);
  // Waits until `ready` holds; false if the process exits first or `limit`
  // passes.
  bool wait_ready(const std::function<bool()>& ready, std::chrono::milliseconds limit);
  // Waits until the log contains `text` (false as wait_ready).
  bool wait_for_output(std::string_view text, std::chrono::milliseconds limit);

  const std::string& log_path() const { return log_; }
  std::string output() const;

 private:
  void reaped(int status);
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_;
};

// The outcome of a command run to completion.
struct run_result {
  int exit_code = -1;  // -1: killed after the time bound
  std::string out;
  std::string err;
};

// Runs argv[0] with the given arguments, waits at most `limit` (then kills
// it), returns its output. `env` entries ("K=V") are added to the environment.
run_result run(const std::vector<std::string>& argv, std::chrono::milliseconds limit = 30s,
               const std::vector<std::string>& env = {});

}  // namespace test_support
