// memberlist #239: a compound never carries more than 255 messages (its
// count is one byte; memberlist before 0.3 could overflow it when many tiny
// broadcasts were queued). chorus keeps every compound under 128 parts,
// since memberlist 0.2.2 (Serf 0.9.4) mis-parses 128 and more (count * 2 in
// 8-bit arithmetic, memberlist.md section 5).
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

TEST_CASE("hundreds of tiny queued broadcasts still give compounds of at most 127 parts", "[gossip][compound]") {
  one_node n;
  for (int i = 1; i <= 5; ++i) n.learn(i);
  n.responsive = {1, 2, 3, 4, 5};
  // 1-byte user messages: 3 bytes each with the length entry, so about 460
  // of them would fit the 1400-byte budget of one packet.
  for (int i = 0; i < 1000; ++i) n.node.queue_user_broadcast(n.now, bytes{}, n.rt);
  n.rt.clear();
  n.advance(2s);  // gossip rounds and probes (pings and acks piggyback too)
  REQUIRE(n.rt.packets.size() > 3);
  std::size_t most = 0, users = 0;
  for (const auto& p : n.rt.packets) {
    REQUIRE(!p.data.empty());
    if (p.data[0] != static_cast<std::uint8_t>(message_type::compound)) continue;
    CHECK(p.data[1] <= max_compound_parts);
    const auto msgs = p.messages();  // the real splitter: the count is what it says
    CHECK(msgs.size() == p.data[1]);
    most = std::max(most, msgs.size());
    for (const auto& m : msgs) users += std::holds_alternative<user>(m);
  }
  CHECK(most == max_compound_parts);  // the cap, not the budget, was what stopped it
  CHECK(users > 1000);                // and the queue was drained through many packets
}

TEST_CASE("a received compound's declared count is read as a full byte", "[compound]") {
  // 200 one-byte parts (nack type bytes are enough for the splitter): a
  // memberlist 0.2.2 receiver computes the table as 200 * 2 mod 256 bytes;
  // chorus reads 400 bytes of lengths and finds all 200 parts.
  bytes c{static_cast<std::uint8_t>(message_type::compound), 200};
  for (int i = 0; i < 200; ++i) c.insert(c.end(), {0, 1});
  for (int i = 0; i < 200; ++i) c.push_back(static_cast<std::uint8_t>(message_type::nack));
  auto s = split_compound(c);
  REQUIRE(s.ok());
  CHECK(s.value.declared == 200);
  CHECK(s.value.parts.size() == 200);
  CHECK(s.value.truncated == 0);
  // 255 declared, only the length table and 3 parts present: the 3 are
  // kept, the other 252 counted as truncated.
  bytes d{static_cast<std::uint8_t>(message_type::compound), 255};
  for (int i = 0; i < 255; ++i) d.insert(d.end(), {0, 1});
  d.insert(d.end(), {11, 11, 11});
  auto t = split_compound(d);
  REQUIRE(t.ok());
  CHECK(t.value.parts.size() == 3);
  CHECK(t.value.truncated == 252);
  // 255 declared and the length table cut short: refused as a whole.
  d.resize(2 + 100);
  CHECK_FALSE(split_compound(d).ok());
}
