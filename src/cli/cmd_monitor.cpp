// `monitor`: the agent's log lines and every event, until Ctrl-C (exit 0) or
// until the agent goes away (exit 1), as `serf monitor` does.
#include <atomic>
#include <csignal>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/go_syntax.hpp"
#include "cli/session.hpp"

namespace chorus::cli {

namespace {

std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) { interrupted.store(true); }

}  // namespace

int run_monitor(const monitor_options& o) {
  // A Serf agent refuses an empty level with this error (a chorus agent
  // would take it as INFO): the same answer from either.
  if (o.log_level.empty()) {
    out_line("Error starting monitor: Unknown log level: ");
    return 1;
  }
  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  // Ctrl-C only raises a flag: the client's reads look at it (every 100 ms)
  // and the monitor ends with exit 0, as Serf's does, instead of the signal's
  // default death.
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);

  std::uint64_t stream_seq = 0;
  auto on_event = [](msgpack::byte_view raw) {
    out_line("Event Info:");
    out_raw(go_event_info_lines(raw));
    std::fflush(stdout);
  };
  if (failed("Error starting stream", c.stream_raw({"*"}, on_event, stream_seq))) return 1;
  std::uint64_t monitor_seq = 0;
  auto on_log = [](const rpc::log_record& r) {
    out_line(r.log);
    std::fflush(stdout);
  };
  if (failed("Error starting monitor", c.monitor({o.log_level}, on_log, monitor_seq))) return 1;
  const auto result = c.pump(rpc::client::clock::time_point::max(), nullptr, &interrupted);
  if (result == rpc::client::pump_result::interrupted) return 0;
  if (result == rpc::client::pump_result::failed) out_line("Error reading from the agent: " + c.last_error());
  out_line("Remote side ended the monitor! This usually means that the");
  out_line("remote side has exited or crashed.");
  return 1;
}

}  // namespace chorus::cli
