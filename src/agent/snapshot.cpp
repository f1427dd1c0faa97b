// The snapshotter: reads and replays the file at start, then journals
// changes through its writer thread (snapshot.hpp).
#include "agent/snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace chorus::agent {

namespace {

// Serf sizes its compaction threshold at 128 bytes per alive member, doubled.
constexpr std::size_t bytes_per_member = 128;
constexpr std::size_t read_chunk_bytes = 64 * 1024;

std::string errno_text() { return std::strerror(errno); }

// Whether a member name survives a line: no line break, and no trailing
// '\r' (replay strips those from "not-alive: NAME\r", so the member would
// stay alive in the file). Alive and not-alive skip the same names.
bool recordable(const std::string& name) {
  return name.find('\n') == std::string::npos && (name.empty() || name.back() != '\r');
}

// Replays PATH; a missing file is an empty snapshot. Empty string on success.
std::string read_snapshot_file(const std::string& path, bool rejoin_after_leave, snapshot_replay& out) {
  snapshot_reader reader(rejoin_after_leave);
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno != ENOENT) return "Failed to read snapshot " + path + ": " + errno_text();
    out = reader.finish();
    return {};
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return "Snapshot " + path + " is not a regular file";
  }
  std::string buf(read_chunk_bytes, '\0');
  for (;;) {
    const auto n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string e = "Failed to read snapshot " + path + ": " + errno_text();
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    reader.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  ::close(fd);
  out = reader.finish();
  return {};
}

}  // namespace

snapshotter::snapshotter(snapshot_options opt) : opt_(std::move(opt)) {
  if (!opt_.log) opt_.log = [](bool, const std::string&) {};
  if (!opt_.write) opt_.write = [](int fd, const char* p, std::size_t n) -> long { return ::write(fd, p, n); };
  if (opt_.retry_flushes == 0) opt_.retry_flushes = 1;
}

std::unique_ptr<snapshotter> snapshotter::open(snapshot_options opt, std::string& error) {
  std::unique_ptr<snapshotter> s(new snapshotter(std::move(opt)));
  const auto& path = s->opt_.path;
  const auto& log = s->opt_.log;
  snapshot_replay r;
  if (error = read_snapshot_file(path, s->opt_.rejoin_after_leave, r); !error.empty()) return nullptr;
  for (const auto& w : r.warnings) log(true, "snapshot: " + path + ": " + w);
  if (r.skipped_lines > r.warnings.size())
    log(true, "snapshot: " + path + ": " + std::to_string(r.skipped_lines - r.warnings.size()) + " more lines skipped");
  if (r.records == 0 && r.skipped_lines > 0)
    log(true, "snapshot: " + path + " holds no snapshot record (" + std::to_string(r.skipped_lines) +
                  " lines skipped): is it a snapshot file? Starting without previous members");
  s->restored_ = r.state;
  s->state_ = r.state;
  s->file_bytes_ = r.valid_bytes;
  s->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (s->fd_ < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
    // The members it lists are still worth rejoining; the file is rewritten
    // from memory once that works.
    log(true, "snapshot: " + path + " is not writable (" + errno_text() + "): restored " +
                  std::to_string(r.state.alive.size()) +
                  " members from it; changes are not recorded until a rewrite of it succeeds");
    s->failing_ = true;
  } else if (s->fd_ < 0) {
    error = "Failed to open snapshot " + path + ": " + errno_text();
    return nullptr;
  } else if (r.torn && ::ftruncate(s->fd_, static_cast<off_t>(r.valid_bytes)) != 0) {
    error = "Failed to cut the torn last line of snapshot " + path + ": " + errno_text();
    return nullptr;
  }
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
  if (leaving_ || closed_ || !recordable(name)) return;
  state_.alive[name] = addr;
  state_.left = false;
  append(snapshot_alive_line(name, addr));
}

void snapshotter::member_not_alive(const std::string& name) {
  if (leaving_ || closed_ || !recordable(name)) return;
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
  if (closed_ || !c.is_valid() || c.vec.empty() || c.vec.size() > max_snapshot_coordinate_dimensions) return;
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
  std::unique_lock lk(mu_);
  const bool retry = failing_ && (sync || ++flushes_since_retry_ >= opt_.retry_flushes);
  if (failing_ && !retry) {
    // The lines are in state_ already; the retry's rewrite carries them.
    buffer_.clear();
    return;
  }
  if (retry || file_bytes_ > limit || pending_bytes_ + buffer_.size() > opt_.max_pending_bytes) {
    // The in-memory state holds everything the buffered lines (and any
    // backlog) say: one rewrite replaces them all.
    flushes_since_retry_ = 0;
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
  const bool wake = !jobs_.empty();
  // Woken after the unlock: woken while we hold the mutex, the writer would
  // block on it at once and need a second wake-up (two futex calls per flush
  // each side, twice a second on an idle agent).
  lk.unlock();
  if (wake) cv_.notify_all();
}

void snapshotter::close() {
  if (closed_) return;
  flush(true);
  closed_ = true;
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::uint64_t snapshotter::compactions() const {
  std::lock_guard lk(mu_);
  return compactions_;
}

void snapshotter::drain() {
  std::unique_lock lk(mu_);
  cv_.wait(lk, [&] { return jobs_.empty() && !busy_; });
}

bool snapshotter::failing() const {
  std::lock_guard lk(mu_);
  return failing_;
}

bool snapshotter::write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const auto n = opt_.write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) {
      errno = ENOSPC;  // a write that makes no progress would loop forever
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string snapshotter::do_compact(const std::string& text) {
  const std::string tmp = opt_.path + ".compact";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return "creating " + tmp + " failed: " + errno_text();
  std::string error;
  if (!write_all(fd, text))
    error = "writing " + tmp + " failed: " + errno_text();
  else if (::fsync(fd) != 0)
    error = "syncing " + tmp + " failed: " + errno_text();
  ::close(fd);
  if (error.empty() && ::rename(tmp.c_str(), opt_.path.c_str()) != 0)
    error = "replacing " + opt_.path + " failed: " + errno_text();
  if (!error.empty()) {
    ::unlink(tmp.c_str());
    return error;
  }
  // The old descriptor points at the replaced file.
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(opt_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return "reopening " + opt_.path + " failed: " + errno_text();
  return {};
}

void snapshotter::write_failed(const std::string& what) {
  std::unique_lock lk(mu_);
  const bool first = !failing_;
  failing_ = true;
  lk.unlock();
  if (first)
    opt_.log(true, "snapshot: " + what +
                       "; the agent keeps its members in memory and rewrites the snapshot from them once "
                       "writing works again");
}

void snapshotter::run(job& j) {
  bool failing;
  {
    std::lock_guard lk(mu_);
    failing = failing_;
  }
  switch (j.what) {
    case job::kind::append:
      // After a failure a line may be half written: nothing is appended to
      // it; the retried compaction rewrites the file whole.
      if (failing) break;
      if (fd_ < 0 || !write_all(fd_, j.text)) write_failed("writing " + opt_.path + " failed: " + errno_text());
      break;
    case job::kind::compact:
      if (auto e = do_compact(j.text); !e.empty()) {
        write_failed(e);
      } else {
        std::lock_guard lk(mu_);
        ++compactions_;
        failing_ = false;
      }
      if (failing && !this->failing())
        opt_.log(false, "snapshot: writing " + opt_.path + " works again: rewrote it from memory (" +
                            std::to_string(std::count(j.text.begin(), j.text.end(), '\n')) + " lines)");
      break;
    case job::kind::sync:
      if (!failing && fd_ >= 0 && ::fsync(fd_) != 0) write_failed("syncing " + opt_.path + " failed: " + errno_text());
      break;
  }
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
    busy_ = true;
    lk.unlock();
    run(j);
    lk.lock();
    busy_ = false;
    if (jobs_.empty()) cv_.notify_all();  // drain()
  }
}

}  // namespace chorus::agent
