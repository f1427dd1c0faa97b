#include "agent/snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace chorus::agent {

namespace {

constexpr std::string_view alive_prefix = "alive: ";
constexpr std::string_view not_alive_prefix = "not-alive: ";
constexpr std::string_view clock_prefix = "clock: ";
constexpr std::string_view event_clock_prefix = "event-clock: ";
constexpr std::string_view query_clock_prefix = "query-clock: ";
constexpr std::string_view coordinate_prefix = "coordinate: ";
// A coordinate with more dimensions than this is not one we could have
// written (Serf and chorus use 8); refusing it bounds what a bad line costs.
constexpr std::size_t max_coordinate_dimensions = 64;
// Serf sizes its compaction threshold at 128 bytes per alive member, doubled.
constexpr std::size_t bytes_per_member = 128;
// Replay warnings logged one by one; the rest are only counted.
constexpr std::size_t max_logged_warnings = 10;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

// ---------------------------------------------------------------------------
// Formatting and parsing.

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
  if (vec == j.end() || !vec->is_array() || vec->empty() || vec->size() > max_coordinate_dimensions)
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

snapshot_replay replay_snapshot(std::string_view text, bool rejoin_after_leave) {
  snapshot_replay r;
  auto& s = r.state;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    ++line_no;
    if (nl == std::string_view::npos) {
      // A crash tore the last write: its content cannot be trusted (a cut
      // "clock: 123" reads as "clock: 12").
      r.torn = true;
      r.warnings.push_back("line " + std::to_string(line_no) + ": torn last line skipped: '" +
                           std::string(text.substr(pos, 80)) + "'");
      break;
    }
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    r.valid_bytes = pos;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto warn = [&](std::string_view why) {
      r.warnings.push_back("line " + std::to_string(line_no) + ": " + std::string(why) + ": '" +
                           std::string(line.substr(0, 80)) + "'");
    };
    if (line.empty() || line.front() == '#') continue;
    if (starts_with(line, alive_prefix)) {
      auto info = line.substr(alive_prefix.size());
      const auto sp = info.rfind(' ');
      if (sp == std::string_view::npos) {
        warn("alive line without an address");
        continue;
      }
      s.alive[std::string(info.substr(0, sp))] = std::string(info.substr(sp + 1));
      s.left = false;
    } else if (starts_with(line, not_alive_prefix)) {
      s.alive.erase(std::string(line.substr(not_alive_prefix.size())));
      s.left = false;
    } else if (starts_with(line, clock_prefix) || starts_with(line, event_clock_prefix) ||
               starts_with(line, query_clock_prefix)) {
      const auto colon = line.find(": ");
      auto v = parse_u64(line.substr(colon + 2));
      if (!v) {
        warn("bad clock value");
        continue;
      }
      if (line[0] == 'c')
        s.member_clock = *v;
      else if (line[0] == 'e')
        s.event_clock = *v;
      else
        s.query_clock = *v;
    } else if (starts_with(line, coordinate_prefix)) {
      auto c = parse_snapshot_coordinate(line.substr(coordinate_prefix.size()));
      if (!c) {
        warn("bad coordinate");
        continue;
      }
      s.coordinate = std::move(*c);
    } else if (line == "leave") {
      // Serf: a node that left on purpose does not come back on its own.
      if (!rejoin_after_leave) {
        s.alive.clear();
        s.member_clock = s.event_clock = s.query_clock = 0;
      }
      s.left = true;
    } else {
      warn("unrecognized line");
    }
  }
  return r;
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
// The snapshotter.

snapshotter::snapshotter(snapshot_options opt) : opt_(std::move(opt)) {
  if (!opt_.log) opt_.log = [](bool, const std::string&) {};
}

std::unique_ptr<snapshotter> snapshotter::open(snapshot_options opt, std::string& error) {
  std::unique_ptr<snapshotter> s(new snapshotter(std::move(opt)));
  const auto& path = s->opt_.path;
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
  }
  auto r = replay_snapshot(text, s->opt_.rejoin_after_leave);
  for (std::size_t i = 0; i < r.warnings.size() && i < max_logged_warnings; ++i)
    s->opt_.log(true, "snapshot: " + path + ": " + r.warnings[i]);
  if (r.warnings.size() > max_logged_warnings)
    s->opt_.log(true, "snapshot: " + path + ": " + std::to_string(r.warnings.size() - max_logged_warnings) +
                          " more lines skipped");
  if (r.torn && ::truncate(path.c_str(), static_cast<off_t>(r.valid_bytes)) != 0) {
    error = "Failed to cut the torn last line of snapshot " + path + ": " + errno_text();
    return nullptr;
  }
  s->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (s->fd_ < 0) {
    error = "Failed to open snapshot " + path + ": " + errno_text();
    return nullptr;
  }
  s->restored_ = r.state;
  s->state_ = r.state;
  s->file_bytes_ = r.valid_bytes;
  s->writer_ = std::thread([p = s.get()] { p->writer_loop(); });
  return s;
}

snapshotter::~snapshotter() { close(); }

void snapshotter::append(std::string line) {
  buffer_ += line;
  file_bytes_ += line.size();
}

void snapshotter::member_alive(const std::string& name, const std::string& addr) {
  // "While leaving no more events are recorded"; a name with a line break
  // cannot be represented in a line-oriented file.
  if (leaving_ || closed_ || name.find('\n') != std::string::npos) return;
  state_.alive[name] = addr;
  state_.left = false;
  append(snapshot_alive_line(name, addr));
}

void snapshotter::member_not_alive(const std::string& name) {
  if (leaving_ || closed_ || name.find('\n') != std::string::npos) return;
  state_.alive.erase(name);
  state_.left = false;
  append(snapshot_not_alive_line(name));
}

void snapshotter::clocks(std::uint64_t member, std::uint64_t event, std::uint64_t query) {
  if (closed_) return;
  // Each clock's stored value is its time minus one: witnessing it on
  // restore gives back the time itself.
  auto one = [&](std::uint64_t now, std::uint64_t& last, std::string_view key) {
    if (now == 0 || now - 1 <= last) return;
    last = now - 1;
    append(snapshot_clock_line(key, last));
  };
  one(member, state_.member_clock, "clock");
  one(event, state_.event_clock, "event-clock");
  one(query, state_.query_clock, "query-clock");
}

void snapshotter::coordinate(const vivaldi::coordinate& c) {
  if (closed_ || !c.is_valid() || c.vec.empty() || c.vec.size() > max_coordinate_dimensions) return;
  if (state_.coordinate && *state_.coordinate == c) return;
  state_.coordinate = c;
  append(snapshot_coordinate_line(c));
}

void snapshotter::leave() {
  if (closed_ || leaving_) return;
  leaving_ = true;
  state_.left = true;
  append("leave\n");
  flush(true);
}

void snapshotter::flush(bool sync) {
  if (closed_) return;
  const std::size_t limit = std::max(opt_.min_compact_bytes, 2 * bytes_per_member * state_.alive.size());
  std::lock_guard lk(mu_);
  if (file_bytes_ > limit || pending_bytes_ + buffer_.size() > opt_.max_pending_bytes) {
    // The in-memory state holds everything the buffered lines (and any
    // backlog) say: one rewrite replaces them all.
    std::string text = snapshot_compact_text(state_);
    jobs_.clear();
    pending_bytes_ = text.size();
    file_bytes_ = text.size();
    jobs_.push_back({job::kind::compact, std::move(text)});
    buffer_.clear();
  } else if (!buffer_.empty()) {
    pending_bytes_ += buffer_.size();
    jobs_.push_back({job::kind::append, std::move(buffer_)});
    buffer_.clear();
  }
  if (sync) jobs_.push_back({job::kind::sync, {}});
  if (!jobs_.empty()) cv_.notify_one();
}

void snapshotter::close() {
  if (closed_) return;
  flush(true);
  closed_ = true;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::uint64_t snapshotter::compactions() const {
  std::lock_guard lk(mu_);
  return compactions_;
}

bool snapshotter::write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const auto n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void snapshotter::do_compact(const std::string& text) {
  const std::string tmp = opt_.path + ".compact";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    opt_.log(true, "snapshot: failed to create " + tmp + ": " + errno_text());
    return;
  }
  const bool ok = write_all(fd, text) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), opt_.path.c_str()) != 0) {
    opt_.log(true, "snapshot: compaction of " + opt_.path + " failed: " + errno_text());
    ::unlink(tmp.c_str());
    return;
  }
  // The old descriptor points at the replaced file.
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(opt_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) opt_.log(true, "snapshot: failed to reopen " + opt_.path + ": " + errno_text());
  std::lock_guard lk(mu_);
  ++compactions_;
}

void snapshotter::writer_loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) {
      if (stop_) return;
      continue;
    }
    job j = std::move(jobs_.front());
    jobs_.pop_front();
    if (j.what != job::kind::sync) pending_bytes_ -= std::min(pending_bytes_, j.text.size());
    lk.unlock();
    switch (j.what) {
      case job::kind::append:
        if (fd_ < 0 || !write_all(fd_, j.text)) opt_.log(true, "snapshot: write failed: " + errno_text());
        break;
      case job::kind::compact:
        do_compact(j.text);
        break;
      case job::kind::sync:
        if (fd_ >= 0 && ::fsync(fd_) != 0) opt_.log(true, "snapshot: fsync failed: " + errno_text());
        break;
    }
    lk.lock();
  }
}

}  // namespace chorus::agent
