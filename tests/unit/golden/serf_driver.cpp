// The sans-I/O Serf layer (agent::serf, src/agent/serf/serf.hpp) under a
// transcript (driver.hpp): the same clock, timers and shared commands as the
// bare core, one layer up. User (type 8) messages read as Serf messages
// (message_text.hpp), in inputs and outputs:
//   recv n1 user query ltime=3 id=42 name=deploy source=n1 flags=1 relay=1 timeout=1000ms payload=
// Its commands, besides the shared ones:
//   serf [seed=N]                 the node n0 at 10.0.0.0:7946 (LAN preset,
//                                 coalescing off so events show at once),
//                                 started; must come first
//   respond HANDLE PAYLOAD        answers a query delivered as HANDLE
//   query NAME [payload=P] [relay=N] [ack=1] [timeout=D]   starts a query
//   members                       "NAME STATUS" for every member
//   leave                         graceful leave
// Its effects: send ADDR MESSAGE | push-pull ... | tcp-ping ... (as the core)
//   event member-join NAME... | event user ... | event query handle=H ...
//   query-ack/query-response/query-done (queries we started)
//   suspected NAME by FROM | alive-again NAME | leave-done [ERROR]
//   log LEVEL TEXT (warnings and errors only: the debug chatter is not behaviour)
#include <memory>
#include <stdexcept>

#include "agent/serf/codec.hpp"
#include "agent/serf/serf.hpp"
#include "agent/serf/tags.hpp"
#include "drivers.hpp"
#include "layer_driver.hpp"
#include "message_text.hpp"
#include "unit/core/harness.hpp"

namespace golden {

namespace a = chorus::agent;
namespace s = chorus::swim;
using namespace std::chrono_literals;

namespace {

// Go's MemberStatus names, indexed by its value.
const char* status_name(a::member_status st) {
  static const char* const names[] = {"none", "alive", "leaving", "left", "failed"};
  const auto i = static_cast<std::size_t>(st);
  return i < std::size(names) ? names[i] : "?";
}

class serf_driver final : public layer_driver<a::serf, a::serf_runtime> {
 public:
  explicit serf_driver(const directive& d) : layer_driver(config(), std::stoull(d.arg("seed", "1"))) {}

 private:
  static a::serf_config config() {
    a::serf_config c;
    c.memberlist = s::config::lan(s::testing::name_of(0), s::testing::addr_of(0));
    c.coalesce_period = 0s;
    c.user_coalesce_period = 0s;
    return c;
  }

  std::string describe_user(const bytes& payload) const override {
    const auto m = a::decode_serf_message(payload);
    return m.ok() ? describe_serf(m.value) : "undecodable " + format_bytes(payload);
  }
  bytes encode_input(const std::vector<std::string>& words) const override {
    if (words.empty() || words[0] != "user") return driver::encode_input(words);
    bytes out{static_cast<std::uint8_t>(s::message_type::user)};
    a::encode(parse_serf_message({words.begin() + 1, words.end()}), out);
    return out;
  }
  // Serf peers gossip their tags (none) in Meta: the magic byte and an empty map.
  s::alive peer_alive(const std::string& name) const override {
    auto m = driver::peer_alive(name);
    m.meta = a::encode_tags({}).meta;
    return m;
  }

  bool run_command(const directive& d) override {
    if (d.command == "serf") {
      start_once(d, [&] { node_.start(now_, rt()); });
    } else if (d.command == "respond") {
      if (d.positional.size() < 2) throw std::runtime_error("respond HANDLE PAYLOAD");
      const auto err = node_.respond(now_, std::stoull(d.positional[0]), parse_bytes(d.positional[1]), rt());
      if (!err.empty()) out("respond-error " + err);
    } else if (d.command == "query") {
      start_query(d);
    } else if (d.command == "members") {
      for (const auto& m : node_.members()) out(m.name + " " + status_name(m.status));
    } else if (d.command == "leave") {
      node_.leave(now_, rt());
    } else {
      return false;
    }
    return true;
  }

  // query NAME [payload=P] [relay=N] [ack=1] [timeout=D]
  void start_query(const directive& d) {
    if (d.positional.empty()) throw std::runtime_error("query NAME [payload=P] [relay=N] [ack=1] [timeout=D]");
    a::query_params p;
    p.name = d.positional[0];
    p.payload = parse_bytes(d.arg("payload"));
    p.relay_factor = static_cast<std::uint8_t>(std::stoul(d.arg("relay", "0")));
    p.request_ack = d.arg("ack") == "1";
    if (d.has("timeout")) p.timeout = parse_duration(d.arg("timeout"));
    const auto started = node_.query(now_, p, rt());
    if (!started.ok()) {
      out("query-error " + started.error);
      return;
    }
    const auto deadline = std::chrono::duration_cast<std::chrono::milliseconds>(started.deadline.time_since_epoch());
    out("query-started handle=" + std::to_string(started.handle) + " deadline=" + std::to_string(deadline.count()) +
        "ms");
  }

  // --- serf_runtime: events -------------------------------------------------
  void member_event(const a::member_event& e) override {
    std::string names;
    for (const auto& m : e.members) names += " " + m.name;
    out(std::string("event ") + a::to_string(e.type) + names);
  }
  void user_event(const a::user_event_data& e) override {
    out("event user ltime=" + std::to_string(e.ltime) + " name=" + e.name + " cc=" + std::to_string(e.coalesce) +
        " payload=" + format_bytes(e.payload));
  }
  void query(const a::query_event& e) override {
    const auto deadline = std::chrono::duration_cast<std::chrono::milliseconds>(e.deadline.time_since_epoch());
    out("event query handle=" + std::to_string(e.handle) + " ltime=" + std::to_string(e.ltime) +
        " id=" + std::to_string(e.id) + " name=" + e.name + " from=" + e.source_node +
        " payload=" + format_bytes(e.payload) + " deadline=" + std::to_string(deadline.count()) + "ms");
  }
  void query_ack(a::query_handle h, std::string_view from) override {
    out("query-ack handle=" + std::to_string(h) + " from=" + std::string(from));
  }
  void query_response(a::query_handle h, std::string_view from, std::span<const std::uint8_t> p) override {
    out("query-response handle=" + std::to_string(h) + " from=" + std::string(from) +
        " payload=" + format_bytes(bytes(p.begin(), p.end())));
  }
  void query_done(a::query_handle h) override { out("query-done handle=" + std::to_string(h)); }
  void leave_done(std::string_view error) override {
    out("leave-done" + (error.empty() ? std::string() : " " + std::string(error)));
  }
  void log(a::log_level level, std::string_view text) override {
    if (level == a::log_level::warn) out("log warn " + std::string(text));
    if (level == a::log_level::error) out("log error " + std::string(text));
  }
  void member_suspected(std::string_view name, const address&, std::string_view by) override {
    out("suspected " + std::string(name) + " by " + std::string(by));
  }
  void member_alive_again(std::string_view name, const address&, std::string_view) override {
    out("alive-again " + std::string(name));
  }
};

}  // namespace

std::unique_ptr<driver> make_serf_driver(const directive& first) { return std::make_unique<serf_driver>(first); }

}  // namespace golden
