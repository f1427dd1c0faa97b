// User events, queries and event handler scripts across real chorus agents,
// driven through the RPC by both CLIs.
#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

std::string ip(int i) { return "127.62.0." + std::to_string(10 + i); }

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("user events and queries reach every agent's handlers and answers come back", "[agent]") {
  cluster c("agent-events");
  const std::string log = c.dir() + "/events.log";
  const std::string handler = c.dir() + "/handler.sh";
  std::ofstream(handler)
      << "#!/bin/sh\n"
         "read line\n"
         "echo \"$SERF_SELF_NAME $SERF_EVENT $SERF_USER_EVENT$SERF_QUERY_NAME $SERF_TAG_ROLE [$line]\" >> "
      << log
      << "\n"
         "if [ \"$SERF_EVENT\" = query ]; then echo \"pong from $SERF_SELF_NAME\"; fi\n";
  chmod(handler.c_str(), 0755);
  for (int i = 1; i <= 3; ++i) {
    std::vector<std::string> f{"-tag=role=r" + std::to_string(i), "-event-handler=user,query=" + handler};
    if (i > 1) f.push_back("-join=" + ip(1));
    c.chorus("e" + std::to_string(i), ip(i), f);
  }
  REQUIRE(eventually([&] {
    for (int i = 1; i <= 3; ++i)
      if (count_status(ip(i) + ":7373", "alive") != 3) return false;
    return true;
  }));

  auto ev = run_serf({"event", "-rpc-addr=" + ip(2) + ":7373", "-coalesce=false", "deploy", "v42"}, 10s);
  REQUIRE(ev.exit_code == 0);
  CHECK(ev.out.find("Event 'deploy' dispatched! Coalescing enabled: false") != std::string::npos);
  CHECK(eventually(
      [&] {
        const auto l = read(log);
        return l.find("e1 user deploy r1 [v42]") != std::string::npos &&
               l.find("e2 user deploy r2 [v42]") != std::string::npos &&
               l.find("e3 user deploy r3 [v42]") != std::string::npos;
      },
      15s));

  auto q = run_serf({"query", "-rpc-addr=" + ip(3) + ":7373", "-timeout=3s", "ping", "hello"}, 20s);
  INFO(q.out);
  REQUIRE(q.exit_code == 0);
  CHECK(q.out.find("Response from 'e1': pong from e1") != std::string::npos);
  CHECK(q.out.find("Response from 'e2': pong from e2") != std::string::npos);
  CHECK(q.out.find("Response from 'e3': pong from e3") != std::string::npos);
  CHECK(q.out.find("Total Responses: 3") != std::string::npos);
  CHECK(read(log).find("e2 query ping r2 [hello]") != std::string::npos);

  // Tags through RPC reach the others.
  auto t = run({chorus_binary, "tags", "-rpc-addr=" + ip(1) + ":7373", "-set", "zone=z9"}, 10s);
  CHECK(t.exit_code == 0);
  CHECK(eventually([&] { return members_of(ip(3) + ":7373")["e1"].tags["zone"] == "z9"; }, 15s));
}
