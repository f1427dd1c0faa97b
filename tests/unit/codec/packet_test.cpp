// Packet layers: seal -> open round trips, the receive policies, CRC,
// compound truncation and hostile datagrams.
#include "swim/packet.hpp"

#include <catch2/catch.hpp>
#include <random>

#include "swim/crc32.hpp"
#include "swim/keyring.hpp"

using namespace chorus::swim;

namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

keyring ring_with(std::uint8_t fill) {
  keyring k;
  REQUIRE(k.install(bytes(32, fill)).empty());
  return k;
}

std::vector<message> gossip() {
  alive a;
  a.incarnation = 1;
  a.node = "n1";
  a.addr = {127, 61, 0, 1};
  a.port = 7946;
  a.meta = {0xff, 0x81, 0xa4, 'r', 'o', 'l', 'e', 0xa3, 'w', 'e', 'b'};
  a.vsn = {1, 5, 2, 2, 5, 5};
  suspect s;
  s.incarnation = 3;
  s.node = "n2";
  s.from = "n1";
  std::vector<message> out;
  for (int i = 0; i < 6; ++i) out.push_back(a);  // repetitive: compresses well
  out.push_back(s);
  return out;
}

}  // namespace

TEST_CASE("crc32 matches the IEEE check value") {
  CHECK(crc32(as_bytes("123456789")) == 0xCBF43926u);
  CHECK(crc32(as_bytes("")) == 0u);
  CHECK(crc32(as_bytes("6789"), crc32(as_bytes("12345"))) == 0xCBF43926u);
}

TEST_CASE("seal and open every combination of layers") {
  const auto msgs = gossip();
  keyring keys = ring_with(7);
  for (int combo = 0; combo < 16; ++combo) {
    seal_options so;
    so.compress = combo & 1;
    so.crc = combo & 2;
    so.keys = (combo & 4) ? &keys : nullptr;
    so.label = (combo & 8) ? "dc1" : "";
    auto s = seal_messages(msgs, so);
    REQUIRE(s.ok());
    open_options oo;
    oo.keys = so.keys;
    oo.label = so.label;
    auto p = open(s.data, oo);
    INFO("combo " << combo << " error " << p.error.what);
    REQUIRE(p.ok());
    CHECK(p.part_errors.empty());
    REQUIRE(p.messages.size() == msgs.size());
    for (std::size_t i = 0; i < msgs.size(); ++i) CHECK(p.messages[i].msg == msgs[i]);
    CHECK(p.encrypted == bool(combo & 4));
    if (p.encrypted) CHECK(p.encryption_version == 1);
    CHECK(p.label.has_value() == bool(combo & 8));
    const bool has_crc = !p.layers.empty() && p.layers[0].type == message_type::has_crc;
    CHECK(has_crc == bool(combo & 2));
    bool compressed = false;
    for (const auto& l : p.layers) compressed |= l.type == message_type::compress;
    CHECK(compressed == bool(combo & 1));  // 7 messages with 6 equal alives: LZW wins
  }
}

TEST_CASE("compression is skipped on UDP when it does not make the packet shorter") {
  ping p;
  p.seq_no = 1;
  p.node = "n3";
  seal_options so;
  so.compress = true;
  auto s = seal_messages(std::vector<message>{p}, so);
  REQUIRE(s.ok());
  CHECK(s.data == encode(message{p}));
}

TEST_CASE("encrypted packets open with any installed key and report which") {
  keyring sender = ring_with(1);
  keyring receiver = ring_with(2);
  REQUIRE(receiver.install(bytes(32, 1)).empty());
  seal_options so;
  so.keys = &sender;
  auto s = seal_messages(gossip(), so);
  REQUIRE(s.ok());
  CHECK(s.data.size() == seal_messages(gossip(), {}).data.size() + encryption_overhead_v1);
  open_options oo;
  oo.keys = &receiver;
  auto p = open(s.data, oo);
  REQUIRE(p.ok());
  CHECK(p.key_index == 1);

  keyring stranger = ring_with(3);
  oo.keys = &stranger;
  auto q = open(s.data, oo);
  CHECK_FALSE(q.ok());
  CHECK(q.messages.empty());
  // A plaintext packet is dropped by a node with a keyring.
  auto r = open(seal_messages(gossip(), {}).data, oo);
  CHECK_FALSE(r.ok());
}

TEST_CASE("label policy drops missing or different labels unless told to skip") {
  seal_options so;
  so.label = "blue";
  auto s = seal_messages(gossip(), so).data;
  const auto plain = seal_messages(gossip(), {}).data;
  open_options oo;
  oo.label = "blue";
  CHECK(open(s, oo).ok());
  CHECK_FALSE(open(plain, oo).ok());  // missing
  oo.label = "red";
  CHECK_FALSE(open(s, oo).ok());  // different
  oo.label = "";
  CHECK_FALSE(open(s, oo).ok());  // unexpected
  oo.skip_label_check = true;
  auto p = open(s, oo);
  REQUIRE(p.ok());
  CHECK(*p.label == "blue");
  // Zero-length label is invalid, a cut label too.
  CHECK_FALSE(open(bytes{0xf4, 0x00, 0x00}, oo).ok());
  CHECK_FALSE(open(bytes{0xf4, 0x05, 'a'}, oo).ok());
  so.label = std::string(256, 'x');
  CHECK_FALSE(seal_messages(gossip(), so).ok());
}

TEST_CASE("a CRC mismatch drops the packet") {
  seal_options so;
  so.crc = true;
  auto s = seal_messages(gossip(), so).data;
  s.back() ^= 1;
  auto p = open(s, {});
  CHECK_FALSE(p.ok());
  CHECK(p.error.what == "CRC mismatch");
  REQUIRE(p.layers.size() == 1);
  CHECK_FALSE(p.layers[0].crc_ok);
}

TEST_CASE("a truncated compound keeps the parts before the cut, a bad part only itself") {
  auto s = seal_messages(gossip(), {}).data;
  s.resize(s.size() - 3);
  auto p = open(s, {});
  REQUIRE(p.ok());
  CHECK(p.messages.size() == 6);
  REQUIRE(p.layers.size() == 1);
  CHECK(p.layers[0].truncated == 1);
  CHECK(p.part_errors.size() == 1);

  std::vector<bytes> parts{encode(message{nack{}}), bytes{0x00, 0xc1}, encode(message{nack{}})};
  bytes c;
  encode_compound(parts, c);
  auto q = open(c, {});
  REQUIRE(q.ok());
  CHECK(q.messages.size() == 2);
  REQUIRE(q.part_errors.size() == 1);
  CHECK(q.part_errors[0].path == "compound[1]/ping");
  CHECK(q.messages[1].path == "compound[2]/nack");
}

TEST_CASE("hostile datagrams fail cleanly") {
  CHECK_FALSE(open(bytes{}, {}).ok());
  CHECK_FALSE(open(bytes{0x63}, {}).ok());
  CHECK_FALSE(open(bytes{0x09, 0x82}, {}).ok());
  // compress with Algo 1
  CHECK_FALSE(open(bytes{0x09, 0x82, 0xa4, 'A', 'l', 'g', 'o', 0x01, 0xa3, 'B', 'u', 'f', 0xa0}, {}).ok());
  // Compounds nested deeper than allowed.
  bytes nest = encode(message{nack{}});
  for (int i = 0; i < 10; ++i) {
    bytes c;
    encode_compound(std::vector<bytes>{nest}, c);
    nest = c;
  }
  auto p = open(nest, {});
  CHECK(p.messages.empty());
  CHECK(p.part_errors.size() == 1);

  std::mt19937 rng(99);
  keyring k = ring_with(5);
  for (int round = 0; round < 20000; ++round) {
    bytes b(rng() % 80);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    if (!b.empty()) b[0] = static_cast<std::uint8_t>(rng() % 14);
    open_options oo;
    oo.keys = (round % 5 == 0) ? &k : nullptr;
    (void)open(b, oo);
  }
  // Mutations of a real compressed packet.
  seal_options so;
  so.compress = true;
  so.crc = false;
  const auto good = seal_messages(gossip(), so).data;
  for (int round = 0; round < 5000; ++round) {
    bytes b = good;
    b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    b.resize(rng() % (b.size() + 1));
    (void)open(b, {});
  }
}

TEST_CASE("a datagram expands at most to the UDP receive buffer, all compress layers together") {
  // A 6.7 KB LZW datagram used to decompress to a 10 MiB user event.
  auto user_of = [](std::size_t n) {
    bytes m{static_cast<std::uint8_t>(message_type::user)};
    m.resize(n, 'x');
    return m;
  };
  bytes bomb;
  encode_compress(user_of(10u << 20), bomb);
  CHECK(bomb.size() < 64 * 1024);
  auto o = open(bomb, open_options{});
  CHECK_FALSE(o.ok());
  CHECK(o.error.what.find("exceeds") != std::string::npos);
  CHECK(o.messages.empty());

  // One compressed part just under the budget is fine ...
  bytes fits;
  encode_compress(user_of(max_udp_decompressed_len - 1), fits);
  REQUIRE(open(fits, open_options{}).ok());
  // ... but two of them in one compound share the budget: the second fails.
  bytes two;
  encode_compound(std::vector<bytes>{fits, fits}, two);
  auto both = open(two, open_options{});
  CHECK(both.messages.size() == 1);
  CHECK(both.part_errors.size() == 1);
  CHECK(both.decompressed <= max_udp_decompressed_len);
}
