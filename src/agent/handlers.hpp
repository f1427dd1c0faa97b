#pragma once
// Event handler scripts (../shared/protocol/serf.md section 13).
//
//   -event-handler [FILTER=]SCRIPT     FILTER = comma list of member-join, member-leave,
//                                      member-failed, member-update, member-reap, user,
//                                      user:NAME, query, query:NAME, *   (none = *)
//
// Each matching event runs `/bin/sh -c SCRIPT` with SERF_* variables in the
// environment and the event on stdin; stdout+stderr are captured together
// (last 8 KiB). For a query, output of a script that exited 0 is the response.
//
// Threading: handler_runner owns one worker thread. submit() is called from
// the agent's io thread and never blocks on a script: invocations queue (a
// bounded queue) and run one at a time in event order, so a slow or failing
// script never stalls gossip. Results come back through the `done` callback,
// called on the worker thread (post it to your own thread).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace chorus::agent {

// One filter of a filter list. event: "*", "member-join", ..., "user", "query";
// name: the user event / query name ("" = any).
struct event_filter {
  std::string event;
  std::string name;
  bool operator==(const event_filter&) const = default;
};

// Parses "member-join,user:deploy,query" (empty = "*"). False on an unknown
// event type (Serf: "Invalid event filter").
bool parse_event_filters(const std::string& list, std::vector<event_filter>& out);
// event: "member-join", ..., "user", "query"; name for user/query.
bool filters_match(const std::vector<event_filter>& filters, const std::string& event, const std::string& name);

struct handler_spec {
  std::vector<event_filter> filters;
  std::string script;
  std::string filter_text;  // as given ("" = none), for stats
};
// "[FILTER=]SCRIPT"; error names the problem.
std::string parse_handler_spec(const std::string& spec, handler_spec& out);

// A member line for stdin: NAME \t IP \t ROLE \t TAGS, each field escaped
// with escape_text (agent/text_escape.hpp), so one member is one line.
struct handler_member {
  std::string name, ip, role;
  std::map<std::string, std::string> tags;
};

// One event to deliver to the handlers.
struct handler_event {
  std::string event;  // member-join ... member-reap, user, query
  std::vector<handler_member> members;
  std::string name;  // user event / query name
  std::uint64_t ltime = 0;
  std::string payload;
  std::uint64_t query_handle = 0;  // queries: to answer with
  std::chrono::steady_clock::time_point deadline{};
};

// SERF_TAG_<NAME>: upper-cased, [^A-Z0-9_] -> '_'.
std::string tag_env_name(const std::string& key);
// The stdin bytes for an event (serf.md 13).
std::string handler_stdin(const handler_event& e);
std::string escape_field(const std::string& s);

struct handler_result {
  std::string script;
  int exit_code = -1;  // -1: did not exit normally
  std::string output;  // last 8 KiB of stdout+stderr
  std::chrono::milliseconds elapsed{0};
  handler_event event;
};

// Runs one script synchronously (the worker's job; exposed for tests).
handler_result run_handler(const std::string& script, const handler_event& e,
                           const std::vector<std::string>& extra_env);

inline constexpr std::size_t handler_output_limit = 8 * 1024;
inline constexpr std::chrono::seconds handler_slow_warning{1};
inline constexpr std::size_t handler_queue_limit = 1024;

class handler_runner {
 public:
  using done_fn = std::function<void(const handler_result&)>;
  explicit handler_runner(done_fn done);
  ~handler_runner();  // stops after the running script (queued ones are dropped)
  handler_runner(const handler_runner&) = delete;
  handler_runner& operator=(const handler_runner&) = delete;

  // Replaces the handlers (SIGHUP) and the environment describing us.
  void configure(std::vector<handler_spec> specs, std::string self_name, std::map<std::string, std::string> tags);
  // Queues the event for every matching handler. False if the queue is full
  // (the event is dropped).
  bool submit(const handler_event& e);
  std::size_t queued() const;
  std::vector<handler_spec> specs() const;

 private:
  void work();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, handler_event>> queue_;  // (script, event)
  std::vector<handler_spec> specs_;
  std::vector<std::string> env_;
  done_fn done_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace chorus::agent
