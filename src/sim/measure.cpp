#include "sim/measure.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

namespace chorus::sim {

summary summarize(std::vector<double> v) {
  summary s;
  s.count = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto q = [&](double p) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
  };
  s.median = q(0.5);
  s.p99 = q(0.99);
  s.max = v.back();
  return s;
}

spread make_spread(std::vector<double> times, std::size_t of) {
  spread s;
  s.of = of;
  s.reached = times.size();
  std::sort(times.begin(), times.end());
  auto at = [&](double share) -> double {
    const auto need = static_cast<std::size_t>(std::ceil(share * static_cast<double>(of)));
    if (need == 0) return 0;
    return need <= times.size() ? times[need - 1] : -1;
  };
  s.t50 = at(0.5);
  s.t99 = at(0.99);
  s.t100 = at(1.0);
  return s;
}

window_load load_between(const totals& before, const totals& after, swim::duration window, std::size_t nodes) {
  const double node_seconds = secs(window) * static_cast<double>(nodes);
  window_load l;
  l.msgs_per_node_s = static_cast<double>(after.udp_packets - before.udp_packets) / node_seconds;
  l.bytes_per_node_s = static_cast<double>(after.udp_bytes - before.udp_bytes) / node_seconds;
  l.tcp_bytes_per_node_s = static_cast<double>(after.tcp_bytes - before.tcp_bytes) / node_seconds;
  return l;
}

double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

}  // namespace chorus::sim
