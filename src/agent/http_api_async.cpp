// The HTTP API's routes that answer over time: queries (acks and responses
// streamed as JSON lines, or collected), keyring operations (a cluster-wide
// query underneath) and the Server-Sent Events stream.
#include <set>

#include "agent/config.hpp"
#include "agent/http_api.hpp"
#include "agent/member_json.hpp"
#include "rpc/go_base64.hpp"
#include "swim/keyring.hpp"

namespace chorus::agent {

namespace {

// A payload both as text (invalid UTF-8 replaced when serialised) and
// exactly, in base64.
void put_payload(nlohmann::ordered_json& j, const std::optional<rpc::bytes>& p) {
  const rpc::bytes b = p.value_or(rpc::bytes{});
  j["payload"] = std::string(b.begin(), b.end());
  j["payload_base64"] = swim::key_to_base64(b);
}

std::vector<std::string> split_list(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    std::size_t start = 0;
    while (start <= v.size()) {
      const auto comma = v.find(',', start);
      const auto part = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

// The query options of the URL; "" or why they are wrong.
std::string query_options(const http_request& r, rpc::query_request& q) {
  if (auto t = r.param("timeout")) {
    const auto d = parse_go_duration(*t);
    if (!d || d->count() < 0) return "invalid timeout '" + *t + "' (a duration: 500ms, 5s)";
    q.timeout_ns = d->count();
  }
  if (auto nodes = split_list(r.params("node")); !nodes.empty()) q.filter_nodes = nodes;
  if (rpc::string_map tags; !r.params("tag").empty()) {
    if (auto e = read_tag_filters(r, tags); !e.empty()) return e;
    q.filter_tags = std::move(tags);
  }
  const auto ack = flag_param(r, "ack", q.request_ack);
  if (!ack) return "ack must be true or false";
  q.request_ack = *ack;
  if (auto rf = r.param("relay")) {
    if (rf->empty() || rf->size() > 1 || (*rf)[0] < '0' || (*rf)[0] > '5') return "relay must be 0-5";
    q.relay_factor = static_cast<std::uint8_t>((*rf)[0] - '0');
  }
  return {};
}

}  // namespace

void http_api::query(const http_request& r, const std::string& name, const exchange& x) {
  rpc::query_request q;
  q.name = name;
  q.payload = rpc::bytes(r.body.begin(), r.body.end());
  if (auto e = query_options(r, q); !e.empty()) return reply_error(x, 400, e);
  const auto stream = r.param("stream").value_or("false");
  const bool streamed = stream.empty() || stream == "true" || stream == "1";

  // Collected answers, when not streamed.
  struct collected {
    nlohmann::ordered_json acks = nlohmann::ordered_json::array();
    nlohmann::ordered_json responses = nlohmann::ordered_json::array();
  };
  auto all = std::make_shared<collected>();
  auto record = [x, streamed, all](const rpc::query_record& rec) {
    nlohmann::ordered_json line;
    line["type"] = rec.type;
    if (rec.type != "done") line["from"] = rec.from;
    if (rec.type == "response") put_payload(line, rec.payload);
    if (streamed) {
      x->send(json_text(line) + "\n");
      if (rec.type == "done") x->end_stream();
      return;
    }
    if (rec.type == "ack") all->acks.push_back(rec.from);
    if (rec.type == "response") {
      line.erase("type");
      all->responses.push_back(line);
    }
    if (rec.type == "done") reply_json(x, 200, {{"acks", all->acks}, {"responses", all->responses}});
  };
  if (auto e = agent_.query(q, record); !e.empty()) return reply_error(x, agent_error_status(e), e);
  if (streamed) x->begin_stream(200, "application/x-ndjson");
}

void http_api::keyring(const http_request& r, const std::string& op, const exchange& x) {
  rpc::command c = rpc::command::list_keys;
  if (op == "install")
    c = rpc::command::install_key;
  else if (op == "use")
    c = rpc::command::use_key;
  else if (op == "remove")
    c = rpc::command::remove_key;
  else if (op != "list")
    return reply_error(x, 404, "no such keyring operation: " + op + " (install, use, remove)");
  std::string key;
  if (c != rpc::command::list_keys) {
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("key") || !j["key"].is_string())
      return reply_error(x, 400, R"(body must be {"key": "BASE64"})");
    key = j["key"].get<std::string>();
    if (auto e = rpc::go_base64_error(key); !e.empty()) return reply_error(x, 400, "invalid key: " + e);
  }
  agent_.key_operation(c, key, [x, c](const rpc::key_response& resp, const std::string& error) {
    nlohmann::ordered_json j;
    if (!error.empty()) j["error"] = error;
    if (c == rpc::command::list_keys) {
      nlohmann::ordered_json keys = nlohmann::ordered_json::object();
      if (resp.keys)
        for (const auto& [k, n] : *resp.keys) keys[k] = n;
      j["keys"] = keys;
    }
    nlohmann::ordered_json messages = nlohmann::ordered_json::object();
    if (resp.messages)
      for (const auto& [node, m] : *resp.messages) messages[node] = m;
    j["messages"] = messages;
    j["num_nodes"] = resp.num_nodes;
    j["num_resp"] = resp.num_resp;
    j["num_err"] = resp.num_err;
    reply_json(x, error.empty() ? 200 : 500, j);
  });
}

void http_api::events(const http_request& r, const exchange& x) {
  const auto filter = r.param("type").value_or("");
  if (!filter.empty() && !agent_.valid_filter(filter))
    return reply_error(x, 400, "invalid event filter '" + filter + "' (member-join,user:NAME,query:NAME,...)");
  x->begin_stream(200, "text/event-stream");
  // A comment first: the reader knows it is subscribed before any event.
  x->send(": chorus events" + (filter.empty() ? std::string() : " " + filter) + "\n\n");
  const auto id = next_stream_++;
  streams_[id] = stream{filter, x, 0};
  x->on_close([this, alive = alive_, id] {
    if (*alive) streams_.erase(id);
  });
}

void http_api::fan_out(const std::string& event, const std::string& name, const std::string& json) {
  const std::string record = "event: " + event + "\ndata: " + json + "\n\n";
  for (auto it = streams_.begin(); it != streams_.end();) {
    auto x = it->second.x.lock();
    if (!x || !x->open()) {
      it = streams_.erase(it);
      continue;
    }
    auto& s = it->second;
    ++it;
    if (!s.filter.empty() && !agent_.filter_matches(s.filter, event, name)) continue;
    if (s.missed && x->send("event: dropped\ndata: {\"missed\":" + std::to_string(s.missed) + "}\n\n")) s.missed = 0;
    if (s.missed || !x->send(record)) {
      ++s.missed;
      ++dropped_events_;
    }
  }
}

void http_api::publish(const rpc::member_event_record& r) {
  if (streams_.empty()) return;
  nlohmann::ordered_json members = nlohmann::ordered_json::array();
  for (const auto& m : r.members) members.push_back(member_json(m, false));
  fan_out(r.event, "", json_text(nlohmann::ordered_json{{"event", r.event}, {"members", members}}));
}

void http_api::publish(const rpc::user_event_record& r) {
  if (streams_.empty()) return;
  nlohmann::ordered_json j{{"event", "user"}, {"name", r.name}, {"ltime", r.ltime}, {"coalesce", r.coalesce}};
  put_payload(j, r.payload);
  fan_out("user", r.name, json_text(j));
}

void http_api::publish(const rpc::query_event_record& r) {
  if (streams_.empty()) return;
  nlohmann::ordered_json j{{"event", "query"}, {"name", r.name}, {"ltime", r.ltime}};
  put_payload(j, r.payload);
  fan_out("query", r.name, json_text(j));
}

}  // namespace chorus::agent
