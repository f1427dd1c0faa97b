// CIDR ranges for -allowed-cidrs (swim/cidr.hpp): strict parsing with an
// error naming the bad entry, and membership tests for IPv4 and IPv6.
#include "swim/cidr.hpp"

#include <catch2/catch.hpp>

using namespace chorus::swim;

TEST_CASE("CIDR ranges parse strictly and contain what they should", "[cidr]") {
  cidr c;
  REQUIRE(parse_cidr("10.1.2.3/8", c).empty());
  CHECK(c.to_string() == "10.0.0.0/8");  // host bits cleared
  CHECK(c.contains(address::v4(10, 200, 0, 1, 7946)));
  CHECK_FALSE(c.contains(address::v4(11, 0, 0, 1, 7946)));
  REQUIRE(parse_cidr("127.64.1.0/25", c).empty());
  CHECK(c.contains(address::v4(127, 64, 1, 127, 1)));
  CHECK_FALSE(c.contains(address::v4(127, 64, 1, 128, 1)));
  REQUIRE(parse_cidr("0.0.0.0/0", c).empty());
  CHECK(c.contains(address::v4(1, 2, 3, 4, 5)));
  REQUIRE(parse_cidr("fd00::/8", c).empty());
  std::uint8_t v6[16] = {0xfd, 0x12};
  CHECK(c.contains(address::from(v6, 1)));
  CHECK_FALSE(c.contains(address::v4(10, 0, 0, 1, 1)));  // families never mix
  v6[0] = 0xfe;
  CHECK_FALSE(c.contains(address::from(v6, 1)));

  for (const char* bad : {"10.0.0.0", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/8x", "10.0.0/8", "host/8", "::/129", "",
                          "/8", "10.0.0.0/-1"}) {
    INFO(bad);
    const auto e = parse_cidr(bad, c);
    CHECK(e.find("invalid CIDR '" + std::string(bad) + "'") == 0);
  }
}

TEST_CASE("a CIDR list takes repeated and comma-separated entries and names the bad one", "[cidr]") {
  std::vector<cidr> r;
  REQUIRE(parse_cidr_list({"10.0.0.0/8, 192.168.0.0/16", "::1/128"}, r).empty());
  CHECK(r.size() == 3);
  CHECK(allowed(r, address::v4(192, 168, 7, 7, 1)));
  CHECK_FALSE(allowed(r, address::v4(172, 16, 0, 1, 1)));
  CHECK(allowed({}, address::v4(172, 16, 0, 1, 1)));  // no list: everyone
  const auto before = r.size();
  CHECK(parse_cidr_list({"10.0.0.0/8,10.0.0.300/8"}, r) ==
        "invalid CIDR '10.0.0.300/8': '10.0.0.300' is not an IPv4 or IPv6 address");
  CHECK(r.size() == before);  // a bad list changes nothing
}
