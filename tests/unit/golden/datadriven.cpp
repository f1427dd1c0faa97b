// The transcript file format (datadriven.hpp): parsing and rewriting.
#include "datadriven.hpp"

#include <sstream>
#include <stdexcept>

namespace golden {

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

namespace {

bool blank(const std::string& l) { return l.find_first_not_of(" \t\r") == std::string::npos; }

directive command_line(const std::string& l, int number) {
  directive d;
  d.line = number;
  auto words = split_words(l);
  d.command = words.front();
  for (std::size_t i = 1; i < words.size(); ++i) {
    const auto& w = words[i];
    d.words.push_back(w);
    if (const auto eq = w.find('='); eq != std::string::npos)
      d.args[w.substr(0, eq)] = w.substr(eq + 1);
    else
      d.positional.push_back(w);
  }
  return d;
}

}  // namespace

transcript transcript::parse(const std::string& text) {
  transcript t;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) t.lines_.push_back(l);
  std::size_t i = 0;
  const std::size_t n = t.lines_.size();
  while (i < n) {
    if (blank(t.lines_[i]) || t.lines_[i][0] == '#') {
      ++i;
      continue;
    }
    directive d = command_line(t.lines_[i], static_cast<int>(i + 1));
    for (++i; i < n && t.lines_[i] != "----"; ++i) {
      if (blank(t.lines_[i]))
        throw std::runtime_error("line " + std::to_string(i + 1) +
                                 ": blank line before \"----\" of the command at line " + std::to_string(d.line));
      d.input.push_back(t.lines_[i]);
    }
    if (i == n) throw std::runtime_error("line " + std::to_string(d.line) + ": command without a \"----\" line");
    const std::size_t first = ++i;
    while (i < n && !blank(t.lines_[i])) d.expected.push_back(t.lines_[i++]);
    t.expected_.push_back({first, i});
    t.directives_.push_back(std::move(d));
  }
  return t;
}

std::string transcript::rewrite(const std::vector<std::vector<std::string>>& outputs) const {
  std::string out;
  std::size_t next = 0;  // the next expected section to replace
  for (std::size_t i = 0; i <= lines_.size(); ++i) {
    if (next < expected_.size() && i == expected_[next].first) {
      for (const auto& l : outputs.at(next)) out += l + "\n";
      i = expected_[next].last;
      // The blank line that ends a section: kept where the file had one,
      // added where the section ran to the end of the file.
      out += "\n";
      ++next;
      if (i < lines_.size() && blank(lines_[i])) continue;
    }
    if (i < lines_.size()) out += lines_[i] + "\n";
  }
  // Collapse the file's end to exactly one newline after the last section.
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

}  // namespace golden
