// Golden transcripts (STYLE #8) as data, after etcd-raft's testdata: each
// tests/golden/*.txt holds the commands fed to one sans-I/O node (a bare
// swim::core, or the Serf layer) and, under each command, the output it must
// produce: the packets sent, the exchanges started, the events raised, each
// stamped with its virtual time. This one runner replays every file and
// compares each command's output with its expected section. The format is in
// datadriven.hpp, the commands in driver.hpp, core_driver.cpp and
// serf_driver.cpp; tests/golden/README says it in short.
//
// Rewriting: after a deliberate behaviour change, regenerate the expected
// sections in place (comments and commands are kept) and review the diff as
// you would review code:
//
//   CHORUS_GOLDEN_REWRITE=1 build/tests/unit_golden
//
// A new transcript starts as commands with empty "----" sections; the
// rewrite fills them in, and its author checks every line by hand against
// ../shared/protocol before committing it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datadriven.hpp"
#include "drivers.hpp"

namespace fs = std::filesystem;

namespace {

fs::path golden_dir() { return fs::path(CHORUS_SOURCE_DIR) / "tests" / "golden"; }

bool rewriting() {
  const char* v = std::getenv("CHORUS_GOLDEN_REWRITE");
  return v != nullptr && std::string(v) != "0" && std::string(v) != "";
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& l : v) s += l + "\n";
  return s;
}

std::unique_ptr<golden::driver> make_driver(const golden::directive& first) {
  if (first.command == "core") return golden::make_core_driver(first);
  if (first.command == "serf") return golden::make_serf_driver(first);
  throw std::runtime_error("line " + std::to_string(first.line) + ": a transcript starts with \"core\" or \"serf\"");
}

// Replays one file; checks (or, rewriting, records) each command's output.
void replay(const fs::path& file) {
  const std::string text = read(file);
  const auto t = golden::transcript::parse(text);
  REQUIRE_FALSE(t.directives().empty());
  auto node = make_driver(t.directives().front());
  std::vector<std::vector<std::string>> outputs;
  for (const auto& d : t.directives()) {
    INFO(file.filename().string() << ":" << d.line << ": " << d.command);
    std::vector<std::string> got;
    REQUIRE_NOTHROW(got = node->run(d));
    if (!rewriting()) CHECK(lines(got) == lines(d.expected));
    outputs.push_back(std::move(got));
  }
  if (rewriting()) {
    const std::string updated = t.rewrite(outputs);
    if (updated != text) {
      std::ofstream(file) << updated;
      WARN("rewrote " << file << ": review the diff");
    }
  }
}

}  // namespace

TEST_CASE("golden_transcripts_replay_with_their_expected_output", "[golden]") {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(golden_dir()))
    if (e.path().extension() == ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  // The transcripts this runner was written for; more may come.
  for (const char* name : {"indirect_probe", "refutation", "recheck", "push_pull_merge", "leave", "query_relay"})
    CHECK(std::count(files.begin(), files.end(), golden_dir() / (std::string(name) + ".txt")) == 1);
  for (const auto& f : files) {
    DYNAMIC_SECTION(f.filename().string()) { replay(f); }
  }
}
