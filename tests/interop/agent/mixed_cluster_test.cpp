// A mixed cluster: three Debian `serf agent` 0.9.4 processes and three
// `chorus agent` processes on 127.63.0.x (default ports), in the clear and
// with -encrypt. Every agent must list all six alive with their tags, and
// serf's own CLI must work against chorus's RPC.
#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

const std::string key = "DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=";

std::string ip(int i) { return "127.63.0." + std::to_string(i); }

void mixed_cluster(const std::vector<std::string>& extra) {
  cluster c("interop-mixed");
  auto with = [&](std::vector<std::string> f) {
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  };
  // Alternate implementations; everyone joins the first Serf agent.
  c.serf("s1", ip(1), with({"-tag=impl=serf", "-tag=idx=1"}));
  c.chorus("c1", ip(2), with({"-tag=impl=chorus", "-tag=idx=2", "-join=" + ip(1)}));
  c.serf("s2", ip(3), with({"-tag=impl=serf", "-tag=idx=3", "-join=" + ip(2)}));
  c.chorus("c2", ip(4), with({"-tag=impl=chorus", "-tag=idx=4", "-join=" + ip(3)}));
  c.serf("s3", ip(5), with({"-tag=impl=serf", "-tag=idx=5", "-join=" + ip(4)}));
  c.chorus("c3", ip(6), with({"-tag=impl=chorus", "-tag=idx=6", "-join=" + ip(1)}));

  const std::map<std::string, std::string> impl = {{"s1", "serf"},   {"c1", "chorus"}, {"s2", "serf"},
                                                   {"c2", "chorus"}, {"s3", "serf"},   {"c3", "chorus"}};
  const bool converged = eventually(
      [&] {
        for (int i = 1; i <= 6; ++i) {
          auto m = members_of(ip(i) + ":7373");
          if (m.size() != 6) return false;
          int idx = 0;
          for (const auto& [name, s] : m) {
            if (s.status != "alive") return false;
            auto it = s.tags.find("impl");
            if (it == s.tags.end() || it->second != impl.at(name)) return false;
            idx += s.tags.count("idx");
          }
          if (idx != 6) return false;
        }
        return true;
      },
      60s);
  if (!converged) {
    for (int i = 1; i <= 6; ++i) {
      auto m = members_of(ip(i) + ":7373");
      std::string view;
      for (const auto& [name, s] : m) view += name + "=" + s.status + " ";
      UNSCOPED_INFO("view of " << ip(i) << ": " << view);
    }
    UNSCOPED_INFO(c.log_tails());
  }
  REQUIRE(converged);

  // serf's CLI against a chorus agent.
  auto members = run_serf({"members", "-rpc-addr=" + ip(4) + ":7373"}, 10s);
  REQUIRE(members.exit_code == 0);
  CHECK(lines(members.out).size() == 6);
  CHECK(members.out.find("s2  127.63.0.3:7946  alive") != std::string::npos);
  auto tagged = run_serf({"members", "-rpc-addr=" + ip(4) + ":7373", "-tag", "impl=chorus"}, 10s);
  CHECK(lines(tagged.out).size() == 3);
  // ...and chorus's CLI against a Serf agent.
  auto ours = run({chorus_binary, "members", "-rpc-addr=" + ip(5) + ":7373", "-status=alive"}, 10s);
  REQUIRE(ours.exit_code == 0);
  CHECK(lines(ours.out).size() == 6);
}

}  // namespace

TEST_CASE("three serf and three chorus agents form one cluster in the clear", "[interop][agent]") { mixed_cluster({}); }

TEST_CASE("three serf and three chorus agents form one encrypted cluster", "[interop][agent]") {
  mixed_cluster({"-encrypt=" + key});
}
