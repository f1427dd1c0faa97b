// Golden transcripts of the tricky exchanges (STYLE #8): every input and
// every effect of one core as text, compared with tests/golden/*.txt.
// Regenerate on purpose with CHORUS_UPDATE_GOLDEN=1 and review the diff.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "harness.hpp"

using namespace chorus::swim;
using namespace chorus::swim::testing;

namespace {

std::filesystem::path golden_dir() { return std::filesystem::path(CHORUS_SOURCE_DIR) / "tests" / "golden"; }

class transcript {
 public:
  explicit transcript(one_node& n) : n_(n) {}
  void input(int from, const message& m) {
    flush();
    lines_.push_back(stamp() + "recv " + addr_of(from).to_string() + " " + describe(m));
    n_.receive(from, m);
    flush();
  }
  void note(const std::string& s) {
    flush();
    lines_.push_back(stamp() + "# " + s);
  }
  void advance(duration d) {
    // Step timer by timer so each effect carries the time it happened.
    const time_point end = n_.now + d;
    while (!n_.rt.timers.empty() && n_.rt.timers.begin()->first <= end) {
      n_.advance(std::max(duration::zero(), n_.rt.timers.begin()->first - n_.now));
      flush();
    }
    n_.advance(end - n_.now);
    flush();
  }
  void flush() {
    for (; seen_ < n_.rt.log.size(); ++seen_) lines_.push_back(stamp() + n_.rt.log[seen_]);
  }
  std::string text() const {
    std::string s;
    for (auto& l : lines_) s += l + "\n";
    return s;
  }

 private:
  std::string stamp() const {
    return "t=" +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(n_.now.time_since_epoch()).count()) +
           "ms ";
  }
  one_node& n_;
  std::vector<std::string> lines_;
  std::size_t seen_ = 0;
};

void check_golden(const std::string& name, const std::string& text) {
  const auto path = golden_dir() / (name + ".txt");
  if (std::getenv("CHORUS_UPDATE_GOLDEN")) {
    std::ofstream(path) << text;
    WARN("updated " << path);
    return;
  }
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream want;
  want << in.rdbuf();
  CHECK(want.str() == text);
}

}  // namespace

TEST_CASE("golden_refutation_of_a_suspicion_about_ourselves", "[golden]") {
  one_node n(config::lan(name_of(0), addr_of(0)), 7);
  for (int i = 1; i <= 3; ++i) n.learn(i);
  n.advance(2s);  // let the join gossip drain
  n.rt.clear();
  transcript t(n);
  t.note("n2 accuses us at incarnation 1; we must answer with incarnation 2");
  t.input(2, suspect{1, name_of(0), name_of(2)});
  t.note("a dead at incarnation 1 is older than our incarnation 2 now: ignored");
  t.input(3, dead{1, name_of(0), name_of(3)});
  t.advance(1s);
  check_golden("refutation", t.text());
}

TEST_CASE("golden_indirect_probe_with_nacks_and_tcp_fallback", "[golden]") {
  one_node n(config::lan(name_of(0), addr_of(0)), 11);
  transcript t(n);
  t.note("four peers become known; nobody ever answers a ping");
  for (int i = 1; i <= 4; ++i) {
    alive a{1, name_of(i), addr_of(i).ip_bytes(), 7946, {}, config::default_vsn()};
    t.input(i, a);
  }
  // Run until the first ping-reqs go out.
  std::vector<sent_packet> reqs;
  for (int i = 0; i < 100 && reqs.empty(); ++i) {
    n.rt.packets.clear();
    t.advance(50ms);
    for (const auto& p : n.rt.packets)
      if (std::holds_alternative<indirect_ping>(p.messages()[0])) reqs.push_back(p);
  }
  REQUIRE(reqs.size() >= 2);  // up to indirect_checks = 3 distinct alive helpers
  const auto seq = std::get<indirect_ping>(reqs[0].messages()[0]).seq_no;
  t.note("the helpers report nacks; the TCP ping fails");
  t.input(reqs[0].to.ip[3], nack{seq});
  t.input(reqs[1].to.ip[3], nack{seq});
  for (auto& e : n.rt.exchanges)
    if (e.tcp_ping) n.node.tcp_ping_completed(n.now, e.id, false, n.rt);
  t.advance(600ms);
  t.note("health score now " + std::to_string(n.node.health_score()) + " (+ expected nacks - nacks received)");
  check_golden("indirect_probe", t.text());
}
