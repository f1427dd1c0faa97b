#include <catch2/catch.hpp>

#include "swim/msgpack.hpp"

using namespace chorus::msgpack;

namespace {
bytes hex(std::string_view h) {
  std::string digits;
  for (char c : h)
    if (c != ' ') digits += c;
  bytes out;
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}
}  // namespace

TEST_CASE("gossip writer uses go-msgpack's smallest integer forms") {
  bytes out;
  writer w(out);
  w.uint(1);
  w.uint(7946);
  w.sint(3'000'000'000);
  w.sint(-1);
  w.sint(-200);
  CHECK(out == hex("01cd1f0ace b2d05e00ffd1ff38"));
}

TEST_CASE("gossip writer puts strings of 32 to 255 bytes in str16, never str8 or bin") {
  bytes out;
  writer w(out);
  w.str(std::string(40, 'v'));
  REQUIRE(out.size() == 43);
  CHECK(out[0] == 0xda);
  CHECK(out[1] == 0x00);
  CHECK(out[2] == 40);
  out.clear();
  const bytes payload(130, 7);
  w.bin(payload);
  CHECK(out[0] == 0xda);
  CHECK(out[2] == 0x82);
}

TEST_CASE("rpc writer uses str8 and bin") {
  bytes out;
  writer w(out, flavor::rpc);
  w.str(std::string(40, 'v'));
  CHECK(out[0] == 0xd9);
  out.clear();
  w.bin(bytes{1, 2});
  CHECK(out == hex("c4020102"));
}

TEST_CASE("float64 is always eight bytes, even for integral values") {
  bytes out;
  writer w(out);
  w.float64(1.5);
  CHECK(out == hex("cb3ff8000000000000"));
}

TEST_CASE("reader decodes a captured ping struct and its fields") {
  const bytes ping = hex(
      "85a44e6f6465a26e33a55365714e6f01aa536f7572636541646472a47f4d0002aa536f757263654e6f6465a26e32aa536f75726365506f7274cd1f0a");
  auto r = read(ping);
  REQUIRE(r.ok());
  CHECK(r.consumed == ping.size());
  struct_reader s(r.v);
  std::string node, source_node;
  std::uint32_t seq = 0;
  std::uint16_t port = 0;
  bytes addr;
  s.string_field("Node", node);
  s.unsigned_field("SeqNo", seq);
  s.bytes_field("SourceAddr", addr);
  s.string_field("SourceNode", source_node);
  s.unsigned_field("SourcePort", port);
  REQUIRE(s.ok());
  CHECK(node == "n3");
  CHECK(seq == 1);
  CHECK(addr == bytes{127, 77, 0, 2});
  CHECK(source_node == "n2");
  CHECK(port == 7946);
}

TEST_CASE("reader refuses lengths beyond the input and does not allocate for them") {
  CHECK_FALSE(read(hex("dbffffffff")).ok());
  CHECK_FALSE(read(hex("ddffffffff")).ok());
  CHECK_FALSE(read(hex("dfffffffff00")).ok());
  CHECK_FALSE(read(hex("")).ok());
  CHECK_FALSE(read(hex("c1")).ok());
}

TEST_CASE("reader bounds nesting depth") {
  bytes deep(100, 0x91);
  deep.push_back(0x01);
  auto r = read(deep);
  CHECK_FALSE(r.ok());
  CHECK_THAT(r.error, Catch::Contains("nesting"));
}

TEST_CASE("a bin value in a string field is a decode error, as in Go") {
  const bytes in = hex("81a44e6f6465c4026e33");  // the tree points into `in`
  auto r = read(in);
  REQUIRE(r.ok());
  struct_reader s(r.v);
  std::string node;
  s.string_field("Node", node);
  CHECK_FALSE(s.ok());
}

TEST_CASE("an unsigned field rejects negative and too-large values") {
  const bytes in = hex("82a150ffa151ce00010000");
  auto r2 = read(in);
  REQUIRE(r2.ok());
  std::uint16_t p = 0, q = 0;
  struct_reader s(r2.v);
  s.unsigned_field("P", p);
  CHECK_FALSE(s.ok());
  struct_reader s2(r2.v);
  s2.unsigned_field("Q", q);
  CHECK_FALSE(s2.ok());
}
