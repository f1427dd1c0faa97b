// TCP stream messages: layers, incremental completeness and the policies of
// memberlist.md §8.3 / §10.
#include "swim/stream.hpp"

#include <catch2/catch.hpp>

#include "swim/keyring.hpp"

using namespace chorus::swim;

namespace {

push_pull state_of(std::size_t n) {
  push_pull pp;
  pp.join = true;
  for (std::size_t i = 0; i < n; ++i) {
    push_node_state s;
    s.name = "node-" + std::to_string(i);
    s.addr = {127, 61, 0, static_cast<std::uint8_t>(i)};
    s.port = 7946;
    s.meta = {0xff, 0x80};
    s.incarnation = static_cast<std::uint32_t>(i);
    s.state = static_cast<node_state>(i % 4);
    s.vsn = {1, 5, 2, 2, 5, 5};
    pp.nodes.push_back(s);
  }
  pp.user_state = bytes(300, 0xc0);
  return pp;
}

}  // namespace

TEST_CASE("every stream message round-trips through every layer combination") {
  keyring keys;
  REQUIRE(keys.install(bytes(32, 9)).empty());
  ping p;
  p.seq_no = 4242;
  p.node = "n1";
  ack a;
  a.seq_no = 4242;
  user u;
  u.payload = {1, 2, 3, 4};
  err e;
  e.error = std::string(remote_not_encrypted_error);
  const std::vector<stream_message> all{state_of(5), p, a, u, e, push_pull{}};
  for (const auto& m : all) {
    for (int combo = 0; combo < 8; ++combo) {
      stream_options so;
      so.compress = combo & 1;
      so.keys = (combo & 2) ? &keys : nullptr;
      so.label = (combo & 4) ? "lbl" : "";
      auto s = encode_stream(m, so);
      REQUIRE(s.ok());
      bytes wire = s.data;
      wire.push_back(0x77);  // the next direction's bytes are not ours
      stream_open_options oo;
      oo.keys = so.keys;
      oo.label = so.label;
      auto d = decode_stream(wire, oo);
      INFO("combo " << combo << ": " << d.error.what);
      REQUIRE(d.ok());
      CHECK(d.msg == m);
      CHECK(d.consumed == s.data.size());
      CHECK(d.layers.compressed == bool(combo & 1));
      CHECK(d.layers.encrypted == bool(combo & 2));
      if (combo & 2)
        CHECK(d.layers.encrypted_length + stream_encrypt_header_len + (combo & 4 ? 5 : 0) == s.data.size());
    }
  }
}

TEST_CASE("a prefix of a stream message is reported incomplete, never malformed") {
  keyring keys;
  REQUIRE(keys.install(bytes(32, 9)).empty());
  for (int combo = 0; combo < 4; ++combo) {
    stream_options so;
    so.compress = combo & 1;
    so.keys = (combo & 2) ? &keys : nullptr;
    const bytes wire = encode_stream(state_of(3), so).data;
    stream_open_options oo;
    oo.keys = so.keys;
    for (std::size_t n = 0; n < wire.size(); ++n) {
      auto d = decode_stream(std::span<const std::uint8_t>(wire.data(), n), oo);
      INFO("combo " << combo << " prefix " << n << ": " << d.error.what);
      CHECK_FALSE(d.ok());
      CHECK(d.incomplete);
    }
  }
}

TEST_CASE("encryption policy errors use memberlist's texts") {
  keyring keys;
  REQUIRE(keys.install(bytes(32, 9)).empty());
  ping p;
  stream_options enc;
  enc.keys = &keys;
  const auto encrypted = encode_stream(p, enc).data;
  const auto plain = encode_stream(p, {}).data;
  auto a = decode_stream(encrypted, {});
  CHECK(a.error.what == remote_encrypted_error);
  CHECK_FALSE(a.incomplete);
  stream_open_options with_keys;
  with_keys.keys = &keys;
  CHECK(decode_stream(plain, with_keys).error.what == remote_not_encrypted_error);
  // Length above 20 MiB is refused before waiting for the bytes.
  bytes huge{0x0a, 0x01, 0x40, 0x00, 0x01, 0x01};
  auto h = decode_stream(huge, with_keys);
  CHECK_FALSE(h.ok());
  CHECK_FALSE(h.incomplete);
  // Tampered ciphertext.
  bytes bad = encrypted;
  bad.back() ^= 1;
  CHECK_FALSE(decode_stream(bad, with_keys).ok());
}

TEST_CASE("unexpected stream types and absurd counts are errors") {
  // suspect on a stream (Serf closes without reply).
  auto d = decode_stream(bytes{0x03, 0x80}, {});
  CHECK_FALSE(d.ok());
  CHECK_FALSE(d.incomplete);
  // pushPull claiming 2^31 nodes with one node state behind it: over
  // memberlist's limit of 2^20 nodes, refused from the header alone.
  bytes pp{0x06, 0x83, 0xa4, 'J', 'o',  'i',  'n',  0xc3, 0xa5, 'N', 'o', 'd',  'e', 's',
           0xce, 0x80, 0,    0,   0,    0xac, 'U',  's',  'e',  'r', 'S', 't',  'a', 't',
           'e',  'L',  'e',  'n', 0x00, 0x81, 0xa4, 'N',  'a',  'm', 'e', 0xa1, 'a'};
  auto q = decode_stream(pp, {});
  CHECK_FALSE(q.ok());
  CHECK_FALSE(q.incomplete);
  // 2^20 nodes (the limit) with one behind it: incomplete, no allocation for the count.
  pp[15] = 0x00;
  pp[16] = 0x10;
  auto r = decode_stream(pp, {});
  CHECK_FALSE(r.ok());
  CHECK(r.incomplete);
  // A node state without a name (an empty map) ends the stream at once: a
  // flood of them would otherwise all be decoded before the merge.
  bytes unnamed(pp.begin(), pp.begin() + 33);
  unnamed.push_back(0x80);
  auto e = decode_stream(unnamed, {});
  CHECK_FALSE(e.ok());
  CHECK_FALSE(e.incomplete);
  pp[14] = 0xd0;  // negative count
  pp[15] = 0xff;
  pp.erase(pp.begin() + 16, pp.begin() + 19);
  CHECK_FALSE(decode_stream(pp, {}).ok());
}
