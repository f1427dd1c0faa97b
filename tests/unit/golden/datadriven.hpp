#pragma once
// The golden transcript file format, after etcd-raft's datadriven tests
// (github.com/cockroachdb/datadriven): a file is a list of directives, each a
// command (one line, then optional input lines) and its expected output:
//
//   # free text: why the next command is there, what its output means
//   recv n2 suspect node=n0 inc=1 from=n2
//   ----
//   t=2000ms send 10.0.0.3:7946 alive node=n0 inc=2 addr=10.0.0.0:7946 meta=
//   <blank line ends the directive>
//
// Lines starting with '#' and blank lines between directives are kept
// verbatim by a rewrite, which replaces only the expected sections. Output
// never contains blank lines (so a blank line can end a section); an empty
// output is a "----" line followed by a blank line. This file knows nothing
// of what the commands mean: the drivers (core_driver, serf_driver) do.
#include <map>
#include <string>
#include <vector>

namespace golden {

struct directive {
  std::string command;                      // first word of the command line
  std::vector<std::string> positional;      // the other words without '='
  std::map<std::string, std::string> args;  // the words "key=value"
  std::vector<std::string> words;           // every word after the command, in order
  std::vector<std::string> input;           // lines between the command line and "----"
  std::vector<std::string> expected;        // lines between "----" and the blank line
  int line = 0;                             // 1-based line of the command, for messages

  bool has(const std::string& key) const { return args.count(key) != 0; }
  std::string arg(const std::string& key, const std::string& fallback = {}) const {
    auto it = args.find(key);
    return it == args.end() ? fallback : it->second;
  }
};

// A parsed transcript, able to write itself back with new expected sections.
class transcript {
 public:
  // Throws std::runtime_error (naming the line) on a malformed file.
  static transcript parse(const std::string& text);

  const std::vector<directive>& directives() const { return directives_; }
  // The file with directive i's expected section replaced by outputs[i].
  std::string rewrite(const std::vector<std::vector<std::string>>& outputs) const;

 private:
  struct span {
    std::size_t first, last;  // [first, last) lines of one expected section
  };
  std::vector<std::string> lines_;
  std::vector<directive> directives_;
  std::vector<span> expected_;
};

// Splits a line into words at spaces (no quoting: values hold no spaces).
std::vector<std::string> split_words(const std::string& line);

}  // namespace golden
