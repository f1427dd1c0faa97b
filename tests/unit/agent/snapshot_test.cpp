// Serf's snapshot file (serf.md 12): replay rules, formatting, the
// snapshotter's journal, torn writes and compaction.
#include "agent/snapshot.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/files.hpp"

using namespace chorus::agent;
namespace fs = std::filesystem;
using test_support::read_file;
using test_support::temp_dir;
using test_support::write_file;

namespace {

// A coordinate with awkward doubles (no short decimal form).
chorus::vivaldi::coordinate odd_coordinate(double seed) {
  chorus::vivaldi::coordinate c;
  for (std::size_t i = 0; i < c.vec.size(); ++i) c.vec[i] = seed / (3.0 + static_cast<double>(i)) - 1e-7 * i;
  c.error = 0.1 + seed / 7.0;
  c.adjustment = -seed / 11.0;
  c.height = 1e-5 + seed / 13.0;
  return c;
}

std::unique_ptr<snapshotter> open_snapshot(const fs::path& p, bool rejoin = false, std::size_t compact = 128 * 1024,
                                           std::vector<std::string>* warnings = nullptr) {
  snapshot_options o;
  o.path = p.string();
  o.rejoin_after_leave = rejoin;
  o.min_compact_bytes = compact;
  o.log = [warnings](bool, const std::string& t) {
    if (warnings) warnings->push_back(t);
  };
  std::string error;
  auto s = snapshotter::open(o, error);
  INFO(error);
  REQUIRE(s);
  return s;
}

}  // namespace

TEST_CASE("snapshot lines have serf's format", "[snapshot]") {
  CHECK(snapshot_alive_line("n1", "127.0.0.1:7946") == "alive: n1 127.0.0.1:7946\n");
  CHECK(snapshot_alive_line("web 1", "[::1]:7946") == "alive: web 1 [::1]:7946\n");
  CHECK(snapshot_not_alive_line("n2") == "not-alive: n2\n");
  CHECK(snapshot_clock_line("clock", 5) == "clock: 5\n");
  CHECK(snapshot_clock_line("event-clock", 0) == "event-clock: 0\n");
  CHECK(snapshot_coordinate_line(odd_coordinate(1.0)).rfind("coordinate: {\"Vec\":[", 0) == 0);
}

TEST_CASE("snapshot state survives format then replay", "[snapshot]") {
  snapshot_state s;
  s.alive = {{"n1", "127.65.0.1:7946"}, {"with space", "127.65.0.2:7946"}, {"v6", "[::1]:8000"}};
  s.member_clock = 41;
  s.event_clock = 7;
  s.query_clock = 123456789012345ull;
  s.coordinate = odd_coordinate(0.123456789);
  for (bool left : {false, true}) {
    s.left = left;
    auto r = replay_snapshot(snapshot_compact_text(s), true);
    CHECK(r.warnings.empty());
    CHECK_FALSE(r.torn);
    CHECK(r.state == s);  // coordinate doubles are bit-identical
  }
}

TEST_CASE("snapshot replay: later lines win and names end at the last space", "[snapshot]") {
  const std::string text =
      "# written by hand\n"
      "alive: a 10.0.0.1:7946\n"
      "alive: b c 10.0.0.2:7946\n"
      "clock: 3\n"
      "alive: a 10.0.0.9:7000\n"
      "not-alive: x\n"
      "event-clock: 4\n"
      "query-clock: 9\n"
      "clock: 2\n";  // a later, smaller value still wins (Serf)
  auto r = replay_snapshot(text, false);
  CHECK(r.warnings.empty());
  CHECK(r.state.alive == std::map<std::string, std::string>{{"a", "10.0.0.9:7000"}, {"b c", "10.0.0.2:7946"}});
  CHECK(r.state.member_clock == 2);
  CHECK(r.state.event_clock == 4);
  CHECK(r.state.query_clock == 9);
  CHECK(r.valid_bytes == text.size());
}

TEST_CASE("snapshot replay skips unknown and malformed lines and keeps the rest", "[snapshot]") {
  const std::string text =
      "alive: a 10.0.0.1:7946\n"
      "bogus line\n"
      "alive: no-address\n"
      "clock: twelve\n"
      "clock: 18446744073709551616\n"  // one past uint64
      "coordinate: {\"Vec\":[1,2],\"Error\":\"x\"}\n"
      "coordinate: not json\n"
      "\n"
      "clock: 5\n";
  auto r = replay_snapshot(text, false);
  CHECK(r.warnings.size() == 6);
  CHECK(r.state.alive.size() == 1);
  CHECK(r.state.member_clock == 5);
  CHECK_FALSE(r.state.coordinate);
  CHECK_FALSE(r.torn);
}

TEST_CASE("snapshot replay: a torn last line is skipped, nothing before it is lost", "[snapshot]") {
  const std::string whole = "alive: a 10.0.0.1:7946\nclock: 7\nevent-clock: 2\n";
  auto r = replay_snapshot(whole + "clock: 12", false);  // "clock: 123\n" cut by a crash
  CHECK(r.torn);
  REQUIRE(r.warnings.size() == 1);
  CHECK(r.warnings[0].find("torn") != std::string::npos);
  CHECK(r.state.member_clock == 7);
  CHECK(r.state.event_clock == 2);
  CHECK(r.state.alive.size() == 1);
  CHECK(r.valid_bytes == whole.size());
}

TEST_CASE("snapshot replay: leave forgets members and clocks unless rejoin", "[snapshot]") {
  const std::string text = "alive: a 10.0.0.1:7946\nclock: 4\nevent-clock: 3\nleave\nclock: 6\n";
  auto plain = replay_snapshot(text, false);
  CHECK(plain.state.alive.empty());
  CHECK(plain.state.member_clock == 6);
  CHECK(plain.state.event_clock == 0);
  CHECK(plain.state.left);
  auto rejoin = replay_snapshot(text, true);
  CHECK(rejoin.state.alive.size() == 1);
  CHECK(rejoin.state.event_clock == 3);
  CHECK(rejoin.state.member_clock == 6);
}

TEST_CASE("snapshot written by serf agent 0.9.4 is read", "[snapshot]") {
  // Captured from n1 of a real `serf agent -snapshot` run (shared/vectors/README.md).
  const auto text = read_file(fs::path(CHORUS_SHARED_DIR) / "vectors/agent/snapshot-n1.txt");
  REQUIRE_FALSE(text.empty());
  auto r = replay_snapshot(text, true);
  CHECK(r.warnings.empty());
  CHECK(r.state.alive == std::map<std::string, std::string>{{"n1", "127.77.0.1:7946"}});
  CHECK(r.state.member_clock == 6);
  CHECK(r.state.event_clock == 3);
  CHECK(r.state.query_clock == 7);
  CHECK(r.state.left);
  // Without -rejoin, the graceful leave at the end means: do not come back.
  auto plain = replay_snapshot(text, false);
  CHECK(plain.state.alive.empty());
  CHECK(plain.state.member_clock == 6);
}

TEST_CASE("snapshotter journals changes and a reopen restores them", "[snapshot]") {
  temp_dir d("snap");
  const auto p = fs::path(d.path()) / "snap";
  const auto c = odd_coordinate(0.5);
  {
    auto s = open_snapshot(p);
    CHECK(s->restored() == snapshot_state{});
    s->member_alive("n1", "127.65.0.1:7946");
    s->member_alive("n2", "127.65.0.2:7946");
    s->clocks(5, 3, 9);
    s->clocks(5, 3, 9);  // unchanged: no new lines
    s->member_not_alive("n2");
    s->coordinate(c);
    s->coordinate(c);
    s->close();
  }
  const auto text = read_file(p);
  CHECK(text ==
        "alive: n1 127.65.0.1:7946\nalive: n2 127.65.0.2:7946\nclock: 4\nevent-clock: 2\nquery-clock: 8\n"
        "not-alive: n2\n" +
            snapshot_coordinate_line(c));
  auto s = open_snapshot(p);
  CHECK(s->restored().alive == std::map<std::string, std::string>{{"n1", "127.65.0.1:7946"}});
  CHECK(s->restored().member_clock == 4);
  CHECK(s->restored().query_clock == 8);
  REQUIRE(s->restored().coordinate);
  CHECK(*s->restored().coordinate == c);
}

TEST_CASE("snapshotter cuts a torn tail so the next line starts clean", "[snapshot]") {
  temp_dir d("snap");
  const auto p = fs::path(d.path()) / "snap";
  write_file(p, "alive: n1 127.65.0.1:7946\nclock: 3\nalive: n2 127.6");
  std::vector<std::string> warnings;
  {
    auto s = open_snapshot(p, false, 128 * 1024, &warnings);
    CHECK(s->restored().alive.size() == 1);
    CHECK(s->restored().member_clock == 3);
    s->member_alive("n3", "127.65.0.3:7946");
    s->close();
  }
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("torn") != std::string::npos);
  CHECK(read_file(p) == "alive: n1 127.65.0.1:7946\nclock: 3\nalive: n3 127.65.0.3:7946\n");
}

TEST_CASE("snapshotter compaction keeps the state and shrinks the file", "[snapshot]") {
  temp_dir d("snap");
  const auto p = fs::path(d.path()) / "snap";
  snapshot_state before;
  std::uint64_t compactions = 0;
  {
    auto s = open_snapshot(p, false, 2048);
    for (int i = 0; i < 400; ++i) {
      const auto name = "node-" + std::to_string(i % 7);
      if (i % 3 == 0)
        s->member_not_alive(name);
      else
        s->member_alive(name, "127.65.1." + std::to_string(i % 7) + ":7946");
      s->clocks(10 + i, 2 + i / 2, 1 + i / 3);
      s->coordinate(odd_coordinate(i * 0.01));
      s->flush();
    }
    before = s->current();
    s->close();
    compactions = s->compactions();
  }
  CHECK(compactions > 0);
  CHECK_FALSE(fs::exists(p.string() + ".compact"));
  CHECK(fs::file_size(p) < 4096);
  auto s = open_snapshot(p);
  CHECK(s->restored() == before);
  CHECK(before.member_clock == 10 + 399 - 1);
  CHECK(before.alive.size() > 0);
}

TEST_CASE("snapshotter records leave, fsyncs, and stops recording membership", "[snapshot]") {
  temp_dir d("snap");
  const auto p = fs::path(d.path()) / "snap";
  {
    auto s = open_snapshot(p);
    s->member_alive("n1", "127.65.0.1:7946");
    s->member_alive("n2", "127.65.0.2:7946");
    s->leave();
    s->member_not_alive("n2");  // while leaving: not recorded
    s->clocks(8, 0, 0);         // clocks still are
    s->close();
  }
  CHECK(read_file(p) == "alive: n1 127.65.0.1:7946\nalive: n2 127.65.0.2:7946\nleave\nclock: 7\n");
  auto plain = open_snapshot(p, false);
  CHECK(plain->restored().alive.empty());
  CHECK(plain->restored().left);
  plain->close();
  auto rejoin = open_snapshot(p, true);
  CHECK(rejoin->restored().alive.size() == 2);
}

TEST_CASE("snapshot coordinate parser refuses what it cannot restore", "[snapshot]") {
  CHECK(parse_snapshot_coordinate(R"({"Vec":[0.1,0.2],"Error":1.5,"Adjustment":0,"Height":1e-5})"));
  CHECK_FALSE(parse_snapshot_coordinate(R"({"Vec":[],"Error":1.5,"Adjustment":0,"Height":1e-5})"));
  CHECK_FALSE(parse_snapshot_coordinate(R"({"Vec":[0.1],"Error":1.5,"Adjustment":0})"));
  CHECK_FALSE(parse_snapshot_coordinate(R"([1,2,3])"));
  CHECK_FALSE(parse_snapshot_coordinate(R"({"Vec":[1e400],"Error":1.5,"Adjustment":0,"Height":1e-5})"));
  CHECK_FALSE(parse_snapshot_coordinate("{\"Vec\":[0.1"));
}

// Found by fuzz_snapshot: "ADDR\r\r\n" kept one '\r' in the address, the
// compaction wrote "ADDR\r\n", and that replayed as "ADDR": a compaction
// changed the state.
TEST_CASE("snapshot replay strips every trailing carriage return, so compaction keeps the state", "[snapshot]") {
  const auto r = replay_snapshot("alive: x 10.0.0.1:7946\r\r\nalive: y 10.0.0.2:7946\r\nnot-alive: y\r\r\n", false);
  CHECK(r.warnings.empty());
  CHECK(r.state.alive == std::map<std::string, std::string>{{"x", "10.0.0.1:7946"}});
  const auto again = replay_snapshot(snapshot_compact_text(r.state), false);
  CHECK(again.state == r.state);
}

TEST_CASE("snapshotter skips member names a line cannot carry back", "[snapshot]") {
  temp_dir d("snap");
  const auto p = fs::path(d.path()) / "snap";
  {
    auto s = open_snapshot(p);
    s->member_alive("cr\r", "127.65.0.1:7946");  // "not-alive: cr\r" would replay as "cr"
    s->member_alive("nl\nx", "127.65.0.2:7946");
    s->member_alive("mid\rdle", "127.65.0.3:7946");
    s->member_not_alive("cr\r");
    s->close();
    CHECK(s->current().alive == std::map<std::string, std::string>{{"mid\rdle", "127.65.0.3:7946"}});
  }
  auto again = open_snapshot(p);
  CHECK(again->restored().alive == std::map<std::string, std::string>{{"mid\rdle", "127.65.0.3:7946"}});
}
