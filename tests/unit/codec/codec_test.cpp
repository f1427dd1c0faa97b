// The message codec against the byte examples of memberlist.md §4-§5 and
// against hostile input.
#include "swim/codec.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <string>

using namespace chorus::swim;

namespace {

bytes from_hex(std::string_view h) {
  bytes out;
  std::string digits;
  for (char c : h)
    if (c != ' ') digits += c;
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

bytes ip(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) { return {a, b, c, d}; }

// memberlist.md §4.1 example: n1 -> n3, plain UDP, 61 bytes.
const char* const ping_hex =
    "00 85 a4 4e6f6465 a2 6e33 a5 5365714e6f 01 aa 536f7572636541646472 a4 7f4d0001 aa "
    "536f757263654e6f6465 a2 6e31 aa 536f75726365506f7274 cd 1f0a";
// §4.2 example: alive for n1 with tags role=web, dc=east.
const char* const alive_hex =
    "04 86 a4 41646472 a4 7f4d0001 ab 496e6361726e6174696f6e 01 a4 4d657461 b3 "
    "ff82a4726f6c65a3776562a26463a465617374 a4 4e6f6465 a2 6e31 a4 506f7274 cd 1f0a a3 56736e a6 "
    "010502020505";
const char* const suspect_hex = "03 83 a4 46726f6d a2 6e33 ab 496e6361726e6174696f6e 03 a4 4e6f6465 a2 6e32";

}  // namespace

TEST_CASE("ping encodes byte-identically to the spec example with sorted keys") {
  ping p{.seq_no = 1, .node = "n3", .source_addr = ip(127, 77, 0, 1), .source_port = 7946, .source_node = "n1"};
  const bytes wire = encode(message{p});
  CHECK(wire == from_hex(ping_hex));
  CHECK(wire.size() == 61);
  auto d = decode(wire);
  REQUIRE(d.ok());
  CHECK(std::get<ping>(d.value) == p);
}

TEST_CASE("ping without source fields omits them on the wire") {
  ping p;
  p.seq_no = 4243;
  p.node = "someone-else";
  const bytes wire = encode(message{p});
  // 0x82: only Node and SeqNo.
  CHECK(wire[1] == 0x82);
  auto d = decode(wire);
  REQUIRE(d.ok());
  CHECK(std::get<ping>(d.value).source_addr.empty());
}

TEST_CASE("alive with tag meta encodes like the captured packet") {
  alive a{.incarnation = 1,
          .node = "n1",
          .addr = ip(127, 77, 0, 1),
          .port = 7946,
          .meta = from_hex("ff82a4726f6c65a3776562a26463a465617374"),
          .vsn = {1, 5, 2, 2, 5, 5}};
  CHECK(encode(message{a}) == from_hex(alive_hex));
  auto d = decode(from_hex(alive_hex));
  REQUIRE(d.ok());
  CHECK(std::get<alive>(d.value) == a);
}

TEST_CASE("suspect and dead share the accusation shape") {
  suspect s{.incarnation = 3, .node = "n2", .from = "n3"};
  CHECK(encode(message{s}) == from_hex(suspect_hex));
  dead dd{.incarnation = 3, .node = "n2", .from = "n3"};
  bytes dw = encode(message{dd});
  CHECK(dw[0] == 5);
  const bytes sw = from_hex(suspect_hex);
  CHECK(bytes(dw.begin() + 1, dw.end()) == bytes(sw.begin() + 1, sw.end()));
}

TEST_CASE("ack payloads of 32..255 bytes use str16, and an empty payload is nil") {
  ack a{.seq_no = 1, .payload = bytes(130, 0x42)};
  bytes w = encode(message{a});
  // 02 82 a7 "Payload" da 00 82 ...
  REQUIRE(w.size() > 12);
  CHECK(w[10] == 0xda);
  CHECK(w[11] == 0x00);
  CHECK(w[12] == 0x82);
  ack tcp_ack;
  tcp_ack.seq_no = 4242;
  CHECK(encode(message{tcp_ack}) == from_hex("0282a75061796c6f6164c0a55365714e6fcd1092"));
}

TEST_CASE("indirect ping, nack, err and user round-trip") {
  indirect_ping ip_msg{.seq_no = 30,
                       .target = ip(127, 77, 0, 3),
                       .port = 7946,
                       .node = "n3",
                       .nack = true,
                       .source_addr = ip(127, 77, 0, 1),
                       .source_port = 7946,
                       .source_node = "n1"};
  CHECK(encode(message{ip_msg}) ==
        from_hex("0188a44e61636bc3a44e6f6465a26e33a4506f7274cd1f0aa55365714e6f1eaa536f7572636541646472a47f4d0001aa53"
                 "6f757263654e6f6465a26e31aa536f75726365506f7274cd1f0aa6546172676574a47f4d0003"));
  CHECK(encode(message{nack{.seq_no = 53}}) == from_hex("0b81a55365714e6f35"));
  for (const message& m : {message{ip_msg}, message{nack{.seq_no = 53}}, message{err{.error = "boom"}},
                           message{user{.payload = {1, 2, 3}}}, message{user{}}}) {
    auto d = decode(encode(m));
    REQUIRE(d.ok());
    CHECK(d.value == m);
  }
}

TEST_CASE("decode ignores trailing bytes and reports what it consumed") {
  bytes w = from_hex(suspect_hex);
  const std::size_t n = w.size();
  w.push_back(0xff);
  std::size_t used = 0;
  auto d = decode(w, &used);
  REQUIRE(d.ok());
  CHECK(used == n);
}

TEST_CASE("bad messages are errors with an offset, never exceptions") {
  CHECK(decode(bytes{}).error.what == "empty message");
  CHECK_FALSE(decode(bytes{0x20}).ok());                    // unknown type
  CHECK_FALSE(decode(bytes{0x07, 0x00}).ok());              // compound is a layer
  CHECK_FALSE(decode(bytes{0x00}).ok());                    // missing body
  CHECK_FALSE(decode(bytes{0x00, 0x92, 0x01, 0x02}).ok());  // array instead of map
  // Node given as bin8: a hard error for a Go string field (§2.3).
  auto d = decode(from_hex("0081a44e6f6465c4026e33"));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error.what.find("Node") != std::string::npos);
  // SeqNo does not fit uint32.
  CHECK_FALSE(decode(from_hex("0281a55365714e6fcf0000000100000000")).ok());
  // Port negative.
  CHECK_FALSE(decode(from_hex("0481a4506f7274ff")).ok());
  // Every prefix of a valid message decodes or fails cleanly.
  bytes a = from_hex(alive_hex);
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto p = decode(std::span<const std::uint8_t>(a.data(), i));
    CHECK_FALSE(p.ok());
  }
}

TEST_CASE("random bytes never crash the decoder") {
  std::mt19937 rng(1234);
  bytes buf;
  for (int round = 0; round < 20000; ++round) {
    buf.resize(rng() % 64);
    for (auto& b : buf) b = static_cast<std::uint8_t>(rng());
    if (!buf.empty()) buf[0] = static_cast<std::uint8_t>(rng() % 14);
    auto d = decode(buf);
    if (d.ok()) {
      auto again = decode(encode(d.value));
      REQUIRE(again.ok());
      CHECK(again.value == d.value);
    }
  }
}

TEST_CASE("compound framing with truncation keeps the earlier parts") {
  bytes p1 = from_hex(ping_hex), p2 = from_hex(suspect_hex);
  std::vector<bytes> parts{p1, p2};
  bytes c;
  encode_compound(parts, c);
  CHECK(c.size() == 98);
  CHECK(bytes(c.begin(), c.begin() + 6) == from_hex("0702003d001f"));
  auto s = split_compound(c);
  REQUIRE(s.ok());
  REQUIRE(s.value.parts.size() == 2);
  CHECK(bytes(s.value.parts[1].begin(), s.value.parts[1].end()) == p2);
  CHECK(s.value.truncated == 0);

  auto cut = split_compound(std::span<const std::uint8_t>(c.data(), c.size() - 1));
  REQUIRE(cut.ok());
  CHECK(cut.value.parts.size() == 1);
  CHECK(cut.value.truncated == 1);

  CHECK_FALSE(split_compound(bytes{0x07}).ok());
  CHECK_FALSE(split_compound(bytes{0x07, 0x03, 0x00}).ok());
  auto empty = split_compound(bytes{0x07, 0x00});
  REQUIRE(empty.ok());
  CHECK(empty.value.parts.empty());
}

TEST_CASE("push node state round-trips with State and sorted keys") {
  push_node_state s{.name = "n2",
                    .addr = ip(127, 77, 0, 2),
                    .port = 7946,
                    .meta = from_hex("ff81a4726f6c65a26462"),
                    .incarnation = 1,
                    .state = node_state::left,
                    .vsn = {1, 5, 2, 2, 5, 5}};
  bytes w;
  encode_push_node_state(s, w);
  std::size_t used = 0;
  auto d = decode_push_node_state(w, &used);
  REQUIRE(d.ok());
  CHECK(d.value == s);
  CHECK(used == w.size());
  // State 7 is not a state.
  bytes bad = w;
  for (std::size_t i = 0; i + 5 < bad.size(); ++i)
    if (bad[i] == 0xa5 && bad[i + 1] == 'S' && bad[i + 2] == 't') bad[i + 6] = 7;
  CHECK_FALSE(decode_push_node_state(bad, nullptr).ok());
}
