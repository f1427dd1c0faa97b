// SIGHUP reloads and failure explanations, seen the way a user sees them:
// `chorus members`, `chorus keys -list`, `chorus info`, handler output files
// and the agent's log. Agents on 127.65.2.x / 127.65.3.x, bounded in time.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

const std::string key_a = "DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=";
const std::string key_b = "3VkKOCpxQqRsdTkXuvgVIjTHyKBeZKO2iSrS3l3cI2s=";

// A handler script appending "<tag> <event> <user event name>" to `out`.
std::string handler_script(const std::string& dir, const std::string& tag, const std::string& out) {
  const std::string path = dir + "/" + tag + ".sh";
  std::ofstream(path) << "#!/bin/sh\necho \"" << tag << " $SERF_EVENT $SERF_USER_EVENT\" >> " << out << "\n";
  chmod(path.c_str(), 0755);
  return path;
}

}  // namespace

TEST_CASE("SIGHUP reloads tags, event handlers and log level from the config file", "[agent][reload]") {
  cluster c("agent-reload");
  const std::string a = "127.65.2.1", b = "127.65.2.2";
  const std::string conf = c.dir() + "/n1.json", out = c.dir() + "/handlers.out";
  const auto old_handler = handler_script(c.dir(), "old", out);
  const auto new_handler = handler_script(c.dir(), "new", out);
  write_file(conf, R"({"tags": {"role": "web", "dc": "east"}, "log_level": "warn", "event_handlers": ["user=)" +
                       old_handler + R"("]})");
  c.chorus("n1", a, {"-config-file=" + conf, "-tag=pinned=yes"});
  c.chorus("n2", b, {"-join=" + a});
  REQUIRE(eventually([&] { return members_of(rpc_of(b))["n1"].tags.size() == 3; }, 15s));
  CHECK(members_of(rpc_of(b))["n1"].tags ==
        std::map<std::string, std::string>{{"dc", "east"}, {"pinned", "yes"}, {"role", "web"}});

  REQUIRE(run_chorus({"event", "-rpc-addr=" + rpc_of(a), "-coalesce=false", "before"}, 10s).exit_code == 0);
  REQUIRE(eventually([&] { return read_text(out).find("old user before") != std::string::npos; }, 10s));
  // log_level warn: the info line for a received event is not printed.
  CHECK(c.log_of("n1").find("Received event: user-event: before") == std::string::npos);

  // New file: dc removed, role changed, other handler, info level.
  write_file(conf,
             R"({"tags": {"role": "db"}, "log_level": "info", "event_handlers": ["user=)" + new_handler + R"("]})");
  c.signal("n1", SIGHUP);
  // The removed tag disappears everywhere; the -tag flag still wins.
  CHECK(eventually(
      [&] {
        return members_of(rpc_of(b))["n1"].tags ==
               std::map<std::string, std::string>{{"pinned", "yes"}, {"role", "db"}};
      },
      15s));
  auto shown = run_chorus({"members", "-rpc-addr=" + rpc_of(b), "-name=n1"}, 10s);
  CHECK(shown.out.find("pinned=yes,role=db") != std::string::npos);
  CHECK(shown.out.find("dc=east") == std::string::npos);

  REQUIRE(run_chorus({"event", "-rpc-addr=" + rpc_of(a), "-coalesce=false", "after"}, 10s).exit_code == 0);
  CHECK(eventually([&] { return read_text(out).find("new user after") != std::string::npos; }, 10s));
  std::this_thread::sleep_for(500ms);
  CHECK(read_text(out).find("old user after") == std::string::npos);  // the old handler is gone
  CHECK(eventually([&] { return c.log_of("n1").find("Received event: user-event: after") != std::string::npos; }, 5s));

  // A broken file is refused and the running configuration kept.
  write_file(conf, "{ not json");
  c.signal("n1", SIGHUP);
  CHECK(eventually([&] { return c.log_of("n1").find("reload failed") != std::string::npos; }, 5s));
  CHECK(members_of(rpc_of(b))["n1"].tags.at("role") == "db");
}

TEST_CASE("SIGHUP reloads the keyring file: new keys installed, primary as the file says", "[agent][reload]") {
  cluster c("agent-reload-keys");
  const std::string a = "127.65.2.11", b = "127.65.2.12";
  const std::string ring_a = c.dir() + "/a.keyring", ring_b = c.dir() + "/b.keyring";
  write_file(ring_a, "[\"" + key_a + "\"]");
  write_file(ring_b, "[\"" + key_b + "\"]");
  c.chorus("n1", a, {"-keyring-file=" + ring_a});
  // n2 only knows key_b: it cannot talk to n1 until n1 has key_b as primary.
  c.chorus("n2", b, {"-keyring-file=" + ring_b, "-retry-join=" + a, "-retry-interval=1s"});
  std::this_thread::sleep_for(3s);
  CHECK(count_status(rpc_of(a), "alive") == 1);

  write_file(ring_a, "[\"" + key_b + "\", \"" + key_a + "\"]");
  c.signal("n1", SIGHUP);
  CHECK(
      eventually([&] { return count_status(rpc_of(a), "alive") == 2 && count_status(rpc_of(b), "alive") == 2; }, 20s));
  auto keys = run_chorus({"keys", "-list", "-rpc-addr=" + rpc_of(a)}, 15s);
  INFO(keys.out);
  CHECK(keys.out.find(key_b + "  [2/2]") != std::string::npos);
  CHECK(keys.out.find(key_a + "  [1/2]") != std::string::npos);
  CHECK(c.log_of("n1").find("primary key is now " + key_b) != std::string::npos);
}

TEST_CASE("a failed member's explanation names who suspected and who declared it", "[agent][failure]") {
  cluster c("agent-explain");
  auto ip = [](int i) { return "127.65.3." + std::to_string(i); };
  c.chorus("n1", ip(1));
  for (int i = 2; i <= 4; ++i) c.chorus("n" + std::to_string(i), ip(i), {"-join=" + ip(1)});
  REQUIRE(eventually([&] { return count_status(rpc_of(ip(1)), "alive") == 4; }, 20s));

  c.kill9("n4");
  REQUIRE(eventually([&] { return status_of(rpc_of(ip(1)), "n4") == "failed"; }, 40s));
  auto shown = run_chorus({"members", "-detailed", "-rpc-addr=" + rpc_of(ip(1))}, 10s);
  INFO(shown.out);
  std::string line;
  for (const auto& l : lines(shown.out))
    if (l.rfind("n4 ", 0) == 0) line = l;
  REQUIRE_FALSE(line.empty());
  CHECK(line.find("failed") != std::string::npos);
  // Suspected by one of the survivors, declared dead by one of them.
  const auto sus = line.find("Failure: suspected by n");
  REQUIRE(sus != std::string::npos);
  const char accuser = line[sus + std::string("Failure: suspected by n").size()];
  CHECK((accuser >= '1' && accuser <= '3'));
  CHECK(line.find("failed: declared by n") != std::string::npos);
  CHECK(line.find("declared by ?") == std::string::npos);

  auto info = run_chorus({"info", "-rpc-addr=" + rpc_of(ip(1))}, 10s);
  CHECK(info.out.find("failures:") != std::string::npos);
  CHECK(info.out.find("n4 = suspected by n") != std::string::npos);
  // The log line comes after member-event coalescing (up to 3 s).
  CHECK(eventually(
      [&] { return c.log_of("n1").find("EventMemberFailed: n4 " + ip(4) + " (suspected by n") != std::string::npos; },
      10s));
}
