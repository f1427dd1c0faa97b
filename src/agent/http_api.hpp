#pragma once
// The HTTP/JSON API (`-http-addr`, docs/http.md): the RPC commands as
// /v1/... routes for scripts in any language, Server-Sent Events for the
// event stream, /v1/health and /metrics. It is an http_server handler and,
// like rpc::server, knows nothing of the daemon: every command goes through
// the same rpc::agent_api the RPC server calls, so both answer alike (the
// same member filters, the same errors). Tests drive it with a fake agent.
//
// Auth: with a token (the agent's rpc_auth), every route but /v1/health
// needs "Authorization: Bearer TOKEN" (or "X-Chorus-Token: TOKEN"); 401
// otherwise. Errors are {"error": "..."} with a 4xx/5xx status.
//
// Event streams are bounded per reader (http_server's write queue): an
// event that does not fit is dropped and counted, and the reader is told
// how many it missed by an "event: dropped" record once it catches up.
//
// Threading: the io thread, like everything of the daemon's.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "agent/http_server.hpp"
#include "rpc/server.hpp"

namespace chorus::agent {

class http_api {
 public:
  // What the daemon adds to agent_api.
  struct host {
    std::string node_name;
    std::function<std::string()> render_metrics;  // Prometheus text
  };

  http_api(rpc::agent_api& agent, host h, std::string auth_token);
  ~http_api();
  http_api(const http_api&) = delete;
  http_api& operator=(const http_api&) = delete;

  // The http_server handler.
  void handle(const http_request& r, std::shared_ptr<http_exchange> x);
  http_server::handler handler() {
    return [this](const http_request& r, std::shared_ptr<http_exchange> x) { handle(r, std::move(x)); };
  }

  // Event fan-out, the records the RPC stream carries (io thread).
  void publish(const rpc::member_event_record& r);
  void publish(const rpc::user_event_record& r);
  void publish(const rpc::query_event_record& r);

  std::size_t event_streams() const { return streams_.size(); }
  std::uint64_t dropped_events() const { return dropped_events_; }

 private:
  using exchange = std::shared_ptr<http_exchange>;
  bool authorized(const http_request& r) const;
  void route(const http_request& r, const exchange& x);
  void members(const http_request& r, const exchange& x);
  void rtt(const http_request& r, const exchange& x);
  void coordinate(const http_request& r, const exchange& x);
  void health(const exchange& x);
  void event(const http_request& r, const std::string& name, const exchange& x);
  void join(const http_request& r, const exchange& x);
  void leave(const exchange& x);
  void force_leave(const http_request& r, const std::string& node, const exchange& x);
  void tags(const http_request& r, const exchange& x);
  // http_api_async.cpp: queries, keyring, event streams.
  void query(const http_request& r, const std::string& name, const exchange& x);
  void keyring(const http_request& r, const std::string& op, const exchange& x);
  void events(const http_request& r, const exchange& x);
  void fan_out(const std::string& event, const std::string& name, const std::string& json);

  struct stream {
    std::string filter;  // event handler syntax; "" = everything
    std::weak_ptr<http_exchange> x;
    std::uint64_t missed = 0;  // dropped since the reader last heard of it
  };

  rpc::agent_api& agent_;
  host host_;
  std::string token_;
  std::map<std::uint64_t, stream> streams_;
  std::uint64_t next_stream_ = 0, dropped_events_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// {"error": message} with a newline; invalid UTF-8 replaced.
std::string json_error_body(std::string_view message);
// Serialises for the wire: compact, invalid UTF-8 (gossiped text) replaced.
std::string json_text(const nlohmann::json& j);
std::string json_text(const nlohmann::ordered_json& j);
// Replies with a JSON body / a JSON error.
void reply_json(const std::shared_ptr<http_exchange>& x, int code, const nlohmann::ordered_json& body);
void reply_error(const std::shared_ptr<http_exchange>& x, int code, std::string_view message);

// Helpers of the routes (http_api.cpp, http_api_async.cpp).
// A boolean parameter: "" / "true" / "1" -> true, "false" / "0" -> false,
// absent -> `missing`; nullopt for anything else.
std::optional<bool> flag_param(const http_request& r, std::string_view name, bool missing);
// The repeated tag=KEY=REGEX parameters into `into`; "" or why one is wrong.
std::string read_tag_filters(const http_request& r, rpc::string_map& into);
// The status for an agent call's error: size limits 413, the rest 400.
int agent_error_status(const std::string& error);

}  // namespace chorus::agent
