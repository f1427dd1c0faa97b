// The HTTP API's routes that answer at once or after one agent call:
// members, rtt, coordinate, health, event, join, leave, force-leave, tags.
#include "agent/http_api.hpp"

#include "agent/member_json.hpp"
#include "agent/metrics_server.hpp"
#include "rpc/member_filter.hpp"

namespace chorus::agent {

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
std::string json_text(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}
std::string json_error_body(std::string_view message) { return json_text(nlohmann::json{{"error", message}}) + "\n"; }
void reply_json(const std::shared_ptr<http_exchange>& x, int code, const nlohmann::ordered_json& body) {
  x->reply(code, "application/json", json_text(body) + "\n");
}
void reply_error(const std::shared_ptr<http_exchange>& x, int code, std::string_view message) {
  x->reply(code, "application/json", json_error_body(message));
}

std::optional<bool> flag_param(const http_request& r, std::string_view name, bool missing) {
  const auto v = r.param(name);
  if (!v) return missing;
  if (*v == "" || *v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  return std::nullopt;
}

std::string read_tag_filters(const http_request& r, rpc::string_map& into) {
  for (const auto& t : r.params("tag")) {
    const auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0) return "invalid tag filter '" + t + "': want KEY=REGEX";
    into[t.substr(0, eq)] = t.substr(eq + 1);
  }
  return {};
}

int agent_error_status(const std::string& error) { return error.find("exceeds") != std::string::npos ? 413 : 400; }

namespace {

// Constant-time comparison: the token is a secret.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

http_api::http_api(rpc::agent_api& agent, host h, std::string auth_token)
    : agent_(agent), host_(std::move(h)), token_(std::move(auth_token)) {}

http_api::~http_api() {
  *alive_ = false;
  for (auto& [id, s] : streams_)
    if (auto x = s.x.lock()) x->end_stream();
}

bool http_api::authorized(const http_request& r) const {
  if (token_.empty()) return true;
  if (auto h = r.header("authorization"); h && h->rfind("Bearer ", 0) == 0) return same_secret(h->substr(7), token_);
  if (auto h = r.header("x-chorus-token")) return same_secret(*h, token_);
  return false;
}

void http_api::handle(const http_request& r, std::shared_ptr<http_exchange> x) {
  if (r.path == "/v1/health") {
    if (r.method != "GET" && r.method != "HEAD")
      return x->reply(405, "application/json", json_error_body("method not allowed"), {"Allow: GET, HEAD"});
    return health(x);
  }
  if (!authorized(r))
    return x->reply(401, "application/json", json_error_body("missing or wrong token (Authorization: Bearer TOKEN)"),
                    {"WWW-Authenticate: Bearer"});
  route(r, x);
}

void http_api::route(const http_request& r, const exchange& x) {
  const std::string& p = r.path;
  auto tail = [&](std::string_view prefix) -> std::optional<std::string> {
    if (p.size() <= prefix.size() || p.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    return p.substr(prefix.size());
  };
  // Each route: its one method (GET routes answer HEAD too).
  auto method_is = [&](std::string_view m) {
    if (r.method == m || (m == "GET" && r.method == "HEAD")) return true;
    x->reply(405, "application/json", json_error_body("method not allowed"),
             {"Allow: " + std::string(m) + (m == "GET" ? ", HEAD" : "")});
    return false;
  };
  if (p == "/metrics") {
    auto rep = route_metrics_request(r, host_.render_metrics);
    return x->reply(rep.code, rep.content_type, rep.body, rep.headers);
  }
  if (p == "/v1/members") return method_is("GET") ? members(r, x) : void();
  if (p == "/v1/rtt") return method_is("GET") ? rtt(r, x) : void();
  if (p == "/v1/coordinate") return method_is("GET") ? coordinate(r, x) : void();
  if (p == "/v1/events") return method_is("GET") ? events(r, x) : void();
  if (p == "/v1/join") return method_is("POST") ? join(r, x) : void();
  if (p == "/v1/leave") return method_is("POST") ? leave(x) : void();
  if (p == "/v1/tags") return method_is("PUT") ? tags(r, x) : void();
  if (p == "/v1/keyring") return method_is("GET") ? keyring(r, "list", x) : void();
  if (auto op = tail("/v1/keyring/")) return method_is("POST") ? keyring(r, *op, x) : void();
  if (auto name = tail("/v1/event/")) return method_is("POST") ? event(r, *name, x) : void();
  if (auto name = tail("/v1/query/")) return method_is("POST") ? query(r, *name, x) : void();
  if (auto node = tail("/v1/force-leave/")) return method_is("POST") ? force_leave(r, *node, x) : void();
  reply_error(x, 404, "no such endpoint: " + p);
}

void http_api::members(const http_request& r, const exchange& x) {
  rpc::members_filtered_request req;
  req.name = r.param("name").value_or("");
  req.status = r.param("status").value_or("");
  req.tags.emplace();
  if (auto e = read_tag_filters(r, *req.tags); !e.empty()) return reply_error(x, 400, e);
  auto list = agent_.members();
  if (auto e = rpc::filter_members(req, list); !e.empty()) return reply_error(x, 400, "invalid filter: " + e);

  const auto near = r.param("near").value_or("");
  std::vector<placed_member> out;
  for (auto& m : list) out.push_back({std::move(m), std::nullopt, std::nullopt});
  if (!near.empty()) {
    const auto origin = agent_.get_coordinate(near);
    if (!origin.ok) return reply_error(x, 404, "could not find a coordinate for node \"" + near + "\"");
    for (auto& p : out) {
      const auto c = agent_.get_coordinate(p.m.name);
      if (!c.ok) continue;
      p.coord = c.coord;
      p.rtt_seconds = estimate_rtt_seconds(origin.coord, c.coord);
    }
    sort_nearest_first(out);  // as `members -near`
  }
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& p : out) arr.push_back(member_json(p.m, !near.empty(), p.coord, p.rtt_seconds));
  reply_json(x, 200, {{"members", arr}});
}

void http_api::rtt(const http_request& r, const exchange& x) {
  const auto a = r.param("a").value_or("");
  const auto b = r.param("b").value_or(host_.node_name);
  if (a.empty()) return reply_error(x, 400, "parameter a (a node name) is required; b defaults to this agent");
  const auto ca = agent_.get_coordinate(a), cb = agent_.get_coordinate(b);
  for (const auto& [n, c] : {std::pair{&a, &ca}, std::pair{&b, &cb}})
    if (!c->ok) return reply_error(x, 404, "could not find a coordinate for node \"" + *n + "\"");
  const auto est = estimate_rtt_seconds(ca.coord, cb.coord);
  if (!est) return reply_error(x, 409, "the two coordinates are not compatible");
  reply_json(x, 200, {{"a", a}, {"b", b}, {"estimated_rtt_ms", *est * 1000.0}});
}

void http_api::coordinate(const http_request& r, const exchange& x) {
  const auto node = r.param("node").value_or(host_.node_name);
  const auto c = agent_.get_coordinate(node);
  if (!c.ok) return reply_error(x, 404, "could not find a coordinate for node \"" + node + "\"");
  reply_json(x, 200, {{"node", node}, {"coordinate", coordinate_json(c.coord)}});
}

void http_api::health(const exchange& x) {
  std::size_t alive = 0, total = 0;
  const auto& self = host_.node_name;
  std::string self_status;
  for (const auto& m : agent_.members()) {
    ++total;
    if (m.status == "alive") ++alive;
    if (m.name == self) self_status = m.status;
  }
  // Leaving or left: load balancers should stop sending work here.
  const bool ok = self_status == "alive";
  reply_json(x, ok ? 200 : 503,
             {{"status", ok ? "ok" : "unavailable"},
              {"node", self},
              {"member_status", self_status},
              {"members", total},
              {"alive_members", alive}});
}

void http_api::event(const http_request& r, const std::string& name, const exchange& x) {
  const auto coalesce = flag_param(r, "coalesce", true);
  if (!coalesce) return reply_error(x, 400, "coalesce must be true or false");
  const rpc::bytes payload(r.body.begin(), r.body.end());
  if (auto e = agent_.user_event(name, payload, *coalesce); !e.empty()) return reply_error(x, agent_error_status(e), e);
  reply_json(x, 200, {{"event", name}, {"payload_bytes", payload.size()}, {"coalesce", *coalesce}});
}

void http_api::join(const http_request& r, const exchange& x) {
  std::vector<std::string> addrs = r.params("addr");
  auto replay = flag_param(r, "replay", false);
  if (!r.body.empty()) {
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("addrs") || !j["addrs"].is_array())
      return reply_error(x, 400, R"(body must be {"addrs": ["host:port", ...], "replay": false})");
    for (const auto& a : j["addrs"]) {
      if (!a.is_string()) return reply_error(x, 400, "addrs must be strings");
      addrs.push_back(a.get<std::string>());
    }
    if (j.contains("replay")) {
      if (!j["replay"].is_boolean()) return reply_error(x, 400, "replay must be true or false");
      replay = j["replay"].get<bool>();
    }
  }
  if (!replay) return reply_error(x, 400, "replay must be true or false");
  if (addrs.empty()) return reply_error(x, 400, "no address to join (addr=HOST:PORT or a JSON body)");
  agent_.join(addrs, *replay, [x](int num, const std::string& error) {
    if (!error.empty()) return reply_json(x, 500, {{"error", error}, {"joined", num}});
    reply_json(x, 200, {{"joined", num}});
  });
}

void http_api::leave(const exchange& x) {
  agent_.leave([x](const std::string& error) {
    if (!error.empty()) return reply_error(x, 500, error);
    reply_json(x, 200, {{"left", true}});
  });
}

void http_api::force_leave(const http_request& r, const std::string& node, const exchange& x) {
  const auto prune = flag_param(r, "prune", false);
  if (!prune) return reply_error(x, 400, "prune must be true or false");
  if (auto e = agent_.force_leave(node, *prune); !e.empty()) return reply_error(x, 400, e);
  reply_json(x, 200, {{"node", node}, {"prune", *prune}});
}

void http_api::tags(const http_request& r, const exchange& x) {
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  const char* shape = R"(body must be {"tags": {"KEY": "VALUE", ...}, "delete": ["KEY", ...]})";
  if (!j.is_object()) return reply_error(x, 400, shape);
  rpc::string_map set;
  std::vector<std::string> del;
  if (j.contains("tags")) {
    if (!j["tags"].is_object()) return reply_error(x, 400, shape);
    for (const auto& [k, v] : j["tags"].items()) {
      if (!v.is_string()) return reply_error(x, 400, "tag values must be strings");
      set[k] = v.get<std::string>();
    }
  }
  if (j.contains("delete")) {
    if (!j["delete"].is_array()) return reply_error(x, 400, shape);
    for (const auto& k : j["delete"]) {
      if (!k.is_string()) return reply_error(x, 400, "delete must list tag names");
      del.push_back(k.get<std::string>());
    }
  }
  if (auto e = agent_.set_tags(set, del); !e.empty()) return reply_error(x, agent_error_status(e), e);
  nlohmann::ordered_json now = nlohmann::ordered_json::object();
  const auto& self = host_.node_name;
  for (const auto& m : agent_.members())
    if (m.name == self && m.tags)
      for (const auto& [k, v] : *m.tags) now[k] = v;
  reply_json(x, 200, {{"tags", now}});
}

}  // namespace chorus::agent
