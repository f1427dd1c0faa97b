// A bare swim::core under a transcript (driver.hpp). Its commands, besides
// the shared ones:
//   core [seed=N] [recheck=off]   the node n0 at 10.0.0.0:7946 with the LAN
//                                 preset, started; must come first
//   join nA nB ...                a push/pull join with each
//   leave                         graceful leave
//   member nA ...                 "nA STATE inc=N" (or "nA unknown")
//   stats KEY ...                 "KEY=N" for core_stats counters
//   health                        "health=N", the awareness score
// Its effects print as the core's golden transcripts always have:
//   send ADDR MESSAGE | push-pull ADDR join=B | tcp-ping ADDR ping ...
//   event KIND NAME inc=N | suspected NAME by FROM | refuted NAME inc=N
//   join-finished ok=N failed=N | leave-finished | user-message HEX
//   conflict NAME ADDR vs ADDR
#include <memory>
#include <stdexcept>

#include "drivers.hpp"
#include "layer_driver.hpp"
#include "message_text.hpp"
#include "unit/core/harness.hpp"

namespace golden {

namespace s = chorus::swim;

namespace {

std::uint64_t stat(const s::core_stats& st, const std::string& key) {
  const std::pair<const char*, std::uint64_t> table[] = {
      {"probes", st.probes},
      {"probe_failures", st.probe_failures},
      {"indirect_probes", st.indirect_probes},
      {"tcp_pings", st.tcp_pings},
      {"suspicions_raised", st.suspicions_raised},
      {"suspicion_rechecks", st.suspicion_rechecks},
      {"suspicion_prechecks", st.suspicion_prechecks},
      {"rechecks_answered", st.rechecks_answered},
      {"refutations", st.refutations},
      {"push_pulls_started", st.push_pulls_started},
      {"refused", st.refused},
  };
  for (const auto& [name, value] : table)
    if (key == name) return value;
  throw std::runtime_error("unknown stat '" + key + "'");
}

class core_driver final : public layer_driver<s::core, s::runtime> {
 public:
  explicit core_driver(const directive& d) : layer_driver(config_of(d), std::stoull(d.arg("seed", "1"))) {}

 private:
  static s::config config_of(const directive& d) {
    auto c = s::config::lan(s::testing::name_of(0), s::testing::addr_of(0));
    if (d.arg("recheck") == "off") c.lifeguard.recheck_unconfirmed = false;
    return c;
  }

  std::string describe_user(const bytes& payload) const override { return s::testing::hex(payload); }

  bool run_command(const directive& d) override {
    if (d.command == "core") {
      start_once(d, [&] { node_.start(now_, rt()); });
    } else if (d.command == "join") {
      std::vector<address> seeds;
      for (const auto& p : d.positional) seeds.push_back(parse_address(p));
      node_.join(now_, seeds, rt());
    } else if (d.command == "leave") {
      node_.leave(now_, rt());
    } else if (d.command == "member") {
      for (const auto& name : d.positional) {
        const auto m = node_.member(name);
        out(name + (m ? std::string(" ") + s::to_string(m->state) + " inc=" + std::to_string(m->incarnation)
                      : std::string(" unknown")));
      }
    } else if (d.command == "stats") {
      for (const auto& key : d.positional) out(key + "=" + std::to_string(stat(node_.stats(), key)));
    } else if (d.command == "health") {
      out("health=" + std::to_string(node_.health_score()));
    } else {
      return false;
    }
    return true;
  }

  // --- swim::runtime: events ------------------------------------------------
  void member_changed(const s::member_event& e) override {
    out(std::string("event ") + s::to_string(e.kind) + " " + e.member.name +
        " inc=" + std::to_string(e.member.incarnation));
  }
  void member_suspected(const s::member_info& m, std::string_view from) override {
    out("suspected " + m.name + " by " + std::string(from));
  }
  void suspicion_refuted(const s::member_info& m) override {
    out("refuted " + m.name + " inc=" + std::to_string(m.incarnation));
  }
  void user_message(std::span<const std::uint8_t> p) override {
    out("user-message " + s::testing::hex(bytes(p.begin(), p.end())));
  }
  void name_conflict(const s::member_info& existing, const s::member_info& other) override {
    out("conflict " + existing.name + " " + existing.addr.to_string() + " vs " + other.addr.to_string());
  }
  void join_finished(std::uint64_t, int ok, int failed) override {
    out("join-finished ok=" + std::to_string(ok) + " failed=" + std::to_string(failed));
  }
  void leave_finished() override { out("leave-finished"); }
};

}  // namespace

std::unique_ptr<driver> make_core_driver(const directive& first) { return std::make_unique<core_driver>(first); }

}  // namespace golden
