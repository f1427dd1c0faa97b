// `query` and `reachability`: both start a query on the agent and read its
// ack/response records until the "done" record (or one with an empty From,
// which the agent can emit when its timers race: serf-rpc.md 4.1).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "agent/text_escape.hpp"
#include "cli/commands.hpp"
#include "cli/format.hpp"
#include "cli/session.hpp"

namespace chorus::cli {

namespace {

using clock = std::chrono::steady_clock;

// How long we wait for the agent's "done" beyond the query's own timeout.
constexpr auto done_grace = std::chrono::seconds(30);
// Upper bound when the agent picks the timeout (it scales with log N).
constexpr auto default_wait = std::chrono::seconds(120);

std::string as_text(const std::optional<rpc::bytes>& b) { return b ? std::string(b->begin(), b->end()) : ""; }

bool end_of_query(const rpc::query_record& r) { return r.type == rpc::query_record_type::done || r.from.empty(); }

// A record callback for client::query: passes the acks and responses to
// `each` until the end of the query, sets `done` there, and ignores whatever
// the agent still sends after it.
template <class Each>
std::function<void(const rpc::query_record&)> until_end(bool& done, Each each) {
  return [&done, each](const rpc::query_record& r) {
    if (done) return;
    if (end_of_query(r)) {
      done = true;
      return;
    }
    each(r);
  };
}

}  // namespace

int run_query(const query_options& o) {
  if (o.format != "text" && o.format != "json") {
    out_line("Invalid format: " + o.format);
    return 1;
  }
  if (o.relay_factor < 0 || o.relay_factor > 255) {
    out_line("Relay factor must be between 0 and 255");
    return 1;
  }
  std::optional<std::chrono::nanoseconds> timeout = std::chrono::nanoseconds(0);
  if (o.timeout_given) {
    timeout = parse_go_duration(o.timeout);
    if (!timeout) {
      std::fprintf(stderr, "invalid value \"%s\" for flag -timeout: parse error\n", o.timeout.c_str());
      return show_usage;
    }
  }
  if (o.args.empty()) return usage_error("A query name must be specified.");
  if (o.args.size() > 2)
    return usage_error("Too many command line arguments. Only a name and payload must be specified.");

  rpc::query_request req;
  req.name = o.args[0];
  if (o.args.size() == 2) req.payload = rpc::bytes(o.args[1].begin(), o.args[1].end());
  if (!o.nodes.empty()) req.filter_nodes = o.nodes;
  req.filter_tags.emplace();  // Serf sends a map even without -tag
  if (!read_tag_flags(o.tags, *req.filter_tags)) return 1;
  req.request_ack = !o.no_ack;
  req.relay_factor = static_cast<std::uint8_t>(o.relay_factor);
  req.timeout_ns = timeout->count();

  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  const bool text = o.format == "text";
  std::vector<std::string> acks;
  std::map<std::string, std::string> responses;
  bool done = false;
  std::uint64_t seq = 0;
  auto on_record = until_end(done, [&](const rpc::query_record& r) {
    if (r.type == rpc::query_record_type::ack) {
      acks.push_back(r.from);
      if (text) out_line("Ack from '" + agent::escape_text(r.from) + "'");
    } else if (r.type == rpc::query_record_type::response) {
      const std::string payload = as_text(r.payload);
      responses[r.from] = payload;
      // The payload is the responder's own output, printed as is (it may
      // span lines); the name is gossiped text and escaped.
      if (text)
        out_line("Response from '" + agent::escape_text(r.from) + "': " + std::string(trim_one_newline(payload)));
    }
    std::fflush(stdout);
  });
  if (failed("Error sending query", c.query(req, on_record, seq))) return 1;
  if (text) {
    out_line("Query '" + req.name + "' dispatched");
    std::fflush(stdout);
  }
  const auto wait =
      req.timeout_ns > 0 ? std::chrono::duration_cast<clock::duration>(*timeout) + done_grace : default_wait;
  const auto result = c.pump(clock::now() + wait, [&] { return done; });
  if (result != rpc::client::pump_result::done) {
    const std::string why = result == rpc::client::pump_result::timed_out ? "timed out waiting for the query to end"
                            : result == rpc::client::pump_result::closed  ? "client closed"
                                                                          : c.last_error();
    out_line("Error receiving query results: " + why);
    return 1;
  }
  if (text) {
    if (req.request_ack) out_line("Total Acks: " + std::to_string(acks.size()));
    out_line("Total Responses: " + std::to_string(responses.size()));
    return 0;
  }
  nlohmann::ordered_json root;
  if (acks.empty()) {
    root["Acks"] = nullptr;  // Go marshals a nil slice as null
  } else {
    root["Acks"] = acks;
  }
  nlohmann::ordered_json resp = nlohmann::ordered_json::object();
  for (const auto& [from, payload] : responses) resp[from] = payload;
  root["Responses"] = resp;
  out_line(go_json_indent(root));
  return 0;
}

int run_reachability(const reachability_options& o) {
  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  rpc::members_response members;
  if (failed("Error getting members", c.members(members))) return 1;
  std::set<std::string> live;
  std::size_t total = 0;
  if (members.members) {
    total = members.members->size();
    for (const auto& m : *members.members)
      if (m.status == "alive") live.insert(m.name);
  }
  out_line("Total members: " + std::to_string(total) + ", live members: " + std::to_string(live.size()));
  out_line("Starting reachability test...");
  std::fflush(stdout);

  rpc::query_request req;
  req.name = "_serf_ping";
  req.request_ack = true;
  const auto start = clock::now();
  auto last_ack = start;
  std::vector<std::string> acks;
  std::set<std::string> seen;
  bool done = false;
  std::uint64_t seq = 0;
  auto on_record = until_end(done, [&](const rpc::query_record& r) {
    if (r.type != rpc::query_record_type::ack) return;
    if (!seen.insert(r.from).second) {
      out_line("Duplicate response from '" + agent::escape_text(r.from) + "'");
      return;
    }
    acks.push_back(r.from);
    last_ack = clock::now();
    if (o.verbose) out_line("\tAck from '" + agent::escape_text(r.from) + "'");
    std::fflush(stdout);
  });
  if (failed("Error sending query", c.query(req, on_record, seq))) return 1;
  const auto result = c.pump(clock::now() + default_wait, [&] { return done; });
  if (result != rpc::client::pump_result::done) {
    out_line("Error receiving query results: " +
             (result == rpc::client::pump_result::timed_out ? std::string("timed out") : std::string("client closed")));
    return 1;
  }
  const auto seconds = [&](clock::time_point t) { return std::chrono::duration<double>(t - start).count(); };
  if (o.verbose) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "Query time: %0.2f sec, time to last response: %0.2f sec", seconds(clock::now()),
                  seconds(last_ack));
    out_line(buf);
  }
  if (acks.size() < live.size()) {
    out_line("Received less acks than live nodes! Missing acks from:");
    for (const auto& n : live)
      if (!seen.count(n)) out_line("\t" + agent::escape_text(n));
  } else if (acks.size() > live.size()) {
    out_line("Received more acks than live nodes! Acks from non-live nodes:");
    for (const auto& n : acks)
      if (!live.count(n)) out_line("\t" + agent::escape_text(n));
  } else {
    out_line("Successfully contacted all live nodes");
    return 0;
  }
  out_line("");
  out_line(
      "The nodes listed did not answer a ping query relayed through the cluster. Check\n"
      "that every member can reach every other one on the gossip port over both UDP\n"
      "and TCP, and that the address each member advertises is reachable by the\n"
      "others (firewalls, NAT, a wrong -advertise address). Members that joined or\n"
      "failed during the test can also show up here: run the test again.");
  return 1;
}

}  // namespace chorus::cli
