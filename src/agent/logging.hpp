#pragma once
// The agent's log: spdlog with Serf's line format
//   YYYY/MM/DD HH:MM:SS [LEVEL] text        LEVEL: TRACE DEBUG INFO WARN ERR
// written to stdout (indented by 4 spaces, as `serf agent` does), kept in a
// ring of the last 512 lines (replayed to a new `monitor`), and handed to a
// listener (the RPC server's monitors). Thread-safe: the handler worker logs
// too.
#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/serf/serf.hpp"
#include "rpc/server.hpp"

namespace chorus::agent {

// One line that says what happened to whom (besides Serf's own
// "serf: EventMember..." lines, which stay as they are):
//   member joined: n3 (127.0.0.3:7946)
//   member suspected: n3 (127.0.0.3:7946) by n1
//   member alive again: n3 (127.0.0.3:7946), refuted the suspicion by n1
//   member failed: n3 (127.0.0.3:7946) after suspicion by 3 nodes
//   member failed: n3 (127.0.0.3:7946), declared by n2     (no suspicion seen here)
//   member left: n3 (127.0.0.3:7946)
enum class member_news { joined, suspected, alive_again, failed, left };
// `by`: the accuser (suspected, alive_again) or ignored; `f`: the member's
// failure report (failed), may be null.
std::string member_news_line(member_news what, std::string_view name, std::string_view addr, std::string_view by = {},
                             const failure_report* f = nullptr);
// Distinct nodes that raised or confirmed the current suspicion.
std::size_t suspicion_accusers(const failure_report& f);

inline constexpr std::size_t log_history_lines = 512;

class log_hub {
 public:
  using listener = std::function<void(rpc::log_level, const std::string&)>;
  // `stdout_enabled`: also print lines to stdout (the foreground agent).
  explicit log_hub(bool stdout_enabled = true);
  std::shared_ptr<spdlog::logger> logger() const { return logger_; }
  // Minimum level printed to stdout and kept (monitors may ask for less).
  void set_level(rpc::log_level l);
  void set_listener(listener l);
  std::vector<std::pair<rpc::log_level, std::string>> history() const;

  // Called by the sink.
  void line(rpc::log_level level, const std::string& text);

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<rpc::log_level, std::string>> ring_;
  std::size_t next_ = 0;
  listener listener_;
  bool stdout_;
  rpc::log_level level_ = rpc::log_level::info;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace chorus::agent
