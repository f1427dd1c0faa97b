// Every gossip UDP datagram in the three captures opens cleanly: no packet
// error, no part error, and every message inside re-encodes to its own bytes.
// (The TCP streams of the captures are in the jsonl files, checked by
// vectors_test.cpp.)
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "swim/codec.hpp"
#include "swim/keyring.hpp"
#include "swim/packet.hpp"
#include "unit/vectors/vector_util.hpp"

using namespace chorus::swim;
using namespace chorus::test_vectors;

namespace {

constexpr std::size_t pcap_global_header = 24;
constexpr std::size_t pcap_record_header = 16;
constexpr std::size_t ethernet_header = 14;
constexpr std::uint16_t gossip_port = 7946;

std::uint32_t le32(const std::uint8_t* p) {
  return p[0] | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}
std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

// UDP payloads to or from the gossip port in a little-endian Ethernet pcap.
std::vector<bytes> gossip_datagrams(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  const bytes all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(all.size() >= pcap_global_header);
  REQUIRE(le32(all.data()) == 0xa1b2c3d4u);  // little-endian, microseconds
  REQUIRE(le32(all.data() + 20) == 1);       // LINKTYPE_ETHERNET
  std::vector<bytes> out;
  std::size_t pos = pcap_global_header;
  while (pos + pcap_record_header <= all.size()) {
    const std::size_t caplen = le32(all.data() + pos + 8);
    const std::uint8_t* f = all.data() + pos + pcap_record_header;
    pos += pcap_record_header + caplen;
    REQUIRE(pos <= all.size());
    if (caplen < ethernet_header + 20 + 8 || be16(f + 12) != 0x0800) continue;  // IPv4 only
    const std::uint8_t* ip = f + ethernet_header;
    const std::size_t ihl = (ip[0] & 0x0f) * 4u;
    if (ip[9] != 17) continue;  // UDP
    const std::uint8_t* udp = ip + ihl;
    if (be16(udp) != gossip_port && be16(udp + 2) != gossip_port) continue;
    const std::size_t len = be16(udp + 4);
    REQUIRE(len >= 8);
    REQUIRE(ethernet_header + ihl + len <= caplen);
    out.emplace_back(udp + 8, udp + len);
  }
  return out;
}

}  // namespace

TEST_CASE("every gossip datagram in the three captures opens and re-encodes") {
  const std::filesystem::path dir = std::filesystem::path(CHORUS_SHARED_DIR) / "vectors";
  keyring ring;
  for (const auto& [name, b64] : read_keys(dir / "keys.txt")) {
    auto k = key_from_base64(b64);
    REQUIRE(k.ok());
    REQUIRE(ring.install(k.key).empty());
  }
  for (const char* capture : {"plain.pcap", "compressed.pcap", "encrypted.pcap"}) {
    const auto datagrams = gossip_datagrams(dir / capture);
    open_options oo;
    if (std::string(capture) == "encrypted.pcap") oo.keys = &ring;
    std::size_t messages = 0, compressed = 0, crc = 0;
    for (std::size_t i = 0; i < datagrams.size(); ++i) {
      INFO(capture << " datagram " << i << " " << to_hex(datagrams[i]));
      auto p = open(datagrams[i], oo);
      INFO(p.error.what);
      REQUIRE(p.ok());
      REQUIRE(p.part_errors.empty());
      CHECK(p.encrypted == (oo.keys != nullptr));
      for (const auto& l : p.layers) {
        compressed += l.type == message_type::compress;
        crc += l.type == message_type::has_crc;
      }
      for (const auto& m : p.messages) CHECK(to_hex(encode(m.msg)) == to_hex(m.wire));
      messages += p.messages.size();
    }
    CHECK(datagrams.size() > 300);
    std::cout << "pcap: " << capture << ": " << datagrams.size() << " datagrams, " << messages << " messages, " << crc
              << " CRC headers, " << compressed << " compressed\n";
  }
}
