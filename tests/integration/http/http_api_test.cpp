// `chorus agent -http-addr`: three real agents on 127.84.0.x, driven through
// the HTTP API by a Python script (urllib, and curl for the event stream;
// http_api_check.py lists every check) as a user's script would. Bounded in
// time; every process is killed by PID (agent_harness.hpp).
#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {
std::string ip(int i) { return "127.84.0." + std::to_string(i); }
// Two 32-byte keys, base64.
const std::string old_key = "HvY8ubRZMgafUOWvrOadwOckVa1wN3QWAo46FVKbVN8=";
const std::string new_key = "k8bK5hY7LXKPRy/Fz1u0ePHXsgzxN2vsJJRYl+6yGNE=";
}  // namespace

TEST_CASE("http api: members, rtt, events, queries, tags, keyring, join and leave over HTTP", "[http]") {
  cluster c("http-api");
  const std::string token = "s3cret";
  const std::vector<std::string> common{"-profile=local", "-encrypt=" + old_key};
  auto flags = [&](std::vector<std::string> more) {
    more.insert(more.begin(), common.begin(), common.end());
    return more;
  };
  c.start(chorus_binary, "n1", ip(1), flags({"-rpc-auth=" + token, "-http-addr=" + ip(1) + ":8500", "-tag=region=sin"}),
          true, token);
  c.chorus("n2", ip(2), flags({"-join=" + ip(1), "-tag=region=fra"}));
  c.chorus("n3", ip(3),
           flags({"-join=" + ip(1), "-tag=region=sin", "-http-addr=" + ip(3) + ":8500",
                  "-event-handler=query:ping=echo pong-n3"}));

  const auto r = run(
      {"/usr/bin/python3", std::string(CHORUS_SOURCE_DIR) + "/tests/integration/http/http_api_check.py", chorus_binary,
       "http://" + ip(1) + ":8500", ip(1) + ":7373", token, "http://" + ip(3) + ":8500", old_key, new_key},
      40s);
  INFO(r.out << r.err << c.log_tails());
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ok\n") != std::string::npos);
  // POST /v1/leave ends the agent the way `chorus leave` does.
  CHECK(c.wait_exit("n3", 10s) == 0);
}
