#include "agent/config.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace chorus::agent;
using namespace std::chrono_literals;

TEST_CASE("Go duration strings parse as time.ParseDuration does", "[agent][config]") {
  CHECK(parse_go_duration("30s") == 30s);
  CHECK(parse_go_duration("1h5m") == 65min);
  CHECK(parse_go_duration("1.5s") == 1500ms);
  CHECK(parse_go_duration("300ms") == 300ms);
  CHECK(parse_go_duration("2h45m30.5s") == 2h + 45min + 30500ms);
  CHECK(parse_go_duration("0") == 0s);
  CHECK(parse_go_duration("-1m") == -1min);
  CHECK_FALSE(parse_go_duration("30"));
  CHECK_FALSE(parse_go_duration("1q"));
  CHECK_FALSE(parse_go_duration(""));
  CHECK_FALSE(parse_go_duration("s"));
  CHECK(format_go_duration(30s) == "30s");
  CHECK(format_go_duration(65min) == "1h5m0s");
}

TEST_CASE("host:port splitting accepts IPv4, bracketed IPv6 and names", "[agent][config]") {
  host_port hp;
  CHECK(split_host_port("127.0.0.1:7946", hp).empty());
  CHECK((hp.host == "127.0.0.1" && hp.port == 7946 && hp.has_port));
  CHECK(split_host_port("[::1]:7000", hp).empty());
  CHECK((hp.host == "::1" && hp.port == 7000));
  CHECK(split_host_port("node.example", hp).empty());
  CHECK((hp.host == "node.example" && !hp.has_port));
  CHECK_FALSE(split_host_port("1.2.3.4:99999", hp).empty());
  CHECK_FALSE(split_host_port("[::1", hp).empty());
}

TEST_CASE("JSON config keys use Serf's names and unknown keys are errors", "[agent][config]") {
  agent_config c;
  CHECK(merge_json(c, R"({"node_name":"a","tags":{"role":"web"},"start_join":["x"],"retry_interval":"5s",
                          "leave_on_terminate":true,"event_handlers":["user=/bin/true"],"profile":"wan"})",
                   "f.json")
            .empty());
  CHECK(c.node_name == "a");
  CHECK(c.tags.at("role") == "web");
  CHECK(c.retry_interval == 5s);
  CHECK(c.leave_on_terminate);
  CHECK(c.profile == "wan");
  CHECK(merge_json(c, R"({"start_join":["y"]})", "g.json").empty());
  CHECK(c.start_join == std::vector<std::string>{"x", "y"});  // lists accumulate
  auto e = merge_json(c, R"({"nope":1})", "h.json");
  CHECK(e.find("invalid config key nope") != std::string::npos);
  CHECK(e.find("h.json") != std::string::npos);
  CHECK(merge_json(c, R"({"retry_interval":"soon"})", "i.json").find("retry_interval") != std::string::npos);
  CHECK(merge_json(c, R"({"protocol":"5"})", "j.json").find("protocol") != std::string::npos);
  CHECK_FALSE(merge_json(c, "{not json", "k.json").empty());
}

TEST_CASE("flags override config files and bad values fail naming the problem", "[agent][config]") {
  const auto dir = std::filesystem::temp_directory_path() / "chorus-config-test";
  std::filesystem::create_directories(dir / "d");
  std::ofstream(dir / "d" / "b.json") << R"({"log_level":"debug","tags":{"b":"2"}})";
  std::ofstream(dir / "d" / "a.json") << R"({"log_level":"warn","tags":{"a":"1"}})";
  std::ofstream(dir / "d" / "ignored.txt") << "not json";
  agent_flags f;
  f.config_dirs = {(dir / "d").string()};
  f.node = "n";
  auto r = load_config(f);
  REQUIRE(r.ok());
  CHECK(r.config.log_level == "debug");  // b.json after a.json
  CHECK(r.config.tags == std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}});
  f.log_level = "err";
  f.tags = {"c=3"};
  r = load_config(f);
  REQUIRE(r.ok());
  CHECK(r.config.log_level == "err");
  CHECK(r.config.tags.at("c") == "3");

  agent_flags bad;
  bad.node = "n";
  bad.encrypt = "DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=";
  bad.keyring_file = "/tmp/x";
  CHECK(load_config(bad).error.find("exclusive") != std::string::npos);
  bad = {};
  bad.protocol = "9";
  CHECK(load_config(bad).error.find("protocol version 9") != std::string::npos);
  bad = {};
  bad.event_handlers = {"member-joined=/bin/true"};
  CHECK(load_config(bad).error.find("Invalid event filter") != std::string::npos);
  bad = {};
  bad.retry_interval = "10ms";
  CHECK(load_config(bad).error.find("at least 1s") != std::string::npos);
  bad = {};
  bad.tags = {"novalue"};
  CHECK(load_config(bad).error.find("-tag") != std::string::npos);
  agent_flags dflt;
  auto d = load_config(dflt);
  REQUIRE(d.ok());
  CHECK(d.config.node_name == default_node_name());
  CHECK(d.config.bind == "0.0.0.0:7946");
  CHECK(d.config.rpc_addr == "127.0.0.1:7373");
  CHECK(d.config.enable_compression);
  std::filesystem::remove_all(dir);
}

TEST_CASE("JSON config integers out of their range are refused, not wrapped", "[agent][config]") {
  agent_config c;
  // 2^32 + 4 would wrap to protocol 4.
  CHECK(merge_json(c, R"({"protocol": 4294967300})", "a.json") == "Error decoding 'a.json': protocol: out of range");
  CHECK(merge_json(c, R"({"retry_max_attempts": -2147483649})", "a.json") ==
        "Error decoding 'a.json': retry_max_attempts: out of range");
  CHECK(c.protocol == 5);
  CHECK(merge_json(c, R"({"protocol": 4})", "a.json").empty());
  CHECK(c.protocol == 4);
  CHECK(merge_json(c, R"({"user_event_size_limit": 18446744073709551615})", "a.json").empty());
  CHECK(c.user_event_size_limit == 18446744073709551615ull);
  CHECK(merge_json(c, R"({"query_size_limit": -1})", "a.json") ==
        "Error decoding 'a.json': query_size_limit: must be a non-negative integer");
}

TEST_CASE("the mDNS interface comes from Serf 0.10's mdns object or -mdns-iface", "[agent][config]") {
  agent_config c;
  CHECK(merge_json(c, R"({"mdns":{"interface":"eth1"}})", "m.json").empty());
  CHECK(c.mdns_iface == "eth1");
  CHECK(merge_json(c, R"({"mdns":"eth2"})", "m.json").find("mdns") != std::string::npos);
  CHECK(merge_json(c, R"({"mdns":{"interface":"x","zz":true}})", "m.json").find("zz") != std::string::npos);
  CHECK(merge_json(c, R"({"mdns":{"interface":7}})", "m.json").find("interface") != std::string::npos);
  CHECK(c.mdns_iface == "eth1");  // refused values change nothing

  agent_flags f;
  f.node = "n";
  f.mdns_iface = "veth0";
  auto r = load_config(f);
  REQUIRE(r.ok());
  CHECK(r.config.mdns_iface == "veth0");
}
