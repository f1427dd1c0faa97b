#pragma once
// Serf's snapshot file (`-snapshot=PATH`, ../shared/protocol/serf.md
// section 12): a line-oriented, append-only journal of what a restarted agent
// needs to find its cluster again.
//
//   alive: NAME IP:PORT     member joined (NAME = everything up to the last space)
//   not-alive: NAME         member left or failed
//   clock: N                member Lamport clock - 1
//   event-clock: N          newest user-event LTime seen
//   query-clock: N          newest query LTime seen
//   coordinate: {JSON}      our Vivaldi coordinate (Serf 0.9.4 ignores it as a
//                           legacy line; chorus restores it)
//   leave                   graceful leave happened
//   # ...                   comment
//
// Replay: later lines win; `leave` forgets the alive set and the clocks unless
// rejoin_after_leave; unknown or malformed lines are warned about and
// skipped; a line longer than max_snapshot_line_bytes is skipped without
// being held in memory; a last line without its '\n' is a write torn by a
// crash and is skipped (and cut off the file, so the next append starts a
// clean line). The file must be a regular file (a FIFO or /dev/zero would
// never end).
//
// Writing: the agent's io thread only appends to an in-memory buffer
// (`snapshotter` methods never touch the disk); a writer thread owned by the
// snapshotter writes the buffer out when flush() hands it over (every 500 ms
// in the daemon), fsyncs on leave/close, and performs compactions (the
// current state rewritten to PATH.compact, fsync, rename over PATH) when the
// file grows past max(min_compact_bytes, 2 x 128 x alive members). If the
// disk is slower than gossip, the pending backlog is bounded: it is dropped
// and replaced by one compaction of the in-memory state, so nothing is lost
// but history. When the disk refuses (full, read-only, file not writable,
// I/O error) the failure is logged once, appending stops (a half-written line
// is never followed by another), the agent keeps its members in memory, and
// a compaction is retried every retry_flushes flushes (10 s in the daemon)
// and at close: the first one that succeeds rewrites the file whole and is
// logged.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vivaldi/coordinate.hpp"

namespace chorus::agent {

// What a snapshot says (after replay), and what a compaction writes.
struct snapshot_state {
  std::map<std::string, std::string> alive;  // name -> "IP:PORT" (IPv6 in brackets)
  std::uint64_t member_clock = 0;            // as stored: the clock minus one
  std::uint64_t event_clock = 0;
  std::uint64_t query_clock = 0;
  std::optional<vivaldi::coordinate> coordinate;
  bool left = false;  // the last membership record is a graceful `leave`
  bool operator==(const snapshot_state&) const = default;
};

// Longest line replay accepts: an alive line with a 64 KiB name (more than a
// gossip packet can carry) or a 64-dimension coordinate fits many times.
inline constexpr std::size_t max_snapshot_line_bytes = 64 * 1024;
// Warnings kept (with the line's number and start); the rest only counted.
inline constexpr std::size_t max_snapshot_warnings = 10;
// A coordinate with more dimensions than this is not one we could have
// written (Serf and chorus use 8); refusing it bounds what a bad line costs.
inline constexpr std::size_t max_snapshot_coordinate_dimensions = 64;

struct snapshot_replay {
  snapshot_state state;
  std::vector<std::string> warnings;  // the first max_snapshot_warnings skipped lines
  std::size_t skipped_lines = 0;      // all skipped lines (torn one included)
  std::size_t records = 0;            // lines that were used
  std::size_t valid_bytes = 0;        // length of the complete-lines prefix
  bool torn = false;                  // a partial last line was skipped
};

// Replays a snapshot fed in pieces of any size; memory is bounded by one
// line (max_snapshot_line_bytes) plus the state. Pure: no I/O.
class snapshot_reader {
 public:
  // max_line_bytes: tests and the fuzz target use small ones to reach the
  // over-long path with small inputs.
  explicit snapshot_reader(bool rejoin_after_leave, std::size_t max_line_bytes = max_snapshot_line_bytes)
      : rejoin_after_leave_(rejoin_after_leave), max_line_bytes_(max_line_bytes) {}
  void feed(std::string_view chunk);
  // Whatever follows the last '\n' is a torn last line.
  snapshot_replay finish();

 private:
  void end_line();
  void line(std::string_view text);
  void warn(const std::string& why, std::string_view text);

  bool rejoin_after_leave_;
  std::size_t max_line_bytes_;
  snapshot_replay r_;
  std::string partial_;        // the current line so far
  bool overlong_ = false;      // the current line is being skipped
  std::string overlong_head_;  // its start, for the warning
  std::size_t consumed_ = 0;   // bytes fed
  std::size_t line_no_ = 0;
};

// Pure parsing and formatting (unit-tested; no I/O).
snapshot_replay replay_snapshot(std::string_view text, bool rejoin_after_leave);
std::string snapshot_alive_line(std::string_view name, std::string_view addr);  // with '\n'
std::string snapshot_not_alive_line(std::string_view name);
std::string snapshot_clock_line(std::string_view key, std::uint64_t value);  // key: clock, event-clock, ...
std::string snapshot_coordinate_line(const vivaldi::coordinate& c);
// Serf's Coordinate JSON {"Vec":[..],"Error":..,"Adjustment":..,"Height":..};
// nullopt if malformed or invalid (NaN, infinite, no dimensions).
std::optional<vivaldi::coordinate> parse_snapshot_coordinate(std::string_view json);
// The compacted file: alive lines, clocks, coordinate (serf.md 12).
std::string snapshot_compact_text(const snapshot_state& s);

struct snapshot_options {
  std::string path;
  bool rejoin_after_leave = false;
  std::size_t min_compact_bytes = 128 * 1024;  // Serf's snapshotSizeLimit
  std::size_t max_pending_bytes = 1 << 20;     // backlog cap before falling back to a compaction
  // After a write failure, a compaction is tried every this many flushes.
  std::size_t retry_flushes = 20;
  // Called from the io thread (open) and the writer thread (I/O errors).
  std::function<void(bool warning, const std::string&)> log;
  // ::write by default; tests put a failing disk here (-1 and errno set).
  std::function<long(int fd, const char* data, std::size_t size)> write;
};

// Owns the file and its writer thread. Methods are called from one thread
// (the agent's io thread); the writer thread only sees queued jobs.
class snapshotter {
 public:
  // Reads and replays PATH (created if missing), cuts a torn tail, opens it
  // for appending. nullptr and `error` set if the file cannot be used.
  static std::unique_ptr<snapshotter> open(snapshot_options opt, std::string& error);
  ~snapshotter();  // close()
  snapshotter(const snapshotter&) = delete;
  snapshotter& operator=(const snapshotter&) = delete;

  // The state found at open (what start-up restores and rejoins).
  const snapshot_state& restored() const { return restored_; }
  // The state as recorded so far.
  const snapshot_state& current() const { return state_; }

  void member_alive(const std::string& name, const std::string& addr);
  void member_not_alive(const std::string& name);
  // Current Lamport clock values; lines are written when (value - 1) grew.
  void clocks(std::uint64_t member, std::uint64_t event, std::uint64_t query);
  // Written when it differs from the last one written.
  void coordinate(const vivaldi::coordinate& c);
  // Records `leave` and syncs; membership changes are no longer recorded.
  void leave();
  // Hands buffered lines to the writer (and a compaction if due); `sync`
  // also fsyncs. Never blocks on the disk.
  void flush(bool sync = false);
  // Waits until the writer has run every job handed to it so far.
  void drain();
  // Flushes, fsyncs, waits for the writer and stops it. Idempotent.
  void close();

  std::uint64_t compactions() const;  // completed by the writer
  // Whether the file is behind the in-memory state because writing failed
  // (and no compaction has succeeded since).
  bool failing() const;

 private:
  struct job {
    enum class kind { append, compact, sync } what;
    std::string text;
  };
  explicit snapshotter(snapshot_options opt);
  void append(std::string line);
  void writer_loop();
  bool write_all(int fd, std::string_view text);
  std::string do_compact(const std::string& text);  // error text, empty on success
  void run(job& j);
  void write_failed(const std::string& what);

  snapshot_options opt_;
  snapshot_state restored_, state_;
  std::string buffer_;          // io thread only
  std::size_t file_bytes_ = 0;  // estimated size of PATH once queued jobs run
  bool leaving_ = false;
  bool closed_ = false;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> jobs_;  // guarded by mu_
  std::size_t pending_bytes_ = 0;
  bool stop_ = false;
  bool busy_ = false;  // the writer is running a job
  std::uint64_t compactions_ = 0;
  bool failing_ = false;  // see failing()
  std::size_t flushes_since_retry_ = 0;
  int fd_ = -1;  // writer thread only after open()
  std::thread writer_;
};

}  // namespace chorus::agent
