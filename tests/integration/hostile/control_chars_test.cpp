// Issue 18: a node name or tag holding control characters (any member can
// gossip one) must not split or disguise lines of `chorus members`/`info`
// text output, nor the member lines an event handler reads. The agent runs
// on 127.80.5.10 and is killed by PID when the test ends.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

TEST_CASE("control characters in names and tags print escaped, one member per line", "[hostile][cli]") {
  cluster c("hostile-ctl");
  const std::string name = "bad\nname\x1b[2J";
  const std::string tag = "note=one\rtwo\\three";
  const std::string handler = c.dir() + "/handler.sh";
  write_file(handler, "#!/bin/sh\ncat >> '" + c.dir() + "/stdin.txt'\n");
  chmod(handler.c_str(), 0755);
  const auto& n = c.chorus(name, "127.80.5.10", {"-tag=" + tag, "-event-handler=member-join=" + handler});

  const auto members = run_chorus({"members", "-rpc-addr=" + n.rpc()}, 10s);
  CHECK(members.exit_code == 0);
  CHECK(members.out == "bad\\nname\\x1b[2J  127.80.5.10:7946  alive  note=one\\rtwo\\\\three\n");

  // JSON escapes by itself (Go's encoding/json), unchanged.
  const auto json = run_chorus({"members", "-format=json", "-rpc-addr=" + n.rpc()}, 10s);
  CHECK(json.out.find("\"name\": \"bad\\nname\\u001b[2J\"") != std::string::npos);

  const auto info = run_chorus({"info", "-rpc-addr=" + n.rpc()}, 10s);
  CHECK(info.out.find("\tname = bad\\nname\\x1b[2J\n") != std::string::npos);
  CHECK(info.out.find("\tnote = one\\rtwo\\\\three\n") != std::string::npos);
  CHECK(info.out.find('\x1b') == std::string::npos);

  // The handler saw its own member-join as one line: NAME IP ROLE TAGS.
  CHECK(eventually([&] { return !read_text(c.dir() + "/stdin.txt").empty(); }, 10s));
  CHECK(read_text(c.dir() + "/stdin.txt") == "bad\\nname\\x1b[2J\t127.80.5.10\t\tnote=one\\rtwo\\\\three\n");
}
