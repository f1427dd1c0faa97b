// A failed join reports every address's failure, in argument order and in
// the words Serf's agent uses (observed from Debian's serf 0.9.4), so that
// `serf join` prints the same against a chorus agent as against a serf one.
#include <catch2/catch.hpp>

#include "agent/serf.hpp"
#include "agent/serf_join.hpp"
#include "swim/core.hpp"

using namespace chorus;
using namespace chorus::agent;
using namespace std::chrono_literals;

namespace {

struct recorder : serf_runtime {
  std::vector<std::pair<address, swim::exchange_id>> started;
  std::vector<std::pair<std::uint64_t, join_result>> joins;
  void send_packet(const address&, bytes, bool) override {}
  void set_timer(time_point, swim::timer_token) override {}
  void start_push_pull(const address& to, swim::exchange_id id, const swim::push_pull&, time_point) override {
    started.emplace_back(to, id);
  }
  void start_tcp_ping(const address&, swim::exchange_id, const swim::ping&, time_point) override {}
  void join_done(std::uint64_t id, const join_result& r) override { joins.emplace_back(id, r); }
};

serf_config config() {
  serf_config c;
  c.memberlist = swim::config::lan("self", swim::address::v4(127, 0, 0, 1, 7946));
  return c;
}

}  // namespace

TEST_CASE("join addresses parse as memberlist parses them, with Go's errors", "[serf][join]") {
  using join_text::parse;
  auto ok = [](std::string_view text, const char* host, std::uint16_t port) {
    const auto t = parse(text, 7946);
    INFO(text << " -> " << t.error);
    CHECK(t.error.empty());
    CHECK(t.host == host);
    CHECK(t.port == port);
  };
  ok("127.0.0.1", "127.0.0.1", 7946);
  ok("127.0.0.1:7000", "127.0.0.1", 7000);
  ok("name/127.0.0.1:7000", "127.0.0.1", 7000);
  ok("a/b/c", "b/c", 7946);
  ok("::1", "::1", 7946);
  ok("[::1]", "::1", 7946);
  ok("[::1]:7000", "::1", 7000);
  ok("x:y:z", "x:y:z", 7946);
  ok(":7000", "", 7000);
  ok("", "", 7946);
  CHECK(parse("h:", 7946).error == "strconv.ParseUint: parsing \"\": invalid syntax");
  CHECK(parse("h:+5", 7946).error == "strconv.ParseUint: parsing \"+5\": invalid syntax");
  CHECK(parse("h:99999", 7946).error == "strconv.ParseUint: parsing \"99999\": value out of range");
  CHECK(parse("[::1", 7946).error == "address [::1: missing ']' in address");
  CHECK(parse("host:7000", 8000).port == 7000);
  CHECK(parse("host", 8000).port == 8000);  // default: our bind port
}

TEST_CASE("join failure text: lookups, dial errors, multierror list", "[serf][join]") {
  using namespace join_text;
  CHECK(!is_domain_name(""));
  CHECK(!is_domain_name("b/c"));
  CHECK(!is_domain_name("-bad.invalid"));
  CHECK(!is_domain_name("x:y:z"));
  CHECK(!is_domain_name("127.0.0.1"));
  CHECK(is_domain_name("UPPER_x.invalid"));
  CHECK(is_domain_name("localhost"));
  CHECK(lookup_error("b/c", true) == "lookup b/c: no such host");
  CHECK(lookup_error("", true) == "lookup : no such host");
  CHECK(lookup_error("x.invalid", true) == "lookup x.invalid on " + dns_server() + ": no such host");

  const auto v4 = swim::address::v4(127, 66, 1, 9, 7946);
  CHECK(join_text::join_failure(v4, "connect: Connection refused") ==
        "Failed to join 127.66.1.9: dial tcp 127.66.1.9:7946: connect: connection refused");
  CHECK(join_text::join_failure(v4, "deadline passed") ==
        "Failed to join 127.66.1.9: dial tcp 127.66.1.9:7946: i/o timeout");
  CHECK(join_text::join_failure(v4, "read: End of file") == "Failed to join 127.66.1.9: EOF");
  CHECK(join_text::join_failure(v4, "reply: decrypt: No installed keys could decrypt the message") ==
        "Failed to join 127.66.1.9: No installed keys could decrypt the message");
  CHECK(join_text::join_failure(v4, "reply: Remote state is encrypted and encryption is not configured") ==
        "Failed to join 127.66.1.9: Remote state is encrypted and encryption is not configured");
  std::array<std::uint8_t, 16> loop6{};
  loop6[15] = 1;
  const auto v6 = swim::address::from(loop6, 7000);
  CHECK(join_text::join_failure(v6, "connect: Connection refused") ==
        "Failed to join ::1: dial tcp [::1]:7000: connect: connection refused");
  CHECK(after_address("127.0.0.1:7946: connect: Connection refused") == "connect: Connection refused");

  CHECK(multierror({}).empty());
  CHECK(multierror({"a"}) == "1 error occurred:\n\t* a\n\n");
  CHECK(multierror({"a", "b"}) == "2 errors occurred:\n\t* a\n\t* b\n\n");
}

TEST_CASE("serf::join reports each failed address with its reason, in order", "[serf][join]") {
  serf s(config(), 1);
  recorder rt;
  s.start(time_point{}, rt);
  const std::vector<address> seeds{swim::address::v4(127, 0, 0, 2, 7946), swim::address::v4(127, 0, 0, 3, 7946),
                                   swim::address::v4(127, 0, 0, 4, 7946)};
  const auto id = s.join(time_point{}, seeds, false, rt);
  REQUIRE(rt.started.size() == 3);
  // Failures arrive out of order; the report keeps the order of the seeds.
  s.push_pull_failed(time_point{} + 1s, rt.started[2].second, rt, "connect: Connection refused");
  s.push_pull_failed(time_point{} + 1s, rt.started[0].second, rt, "deadline passed");
  CHECK(rt.joins.empty());
  s.push_pull_failed(time_point{} + 2s, rt.started[1].second, rt, "read: End of file");
  REQUIRE(rt.joins.size() == 1);
  CHECK(rt.joins[0].first == id);
  const auto& r = rt.joins[0].second;
  CHECK(r.ok == 0);
  CHECK(r.failed == 3);
  REQUIRE(r.failures.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(r.failures[i].index == i);
    CHECK(r.failures[i].addr == seeds[i]);
  }
  CHECK(r.failures[0].reason == "deadline passed");
  CHECK(r.failures[1].reason == "read: End of file");
  CHECK(r.failures[2].reason == "connect: Connection refused");
}
