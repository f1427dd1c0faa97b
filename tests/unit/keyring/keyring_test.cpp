#include "swim/keyring.hpp"

#include <catch2/catch.hpp>

#include "unit/lzw/vector_file.hpp"

using chorus::test::from_hex;
using chorus::test::read_jsonl;
using chorus::test::to_hex;
using namespace chorus::swim;
using bytes = std::vector<std::uint8_t>;

namespace {

// KEY1 and KEY2 of vectors/keys.txt, in file order.
std::vector<std::pair<std::string, bytes>> captured_keys() {
  std::ifstream in(chorus::test::shared_path("vectors/keys.txt"));
  REQUIRE(in);
  std::vector<std::pair<std::string, bytes>> keys;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    REQUIRE(eq != std::string::npos);
    const std::string b64 = line.substr(eq + 1);
    auto k = key_from_base64(b64);
    REQUIRE(k.ok());
    keys.emplace_back(b64, k.key);
  }
  REQUIRE(keys.size() == 2);
  return keys;
}

keyring ring_of(const std::vector<std::pair<std::string, bytes>>& keys) {
  keyring ring;
  for (const auto& [b64, k] : keys) REQUIRE(ring.install(k).empty());
  return ring;
}

bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }

}  // namespace

TEST_CASE("AES-256-GCM is usable on this machine") {
  const auto s = aes_gcm_status();
  INFO(s.message);
  REQUIRE(s.available);
  CHECK(s.message.empty());
}

TEST_CASE("every captured encrypted UDP packet decrypts to its plaintext with the key it names") {
  const auto keys = captured_keys();
  // Try both orders: whichever key is primary, decryption must find the right one.
  for (bool key2_first : {false, true}) {
    auto ordered = keys;
    if (key2_first) std::swap(ordered[0], ordered[1]);
    const keyring ring = ring_of(ordered);
    std::size_t count = 0;
    for (const auto& line : read_jsonl("vectors/memberlist-encrypted-udp.jsonl")) {
      const bytes packet = from_hex(line["packet_hex"].get<std::string>());
      INFO("frame " << line["frame"]);
      const auto r = ring.decrypt(packet, {});
      REQUIRE(r.ok());
      CHECK(to_hex(r.data) == line["plaintext_hex"].get<std::string>());
      CHECK(ordered[r.key_index].first == line["encryption"]["key_b64"].get<std::string>());
      CHECK(packet.size() - r.data.size() == line["encryption"]["overhead_bytes"].get<std::size_t>());
      CHECK(packet[0] == line["encryption"]["version"].get<int>());
      ++count;
    }
    CHECK(count == 36);
  }
}

TEST_CASE("every captured encrypted TCP stream decrypts with the 5-byte header as AAD") {
  const keyring ring = ring_of(captured_keys());
  std::size_t count = 0;
  for (const char* file : {"vectors/memberlist-pushpull-tcp.jsonl", "vectors/memberlist-tcp-ping.jsonl",
                           "vectors/memberlist-err-tcp.jsonl"}) {
    for (const auto& line : read_jsonl(file)) {
      for (const char* dir : {"client_to_server", "server_to_client"}) {
        const auto& d = line[dir];
        if (!d.is_object() || d.value("first_byte", -1) != 10 || !d.contains("plaintext_hex")) continue;
        INFO(file << " " << line["kind"] << " " << dir);
        const bytes stream = from_hex(line[std::string(dir) + "_hex"].get<std::string>());
        REQUIRE(stream.size() > 5);
        const std::uint32_t length = (std::uint32_t{stream[1]} << 24) | (std::uint32_t{stream[2]} << 16) |
                                     (std::uint32_t{stream[3]} << 8) | stream[4];
        CHECK(length == d["encrypt"]["length_field"].get<std::uint32_t>());
        REQUIRE(stream.size() >= 5 + length);
        const std::span<const std::uint8_t> header(stream.data(), 5);
        CHECK(to_hex(bytes(header.begin(), header.end())) == d["encrypt"]["aad_hex"].get<std::string>());
        const auto r = ring.decrypt(std::span(stream).subspan(5, length), header);
        REQUIRE(r.ok());
        CHECK(to_hex(r.data) == d["plaintext_hex"].get<std::string>());
        // Without the AAD the tag does not verify.
        CHECK(ring.decrypt(std::span(stream).subspan(5, length), {}).error == no_key_decrypts_error);
        ++count;
      }
    }
  }
  CHECK(count == 11);
}

TEST_CASE("encrypt then decrypt round trips, version 1 and version 0") {
  keyring ring = ring_of(captured_keys());
  const bytes aad{0x0a, 0, 0, 0, 42};
  for (std::size_t n : {0u, 1u, 15u, 16u, 17u, 1400u}) {
    bytes plain(n);
    for (std::size_t i = 0; i < n; ++i) plain[i] = static_cast<std::uint8_t>(i * 31);
    const auto v1 = ring.encrypt(plain, aad, 1);
    REQUIRE(v1.ok());
    CHECK(v1.data.size() == n + encryption_overhead_v1);
    CHECK(v1.data[0] == 1);
    auto back = ring.decrypt(v1.data, aad);
    REQUIRE(back.ok());
    CHECK(back.data == plain);
    CHECK(back.key_index == 0);

    const auto v0 = ring.encrypt(plain, aad, 0);
    REQUIRE(v0.ok());
    CHECK(v0.data[0] == 0);
    // PKCS#7 always adds 1..16 bytes up to a multiple of 16.
    CHECK(v0.data.size() == encryption_overhead_v1 + (n / 16 + 1) * 16);
    back = ring.decrypt(v0.data, aad);
    REQUIRE(back.ok());
    CHECK(back.data == plain);
  }
  // Fresh nonce each time.
  CHECK(ring.encrypt(text("same"), {}).data != ring.encrypt(text("same"), {}).data);
  CHECK_FALSE(ring.encrypt(text("x"), {}, 2).ok());
}

TEST_CASE("a wrong key or a changed byte fails authentication") {
  const auto keys = captured_keys();
  keyring one;
  REQUIRE(one.install(keys[0].second).empty());
  keyring other;
  REQUIRE(other.install(keys[1].second).empty());
  const auto sealed = one.encrypt(text("hello, cluster"), {});
  REQUIRE(sealed.ok());
  CHECK(other.decrypt(sealed.data, {}).error == no_key_decrypts_error);
  CHECK(one.decrypt(sealed.data, text("aad")).error == no_key_decrypts_error);
  for (std::size_t i = 1; i < sealed.data.size(); ++i) {
    bytes tampered = sealed.data;
    tampered[i] ^= 0x01;
    INFO("byte " << i);
    CHECK(one.decrypt(tampered, {}).error == no_key_decrypts_error);
  }
  bytes v2 = sealed.data;
  v2[0] = 2;
  CHECK(one.decrypt(v2, {}).error == "unsupported encryption version 2");
  CHECK(keyring().decrypt(sealed.data, {}).error == no_key_decrypts_error);
}

TEST_CASE("envelopes shorter than the minimum are refused before any key is tried") {
  const keyring ring = ring_of(captured_keys());
  CHECK_FALSE(ring.decrypt({}, {}).ok());
  CHECK(ring.decrypt(bytes(28, 1), {}).error == "payload is too small to decrypt: 28");
  CHECK(ring.decrypt(bytes(29, 1), {}).error == no_key_decrypts_error);
  bytes v0(44, 0);
  CHECK(ring.decrypt(v0, {}).error == "payload is too small to decrypt: 44");
  v0.resize(45);
  CHECK(ring.decrypt(v0, {}).error == no_key_decrypts_error);
}

TEST_CASE("key management: install, use, remove, list") {
  const auto keys = captured_keys();
  const bytes& k1 = keys[0].second;
  const bytes& k2 = keys[1].second;
  keyring ring;
  CHECK(ring.empty());
  CHECK_FALSE(ring.encrypt(text("x"), {}).ok());
  REQUIRE(ring.install(k1).empty());
  REQUIRE(ring.install(k2).empty());
  CHECK(ring.keys() == std::vector<bytes>{k1, k2});  // first installed is primary
  CHECK(ring.install(k2).empty());                   // duplicate: no-op
  CHECK(ring.size() == 2);

  // The primary seals; the other key still opens what it sealed before.
  const auto by_k1 = ring.encrypt(text("m"), {});
  CHECK(ring.use(k2).empty());
  CHECK(ring.keys() == std::vector<bytes>{k2, k1});
  const auto d = ring.decrypt(by_k1.data, {});
  REQUIRE(d.ok());
  CHECK(d.key_index == 1);
  CHECK(ring.decrypt(ring.encrypt(text("m"), {}).data, {}).key_index == 0);

  CHECK(ring.remove(k2) == remove_primary_error);
  CHECK(ring.size() == 2);
  CHECK(ring.remove(k1).empty());
  CHECK(ring.keys() == std::vector<bytes>{k2});
  CHECK(ring.decrypt(by_k1.data, {}).error == no_key_decrypts_error);
  CHECK(ring.use(k1) == key_not_installed_error);
  CHECK(ring.remove(k1).empty());  // absent: nothing to do

  keyring copy = ring;
  CHECK(copy.keys() == ring.keys());
  CHECK(copy.decrypt(ring.encrypt(text("c"), {}).data, {}).ok());
}

TEST_CASE("key sizes: 32 bytes accepted, 16 and 24 refused with a clear reason, others invalid") {
  keyring ring;
  CHECK(ring.install(bytes(32, 7)).empty());
  CHECK(ring.install(bytes(16, 7)) == unsupported_key_size_error);
  CHECK(ring.install(bytes(24, 7)) == unsupported_key_size_error);
  CHECK(ring.install(bytes(31, 7)) == bad_key_size_error);
  CHECK(ring.install({}) == bad_key_size_error);
  CHECK(ring.size() == 1);
}

TEST_CASE("base64 keys as serf keygen prints them") {
  const auto keys = captured_keys();
  for (const auto& [b64, k] : keys) {
    CHECK(k.size() == 32);
    CHECK(key_to_base64(k) == b64);
  }
  CHECK(key_from_base64("not base64!").error == "key is not valid base64");
  CHECK(key_from_base64("AAAA").error == bad_key_size_error);
  CHECK(key_from_base64("AAAAAAAAAAAAAAAAAAAAAA==").error == unsupported_key_size_error);
}
