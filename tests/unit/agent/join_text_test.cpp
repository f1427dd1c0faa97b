// Join addresses and failure texts in the words Serf's agent uses (observed
// from Debian's serf 0.9.4), so that `serf join` prints the same against a
// chorus agent as against a serf one.
#include "agent/join_text.hpp"

#include <catch2/catch.hpp>

using namespace chorus;
using namespace chorus::agent;

TEST_CASE("join addresses parse as memberlist parses them, with Go's errors", "[agent][join]") {
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

TEST_CASE("join failure text: lookups, dial errors, multierror list", "[agent][join]") {
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

  // The transport's failures, typed (swim/errors.hpp).
  using swim::exchange_error;
  using swim::exchange_fault;
  const exchange_error refused{exchange_fault::connect, "Connection refused"};
  const auto v4 = swim::address::v4(127, 66, 1, 9, 7946);
  CHECK(join_text::join_failure(v4, refused) ==
        "Failed to join 127.66.1.9: dial tcp 127.66.1.9:7946: connect: connection refused");
  CHECK(join_text::join_failure(v4, {exchange_fault::timeout}) ==
        "Failed to join 127.66.1.9: dial tcp 127.66.1.9:7946: i/o timeout");
  CHECK(join_text::join_failure(v4, {exchange_fault::eof}) == "Failed to join 127.66.1.9: EOF");
  CHECK(join_text::join_failure(
            v4, exchange_error::refused_reply(swim::decrypt_error("No installed keys could decrypt the message", 0))) ==
        "Failed to join 127.66.1.9: No installed keys could decrypt the message");
  CHECK(join_text::join_failure(
            v4, exchange_error::refused_reply({swim::decode_fault::encryption, 0,
                                               "Remote state is encrypted and encryption is not configured"})) ==
        "Failed to join 127.66.1.9: Remote state is encrypted and encryption is not configured");
  std::array<std::uint8_t, 16> loop6{};
  loop6[15] = 1;
  const auto v6 = swim::address::from(loop6, 7000);
  CHECK(join_text::join_failure(v6, refused) == "Failed to join ::1: dial tcp [::1]:7000: connect: connection refused");
  // The transport logs the same failure in its own words.
  CHECK(swim::to_string(refused) == "connect: Connection refused");

  CHECK(multierror({}).empty());
  CHECK(multierror({"a"}) == "1 error occurred:\n\t* a\n\n");
  CHECK(multierror({"a", "b"}) == "2 errors occurred:\n\t* a\n\t* b\n\n");
}
