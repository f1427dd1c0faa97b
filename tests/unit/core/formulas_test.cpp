// The numeric rules of memberlist.md 13.7-13.9, each against the spec's own
// numbers.
#include <catch2/catch.hpp>

#include "swim/awareness.hpp"
#include "swim/broadcast_queue.hpp"
#include "swim/member_table.hpp"
#include "swim/suspicion.hpp"

using namespace chorus::swim;
using chorus::random_source;
using std::chrono::milliseconds;

TEST_CASE("suspicion_min_timeout_scales_with_log10_of_cluster_size", "[suspicion]") {
  // min = SuspicionMult * max(1, log10(max(1, n))) * ProbeInterval
  CHECK(suspicion_timeout_min(4, 1, 1s) == 4s);
  CHECK(suspicion_timeout_min(4, 3, 1s) == 4s);  // log10(3) < 1
  CHECK(suspicion_timeout_min(4, 10, 1s) == 4s);
  CHECK(suspicion_timeout_min(4, 100, 1s) == 8s);
  CHECK(suspicion_timeout_min(4, 1000, 1s) == 12s);
  // Scale truncated to thousandths first: log10(50) = 1.69897 -> 1.698.
  CHECK(suspicion_timeout_min(4, 50, 1s) == milliseconds(6792));
  CHECK(suspicion_timeout_min(6, 100, 5s) == 60s);  // WAN
}

TEST_CASE("suspicion_confirmations_expected_is_mult_minus_two_when_peers_exist", "[suspicion]") {
  CHECK(suspicion_confirmations_expected(4, 3) == 0);  // n - 2 < k
  CHECK(suspicion_confirmations_expected(4, 4) == 2);
  CHECK(suspicion_confirmations_expected(4, 10) == 2);
  CHECK(suspicion_confirmations_expected(6, 10) == 4);
  CHECK(suspicion_confirmations_expected(3, 2) == 0);
}

TEST_CASE("suspicion_timeout_shrinks_from_max_to_min_with_confirmations_lan_example", "[suspicion]") {
  // memberlist.md 13.8: 10 nodes, k = 2, min = 4 s, max = 24 s.
  const duration min = suspicion_timeout_min(4, 10, 1s), max = 6 * min;
  CHECK(suspicion_timeout(min, max, 2, 0) == 24s);
  CHECK(suspicion_timeout(min, max, 2, 1) == milliseconds(11381));  // 24 - 0.6309 * 20
  CHECK(suspicion_timeout(min, max, 2, 2) == 4s);
  CHECK(suspicion_timeout(min, max, 0, 0) == 4s);  // k = 0: fixed min
}

TEST_CASE("suspicion_counts_each_independent_confirmer_once_up_to_k", "[suspicion]") {
  suspicion s(time_point{10s}, 4s, 24s, 2, "accuser");
  CHECK(s.deadline() == time_point{34s});
  CHECK_FALSE(s.confirm("accuser"));  // the original accuser is not a confirmation
  CHECK(s.confirm("b"));
  CHECK_FALSE(s.confirm("b"));  // duplicate
  CHECK(s.deadline() == time_point{10s} + milliseconds(11381));
  CHECK(s.confirm("c"));
  CHECK(s.deadline() == time_point{14s});
  CHECK_FALSE(s.confirm("d"));  // beyond k
  CHECK(s.confirmations() == 2);
}

TEST_CASE("suspicion_without_expected_confirmations_uses_min", "[suspicion]") {
  suspicion s(time_point{0s}, 4s, 24s, 0, "a");
  CHECK(s.deadline() == time_point{4s});
  CHECK_FALSE(s.confirm("b"));
}

TEST_CASE("awareness_score_is_clamped_and_scales_the_probe_interval", "[awareness]") {
  awareness a(8);
  CHECK(a.score() == 0);
  a.apply_delta(-1);
  CHECK(a.score() == 0);
  a.apply_delta(3);
  CHECK(a.score() == 3);
  CHECK(a.scale(1s) == 4s);
  a.apply_delta(100);
  CHECK(a.score() == 7);
  CHECK(a.scale(1s) == 8s);
  a.apply_delta(-1);
  CHECK(a.score() == 6);
  awareness off(8, false);
  off.apply_delta(5);
  CHECK(off.score() == 0);
}

TEST_CASE("transmit_limit_is_retransmit_mult_times_ceil_log10_n_plus_1", "[gossip]") {
  CHECK(retransmit_limit(4, 1) == 4);
  CHECK(retransmit_limit(4, 9) == 4);
  CHECK(retransmit_limit(4, 10) == 8);
  CHECK(retransmit_limit(4, 99) == 8);
  CHECK(retransmit_limit(4, 100) == 12);
  CHECK(retransmit_limit(4, 1000) == 16);
  CHECK(retransmit_limit(2, 5) == 2);
}

namespace {
bytes msg(std::size_t n, std::uint8_t tag) { return bytes(n, tag); }
}  // namespace

TEST_CASE("broadcast_queue_takes_fewest_transmits_then_longest_then_newest", "[gossip]") {
  broadcast_queue q;
  std::vector<std::uint64_t> fin;
  q.push("", msg(10, 1), 0, fin);
  q.push("", msg(20, 2), 0, fin);
  q.push("", msg(10, 3), 0, fin);
  std::vector<bytes> out;
  // Room for exactly one item of 20 + 2.
  CHECK(q.take(2, 22, 10, out, fin) == 22);
  REQUIRE(out.size() == 1);
  CHECK(out[0][0] == 2);  // longest first
  out.clear();
  q.take(2, 12, 10, out, fin);
  REQUIRE(out.size() == 1);
  CHECK(out[0][0] == 3);  // untransmitted before transmitted; newest of equal length
  out.clear();
  q.take(2, 1000, 10, out, fin);
  REQUIRE(out.size() == 3);
  CHECK(out[0][0] == 1);  // the only one never sent
}

TEST_CASE("broadcast_queue_newer_message_about_a_node_invalidates_the_older", "[gossip]") {
  broadcast_queue q;
  std::vector<std::uint64_t> fin;
  q.push("n1", msg(30, 1), 7, fin);
  q.push("n2", msg(30, 2), 0, fin);
  q.push("n1", msg(30, 3), 0, fin);
  CHECK(q.size() == 2);
  CHECK(fin == std::vector<std::uint64_t>{7});  // the replaced item is finished
  q.push("", msg(30, 4), 0, fin);
  q.push("", msg(30, 5), 0, fin);  // unnamed items never invalidate
  CHECK(q.size() == 4);
}

TEST_CASE("broadcast_queue_drops_an_item_after_the_transmit_limit", "[gossip]") {
  broadcast_queue q;
  std::vector<std::uint64_t> fin;
  q.push("n1", msg(30, 1), 9, fin);
  std::vector<bytes> out;
  for (int i = 0; i < 3; ++i) q.take(2, 100, 4, out, fin);
  CHECK(q.size() == 1);
  CHECK(fin.empty());
  q.take(2, 100, 4, out, fin);
  CHECK(q.empty());
  CHECK(out.size() == 4);
  CHECK(fin == std::vector<std::uint64_t>{9});
}

TEST_CASE("broadcast_queue_is_bounded_and_drops_most_sent_shortest_oldest_first", "[gossip]") {
  broadcast_queue q(3);
  std::vector<std::uint64_t> fin;
  q.push("", msg(50, 1), 0, fin);
  std::vector<bytes> out;
  q.take(2, 100, 10, out, fin);  // item 1 now has one transmit
  q.push("", msg(10, 2), 0, fin);
  q.push("", msg(40, 3), 0, fin);
  q.push("", msg(40, 4), 0, fin);  // over the cap: the transmitted one goes
  CHECK(q.size() == 3);
  CHECK(q.dropped() == 1);
  q.push("", msg(40, 5), 0, fin);  // next: the shortest untransmitted (10 bytes)
  CHECK(q.dropped() == 2);
  out.clear();
  q.take(2, 1000, 10, out, fin);
  std::vector<int> tags;
  for (auto& b : out) tags.push_back(b[0]);
  CHECK(tags == std::vector<int>{5, 4, 3});
}

TEST_CASE("broadcast_queue_packs_within_the_byte_limit", "[gossip]") {
  broadcast_queue q;
  std::vector<std::uint64_t> fin;
  for (int i = 0; i < 100; ++i) q.push("n" + std::to_string(i), msg(60 + i % 7, 1), 0, fin);
  std::vector<bytes> out;
  const std::size_t used = q.take(2, 1398, 16, out, fin);
  std::size_t sum = 0;
  for (auto& b : out) sum += b.size() + 2;
  CHECK(used == sum);
  CHECK(used <= 1398);
  CHECK(used > 1398 - 70);  // nearly full: another item would not fit
}

TEST_CASE("member_table_index_survives_inserts_and_resets", "[table]") {
  member_table t;
  random_source rng(42);
  for (int i = 0; i < 1000; ++i) {
    auto idx = t.insert("node-" + std::to_string(i), rng);
    t.at(idx).incarnation = static_cast<std::uint32_t>(i);
    if (i % 3 == 0) t.set_meta(t.at(idx), bytes{1, 2, 3});
  }
  for (int i = 0; i < 1000; ++i) {
    auto idx = t.find("node-" + std::to_string(i));
    REQUIRE(idx);
    CHECK(t.at(*idx).incarnation == static_cast<std::uint32_t>(i));
  }
  const auto removed = t.reset(rng, [](const member_entry& e) { return e.incarnation % 2 == 1; });
  CHECK(removed == 500);
  CHECK(t.size() == 500);
  for (int i = 0; i < 1000; ++i) {
    auto idx = t.find("node-" + std::to_string(i));
    CHECK(static_cast<bool>(idx) == (i % 2 == 0));
    if (idx) {
      CHECK(t.name(*idx) == "node-" + std::to_string(i));
      CHECK(t.meta(t.at(*idx)).size() == (i % 3 == 0 ? 3u : 0u));
    }
  }
  CHECK(sizeof(member_entry) <= 56);
}
