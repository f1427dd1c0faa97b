#include "swim/lzw.hpp"

#include <catch2/catch.hpp>
#include <random>

#include "swim/msgpack.hpp"
#include "unit/lzw/vector_file.hpp"

using chorus::test::for_each_object;
using chorus::test::from_hex;
using chorus::test::read_jsonl;
using chorus::test::to_hex;
namespace lzw = chorus::swim::lzw;
using bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::size_t big_limit = 64u << 20;

// The LZW buffer inside a memberlist compress message (0x09 + {Algo, Buf}).
bytes buf_of_compress_message(const bytes& message) {
  REQUIRE(message.size() > 1);
  REQUIRE(message[0] == 9);
  auto r = chorus::msgpack::read(chorus::msgpack::byte_view(message).subspan(1));
  REQUIRE(r.ok());
  const auto* buf = r.v.find("Buf");
  REQUIRE(buf != nullptr);
  return bytes(buf->raw.begin(), buf->raw.end());
}

struct captured_pair {
  std::string where;
  bytes compressed;
  bytes plain;
};

// Every LZW buffer of the captures with its known plaintext: lzw.jsonl, the
// compress layers of UDP packets and the compressed TCP streams.
std::vector<captured_pair> captured_pairs() {
  std::vector<captured_pair> pairs;
  for (const auto& line : read_jsonl("vectors/lzw.jsonl"))
    pairs.push_back({"lzw.jsonl frame " + std::to_string(line["frame"].get<int>()),
                     from_hex(line["lzw_hex"].get<std::string>()), from_hex(line["plain_hex"].get<std::string>())});
  for (const char* file : {"vectors/memberlist-compressed.jsonl", "vectors/memberlist-encrypted-udp.jsonl",
                           "vectors/memberlist-crc.jsonl", "vectors/memberlist-compound.jsonl"}) {
    for (const auto& line : read_jsonl(file)) {
      for_each_object(line, [&](const nlohmann::json& o) {
        if (o.value("name", "") == "compress" && o.contains("hex") && o.contains("decompressed_hex"))
          pairs.push_back({std::string(file) + " " + o.value("path", ""),
                           buf_of_compress_message(from_hex(o["hex"].get<std::string>())),
                           from_hex(o["decompressed_hex"].get<std::string>())});
      });
    }
  }
  // TCP streams: compressed directly, or compressed inside the encryption
  // envelope (the dissection gives the decrypted compress message).
  for (const char* file : {"vectors/memberlist-pushpull-tcp.jsonl", "vectors/memberlist-tcp-ping.jsonl",
                           "vectors/memberlist-err-tcp.jsonl"}) {
    for (const auto& line : read_jsonl(file)) {
      for (const char* dir : {"client_to_server", "server_to_client"}) {
        const auto& d = line[dir];
        if (!d.is_object() || !d.contains("decompressed_hex")) continue;
        const std::string where = std::string(file) + " " + line["kind"].get<std::string>() + " " + dir;
        if (d.value("first_byte", 0) == 9)
          pairs.push_back({where, buf_of_compress_message(from_hex(line[std::string(dir) + "_hex"].get<std::string>())),
                           from_hex(d["decompressed_hex"].get<std::string>())});
        else if (d.value("first_byte", 0) == 10 && d.value("plaintext_hex", "").starts_with("09"))
          pairs.push_back({where + " (decrypted)",
                           buf_of_compress_message(from_hex(d["plaintext_hex"].get<std::string>())),
                           from_hex(d["decompressed_hex"].get<std::string>())});
      }
    }
  }
  return pairs;
}

bytes random_bytes(std::size_t n, std::uint32_t seed, int alphabet = 256) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(0, alphabet - 1);
  bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(dist(rng));
  return b;
}

// Packs 9..12-bit codes LSB first, for hand-made streams.
bytes pack_codes(const std::vector<std::pair<std::uint32_t, int>>& codes) {
  bytes out;
  std::uint64_t bits = 0;
  int n = 0;
  for (auto [code, width] : codes) {
    bits |= static_cast<std::uint64_t>(code) << n;
    n += width;
    while (n >= 8) {
      out.push_back(static_cast<std::uint8_t>(bits));
      bits >>= 8;
      n -= 8;
    }
  }
  if (n > 0) out.push_back(static_cast<std::uint8_t>(bits));
  return out;
}

}  // namespace

TEST_CASE("every captured LZW buffer decompresses to its plaintext and re-compresses byte-identically") {
  const auto pairs = captured_pairs();
  CHECK(pairs.size() == 57);
  std::size_t largest = 0;
  for (const auto& p : pairs) {
    INFO(p.where);
    const auto r = lzw::decompress(p.compressed, big_limit);
    REQUIRE(r.ok());
    CHECK(to_hex(r.data) == to_hex(p.plain));
    CHECK(to_hex(lzw::compress(p.plain)) == to_hex(p.compressed));
    largest = std::max(largest, p.plain.size());
  }
  // The push/pull streams are long enough for 10- and 11-bit codes.
  CHECK(largest > 1024);
}

TEST_CASE("lzw.jsonl lines are all covered") {
  const auto lines = read_jsonl("vectors/lzw.jsonl");
  REQUIRE(lines.size() == 4);
  for (const auto& line : lines) {
    const bytes plain = from_hex(line["plain_hex"].get<std::string>());
    const bytes comp = from_hex(line["lzw_hex"].get<std::string>());
    CHECK(plain.size() == line["plain_len"].get<std::size_t>());
    CHECK(lzw::compress(plain) == comp);
    CHECK(lzw::decompress(comp, plain.size()).data == plain);
  }
}

TEST_CASE("empty input compresses to CLEAR then EOF") {
  // 256 then 257 in 9-bit codes, LSB first: 00 03 02.
  CHECK(to_hex(lzw::compress({})) == "000302");
  const auto r = lzw::decompress(lzw::compress({}), 0);
  REQUIRE(r.ok());
  CHECK(r.data.empty());
}

TEST_CASE("round trips random data across width changes and table resets") {
  for (std::size_t n : {1u, 2u, 3u, 255u, 256u, 511u, 4096u, 70'000u, 300'000u}) {
    for (int alphabet : {2, 16, 256}) {
      const bytes in = random_bytes(n, static_cast<std::uint32_t>(n * 7 + alphabet), alphabet);
      INFO("n=" << n << " alphabet=" << alphabet);
      const bytes c = lzw::compress(in);
      const auto r = lzw::decompress(c, in.size());
      REQUIRE(r.ok());
      CHECK(r.data == in);
    }
  }
}

TEST_CASE("round trips long runs (the KwKwK case) and text") {
  const bytes zeros(1'000'000, 0);
  const bytes c = lzw::compress(zeros);
  CHECK(c.size() < 4000);
  CHECK(lzw::decompress(c, zeros.size()).data == zeros);

  std::string text;
  for (int i = 0; i < 5000; ++i) text += "member n" + std::to_string(i % 97) + " is alive; ";
  const bytes t(text.begin(), text.end());
  CHECK(lzw::decompress(lzw::compress(t), t.size()).data == t);
}

TEST_CASE("a decompression bomb fails cleanly at the output limit") {
  const bytes zeros(10'000'000, 0);
  const bytes bomb = lzw::compress(zeros);
  REQUIRE(bomb.size() < 40'000);
  const auto r = lzw::decompress(bomb, 1'000'000);
  CHECK_FALSE(r.ok());
  CHECK(r.error == "output exceeds 1000000 bytes");
  CHECK(r.data.empty());
  CHECK(lzw::decompress(bomb, zeros.size()).ok());
  CHECK_FALSE(lzw::decompress(bomb, zeros.size() - 1).ok());
}

TEST_CASE("every truncation of a captured stream is an unexpected EOF") {
  const auto lines = read_jsonl("vectors/lzw.jsonl");
  const bytes comp = from_hex(lines[0]["lzw_hex"].get<std::string>());
  for (std::size_t n = 0; n < comp.size(); ++n) {
    const auto r = lzw::decompress(std::span(comp).first(n), big_limit);
    INFO("prefix " << n);
    CHECK(r.error == "unexpected EOF");
  }
}

TEST_CASE("bytes after the EOF code are ignored") {
  const bytes plain{'h', 'e', 'l', 'l', 'o'};
  bytes c = lzw::compress(plain);
  c.insert(c.end(), {0xde, 0xad, 0xbe, 0xef});
  const auto r = lzw::decompress(c, 100);
  REQUIRE(r.ok());
  CHECK(r.data == plain);
}

TEST_CASE("codes not yet in the table are invalid") {
  // CLEAR, then code 300 although only literals exist.
  CHECK(lzw::decompress(pack_codes({{256, 9}, {300, 9}, {257, 9}}), 100).error == "invalid code");
  // 'a', then 259 while the next code to be defined is 258.
  CHECK(lzw::decompress(pack_codes({{256, 9}, {'a', 9}, {259, 9}, {257, 9}}), 100).error == "invalid code");
  // 'a', then 258 (= the entry being defined: "aa"), which is valid.
  const auto ok = lzw::decompress(pack_codes({{256, 9}, {'a', 9}, {258, 9}, {257, 9}}), 100);
  REQUIRE(ok.ok());
  CHECK(ok.data == bytes{'a', 'a', 'a'});
  // A stream need not start with CLEAR.
  CHECK(lzw::decompress(pack_codes({{'x', 9}, {257, 9}}), 100).data == bytes{'x'});
}

TEST_CASE("garbage never crashes and stays within the limit") {
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    const bytes junk = random_bytes(rng() % 600, rng());
    const auto r = lzw::decompress(junk, 4096);
    CHECK(r.data.size() <= 4096);
    if (!r.ok()) CHECK(r.data.empty());
  }
}
