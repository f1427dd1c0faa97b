#pragma once
// The agent side of Serf's RPC (../shared/protocol/serf-rpc.md sections 2-4):
// a TCP listener on -rpc-addr, many clients at once, each connection reading
// requests in order (handshake, optional auth, commands) and answering with
// the codec of protocol.hpp.
//
// The server knows nothing of the daemon: it calls an `agent_api`, so tests
// drive it with a fake agent. Streams: the daemon publishes events and log
// lines; each connection forwards those matching its `stream` filters and
// `monitor` level. Every connection has a bounded write queue: a client too
// slow to drain it is disconnected with a log line, never slowing the agent.
// Malformed input: Serf's replies where it has one, else the connection is
// closed; nothing throws.
//
// Connections that never speak: a connection is "pending" from accept until
// it has handshaken (and authenticated, when a token is set). Pending
// connections are closed after `handshake_timeout`, and when the client
// table is full the oldest pending one is closed to make room for a
// newcomer, so idle or hostile sockets cannot lock a local CLI out. Clients
// that completed the session setup are never timed out (a `monitor` or
// `stream` client may legitimately stay silent for hours).
//
// Threading: everything runs on the io_context's thread, including the
// agent_api calls and their completion callbacks (call them there).
#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/protocol.hpp"

namespace chorus::rpc {

// Log levels of `monitor`, lowest first.
enum class log_level : std::uint8_t { trace, debug, info, warn, err };
// "TRACE", "debug", "ERR", ... (case-insensitive); nullopt when unknown.
std::optional<log_level> parse_log_level(std::string_view s);

class agent_api {
 public:
  virtual ~agent_api() = default;
  virtual std::vector<member> members() = 0;
  virtual void join(std::vector<std::string> addrs, bool replay,
                    std::function<void(int num, std::string error)> done) = 0;
  // The reply is sent once `done` runs; the daemon then shuts down.
  virtual void leave(std::function<void(std::string error)> done) = 0;
  virtual std::string force_leave(const std::string& node, bool prune) = 0;
  virtual std::string user_event(const std::string& name, const bytes& payload, bool coalesce) = 0;
  virtual std::string set_tags(const string_map& set, const std::vector<std::string>& del) = 0;
  virtual stats_response stats() = 0;
  virtual coordinate_response get_coordinate(const std::string& node) = 0;
  // chorus-stats: sections beyond Serf's stats (metrics, failures).
  virtual stats_response chorus_stats() { return {}; }
  // install-key / use-key / remove-key / list-keys.
  virtual void key_operation(command c, const std::string& key,
                             std::function<void(key_response r, std::string error)> done) = 0;
  // Starts a query. `record` gets ack/response records, then one "done".
  // Returns an error (nothing started) or "".
  virtual std::string query(const query_request& q, std::function<void(const query_record&)> record) = 0;
  // Answers a query the agent published (its handle, see publish_query).
  virtual std::string respond(std::uint64_t handle, const bytes& payload) = 0;
  // Whether the event filter text is valid (same syntax as event handlers).
  virtual bool valid_filter(const std::string& filter) = 0;
  // Whether `filter` accepts the event (event: member-join, user, query, ...).
  virtual bool filter_matches(const std::string& filter, const std::string& event, const std::string& name) = 0;
};

struct server_options {
  std::string auth_key;  // non-empty: auth required
  // Bytes queued for one client before it is dropped as too slow. Serf's
  // streams hold 512 records; 4 MiB covers that for large member lists.
  std::size_t max_write_queue = 4u << 20;
  // One request (header + body) may not exceed this.
  std::size_t max_request = 1u << 20;
  // Connections held at once. A full table first closes its oldest pending
  // connection (see above); only a table full of set-up clients refuses a
  // newcomer.
  std::size_t max_clients = 256;
  // From accept to a completed handshake (and auth, when auth_key is set).
  // Serf's CLI and Go client send both right after connecting: one round
  // trip each, so 5 s leaves room for a loaded host or a slow link while a
  // socket that never speaks holds its descriptor for seconds, not forever.
  // Zero disables the deadline (the eviction above still applies).
  std::chrono::milliseconds handshake_timeout{5000};
  // Closing pending connections is logged at most once per this interval
  // (the first at once, later ones summed into one line at the end of the
  // interval or at close()), so a flood does not flood the log; the counters
  // below are exact.
  std::chrono::milliseconds pending_log_interval{60000};
};

using log_function = std::function<void(log_level, const std::string&)>;

// Why the server refused a request or a connection (counted per reason).
enum class refusal : std::uint8_t {
  handshake_required,   // a command before the handshake ("Handshake required", closed)
  auth_required,        // a command before auth when a token is set ("Authentication required")
  auth_failed,          // the wrong token ("Invalid authentication token")
  unsupported_command,  // an unknown command ("Unsupported command", closed)
  undecodable,          // not msgpack, too deep, or a header/body of the wrong shape (closed)
  too_large,            // a request over server_options::max_request (closed)
  table_full,           // a connection over max_clients with no pending one to evict (closed at accept)
};
inline constexpr std::size_t refusal_count = static_cast<std::size_t>(refusal::table_full) + 1;
// "handshake_required", ... as spelled above.
std::string_view to_string(refusal r);

class server {
 public:
  server(asio::io_context& io, agent_api& agent, server_options opt, log_function log = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // "" on success, else why the listener could not be opened.
  std::string listen(const asio::ip::tcp::endpoint& ep);
  std::uint16_t port() const;
  void close();  // stops listening and closes every client

  // Stream fan-out (io thread).
  void publish(const member_event_record& r);
  void publish(const user_event_record& r);
  // A query the agent received; clients streaming "query" get it with their
  // own per-connection ID. `deadline` past = not delivered.
  void publish_query(std::uint64_t handle, const query_event_record& r, std::chrono::steady_clock::time_point deadline);
  // One formatted log line ("YYYY/MM/DD HH:MM:SS [LEVEL] text").
  void publish_log(log_level level, const std::string& line);
  // The recent-log buffer replayed to a new monitor (up to 512 lines).
  void set_log_history(std::function<std::vector<std::pair<log_level, std::string>>()> f) { history_ = std::move(f); }

  std::size_t clients() const { return conns_.size(); }
  std::uint64_t dropped_slow_clients() const { return dropped_slow_; }
  // Pending connections closed at their handshake deadline, and closed early
  // to make room in a full table.
  std::uint64_t pending_timed_out() const { return pending_timed_out_; }
  std::uint64_t pending_evicted() const { return pending_evicted_; }
  std::uint64_t refused(refusal r) const { return refused_[static_cast<std::size_t>(r)]; }
  void set_auth_key(std::string k) { opt_.auth_key = std::move(k); }

 private:
  class connection;
  friend class connection;
  void accept();
  // Closes the oldest pending connection; false if there is none.
  bool evict_oldest_pending();
  enum class pending_close { timed_out, evicted };
  void count_pending_closed(pending_close why);
  void log_pending_closed();

  asio::io_context& io_;
  agent_api& agent_;
  server_options opt_;
  log_function log_;
  asio::ip::tcp::acceptor acceptor_;
  std::set<std::shared_ptr<connection>> conns_;
  std::function<std::vector<std::pair<log_level, std::string>>()> history_;
  std::uint64_t dropped_slow_ = 0;
  std::uint64_t next_serial_ = 0;  // accept order, to find the oldest pending
  std::uint64_t pending_timed_out_ = 0, pending_evicted_ = 0;
  std::array<std::uint64_t, refusal_count> refused_{};
  void count(refusal r) { ++refused_[static_cast<std::size_t>(r)]; }
  // Closures not yet logged, and when the last summary line was written.
  std::uint64_t unlogged_timed_out_ = 0, unlogged_evicted_ = 0;
  std::optional<std::chrono::steady_clock::time_point> last_pending_log_;
  asio::steady_timer pending_log_timer_;
  bool pending_log_armed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chorus::rpc
