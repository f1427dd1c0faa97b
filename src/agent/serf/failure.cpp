#include "agent/serf/failure.hpp"

#include <cstdio>
#include <ctime>

namespace chorus::agent {

namespace {

std::string when(time_point t, time_point now, std::chrono::system_clock::time_point wall_now) {
  const auto ago = now - t;
  const auto wall = wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(ago);
  const std::time_t secs = std::chrono::system_clock::to_time_t(wall);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count() % 1000;
  // snprintf, not fmt: the Serf layer links only the core and Vivaldi.
  char buf[64];
  std::snprintf(buf, sizeof buf, "at %02d:%02d:%02d.%03dZ (%.1fs ago)", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms), std::chrono::duration<double>(ago).count());
  return buf;
}

std::string probe_text(const probe_outcome& p) {
  if (p.ok) return p.direct ? "direct ack" : (p.tcp_ok ? "TCP ack" : "indirect ack");
  std::string s = p.send_failed ? "ping could not be sent" : "no direct ack";
  s += ", " + std::to_string(p.indirect_asked) + " indirect asked, " + std::to_string(p.nacks) + " nacks";
  if (p.tcp_attempted) s += p.tcp_ok ? ", TCP ok" : ", TCP failed";
  return s;
}

}  // namespace

std::string describe_failure(const failure_report& f, time_point now, std::chrono::system_clock::time_point wall_now) {
  std::string out;
  auto sep = [&] {
    if (!out.empty()) out += "; ";
  };
  if (f.suspected_at) {
    out += "suspected by " + (f.suspected_by.empty() ? std::string("?") : f.suspected_by) + " " +
           when(*f.suspected_at, now, wall_now);
    if (!f.confirmed_by.empty()) {
      out += ", confirmed by ";
      for (std::size_t i = 0; i < f.confirmed_by.size(); ++i) out += (i ? ", " : "") + f.confirmed_by[i];
    }
  }
  if (f.failed_at) {
    sep();
    out += "failed: declared by " + (f.failed_by.empty() ? std::string("?") : f.failed_by) + " " +
           when(*f.failed_at, now, wall_now);
  }
  if (f.refuted) {
    sep();
    out += "refuted (alive again)";
  }
  if (!f.our_probes.empty()) {
    int failed = 0;
    for (const auto& p : f.our_probes) failed += !p.ok;
    sep();
    out += "our probes: " + std::to_string(failed) + " of " + std::to_string(f.our_probes.size()) +
           " failed (last: " + probe_text(f.our_probes.back()) + ")";
  }
  return out;
}

}  // namespace chorus::agent
