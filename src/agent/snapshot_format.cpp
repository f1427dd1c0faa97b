// The snapshot file's lines: formatting, and the replay of a file read in
// pieces (snapshot.hpp describes the format).
#include <charconv>
#include <nlohmann/json.hpp>

#include "agent/snapshot.hpp"
#include "agent/text_escape.hpp"

namespace chorus::agent {

namespace {

constexpr std::string_view alive_prefix = "alive: ";
constexpr std::string_view not_alive_prefix = "not-alive: ";
constexpr std::string_view clock_prefix = "clock: ";
constexpr std::string_view event_clock_prefix = "event-clock: ";
constexpr std::string_view query_clock_prefix = "query-clock: ";
constexpr std::string_view coordinate_prefix = "coordinate: ";
// How much of a bad line a warning quotes.
constexpr std::size_t quoted_bytes = 80;

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The start of a bad line for a log line: control bytes (a binary file's
// NULs, escape sequences) as \xNN so the log stays one readable line.
std::string quote(std::string_view text) {
  std::string out;
  for (const char ch : text.substr(0, quoted_bytes)) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f)
      append_hex(out, "\\x", u, 2);
    else
      out += ch;
  }
  return out;
}

}  // namespace

std::string snapshot_alive_line(std::string_view name, std::string_view addr) {
  std::string s(alive_prefix);
  s.append(name).append(" ").append(addr).append("\n");
  return s;
}

std::string snapshot_not_alive_line(std::string_view name) {
  std::string s(not_alive_prefix);
  s.append(name).append("\n");
  return s;
}

std::string snapshot_clock_line(std::string_view key, std::uint64_t value) {
  std::string s(key);
  s.append(": ").append(std::to_string(value)).append("\n");
  return s;
}

std::string snapshot_coordinate_line(const vivaldi::coordinate& c) {
  // Go's field order; nlohmann writes doubles with round-trip precision, so a
  // restored coordinate is bit-identical.
  nlohmann::ordered_json j;
  j["Vec"] = c.vec;
  j["Error"] = c.error;
  j["Adjustment"] = c.adjustment;
  j["Height"] = c.height;
  return std::string(coordinate_prefix) + j.dump() + "\n";
}

std::optional<vivaldi::coordinate> parse_snapshot_coordinate(std::string_view text) {
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto number = [&](const char* key, double& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number()) return false;
    out = it->get<double>();
    return true;
  };
  vivaldi::coordinate c;
  auto vec = j.find("Vec");
  if (vec == j.end() || !vec->is_array() || vec->empty() || vec->size() > max_snapshot_coordinate_dimensions)
    return std::nullopt;
  c.vec.clear();
  for (const auto& v : *vec) {
    if (!v.is_number()) return std::nullopt;
    c.vec.push_back(v.get<double>());
  }
  if (!number("Error", c.error) || !number("Adjustment", c.adjustment) || !number("Height", c.height))
    return std::nullopt;
  if (!c.is_valid()) return std::nullopt;
  return c;
}

std::string snapshot_compact_text(const snapshot_state& s) {
  std::string out;
  for (const auto& [name, addr] : s.alive) out += snapshot_alive_line(name, addr);
  // Clocks after `leave` so that a replay keeps them either way.
  if (s.left) out += "leave\n";
  out += snapshot_clock_line("clock", s.member_clock);
  out += snapshot_clock_line("event-clock", s.event_clock);
  out += snapshot_clock_line("query-clock", s.query_clock);
  if (s.coordinate) out += snapshot_coordinate_line(*s.coordinate);
  return out;
}

// ---------------------------------------------------------------------------
// Replay.

void snapshot_reader::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    const auto nl = chunk.find('\n');
    const auto piece = chunk.substr(0, nl);
    if (overlong_) {
      // Only the start the warning quotes, however the file is cut into pieces.
      overlong_head_.append(piece.substr(0, quoted_bytes - overlong_head_.size()));
    } else if (partial_.size() + piece.size() > max_line_bytes_) {
      // Hold at most one line's worth: a longer one is skipped unread.
      overlong_ = true;
      overlong_head_ = (partial_ + std::string(piece.substr(0, quoted_bytes))).substr(0, quoted_bytes);
      partial_.clear();
      partial_.shrink_to_fit();
    } else {
      partial_.append(piece);
    }
    if (nl == std::string_view::npos) {
      consumed_ += chunk.size();
      return;
    }
    consumed_ += nl + 1;
    chunk.remove_prefix(nl + 1);
    end_line();
  }
}

void snapshot_reader::end_line() {
  ++line_no_;
  if (overlong_) {
    warn("longer than " + std::to_string(max_line_bytes_) + " bytes, skipped", overlong_head_);
    overlong_ = false;
  } else {
    line(partial_);
  }
  partial_.clear();
  r_.valid_bytes = consumed_;
}

void snapshot_reader::warn(const std::string& why, std::string_view text) {
  ++r_.skipped_lines;
  if (r_.warnings.size() < max_snapshot_warnings)
    r_.warnings.push_back("line " + std::to_string(line_no_) + ": " + why + ": '" + quote(text) + "'");
}

void snapshot_reader::line(std::string_view line) {
  auto& s = r_.state;
  // A file edited on Windows ends its lines with "\r\n". All trailing '\r'
  // go: keeping one would make "ADDR\r" a value the compaction writes back
  // as a line that replays without it.
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty() || line.front() == '#') return;
  if (line.starts_with(alive_prefix)) {
    auto info = line.substr(alive_prefix.size());
    const auto sp = info.rfind(' ');
    if (sp == std::string_view::npos) return warn("alive line without an address", line);
    s.alive[std::string(info.substr(0, sp))] = std::string(info.substr(sp + 1));
    s.left = false;
  } else if (line.starts_with(not_alive_prefix)) {
    s.alive.erase(std::string(line.substr(not_alive_prefix.size())));
    s.left = false;
  } else if (line.starts_with(clock_prefix) || line.starts_with(event_clock_prefix) ||
             line.starts_with(query_clock_prefix)) {
    const auto colon = line.find(": ");
    auto v = parse_u64(line.substr(colon + 2));
    if (!v) return warn("bad clock value", line);
    if (line[0] == 'c')
      s.member_clock = *v;
    else if (line[0] == 'e')
      s.event_clock = *v;
    else
      s.query_clock = *v;
  } else if (line.starts_with(coordinate_prefix)) {
    auto c = parse_snapshot_coordinate(line.substr(coordinate_prefix.size()));
    if (!c) return warn("bad coordinate", line);
    s.coordinate = std::move(*c);
  } else if (line == "leave") {
    // Serf: a node that left on purpose does not come back on its own.
    if (!rejoin_after_leave_) {
      s.alive.clear();
      s.member_clock = s.event_clock = s.query_clock = 0;
    }
    s.left = true;
  } else {
    return warn("unrecognized line", line);
  }
  ++r_.records;
}

snapshot_replay snapshot_reader::finish() {
  if (consumed_ > r_.valid_bytes) {
    // A crash tore the last write: its content cannot be trusted (a cut
    // "clock: 123" reads as "clock: 12").
    ++line_no_;
    r_.torn = true;
    warn(overlong_ ? "torn last line skipped (and longer than " + std::to_string(max_line_bytes_) + " bytes)"
                   : std::string("torn last line skipped"),
         overlong_ ? std::string_view(overlong_head_) : std::string_view(partial_));
  }
  return std::move(r_);
}

snapshot_replay replay_snapshot(std::string_view text, bool rejoin_after_leave) {
  snapshot_reader reader(rejoin_after_leave);
  reader.feed(text);
  return reader.finish();
}

}  // namespace chorus::agent
