// SIGHUP with -config-dir and -tags-file (issue 5: "SIGHUP reloads the
// config file, tags, event handlers and keyring without a restart"), checked
// the way a user sees it: `chorus members` on other agents and the agent's
// log. Agents on 127.71.1.x, bounded in time.
#include <catch2/catch.hpp>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

using tag_set = std::map<std::string, std::string>;

}  // namespace

TEST_CASE("SIGHUP with -config-dir: a file added to the directory and a changed file apply", "[agent][reload]") {
  cluster c("agent-reload-dir");
  const std::string a = "127.71.1.1", b = "127.71.1.2";
  const std::string dir = c.dir() + "/conf.d";
  fs::create_directories(dir);
  write_file(dir + "/10-base.json", R"({"tags": {"role": "web"}, "log_level": "warn"})");
  c.chorus("n1", a, {"-config-dir=" + dir});
  c.chorus("n2", b, {"-join=" + a});
  REQUIRE(eventually([&] { return members_of(rpc_of(b))["n1"].tags == tag_set{{"role", "web"}}; }, 15s));
  REQUIRE(run_chorus({"event", "-rpc-addr=" + rpc_of(a), "-coalesce=false", "before"}, 10s).exit_code == 0);
  std::this_thread::sleep_for(500ms);
  // log_level warn from the directory: the info line for the event is not printed.
  CHECK(c.log_of("n1").find("Received event: user-event: before") == std::string::npos);

  // A new file in the directory adds a tag; the changed file switches the
  // log level and the role.
  write_file(dir + "/20-zone.json", R"({"tags": {"zone": "z1"}})");
  write_file(dir + "/10-base.json", R"({"tags": {"role": "db"}, "log_level": "info"})");
  c.signal("n1", SIGHUP);
  CHECK(eventually([&] { return members_of(rpc_of(b))["n1"].tags == tag_set{{"role", "db"}, {"zone", "z1"}}; }, 15s));
  const auto shown = run_chorus({"members", "-rpc-addr=" + rpc_of(b), "-name=n1"}, 10s);
  CHECK(shown.out.find("role=db,zone=z1") != std::string::npos);
  REQUIRE(run_chorus({"event", "-rpc-addr=" + rpc_of(a), "-coalesce=false", "after"}, 10s).exit_code == 0);
  CHECK(eventually([&] { return c.log_of("n1").find("Received event: user-event: after") != std::string::npos; }, 5s));

  // Removing the file removes its tag; a file that is not JSON is ignored
  // (only *.json files are read), a broken .json file keeps the old config.
  fs::remove(dir + "/20-zone.json");
  write_file(dir + "/notes.txt", "not a config");
  c.signal("n1", SIGHUP);
  CHECK(eventually([&] { return members_of(rpc_of(b))["n1"].tags == tag_set{{"role", "db"}}; }, 15s));
  write_file(dir + "/30-broken.json", "{ nope");
  c.signal("n1", SIGHUP);
  CHECK(eventually([&] { return c.log_of("n1").find("reload failed") != std::string::npos; }, 5s));
  std::this_thread::sleep_for(1s);
  CHECK(members_of(rpc_of(b))["n1"].tags == tag_set{{"role", "db"}});
}

TEST_CASE("SIGHUP with -tags-file: an edited file changes the tags cluster-wide", "[agent][reload]") {
  cluster c("agent-reload-tagsfile");
  const std::string a = "127.71.1.11", b = "127.71.1.12", d = "127.71.1.13";
  const std::string tags = c.dir() + "/n1.tags";
  write_file(tags, R"({"role": "web", "dc": "east"})");
  c.chorus("n1", a, {"-tags-file=" + tags});
  c.chorus("n2", b, {"-join=" + a});
  c.chorus("n3", d, {"-join=" + a});
  const tag_set before{{"dc", "east"}, {"role", "web"}};
  REQUIRE(eventually(
      [&] { return members_of(rpc_of(b))["n1"].tags == before && members_of(rpc_of(d))["n1"].tags == before; }, 20s));

  // Edited by hand: dc removed, role changed, rack added.
  write_file(tags, R"({"role": "db", "rack": "r2"})");
  c.signal("n1", SIGHUP);
  const tag_set after{{"rack", "r2"}, {"role", "db"}};
  CHECK(eventually(
      [&] {
        return members_of(rpc_of(a))["n1"].tags == after && members_of(rpc_of(b))["n1"].tags == after &&
               members_of(rpc_of(d))["n1"].tags == after;
      },
      15s));
  CHECK(eventually([&] { return c.log_of("n1").find("reload: tags updated (2 tags)") != std::string::npos; }, 5s));

  // Tags set over RPC are written back to the file, so a later reload keeps
  // them instead of reverting.
  REQUIRE(run_chorus({"tags", "-rpc-addr=" + rpc_of(a), "-set", "shelf=3"}, 10s).exit_code == 0);
  CHECK(read_text(tags).find("shelf") != std::string::npos);
  c.signal("n1", SIGHUP);
  std::this_thread::sleep_for(1s);
  const tag_set with_shelf{{"rack", "r2"}, {"role", "db"}, {"shelf", "3"}};
  CHECK(eventually([&] { return members_of(rpc_of(d))["n1"].tags == with_shelf; }, 15s));
  CHECK(members_of(rpc_of(a))["n1"].tags == with_shelf);
}
